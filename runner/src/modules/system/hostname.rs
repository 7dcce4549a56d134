//! `hostname`: sets the current and permanent host name with the
//! strategy Ansible picks (hostnamectl under systemd, else a file).

use std::path::Path;

use serde_json::{Map, Value};

use super::util;
use crate::args::{ArgDef, ArgSpec, ArgType};
use crate::modules::{action, Capabilities, Check, CheckSupport, Context, Module, ModuleError};
use crate::result::ModuleResult;

pub struct Hostname;

const USES: &[&str] = &[
    "alpine", "debian", "freebsd", "generic", "macos", "macosx", "darwin", "openbsd", "openrc",
    "redhat", "sles", "solaris", "systemd",
];

static ARGS: [ArgDef; 2] = [
    ArgDef::new("name", ArgType::Str)
        .required()
        .doc("The host name."),
    ArgDef::new("use", ArgType::Str)
        .choices(USES)
        .doc("The strategy (default: systemd when systemd runs, else the distribution's)."),
];

static SPEC: ArgSpec = ArgSpec::new(&ARGS);

const NOTES: &str = r#"Strategies as Ansible's: `systemd` (and `debian`, which Ansible maps
to it) reads `hostnamectl --transient status` / `--static status` and
sets `hostnamectl --pretty --static set-hostname NAME` then
`hostnamectl --transient set-hostname NAME` (names over 64 characters
fail); without `use`, systemd is used when `/run/systemd/system` (or
`/dev/.run/systemd`, `/dev/.systemd`) exists and `systemctl` is found;
otherwise Debian-family systems edit `/etc/hostname`, SUSE
`/etc/HOSTNAME`, Alpine `/etc/hostname` plus `hostname -F /etc/hostname`,
Red Hat-family the `HOSTNAME=` line of `/etc/sysconfig/network`.

Results: `changed`, `name`, `ansible_facts` (`ansible_hostname`,
`ansible_nodename`, `ansible_fqdn`, `ansible_domain`; the fqdn is
resolved through `/etc/hosts` as the `setup` facts are), `diff` (`hostname
= OLD` / `hostname = NEW`) when changed. Failures: `Command failed rc=N,
out=..., err=...`, `name cannot be longer than 64 characters on systemd
servers, try a shorter name`, `hostname module cannot be used on
platform Linux (X)`.

Check mode: full. Diff: yes.

Differences: the `freebsd`, `macos`/`darwin`, `openbsd`, `openrc`,
`solaris` and `generic` strategies are not implemented (the task fails
with `hostname strategy X is not supported by rustle`).

Tested with a fake `hostnamectl` on `PATH` and `use: systemd`
(conformance cases and a differential case against ansible-playbook);
the file strategies write fixed system paths and are not exercised by
the tests. The machine's real host name is never changed by the tests."#;

impl Module for Hostname {
    fn name(&self) -> &'static str {
        "hostname"
    }
    fn description(&self) -> &'static str {
        "Manage hostname"
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
        let predicted = evaluate(ctx, false)?;
        if predicted.changed {
            Ok(Check::Change {
                predicted,
                action: action(|ctx| evaluate(ctx, true)),
            })
        } else {
            Ok(Check::Done(predicted))
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Strategy {
    Systemd,
    File(&'static str),
    Alpine,
    RedHat,
}

fn os_release() -> (String, String) {
    let text = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    let get = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .map(|v| v.trim_matches('"').to_lowercase())
            .unwrap_or_default()
    };
    (get("ID"), get("ID_LIKE"))
}

fn systemd_managed(ctx: &Context<'_>) -> bool {
    util::bin_path(ctx, "systemctl").is_some()
        && [
            "/run/systemd/system/",
            "/dev/.run/systemd/",
            "/dev/.systemd/",
        ]
        .iter()
        .any(|p| Path::new(p).exists())
}

fn strategy(ctx: &Context<'_>) -> Result<Strategy, ModuleError> {
    match ctx.args.str("use") {
        Some("systemd" | "debian") => return Ok(Strategy::Systemd),
        Some("alpine") => return Ok(Strategy::Alpine),
        Some("redhat") => return Ok(Strategy::RedHat),
        Some("sles") => return Ok(Strategy::File("/etc/HOSTNAME")),
        Some(other) => {
            return Err(ModuleError::failed(format!(
                "hostname strategy {other} is not supported by rustle"
            )))
        }
        None => {}
    }
    if systemd_managed(ctx) {
        return Ok(Strategy::Systemd);
    }
    let (id, like) = os_release();
    let is = |names: &[&str]| {
        names.contains(&id.as_str()) || like.split_whitespace().any(|l| names.contains(&l))
    };
    if is(&["debian", "ubuntu"]) {
        Ok(Strategy::File("/etc/hostname"))
    } else if is(&["alpine"]) {
        Ok(Strategy::Alpine)
    } else if is(&["sles", "suse", "opensuse"]) {
        Ok(Strategy::File("/etc/HOSTNAME"))
    } else if is(&[
        "rhel",
        "fedora",
        "centos",
        "amzn",
        "ol",
        "rocky",
        "almalinux",
        "altlinux",
    ]) {
        Ok(Strategy::RedHat)
    } else {
        Err(ModuleError::failed(format!(
            "hostname module cannot be used on platform Linux ({})",
            if id.is_empty() { "Linux" } else { id.as_str() }
        )))
    }
}

fn cmd_failed(o: &util::Output) -> ModuleError {
    ModuleError::failed(format!(
        "Command failed rc={}, out={}, err={}",
        o.rc, o.out, o.err
    ))
}

fn read_file_name(path: &str) -> Result<String, ModuleError> {
    if !Path::new(path).is_file() {
        return Ok(String::new());
    }
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_owned())
        .map_err(|e| ModuleError::failed(format!("failed to read hostname: {e}")))
}

const NETWORK_FILE: &str = "/etc/sysconfig/network";

fn get_permanent(ctx: &Context<'_>, s: Strategy) -> Result<String, ModuleError> {
    match s {
        Strategy::Systemd => {
            let bin = util::s(&util::require_bin(ctx, "hostnamectl")?);
            let o = util::run(ctx, &[bin.as_str(), "--static", "status"])?;
            if o.rc != 0 {
                return Err(cmd_failed(&o));
            }
            Ok(o.out.trim().to_owned())
        }
        Strategy::File(f) => read_file_name(f),
        Strategy::Alpine => read_file_name("/etc/hostname"),
        Strategy::RedHat => {
            let text = std::fs::read_to_string(NETWORK_FILE)
                .map_err(|e| ModuleError::failed(format!("failed to read hostname: {e}")))?;
            for line in text.lines() {
                let line = line.trim();
                if line.starts_with("HOSTNAME") {
                    return Ok(line
                        .split_once('=')
                        .map(|x| x.1)
                        .unwrap_or("")
                        .trim()
                        .to_owned());
                }
            }
            Err(ModuleError::failed(format!(
                "failed to read hostname: Unable to locate HOSTNAME entry in {NETWORK_FILE}"
            )))
        }
    }
}

fn get_current(ctx: &Context<'_>, s: Strategy) -> Result<String, ModuleError> {
    match s {
        Strategy::Systemd => {
            let bin = util::s(&util::require_bin(ctx, "hostnamectl")?);
            let o = util::run(ctx, &[bin.as_str(), "--transient", "status"])?;
            if o.rc != 0 {
                return Err(cmd_failed(&o));
            }
            Ok(o.out.trim().to_owned())
        }
        _ => get_permanent(ctx, s),
    }
}

fn write_name_file(path: &str, name: &str) -> Result<(), ModuleError> {
    std::fs::write(path, format!("{name}\n"))
        .map_err(|e| ModuleError::failed(format!("failed to update hostname: {e}")))
}

fn set_permanent(ctx: &Context<'_>, s: Strategy, name: &str) -> Result<(), ModuleError> {
    match s {
        Strategy::Systemd => {
            too_long(name)?;
            let bin = util::s(&util::require_bin(ctx, "hostnamectl")?);
            let o = util::run(
                ctx,
                &[bin.as_str(), "--pretty", "--static", "set-hostname", name],
            )?;
            if o.rc != 0 {
                return Err(cmd_failed(&o));
            }
            Ok(())
        }
        Strategy::File(f) => write_name_file(f, name),
        Strategy::Alpine => write_name_file("/etc/hostname", name),
        Strategy::RedHat => {
            let text = std::fs::read_to_string(NETWORK_FILE).unwrap_or_default();
            let mut out = String::new();
            let mut found = false;
            for line in text.split_inclusive('\n') {
                if line.trim().starts_with("HOSTNAME") {
                    out.push_str(&format!("HOSTNAME={name}\n"));
                    found = true;
                } else {
                    out.push_str(line);
                }
            }
            if !found {
                out.push_str(&format!("HOSTNAME={name}\n"));
            }
            std::fs::write(NETWORK_FILE, out)
                .map_err(|e| ModuleError::failed(format!("failed to update hostname: {e}")))
        }
    }
}

fn too_long(name: &str) -> Result<(), ModuleError> {
    if name.chars().count() > 64 {
        return Err(ModuleError::failed(
            "name cannot be longer than 64 characters on systemd servers, try a shorter name",
        ));
    }
    Ok(())
}

fn set_current(ctx: &Context<'_>, s: Strategy, name: &str) -> Result<(), ModuleError> {
    match s {
        Strategy::Systemd => {
            too_long(name)?;
            let bin = util::s(&util::require_bin(ctx, "hostnamectl")?);
            let o = util::run(ctx, &[bin.as_str(), "--transient", "set-hostname", name])?;
            if o.rc != 0 {
                return Err(cmd_failed(&o));
            }
            Ok(())
        }
        Strategy::Alpine => {
            let bin = util::s(&util::require_bin(ctx, "hostname")?);
            let o = util::run(ctx, &[bin.as_str(), "-F", "/etc/hostname"])?;
            if o.rc != 0 {
                return Err(cmd_failed(&o));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn evaluate(ctx: &Context<'_>, real: bool) -> Result<ModuleResult, ModuleError> {
    let name = ctx.args.str("name").unwrap_or_default().to_owned();
    let s = strategy(ctx)?;
    let current = get_current(ctx, s)?;
    let permanent = get_permanent(ctx, s)?;
    let mut changed = false;
    // systemd sets the permanent name first (NetworkManager), the others
    // the current one first.
    let steps: [bool; 2] = if s == Strategy::Systemd {
        [true, false]
    } else {
        [false, true]
    };
    for permanent_step in steps {
        if permanent_step {
            if get_permanent(ctx, s)? != name {
                if real {
                    set_permanent(ctx, s, &name)?;
                }
                changed = true;
            }
        } else if get_current(ctx, s)? != name {
            if real {
                set_current(ctx, s, &name)?;
            }
            changed = true;
        }
    }
    let before = if name != current { current } else { permanent };
    let mut pf = Map::new();
    crate::facts::system::platform(&mut pf);
    let fqdn = pf.get("fqdn").cloned().unwrap_or(Value::from(""));
    let domain = pf.get("domain").cloned().unwrap_or(Value::from(""));
    let mut facts = Map::new();
    facts.insert(
        "ansible_hostname".into(),
        Value::from(name.split('.').next().unwrap_or("")),
    );
    facts.insert("ansible_nodename".into(), Value::from(name.clone()));
    facts.insert("ansible_fqdn".into(), fqdn);
    facts.insert("ansible_domain".into(), domain);
    let mut r = ModuleResult {
        changed,
        ..Default::default()
    };
    r.set("name", name.clone());
    r.set("ansible_facts", Value::Object(facts));
    if changed {
        let mut d = Map::new();
        d.insert("after".into(), Value::from(format!("hostname = {name}\n")));
        d.insert(
            "before".into(),
            Value::from(format!("hostname = {before}\n")),
        );
        r.set("diff", Value::Object(d));
    }
    Ok(r)
}
