//! `package`: the generic package module, run through the host's own
//! package manager module.

use serde_json::{Map, Value};

use super::common as c;
use crate::args::{ArgDef, ArgDefault, ArgSpec, ArgType, Args};
use crate::modules::{Capabilities, Check, CheckSupport, Context, Module, ModuleError};

pub struct Package;

static ARGS: [ArgDef; 3] = [
    ArgDef::new("name", ArgType::Raw)
        .required()
        .doc("Package name(s), with the backend's version syntax."),
    ArgDef::new("state", ArgType::Str)
        .required()
        .doc("`present`, `absent`, `latest` (whatever the backend accepts)."),
    ArgDef::new("use", ArgType::Str)
        .default(ArgDefault::Str("auto"))
        .doc("The backend module (`apt`, ...); `auto` detects the host's package manager."),
];

static SPEC: ArgSpec = ArgSpec::new(&ARGS);

/// The host's package manager, as the `pkg_mgr` fact finds it (the
/// managers with a native module here).
fn detect(ctx: &Context<'_>) -> Option<&'static str> {
    if c::find_bin(ctx, "apt-get").is_some() && c::find_bin(ctx, "dpkg").is_some() {
        return Some("apt");
    }
    for m in ["dnf5", "dnf", "yum", "zypper", "pacman", "apk"] {
        if c::find_bin(ctx, m).is_some() {
            return Some(match m {
                "dnf5" => "dnf5",
                "dnf" => "dnf",
                "yum" => "yum",
                "zypper" => "zypper",
                "pacman" => "pacman",
                _ => "apk",
            });
        }
    }
    None
}

impl Module for Package {
    fn name(&self) -> &'static str {
        "package"
    }
    fn description(&self) -> &'static str {
        "Generic OS package manager"
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
        let wanted = a.str("use").unwrap_or("auto");
        let backend = if wanted == "auto" {
            detect(ctx).ok_or_else(|| {
                ModuleError::failed(
                    "Could not detect which package manager to use. Try gathering facts or setting the \"use\" option.",
                )
            })?
        } else {
            wanted
        };
        let module = crate::modules::lookup(backend)
            .filter(|m| !matches!(m.name(), "package" | "package_facts"))
            .ok_or_else(|| {
                ModuleError::failed(format!("Could not find a module for {backend}."))
            })?;
        let mut raw = Map::new();
        raw.insert("name".into(), a.get("name").cloned().unwrap_or(Value::Null));
        raw.insert(
            "state".into(),
            a.get("state").cloned().unwrap_or(Value::Null),
        );
        let args = module.spec().validate(module.name(), &raw)?;
        let inner = Context {
            args,
            assets: ctx.assets,
            source: ctx.source,
            check_mode: ctx.check_mode,
            diff: ctx.diff,
            environment: ctx.environment,
            vars: ctx.vars,
            verbosity: ctx.verbosity,
        };
        module.check(&inner)
    }
}

const NOTES: &str = r#"Runs the backend module with `name` and `state`: `use`, or when it is `auto`
the host's package manager (apt where `apt-get` and `dpkg` exist, else dnf5, dnf, yum, ...
found on `PATH`). The result is the backend's (see `apt`). Failures: `Could not find a module
for X.` when the backend has no native module here.

Differences from Ansible: Ansible's action reads the `ansible_facts.pkg_mgr` fact (gathering it
when missing); Rustle detects the manager on the host directly. Only `name` and `state` reach
the backend: backend-specific options through `package` are refused as unsupported parameters.
Backends implemented natively: `apt`, `dnf` and `yum` (run as dnf).

Tests: a differential case (`mod_apt_sl`) runs `package` against apt on this Debian machine.
"#;
