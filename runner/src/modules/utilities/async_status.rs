//! `async_status`: the state of an asynchronous job (Ansible's action and
//! module together): running, finished with the task's result, or cleaned
//! up. See `crate::asyncjob` for how jobs run.

use serde_json::{json, Map, Value};

use crate::args::{to_bool, ArgDef, ArgDefault, ArgSpec, ArgType};
use crate::modules::{Capabilities, Check, CheckSupport, Context, Module, ModuleError};
use crate::result::ModuleResult;

pub struct AsyncStatus;

static SPEC: ArgSpec = ArgSpec::new(&[
    ArgDef::new("jid", ArgType::Str)
        .required()
        .doc("Job or task identifier (`ansible_job_id` of the async task's result)."),
    ArgDef::new("mode", ArgType::Str)
        .default(ArgDefault::Str("status"))
        .choices(&["cleanup", "status"])
        .doc("`status` reports on the job; `cleanup` removes its results file."),
    ArgDef::new("_async_dir", ArgType::Path).internal(),
]);

const NOTES: &str = r#"
Job results live in `~/.ansible_async/<jid>` (`ANSIBLE_ASYNC_DIR` in the
task's environment or the runner's overrides it), written atomically by
the job process. Results: `ansible_job_id`, `started`, `finished` (0 or 1),
`results_file` (status) or `erased` (cleanup), `stdout`, `stderr`,
`stdout_lines`, `stderr_lines`, and once finished the task's own result
keys (`rc`, `cmd`, `changed`, ...). A job that exceeded its `async` time
limit reports `msg: Timeout exceeded`, `failed: true` and `child_pid`. An
unknown job fails with `could not find job`.
"#;

impl Module for AsyncStatus {
    fn name(&self) -> &'static str {
        "async_status"
    }
    fn description(&self) -> &'static str {
        "Obtain status of asynchronous task"
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
        let jid = ctx.args.str("jid").unwrap_or_default().to_owned();
        let cleanup = ctx.args.str("mode") == Some("cleanup");
        let dir = match ctx.args.str("_async_dir") {
            Some(d) => ctx.expand_path(d),
            None => crate::asyncjob::async_dir(ctx.environment),
        };
        let log_path = dir.join(&jid);
        let log = log_path.display().to_string();
        // The action's initial result, which the module's result updates.
        let mut out = json!({
            "started": 0, "finished": 0,
            "stdout": "", "stderr": "", "stdout_lines": [], "stderr_lines": [],
            "ansible_job_id": jid,
        });
        if cleanup {
            out["erased"] = Value::from(log.clone());
        } else {
            out["results_file"] = Value::from(log.clone());
            out["started"] = Value::from(1);
        }
        if !log_path.exists() {
            let mut extra = into_map(out);
            extra.insert("started".into(), Value::from(1));
            extra.insert("finished".into(), Value::from(1));
            return Err(ModuleError::Failed {
                msg: "could not find job".into(),
                extra,
            });
        }
        if cleanup {
            // Removing a file is what cleanup is for; it is not a change
            // in Ansible's sense, and check mode runs it too (as Ansible).
            std::fs::remove_file(&log_path)
                .map_err(|e| ModuleError::io("could not remove the job file", log.clone(), e))?;
            return Ok(Check::Done(from_map(into_map(out))));
        }
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        let mut data = match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(m)) => m,
            // Not written yet: the job is running.
            _ if text.trim().is_empty() => {
                out["finished"] = Value::from(0);
                return Ok(Check::Done(from_map(into_map(out))));
            }
            _ => {
                return Err(ModuleError::Failed {
                    msg: format!("Could not parse job output: {text}"),
                    extra: into_map(out),
                })
            }
        };
        if !data.contains_key("started") {
            data.insert("finished".into(), Value::from(1));
            data.insert("ansible_job_id".into(), Value::from(jid));
        } else if !data.contains_key("finished") {
            data.insert("finished".into(), Value::from(0));
        }
        let mut merged = into_map(out);
        merged.extend(data);
        Ok(Check::Done(from_map(merged)))
    }
}

fn into_map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// A result from the job's JSON: the keys with a meaning of their own
/// (`changed`, `failed`, `skipped`, `msg`) lifted out.
fn from_map(mut m: Map<String, Value>) -> ModuleResult {
    let flag = |v: Option<Value>| v.as_ref().and_then(to_bool).unwrap_or(false);
    let mut r = ModuleResult {
        changed: flag(m.remove("changed")),
        failed: flag(m.remove("failed")),
        skipped: flag(m.remove("skipped")),
        msg: None,
        extra: Map::new(),
    };
    r.msg = match m.remove("msg") {
        Some(Value::String(s)) => Some(s),
        Some(Value::Null) | None => None,
        Some(other) => Some(other.to_string()),
    };
    r.extra = m;
    r
}
