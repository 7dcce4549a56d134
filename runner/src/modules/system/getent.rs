//! `getent`: reads a name service database with the system's `getent`
//! and returns it as the fact `getent_<database>`.

use serde_json::{Map, Value};

use super::accounts as acc;
use crate::args::{ArgDef, ArgDefault, ArgSpec, ArgType};
use crate::modules::{Capabilities, Check, CheckSupport, Context, Module, ModuleError};
use crate::result::ModuleResult;

pub struct Getent;

static ARGS: [ArgDef; 5] = [
    ArgDef::new("database", ArgType::Str)
        .required()
        .doc("The database (`passwd`, `group`, `hosts`, `services`, ...)."),
    ArgDef::new("key", ArgType::Str).doc("The entry to look up; every entry when omitted."),
    ArgDef::new("service", ArgType::Str).doc("Use this NSS service (`getent -s`)."),
    ArgDef::new("split", ArgType::Str).doc(
        "The field separator; `:` for passwd, shadow, group and gshadow, whitespace otherwise.",
    ),
    ArgDef::new("fail_key", ArgType::Bool)
        .default(ArgDefault::Bool(true))
        .doc("Fail when `key` is not found; otherwise the key's value is null."),
];

static SPEC: ArgSpec = ArgSpec::new(&ARGS);

const NOTES: &str = "\
Runs the host's `getent` (so NSS sources such as LDAP are seen), as Ansible's module.

Results: `ansible_facts.getent_<database>`, a mapping from each entry's first field to the \
list of its other fields (a list of such lists when the first field repeats). The fact is \
available as `getent_<database>` and `ansible_facts.getent_<database>` in later tasks. \
Failures as Ansible's: `Missing arguments, or database unknown.` (rc 1), `One or more supplied \
key could not be found in the database.` (rc 2; with `fail_key: false` not a failure, the key \
maps to null and the message is in `msg`), `Enumeration not supported on this database.` \
(rc 3), `Unexpected failure!` otherwise.

Check mode: runs as usual (it changes nothing). No diff.

Tested with the real `getent` by the `mod_getent_*` differential cases against \
ansible-playbook.";

impl Module for Getent {
    fn name(&self) -> &'static str {
        "getent"
    }
    fn description(&self) -> &'static str {
        "A wrapper to the unix getent utility"
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
        let db = a.str("database").unwrap_or_default().to_owned();
        let key = a.str("key").map(str::to_owned);
        let getent = acc::require_bin(ctx, "getent")?
            .to_string_lossy()
            .into_owned();
        let mut cmd = vec![getent, db.clone()];
        if let Some(k) = &key {
            cmd.push(k.clone());
        }
        if let Some(s) = a.str("service") {
            cmd.extend(["-s".into(), s.to_owned()]);
        }
        let split = a.str("split").map(str::to_owned).or_else(|| {
            ["passwd", "shadow", "group", "gshadow"]
                .contains(&db.as_str())
                .then(|| ":".to_owned())
        });
        let out = acc::run(ctx, &cmd, None);
        let tree = format!("getent_{db}");
        let mut entries = Map::new();
        let facts = |entries: Map<String, Value>| {
            let mut f = Map::new();
            f.insert(tree.clone(), Value::Object(entries));
            Value::Object(f)
        };
        let msg = match out.rc {
            0 => {
                let mut seen: std::collections::HashMap<String, usize> = Default::default();
                for line in py_splitlines(&out.stdout) {
                    let rec: Vec<String> = match &split {
                        Some(s) if !s.is_empty() => {
                            line.split(s.as_str()).map(str::to_owned).collect()
                        }
                        _ => line.split_whitespace().map(str::to_owned).collect(),
                    };
                    let Some((first, rest)) = rec.split_first() else {
                        continue;
                    };
                    let rest = Value::from(rest.to_vec());
                    let n = seen.entry(first.clone()).or_insert(0);
                    *n += 1;
                    if *n == 1 {
                        entries.insert(first.clone(), rest);
                    } else {
                        let cur = entries.remove(first).unwrap_or(Value::Null);
                        let mut list = if *n == 2 {
                            vec![cur]
                        } else {
                            match cur {
                                Value::Array(a) => a,
                                other => vec![other],
                            }
                        };
                        list.push(rest);
                        entries.insert(first.clone(), Value::Array(list));
                    }
                }
                let r = ModuleResult::ok().with("ansible_facts", facts(entries));
                return Ok(Check::Done(r));
            }
            1 => "Missing arguments, or database unknown.",
            2 => {
                let m = "One or more supplied key could not be found in the database.";
                if !a.bool("fail_key") {
                    entries.insert(key.clone().unwrap_or_else(|| "None".into()), Value::Null);
                    let r = ModuleResult::ok()
                        .with_msg(m)
                        .with("ansible_facts", facts(entries));
                    return Ok(Check::Done(r));
                }
                m
            }
            3 => "Enumeration not supported on this database.",
            _ => "Unexpected failure!",
        };
        Err(ModuleError::failed(msg))
    }
}

/// Python's `str.splitlines()` for command output.
fn py_splitlines(s: &str) -> impl Iterator<Item = &str> {
    s.lines().map(|l| l.strip_suffix('\r').unwrap_or(l))
}
