//! `debug`: prints a message or a variable.

use serde_json::Value;

use crate::args::{ArgDef, ArgDefault, ArgSpec, ArgType};
use crate::modules::{Capabilities, Check, CheckSupport, Context, Module, ModuleError};
use crate::result::ModuleResult;

pub struct Debug;

static SPEC: ArgSpec = ArgSpec::new(&[
    ArgDef::new("msg", ArgType::Raw)
        .default(ArgDefault::Str("Hello world!"))
        .doc("The customized message that is printed."),
    ArgDef::new("var", ArgType::Str).doc("A variable name to debug."),
    ArgDef::new("verbosity", ArgType::Int)
        .default(ArgDefault::Int(0))
        .doc("Minimum verbosity (-v count) for the output to be shown."),
])
.mutually_exclusive(&[&["msg", "var"]]);

/// Looks up a dotted/indexed variable path (`result.stdout`, `list[0]`).
fn lookup<'v>(vars: &'v serde_json::Map<String, Value>, path: &str) -> Option<&'v Value> {
    let mut parts = path.split('.');
    let first = parts.next()?;
    let (name, idx) = split_index(first);
    let mut cur = vars.get(name)?;
    for i in idx {
        cur = cur.get(i)?;
    }
    for p in parts {
        let (name, idx) = split_index(p);
        cur = cur.get(name)?;
        for i in idx {
            cur = cur.get(i)?;
        }
    }
    Some(cur)
}

fn split_index(s: &str) -> (&str, Vec<usize>) {
    match s.find('[') {
        None => (s, Vec::new()),
        Some(at) => {
            let idx = s[at..]
                .split(['[', ']'])
                .filter(|x| !x.is_empty())
                .filter_map(|x| x.trim().parse().ok())
                .collect();
            (&s[..at], idx)
        }
    }
}

const NOTES: &str = r#"
Prints `msg` (default `Hello world!`) or the value of `var` (a variable
name or an expression, templated; undefined shows `VARIABLE IS NOT
DEFINED!`). `verbosity` skips the task below that `-v` level, with
Ansible's `skipped: [host]` output. Check mode: full. Diff: no.
"#;

impl Module for Debug {
    fn name(&self) -> &'static str {
        "debug"
    }
    fn description(&self) -> &'static str {
        "Print statements during execution"
    }
    fn notes(&self) -> &'static str {
        NOTES
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
    fn check(&self, ctx: &Context<'_>) -> Result<Check, ModuleError> {
        let a = &ctx.args;
        let verbosity = a.int("verbosity").unwrap_or(0);
        if verbosity > i64::from(ctx.verbosity) {
            let mut r = ModuleResult::ok().with("skipped_reason", "Verbosity threshold not met.");
            r.skipped = true;
            return Ok(Check::Done(r));
        }
        let mut r = ModuleResult::ok();
        if let Some(var) = a.str("var") {
            let v = lookup(ctx.vars, var)
                .cloned()
                .unwrap_or_else(|| Value::from("VARIABLE IS NOT DEFINED!"));
            r.set(var, v);
        } else {
            match a.get("msg") {
                Some(Value::String(s)) => r.msg = Some(s.clone()),
                Some(other) => r.set("msg", other.clone()),
                None => r.msg = Some("Hello world!".into()),
            }
        }
        Ok(Check::Done(r))
    }
}
