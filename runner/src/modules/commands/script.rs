//! `script`: the host side of Ansible's `script` action. The controller
//! finds the script, ships it as the `src` asset and passes the command
//! line; here it is written to a private temporary directory, made
//! executable and run through `/bin/sh -c`, as Ansible's low-level
//! execution does.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::process::{Command as Proc, Stdio};

use serde_json::{Map, Value};

use crate::args::{ArgDef, ArgSpec, ArgType};
use crate::modules::{action, Capabilities, Check, CheckSupport, Context, Module, ModuleError};
use crate::result::ModuleResult;

pub struct Script;

static SPEC: ArgSpec = ArgSpec::new(&[
    ArgDef::new("_raw_params", ArgType::Str)
        .internal()
        .doc("The script path as written in the task, then its arguments."),
    ArgDef::new("cmd", ArgType::Str)
        .doc("The script path and its arguments (instead of the free form)."),
    ArgDef::new("creates", ArgType::Str).doc("Do not run when this path exists on the host."),
    ArgDef::new("removes", ArgType::Str).doc("Run only when this path exists on the host."),
    ArgDef::new("chdir", ArgType::Str).doc("Absolute directory on the host to run the script in."),
    ArgDef::new("executable", ArgType::Str).doc(
        "Program the script is given to (`python3`, `/bin/bash`), instead of running it directly.",
    ),
    ArgDef::new("_script_token", ArgType::Str)
        .internal()
        .doc("The first word of the command line (the script path), replaced by the shipped copy."),
    ArgDef::new("_script_name", ArgType::Str)
        .internal()
        .doc("The file name the shipped copy gets on the host."),
])
.required_one_of(&[&["_raw_params", "cmd"]]);

impl Module for Script {
    fn name(&self) -> &'static str {
        "script"
    }
    fn description(&self) -> &'static str {
        "Runs a local script on a remote node after transferring it"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            check_mode: CheckSupport::Partial,
            diff: false,
        }
    }
    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }
    fn notes(&self) -> &'static str {
        "The host half of the `script` action (see the action's notes): the \
controller resolves the script under `files/`, ships it as the `src` asset and \
passes the command line. Here `creates`/`removes` are tested (skipped with \
`<path> exists, matching creates option` / `<path> does not exist, matching \
removes option`), the script is written to a private temporary directory \
(mode 0700), the first word of the command line is replaced by that copy, and \
the line is run as `/bin/sh -c '[executable] <copy> <args>'` in `chdir` (else \
the runner's working directory) with the task's environment. The temporary \
directory is removed afterwards.\n\n\
Results: `changed` (always true when it ran), `rc`, `stdout`, `stdout_lines`, \
`stderr`, `stderr_lines`; a non-zero exit fails with `non-zero return code`. \
Check mode: with `creates`/`removes` the prediction is `changed: true` (nothing \
runs); without them the task is skipped with `Check mode is not supported for \
this task.`, as Ansible does.\n\n\
Tested through the controller's differential cases (`ctl_script_*`), for real."
    }
    fn check(&self, ctx: &Context<'_>) -> Result<Check, ModuleError> {
        let exists = |p: &str| ctx.expand_path(p).exists();
        if let Some(c) = ctx.args.str("creates").filter(|c| !c.is_empty()) {
            if exists(c) {
                return Ok(Check::Done(skipped(format!(
                    "{c} exists, matching creates option"
                ))));
            }
        }
        let removes = ctx.args.str("removes").filter(|c| !c.is_empty());
        if let Some(rm) = removes {
            if !exists(rm) {
                return Ok(Check::Done(skipped(format!(
                    "{rm} does not exist, matching removes option"
                ))));
            }
        }
        let guarded = ctx.args.str("creates").is_some_and(|c| !c.is_empty()) || removes.is_some();
        if ctx.check_mode && !guarded {
            return Ok(Check::Done(skipped(
                "Check mode is not supported for this task.".into(),
            )));
        }
        let Some(content) = ctx.asset("src")? else {
            return Err(ModuleError::failed("script: the script was not shipped"));
        };
        let raw = ctx
            .args
            .str("_raw_params")
            .filter(|s| !s.trim().is_empty())
            .or_else(|| ctx.args.str("cmd"))
            .unwrap_or_default()
            .trim()
            .to_owned();
        let token = ctx.args.str("_script_token").unwrap_or_default().to_owned();
        let name = ctx
            .args
            .str("_script_name")
            .filter(|n| !n.is_empty() && !n.contains('/'))
            .unwrap_or("script")
            .to_owned();
        let chdir = ctx.args.str("chdir").map(str::to_owned);
        let executable = ctx
            .args
            .str("executable")
            .filter(|e| !e.is_empty())
            .map(str::to_owned);
        Ok(Check::Change {
            predicted: ModuleResult::changed(),
            action: action(move |ctx: &Context<'_>| {
                run(ctx, &content, &raw, &token, &name, chdir, executable)
            }),
        })
    }
}

fn skipped(msg: String) -> ModuleResult {
    let mut r = ModuleResult::ok().with_msg(msg);
    r.skipped = true;
    r
}

/// A private directory under the temporary directory, removed on drop.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> std::io::Result<Self> {
        let base = std::env::temp_dir();
        let pid = std::process::id();
        for n in 0..1000u32 {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            let p = base.join(format!("rustle-script-{pid}-{nanos:x}-{n}"));
            match std::fs::create_dir(&p) {
                Ok(()) => {
                    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o700))?;
                    return Ok(TempDir(p));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(std::io::Error::other("no free temporary directory name"))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn lines(s: &str) -> Value {
    Value::from(s.lines().map(str::to_owned).collect::<Vec<_>>())
}

fn run(
    ctx: &Context<'_>,
    content: &[u8],
    raw: &str,
    token: &str,
    name: &str,
    chdir: Option<String>,
    executable: Option<String>,
) -> Result<ModuleResult, ModuleError> {
    let io = |what: &str, p: &std::path::Path, e: std::io::Error| {
        ModuleError::io(what, p.display().to_string(), e)
    };
    let dir = TempDir::new().map_err(|e| {
        io(
            "could not create a temporary directory",
            &std::env::temp_dir(),
            e,
        )
    })?;
    let path = dir.0.join(name);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o700)
        .open(&path)
        .map_err(|e| io("could not write the script", &path, e))?;
    f.write_all(content)
        .map_err(|e| io("could not write the script", &path, e))?;
    drop(f);
    let copy = path.to_string_lossy().into_owned();
    // Ansible replaces the script's path in the line as written, which keeps
    // the quoting of the arguments.
    let target = if token.is_empty() {
        copy.clone()
    } else {
        raw.replace(token, &copy)
    };
    let line = match &executable {
        Some(e) => format!("{e} {target}"),
        None => target,
    };
    let mut p = Proc::new("/bin/sh");
    p.arg("-c").arg(&line);
    if let Some(d) = &chdir {
        p.current_dir(d);
    }
    p.envs(ctx.environment.iter());
    p.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = p.output().map_err(|e| {
        let at = chdir.as_deref().unwrap_or("/bin/sh");
        io("could not run the script", std::path::Path::new(at), e)
    })?;
    let so = String::from_utf8_lossy(&out.stdout).into_owned();
    let se = String::from_utf8_lossy(&out.stderr).into_owned();
    let rc = {
        use std::os::unix::process::ExitStatusExt;
        match (out.status.code(), out.status.signal()) {
            (Some(c), _) => i64::from(c),
            (None, Some(s)) => -i64::from(s),
            _ => -1,
        }
    };
    let mut r = ModuleResult::changed()
        .with("rc", rc)
        .with("stdout", so.clone())
        .with("stdout_lines", lines(&so))
        .with("stderr", se.clone())
        .with("stderr_lines", lines(&se));
    if rc != 0 {
        // Raised as AnsibleActionFail in Ansible: the result keeps what ran
        // and carries the "no traceback" exception text.
        let mut extra: Map<String, Value> = std::mem::take(&mut r.extra);
        extra.insert("changed".into(), Value::Bool(true));
        extra.insert("exception".into(), Value::from("NoneType: None\n"));
        return Err(ModuleError::Failed {
            msg: "non-zero return code".into(),
            extra,
        });
    }
    Ok(r)
}
