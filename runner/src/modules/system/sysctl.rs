//! `sysctl` (ansible.posix): kernel parameters in a sysctl file and, with
//! `sysctl_set`/`reload`, in the running kernel, as Ansible's module does.

use std::path::PathBuf;

use super::util;
use crate::args::{ArgDef, ArgDefault, ArgSpec, ArgType};
use crate::fsutil;
use crate::modules::{action, Capabilities, Check, CheckSupport, Context, Module, ModuleError};
use crate::result::ModuleResult;

pub struct Sysctl;

static ARGS: [ArgDef; 7] = [
    ArgDef::new("name", ArgType::Str)
        .aliases(&["key"])
        .required()
        .doc("The dotted key (`net.ipv4.ip_forward`)."),
    ArgDef::new("value", ArgType::Str)
        .aliases(&["val"])
        .doc("The value; booleans become `1`/`0`."),
    ArgDef::new("state", ArgType::Str)
        .default(ArgDefault::Str("present"))
        .choices(&["present", "absent"])
        .doc("Whether the key is in the file."),
    ArgDef::new("reload", ArgType::Bool)
        .default(ArgDefault::Bool(true))
        .doc("Run `sysctl -p FILE` when something changed."),
    ArgDef::new("sysctl_set", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Also set the running value with `sysctl -w` when it differs."),
    ArgDef::new("ignoreerrors", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Pass `-e`: ignore unknown keys."),
    ArgDef::new("sysctl_file", ArgType::Path)
        .default(ArgDefault::Str("/etc/sysctl.conf"))
        .doc("The file the key is kept in."),
];

static SPEC: ArgSpec = ArgSpec::new(&ARGS).required_if(&[("state", "present", &["value"])]);

const NOTES: &str = r#"As ansible.posix's module on Linux: the running value comes from
`sysctl -e -n KEY`; the file is read line by line (`#`/`;` comments and
lines without `=` kept), the key's line replaced (first occurrence; later
duplicates of any key dropped), removed, or appended as `key=value`, and
every line rewritten stripped; values compare by whitespace-separated
words. With `sysctl_set`, a differing running value is set with
`sysctl [-e] -w KEY=VALUE`; with `reload` (default) any change runs
`sysctl [-e] -p FILE`. With `reload`, a file already right but a running
value that differs is a change, as in Ansible (and so is a key the
kernel does not have, every time).

Results: `changed` only, as in Ansible. Failures: `setting KEY failed:
<output>`, `Failed to reload sysctl: <output>` (also when stderr says
`Invalid argument` or `Read-only file system`), `name cannot be blank`,
`value cannot be blank`, `state is present but all of the following are
missing: value`.

Check mode: full. Diff: none, as in Ansible.

Differences: the FreeBSD and OpenBSD variants are not implemented.

Tested with a fake `sysctl` on `PATH` (keys as files in a temporary
directory) and `sysctl_file` in a temporary directory: conformance cases
and differential cases against ansible-playbook. The real kernel
parameters are never set by the tests."#;

impl Module for Sysctl {
    fn name(&self) -> &'static str {
        "sysctl"
    }
    fn description(&self) -> &'static str {
        "Manage entries in sysctl.conf"
    }
    fn collection(&self) -> &'static str {
        "ansible.posix"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            check_mode: CheckSupport::Full,
            diff: false,
        }
    }
    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }
    fn notes(&self) -> &'static str {
        NOTES
    }
    fn check(&self, ctx: &Context<'_>) -> Result<Check, ModuleError> {
        let p = plan(ctx)?;
        if !p.changed {
            return Ok(Check::Done(ModuleResult::ok()));
        }
        Ok(Check::Change {
            predicted: ModuleResult::changed(),
            action: action(move |ctx| apply(ctx, p)),
        })
    }
}

/// `_parse_value`.
fn parse_value(v: Option<&str>) -> String {
    match v {
        None => String::new(),
        Some(s) => match s.to_lowercase().as_str() {
            "y" | "yes" | "on" | "1" | "true" | "t" | "1.0" => "1".into(),
            "n" | "no" | "off" | "0" | "false" | "f" | "0.0" => "0".into(),
            _ => s.trim().to_owned(),
        },
    }
}

fn values_equal(a: Option<&str>, b: &str) -> bool {
    a.is_some_and(|a| a.split_whitespace().eq(b.split_whitespace()))
}

fn stderr_failed(err: &str) -> bool {
    err.lines().any(|l| {
        l.strip_prefix("sysctl: setting key \"")
            .is_some_and(|rest| {
                rest.split_once("\": ").is_some_and(|(k, why)| {
                    !k.contains('"') && matches!(why, "Invalid argument" | "Read-only file system")
                })
            })
    })
}

struct Plan {
    changed: bool,
    set_proc: bool,
    write_file: bool,
    name: String,
    value: String,
    file: PathBuf,
    lines: Vec<String>,
    sysctl: String,
    ignoreerrors: bool,
    reload: bool,
}

fn plan(ctx: &Context<'_>) -> Result<Plan, ModuleError> {
    let a = &ctx.args;
    let present = a.str("state") != Some("absent");
    let raw_name = a.str("name").unwrap_or_default();
    if raw_name.is_empty() {
        return Err(ModuleError::failed("name cannot be blank"));
    }
    if present && a.str("value") == Some("") {
        return Err(ModuleError::failed("value cannot be blank"));
    }
    let sysctl = util::s(&util::require_bin(ctx, "sysctl")?);
    let name = raw_name.trim().to_owned();
    let value = parse_value(a.str("value"));
    let file = ctx.expand_path(a.str("sysctl_file").unwrap_or("/etc/sysctl.conf"));
    let reload = a.bool("reload");

    let o = util::run(ctx, &[sysctl.as_str(), "-e", "-n", &name])?;
    let proc_value = (o.rc == 0).then_some(o.out);

    let mut file_lines = Vec::new();
    let mut file_value: Option<String> = None;
    if file.is_file() {
        let text = std::fs::read(&file).map_err(|e| {
            ModuleError::failed(format!(
                "Failed to open {}: {}",
                file.display(),
                crate::modules::files::common::py_oserror(&e, Some(&file), None)
            ))
        })?;
        let text = String::from_utf8_lossy(&text);
        for line in text.split_inclusive('\n') {
            let line = line.trim();
            file_lines.push(line.to_owned());
            if line.is_empty() || line.starts_with(['#', ';']) {
                continue;
            }
            if let Some((k, v)) = line.split_once('=') {
                if k.trim() == name {
                    file_value = Some(v.trim().to_owned());
                }
            }
        }
    }
    // fix_lines
    let mut checked: Vec<String> = Vec::new();
    let mut fixed = Vec::new();
    for line in &file_lines {
        let t = line.trim();
        let Some((k, v)) = (!t.is_empty() && !t.starts_with(['#', ';']))
            .then(|| t.split_once('='))
            .flatten()
        else {
            fixed.push(line.clone());
            continue;
        };
        let (k, v) = (k.trim(), v.trim());
        if checked.iter().any(|c| c == k) {
            continue;
        }
        checked.push(k.to_owned());
        if k == name {
            if present {
                fixed.push(format!("{k}={value}"));
            }
        } else {
            fixed.push(format!("{k}={v}"));
        }
    }
    if present && !checked.contains(&name) {
        fixed.push(format!("{name}={value}"));
    }

    let mut changed = false;
    let mut write_file = false;
    match (&file_value, present) {
        (None, true) => {
            changed = true;
            write_file = true;
        }
        (None, false) => {}
        // `self.file_values[thisname]` is truthy: an empty value in the
        // file is left alone.
        (Some(v), false) if !v.is_empty() => {
            changed = true;
            write_file = true;
        }
        (Some(v), _) if *v != value => {
            changed = true;
            write_file = true;
        }
        _ => {
            if reload && !values_equal(proc_value.as_deref(), &value) {
                changed = true;
            }
        }
    }
    let mut set_proc = false;
    if a.bool("sysctl_set") && present {
        if proc_value.is_none() {
            changed = true;
        } else if !values_equal(proc_value.as_deref(), &value) {
            changed = true;
            set_proc = true;
        }
    }
    Ok(Plan {
        changed,
        set_proc,
        write_file,
        name,
        value,
        file,
        lines: fixed,
        sysctl,
        ignoreerrors: a.bool("ignoreerrors"),
        reload,
    })
}

fn apply(ctx: &Context<'_>, p: Plan) -> Result<ModuleResult, ModuleError> {
    let mut base = vec![p.sysctl.clone()];
    if p.ignoreerrors {
        base.push("-e".into());
    }
    if p.set_proc {
        let mut argv = base.clone();
        argv.push("-w".into());
        argv.push(format!("{}={}", p.name, p.value));
        let o = util::run(ctx, &argv)?;
        if o.rc != 0 || stderr_failed(&o.err) {
            return Err(ModuleError::failed(format!(
                "setting {} failed: {}{}",
                p.name, o.out, o.err
            )));
        }
    }
    if p.write_file {
        let mut data = String::new();
        for l in &p.lines {
            data.push_str(l.trim());
            data.push('\n');
        }
        let real = crate::modules::files::common::realpath(&p.file);
        fsutil::atomic_write(&real, data.as_bytes(), None)?;
    }
    if p.changed && p.reload {
        let mut argv = base;
        argv.push("-p".into());
        argv.push(util::s(&p.file));
        let o = util::run(ctx, &argv)?;
        if o.rc != 0 || stderr_failed(&o.err) {
            return Err(ModuleError::failed(format!(
                "Failed to reload sysctl: {}{}",
                o.out, o.err
            )));
        }
    }
    Ok(ModuleResult::changed())
}
