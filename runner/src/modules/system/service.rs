//! `service`: Ansible's action plugin that hands the task to the module of
//! the host's service manager (`systemd` or `sysvinit` here).

use serde_json::{Map, Value};

use super::{systemd, sysvinit};
use crate::args::{ArgDef, ArgSpec, ArgType};
use crate::modules::{action, Capabilities, Check, CheckSupport, Context, Module, ModuleError};
use crate::result::ModuleResult;

pub struct Service;

static ARGS: [ArgDef; 8] = [
    ArgDef::new("name", ArgType::Str)
        .required()
        .doc("The service."),
    ArgDef::new("state", ArgType::Str)
        .choices(&["reloaded", "restarted", "started", "stopped"])
        .doc("`started`/`stopped` are idempotent; `restarted` and `reloaded` always act."),
    ArgDef::new("enabled", ArgType::Bool).doc("Whether the service starts on boot."),
    ArgDef::new("sleep", ArgType::Int)
        .doc("sysvinit only: seconds between restart's stop and start."),
    ArgDef::new("pattern", ArgType::Str)
        .doc("sysvinit only: a string looked for in `ps` output to tell whether the service runs."),
    ArgDef::new("runlevel", ArgType::Str)
        .doc("Accepted as Ansible's `service` does; passed on, which sysvinit rejects (it takes `runlevels`)."),
    ArgDef::new("arguments", ArgType::Str)
        .aliases(&["args"])
        .doc("sysvinit only: extra arguments for the init script."),
    ArgDef::new("use", ArgType::Str)
        .doc("The module to hand the task to: `systemd`, `sysvinit`, or `auto` (default: from the service manager)."),
];

static SPEC: ArgSpec = ArgSpec::new(&ARGS).required_one_of(&[&["state", "enabled"]]);

const NOTES: &str = r#"As Ansible's `service` action: `use: auto` (the default) picks the
module from the host's service manager (the `service_mgr` fact:
`systemd` or `sysvinit`); arguments are passed on as given, without
`use`; for systemd, `pattern`, `runlevel`, `sleep`, `arguments` and
`args` are dropped with the warning `Ignoring "X" as it is not used in
"systemd"`. The result is that module's (see `systemd_service` and
`sysvinit`).

Differences: when the service manager is neither systemd nor sysvinit
(a container whose pid 1 is some other program), Ansible runs its
generic `service` module (which knows upstart, openrc, runit, BSD and
more); Rustle uses systemd when `/run/systemd/system` exists and
sysvinit otherwise. `use` naming another module (`openrc`, `runit`, ...)
fails with `Could not detect which service manager to use...`.

Tested with fakes (conformance and differential cases with `use:
systemd` and a fake `systemctl`)."#;

impl Module for Service {
    fn name(&self) -> &'static str {
        "service"
    }
    fn description(&self) -> &'static str {
        "Manage services"
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
        let a = &ctx.args;
        let mut target = a.str("use").unwrap_or("auto").to_lowercase();
        if target == "auto" {
            let mut f = Map::new();
            crate::facts::system::service_mgr(&mut f);
            target = match f.get("service_mgr").and_then(Value::as_str) {
                Some(m @ ("systemd" | "sysvinit")) => m.to_owned(),
                _ if std::path::Path::new("/run/systemd/system").exists() => "systemd".into(),
                _ => "sysvinit".into(),
            };
        }
        let module: &'static dyn Module = match target.as_str() {
            "systemd" => &systemd::Systemd,
            "sysvinit" => &sysvinit::Sysvinit,
            _ => {
                return Err(ModuleError::failed(
                    "Could not detect which service manager to use. Try gathering facts or setting the \"use\" option.",
                ))
            }
        };
        // The arguments as given (the spec has no defaults but `use`).
        let mut raw = Map::new();
        for def in ARGS.iter().filter(|d| d.name != "use") {
            if let Some(v) = a.get(def.name) {
                raw.insert(def.name.to_owned(), v.clone());
            }
        }
        let mut warnings = Vec::new();
        if target == "systemd" {
            for unused in ["pattern", "runlevel", "sleep", "arguments", "args"] {
                if raw.remove(unused).is_some() {
                    warnings.push(format!(
                        "Ignoring \"{unused}\" as it is not used in \"systemd\""
                    ));
                }
            }
        }
        let args = module.spec().validate(module.name(), &raw)?;
        let inner = Context {
            args: args.clone(),
            assets: ctx.assets,
            source: ctx.source,
            check_mode: ctx.check_mode,
            diff: ctx.diff,
            environment: ctx.environment,
            vars: ctx.vars,
            verbosity: ctx.verbosity,
        };
        let with_warnings = move |mut r: ModuleResult, w: &[String]| {
            for x in w {
                super::util::warn(&mut r, x.clone());
            }
            r
        };
        Ok(match module.check(&inner)? {
            Check::Done(r) => Check::Done(with_warnings(r, &warnings)),
            Check::Change {
                predicted,
                action: act,
            } => Check::Change {
                predicted: with_warnings(predicted, &warnings),
                action: action(move |outer| {
                    let inner = Context {
                        args,
                        assets: outer.assets,
                        source: outer.source,
                        check_mode: outer.check_mode,
                        diff: outer.diff,
                        environment: outer.environment,
                        vars: outer.vars,
                        verbosity: outer.verbosity,
                    };
                    act.apply(&inner).map(|r| with_warnings(r, &warnings))
                }),
            },
        })
    }
}
