//! `timezone` (community.general): the system time zone and RTC mode
//! through `timedatectl`, with the results and messages of Ansible's
//! module.

use std::path::Path;

use serde_json::{Map, Value};

use super::util;
use crate::args::{ArgDef, ArgSpec, ArgType};
use crate::modules::{action, Capabilities, Check, CheckSupport, Context, Module, ModuleError};
use crate::result::ModuleResult;

pub struct Timezone;

static ARGS: [ArgDef; 2] = [
    ArgDef::new("hwclock", ArgType::Str)
        .aliases(&["rtc"])
        .choices(&["local", "UTC"])
        .doc("Whether the hardware clock keeps local time or UTC."),
    ArgDef::new("name", ArgType::Str)
        .doc("The time zone (`Europe/Paris`); must exist under `/usr/share/zoneinfo`."),
];

static SPEC: ArgSpec = ArgSpec::new(&ARGS).required_one_of(&[&["hwclock", "name"]]);

const NOTES: &str = r#"As community.general's module with a usable `timedatectl` (found on
the task's `PATH`, and `timedatectl` alone exits 0): the state is read
from `timedatectl status` (`Time zone:`, `RTC in local TZ:`), changes run
`timedatectl set-local-rtc yes|no` and `timedatectl set-timezone NAME`
(in that order), then the state is read again and must match.

Results: `changed`, `diff` (`before`/`after` dicts of the given keys;
in check mode `after` is the plan), `msg` (`executed \`timedatectl
set-timezone X\``, one line per command) when something ran. Failures
(`Error message:` then the reason, then `Other message(s):` and the
commands run): `given timezone "X" is not available`, `still not desired
state, though changes have made - planned: {...}, after: {...}`; a failing
`timedatectl` fails with its stderr, `cmd`, `rc`, `stdout` and `stderr`.

Check mode: full. Diff: yes.

Differences: hosts without a usable `timedatectl` (Ansible edits
`/etc/timezone`, `/etc/localtime`, `/etc/sysconfig/clock`, ... and runs
`hwclock`) and the BSD, macOS, SmartOS and AIX variants are not
implemented: the task fails with `timezone: only hosts with a usable
timedatectl are supported by rustle`.

Tested with a fake `timedatectl` on `PATH` (conformance cases and a
differential case against ansible-playbook); the machine's time zone is
never changed by the tests."#;

impl Module for Timezone {
    fn name(&self) -> &'static str {
        "timezone"
    }
    fn description(&self) -> &'static str {
        "Configure timezone setting"
    }
    fn collection(&self) -> &'static str {
        "community.general"
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
        let tz = Tz::new(ctx)?;
        let before = tz.state(ctx)?;
        let mut diff = Map::new();
        diff.insert("before".into(), Value::Object(before.clone()));
        diff.insert("after".into(), Value::Object(tz.planned.clone()));
        let changed = before != tz.planned;
        let mut predicted = ModuleResult {
            changed,
            ..Default::default()
        };
        predicted.set("diff", Value::Object(diff));
        if !changed {
            return Ok(Check::Done(predicted));
        }
        Ok(Check::Change {
            predicted,
            action: action(move |ctx| tz.apply(ctx, before)),
        })
    }
}

fn py_dict(m: &Map<String, Value>) -> String {
    let items: Vec<String> = m
        .iter()
        .map(|(k, v)| format!("'{k}': '{}'", v.as_str().unwrap_or_default()))
        .collect();
    format!("{{{}}}", items.join(", "))
}

struct Tz {
    bin: String,
    /// The given keys in Ansible's order (hwclock, then name).
    planned: Map<String, Value>,
}

impl Tz {
    fn new(ctx: &Context<'_>) -> Result<Self, ModuleError> {
        let usable = match util::bin_path(ctx, "timedatectl") {
            Some(b) => util::run(ctx, &[util::s(&b)])?.rc == 0,
            None => false,
        };
        let Some(bin) = util::bin_path(ctx, "timedatectl").filter(|_| usable) else {
            return Err(ModuleError::failed(
                "timezone: only hosts with a usable timedatectl are supported by rustle",
            ));
        };
        let mut planned = Map::new();
        for k in ["hwclock", "name"] {
            if let Some(v) = ctx.args.str(k) {
                planned.insert(k.into(), Value::from(v));
            }
        }
        let tz = Tz {
            bin: util::s(&bin),
            planned,
        };
        if let Some(name) = ctx.args.str("name") {
            if !Path::new(&format!("/usr/share/zoneinfo/{name}")).is_file() {
                return Err(abort(
                    &format!("given timezone \"{name}\" is not available"),
                    &[],
                ));
            }
        }
        Ok(tz)
    }

    fn execute(&self, ctx: &Context<'_>, args: &[&str]) -> Result<String, ModuleError> {
        let mut argv = vec![self.bin.clone()];
        argv.extend(args.iter().map(|s| (*s).to_owned()));
        let o = util::run(ctx, &argv)?;
        if o.rc != 0 {
            let mut extra = Map::new();
            extra.insert("cmd".into(), Value::from(argv.join(" ")));
            extra.insert("rc".into(), Value::from(o.rc));
            extra.insert("stdout".into(), Value::from(o.out));
            extra.insert("stderr".into(), Value::from(o.err.clone()));
            return Err(ModuleError::Failed {
                msg: o.err.trim_end().to_owned(),
                extra,
            });
        }
        Ok(o.out)
    }

    fn state(&self, ctx: &Context<'_>) -> Result<Map<String, Value>, ModuleError> {
        let status = self.execute(ctx, &["status"])?;
        let find = |label: &str| {
            status.lines().find_map(|l| {
                let t = l.trim_start();
                let rest = if label == "name" {
                    t.strip_prefix("Time zone")
                        .or_else(|| t.strip_prefix("Timezone"))?
                } else {
                    t.strip_prefix("RTC in local TZ")?
                };
                let v = rest
                    .trim_start()
                    .strip_prefix(':')?
                    .split_whitespace()
                    .next()?;
                Some(v.to_owned())
            })
        };
        let mut m = Map::new();
        for k in self.planned.keys() {
            let v = find(k).ok_or_else(|| {
                ModuleError::failed(format!(
                    "'NoneType' object has no attribute 'group' (no {k} in timedatectl status)"
                ))
            })?;
            let v = if k == "hwclock" {
                if crate::args::to_bool(&Value::from(v.as_str())) == Some(true) {
                    "local".to_owned()
                } else {
                    "UTC".to_owned()
                }
            } else {
                v
            };
            m.insert(k.clone(), Value::from(v));
        }
        Ok(m)
    }

    fn apply(
        &self,
        ctx: &Context<'_>,
        before: Map<String, Value>,
    ) -> Result<ModuleResult, ModuleError> {
        let mut msgs: Vec<String> = Vec::new();
        for (k, v) in &self.planned {
            if before.get(k) == Some(v) {
                continue;
            }
            let v = v.as_str().unwrap_or_default();
            let (sub, val) = if k == "hwclock" {
                ("set-local-rtc", if v == "local" { "yes" } else { "no" })
            } else {
                ("set-timezone", v)
            };
            self.execute(ctx, &[sub, val])?;
            msgs.push(format!("executed `{} {sub} {val}`", self.bin));
        }
        let after = self.state(ctx)?;
        if after != self.planned {
            return Err(abort(
                &format!(
                    "still not desired state, though changes have made - planned: {}, after: {}",
                    py_dict(&self.planned),
                    py_dict(&after)
                ),
                &msgs,
            ));
        }
        let mut diff = Map::new();
        let changed = before != after;
        diff.insert("before".into(), Value::Object(before));
        diff.insert("after".into(), Value::Object(after));
        let mut r = ModuleResult {
            changed,
            ..Default::default()
        };
        r.set("diff", Value::Object(diff));
        if !msgs.is_empty() {
            r.msg = Some(msgs.join("\n"));
        }
        Ok(r)
    }
}

fn abort(msg: &str, others: &[String]) -> ModuleError {
    let mut lines = vec!["Error message:".to_owned(), msg.to_owned()];
    if !others.is_empty() {
        lines.push("Other message(s):".into());
        lines.extend(others.iter().cloned());
    }
    ModuleError::failed(lines.join("\n"))
}
