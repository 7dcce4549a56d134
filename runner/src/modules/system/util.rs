//! What the system modules share: finding programs the way Ansible's
//! `get_bin_path` does (the task's `PATH` first, then the sbin
//! directories) and running them with the task's environment.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::modules::{Context, ModuleError};

pub use crate::modules::binpath::{find_bin as bin_path, require_bin, search_dirs};

/// What a program printed and how it ended.
#[derive(Debug, Clone, Default)]
pub struct Output {
    pub rc: i32,
    pub out: String,
    pub err: String,
}

/// Runs `argv` with the task's environment and the C locale (as Ansible's
/// `run_command` does for these modules). A program that cannot be
/// started fails the task with Python's OSError text, as Ansible does.
pub fn run<S: AsRef<std::ffi::OsStr>>(
    ctx: &Context<'_>,
    argv: &[S],
) -> Result<Output, ModuleError> {
    let Some((prog, rest)) = argv.split_first() else {
        return Err(ModuleError::failed("no command given"));
    };
    let mut c = Command::new(prog);
    c.args(rest)
        .envs(ctx.environment.iter())
        .env("LANG", "C")
        .env("LC_ALL", "C")
        .env("LC_MESSAGES", "C")
        .stdin(Stdio::null());
    let o = c.output().map_err(|e| {
        ModuleError::failed(format!(
            "[Errno {}] {}: '{}'",
            e.raw_os_error().unwrap_or(0),
            crate::modules::files::common::strerror(&e),
            prog.as_ref().to_string_lossy()
        ))
    })?;
    Ok(Output {
        rc: o.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&o.stdout).into_owned(),
        err: String::from_utf8_lossy(&o.stderr).into_owned(),
    })
}

/// A path as a string for an argument list.
pub fn s(p: &Path) -> String {
    p.display().to_string()
}

/// `sysv_exists`: an init script for `name` (a name or a path).
pub fn sysv_script(name: &str) -> PathBuf {
    if name.starts_with('/') {
        PathBuf::from(name)
    } else {
        PathBuf::from(format!("/etc/init.d/{name}"))
    }
}

/// `sysv_is_enabled`: a start link for `name` in some (or the given)
/// runlevel.
pub fn sysv_is_enabled(name: &str, runlevel: Option<&str>) -> bool {
    let lvl = runlevel.unwrap_or("?");
    let pattern = if Path::new("/etc/rc0.d/").is_dir() {
        format!("/etc/rc{lvl}.d/S??{}", glob::Pattern::escape(name))
    } else {
        format!("/etc/init.d/rc{lvl}.d/S??{}", glob::Pattern::escape(name))
    };
    glob::glob(&pattern).is_ok_and(|mut g| g.any(|e| e.is_ok()))
}

/// `fail_if_missing`.
pub fn fail_if_missing(found: bool, service: &str, msg: &str) -> Result<(), ModuleError> {
    if found {
        Ok(())
    } else {
        Err(ModuleError::failed(format!(
            "Could not find the requested service {service}: {msg}"
        )))
    }
}

/// Whether the task (or the runner) has `name=value` in its environment.
pub fn env_is(ctx: &Context<'_>, name: &str, value: &str) -> bool {
    ctx.environment
        .get(name)
        .cloned()
        .or_else(|| std::env::var(name).ok())
        .is_some_and(|v| v == value)
}

/// `is_chroot`: a `debian_chroot` variable, or `/` is not pid 1's root.
pub fn is_chroot(ctx: &Context<'_>) -> bool {
    use std::os::unix::fs::MetadataExt;
    if ctx.environment.contains_key("debian_chroot") || std::env::var_os("debian_chroot").is_some()
    {
        return true;
    }
    match (std::fs::metadata("/"), std::fs::metadata("/proc/1/root/.")) {
        (Ok(a), Ok(b)) => a.ino() != b.ino() || a.dev() != b.dev(),
        _ => false,
    }
}

/// Adds a warning to a result, as `module.warn` does.
pub fn warn(r: &mut crate::result::ModuleResult, msg: impl Into<String>) {
    let list = r
        .extra
        .entry("warnings")
        .or_insert_with(|| serde_json::Value::Array(Vec::new()));
    if let serde_json::Value::Array(a) = list {
        a.push(serde_json::Value::String(msg.into()));
    }
}
