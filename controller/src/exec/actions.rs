//! Actions: controller-side ones (set_fact, debug, assert, fail, meta,
//! include_*, include_vars, add_host, group_by, ...) and the native modules
//! run through the runner's engine for `connection: local`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustle_bundle::{AssetId, PlayPlan, Task as PlanTask};
use rustle_runner::engine::{self, RunOptions, Status};
use rustle_runner::modules::{AssetSource, ModuleError};
use rustle_template::{strip_unsafe, Vars};
use serde_json::{json, Map, Value};

use super::callback::Outcome;
use super::iter::Scheduled;
use super::task::{Done, Flow};
use super::{truthy, value_to_string, PlayRun, Runner};
use crate::playbook::{Block, Play};

mod argspec;
mod control;
mod fetch;
mod script;
mod synchronize;
mod template;

/// Marks a failure Ansible raises as an exception rather than returning
/// as a result; the `_ansible_` prefix keeps it out of output and
/// registered values.
pub(crate) const RAISED: &str = "_ansible_rustle_raised";
/// Marks a result an action plugin returned by raising (`AnsibleActionSkip`,
/// `AnsibleActionFail`): registered without the executor's defaults.
pub(crate) const AS_IS: &str = "_ansible_rustle_as_is";

fn done(result: Value) -> Done {
    let outcome = outcome_of(&result);
    Done {
        result,
        outcome,
        ignored: false,
        flow: Flow::Continue,
        show: true,
        verbose_always: false,
        extra_ok: 0,
    }
}

pub(crate) fn outcome_of(result: &Value) -> Outcome {
    if result.get("unreachable").and_then(Value::as_bool) == Some(true) {
        Outcome::Unreachable
    } else if result.get("failed").and_then(Value::as_bool) == Some(true) {
        Outcome::Failed
    } else if result.get("skipped").and_then(Value::as_bool) == Some(true) {
        Outcome::Skipped
    } else if result.get("changed").and_then(Value::as_bool) == Some(true) {
        Outcome::Changed
    } else {
        Outcome::Ok
    }
}

fn fail(msg: impl Into<String>) -> Done {
    done(json!({"changed": false, "failed": true, "msg": msg.into()}))
}

/// A variable layer the play's tasks add to (include_role `public`).
type SharedMap = std::sync::RwLock<Map<String, Value>>;

/// Removes the exception marker; the message when it was there.
pub(crate) fn take_raised(result: &mut Value) -> Option<String> {
    let m = result.as_object_mut()?;
    m.remove(RAISED)?;
    Some(m.get("msg").map(value_to_string).unwrap_or_default())
}

/// The message of a failure to template a task's arguments. An undefined
/// variable is raised by Ansible's post_validate with the task's position,
/// so the message names the option and ends with an excerpt.
fn args_error(s: &Scheduled, e: &rustle_template::TemplateError) -> Value {
    let msg = match e.kind {
        rustle_template::ErrorKind::Undefined => {
            format!("The task includes an option with an undefined variable.. {e}")
        }
        // A ValueError is reported as the `args` field failing conversion.
        rustle_template::ErrorKind::PyValueError => format!(
            "the field 'args' has an invalid value ({}), and could not be converted to dict.. {e}",
            rustle_inventory::pyfmt::py_repr(&Value::Object(s.task.args.clone()))
        ),
        // Any other Python exception fails the task (or loop item) with the
        // exception and no message.
        rustle_template::ErrorKind::PyException => {
            return json!({"changed": false, "exception": format!("{e}\n"), "failed": true})
        }
        _ => return json!({"failed": true, "msg": e.to_string(), RAISED: true}),
    };
    let msg = crate::playbook::ParseError::general(msg, Some(s.task.pos.clone())).render();
    json!({"failed": true, "msg": msg, RAISED: true})
}

/// Templated module arguments with `omit` removed and `!unsafe` markers
/// dropped.
fn template_args(
    r: &Runner<'_>,
    s: &Scheduled,
    vars: &Arc<dyn Vars>,
) -> Result<Map<String, Value>, Value> {
    let mut raw = Value::Object(s.task.args.clone());
    let err = |e: rustle_template::TemplateError| args_error(s, &e);
    if let Some(Value::String(vp)) = s.task.args.get("_variable_params") {
        let v = r
            .templar
            .template(&Value::String(vp.clone()), vars)
            .map_err(err)?;
        let mut m = s.task.args.clone();
        m.remove("_variable_params");
        match v {
            Value::Object(extra) => {
                for (k, val) in extra {
                    m.entry(k).or_insert(val);
                }
            }
            other => {
                return Err(json!({
                    "failed": true,
                    "msg": format!("invalid or malformed argument: '{}'", value_to_string(&other)),
                    RAISED: true,
                }))
            }
        }
        raw = Value::Object(m);
    }
    let t = r.templar.template(&raw, vars).map_err(err)?;
    // Keys are templated too (`set_fact: {"{{ name }}": value}`).
    let t = match t {
        Value::Object(m) if m.keys().any(|k| k.contains("{{")) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = if k.contains("{{") {
                    r.templar
                        .template_str(&k, vars)
                        .map(|v| value_to_string(&v))
                        .map_err(err)?
                } else {
                    k
                };
                out.insert(key, v);
            }
            Value::Object(out)
        }
        other => other,
    };

    match r.templar.remove_omit(&t) {
        Value::Object(m) => Ok(m),
        _ => Ok(Map::new()),
    }
}

pub(crate) fn dispatch(
    r: &mut Runner<'_>,
    pr: &mut PlayRun,
    play: &Play,
    host: &str,
    s: &Scheduled,
    vars: &Arc<dyn Vars>,
    item: Option<&Value>,
) -> Result<Done, u8> {
    // An action name given as a template is resolved now (per host).
    if s.task.module.contains("{{") {
        let name = match r.templar.template_str(&s.task.module, vars) {
            Ok(v) => value_to_string(&v),
            Err(e) => return Ok(fail(e.to_string())),
        };
        let Some(resolved) = crate::playbook::keywords::resolve_action(&name) else {
            return Ok(fail(format!(
                "couldn't resolve module/action '{name}'. This often indicates a misspelling, missing collection, or incorrect module path."
            )));
        };
        let mut s2 = s.clone();
        let mut t = (*s.task).clone();
        t.module = resolved.to_owned();
        t.action = name;
        s2.task = Arc::new(t);
        return dispatch(r, pr, play, host, &s2, vars, item);
    }
    let module = s.task.module.as_str();

    if let Some(d) = invalid_options(s, module) {
        return Ok(d);
    }
    // assert reads its `that` untemplated.
    if module == "assert" {
        return Ok(assert(r, s, vars));
    }
    let args = match template_args(r, s, vars) {
        // set_fact keeps values unsafe (they stay untemplated later, as in
        // Ansible); every other action gets plain values.
        Ok(a) if module == "set_fact" => a,
        Ok(a) => match strip_unsafe(&Value::Object(a)) {
            Value::Object(m) => m,
            _ => Map::new(),
        },
        // Errors raised before the module runs carry no `changed`; raised
        // by post_validate in Ansible, inside a loop they end the whole
        // task (see `RAISED`).
        Err(e) => return Ok(done(e)),
    };
    let async_limit = async_limit(r, s, vars);
    if async_limit > 0 && NO_ASYNC.contains(&module) {
        return Ok(action_fail(format!(
            "This action ({}) does not support async.",
            s.task.action
        )));
    }
    // Every action but the controller's own needs the host.
    r.target = None;
    if !CONTROLLER_SIDE.contains(&module) {
        match reach_host(r, pr, host, s, vars) {
            Ok(target) => r.target = target,
            Err(res) => return Ok(done(res)),
        }
        if r.target.is_some() && async_limit > 0 {
            return Ok(action_fail(
                "rustle does not run async tasks over ssh yet (only on connection: local hosts)",
            ));
        }
    }
    let d = match module {
        "debug" => debug(r, &args, vars),
        "set_fact" => {
            let target = fact_target(r, pr, host, s, vars);
            set_fact(r, &target, &args)
        }
        "fail" => {
            let msg = args
                .get("msg")
                .cloned()
                .unwrap_or_else(|| Value::from("Failed as requested from task"));
            done(json!({"changed": false, "failed": true, "msg": msg}))
        }
        "meta" => meta(r, pr, host, &args),
        "include_tasks" => include_tasks(r, s, &args, item),
        "include_role" => include_role(
            r,
            s,
            &args,
            &pr.scope.play_roles,
            (&pr.scope.public_defaults, &pr.scope.public_vars),
        ),
        "include_vars" => include_vars(r, host, s, &args),
        "add_host" | "group_by" => {
            let d = if module == "add_host" {
                add_host(r, &args)
            } else {
                group_by(r, host, &args)
            };
            if let Ok(mut g) = pr.scope.groups.write() {
                *g = r.groups_value();
            }
            let target = d
                .result
                .pointer("/add_host/host_name")
                .and_then(Value::as_str)
                .unwrap_or(host)
                .to_owned();
            r.refresh_inventory_vars(&target);
            r.refresh_inventory_view();
            d
        }
        "set_stats" => set_stats(&args),
        "pause" => control::pause(r, s, &args),
        "wait_for_connection" => control::wait_for_connection(r, pr, host, s, &args, vars),
        "reboot" => control::reboot(r, pr, host, s, &args, vars),
        "validate_argument_spec" => argspec::validate_argument_spec(r, &args, vars),
        "fetch" => fetch::fetch(r, s, host, &args, vars),
        "script" => script::script(r, s, &args, vars),
        "ping" => done(
            json!({"changed": false, "ping": args.get("data").cloned().unwrap_or(Value::from("pong"))}),
        ),
        "setup" | "gather_facts" => {
            let opts = match environment(r, s, vars) {
                Ok(environment) => fact_options(&args, environment, vars),
                Err(e) => return Ok(fail(e)),
            };
            let (mut facts, warnings) = match gather(r, &opts) {
                Ok(r) => r,
                Err(res) => return Ok(done(res)),
            };
            // `filter`: shell patterns over the prefixed fact names.
            let filters: Vec<String> = match args.get("filter") {
                Some(Value::Array(a)) => a.iter().map(value_to_string).collect(),
                Some(Value::String(f)) if !f.is_empty() => {
                    f.split(',').map(|p| p.trim().to_owned()).collect()
                }
                _ => Vec::new(),
            };
            if !filters.is_empty() {
                facts.retain(|k, _| {
                    let name = format!("ansible_{k}");
                    filters.iter().any(|f| rustle_inventory::fnmatch(f, &name))
                });
            }
            let target = fact_target(r, pr, host, s, vars);
            if let Ok(mut st) = r.states.write() {
                if let Some(h) = st.get_mut(&target) {
                    for (k, v) in &facts {
                        h.facts.insert(k.clone(), v.clone());
                    }
                }
            }
            // The module returns its facts with the `ansible_` prefix (the
            // executor stores them without it).
            const PLAIN: [&str; 3] = [
                "gather_subset",
                "module_setup",
                "discovered_interpreter_python",
            ];
            let shown: Map<String, Value> = facts
                .iter()
                .map(|(k, v)| {
                    let name = if PLAIN.contains(&k.as_str()) {
                        k.clone()
                    } else {
                        format!("ansible_{k}")
                    };
                    (name, v.clone())
                })
                .collect();
            let mut cached = shown.clone();
            if module == "gather_facts" {
                cached.insert("_ansible_facts_gathered".into(), Value::Bool(true));
            }
            if let Some(w) = r.fact_cache.update(host, &cached) {
                r.cb.warning(&w);
            }
            let mut result = json!({"changed": false, "ansible_facts": shown});
            if !warnings.is_empty() {
                result["warnings"] = json!(warnings);
            }
            done(result)
        }
        "raw" => raw(r, s, &args, vars),
        "template" => template::template(r, s, &args, vars),
        "synchronize" => synchronize::synchronize(r, s, &args, vars),
        "assemble" => assemble_action(r, s, args, vars),
        _ => {
            let d = module_call(r, s, &s.task.module, args, vars, None);
            // Facts a native module returns (`getent`) become host facts,
            // as Ansible's executor makes them.
            let failed = d.result.get("failed").and_then(Value::as_bool) == Some(true);
            if let (false, Some(Value::Object(facts))) = (failed, d.result.get("ansible_facts")) {
                let target = fact_target(r, pr, host, s, vars);
                if let Ok(mut st) = r.states.write() {
                    if let Some(h) = st.get_mut(&target) {
                        for (k, v) in facts {
                            match k.strip_prefix("ansible_") {
                                Some(name) => {
                                    h.facts.insert(name.to_owned(), v.clone());
                                }
                                None => {
                                    h.facts.insert(k.clone(), v.clone());
                                    h.fact_vars.insert(k.clone(), v.clone());
                                }
                            }
                        }
                    }
                }
            }
            d
        }
    };
    let _ = play;
    if async_limit > 0 {
        return Ok(poll_async(r, host, s, vars, d, async_limit));
    }
    Ok(d)
}

/// The actions whose Ansible action plugin refuses `async` (`This action
/// (x) does not support async.`); plain modules run through the `normal`
/// action, which supports it, as do `command`/`shell`, `package`,
/// `service`, `dnf` and `uri`.
const NO_ASYNC: &[&str] = &[
    "add_host",
    "assemble",
    "assert",
    "async_status",
    "copy",
    "debug",
    "fail",
    "fetch",
    "gather_facts",
    "group_by",
    "include_vars",
    "pause",
    "raw",
    "reboot",
    "script",
    "set_fact",
    "set_stats",
    "template",
    "unarchive",
    "validate_argument_spec",
    "wait_for_connection",
];

/// The task's `timeout` keyword in seconds (0: none).
fn task_timeout(r: &Runner<'_>, s: &Scheduled, vars: &Arc<dyn Vars>) -> u64 {
    match kw(r, s, "timeout", vars) {
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
        Some(Value::Null) | None => 0,
        Some(other) => value_to_string(&other).trim().parse().unwrap_or(0),
    }
}

/// A task with a `timeout`: the module runs as a job killed (with all it
/// started) after `timeout` seconds, which fails the task as Ansible's
/// `TaskTimeoutError` does. `timedout.frame` names the module: there is no
/// Python frame to show.
fn run_with_timeout(
    s: &Scheduled,
    task: &PlanTask,
    assets: Vec<(AssetId, Vec<u8>)>,
    opts: &RunOptions,
    timeout: u64,
) -> Done {
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return fail(format!("could not start the task: {e}")),
    };
    let started =
        match rustle_runner::asyncjob::start(task, assets, opts, timeout, &exe, &["__async-job"]) {
            Ok(v) => v,
            Err(e) => return fail(e.to_string()),
        };
    let path = PathBuf::from(value_to_string(&started["results_file"]));
    let result = loop {
        std::thread::sleep(std::time::Duration::from_millis(20));
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        match serde_json::from_str::<Value>(&text) {
            Ok(v) if v.get("started").is_none() => break v,
            _ => {}
        }
    };
    let _ = std::fs::remove_file(&path);
    if result.get("msg").and_then(Value::as_str) == Some("Timeout exceeded")
        && result.get("child_pid").is_some()
    {
        return done(json!({
            "changed": false,
            "failed": true,
            "msg": format!(
                "The {} action failed to execute in the expected time frame ({timeout}) and was terminated",
                s.task.action
            ),
            "timedout": {
                "frame": format!("Interrupted in module {} (rustle runs no Python)", task.module),
                "period": timeout,
            },
        }));
    }
    done(result)
}

/// The task's `async` time limit in seconds (0: not async).
fn async_limit(r: &Runner<'_>, s: &Scheduled, vars: &Arc<dyn Vars>) -> u64 {
    match s.task.attrs.get("async") {
        None => 0,
        Some(v) => {
            let v = r.templar.template(v, vars).unwrap_or_else(|_| v.clone());
            match &v {
                Value::Number(n) => n.as_u64().unwrap_or(0),
                other => value_to_string(other).trim().parse().unwrap_or(0),
            }
        }
    }
}

/// What the executor does after starting an async task: with `poll > 0`
/// (default 15 s), check the job every `poll` seconds until it finishes or
/// the time limit runs out (`ASYNC POLL` lines), then report the job's
/// result and remove its results file, as Ansible's `_poll_async_result`.
fn poll_async(
    r: &mut Runner<'_>,
    host: &str,
    s: &Scheduled,
    vars: &Arc<dyn Vars>,
    started: Done,
    limit: u64,
) -> Done {
    let poll = match s.task.attrs.get("poll") {
        None => 15,
        Some(v) => {
            let v = r.templar.template(v, vars).unwrap_or_else(|_| v.clone());
            match &v {
                Value::Number(n) => n.as_i64().unwrap_or(15),
                other => value_to_string(other).trim().parse().unwrap_or(15),
            }
        }
    };
    let res = &started.result;
    let is = |k: &str| res.get(k).is_some_and(truthy);
    if poll <= 0 || is("skipped") || is("failed") {
        return started;
    }
    let Some(jid) = res.get("ansible_job_id").map(value_to_string) else {
        return fail("No job id was returned by the async task");
    };
    let environment = environment(r, s, vars).unwrap_or_default();
    let status = |mode: &str| -> Value {
        let mut task = PlanTask::new("async_status", "async_status");
        task.args.insert("jid".into(), Value::from(jid.clone()));
        task.args.insert("mode".into(), Value::from(mode));
        task.environment = environment.clone();
        let play = PlayPlan {
            name: String::new(),
            tasks: Vec::new(),
            handlers: Vec::new(),
            check_mode: None,
            diff: None,
        };
        let opts = RunOptions {
            check: false,
            diff: false,
            verbosity: 0,
        };
        engine::run_task(&task, &play, &Inline(Vec::new()), &opts, &Map::new())
            .1
            .to_json()
    };
    let mut time_left = limit as i64;
    let mut last = Value::Null;
    while time_left > 0 {
        std::thread::sleep(std::time::Duration::from_secs(poll as u64));
        last = status("status");
        let finished = last.get("finished").and_then(Value::as_i64) == Some(1);
        if finished || last.get("failed").is_some_and(truthy) || last.get("skipped").is_some() {
            break;
        }
        time_left -= poll;
        let field = |k: &str| last.get(k).map(value_to_string).unwrap_or_default();
        r.cb.async_line(&format!(
            "ASYNC POLL on {host}: jid={jid} started={} finished={}",
            field("started"),
            field("finished")
        ));
    }
    let finished = last.get("finished").and_then(Value::as_i64) == Some(1);
    if !finished {
        r.cb.async_line(&format!("ASYNC FAILED on {host}: jid={jid}"));
        return done(json!({
            "failed": true,
            "msg": format!("async task did not complete within the requested time - {limit}s"),
            "async_result": last,
        }));
    }
    status("cleanup");
    let failed = last.get("failed").is_some_and(truthy);
    let word = if failed { "FAILED" } else { "OK" };
    r.cb.async_line(&format!("ASYNC {word} on {host}: jid={jid}"));
    done(last)
}

/// The gathering options of a `setup` / `gather_facts` call: its
/// arguments (`gather_subset`, `gather_timeout`, `fact_path`), the task's
/// environment and the host's `ansible_python_interpreter`.
pub(crate) fn fact_options(
    args: &Map<String, Value>,
    environment: std::collections::BTreeMap<String, String>,
    vars: &Arc<dyn Vars>,
) -> rustle_runner::facts::Options {
    let gather_subset = match args.get("gather_subset") {
        Some(Value::Array(a)) => a.iter().map(value_to_string).collect(),
        Some(Value::Null) | None => Vec::new(),
        Some(v) => value_to_string(v)
            .split(',')
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect(),
    };
    rustle_runner::facts::Options {
        environment,
        fact_path: args.get("fact_path").map(value_to_string),
        gather_subset,
        gather_timeout: args
            .get("gather_timeout")
            .and_then(|v| value_to_string(v).trim().parse().ok()),
        python_interpreter: vars
            .get("ansible_python_interpreter")
            .map(|v| value_to_string(&v))
            .filter(|p| !p.is_empty() && !p.starts_with("auto")),
    }
}

/// The host that receives a task's facts: the delegate under
/// `delegate_facts`, else the host itself.
fn fact_target(
    r: &Runner<'_>,
    pr: &PlayRun,
    host: &str,
    s: &Scheduled,
    vars: &Arc<dyn Vars>,
) -> String {
    if !kw(r, s, "delegate_facts", vars).is_some_and(|v| truthy(&v)) {
        return host.to_owned();
    }
    match r.delegate_of(pr, host, s) {
        Some(d) if r.states.read().is_ok_and(|st| st.contains_key(&d)) => d,
        _ => host.to_owned(),
    }
}

/// Options an action plugin refuses before running: `_VALID_ARGS`
/// (`Invalid options for <action>: a,b`), or the argument spec of the
/// actions that validate one (debug, ping), with Ansible's result shapes.
fn invalid_options(s: &Scheduled, module: &str) -> Option<Done> {
    let given = || s.task.args.keys().filter(|k| !k.starts_with('_'));
    let valid: &[&str] = match module {
        "assert" => &["fail_msg", "msg", "quiet", "success_msg", "that"],
        "fail" => &["msg"],
        "group_by" => &["key", "parents"],
        "set_stats" => &["aggregate", "data", "per_host"],
        "wait_for_connection" => &["connect_timeout", "delay", "sleep", "timeout"],
        "debug" | "ping" => {
            let doc = super::action_docs::lookup(module)?;
            let bad: Vec<&String> = given()
                .filter(|k| !doc.spec.args.iter().any(|a| a.name == k.as_str()))
                .collect();
            if bad.is_empty() {
                return None;
            }
            let mut names: Vec<&str> = doc.spec.args.iter().map(|a| a.name).collect();
            names.sort_unstable();
            let msg = format!(
                "Unsupported parameters for ({module}) module: {}. Supported parameters include: {}.",
                bad.iter().map(|b| b.as_str()).collect::<Vec<_>>().join(", "),
                names.join(", ")
            );
            // debug raises from its action (no `changed`); ping's module
            // fails.
            return Some(done(if module == "debug" {
                json!({"failed": true, "msg": msg, "exception": "NoneType: None\n", AS_IS: true})
            } else {
                json!({"changed": false, "failed": true, "msg": msg})
            }));
        }
        _ => return None,
    };
    let bad: Vec<&str> = given()
        .map(String::as_str)
        .filter(|k| !valid.contains(k))
        .collect();
    if bad.is_empty() {
        return None;
    }
    Some(action_fail(format!(
        "Invalid options for {}: {}",
        s.task.action,
        bad.join(",")
    )))
}

/// Actions that run on the controller and never connect to the host.
const CONTROLLER_SIDE: [&str; 14] = [
    "debug",
    "set_fact",
    "fail",
    "meta",
    "include_tasks",
    "include_role",
    "include_vars",
    "add_host",
    "group_by",
    "set_stats",
    "pause",
    "assert",
    "validate_argument_spec",
    // Waits for the host itself.
    "wait_for_connection",
];

/// Gathers facts where the current task runs (see [`Runner::target`]).
pub(crate) fn gather(
    r: &Runner<'_>,
    opts: &rustle_runner::facts::Options,
) -> Result<(Map<String, Value>, Vec<String>), Value> {
    match &r.target {
        None => rustle_runner::facts::gather_checked(opts)
            .map_err(|e| json!({"failed": true, "msg": e.to_string()})),
        Some(h) => r.remotes.gather_facts(h, opts),
    }
}

/// Runs a module task where the current task runs: in-process for a local
/// connection, else on the SSH host's runner. An `Err` is the task's
/// result (no runner on the host, or the host became unreachable).
fn run_engine(
    r: &Runner<'_>,
    task: &PlanTask,
    assets: Vec<(AssetId, Vec<u8>)>,
    opts: &RunOptions,
) -> Result<(Status, rustle_runner::result::ModuleResult), Value> {
    match &r.target {
        None => {
            let play = PlayPlan {
                name: String::new(),
                tasks: Vec::new(),
                handlers: Vec::new(),
                check_mode: None,
                diff: None,
            };
            Ok(engine::run_task(
                task,
                &play,
                &Inline(assets),
                opts,
                &Map::new(),
            ))
        }
        Some(h) => r.remotes.run_task(h, task, assets, opts),
    }
}

/// Makes `name` (connecting with `conn`) reachable: `Ok(None)` when its
/// modules run in-process, `Ok(Some(name))` for an SSH host (connected and
/// its runner started), the unreachable (or failed) result otherwise.
pub(crate) fn reach_conn(
    r: &Runner<'_>,
    name: &str,
    conn: &super::connection::Connection,
    vars: &Arc<dyn Vars>,
) -> Result<Option<String>, Value> {
    match conn {
        super::connection::Connection::Ssh => {
            let get = |k: &str| {
                vars.get(k).map(|v| {
                    let t = r.templar.template(&v, vars).unwrap_or(v);
                    value_to_string(&strip_unsafe(&t))
                })
            };
            r.remotes.ensure(name, &get, &r.cfg.ssh)?;
            Ok(Some(name.to_owned()))
        }
        other => super::connection::reach(other, vars).map(|()| None),
    }
}

/// Whether the task's host (or the host it is delegated to) can be
/// reached (see [`reach_conn`]); the unreachable (or failed) result when
/// not.
fn reach_host(
    r: &Runner<'_>,
    pr: &PlayRun,
    host: &str,
    s: &Scheduled,
    vars: &Arc<dyn Vars>,
) -> Result<Option<String>, Value> {
    let kw = kw(r, s, "connection", vars);
    let Some(d) = r.delegate_of(pr, host, s) else {
        let conn = super::connection::resolve(vars, kw, &pr.scope.connection);
        return reach_conn(r, host, &conn, vars);
    };
    // Delegated: the delegate's own connection variables decide.
    let known = r
        .states
        .read()
        .map(|st| st.contains_key(&d))
        .unwrap_or(false);
    if !known {
        // The implicit localhost (or a name outside the inventory).
        if matches!(d.as_str(), "localhost" | "127.0.0.1" | "::1") {
            return Ok(None);
        }
    }
    let dvars = r.task_vars(pr, &d, s, Map::new());
    let conn = super::connection::resolve(&dvars, kw, &pr.scope.connection);
    reach_conn(r, &d, &conn, &dvars)
}

fn debug(r: &Runner<'_>, args: &Map<String, Value>, vars: &Arc<dyn Vars>) -> Done {
    let verbosity = args
        .get("verbosity")
        .and_then(|v| {
            v.as_i64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        })
        .unwrap_or(0);
    if verbosity > i64::from(r.cfg.verbosity) {
        return Done {
            result: json!({"changed": false, "skipped": true, "skipped_reason": "Verbosity threshold not met."}),
            outcome: Outcome::Skipped,
            ignored: false,
            flow: Flow::Continue,
            show: true,
            verbose_always: false,
            extra_ok: 0,
        };
    }
    if args.contains_key("msg") && args.contains_key("var") {
        return fail("'msg' and 'var' are incompatible options");
    }
    let mut res = Map::new();
    if let Some(var) = args.get("var") {
        let name = value_to_string(var);
        let expr = if name.contains("{{") {
            name.clone()
        } else {
            format!("{{{{ {name} }}}}")
        };
        let v = match r.templar.template(&Value::String(expr), vars) {
            Ok(v) => v,
            // At -v the reason follows.
            Err(e) if e.is_undefined() && r.cfg.verbosity > 0 => {
                Value::from(format!("VARIABLE IS NOT DEFINED!: {e}"))
            }
            Err(e) if e.is_undefined() => Value::from("VARIABLE IS NOT DEFINED!"),
            Err(e) => return fail(e.to_string()),
        };
        res.insert(name, strip_unsafe(&v));
    } else {
        res.insert(
            "msg".into(),
            args.get("msg")
                .cloned()
                .unwrap_or_else(|| Value::from("Hello world!")),
        );
    }
    res.insert("changed".into(), Value::Bool(false));
    res.insert("failed".into(), Value::Bool(false));
    Done {
        result: Value::Object(res),
        outcome: Outcome::Ok,
        ignored: false,
        flow: Flow::Continue,
        show: true,
        verbose_always: true,
        extra_ok: 0,
    }
}

/// ansible.builtin.set_stats: `data` (a dict of valid names), `per_host`
/// (default false) and `aggregate` (default true).
fn set_stats(args: &Map<String, Value>) -> Done {
    let mut stats = json!({"data": {}, "per_host": false, "aggregate": true});
    let data = match args.get("data") {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            return done(
                json!({"failed": true, "msg": "The 'data' option needs to be a dictionary/hash"}),
            )
        }
    };
    for opt in ["per_host", "aggregate"] {
        if let Some(v) = args.get(opt).filter(|v| !v.is_null()) {
            stats[opt] = Value::Bool(truthy(v));
        }
    }
    for (k, v) in &data {
        if !crate::playbook::load::is_identifier(k) {
            return done(
                json!({"failed": true, "msg": format!("The variable name '{k}' is not valid. Variables must start with a letter or underscore character, and contain only letters, numbers and underscores.")}),
            );
        }
        stats["data"][k] = v.clone();
    }
    done(json!({"changed": false, "ansible_stats": stats}))
}

fn set_fact(r: &mut Runner<'_>, host: &str, args: &Map<String, Value>) -> Done {
    let mut facts = Map::new();
    for (k, v) in args {
        if k == "cacheable" {
            continue;
        }
        if !crate::playbook::load::is_identifier(k) {
            return fail(format!("The variable name '{k}' is not valid. Variables must start with a letter or underscore character, and contain only letters, numbers and underscores."));
        }
        // Without jinja2_native, set_fact turns boolean-looking strings
        // into booleans (ansible.builtin.set_fact's documented behaviour).
        let text = v.as_str().or_else(|| rustle_template::as_unsafe_str(v));
        let v = match text {
            Some(s) if matches!(s.to_lowercase().as_str(), "true" | "false" | "yes" | "no") => {
                Value::Bool(matches!(s.to_lowercase().as_str(), "true" | "yes"))
            }
            _ => v.clone(),
        };
        facts.insert(k.clone(), v);
    }
    if facts.is_empty() {
        return fail(
            "No key/value pairs provided, at least one is required for this action to succeed",
        );
    }
    // `cacheable` facts are real facts too (lower precedence, in
    // `ansible_facts`), besides the set_fact level.
    let cacheable = args.get("cacheable").is_some_and(truthy);
    if let Ok(mut st) = r.states.write() {
        if let Some(h) = st.get_mut(host) {
            for (k, v) in &facts {
                h.set_facts.insert(k.clone(), v.clone());
                if cacheable {
                    h.facts.insert(k.clone(), v.clone());
                }
            }
        }
    }
    if cacheable {
        if let Some(w) = r.fact_cache.update(host, &facts) {
            r.cb.warning(&w);
        }
    }
    done(json!({"changed": false, "ansible_facts": facts}))
}

fn assert(r: &Runner<'_>, s: &Scheduled, vars: &Arc<dyn Vars>) -> Done {
    let raw = &s.task.args;
    let t = |k: &str| {
        raw.get(k)
            .map(|v| r.templar.template(v, vars).unwrap_or_else(|_| v.clone()))
    };
    let quiet = t("quiet").is_some_and(|v| truthy(&v));
    let fail_msg = t("fail_msg")
        .or_else(|| t("msg"))
        .unwrap_or_else(|| Value::from("Assertion failed"));
    let success_msg = t("success_msg").unwrap_or_else(|| Value::from("All assertions passed"));
    let thats: Vec<Value> = match raw.get("that") {
        Some(Value::Array(a)) => a.clone(),
        Some(Value::String(s)) => match r.templar.template(&Value::String(s.clone()), vars) {
            Ok(Value::Array(a)) => a,
            _ => vec![Value::String(s.clone())],
        },
        Some(other) => vec![other.clone()],
        None => return fail("conditional required in \"that\" string"),
    };
    for that in thats {
        match r.templar.evaluate_conditional(&that, vars) {
            Ok(true) => {}
            Ok(false) => {
                let mut d = done(json!({
                    "assertion": that, "changed": false, "evaluated_to": false,
                    "failed": true, "msg": fail_msg,
                }));
                d.verbose_always = !quiet;
                return d;
            }
            // The templar's error already names the conditional; Ansible
            // raises it out of the action, so the result is `{failed, msg}`.
            Err(e) => {
                let msg = super::task::conditional_failed(&that, &e);
                return done(json!({"failed": true, "msg": msg, RAISED: true}));
            }
        }
    }
    let mut d = done(json!({"changed": false, "msg": success_msg}));
    d.verbose_always = !quiet;
    d
}

fn meta(r: &mut Runner<'_>, pr: &mut PlayRun, host: &str, args: &Map<String, Value>) -> Done {
    let what = args
        .get("_raw_params")
        .map(value_to_string)
        .unwrap_or_default();
    let mut d = done(json!({"changed": false, "skipped": false}));
    d.show = false;
    // What `_execute_meta` reports at -vv (`META: ...`).
    let note = match what.trim() {
        "flush_handlers" => {
            d.flow = Flow::FlushHandlers;
            r.announce_notified(pr, host);
            Some(format!("triggered running handlers for {host}"))
        }
        "end_host" => {
            d.flow = Flow::EndHost;
            Some(format!("ending play for {host}"))
        }
        "end_play" => {
            d.flow = Flow::EndPlay;
            Some("ending play".to_owned())
        }
        "end_batch" => {
            d.flow = Flow::EndBatch;
            Some("ending batch".to_owned())
        }
        "clear_host_errors" => {
            d.flow = Flow::ClearHostErrors;
            Some("cleared host errors".to_owned())
        }
        // For every host of the play (it runs once).
        "clear_facts" => {
            let mut hosts = pr.hosts.clone();
            if !hosts.iter().any(|h| h == host) {
                hosts.push(host.to_owned());
            }
            for h in &hosts {
                if let Ok(mut st) = r.states.write() {
                    if let Some(s) = st.get_mut(h) {
                        s.facts.clear();
                        s.fact_vars.clear();
                    }
                }
                r.fact_cache.clear(h);
            }
            Some("facts cleared".to_owned())
        }
        "end_role" => {
            d.flow = Flow::EndRole;
            None
        }
        "noop" => Some("noop".to_owned()),
        "refresh_inventory" => Some("inventory successfully refreshed".to_owned()),
        "reset_connection" => {
            r.remotes.reset(host);
            None
        }
        other => return fail(format!("invalid meta action requested: {other}")),
    };
    if let Some(n) = note {
        r.cb.vv(&format!("META: {n}"));
    }
    d
}

fn search_file(s: &Scheduled, sub: &str, name: &str, playbook_dir: &Path) -> PathBuf {
    let p = Path::new(name);
    if p.is_absolute() {
        return p.to_path_buf();
    }
    let role = s
        .task
        .role
        .as_ref()
        .or_else(|| s.parents.iter().rev().find_map(|b| b.role.as_ref()));
    let mut cands = Vec::new();
    if let Some(role) = role {
        cands.push(role.path.join(sub).join(name));
        cands.push(role.path.join(name));
        cands.push(role.path.join("tasks").join(name));
    }
    cands.push(s.task.basedir.join(sub).join(name));
    cands.push(s.task.basedir.join(name));
    cands.push(playbook_dir.join(sub).join(name));
    cands.push(playbook_dir.join(name));
    cands
        .iter()
        .find(|c| c.exists())
        .cloned()
        .unwrap_or_else(|| s.task.basedir.join(name))
}

fn include_tasks(
    r: &mut Runner<'_>,
    s: &Scheduled,
    args: &Map<String, Value>,
    _item: Option<&Value>,
) -> Done {
    let Some(file) = args
        .get("file")
        .or_else(|| args.get("_raw_params"))
        .map(value_to_string)
    else {
        return fail("No file specified for include_tasks");
    };
    let path = search_file(s, "tasks", &file, &r.playbook_dir);
    let role = s
        .task
        .role
        .clone()
        .or_else(|| s.parents.iter().rev().find_map(|b| b.role.clone()));
    match r
        .loader
        .load_task_file(&path, s.task.handler, role.as_ref())
    {
        Ok(items) => {
            // Roles imported by the included file bring their handlers.
            let mut imported = std::mem::take(&mut r.loader.imported_handlers);
            r.pending_handlers.append(&mut imported);
            let mut attrs = crate::playbook::Attrs::default();
            attrs.insert(
                "_included_file",
                Value::from(path.display().to_string()),
                s.task.pos.clone(),
            );
            // The include's `vars` are include params: above set_fact.
            if let Some(v) = s.task.attrs.get("vars") {
                attrs.insert("_include_params", v.clone(), s.task.pos.clone());
            }
            if let Some(Value::Object(apply)) = args.get("apply") {
                for (k, v) in apply {
                    attrs.insert(k, v.clone(), s.task.pos.clone());
                }
            }
            let mut d = done(json!({"changed": false, "include": file, "include_args": {}}));
            d.show = false;
            d.flow = Flow::Include(Block {
                pos: s.task.pos.clone(),
                attrs,
                block: items,
                rescue: Vec::new(),
                always: Vec::new(),
                implicit: true,
                role,
            });
            d
        }
        Err(e) => fail(e.msg),
    }
}

fn include_role(
    r: &mut Runner<'_>,
    s: &Scheduled,
    args: &Map<String, Value>,
    pr_roles: &std::sync::RwLock<Vec<String>>,
    exported: (&SharedMap, &SharedMap),
) -> Done {
    let Some(name) = args.get("name").map(value_to_string) else {
        return fail("'name' is a required field for include_role.");
    };
    let from = |k: &str| args.get(k).map(value_to_string);
    let dir = match r.loader.find_role(&name, &s.task.basedir, &s.task.pos) {
        Ok(d) => d,
        Err(e) => return fail(e.msg),
    };
    let role = match r.loader.load_role(
        &name,
        &dir,
        from("tasks_from").as_deref(),
        from("handlers_from").as_deref(),
        &mut Vec::new(),
    ) {
        Ok(role) => role,
        Err(e) => return fail(e.msg),
    };
    let mut role = role;
    if args
        .get("rolespec_validate")
        .is_some_and(|v| rustle_runner::args::to_bool(v) == Some(false))
    {
        crate::playbook::Loader::drop_argspec_task(&mut role);
    }
    // `vars_from`/`defaults_from` replace the role's main files.
    for (key, sub) in [("vars_from", "vars"), ("defaults_from", "defaults")] {
        let Some(file) = from(key) else { continue };
        match r.loader.load_role_vars_named(&dir, sub, &file, &name) {
            Ok(m) if sub == "vars" => role.vars = m,
            Ok(m) => role.defaults = m,
            Err(e) => return fail(e.msg),
        }
    }
    // The role's handlers (and those of roles it imports) join the play's.
    let mut handler_items = role.handlers.clone();
    handler_items.append(&mut r.loader.imported_handlers);
    r.pending_handlers.extend(handler_items);
    // An included role inherits the role params and vars of the role it
    // is included from (its dependency chain).
    let parent = s
        .parents
        .iter()
        .rev()
        .find(|b| b.attrs.get("_role_vars").is_some());
    let inherited = |k: &str| match parent.and_then(|b| b.attrs.get(k)) {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    let chain = super::RoleChain {
        params: inherited("_role_params"),
        vars: inherited("_role_vars"),
    };
    let mut attrs = crate::playbook::Attrs::default();
    // The include's `vars` are include params: above set_fact. Included
    // from a role, it also gets that role's params and learns its parents.
    let mut include_params = chain.params.clone();
    if let Some(Value::Object(tv)) = s.task.attrs.get("vars") {
        include_params.extend(tv.clone());
    }
    let parent_role = s
        .task
        .role
        .as_ref()
        .or_else(|| s.parents.iter().rev().find_map(|b| b.role.as_ref()));
    if let Some(pr) = parent_role {
        let mut outer = Map::new();
        for b in &s.parents {
            if let Some(Value::Object(v)) = b.attrs.get("_include_params") {
                outer.extend(v.clone());
            }
        }
        for (k, v) in [
            ("ansible_parent_role_names", Value::from(pr.name.clone())),
            (
                "ansible_parent_role_paths",
                Value::from(pr.path.display().to_string()),
            ),
        ] {
            let mut list = vec![v];
            if let Some(Value::Array(a)) = outer.get(k) {
                list.extend(a.iter().cloned());
            }
            include_params.insert(k.into(), Value::Array(list));
        }
    }
    if !include_params.is_empty() {
        attrs.insert(
            "_include_params",
            Value::Object(include_params),
            s.task.pos.clone(),
        );
    }
    if let Ok(mut names) = pr_roles.write() {
        names.push(role.info.name.clone());
    }
    // `public: true` exports the role's defaults and vars to the rest of
    // the play, like a play role's.
    if args.get("public").is_some_and(truthy) {
        if let Ok(mut d) = exported.0.write() {
            d.extend(role.defaults.clone());
        }
        if let Ok(mut v) = exported.1.write() {
            v.extend(role.vars.clone());
        }
    }
    attrs.insert(
        "_included_file",
        Value::from(name.clone()),
        s.task.pos.clone(),
    );
    if let Some(Value::Object(apply)) = args.get("apply") {
        for (k, v) in apply {
            attrs.insert(k, v.clone(), s.task.pos.clone());
        }
    }
    let mut d = done(json!({"changed": false, "include_args": {"name": name}}));
    d.show = false;
    // The role's meta dependencies run first, each as its own role block.
    let mut blocks = Vec::new();
    let mut dep_handlers = Vec::new();
    let (mut dd, mut dv, mut seen) = (Map::new(), Map::new(), Vec::new());
    let mut child = chain.clone();
    child.vars.extend(role.vars.clone());
    for dep in &role.dependencies {
        super::flatten_role(
            dep,
            &mut blocks,
            &mut dep_handlers,
            &mut dd,
            &mut dv,
            &mut seen,
            &child,
        );
    }
    r.pending_handlers.extend(dep_handlers);
    let mut own_defaults = dd;
    own_defaults.extend(role.defaults.clone());
    let mut own_vars = chain.vars.clone();
    own_vars.extend(dv);
    own_vars.extend(role.vars.clone());
    let mut role_attrs = crate::playbook::Attrs::default();
    role_attrs.insert(
        "_role_defaults",
        Value::Object(own_defaults),
        s.task.pos.clone(),
    );
    role_attrs.insert("_role_vars", Value::Object(own_vars), s.task.pos.clone());
    role_attrs.insert(
        "_role_params",
        Value::Object(chain.params),
        s.task.pos.clone(),
    );
    let mut from_files = Map::new();
    for k in ["tasks_from", "vars_from", "defaults_from", "handlers_from"] {
        if let Some(v) = from(k) {
            from_files.insert(k.into(), Value::from(v));
        }
    }
    role_attrs.insert(
        "_role_ident",
        crate::playbook::model::role_identity(
            &dir,
            &Map::new(),
            &crate::playbook::Attrs::default(),
            &role.vars,
            &from_files,
            true,
        ),
        s.task.pos.clone(),
    );
    // An include allows duplicates unless it says otherwise.
    role_attrs.insert(
        "_role_allow_dup",
        Value::Bool(args.get("allow_duplicates").is_none_or(truthy)),
        s.task.pos.clone(),
    );
    blocks.push(crate::playbook::Item::Block(Block {
        pos: s.task.pos.clone(),
        attrs: role_attrs,
        block: role.tasks.clone(),
        rescue: Vec::new(),
        always: Vec::new(),
        implicit: true,
        role: Some(role.info.clone()),
    }));
    d.flow = Flow::Include(Block {
        pos: s.task.pos.clone(),
        attrs,
        block: blocks,
        rescue: Vec::new(),
        always: Vec::new(),
        implicit: true,
        role: Some(role.info.clone()),
    });
    d
}

/// Whether `text` matches the Python regex `pattern` (`re.search`).
fn py_search(r: &Runner<'_>, pattern: &str, text: &str) -> Result<bool, String> {
    let mut m = Map::new();
    m.insert("__text".into(), Value::from(text));
    m.insert("__pattern".into(), Value::from(pattern));
    let vars: Arc<dyn Vars> = Arc::new(m);
    r.templar
        .evaluate_conditional(&Value::from("__text is search(__pattern)"), &vars)
        .map_err(|e| e.to_string())
}

/// The files of an include_vars `dir`, walked as the action does: sorted
/// by directory, each directory's files sorted, down to `depth` (0: all).
fn walk_vars_dir(root: &Path, depth: usize) -> Vec<(PathBuf, Vec<String>)> {
    let mut out = Vec::new();
    let mut stack = vec![(root.to_path_buf(), 1usize)];
    while let Some((dir, level)) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files = Vec::new();
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push((p, level + 1));
            } else if let Some(n) = e.file_name().to_str() {
                files.push(n.to_owned());
            }
        }
        if depth == 0 || level <= depth {
            files.sort();
            out.push((dir, files));
        }
    }
    out.sort_by(|a, b| a.0.as_os_str().cmp(b.0.as_os_str()));
    out
}

fn include_vars(r: &mut Runner<'_>, host: &str, s: &Scheduled, args: &Map<String, Value>) -> Done {
    let file = args
        .get("file")
        .or_else(|| args.get("_raw_params"))
        .map(value_to_string);
    let dir = args.get("dir").map(value_to_string);
    let list = |k: &str| -> Option<Vec<String>> {
        match args.get(k)? {
            Value::Array(a) => Some(a.iter().map(value_to_string).collect()),
            v => Some(
                value_to_string(v)
                    .split(',')
                    .map(|x| x.trim().to_owned())
                    .collect(),
            ),
        }
    };
    let mut facts = Map::new();
    let mut names = Vec::new();
    let mut error: Option<String> = None;
    // Loads one file into `into`; Err is the action's failure message.
    let load = |r: &mut Runner<'_>,
                f: &Path,
                into: &mut Map<String, Value>,
                names: &mut Vec<Value>|
     -> Result<(), String> {
        let (node, _) = r.loader.read_yaml(f).map_err(|e| e.msg)?;
        match node.to_ansible_json() {
            Value::Object(m) => into.extend(m),
            Value::Null => {}
            _ => {
                return Err(format!(
                    "{} must be stored as a dictionary/hash",
                    f.display()
                ))
            }
        }
        names.push(Value::from(f.display().to_string()));
        Ok(())
    };
    if let Some(f) = file {
        let path = search_file(s, "vars", &f, &r.playbook_dir);
        if let Err(e) = load(r, &path, &mut facts, &mut names) {
            return fail(e);
        }
    } else if let Some(d) = dir {
        let role = s
            .task
            .role
            .as_ref()
            .or_else(|| s.parents.iter().rev().find_map(|b| b.role.as_ref()));
        // Relative to the role's `vars/`, else to the task's file.
        let base = match role {
            Some(role) if d.split('/').next() == Some("vars") => {
                let p = role.path.join(&d);
                if p.exists() {
                    p
                } else {
                    PathBuf::from(&d)
                }
            }
            Some(role) => role.path.join("vars").join(&d),
            None => s.task.basedir.join(&d),
        };
        let depth = args
            .get("depth")
            .and_then(|v| v.as_u64().or_else(|| value_to_string(v).parse().ok()))
            .unwrap_or(0) as usize;
        let exts =
            list("extensions").unwrap_or_else(|| vec!["yaml".into(), "yml".into(), "json".into()]);
        let ignore_files = list("ignore_files").unwrap_or_default();
        let ignore_unknown = args.get("ignore_unknown_extensions").is_some_and(truthy);
        let matching = args.get("files_matching").map(value_to_string);
        if !base.exists() {
            error = Some(format!("{} directory does not exist", base.display()));
        } else if !base.is_dir() {
            error = Some(format!("{} is not a directory", base.display()));
        } else {
            'dirs: for (root, files) in walk_vars_dir(&base, depth) {
                let mut dir_facts = Map::new();
                // (The action means to skip a role's vars/main.yml, but its
                // check compares mismatched paths, so that file is loaded.)
                for name in files {
                    if let Some(pat) = &matching {
                        match py_search(r, pat, &name) {
                            Ok(true) => {}
                            Ok(false) => continue,
                            Err(e) => return fail(e),
                        }
                    }
                    let mut ignored = false;
                    for pat in &ignore_files {
                        match py_search(r, &format!("{pat}$"), &name) {
                            Ok(m) => ignored |= m,
                            Err(_) => return fail(format!("Invalid regular expression: {pat}")),
                        }
                    }
                    let ext_ok = Path::new(&name)
                        .extension()
                        .and_then(|e| e.to_str())
                        .is_some_and(|e| exts.iter().any(|x| x == e));
                    let path = root.join(&name);
                    if ignored || (ignore_unknown && !ext_ok) || !path.exists() {
                        continue;
                    }
                    if !ext_ok {
                        error = Some(format!(
                            "{} does not have a valid extension: {}",
                            path.display(),
                            exts.join(", ")
                        ));
                        break 'dirs;
                    }
                    if let Err(e) = load(r, &path, &mut dir_facts, &mut names) {
                        error = Some(e);
                        break 'dirs;
                    }
                }
                facts.extend(dir_facts);
            }
        }
    } else {
        return fail("Unable to find a file to include");
    }
    let facts = match args.get("name").map(value_to_string) {
        Some(n) => {
            let mut m = Map::new();
            m.insert(n, Value::Object(facts));
            m
        }
        None => facts,
    };
    if let Some(e) = error {
        // The action reports `message` (not `msg`) with what it loaded.
        return done(json!({
            "changed": false, "failed": true, "message": e,
            "ansible_facts": facts, "ansible_included_var_files": names,
        }));
    }
    if let Ok(mut st) = r.states.write() {
        if let Some(h) = st.get_mut(host) {
            for (k, v) in &facts {
                h.include_vars.insert(k.clone(), v.clone());
            }
        }
    }
    done(json!({"changed": false, "ansible_facts": facts, "ansible_included_var_files": names}))
}

fn add_host(r: &mut Runner<'_>, args: &Map<String, Value>) -> Done {
    let mut args = args.clone();
    if let Some(raw) = args.remove("_raw_params") {
        match raw {
            Value::Object(m) => {
                for (k, v) in m {
                    args.entry(k).or_insert(v);
                }
            }
            Value::String(s) if s.is_empty() => {}
            other => {
                return fail(format!(
                    "Invalid raw parameters passed, requires a dictionary/mapping got a {}",
                    super::callback::py_repr(&other)
                ))
            }
        }
    }
    let args = &args;
    let Some(name) = args
        .get("name")
        .or_else(|| args.get("hostname"))
        .or_else(|| args.get("host"))
        .map(value_to_string)
    else {
        return fail("name is required");
    };
    // `host:port` names carry the port (ansible_port).
    let (name, port) = match rustle_inventory::address::parse_address(&name, false) {
        Some((h, p)) => (h, p),
        None => (name, None),
    };
    let groups: Vec<String> = match args
        .get("groups")
        .or_else(|| args.get("group"))
        .or_else(|| args.get("groupname"))
    {
        Some(Value::Array(a)) => a.iter().map(value_to_string).collect(),
        Some(v) => value_to_string(v)
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect(),
        None => Vec::new(),
    };
    let mut hv = Map::new();
    if let Some(p) = port {
        // What Ansible's add_host action records for a `host:port` name.
        hv.insert("ansible_ssh_port".into(), Value::from(p));
    }
    for (k, v) in args {
        if !matches!(
            k.as_str(),
            "name" | "hostname" | "host" | "groups" | "group" | "groupname"
        ) {
            hv.insert(k.clone(), v.clone());
        }
    }
    for g in &groups {
        let list = r.dynamic_groups.entry(g.clone()).or_default();
        if !list.contains(&name) {
            list.push(name.clone());
        }
    }
    match r.added_hosts.iter_mut().find(|(h, _, _)| *h == name) {
        Some(e) => {
            for (k, v) in &hv {
                e.2.insert(k.clone(), v.clone());
            }
        }
        None => r
            .added_hosts
            .push((name.clone(), groups.clone(), hv.clone())),
    }
    let changed = super::add_dynamic_host(&mut r.inventory, &name, &groups, &hv);
    // The host's variables are visible through hostvars right away.
    let known = r
        .states
        .read()
        .map(|s| s.contains_key(&name))
        .unwrap_or(false);
    if known {
        if let Ok(mut st) = r.states.write() {
            if let Some(h) = st.get_mut(&name) {
                for (k, v) in &hv {
                    h.inventory.insert(k.clone(), v.clone());
                }
            }
        }
    } else {
        r.init_host(&name);
    }
    done(
        json!({"changed": changed, "add_host": {"host_name": name, "groups": groups, "host_vars": hv}}),
    )
}

fn group_by(r: &mut Runner<'_>, host: &str, args: &Map<String, Value>) -> Done {
    let Some(key) = args.get("key").map(value_to_string) else {
        return fail("the 'key' param is required when using group_by");
    };
    let group = key.replace(' ', "-");
    let parents: Vec<String> = match args.get("parents") {
        Some(Value::Array(a)) => a.iter().map(value_to_string).collect(),
        Some(v) => vec![value_to_string(v)],
        None => vec!["all".into()],
    };
    let list = r.dynamic_groups.entry(group.clone()).or_default();
    if !list.iter().any(|h| h == host) {
        list.push(host.to_owned());
    }
    let mut changed = super::add_dynamic_host(
        &mut r.inventory,
        host,
        std::slice::from_ref(&group),
        &Map::new(),
    );
    // The new group hangs under its parents (their group_vars apply). As
    // Ansible counts it, a parent created or a new parent link is a change.
    let mut w = rustle_inventory::Warnings::default();
    for p in &parents {
        let p = p.replace(' ', "-");
        if r.inventory.data.group_id(&p).is_none() {
            r.inventory.data.add_group(&p, &mut w);
            changed = true;
        }
        changed |= r.inventory.data.add_child(&p, &group).unwrap_or(false);
    }
    done(json!({"changed": changed, "add_group": group, "parent_groups": parents}))
}

struct Inline(Vec<(AssetId, Vec<u8>)>);

impl AssetSource for Inline {
    fn asset(&self, id: &AssetId) -> Result<Vec<u8>, ModuleError> {
        self.0
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, d)| d.clone())
            .ok_or_else(|| ModuleError::Asset(format!("asset {id} missing")))
    }
}

/// A controller-side source file's bytes, decrypted when vaulted (and
/// `decrypt` is on), as Ansible's loader reads them for `copy`/`template`.
pub(crate) fn read_src(path: &Path, decrypt: bool) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(path).map_err(|_| format!("could not read {}", path.display()))?;
    if decrypt && rustle_vault::is_encrypted(&bytes) {
        return rustle_vault::keyring::decrypt_file(&bytes, &path.display().to_string())
            .map(|p| p.to_vec())
            .map_err(|e| e.to_string());
    }
    Ok(bytes)
}

/// Regular files below `dir` (symlinks followed), sorted, with their paths
/// relative to it.
fn walk_files(dir: &Path, rel: &str, out: &mut Vec<(String, PathBuf)>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let r = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        let p = e.path();
        if p.is_dir() {
            walk_files(&p, &r, out);
        } else if p.is_file() {
            out.push((r, p));
        }
    }
}

/// `assemble`'s action: with `remote_src` (the default) the module runs
/// on the host; otherwise the fragments are found and assembled here and
/// the result is shipped to the module.
fn assemble_action(
    r: &Runner<'_>,
    s: &Scheduled,
    args: Map<String, Value>,
    vars: &Arc<dyn Vars>,
) -> Done {
    let (Some(src), Some(_)) = (args.get("src"), args.get("dest")) else {
        return action_fail("src and dest are required");
    };
    let src = value_to_string(src);
    if args.get("remote_src").is_none_or(truthy) {
        return module_call(r, s, "assemble", args, vars, None);
    }
    let path = search_file(s, "files", &src, &r.playbook_dir);
    if !path.exists() {
        return action_fail(format!(
            "Could not find or access '{src}' on the Ansible Controller."
        ));
    }
    if !path.is_dir() {
        return action_fail(format!("Source ({}) is not a directory", path.display()));
    }
    let text = |k: &str| args.get(k).filter(|v| !v.is_null()).map(value_to_string);
    let data = match rustle_runner::modules::files::assemble::assemble_fragments(
        &path,
        text("delimiter").as_deref(),
        text("regexp").as_deref(),
        args.get("ignore_hidden").is_some_and(truthy),
    ) {
        Ok(d) => d,
        Err(e) => return fail(e.to_string()),
    };
    let mut margs = args.clone();
    for k in [
        "remote_src",
        "regexp",
        "delimiter",
        "ignore_hidden",
        "decrypt",
    ] {
        margs.remove(k);
    }
    module_call(r, s, "assemble", margs, vars, Some(data))
}

/// A failure an action plugin raises (`AnsibleActionFail`): its
/// `exception` is `traceback.format_exc()` outside any exception.
fn action_fail(msg: impl Into<String>) -> Done {
    done(
        json!({"changed": false, "failed": true, "msg": msg.into(), "exception": "NoneType: None\n"}),
    )
}

/// `raw`: the command line run as is by the connection (no module on the
/// host): through `executable -c` when given, else the local connection's
/// `/bin/sh`, from the playbook's directory. Always changed; a non-zero
/// exit fails it; check mode skips it.
fn raw(r: &mut Runner<'_>, s: &Scheduled, args: &Map<String, Value>, vars: &Arc<dyn Vars>) -> Done {
    if environment(r, s, vars).is_ok_and(|e| !e.is_empty()) {
        r.cb.warning("raw module does not support the environment keyword");
    }
    let check = kw(r, s, "check_mode", vars).map_or(r.cfg.check, |v| truthy(&v));
    if check {
        return done(json!({"changed": false, "skipped": true}));
    }
    let cmd = args
        .get("_raw_params")
        .map(value_to_string)
        .unwrap_or_default();
    let shell = match args.get("executable").map(value_to_string) {
        Some(e) if !e.is_empty() && e != "False" && e != "false" => e,
        _ => "/bin/sh".to_owned(),
    };
    let (rc, out, err) = match &r.target {
        Some(h) => match r.remotes.raw(h, &shell, &cmd) {
            Ok(o) => o,
            Err(res) => return done(res),
        },
        None => {
            let out = std::process::Command::new(&shell)
                .arg("-c")
                .arg(&cmd)
                .current_dir(&r.playbook_dir)
                .stdin(std::process::Stdio::null())
                .output();
            match out {
                Ok(o) => (o.status.code().unwrap_or(-1), o.stdout, o.stderr),
                Err(e) => return fail(format!("[Errno 2] {e}: b'{shell}'")),
            }
        }
    };
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let (stdout, stderr) = (text(&out), text(&err));
    let lines = |t: &str| -> Vec<Value> { t.lines().map(Value::from).collect() };
    let mut res = json!({
        "changed": true,
        "rc": rc,
        "stdout": stdout,
        "stdout_lines": lines(&stdout),
        "stderr": stderr,
        "stderr_lines": lines(&stderr),
    });
    if rc != 0 {
        res["failed"] = Value::Bool(true);
        res["msg"] = Value::from("non-zero return code");
    }
    done(res)
}

/// Runs a native module in-process with named assets (`(name, bytes)`),
/// as the runner would on the host with a bundle carrying them.
fn module_call_assets(
    r: &Runner<'_>,
    s: &Scheduled,
    module: &str,
    args: Map<String, Value>,
    vars: &Arc<dyn Vars>,
    named: Vec<(String, Vec<u8>)>,
) -> Done {
    let mut assets: Vec<(AssetId, Vec<u8>)> = Vec::new();
    let mut task = PlanTask::new(s.task.name().unwrap_or_default(), module);
    for (name, bytes) in named {
        let id = AssetId::of(&bytes);
        if !assets.iter().any(|(i, _)| *i == id) {
            assets.push((id, bytes));
        }
        task.assets.insert(name, id);
    }
    task.args = args;
    task.check_mode = kw(r, s, "check_mode", vars).map(|v| truthy(&v));
    task.diff = kw(r, s, "diff", vars).map(|v| truthy(&v));
    match environment(r, s, vars) {
        Ok(env) => task.environment = env,
        Err(e) => return fail(e),
    }
    let play = PlayPlan {
        name: String::new(),
        tasks: Vec::new(),
        handlers: Vec::new(),
        check_mode: None,
        diff: None,
    };
    let opts = RunOptions {
        check: r.cfg.check,
        diff: r.cfg.diff,
        verbosity: r.cfg.verbosity,
    };
    let _ = play;
    match run_engine(r, &task, assets, &opts) {
        Ok((_, result)) => done(result.to_json()),
        Err(res) => done(res),
    }
}

/// Runs a native module in-process, as the runner would on the host.
fn module_call(
    r: &Runner<'_>,
    s: &Scheduled,
    module: &str,
    mut args: Map<String, Value>,
    vars: &Arc<dyn Vars>,
    content: Option<Vec<u8>>,
) -> Done {
    if rustle_runner::modules::lookup(module).is_none() {
        return fail(format!(
            "The module {} is not yet supported by rustle (no native implementation)",
            s.task.action
        ));
    }
    let mut assets = Vec::new();
    let mut task = PlanTask::new(s.task.name().unwrap_or_default(), module);
    if let Some(bytes) = content {
        let id = AssetId::of(&bytes);
        assets.push((id, bytes));
        task.assets.insert("src".into(), id);
    } else if module == "unarchive"
        && !args.get("remote_src").is_some_and(truthy)
        && args.get("copy").is_none_or(truthy)
    {
        // A controller archive is shipped with the task, as copy's src.
        if let Some(src) = args.get("src").map(value_to_string) {
            let path = search_file(s, "files", &src, &r.playbook_dir);
            match std::fs::read(&path) {
                Ok(bytes) => {
                    let id = AssetId::of(&bytes);
                    assets.push((id, bytes));
                    task.assets.insert("src".into(), id);
                }
                Err(_) => {
                    return action_fail(format!(
                        "Could not find or access '{src}' on the Ansible Controller."
                    ))
                }
            }
        }
    } else if module == "copy" && !args.get("remote_src").is_some_and(truthy) {
        if let Some(src) = args.get("src").map(value_to_string) {
            let path = search_file(s, "files", &src, &r.playbook_dir);
            let preserve = args.get("mode").and_then(Value::as_str) == Some("preserve");
            // Vaulted sources are decrypted here unless `decrypt: false`.
            let decrypt = args.get("decrypt").is_none_or(truthy);
            if path.is_dir() {
                // One asset per file, `src/<path under the directory>`, as
                // the runner's copy expects; symlinks followed (local_follow).
                let mut files = Vec::new();
                walk_files(&path, "", &mut files);
                let mut modes = Map::new();
                for (rel, full) in files {
                    let bytes = match read_src(&full, decrypt) {
                        Ok(b) => b,
                        Err(e) => return fail(e),
                    };
                    let id = AssetId::of(&bytes);
                    assets.push((id, bytes));
                    task.assets.insert(format!("src/{rel}"), id);
                    if let Ok(md) = std::fs::metadata(&full) {
                        use std::os::unix::fs::MetadataExt;
                        modes.insert(rel, format!("0{:o}", md.mode() & 0o7777).into());
                    }
                }
                if preserve {
                    args.insert("_src_mode".into(), Value::Object(modes));
                }
            } else if let Some(bytes) = path.is_file().then(|| read_src(&path, decrypt)) {
                let bytes = match bytes {
                    Ok(b) => b,
                    Err(e) => return fail(e),
                };
                if preserve {
                    if let Ok(md) = std::fs::metadata(&path) {
                        use std::os::unix::fs::MetadataExt;
                        args.insert(
                            "_src_mode".into(),
                            format!("0{:o}", md.mode() & 0o7777).into(),
                        );
                    }
                }
                let id = AssetId::of(&bytes);
                assets.push((id, bytes));
                task.assets.insert("src".into(), id);
            } else {
                return fail(format!(
                    "Could not find or access '{src}'\nSearched in:\n\t{}\n on the Ansible Controller.\nIf you are using a module and expect the file to exist on the remote, see the remote_src option",
                    path.display()
                ));
            }
        }
    }
    let check = kw(r, s, "check_mode", vars).map(|v| truthy(&v));
    let diff = kw(r, s, "diff", vars).map(|v| truthy(&v));
    task.args = args;
    task.check_mode = check;
    task.diff = diff;
    match environment(r, s, vars) {
        Ok(env) => task.environment = env,
        Err(e) => return fail(e),
    }
    let play = PlayPlan {
        name: String::new(),
        tasks: Vec::new(),
        handlers: Vec::new(),
        check_mode: None,
        diff: None,
    };
    let opts = RunOptions {
        check: r.cfg.check,
        diff: r.cfg.diff,
        verbosity: r.cfg.verbosity,
    };
    let limit = async_limit(r, s, vars);
    if limit > 0 && !opts.check {
        let exe = match std::env::current_exe() {
            Ok(e) => e,
            Err(e) => return fail(format!("could not start the async job: {e}")),
        };
        return match rustle_runner::asyncjob::start(
            &task,
            assets,
            &opts,
            limit,
            &exe,
            &["__async-job"],
        ) {
            Ok(v) => done(v),
            Err(e) => fail(e.to_string()),
        };
    }
    let timeout = task_timeout(r, s, vars);
    if timeout > 0 {
        if r.target.is_some() {
            return action_fail(
                "rustle does not apply the task timeout keyword over ssh yet (only on connection: local hosts)",
            );
        }
        return run_with_timeout(s, &task, assets, &opts, timeout);
    }
    let _ = play;
    let (status, result) = match run_engine(r, &task, assets, &opts) {
        Ok(r) => r,
        Err(res) => return done(res),
    };
    let mut v = result.to_json();
    if status == Status::Skipped {
        if let Value::Object(m) = &mut v {
            m.insert("skipped".into(), Value::Bool(true));
            // An action plugin's refusal never reaches the executor's
            // "set the failed property" step.
            let by_action = rustle_runner::modules::lookup(module)
                .is_some_and(|m| m.check_refusal() == rustle_runner::modules::CheckRefusal::Action);
            if by_action {
                m.remove("failed");
                m.insert(AS_IS.into(), Value::Bool(true));
            }
        }
    }
    done(v)
}

/// The task's `environment`: the play's, its blocks' and its own values
/// merged in that order, each key templated. As Ansible, a key whose value
/// needs `ansible_env` (not known before facts) is left out.
pub(crate) fn environment(
    r: &Runner<'_>,
    s: &Scheduled,
    vars: &Arc<dyn Vars>,
) -> Result<std::collections::BTreeMap<String, String>, String> {
    let levels = s
        .parents
        .iter()
        .filter_map(|b| b.attrs.get("environment"))
        .chain(s.task.attrs.get("environment"));
    let mut items: Vec<&Value> = Vec::new();
    for v in levels {
        match v {
            Value::Array(a) => items.extend(a),
            Value::Null => {}
            other => items.push(other),
        }
    }
    let mut env = std::collections::BTreeMap::new();
    for item in items {
        let map = match item {
            Value::Object(m) => m.clone(),
            other => match r.templar.template(other, vars) {
                Ok(Value::Object(m)) => m,
                // Ansible skips it with a warning (not shown here yet: the
                // module path has no mutable callback).
                Ok(_) => continue,
                Err(e) => return Err(e.to_string()),
            },
        };
        for (k, v) in map {
            match r.templar.template(&v, vars) {
                Ok(t) => {
                    env.insert(k, value_to_string(&strip_unsafe(&t)));
                }
                Err(e) if e.is_undefined() && e.to_string().contains("ansible_env") => {}
                Err(e) => return Err(e.to_string()),
            }
        }
    }
    Ok(env)
}

/// A task keyword, inherited from the enclosing blocks, templated.
/// Whether the task or a block around it sets `key` (before paying for
/// its variables to template it).
pub(crate) fn has_kw(s: &Scheduled, key: &str) -> bool {
    s.task.attrs.contains(key) || s.parents.iter().any(|b| b.attrs.contains(key))
}

pub(crate) fn kw(r: &Runner<'_>, s: &Scheduled, key: &str, vars: &Arc<dyn Vars>) -> Option<Value> {
    let v = s
        .task
        .attrs
        .get(key)
        .or_else(|| s.parents.iter().rev().find_map(|b| b.attrs.get(key)))?;
    Some(r.templar.template(v, vars).unwrap_or_else(|_| v.clone()))
}
