//! `cron`: manages `#Ansible: <name>` jobs and environment variables in a
//! user's crontab (through `crontab`) or in a cron file, line for line as
//! Ansible's module does.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use fancy_regex::Regex;
use serde_json::{Map, Value};

use super::accounts as acc;
use crate::args::{ArgDef, ArgDefault, ArgSpec, ArgType};
use crate::fsutil;
use crate::modules::{action, Capabilities, Check, CheckSupport, Context, Module, ModuleError};
use crate::result::ModuleResult;

pub struct Cron;

static ARGS: [ArgDef; 16] = [
    ArgDef::new("name", ArgType::Str)
        .required()
        .doc("The job's name (its `#Ansible: <name>` comment), or the variable's name with `env`."),
    ArgDef::new("user", ArgType::Str)
        .doc("Whose crontab (`crontab -u`); with `cron_file`, the user the job runs as."),
    ArgDef::new("job", ArgType::Str)
        .aliases(&["value"])
        .doc("The command, or the variable's value with `env`."),
    ArgDef::new("cron_file", ArgType::Path)
        .doc("A file in /etc/cron.d (relative name) or an absolute path, instead of a crontab."),
    ArgDef::new("state", ArgType::Str)
        .default(ArgDefault::Str("present"))
        .choices(&["present", "absent"])
        .doc("Whether the job or variable should exist."),
    ArgDef::new("backup", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Save the previous contents to a temporary file (`backup_file` in the result)."),
    ArgDef::new("minute", ArgType::Str)
        .default(ArgDefault::Str("*"))
        .doc("Minute field."),
    ArgDef::new("hour", ArgType::Str)
        .default(ArgDefault::Str("*"))
        .doc("Hour field."),
    ArgDef::new("day", ArgType::Str)
        .aliases(&["dom"])
        .default(ArgDefault::Str("*"))
        .doc("Day of month field."),
    ArgDef::new("month", ArgType::Str)
        .default(ArgDefault::Str("*"))
        .doc("Month field."),
    ArgDef::new("weekday", ArgType::Str)
        .aliases(&["dow"])
        .default(ArgDefault::Str("*"))
        .doc("Day of week field."),
    ArgDef::new("special_time", ArgType::Str)
        .choices(&[
            "reboot", "yearly", "annually", "monthly", "weekly", "daily", "hourly",
        ])
        .doc("`@reboot`, `@daily`, ... instead of the time fields."),
    ArgDef::new("disabled", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Write the job commented out."),
    ArgDef::new("env", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Manage an environment variable `name=\"job\"` instead of a job."),
    ArgDef::new("insertafter", ArgType::Str)
        .doc("With `env`, insert a new variable after this variable."),
    ArgDef::new("insertbefore", ArgType::Str)
        .doc("With `env`, insert a new variable before this variable."),
];

static SPEC: ArgSpec = ArgSpec::new(&ARGS).mutually_exclusive(&[&["insertafter", "insertbefore"]]);

const NOTES: &str = "\
Follows Ansible's module line for line: jobs are the line after a `#Ansible: <name>` comment; \
an identical unnamed job gets the comment added; variables are `NAME=\"value\"` lines (new ones \
at the top unless `insertafter`/`insertbefore`). As Ansible, the `crontab` program must exist \
even with `cron_file`. User crontabs are read with `crontab [-u user] -l` (its \
`DO NOT EDIT` header lines dropped) and written with `crontab [-u user] <tempfile>`; cron files \
are written atomically (mode 0644 for a new file, an existing one keeps its mode). Removing \
the last job of a `cron_file` removes the file.

Results: `jobs` and `envs` (the names in the crontab afterwards), `warnings`, `changed`, \
`cron_file` when given, `backup_file` with `backup` when something changed, `diff` in diff \
mode (headers: the cron file, `crontab for user \"<user>\"` or `crontab`). When the removal \
of the last job removes the file: `changed`, `cron_file`, `state`, `diff` only. Failures as \
Ansible's (`You must specify 'job' to install a new cron job or variable`, `To use \
cron_file=... parameter you must specify user=... as well`, `You must specify time and date \
fields or special time.`, `Variable named '<x>' not found.`, ...).

Check mode: predicts exactly; no backup file is made.

Tested with cron files in temporary directories and, for user crontabs, a fake `crontab` \
program on `PATH` (the test machine has no cron), by conformance cases and the `mod_cron_*` \
differential cases against ansible-playbook.";

impl Module for Cron {
    fn name(&self) -> &'static str {
        "cron"
    }
    fn description(&self) -> &'static str {
        "Manage cron.d and crontab entries"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            check_mode: CheckSupport::Full,
            diff: true,
        }
    }
    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }
    fn notes(&self) -> &'static str {
        NOTES
    }
    fn check(&self, ctx: &Context<'_>) -> Result<Check, ModuleError> {
        let predicted = run(ctx, true)?;
        if !predicted.changed {
            return Ok(Check::Done(predicted));
        }
        Ok(Check::Change {
            predicted,
            action: action(|ctx| run(ctx, false)),
        })
    }
}

const ANSIBLE: &str = "#Ansible: ";

struct CronTab {
    user: Option<String>,
    cron_file: Option<String>,
    cron_cmd: String,
    lines: Vec<String>,
    n_existing: String,
}

fn re(pat: &str) -> Result<Regex, ModuleError> {
    Regex::new(pat).map_err(|e| ModuleError::failed(format!("bad regular expression {pat}: {e}")))
}

fn re_match(r: &Regex, s: &str) -> bool {
    r.find(s).ok().flatten().is_some_and(|m| m.start() == 0)
}

/// Python's `str.splitlines()`.
fn splitlines(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\n' | '\x0b' | '\x0c' | '\x1c' | '\x1d' | '\x1e' | '\u{85}' | '\u{2028}'
            | '\u{2029}' => out.push(std::mem::take(&mut cur)),
            '\r' => {
                if it.peek() == Some(&'\n') {
                    it.next();
                }
                out.push(std::mem::take(&mut cur));
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn current_user() -> Option<String> {
    fsutil::user_name(rustix::process::getuid().as_raw())
}

impl CronTab {
    fn new(
        ctx: &Context<'_>,
        user: Option<String>,
        cron_file: Option<&str>,
    ) -> Result<Self, ModuleError> {
        let cron_cmd = acc::require_bin(ctx, "crontab")?
            .to_string_lossy()
            .into_owned();
        let cron_file = cron_file.map(|f| {
            if f.starts_with('/') {
                f.to_owned()
            } else {
                acc::path_join("/etc/cron.d", f)
            }
        });
        let mut t = CronTab {
            user,
            cron_file,
            cron_cmd,
            lines: Vec::new(),
            n_existing: String::new(),
        };
        t.read(ctx)?;
        Ok(t)
    }

    fn user_args(&self) -> Vec<String> {
        match &self.user {
            Some(u) if current_user().as_deref() != Some(u.as_str()) => {
                vec!["-u".into(), u.clone()]
            }
            _ => Vec::new(),
        }
    }

    fn read(&mut self, ctx: &Context<'_>) -> Result<(), ModuleError> {
        if let Some(f) = &self.cron_file {
            if let Ok(data) = fs::read(f) {
                self.n_existing = String::from_utf8_lossy(&data).into_owned();
                self.lines = splitlines(&self.n_existing);
            }
            return Ok(());
        }
        let mut argv = vec![self.cron_cmd.clone()];
        argv.extend(self.user_args());
        argv.push("-l".into());
        let out = acc::run(ctx, &argv, None);
        if out.rc != 0 && out.rc != 1 {
            return Err(ModuleError::failed("Unable to read crontab"));
        }
        self.n_existing = out.stdout.clone();
        let header = [
            re(r"# DO NOT EDIT THIS FILE - edit the master and reinstall.")?,
            re(r"# \(/tmp/.*installed on.*\)")?,
            re(r"# \(.*version.*\)")?,
        ];
        for (count, l) in splitlines(&out.stdout).into_iter().enumerate() {
            if count > 2 || !header.iter().any(|h| re_match(h, &l)) {
                self.lines.push(l);
            } else {
                // Drop the header line (and its line break) from the text
                // the diff shows, as Ansible does.
                for eol in ["\r", "\n", ""] {
                    let pat = format!("{l}{eol}");
                    if let Some(i) = self.n_existing.find(&pat) {
                        self.n_existing.replace_range(i..i + pat.len(), "");
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    fn is_empty(&self) -> bool {
        self.lines.iter().all(|l| l.trim().is_empty())
    }

    fn render(&self) -> String {
        let r = self.lines.join("\n");
        if r.is_empty() {
            r
        } else {
            format!("{}\n", r.trim_end_matches(['\r', '\n']))
        }
    }

    fn write(&self, ctx: &Context<'_>) -> Result<(), ModuleError> {
        let data = self.render();
        if let Some(f) = &self.cron_file {
            let mode = fs::metadata(f).map_or(0o644, |m| {
                use std::os::unix::fs::MetadataExt;
                m.mode() & 0o7777
            });
            return fsutil::atomic_write(Path::new(f), data.as_bytes(), Some(mode));
        }
        let tmp = temp_file("crontab", data.as_bytes(), 0o666)?;
        let mut argv = vec![self.cron_cmd.clone()];
        argv.extend(self.user_args());
        argv.push(tmp.clone());
        let out = acc::run(ctx, &argv, None);
        let _ = fs::remove_file(&tmp);
        if out.rc != 0 {
            return Err(ModuleError::failed(out.stderr));
        }
        Ok(())
    }

    fn find_job(&mut self, name: &str, job: Option<&str>) -> Vec<String> {
        let mut comment: Option<String> = None;
        for l in &self.lines {
            if let Some(c) = &comment {
                if c == name {
                    return vec![c.clone(), l.clone()];
                }
                comment = None;
            } else if l.starts_with(ANSIBLE) {
                comment = Some(l.replace(ANSIBLE, ""));
            }
        }
        if let Some(job) = job.filter(|j| !j.is_empty()) {
            for i in 0..self.lines.len() {
                if self.lines[i] != job {
                    continue;
                }
                // Python's lines[i - 1]: the last line when i is 0.
                let prev = if i == 0 { self.lines.len() - 1 } else { i - 1 };
                if !self.lines[prev].starts_with(ANSIBLE) {
                    self.lines.insert(i, format!("{ANSIBLE}{name}"));
                    return vec![self.lines[i].clone(), job.to_owned(), "True".into()];
                } else if !name.is_empty() && self.lines[prev] == format!("{ANSIBLE}None") {
                    self.lines[prev] = format!("{ANSIBLE}{name}");
                    return vec![self.lines[prev].clone(), job.to_owned(), "True".into()];
                }
            }
        }
        Vec::new()
    }

    fn update_job(&mut self, name: &str, job: Option<&str>) {
        let ansiblename = format!("{ANSIBLE}{name}");
        let mut out = Vec::new();
        let mut comment: Option<String> = None;
        for l in &self.lines {
            if let Some(c) = comment.take() {
                if let Some(j) = job {
                    out.push(c);
                    out.push(j.to_owned());
                }
            } else if *l == ansiblename {
                comment = Some(l.clone());
            } else {
                out.push(l.clone());
            }
        }
        self.lines = out;
    }

    fn find_env(&self, name: &str) -> Result<Option<(usize, String)>, ModuleError> {
        let r = re(&format!("^{name}="))?;
        Ok(self
            .lines
            .iter()
            .enumerate()
            .find(|(_, l)| re_match(&r, l))
            .map(|(i, l)| (i, l.clone())))
    }

    fn update_env(&mut self, name: &str, decl: Option<&str>) -> Result<(), ModuleError> {
        let r = re(&format!("^{name}="))?;
        let mut out = Vec::new();
        for l in &self.lines {
            if re_match(&r, l) {
                if let Some(d) = decl {
                    out.push(d.to_owned());
                }
            } else {
                out.push(l.clone());
            }
        }
        self.lines = out;
        Ok(())
    }

    fn add_env(
        &mut self,
        decl: String,
        after: Option<&str>,
        before: Option<&str>,
    ) -> Result<(), ModuleError> {
        let other = match (after, before) {
            (Some(a), _) if !a.is_empty() => a,
            (_, Some(b)) if !b.is_empty() => b,
            _ => {
                self.lines.insert(0, decl);
                return Ok(());
            }
        };
        match self.find_env(other)? {
            Some((i, _)) => {
                let at = if after.is_some_and(|a| !a.is_empty()) {
                    i + 1
                } else {
                    i
                };
                self.lines.insert(at, decl);
                Ok(())
            }
            None => Err(ModuleError::failed(format!(
                "Variable named '{other}' not found."
            ))),
        }
    }

    fn job_names(&self) -> Vec<String> {
        self.lines
            .iter()
            .filter(|l| l.starts_with(ANSIBLE))
            .map(|l| l.replace(ANSIBLE, ""))
            .collect()
    }

    fn env_names(&self) -> Vec<String> {
        self.lines
            .iter()
            .filter(|l| {
                let name = l.split('=').next().unwrap_or_default();
                l.contains('=') && !name.is_empty() && !name.contains(char::is_whitespace)
            })
            .map(|l| l.split('=').next().unwrap_or_default().to_owned())
            .collect()
    }

    fn header(&self) -> String {
        match (&self.cron_file, &self.user) {
            (Some(f), _) => f.clone(),
            (None, Some(u)) => format!("crontab for user \"{u}\""),
            (None, None) => "crontab".into(),
        }
    }
}

/// `tempfile.mkstemp(prefix=...)` with `data` in it and mode `mode`.
fn temp_file(prefix: &str, data: &[u8], mode: u32) -> Result<String, ModuleError> {
    use std::io::Write;
    let dir = std::env::temp_dir();
    for n in 0..100u32 {
        let p = dir.join(format!(
            "{prefix}{}{n}",
            chrono::Local::now().format("%H%M%S%f")
        ));
        let f = fs::OpenOptions::new().write(true).create_new(true).open(&p);
        let mut f = match f {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(ModuleError::failed(format!("{}: {e}", p.display()))),
        };
        let done = f
            .write_all(data)
            .and_then(|()| fs::set_permissions(&p, fs::Permissions::from_mode(mode)));
        if let Err(e) = done {
            let _ = fs::remove_file(&p);
            return Err(ModuleError::failed(format!("{}: {e}", p.display())));
        }
        return Ok(p.to_string_lossy().into_owned());
    }
    Err(ModuleError::failed("could not create a temporary file"))
}

fn run(ctx: &Context<'_>, dry: bool) -> Result<ModuleResult, ModuleError> {
    let a = &ctx.args;
    let s = |k: &str| a.str(k).map(str::to_owned);
    let name = s("name").unwrap_or_default();
    let user = s("user");
    let job = s("job");
    let cron_file = s("cron_file").map(|p| ctx.expand_path(&p).to_string_lossy().into_owned());
    let present = a.str("state") != Some("absent");
    let backup = a.bool("backup");
    let field = |k: &str| s(k).unwrap_or_else(|| "*".into());
    let (minute, hour, day, month, weekday) = (
        field("minute"),
        field("hour"),
        field("day"),
        field("month"),
        field("weekday"),
    );
    let special = s("special_time");
    let disabled = a.bool("disabled");
    let env = a.bool("env");
    let insertafter = s("insertafter");
    let insertbefore = s("insertbefore");
    let mut changed = false;
    let mut warnings: Vec<String> = Vec::new();
    if let Some(cf) = &cron_file {
        if cf == "/etc/crontab" {
            return Err(ModuleError::failed(
                "Will not manage /etc/crontab via cron_file, see documentation.",
            ));
        }
        let base = cf.rsplit('/').next().unwrap_or_default();
        let ok = !base.is_empty()
            && base
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !ok {
            warnings.push(format!("Filename portion of cron_file (\"{base}\") should consist solely of upper- and lower-case letters, digits, underscores, and hyphens"));
        }
    }
    let mut tab = CronTab::new(ctx, user.clone(), cron_file.as_deref())?;
    let mut diff = Map::new();
    if ctx.diff {
        diff.insert("before".into(), Value::from(tab.n_existing.clone()));
        diff.insert("before_header".into(), Value::from(tab.header()));
    }
    if special.is_some()
        && [&minute, &hour, &day, &month, &weekday]
            .iter()
            .any(|x| *x != "*")
    {
        return Err(ModuleError::failed(
            "You must specify time and date fields or special time.",
        ));
    }
    if present {
        if cron_file.is_some() && user.is_none() {
            return Err(ModuleError::failed(
                "To use cron_file=... parameter you must specify user=... as well",
            ));
        }
        if job.is_none() {
            return Err(ModuleError::failed(
                "You must specify 'job' to install a new cron job or variable",
            ));
        }
        if (insertafter.is_some() || insertbefore.is_some()) && !env {
            return Err(ModuleError::failed(
                "Insertafter and insertbefore parameters are valid only with env=yes",
            ));
        }
    }
    let mut backup_file = None;
    if backup && !dry {
        backup_file = Some(temp_file("crontab", tab.render().as_bytes(), 0o600)?);
    }
    if env {
        if name.contains(' ') {
            return Err(ModuleError::failed("Invalid name for environment variable"));
        }
        let decl = format!("{name}=\"{}\"", job.as_deref().unwrap_or("None"));
        let old = tab.find_env(&name)?;
        if present {
            match old {
                None => {
                    tab.add_env(decl, insertafter.as_deref(), insertbefore.as_deref())?;
                    changed = true;
                }
                Some((_, l)) if l != decl => {
                    tab.update_env(&name, Some(&decl))?;
                    changed = true;
                }
                _ => {}
            }
        } else if old.is_some() {
            tab.update_env(&name, None)?;
            changed = true;
        }
    } else if present {
        let raw = job.unwrap_or_default();
        let stripped = raw.trim_matches(['\r', '\n']);
        if stripped.contains(['\r', '\n']) {
            warnings.push("Job should not contain line breaks".into());
        }
        let prefix = if disabled { "#" } else { "" };
        let u = user.clone().unwrap_or_else(|| "None".into());
        let line = match (&special, &tab.cron_file) {
            (Some(sp), Some(_)) => format!("{prefix}@{sp} {u} {stripped}"),
            (Some(sp), None) => format!("{prefix}@{sp} {stripped}"),
            (None, Some(_)) => {
                format!("{prefix}{minute} {hour} {day} {month} {weekday} {u} {stripped}")
            }
            (None, None) => format!("{prefix}{minute} {hour} {day} {month} {weekday} {stripped}"),
        };
        let old = tab.find_job(&name, Some(&line));
        if old.is_empty() {
            tab.lines.push(format!("{ANSIBLE}{name}"));
            tab.lines.push(line.clone());
            changed = true;
        }
        if old.len() > 1 && old[1] != line {
            tab.update_job(&name, Some(&line));
            changed = true;
        }
        if old.len() > 2 {
            tab.update_job(&name, Some(&line));
            changed = true;
        }
    } else {
        let old = tab.find_job(&name, None);
        if !old.is_empty() {
            tab.update_job(&name, None);
            changed = true;
            if let (Some(f), true) = (tab.cron_file.clone(), tab.is_empty()) {
                if ctx.diff {
                    diff.insert("after".into(), Value::from(""));
                    diff.insert("after_header".into(), Value::from("/dev/null"));
                } else {
                    diff = Map::new();
                }
                let changed = if dry {
                    Path::new(&f).is_file()
                } else {
                    fs::remove_file(&f).is_ok()
                };
                let mut r = ModuleResult {
                    changed,
                    ..Default::default()
                };
                r.set("cron_file", cron_file.map_or(Value::Null, Value::from));
                r.set("state", "absent");
                r.set("diff", Value::Object(diff));
                if let Some(b) = backup_file {
                    // Ansible leaves this backup behind; only the result
                    // would name it, and it returns early without it.
                    let _ = fs::remove_file(b);
                }
                return Ok(r);
            }
        }
    }
    if !changed && !tab.n_existing.is_empty() && !tab.n_existing.ends_with(['\r', '\n']) {
        changed = true;
    }
    let mut r = ModuleResult {
        changed,
        ..Default::default()
    };
    r.set("jobs", tab.job_names());
    r.set("envs", tab.env_names());
    // An empty list never shows: Ansible's executor drops it.
    if !warnings.is_empty() {
        r.set("warnings", warnings);
    }
    if changed {
        if !dry {
            tab.write(ctx)?;
        }
        if ctx.diff {
            diff.insert("after".into(), Value::from(tab.render()));
            diff.insert("after_header".into(), Value::from(tab.header()));
            r.set("diff", Value::Object(diff));
        }
    }
    if let Some(b) = backup_file {
        if changed {
            r.set("backup_file", b);
        } else {
            let _ = fs::remove_file(b);
        }
    }
    if let Some(cf) = cron_file {
        r.set("cron_file", cf);
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitlines_like_python() {
        assert_eq!(splitlines("a\nb\r\nc"), vec!["a", "b", "c"]);
        assert_eq!(splitlines("a\n\n"), vec!["a", ""]);
        assert!(splitlines("").is_empty());
    }
}
