//! `apt_repository`: one-line apt sources in `sources.list` and
//! `sources.list.d/*.list`, edited as Ansible's module edits them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::common as c;
use crate::args::{ArgDef, ArgDefault, ArgSpec, ArgType, Args};
use crate::modules::{action, Capabilities, Check, CheckSupport, Context, Module, ModuleError};
use crate::result::ModuleResult;

pub struct AptRepository;

static ARGS: [ArgDef; 10] = [
    ArgDef::new("repo", ArgType::Str)
        .required()
        .doc("The source line (`deb http://... suite component`)."),
    ArgDef::new("state", ArgType::Str)
        .default(ArgDefault::Str("present"))
        .choices(&["absent", "present"])
        .doc("Whether the source should be there."),
    ArgDef::new("mode", ArgType::Raw).doc("Mode of a new sources file (default 0644)."),
    ArgDef::new("update_cache", ArgType::Bool)
        .aliases(&["update-cache"])
        .default(ArgDefault::Bool(true))
        .doc("Run `apt-get update` after a change."),
    ArgDef::new("update_cache_retries", ArgType::Int)
        .default(ArgDefault::Int(5))
        .doc("How many times to try the cache update."),
    ArgDef::new("update_cache_retry_max_delay", ArgType::Int)
        .default(ArgDefault::Int(12))
        .doc("Longest pause (seconds) between cache update tries."),
    ArgDef::new("filename", ArgType::Str)
        .doc("Name (without `.list`) of the file in `sources.list.d` for a new source."),
    ArgDef::new("install_python_apt", ArgType::Bool)
        .default(ArgDefault::Bool(true))
        .doc("Accepted for compatibility: the runner needs no python3-apt."),
    ArgDef::new("validate_certs", ArgType::Bool)
        .default(ArgDefault::Bool(true))
        .doc("Accepted for compatibility (only used for PPA lookups, which are not supported)."),
    ArgDef::new("codename", ArgType::Str)
        .doc("Release codename for PPAs (PPAs are not supported)."),
];

static SPEC: ArgSpec = ArgSpec::new(&ARGS);

const VALID: [&str; 2] = ["deb", "deb-src"];

/// One line of a sources file, as Ansible's `_parse` splits it.
#[derive(Clone, PartialEq)]
struct Line {
    valid: bool,
    enabled: bool,
    source: String,
    comment: String,
}

fn parse(line: &str) -> Line {
    let mut l = line.trim();
    let mut enabled = true;
    if let Some(r) = l.strip_prefix('#') {
        enabled = false;
        l = r;
    }
    let mut comment = String::new();
    let mut src = l;
    if let Some(i) = l.find('#').filter(|i| *i > 0) {
        comment = l[i + 1..].trim().to_owned();
        src = &l[..i];
    }
    let mut source = src.trim().to_owned();
    let mut valid = false;
    let chunks: Vec<&str> = source.split_whitespace().collect();
    if chunks.first().is_some_and(|c| VALID.contains(c)) {
        valid = true;
        source = chunks.join(" ");
    }
    Line {
        valid,
        enabled,
        source,
        comment,
    }
}

fn render(lines: &[Line]) -> String {
    let mut out = String::new();
    for l in lines {
        if !l.enabled {
            out.push_str("# ");
        }
        out.push_str(&l.source);
        if !l.comment.is_empty() {
            out.push_str(" # ");
            out.push_str(&l.comment);
        }
        out.push('\n');
    }
    out
}

/// Where apt's sources are (`apt-config`, so `APT_CONFIG` is honoured).
fn locations(ctx: &Context<'_>) -> (PathBuf, PathBuf) {
    let out = c::run(
        ctx,
        &[
            "apt-config".into(),
            "shell".into(),
            "SL".into(),
            "Dir::Etc::sourcelist/f".into(),
            "SP".into(),
            "Dir::Etc::sourceparts/d".into(),
        ],
        &[],
        None,
    );
    let mut sl = PathBuf::from("/etc/apt/sources.list");
    let mut sp = PathBuf::from("/etc/apt/sources.list.d");
    for l in out.stdout.lines() {
        if let Some((k, v)) = l.split_once('=') {
            let v = v.trim().trim_matches('\'').trim_end_matches('/');
            match k {
                "SL" => sl = PathBuf::from(v),
                "SP" => sp = PathBuf::from(v),
                _ => {}
            }
        }
    }
    (sl, sp)
}

fn suggest_filename(source: &str, filename: Option<&str>) -> String {
    if let Some(f) = filename {
        return format!("{f}.list");
    }
    // Options in brackets and URL schemes are dropped; the first word left
    // (user:password@ removed) makes the name.
    let mut s = String::new();
    let mut depth = 0;
    for ch in source.chars() {
        match ch {
            '[' => depth += 1,
            ']' if depth > 0 => depth -= 1,
            _ if depth == 0 => s.push(ch),
            _ => {}
        }
    }
    let s = match s.find("://") {
        Some(i) => {
            let start = s[..i]
                .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
                .map_or(0, |j| j + 1);
            format!("{}{}", &s[..start], &s[i + 3..])
        }
        None => s,
    };
    let first = s
        .split_whitespace()
        .find(|p| !VALID.contains(p))
        .unwrap_or("");
    let first = first.split_once('@').map_or(first, |(_, r)| r);
    let cleaned: String = first
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' })
        .collect();
    format!(
        "{}.list",
        cleaned.split_whitespace().collect::<Vec<_>>().join("_")
    )
}

type Files = BTreeMap<PathBuf, Vec<Line>>;

fn load(sl: &Path, sp: &Path) -> Files {
    let mut files = Files::new();
    let mut read = |p: &Path| {
        if let Ok(t) = std::fs::read_to_string(p) {
            files.insert(p.to_path_buf(), t.lines().map(parse).collect());
        }
    };
    if sl.is_file() {
        read(sl);
    }
    if let Ok(rd) = std::fs::read_dir(sp) {
        let mut parts: Vec<PathBuf> = rd
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "list"))
            .collect();
        parts.sort();
        for p in parts {
            read(&p);
        }
    }
    files
}

fn dump(files: &Files) -> BTreeMap<PathBuf, String> {
    files
        .iter()
        .filter(|(_, l)| !l.is_empty())
        .map(|(p, l)| (p.clone(), render(l)))
        .collect()
}

fn parse_mode(v: &Value) -> Result<u32, ModuleError> {
    let bad = || ModuleError::failed(format!("mode must be in octal or symbolic form: {v}"));
    match v {
        Value::Number(n) => n.as_u64().map(|m| m as u32).ok_or_else(bad),
        Value::String(s) => u32::from_str_radix(s.trim_start_matches("0o"), 8).map_err(|_| bad()),
        _ => Err(bad()),
    }
}

fn write_atomic(path: &Path, data: &str, mode: Option<u32>) -> Result<(), ModuleError> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let dir = path.parent().unwrap_or(Path::new("/"));
    std::fs::create_dir_all(dir).map_err(|e| {
        ModuleError::failed(format!("Failed to create directory {}: {e}", dir.display()))
    })?;
    let existing_mode = std::fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777);
    let mut tmp = tempfile_in(dir, path)?;
    tmp.1
        .write_all(data.as_bytes())
        .and_then(|_| tmp.1.sync_all())
        .map_err(|e| ModuleError::io("Failed to write", tmp.0.display().to_string(), e))?;
    let m = mode.or(existing_mode).unwrap_or(0o644);
    std::fs::set_permissions(&tmp.0, std::fs::Permissions::from_mode(m))
        .and_then(|_| std::fs::rename(&tmp.0, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp.0);
            ModuleError::io("Failed to replace", path.display().to_string(), e)
        })
}

fn tempfile_in(dir: &Path, path: &Path) -> Result<(PathBuf, std::fs::File), ModuleError> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("sources");
    for i in 0..100u32 {
        let p = dir.join(format!(".{name}-{}-{i}", std::process::id()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&p)
        {
            Ok(f) => return Ok((p, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(ModuleError::failed(format!(
                    "Unable to create temp file at \"{}\" for apt source: {e}",
                    dir.display()
                )))
            }
        }
    }
    Err(ModuleError::failed(format!(
        "Unable to create temp file at \"{}\" for apt source",
        dir.display()
    )))
}

impl Module for AptRepository {
    fn name(&self) -> &'static str {
        "apt_repository"
    }
    fn description(&self) -> &'static str {
        "Add and remove APT repositories"
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
        let a: &Args = &ctx.args;
        let repo = a.str("repo").unwrap_or("").to_owned();
        if repo.is_empty() {
            return Err(ModuleError::failed(
                "Please set argument 'repo' to a non-empty value",
            ));
        }
        if repo.starts_with("ppa:") {
            return Err(ModuleError::failed(format!(
                "PPA repositories are not supported by rustle (adding {repo} needs a Launchpad lookup over the network); give the deb line and the key instead"
            )));
        }
        let present = a.str("state") != Some("absent");
        let mode = a.get("mode").map(parse_mode).transpose()?;
        let (sl, sp) = locations(ctx);
        let mut files = load(&sl, &sp);
        let before = dump(&files);
        let new = parse(&repo);
        if !new.valid || !new.enabled {
            let l = repo.trim().trim_start_matches('#');
            return Err(ModuleError::failed(format!(
                "Invalid repository string: {l}"
            )));
        }
        let mut new_files: Vec<PathBuf> = Vec::new();
        if present {
            let mut found = false;
            for lines in files.values_mut() {
                for l in lines.iter_mut() {
                    if l.valid && l.source == new.source {
                        l.enabled = true;
                        found = true;
                    }
                }
            }
            if !found {
                let name = suggest_filename(&new.source, a.str("filename"));
                let file = if name.contains('/') {
                    PathBuf::from(name)
                } else {
                    sp.join(name)
                };
                files.entry(file.clone()).or_default().push(Line {
                    valid: true,
                    enabled: true,
                    source: new.source.clone(),
                    comment: String::new(),
                });
                new_files.push(file);
            }
        } else {
            for lines in files.values_mut() {
                lines.retain(|l| !(l.valid && l.enabled && l.source == new.source));
            }
        }
        let after = dump(&files);
        let changed = before != after;
        let mut r = ModuleResult::ok();
        r.changed = changed;
        r.set("repo", repo.clone());
        r.set("state", if present { "present" } else { "absent" });
        let added: Vec<String> = after
            .keys()
            .filter(|k| !before.contains_key(*k))
            .map(|k| k.display().to_string())
            .collect();
        let removed: Vec<String> = before
            .keys()
            .filter(|k| !after.contains_key(*k))
            .map(|k| k.display().to_string())
            .collect();
        let mut diff = Vec::new();
        if changed {
            for f in added.iter().chain(removed.iter()) {
                let p = PathBuf::from(f);
                let b = before.get(&p).cloned().unwrap_or_default();
                let af = after.get(&p).cloned().unwrap_or_default();
                let bh = if before.contains_key(&p) {
                    f.as_str()
                } else {
                    "/dev/null"
                };
                let ah = if after.contains_key(&p) {
                    f.as_str()
                } else {
                    "/dev/null"
                };
                diff.push(crate::result::diff_entry(bh, b, ah, af));
            }
        }
        r.set("sources_added", if changed { added } else { Vec::new() });
        r.set(
            "sources_removed",
            if changed { removed } else { Vec::new() },
        );
        r.set("diff", diff);
        if !changed {
            return Ok(Check::Done(r));
        }
        let update = a.bool("update_cache");
        let retries = a.int("update_cache_retries").unwrap_or(5);
        let max_delay = a.int("update_cache_retry_max_delay").unwrap_or(12);
        let predicted = r.clone();
        Ok(Check::Change {
            predicted,
            action: action(move |ctx: &Context<'_>| {
                for (path, lines) in &files {
                    if lines.is_empty() {
                        if path.exists() {
                            std::fs::remove_file(path).map_err(|e| {
                                ModuleError::io("Failed to remove", path.display().to_string(), e)
                            })?;
                        }
                        continue;
                    }
                    if before.get(path) == after.get(path) {
                        continue;
                    }
                    let m = if new_files.contains(path) {
                        Some(mode.unwrap_or(0o644))
                    } else {
                        None
                    };
                    // A symlinked sources file is written through the link.
                    let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
                    write_atomic(&target, &render(lines), m)?;
                }
                if update {
                    let mut err = String::new();
                    let mut ok = false;
                    for attempt in 0..retries.max(0) {
                        let out = c::run(
                            ctx,
                            &["apt-get".into(), "update".into(), "-q".into()],
                            &[("LC_ALL", "C.UTF-8"), ("DEBIAN_FRONTEND", "noninteractive")],
                            None,
                        );
                        let bad = out
                            .stderr
                            .lines()
                            .find(|l| l.starts_with("E:") || l.starts_with("W: Failed to fetch"));
                        if out.rc == 0 && bad.is_none() {
                            ok = true;
                            break;
                        }
                        err = bad.map(str::to_owned).unwrap_or(out.stderr);
                        let delay = (2f64.powi(attempt as i32)).min(max_delay as f64);
                        std::thread::sleep(std::time::Duration::from_secs_f64(delay));
                    }
                    if !ok {
                        // Put the sources back as they were, as Ansible does.
                        for (path, text) in &before {
                            let _ = write_atomic(path, text, None);
                        }
                        for path in after.keys().filter(|k| !before.contains_key(*k)) {
                            let _ = std::fs::remove_file(path);
                        }
                        return Err(ModuleError::failed(format!(
                            "Failed to update apt cache after {retries} retries: {}",
                            if err.is_empty() {
                                "unknown reason"
                            } else {
                                err.trim()
                            }
                        )));
                    }
                }
                Ok(r)
            }),
        })
    }
}

const NOTES: &str = r#"Edits one-line apt sources as Ansible's module does: every `*.list` file in
`Dir::Etc::sourceparts` and `Dir::Etc::sourcelist` (found with `apt-config`, so `APT_CONFIG` in
the task's `environment` is honoured) is parsed; `present` enables a matching commented-out
line in place or appends the line to `sources.list.d/<filename>.list` (the name derived from the
URL's host and path as Ansible derives it when `filename` is not given; new files get `mode`,
default 0644); `absent` drops every enabled matching line, and a file left empty is deleted.
Lines are rewritten normalised (`# ` for disabled lines, single spaces, ` # comment`), as
Ansible writes them. After a change, `update_cache` (default true) runs `apt-get update`, with
retries; a failed update puts the sources back.

Results: `changed`, `repo`, `state`, `sources_added`, `sources_removed` (files created/deleted),
`diff` (a list with an entry per added or removed file, as Ansible's). Failures: `Invalid
repository string: ...`, `Please set argument 'repo' to a non-empty value`, `Failed to update
apt cache after N retries: ...`.

Check mode: full. Diff: yes (only for added or removed files, as Ansible).

Differences from Ansible: `ppa:` repositories fail (they need a Launchpad lookup over the
network, which the runner does not do), so `codename` has no use; `install_python_apt` and
`validate_certs` are accepted and have no effect (no python3-apt is needed).

Tests: conformance cases with `APT_CONFIG` pointing at a temporary `sources.list` and
`sources.list.d`.
"#;
