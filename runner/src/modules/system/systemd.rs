//! `systemd_service` (alias `systemd`): controls systemd units through
//! `systemctl`, with the queries, results and messages of Ansible's module.

use serde_json::{Map, Value};

use super::util::{self, Output};
use crate::args::{ArgDef, ArgDefault, ArgSpec, ArgType};
use crate::modules::{action, Capabilities, Check, CheckSupport, Context, Module, ModuleError};
use crate::result::ModuleResult;

/// `ansible.builtin.systemd_service`.
pub struct SystemdService;
/// `ansible.builtin.systemd`, the same module under its older name.
pub struct Systemd;

static ARGS: [ArgDef; 9] = [
    ArgDef::new("name", ArgType::Str)
        .aliases(&["service", "unit"])
        .doc("The unit to manage (`foo` means `foo.service`)."),
    ArgDef::new("state", ArgType::Str)
        .choices(&["reloaded", "restarted", "started", "stopped"])
        .doc("`started`/`stopped` are idempotent; `restarted` and `reloaded` always act (and start a stopped unit)."),
    ArgDef::new("enabled", ArgType::Bool).doc("Whether the unit starts on boot."),
    ArgDef::new("force", ArgType::Bool).doc("Pass `--force` to systemctl (override existing symlinks)."),
    ArgDef::new("masked", ArgType::Bool).doc("Whether the unit is masked (cannot be started)."),
    ArgDef::new("daemon_reload", ArgType::Bool)
        .aliases(&["daemon-reload"])
        .default(ArgDefault::Bool(false))
        .doc("Run `systemctl daemon-reload` first (never in check mode)."),
    ArgDef::new("daemon_reexec", ArgType::Bool)
        .aliases(&["daemon-reexec"])
        .default(ArgDefault::Bool(false))
        .doc("Run `systemctl daemon-reexec` first (never in check mode)."),
    ArgDef::new("scope", ArgType::Str)
        .default(ArgDefault::Str("system"))
        .choices(&["system", "user", "global"])
        .doc("The systemd manager: `system`, `user` (`--user`) or `global` (`--global`)."),
    ArgDef::new("no_block", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Pass `--no-block`: queue the job and do not wait for it."),
];

// Ansible declares `required_one_of` state/enabled/masked/daemon_reload/
// daemon_reexec, but the two daemon options default to false and count as
// given: the check never fails, so it is not declared here.
static SPEC: ArgSpec = ArgSpec::new(&ARGS);

const NOTES: &str = r#"Runs `systemctl` found on the task's `PATH` (then `/sbin`,
`/usr/sbin`, `/usr/local/sbin`), exactly the commands Ansible's module
runs, in the same order: `daemon-reload`/`daemon-reexec` (never in check
mode), `show UNIT`, `is-enabled UNIT` for `masked`, `is-enabled UNIT -l`
for `enabled`, then `mask`/`unmask`, `enable`/`disable`,
`start`/`stop`/`restart`/`reload`. `scope`, `no_block` and `force` add
`--user`/`--global`, `--no-block`, `--force`.

Results: `changed`, `name`, `status` (every `Key=Value` of `systemctl
show`, multi-line `Exec*={ ... }` values joined), `enabled` (when given:
the state after the run), `state` (when given; `restarted`/`reloaded` of a
stopped unit report `started`), `warnings` (an init script without a
systemd unit).

Failures: `Could not find the requested service X: host`, `Service is in
unknown state` (with `status`), `Error loading unit file 'X': ...`,
`Unable to start service X: <stderr>`, `Unable to enable service X:
<stdout+stderr>`, `Failed to mask the service (X): ...`, `failure N during
daemon-reload: ...`, `This module does not currently support using glob
patterns, found '*' in service name: X`, `missing parameter(s) required by
'state': name`. In a chroot or with `SYSTEMD_OFFLINE=1` a failed
daemon-reload and an unknown state are warnings, as in Ansible.

Check mode: full (the queries run, nothing that changes the system does).
Diff: none, as in Ansible. `restarted` and `reloaded` are never idempotent.

Differences: the `invocation` key is not returned.

Tested with a fake `systemctl` (a shell script keeping unit state in
files, `runner/tests/fakes/systemctl`) put first on `PATH` through the
task environment, in the conformance cases and in differential cases
run through both ansible-playbook and rustle; never against a real
systemd."#;

fn caps() -> Capabilities {
    Capabilities {
        check_mode: CheckSupport::Full,
        diff: false,
    }
}

impl Module for SystemdService {
    fn name(&self) -> &'static str {
        "systemd_service"
    }
    fn description(&self) -> &'static str {
        "Manage systemd units"
    }
    fn capabilities(&self) -> Capabilities {
        caps()
    }
    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }
    fn notes(&self) -> &'static str {
        NOTES
    }
    fn check(&self, ctx: &Context<'_>) -> Result<Check, ModuleError> {
        check(ctx)
    }
}

impl Module for Systemd {
    fn name(&self) -> &'static str {
        "systemd"
    }
    fn description(&self) -> &'static str {
        "Manage systemd units (the older name of systemd_service)"
    }
    fn capabilities(&self) -> Capabilities {
        caps()
    }
    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }
    fn notes(&self) -> &'static str {
        "The same module as `systemd_service`, under the name older playbooks use; see there."
    }
    fn check(&self, ctx: &Context<'_>) -> Result<Check, ModuleError> {
        check(ctx)
    }
}

/// The module's whole algorithm. `real == false` runs only the queries
/// and predicts; `real == true` also runs the commands that change things.
/// `check` runs it once without changing anything and, when something
/// would change (or a daemon-reload is asked for), returns an action that
/// runs it for real.
pub fn check(ctx: &Context<'_>) -> Result<Check, ModuleError> {
    let a = &ctx.args;
    for key in ["state", "enabled", "masked"] {
        if a.is_set(key) && !a.is_set("name") {
            return Err(ModuleError::Args(format!(
                "missing parameter(s) required by '{key}': name"
            )));
        }
    }
    let predicted = evaluate(ctx, false)?;
    let reload = a.bool("daemon_reload") || a.bool("daemon_reexec");
    if predicted.changed || reload {
        Ok(Check::Change {
            predicted,
            action: action(|ctx| evaluate(ctx, true)),
        })
    } else {
        Ok(Check::Done(predicted))
    }
}

/// `parse_systemctl_show`.
pub fn parse_show(out: &str) -> Map<String, Value> {
    let mut parsed = Map::new();
    let mut multival: Vec<&str> = Vec::new();
    let mut key: Option<&str> = None;
    for line in out.split('\n') {
        match key {
            None => {
                let Some((k, v)) = line.split_once('=') else {
                    continue;
                };
                if k.starts_with("Exec")
                    && v.trim_start().starts_with('{')
                    && !v.trim_end().ends_with('}')
                {
                    multival.push(v);
                    key = Some(k);
                    continue;
                }
                parsed.insert(k.to_owned(), Value::String(v.trim().to_owned()));
            }
            Some(k) => {
                multival.push(line);
                if line.trim_end().ends_with('}') {
                    parsed.insert(
                        k.to_owned(),
                        Value::String(multival.join("\n").trim().to_owned()),
                    );
                    multival.clear();
                    key = None;
                }
            }
        }
    }
    parsed
}

fn request_was_ignored(out: &str) -> bool {
    !out.contains('=') && (out.contains("ignoring request") || out.contains("ignoring command"))
}

fn status_str<'a>(st: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    st.get(k).and_then(Value::as_str)
}

fn evaluate(ctx: &Context<'_>, real: bool) -> Result<ModuleResult, ModuleError> {
    let a = &ctx.args;
    let unit = a.str("name").map(str::to_owned);
    if let Some(u) = &unit {
        for g in ["*", "?", "["] {
            if u.contains(g) {
                return Err(ModuleError::failed(format!(
                    "This module does not currently support using glob patterns, found '{g}' in service name: {u}"
                )));
            }
        }
    }
    let mut base = vec![util::s(&util::require_bin(ctx, "systemctl")?)];
    let scope = a.str("scope").unwrap_or("system");
    if scope != "system" {
        base.push(format!("--{scope}"));
    }
    if a.bool("no_block") {
        base.push("--no-block".into());
    }
    if a.bool("force") {
        base.push("--force".into());
    }
    let sc = |args: &[&str]| -> Result<Output, ModuleError> {
        let mut v = base.clone();
        v.extend(args.iter().map(|s| (*s).to_owned()));
        util::run(ctx, &v)
    };
    let mut r = ModuleResult::ok();
    r.set("name", unit.clone().map_or(Value::Null, Value::String));
    let mut status = Map::new();
    let offline =
        |ctx: &Context<'_>| util::is_chroot(ctx) || util::env_is(ctx, "SYSTEMD_OFFLINE", "1");

    for (flag, cmd) in [
        ("daemon_reload", "daemon-reload"),
        ("daemon_reexec", "daemon-reexec"),
    ] {
        if a.bool(flag) && real {
            let o = sc(&[cmd])?;
            if o.rc != 0 {
                if offline(ctx) {
                    util::warn(&mut r, format!("{cmd} failed, but target is a chroot or systemd is offline. Continuing. Error was: {} / {}", o.rc, o.err));
                } else {
                    return Err(ModuleError::failed(format!(
                        "failure {} during {cmd}: {}",
                        o.rc, o.err
                    )));
                }
            }
        }
    }

    if let Some(unit) = unit.as_deref() {
        let is_initd = util::sysv_script(unit).exists();
        let mut is_systemd = false;
        let o = sc(&["show", unit])?;
        if o.rc == 0 && !(request_was_ignored(&o.out) || request_was_ignored(&o.err)) {
            if !o.out.is_empty() {
                status = parse_show(&o.out);
                let load = status_str(&status, "LoadState");
                is_systemd = load.is_some_and(|l| l != "not-found");
                let is_masked = load == Some("masked");
                if is_systemd && !is_masked {
                    if let Some(e) = status_str(&status, "LoadError") {
                        return Err(ModuleError::failed(format!(
                            "Error loading unit file '{unit}': {e}"
                        )));
                    }
                }
            }
        } else if !o.err.is_empty() && o.rc == 1 && o.err.contains("Failed to parse bus message") {
            status = parse_show(&o.out);
            let (base_name, sep, _) = match unit.split_once('@') {
                Some((b, _)) => (b, "@", ()),
                None => (unit, "", ()),
            };
            let search = format!("{base_name}{sep}");
            let l = sc(&["list-unit-files", &format!("{search}*")])?;
            is_systemd = l.out.contains(&search);
            let act = sc(&["is-active", unit])?;
            status.insert(
                "ActiveState".into(),
                Value::String(act.out.trim_end_matches('\n').to_owned()),
            );
        } else {
            const VALID: [&str; 11] = [
                "enabled",
                "enabled-runtime",
                "linked",
                "linked-runtime",
                "masked",
                "masked-runtime",
                "static",
                "indirect",
                "disabled",
                "generated",
                "transient",
            ];
            let e = sc(&["is-enabled", unit])?;
            if VALID.contains(&e.out.trim()) {
                is_systemd = true;
            } else {
                let l = sc(&["list-unit-files", unit])?;
                if l.rc == 0 {
                    is_systemd = true;
                } else {
                    let b = util::run(ctx, &base)?;
                    if b.rc != 0 {
                        let mut extra = Map::new();
                        extra.insert("cmd".into(), Value::String(base.join(" ")));
                        extra.insert("rc".into(), Value::from(b.rc));
                        extra.insert("stdout".into(), Value::String(b.out.clone()));
                        extra.insert("stderr".into(), Value::String(b.err.clone()));
                        return Err(ModuleError::Failed {
                            msg: b.err.trim_end().to_owned(),
                            extra,
                        });
                    }
                }
            }
        }
        let found = is_systemd || is_initd;
        if is_initd && !is_systemd {
            util::warn(
                &mut r,
                format!("The service ({unit}) is actually an init script but the system is managed by systemd"),
            );
        }

        if let Some(want_masked) = a.opt_bool("masked") {
            let e = sc(&["is-enabled", unit])?;
            let masked = e.out.trim() == "masked";
            if masked != want_masked {
                r.changed = true;
                let act = if want_masked { "mask" } else { "unmask" };
                if real {
                    let o = sc(&[act, unit])?;
                    if o.rc != 0 {
                        util::fail_if_missing(found, unit, "host")?;
                        return Err(ModuleError::failed(format!(
                            "Failed to {act} the service ({unit}): {}",
                            o.err.trim()
                        )));
                    }
                }
            }
        }

        if let Some(want) = a.opt_bool("enabled") {
            let act = if want { "enable" } else { "disable" };
            util::fail_if_missing(found, unit, "host")?;
            let mut enabled = false;
            let o = sc(&["is-enabled", unit, "-l"])?;
            if o.rc == 0 {
                enabled = !matches!(o.out.trim_end(), "enabled-runtime" | "indirect" | "alias");
            } else if o.rc == 1
                && scope == "system"
                && is_initd
                && !o.out.trim().ends_with("disabled")
                && util::sysv_is_enabled(unit, None)
            {
                enabled = true;
            }
            r.set("enabled", enabled);
            if enabled != want {
                r.changed = true;
                if real {
                    let o = sc(&[act, unit])?;
                    if o.rc != 0 {
                        return Err(ModuleError::failed(format!(
                            "Unable to {act} service {unit}: {}{}",
                            o.out, o.err
                        )));
                    }
                }
                r.set("enabled", !enabled);
            }
        }

        if let Some(state) = a.str("state") {
            util::fail_if_missing(found, unit, "host")?;
            r.set("state", state);
            if let Some(active) = status_str(&status, "ActiveState") {
                let running = matches!(active, "active" | "activating");
                let act = match state {
                    "started" => (!running).then_some("start"),
                    "stopped" => (running || active == "deactivating").then_some("stop"),
                    _ => {
                        r.set("state", "started");
                        Some(if running {
                            &state[..state.len() - 2]
                        } else {
                            "start"
                        })
                    }
                };
                if let Some(act) = act {
                    r.changed = true;
                    if real {
                        let o = sc(&[act, unit])?;
                        if o.rc != 0 {
                            return Err(ModuleError::failed(format!(
                                "Unable to {act} service {unit}: {}",
                                o.err
                            )));
                        }
                    }
                }
            } else if offline(ctx) {
                util::warn(&mut r, "Target is a chroot or systemd is offline. This can lead to false positives or prevent the init system tools from working.");
            } else {
                let mut extra = Map::new();
                extra.insert("status".into(), Value::Object(status));
                return Err(ModuleError::Failed {
                    msg: "Service is in unknown state".into(),
                    extra,
                });
            }
        }
    }
    r.set("status", Value::Object(status));
    Ok(r)
}
