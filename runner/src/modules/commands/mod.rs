//! Command-running modules and what they share.

pub mod command;
pub mod expect;
pub mod script;
pub mod shell;

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command as Proc, Stdio};

use serde_json::{Map, Value};

use crate::args::{ArgDef, ArgDefault, ArgSpec, ArgType, Args};
use crate::modules::{action, Check, Context, ModuleError};
use crate::result::ModuleResult;

/// `command` and `shell` take the same arguments (Ansible's shell action
/// runs the command module with `_uses_shell`).
pub(crate) const ARGS: &[ArgDef] = &[
    ArgDef::new("_raw_params", ArgType::Str).internal(),
    ArgDef::new("_uses_shell", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .internal(),
    ArgDef::new("cmd", ArgType::Str).doc("The command to run."),
    ArgDef::new("argv", ArgType::List).doc("The command as a list of arguments."),
    ArgDef::new("chdir", ArgType::Path).doc("Change into this directory first."),
    ArgDef::new("executable", ArgType::Path).doc("Shell to run the command with (shell only)."),
    ArgDef::new("creates", ArgType::Path).doc("Do not run when this path (glob) exists."),
    ArgDef::new("removes", ArgType::Path).doc("Run only when this path (glob) exists."),
    ArgDef::new("stdin", ArgType::Str).doc("Data fed to the command's standard input."),
    ArgDef::new("stdin_add_newline", ArgType::Bool)
        .default(ArgDefault::Bool(true))
        .doc("Append a newline to stdin."),
    ArgDef::new("strip_empty_ends", ArgType::Bool)
        .default(ArgDefault::Bool(true))
        .doc("Strip trailing newlines from stdout and stderr."),
    ArgDef::new("expand_argument_vars", ArgType::Bool)
        .default(ArgDefault::Bool(true))
        .doc("Expand $VARS and ~ in arguments (command only)."),
];

pub(crate) static SPEC: ArgSpec = ArgSpec::new(ARGS);

/// The command line to run, as Ansible reports it in `cmd`.
enum CmdLine {
    Argv(Vec<String>),
    Shell(String),
}

impl CmdLine {
    fn to_value(&self) -> Value {
        match self {
            CmdLine::Argv(a) => Value::from(a.clone()),
            CmdLine::Shell(s) => Value::from(s.clone()),
        }
    }
}

fn base_result() -> ModuleResult {
    // Keys Ansible always returns for command/shell.
    let mut r = ModuleResult::ok().with_msg("");
    for k in ["stdout", "stderr"] {
        r.set(k, "");
    }
    for k in ["rc", "cmd", "start", "end", "delta"] {
        r.set(k, Value::Null);
    }
    r
}

fn fail_with(r: ModuleResult, msg: &str) -> ModuleError {
    let mut extra = r.extra;
    extra.insert("changed".into(), Value::Bool(r.changed));
    ModuleError::Failed {
        msg: msg.to_owned(),
        extra,
    }
}

fn any_glob(pattern: &str) -> bool {
    match glob::glob(pattern) {
        Ok(mut paths) => paths.any(|p| p.is_ok()),
        Err(_) => std::path::Path::new(pattern).exists(),
    }
}

pub(crate) fn expand_vars(s: &str) -> String {
    expand_vars_with(s, &BTreeMap::new())
}

/// `os.path.expandvars` in a module process whose environment is this
/// one plus the task's `environment`: $NAME and ${NAME}; unknown names stay
/// as written.
pub(crate) fn expand_vars_with(s: &str, task_env: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' {
            let (name, end) = if b.get(i + 1) == Some(&b'{') {
                match s[i + 2..].find('}') {
                    Some(j) => (&s[i + 2..i + 2 + j], i + 3 + j),
                    None => ("", i + 1),
                }
            } else {
                let j = s[i + 1..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .map_or(s.len(), |j| i + 1 + j);
                (&s[i + 1..j], j)
            };
            if !name.is_empty() {
                if let Some(v) = task_env
                    .get(name)
                    .cloned()
                    .or_else(|| std::env::var(name).ok())
                {
                    out.push_str(&v);
                    i = end;
                    continue;
                }
                out.push_str(&s[i..end]);
                i = end;
                continue;
            }
        }
        let ch = s[i..].chars().next().unwrap_or('$');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// Shared check for `command` and `shell`.
pub(crate) fn check(ctx: &Context<'_>, force_shell: bool) -> Result<Check, ModuleError> {
    let a: &Args = &ctx.args;
    let shell = force_shell || a.bool("_uses_shell");
    let raw = a.str("_raw_params").or_else(|| a.str("cmd"));
    let argv = a.list("argv");
    let mut r = base_result();
    let raw = raw.filter(|s| !s.trim().is_empty());
    if raw.is_none() && argv.is_empty() {
        r.set("rc", 256);
        return Err(fail_with(r, "no command given"));
    }
    if raw.is_some() && !argv.is_empty() {
        r.set("rc", 256);
        return Err(fail_with(r, "only command or argv can be given, not both"));
    }
    let cmd = match (raw, shell) {
        (Some(s), true) => CmdLine::Shell(s.to_owned()),
        (Some(s), false) => match shlex::split(s) {
            Some(v) => CmdLine::Argv(v),
            None => {
                r.set("rc", 256);
                return Err(fail_with(r, "No closing quotation"));
            }
        },
        (None, true) => CmdLine::Shell(
            argv.iter()
                .map(|s| {
                    shlex::try_quote(s)
                        .map(|c| c.into_owned())
                        .unwrap_or_else(|_| s.clone())
                })
                .collect::<Vec<_>>()
                .join(" "),
        ),
        (None, false) => CmdLine::Argv(argv),
    };
    let cmd = match cmd {
        CmdLine::Argv(v) if a.bool("expand_argument_vars") => CmdLine::Argv(
            v.iter()
                .map(|s| {
                    let e = expand_vars_with(s, ctx.environment);
                    crate::fsutil::expand_user(&e)
                        .to_string_lossy()
                        .into_owned()
                })
                .collect(),
        ),
        other => other,
    };
    r.set("cmd", cmd.to_value());

    let chdir = a.str("chdir").map(|d| ctx.expand_path(d));
    if let Some(d) = &chdir {
        if !d.is_dir() {
            let e = std::fs::metadata(d)
                .map(|_| "[Errno 20] Not a directory".to_owned())
                .unwrap_or_else(|e| python_errno(&e));
            return Err(fail_with(
                r,
                &format!(
                    "Unable to change directory before execution: {e}: '{}'",
                    d.display()
                ),
            ));
        }
    }
    let rel = |p: &str| -> String {
        let p = ctx.expand_path(p);
        match (&chdir, p.is_relative()) {
            (Some(d), true) => d.join(p).to_string_lossy().into_owned(),
            _ => p.to_string_lossy().into_owned(),
        }
    };
    let shoulda = if ctx.check_mode { "Would" } else { "Did" };
    if let Some(c) = a.str("creates") {
        if any_glob(&rel(c)) {
            r.msg = Some(format!("{shoulda} not run command since '{c}' exists"));
            r.set("rc", 0);
            // Ansible still sets this (deprecated) stdout.
            let out = format!("skipped, since {c} exists");
            r.set("stdout_lines", vec![out.clone()]);
            r.set("stdout", out);
            r.set("stderr_lines", Vec::<String>::new());
            return Ok(Check::Done(r));
        }
    }
    if let Some(rm) = a.str("removes") {
        if !any_glob(&rel(rm)) {
            r.msg = Some(format!(
                "{shoulda} not run command since '{rm}' does not exist"
            ));
            r.set("rc", 0);
            let out = format!("skipped, since {rm} does not exist");
            r.set("stdout_lines", vec![out.clone()]);
            r.set("stdout", out);
            r.set("stderr_lines", Vec::<String>::new());
            return Ok(Check::Done(r));
        }
    }
    let mut predicted = r.clone();
    predicted.set("rc", 0);
    predicted.msg = Some("Command would have run if not in check mode".into());
    if a.str("creates").is_none() && a.str("removes").is_none() {
        predicted.skipped = true;
    } else {
        predicted.changed = true;
    }
    let stdin = a.str("stdin").map(|s| {
        let mut s = s.to_owned();
        if a.bool("stdin_add_newline") {
            s.push('\n');
        }
        s
    });
    let executable = a.str("executable").map(str::to_owned);
    let strip = a.bool("strip_empty_ends");
    Ok(Check::Change {
        predicted,
        action: action(move |ctx: &Context<'_>| run(ctx, r, cmd, chdir, stdin, executable, strip)),
    })
}

fn python_errno(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(2) => "[Errno 2] No such file or directory".into(),
        Some(13) => "[Errno 13] Permission denied".into(),
        Some(n) => format!("[Errno {n}] {e}"),
        None => e.to_string(),
    }
}

pub(crate) fn now() -> chrono::DateTime<chrono::Local> {
    chrono::Local::now()
}

pub(crate) fn fmt_time(t: &chrono::DateTime<chrono::Local>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
}

pub(crate) fn fmt_delta(d: chrono::TimeDelta) -> String {
    // Python's str(timedelta): H:MM:SS.ffffff
    let us = d.num_microseconds().unwrap_or(0).max(0);
    let secs = us / 1_000_000;
    format!(
        "{}:{:02}:{:02}.{:06}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60,
        us % 1_000_000
    )
}

fn lines(s: &str) -> Value {
    // Python's str.splitlines()
    Value::from(s.lines().map(str::to_owned).collect::<Vec<_>>())
}

fn run(
    ctx: &Context<'_>,
    mut r: ModuleResult,
    cmd: CmdLine,
    chdir: Option<std::path::PathBuf>,
    stdin: Option<String>,
    executable: Option<String>,
    strip: bool,
) -> Result<ModuleResult, ModuleError> {
    let mut proc = match &cmd {
        CmdLine::Argv(v) => {
            let mut p = Proc::new(&v[0]);
            p.args(&v[1..]);
            p
        }
        CmdLine::Shell(s) => {
            let mut p = Proc::new(executable.as_deref().unwrap_or("/bin/sh"));
            p.arg("-c").arg(s);
            p
        }
    };
    if let Some(d) = &chdir {
        proc.current_dir(d);
    }
    proc.envs(ctx.environment.iter());
    proc.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    proc.stdout(Stdio::piped()).stderr(Stdio::piped());
    let start = now();
    let child = proc.spawn();
    let output = match child {
        Ok(mut child) => {
            if let Some(data) = stdin {
                if let Some(mut si) = child.stdin.take() {
                    // A command that exits without reading is not an error.
                    let _ = si.write_all(data.as_bytes());
                }
            }
            child.wait_with_output()
        }
        Err(e) => Err(e),
    };
    let end = now();
    match output {
        Ok(out) => {
            let mut so = String::from_utf8_lossy(&out.stdout).into_owned();
            let mut se = String::from_utf8_lossy(&out.stderr).into_owned();
            if strip {
                so.truncate(so.trim_end_matches(['\r', '\n']).len());
                se.truncate(se.trim_end_matches(['\r', '\n']).len());
            }
            let rc = exit_code(&out.status);
            r.changed = true;
            r.set("rc", rc);
            r.set("start", fmt_time(&start));
            r.set("end", fmt_time(&end));
            r.set("delta", fmt_delta(end - start));
            r.set("stdout_lines", lines(&so));
            r.set("stderr_lines", lines(&se));
            r.set("stdout", so);
            r.set("stderr", se);
            if rc != 0 {
                return Err(fail_with(r, "non-zero return code"));
            }
            Ok(r)
        }
        Err(e) => {
            // Ansible reports a missing executable as rc 2 with the errno text.
            let name = match &cmd {
                CmdLine::Argv(v) => v[0].clone(),
                CmdLine::Shell(_) => executable.unwrap_or_else(|| "/bin/sh".into()),
            };
            r.set("rc", 2);
            r.set("stdout", "");
            r.set("stderr", "");
            r.set("stdout_lines", Vec::<String>::new());
            r.set("stderr_lines", Vec::<String>::new());
            let mut extra = Map::new();
            std::mem::swap(&mut extra, &mut r.extra);
            extra.insert("changed".into(), Value::Bool(false));
            Err(ModuleError::Failed {
                msg: format!("{}: b'{}'", python_errno(&e), name),
                extra,
            })
        }
    }
}

fn exit_code(s: &std::process::ExitStatus) -> i64 {
    use std::os::unix::process::ExitStatusExt;
    match (s.code(), s.signal()) {
        (Some(c), _) => i64::from(c),
        // Python's subprocess reports death by signal N as -N.
        (None, Some(sig)) => -i64::from(sig),
        _ => -1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expandvars_keeps_unknown() {
        std::env::set_var("RUSTLE_T_X", "v");
        assert_eq!(expand_vars("a$RUSTLE_T_X/${RUSTLE_T_X}b"), "av/vb");
        assert_eq!(expand_vars("$RUSTLE_NOPE_1 $"), "$RUSTLE_NOPE_1 $");
    }

    #[test]
    fn delta_format() {
        assert_eq!(
            fmt_delta(chrono::TimeDelta::microseconds(3_123_456)),
            "0:00:03.123456"
        );
    }
}
