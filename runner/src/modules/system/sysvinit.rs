//! `sysvinit`: controls SysV init scripts, with the steps, results and
//! messages of Ansible's module.

use serde_json::{json, Map, Value};

use super::util;
use crate::args::{ArgDef, ArgDefault, ArgSpec, ArgType};
use crate::modules::{action, Capabilities, Check, CheckSupport, Context, Module, ModuleError};
use crate::result::ModuleResult;

pub struct Sysvinit;

static ARGS: [ArgDef; 7] = [
    ArgDef::new("name", ArgType::Str)
        .aliases(&["service"])
        .required()
        .doc("The service: a script in `/etc/init.d`, or the path of an init script."),
    ArgDef::new("state", ArgType::Str)
        .choices(&["started", "stopped", "restarted", "reloaded"])
        .doc("`started`/`stopped` are idempotent; `restarted` runs `stop` then `start`; `reloaded` runs `reload` only when the state says so."),
    ArgDef::new("enabled", ArgType::Bool)
        .doc("Whether the service starts on boot (`update-rc.d` or `chkconfig`)."),
    ArgDef::new("sleep", ArgType::Int)
        .default(ArgDefault::Int(1))
        .doc("Seconds to wait after each of restart's stop and start."),
    ArgDef::new("pattern", ArgType::Str)
        .doc("A string looked for in `ps auxww` output instead of asking the script for its status."),
    ArgDef::new("arguments", ArgType::Str)
        .aliases(&["args"])
        .doc("Extra arguments for the init script's start/stop/... command."),
    ArgDef::new("runlevels", ArgType::List)
        .doc("Runlevels to enable or disable the service in (default: the script's own)."),
];

static SPEC: ArgSpec = ArgSpec::new(&ARGS).required_one_of(&[&["state", "enabled"]]);

const NOTES: &str = r#"Status comes from `service NAME status` (or `SCRIPT status`
without a `service` program, or `pattern` in `ps auxww`), read with
Ansible's heuristics (`stop`, `is dead`, `inactive`, ... in one-line
output mean stopped; `run`, `start`, `active` mean running; else rc 0
means running, rc 1-4/69 stopped, else a `ps` match with a warning).
Enabled means a `/etc/rc?.d/S??NAME` link. Changes run `SCRIPT ACTION
[arguments]`, `update-rc.d NAME defaults|disable|enable|disable LEVELS`
or `chkconfig [--level L] NAME on|off`.

Results: `changed`, `name`, `status` (`{"enabled": {changed, rc, stdout,
stderr}, STATE: {...}}`, the key `null` without `state`, as Ansible
does), `warnings`. Failures: `Could not find the requested service X: `,
`Failed to start service: X` (with `rc`, `stdout`, `stderr`), `Illegal
runlevel specified for enable operation on service X`.

Check mode: full. Diff: none, as in Ansible. `restarted` is never
idempotent.

Differences: `daemonize` is not supported (rejected as an unsupported
parameter). Programs are looked up on the task's `PATH` first and then in
`/sbin`, `/usr/sbin`, `/bin`, `/usr/bin` (Ansible looks in those four
first), so that fakes on `PATH` win.

Tested with fakes only (conformance cases): an init script given by path
in a temporary directory and a fake `service` program on `PATH`; the
real `/etc/init.d`, `update-rc.d` and `chkconfig` are never touched by
the tests, so enabling is untested."#;

impl Module for Sysvinit {
    fn name(&self) -> &'static str {
        "sysvinit"
    }
    fn description(&self) -> &'static str {
        "Manage SysV services"
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

/// `get_ps`: `pattern` somewhere in `ps auxww`.
fn get_ps(ctx: &Context<'_>, pattern: &str) -> Result<bool, ModuleError> {
    let ps = util::require_bin(ctx, "ps")?;
    let o = util::run(ctx, &[util::s(&ps), "auxww".into()])?;
    Ok(o.rc == 0 && o.out.lines().any(|l| l.contains(pattern)))
}

fn find(ctx: &Context<'_>, name: &str) -> Option<String> {
    util::bin_path(ctx, name)
        .or_else(|| {
            ["/sbin", "/usr/sbin", "/bin", "/usr/bin"]
                .iter()
                .map(|d| std::path::Path::new(d).join(name))
                .find(|p| p.is_file())
        })
        .map(|p| util::s(&p))
}

fn sub(changed: bool) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("changed".into(), Value::Bool(changed));
    for k in ["rc", "stdout", "stderr"] {
        m.insert(k.into(), Value::Null);
    }
    m
}

fn evaluate(ctx: &Context<'_>, real: bool) -> Result<ModuleResult, ModuleError> {
    let a = &ctx.args;
    let name = a.str("name").unwrap_or_default().to_owned();
    let state = a.str("state");
    let enabled = a.opt_bool("enabled");
    let runlevels = a.is_set("runlevels").then(|| a.list("runlevels"));
    let pattern = a.str("pattern");
    let sleep_for = a.int("sleep").unwrap_or(1);
    let script = util::sysv_script(&name);
    util::fail_if_missing(script.exists(), &name, "")?;
    let script = util::s(&script);
    let service = find(ctx, "service");
    let update_rc = find(ctx, "update-rc.d");
    let chkconfig = find(ctx, "chkconfig");
    let mut r = ModuleResult::ok();
    r.set("name", name.clone());

    let mut is_started = false;
    let mut worked = false;
    if let Some(p) = pattern {
        is_started = get_ps(ctx, p)?;
        worked = is_started;
    } else {
        let argv: Vec<String> = match &service {
            Some(s) => vec![s.clone(), name.clone(), "status".into()],
            None => vec![script.clone(), "status".into()],
        };
        let o = util::run(ctx, &argv)?;
        if name == "iptables" && o.out.contains("ACCEPT") {
            worked = true;
            is_started = true;
        }
        if !worked && o.out.matches('\n').count() <= 1 {
            let clean = o.out.to_lowercase().replace(&name.to_lowercase(), "");
            if [
                "stop",
                "is dead ",
                "dead but ",
                "could not access pid file",
                "inactive",
            ]
            .iter()
            .any(|s| clean.contains(s))
            {
                worked = true;
            } else if ["run", "start", "active"].iter().any(|s| clean.contains(s))
                && !clean.contains("not ")
            {
                is_started = true;
                worked = true;
            }
        }
        if !worked && [1, 2, 3, 4, 69].contains(&o.rc) {
            worked = true;
        }
        if !worked {
            if o.rc == 0 {
                is_started = true;
                worked = true;
            } else if get_ps(ctx, &name)? {
                is_started = true;
                worked = true;
                util::warn(&mut r, "Used ps output to match service name and determine it is up, this is very unreliable");
            }
        }
    }
    if !worked {
        util::warn(
            &mut r,
            "Unable to determine if service is up, assuming it is down",
        );
    }

    let mut en = sub(false);
    let mut last: Option<util::Output> = None;
    let run_opt = |argv: Vec<String>| -> Result<Option<util::Output>, ModuleError> {
        util::run(ctx, &argv).map(Some)
    };
    if let Some(levels) = &runlevels {
        en.insert("runlevels".into(), json!(levels));
        for rl in levels {
            if enabled != Some(util::sysv_is_enabled(&name, Some(rl))) {
                r.changed = true;
                en.insert("changed".into(), Value::Bool(true));
            }
        }
        if real && r.changed {
            let on = enabled == Some(true);
            if let Some(u) = &update_rc {
                let mut v = vec![
                    u.clone(),
                    name.clone(),
                    if on { "enable" } else { "disable" }.into(),
                ];
                v.push(levels.join(" "));
                last = run_opt(v)?;
            } else if let Some(c) = &chkconfig {
                last = run_opt(vec![
                    c.clone(),
                    "--level".into(),
                    levels.join(""),
                    name.clone(),
                    if on { "on" } else { "off" }.into(),
                ])?;
            }
        }
    } else {
        if enabled.is_some_and(|e| e != util::sysv_is_enabled(&name, None)) {
            r.changed = true;
            en.insert("changed".into(), Value::Bool(true));
        }
        if real && r.changed {
            let on = enabled == Some(true);
            if let Some(u) = &update_rc {
                last = run_opt(vec![
                    u.clone(),
                    name.clone(),
                    if on { "defaults" } else { "disable" }.into(),
                ])?;
            } else if let Some(c) = &chkconfig {
                last = run_opt(vec![
                    c.clone(),
                    name.clone(),
                    if on { "on" } else { "off" }.into(),
                ])?;
            }
        }
    }
    let mut status = Map::new();
    if real && en.get("changed") == Some(&Value::Bool(true)) {
        let o = last.take().unwrap_or_default();
        en.insert("rc".into(), Value::from(o.rc));
        en.insert("stdout".into(), Value::String(o.out));
        en.insert("stderr".into(), Value::String(o.err.clone()));
        if o.err.contains("illegal runlevel specified") {
            status.insert("enabled".into(), Value::Object(en));
            let mut extra = Map::new();
            extra.insert("name".into(), Value::String(name.clone()));
            extra.insert("changed".into(), Value::Bool(r.changed));
            extra.insert("status".into(), Value::Object(status));
            return Err(ModuleError::Failed {
                msg: format!("Illegal runlevel specified for enable operation on service {name}"),
                extra,
            });
        }
    }
    status.insert("enabled".into(), Value::Object(en));
    let skey = state.unwrap_or("null").to_owned();
    let mut st = sub(false);

    if let Some(state) = state {
        let act = state
            .strip_suffix("ped")
            .or_else(|| state.strip_suffix("ed"))
            .unwrap_or(state)
            .to_owned();
        let runme = |doit: &str| -> Result<util::Output, ModuleError> {
            let mut argv = vec![script.clone(), doit.to_owned()];
            // `"%s %s %s" % (script, doit, args)`, split like a shell.
            if let Some(extra) = a.str("arguments") {
                argv.extend(shlex::split(extra).unwrap_or_default());
            }
            let o = util::run(ctx, &argv)?;
            if o.rc != 0 {
                let mut extra = Map::new();
                extra.insert("rc".into(), Value::from(o.rc));
                extra.insert("stdout".into(), Value::String(o.out));
                extra.insert("stderr".into(), Value::String(o.err));
                return Err(ModuleError::Failed {
                    msg: format!("Failed to {act} service: {name}"),
                    extra,
                });
            }
            Ok(o)
        };
        let mut out: Option<util::Output> = None;
        let needs = if act == "restart" {
            true
        } else {
            is_started != (act == "start") || is_started == (act == "stop")
        };
        if needs {
            r.changed = true;
            st.insert("changed".into(), Value::Bool(true));
            if real {
                if act == "restart" {
                    for doit in ["stop", "start"] {
                        out = Some(runme(doit)?);
                        if sleep_for > 0 {
                            std::thread::sleep(std::time::Duration::from_secs(sleep_for as u64));
                        }
                    }
                } else {
                    out = Some(runme(&act)?);
                }
            }
        }
        if real && needs {
            let o = out.unwrap_or_default();
            st.insert("rc".into(), Value::from(o.rc));
            st.insert("stdout".into(), Value::String(o.out));
            st.insert("stderr".into(), Value::String(o.err));
        }
    }
    status.insert(skey, Value::Object(st));
    r.set("status", Value::Object(status));
    Ok(r)
}
