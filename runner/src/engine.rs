//! Executes one host's plan: tasks in order, handlers at the end of each
//! play, results streamed to an [`EventSink`] as each task completes.

use rustle_bundle::{HostPlan, PlayPlan, Task};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::modules::{self, AssetSource, Check, CheckSupport, Context};
use crate::result::ModuleResult;

/// Run-wide switches (`--check`, `--diff`, `-v`).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct RunOptions {
    pub check: bool,
    pub diff: bool,
    pub verbosity: u8,
}

/// How a task ended for a host, as the callback reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Changed,
    Skipped,
    Failed,
    /// Failed, with `ignore_errors`.
    Ignored,
}

/// Per-host counters of the PLAY RECAP.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostStats {
    pub ok: u32,
    pub changed: u32,
    pub unreachable: u32,
    pub failed: u32,
    pub skipped: u32,
    pub rescued: u32,
    pub ignored: u32,
}

impl HostStats {
    /// Counts one task result as Ansible's strategy does.
    pub fn count(&mut self, status: Status, changed: bool) {
        match status {
            Status::Ok | Status::Changed => {
                self.ok += 1;
                if changed {
                    self.changed += 1;
                }
            }
            Status::Skipped => self.skipped += 1,
            Status::Failed => self.failed += 1,
            Status::Ignored => {
                self.ok += 1;
                self.ignored += 1;
                if changed {
                    self.changed += 1;
                }
            }
        }
    }
}

/// What the engine reports while it runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Event {
    PlayStart {
        name: String,
    },
    TaskStart {
        name: String,
        module: String,
        handler: bool,
    },
    TaskDone {
        host: String,
        name: String,
        module: String,
        handler: bool,
        status: Status,
        /// The result as registered (already censored for `no_log`).
        result: ModuleResult,
    },
    HostDone {
        host: String,
        stats: HostStats,
    },
}

/// Receives events; the CLI renders them, `serve` frames them.
pub trait EventSink {
    fn event(&mut self, ev: &Event);
}

const NO_LOG_MSG: &str =
    "the output has been hidden due to the fact that 'no_log: true' was specified for this result";

/// Runs one task and classifies its result.
pub fn run_task(
    task: &Task,
    play: &PlayPlan,
    source: &dyn AssetSource,
    opts: &RunOptions,
    vars: &Map<String, Value>,
) -> (Status, ModuleResult) {
    let check_mode = task.check_mode.or(play.check_mode).unwrap_or(opts.check);
    let diff = task.diff.or(play.diff).unwrap_or(opts.diff);
    let mut result = match modules::lookup(&task.module) {
        None => ModuleResult::failed(format!(
            "The module {} was not found in configured module paths",
            task.module
        )),
        Some(m) => {
            let caps = m.capabilities();
            if check_mode && caps.check_mode == CheckSupport::None {
                let mut r = ModuleResult::ok().with_msg(m.check_refusal().msg(m.name()));
                r.skipped = true;
                r
            } else {
                match m.spec().validate(m.name(), &task.args) {
                    Err(e) => e.into_result(),
                    Ok(args) => {
                        let ctx = Context {
                            args,
                            assets: &task.assets,
                            source,
                            check_mode,
                            diff,
                            environment: &task.environment,
                            vars,
                            verbosity: opts.verbosity,
                        };
                        match m.check(&ctx) {
                            Err(e) => e.into_result(),
                            Ok(Check::Done(r)) => r,
                            Ok(Check::Change { predicted, .. }) if check_mode => predicted,
                            Ok(Check::Change { action, .. }) => {
                                action.apply(&ctx).unwrap_or_else(|e| e.into_result())
                            }
                        }
                    }
                }
            }
        }
    };
    // Ansible's action layer adds `stdout_lines`/`stderr_lines` to any
    // module result with `stdout`/`stderr`.
    for (k, lines) in [("stdout", "stdout_lines"), ("stderr", "stderr_lines")] {
        if !result.extra.contains_key(lines) {
            if let Some(Value::String(text)) = result.extra.get(k) {
                let v: Vec<Value> = text.lines().map(Value::from).collect();
                result.extra.insert(lines.to_owned(), Value::Array(v));
            }
        }
    }
    // Most modules return a diff only in diff mode; the few that always
    // return one (as their Ansible counterparts do) keep it.
    let keeps_diff = modules::lookup(&task.module).is_some_and(|m| m.keeps_diff());
    if !diff && !keeps_diff {
        result.extra.remove("diff");
    }
    // Ansible's task executor adds the line lists to any result with
    // string stdout/stderr.
    for (k, lines) in [("stdout", "stdout_lines"), ("stderr", "stderr_lines")] {
        if result.extra.contains_key(lines) {
            continue;
        }
        if let Some(Value::String(s)) = result.extra.get(k) {
            let l: Vec<Value> = s.lines().map(|x| Value::from(x.to_owned())).collect();
            result.extra.insert(lines.to_owned(), Value::Array(l));
        }
    }
    let status = if result.failed {
        if task.ignore_errors {
            Status::Ignored
        } else {
            Status::Failed
        }
    } else if result.skipped {
        Status::Skipped
    } else if result.changed {
        Status::Changed
    } else {
        Status::Ok
    };
    if task.no_log {
        let mut censored = ModuleResult {
            changed: result.changed,
            failed: result.failed,
            skipped: result.skipped,
            ..Default::default()
        };
        censored.set("censored", NO_LOG_MSG);
        result = censored;
    }
    (status, result)
}

/// Runs every play of `host` and returns its stats.
pub fn run_host(
    host: &HostPlan,
    source: &dyn AssetSource,
    opts: &RunOptions,
    sink: &mut dyn EventSink,
) -> HostStats {
    let mut stats = HostStats::default();
    let mut vars = Map::new();
    let mut failed = false;
    for play in &host.plays {
        sink.event(&Event::PlayStart {
            name: play.name.clone(),
        });
        if failed {
            continue;
        }
        let mut notified: Vec<String> = Vec::new();
        for task in &play.tasks {
            let (status, changed) = one(host, task, play, false, source, opts, &mut vars, sink);
            stats.count(status, changed);
            if changed && matches!(status, Status::Changed | Status::Ignored) {
                notified.extend(task.notify.iter().cloned());
            }
            if status == Status::Failed {
                failed = true;
                break;
            }
        }
        if failed {
            continue;
        }
        for handler in &play.handlers {
            let hit = notified
                .iter()
                .any(|n| *n == handler.name || handler.listen.contains(n));
            if !hit {
                continue;
            }
            let (status, changed) = one(host, handler, play, true, source, opts, &mut vars, sink);
            stats.count(status, changed);
            if status == Status::Failed {
                failed = true;
                break;
            }
        }
    }
    sink.event(&Event::HostDone {
        host: host.name.clone(),
        stats,
    });
    stats
}

#[allow(clippy::too_many_arguments)]
fn one(
    host: &HostPlan,
    task: &Task,
    play: &PlayPlan,
    handler: bool,
    source: &dyn AssetSource,
    opts: &RunOptions,
    vars: &mut Map<String, Value>,
    sink: &mut dyn EventSink,
) -> (Status, bool) {
    sink.event(&Event::TaskStart {
        name: task.name.clone(),
        module: task.module.clone(),
        handler,
    });
    let (status, result) = run_task(task, play, source, opts, vars);
    let changed = result.changed;
    if let Some(name) = &task.register {
        vars.insert(name.clone(), result.to_json());
    }
    sink.event(&Event::TaskDone {
        host: host.name.clone(),
        name: task.name.clone(),
        module: task.module.clone(),
        handler,
        status,
        result,
    });
    (status, changed)
}
