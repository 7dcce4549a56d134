//! `group`: creates, changes (gid) and removes local groups with
//! `groupadd`, `groupmod` and `groupdel`, as Ansible's Linux backend.

use serde_json::Value;

use super::accounts as acc;
use crate::args::{ArgDef, ArgDefault, ArgSpec, ArgType};
use crate::modules::{action, Capabilities, Check, CheckSupport, Context, Module, ModuleError};
use crate::result::ModuleResult;

pub struct Group;

static ARGS: [ArgDef; 9] = [
    ArgDef::new("name", ArgType::Str)
        .required()
        .doc("The group's name."),
    ArgDef::new("state", ArgType::Str)
        .default(ArgDefault::Str("present"))
        .choices(&["absent", "present"])
        .doc("Whether the group should exist."),
    ArgDef::new("gid", ArgType::Int)
        .doc("The group's numeric id (changed with `groupmod -g` when it differs)."),
    ArgDef::new("system", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Create a system group (`groupadd -r`); ignored for existing groups."),
    ArgDef::new("non_unique", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Allow a gid another group already has (`-o`); needs `gid`."),
    ArgDef::new("force", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Remove the group even when it is a user's primary group (`groupdel -f`)."),
    ArgDef::new("local", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Not supported by rustle (`lgroupadd`): `local: true` fails with a clear message."),
    ArgDef::new("gid_min", ArgType::Int).doc("Lowest gid for a new group (`-K GID_MIN=`)."),
    ArgDef::new("gid_max", ArgType::Int).doc("Highest gid for a new group (`-K GID_MAX=`)."),
];

static SPEC: ArgSpec = ArgSpec::new(&ARGS).required_if(&[("non_unique", "True", &["gid"])]);

const NOTES: &str = "\
Linux only, with the shadow tools (`groupadd`, `groupmod`, `groupdel -f`), as Ansible's Linux \
backend. Groups are read from `/etc/group` directly (the static runner has no NSS), so groups \
that only exist in LDAP or other NSS sources are not seen.

Results: `name`, `state`, and while the group exists `gid` and `system` (the argument, as \
Ansible); `stdout`/`stderr` of the tool when not empty. A failing tool fails the task with its \
stderr as `msg` and `name`.

Check mode: predicts exactly (for a new or removed group the result is only `changed: true`, \
as Ansible's). No diff, as Ansible.

Differences from Ansible: `local: true` (`lgroupadd`) is not supported and fails saying so.

Tested for real as root (groups named `rustletest*`, removed afterwards) by the conformance \
cases and the `mod_group_*` differential cases against ansible-playbook.";

impl Module for Group {
    fn name(&self) -> &'static str {
        "group"
    }
    fn description(&self) -> &'static str {
        "Add or remove groups"
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
        if a.bool("force") && a.bool("local") {
            return Err(ModuleError::failed("force is not a valid option for local, force=True and local=True are mutually exclusive"));
        }
        if a.bool("local") {
            return Err(ModuleError::failed(
                "local: true (lgroupadd) is not supported by rustle",
            ));
        }
        let name = a.str("name").unwrap_or_default().to_owned();
        let present = a.str("state") != Some("absent");
        let gid = a.int("gid");
        let cur = acc::getgrnam(&name);
        let base = {
            let name = name.clone();
            move |changed: bool| {
                let mut r = ModuleResult {
                    changed,
                    ..Default::default()
                };
                r.set("name", name.clone());
                r.set("state", if present { "present" } else { "absent" });
                r
            }
        };
        let system = a.bool("system");
        let with_info = move |mut r: ModuleResult| {
            if let Some(g) = acc::getgrnam(r.get("name").and_then(Value::as_str).unwrap_or("")) {
                r.set("system", system);
                r.set("gid", g.gid);
            }
            r
        };
        let cmd: Vec<String> = match (&cur, present) {
            (None, false) => return Ok(Check::Done(base(false))),
            (Some(_), false) => {
                let mut c = vec![bin(ctx, "groupdel")?];
                if a.bool("force") {
                    c.push("-f".into());
                }
                c.push(name.clone());
                c
            }
            (None, true) => {
                let mut c = vec![bin(ctx, "groupadd")?];
                if let Some(g) = gid {
                    c.extend(["-g".into(), g.to_string()]);
                    if a.bool("non_unique") {
                        c.push("-o".into());
                    }
                }
                if system {
                    c.push("-r".into());
                }
                for (k, flag) in [("gid_min", "GID_MIN"), ("gid_max", "GID_MAX")] {
                    if let Some(v) = a.int(k) {
                        c.extend(["-K".into(), format!("{flag}={v}")]);
                    }
                }
                c.push(name.clone());
                c
            }
            (Some(g), true) => match gid {
                Some(want) if i64::from(g.gid) != want => {
                    let mut c = vec![bin(ctx, "groupmod")?, "-g".into(), want.to_string()];
                    if a.bool("non_unique") {
                        c.push("-o".into());
                    }
                    c.push(name.clone());
                    c
                }
                _ => return Ok(Check::Done(with_info(base(false)))),
            },
        };
        // New and removed groups show only `changed` in check mode; a
        // modified one its whole result.
        let predicted = if cur.is_some() && present {
            with_info(base(true))
        } else {
            ModuleResult::changed()
        };
        Ok(Check::Change {
            predicted,
            action: action(move |ctx| {
                let out = acc::run(ctx, &cmd, None);
                if out.rc != 0 {
                    return Err(ModuleError::Failed {
                        msg: out.stderr,
                        extra: serde_json::Map::from_iter([("name".to_owned(), Value::from(name))]),
                    });
                }
                let mut r = base(true);
                if !out.stdout.is_empty() {
                    r.set("stdout", out.stdout);
                }
                if !out.stderr.is_empty() {
                    r.set("stderr", out.stderr);
                }
                Ok(with_info(r))
            }),
        })
    }
}

fn bin(ctx: &Context<'_>, name: &str) -> Result<String, ModuleError> {
    Ok(acc::require_bin(ctx, name)?.to_string_lossy().into_owned())
}
