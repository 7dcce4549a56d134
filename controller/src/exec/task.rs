//! Running one task for a batch of hosts: tags, conditionals, loops,
//! argument templating, the module or action, `changed_when`/`failed_when`,
//! `until`, `register`, `notify`, `ignore_errors`, output and stats.

use std::collections::BTreeMap;
use std::sync::Arc;

use rustle_runner::engine::Status;
use rustle_template::{Overlay, Vars};
use serde_json::{json, Map, Value};

use super::callback::Outcome;
use super::iter::{HostCursor, Scheduled};
use super::{actions, tags, truthy, value_to_string, PlayRun, Runner, Strategy};
use crate::playbook::error::{ParseError, SrcPos};
use crate::playbook::model::Attr;
use crate::playbook::{Block, Play};

/// What the executor does with a host after its task.
pub(crate) enum Flow {
    Continue,
    /// Dynamic include: run these items next.
    Include(Block),
    /// meta: end_host / end_play / end_batch.
    EndHost,
    EndPlay,
    EndBatch,
    /// meta: end_role.
    EndRole,
    /// meta: clear_host_errors.
    ClearHostErrors,
    FlushHandlers,
}

/// A finished task for one host.
pub(crate) struct Done {
    pub result: Value,
    pub outcome: Outcome,
    pub ignored: bool,
    pub flow: Flow,
    /// Whether to show the result line (meta and includes show their own).
    pub show: bool,
    pub verbose_always: bool,
    /// Extra `ok` counts (an include with a loop counts once per item).
    pub extra_ok: u32,
}

impl Done {
    /// A shown failure with `msg` (ignored under `ignore_errors`).
    fn failure(msg: String, ignored: bool) -> Done {
        Done {
            result: failed(msg),
            outcome: Outcome::Failed,
            ignored,
            flow: Flow::Continue,
            show: true,
            verbose_always: false,
            extra_ok: 0,
        }
    }
}

fn task_title(r: &Runner<'_>, pr: &PlayRun, s: &Scheduled) -> String {
    let raw = s.task.name().map(str::to_owned);
    let name = match raw {
        None if s.task.module == "include_role" => {
            let role = s
                .task
                .args
                .get("name")
                .map(value_to_string)
                .unwrap_or_default();
            return format!("{} : {}", s.task.action, role);
        }
        Some(n) if n.contains("{{") || n.contains("{%") => {
            // Templated with play-level variables only; left raw if that
            // is not enough (as Ansible does).
            let vars: Arc<dyn Vars> = Arc::new(Overlay {
                base: Arc::new(pr.scope.play_vars.clone()),
                extra: pr.scope.extra_vars.clone(),
            });
            r.templar
                .template(&Value::String(n.clone()), &vars)
                .map(|v| value_to_string(&v))
                .unwrap_or(n)
        }
        Some(n) => n,
        None => s.task.action.clone(),
    };
    with_role_prefix(s, name)
}

/// `role : name` for a task inside a role, as Task.get_name().
fn with_role_prefix(s: &Scheduled, name: String) -> String {
    let role = s
        .task
        .role
        .as_ref()
        .or_else(|| s.parents.iter().rev().find_map(|b| b.role.as_ref()));
    match role {
        Some(r) => format!("{} : {}", r.name, name),
        None => name,
    }
}

/// Whether a meta task runs once for the batch (the linear strategy runs
/// all but these once, on the first host).
fn meta_runs_once(s: &Scheduled) -> bool {
    let what = s
        .task
        .args
        .get("_raw_params")
        .map(value_to_string)
        .unwrap_or_default();
    !matches!(
        what.trim(),
        "noop" | "reset_connection" | "end_host" | "role_complete" | "flush_handlers" | "end_role"
    )
}

/// The innermost role instance around a task: (identity, allows
/// duplicates).
fn innermost_role(s: &Scheduled) -> Option<(String, bool)> {
    s.parents.iter().rev().find_map(|b| {
        let id = b.attrs.get("_role_ident")?.as_str()?.to_owned();
        Some((id, b.attrs.get("_role_allow_dup").is_some_and(truthy)))
    })
}

/// Tracks each host's role instances (a role is complete for a host once
/// it leaves it having run a task there, as Ansible's role_complete) and
/// drops the hosts whose task belongs to a completed role.
fn skip_roles_done(
    r: &mut Runner<'_>,
    cursors: &mut BTreeMap<String, HostCursor>,
    batch: Vec<(String, Scheduled)>,
) -> Vec<(String, Scheduled)> {
    let mut keep = Vec::new();
    for (h, s) in batch {
        if s.task.handler {
            keep.push((h, s));
            continue;
        }
        // A role instance is a role block, told apart by where it was
        // written; nothing to do while the host stays in the same ones.
        let unchanged = r.role_chains.get(&h).is_some_and(|old| {
            old.iter().map(|(_, p)| p).eq(s
                .parents
                .iter()
                .filter(|b| b.attrs.contains("_role_ident"))
                .map(|b| &b.pos))
        });
        if !unchanged {
            let chain: Vec<(String, SrcPos)> = s
                .parents
                .iter()
                .filter_map(|b| {
                    let id = b.attrs.get("_role_ident")?.as_str()?.to_owned();
                    Some((id, b.pos.clone()))
                })
                .collect();
            let old = r.role_chains.remove(&h).unwrap_or_default();
            for inst in old {
                if !chain.contains(&inst) && r.roles_ran.contains(&(h.clone(), inst.0.clone())) {
                    r.roles_done.insert((h.clone(), inst.0));
                }
            }
            r.role_chains.insert(h.clone(), chain);
        }
        let skip = innermost_role(&s)
            .is_some_and(|(id, dup)| !dup && r.roles_done.contains(&(h.clone(), id)));
        if skip {
            if let Some(c) = cursors.get_mut(&h) {
                c.advance();
            }
        } else {
            keep.push((h, s));
        }
    }
    keep
}

/// A task as `--step` names it: its name untemplated (or its action),
/// after its role's.
fn step_name(s: &Scheduled) -> String {
    let name = s
        .task
        .name()
        .map(str::to_owned)
        .unwrap_or_else(|| s.task.action.clone());
    with_role_prefix(s, name)
}

/// Runs the batch's task on each of its hosts.
pub(crate) fn run_batch(
    r: &mut Runner<'_>,
    pr: &mut PlayRun,
    play: &Play,
    cursors: &mut BTreeMap<String, HostCursor>,
    batch: Vec<(String, Scheduled)>,
) -> Result<Step, u8> {
    let mut step = Step::default();
    let Some((_, first)) = batch.first() else {
        return Ok(step);
    };
    let mut tags = tags::task_tags(first);
    tags.extend(tags::play_tags(play));
    // Tags may be templated (with play-level variables).
    if tags.iter().any(|t| t.contains("{{")) {
        let vars: Arc<dyn Vars> = Arc::new(Overlay {
            base: Arc::new(pr.scope.play_vars.clone()),
            extra: pr.scope.extra_vars.clone(),
        });
        tags = tags::render(&r.templar, tags, &vars);
    }
    // Notified handlers run whatever the tags.
    if !first.task.handler && !tags::allow(&tags, &r.cfg.tags, &r.cfg.skip_tags) {
        for (h, _) in &batch {
            if let Some(c) = cursors.get_mut(h) {
                c.advance();
            }
        }
        return Ok(step);
    }
    // A role that already ran on a host is not run there again (unless it
    // allows duplicates): its tasks are passed over without a word.
    let batch = skip_roles_done(r, cursors, batch);
    let Some((_, first)) = batch.first() else {
        return Ok(step);
    };
    let is_meta = first.task.module == "meta";
    // --step: asked before each task (meta tasks aside), with the name as
    // written (not yet templated).
    if r.step && !is_meta {
        let name = step_name(first);
        let kind = if first.task.handler {
            "HANDLER"
        } else {
            "TASK"
        };
        let host = match r.strategy {
            Strategy::Linear => None,
            _ => Some(batch[0].0.as_str()),
        };
        match r.take_step(&format!("{kind}: {name}"), host) {
            Some(true) => {}
            answer => {
                for (h, _) in &batch {
                    if let Some(c) = cursors.get_mut(h) {
                        c.advance();
                    }
                }
                // No answer at all (end of input) breaks off the play.
                if answer.is_none() {
                    pr.ended = true;
                    pr.broken = true;
                }
                return Ok(step);
            }
        }
    }
    step.ran = true;
    if !is_meta {
        // Under free and host_pinned one task reaches the hosts in several
        // steps: its banner shows again only when another task came between.
        let id = (first.task.pos.to_string(), first.key.clone());
        if r.strategy == Strategy::Linear || r.last_banner.as_ref() != Some(&id) {
            let title = task_title(r, pr, first);
            r.cb.task_start(
                &title,
                first.task.handler,
                Some(&first.task.pos),
                shown_args(&first.task),
            );
        }
        r.last_banner = Some(id);
    }
    // run_once: the first host runs it; the others take its registered
    // result and move on.
    // The first host's variables template the batch-wide keywords.
    let first_vars = r.task_vars(pr, &batch[0].0, first, Map::new());
    let run_once = kw_bool(r, first, "run_once", &first_vars).unwrap_or(false);
    // Most meta actions run once, for the first host, acting on them all.
    let run_once = run_once || (is_meta && meta_runs_once(first));
    let run_once = if run_once && r.strategy != Strategy::Linear && !is_meta {
        r.cb.warning("Using run_once with the free strategy is not currently supported. This task will still be executed for every host in the inventory list.");
        false
    } else {
        run_once
    };
    // A failure of an any_errors_fatal (or run_once) task that is not
    // ignored fails every host of the play (the linear strategy's rule).
    {
        let ignore = kw_bool(r, first, "ignore_errors", &first_vars).unwrap_or(false);
        let fatal = kw_bool(r, first, "any_errors_fatal", &first_vars).unwrap_or(false);
        if fatal && r.strategy != Strategy::Linear {
            r.cb.warning("Using any_errors_fatal with the free strategy is not supported, as tasks are executed independently on each host");
        }
        step.fatal = (fatal || (run_once && !is_meta)) && !ignore && r.strategy == Strategy::Linear;
    }
    let (batch, others): (Vec<_>, Vec<_>) = if run_once && batch.len() > 1 {
        let mut b = batch;
        let rest = b.split_off(1);
        (b, rest)
    } else {
        (batch, Vec::new())
    };
    let once_host = batch.first().map(|(h, _)| h.clone());
    // Facts a run_once task returns apply to every host of the batch.
    let mut once_facts: Option<Value> = None;
    let batch_register = first_register(&batch);
    let once_module = batch
        .first()
        .map(|(_, s)| rustle_runner::modules::canonical_name(&s.task.module).to_owned())
        .unwrap_or_default();
    let mut included: Vec<(String, String, Block)> = Vec::new();
    let mut flush = false;
    for (host, sched) in batch {
        // An explicit meta task shows its banner for each host it runs on.
        if is_meta {
            let title = task_title(r, pr, &sched);
            r.cb.task_start(
                &title,
                sched.task.handler,
                Some(&sched.task.pos),
                shown_args(&sched.task),
            );
        }
        // The task's own `diff:` shows (or hides) its diffs.
        r.cb.task_diff = if actions::has_kw(&sched, "diff") {
            let vars = r.task_vars(pr, &host, &sched, Map::new());
            kw_bool(r, &sched, "diff", &vars)
        } else {
            None
        };
        let done = run_host_task(r, pr, play, &host, &sched)?;
        if run_once {
            once_facts = done.result.get("ansible_facts").cloned();
        }
        let changed = done
            .result
            .get("changed")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let failed = done.outcome == Outcome::Failed;
        let unreachable = done.outcome == Outcome::Unreachable;
        if !matches!(done.outcome, Outcome::Skipped | Outcome::Unreachable) {
            if let Some((id, _)) = innermost_role(&sched) {
                r.roles_ran.insert((host.clone(), id));
            }
        }
        let mut done = done;
        if unreachable {
            // ignore_unreachable, not ignore_errors, covers it.
            let vars = r.task_vars(pr, &host, &sched, Map::new());
            done.ignored = kw_bool(r, &sched, "ignore_unreachable", &vars).unwrap_or(false);
        }
        if (failed || unreachable) && !done.ignored {
            step.failed.push(host.clone());
        }
        if !is_meta {
            record(r, pr, &host, &sched, &done);
        }
        if !failed {
            custom_stats(r, &host, &done.result);
        }
        // Notify handlers (announced at -vv before the result, as
        // Ansible's strategy saves notifications before the callback).
        if changed && !failed {
            r.adopt_pending_handlers(pr);
            for n in notify(r, pr, &host, &sched) {
                r.cb.vv(&format!("Notification for handler {n} has been saved."));
            }
        }
        if done.show {
            let delegated = r.delegate_of(pr, &host, &sched);
            r.cb.result(
                &host,
                done.outcome,
                &done.result,
                &sched.task.module,
                done.ignored,
                delegated.as_deref(),
                done.verbose_always,
            );
        } else if failed && done.ignored {
            // A loop's items are already shown; the callback still notes
            // that the task's failure was ignored.
            r.cb.ignoring();
        }
        // Stats.
        if !is_meta {
            let st = r.stats.entry(host.clone()).or_default();
            match done.outcome {
                Outcome::Failed if done.ignored => st.count(Status::Ignored, changed),
                Outcome::Failed => {
                    let cursor = cursors.get(&host);
                    if cursor.is_some_and(HostCursor::will_rescue) {
                        st.rescued += 1;
                    } else {
                        st.failed += 1;
                    }
                }
                Outcome::Skipped => st.count(Status::Skipped, false),
                Outcome::Unreachable if done.ignored => st.count(Status::Ignored, false),
                Outcome::Unreachable => st.unreachable += 1,
                Outcome::Ok | Outcome::Changed => st.count(Status::Ok, changed),
            }
            st.ok += done.extra_ok;
        }
        let Some(cursor) = cursors.get_mut(&host) else {
            continue;
        };
        if unreachable && !done.ignored {
            // Out of the play at once: no rescue, no always.
            r.unreachable_hosts.insert(host.clone());
            cursor.end();
            cursor.failed = true;
            continue;
        }
        if failed && !done.ignored {
            if cursor.will_rescue() {
                // ansible_failed_task / ansible_failed_result for the rescue.
                if let Ok(mut s) = r.states.write() {
                    if let Some(st) = s.get_mut(&host) {
                        st.set_facts
                            .insert("ansible_failed_result".into(), done.result.clone());
                        st.set_facts.insert(
                            "ansible_failed_task".into(),
                            json!({"name": sched.task.name().unwrap_or_default(), "action": sched.task.action}),
                        );
                    }
                }
            }
            cursor.fail();
            continue;
        }
        match done.flow {
            Flow::Continue => cursor.advance(),
            Flow::Include(block) => {
                let file = block
                    .attrs
                    .get("_included_file")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                included.push((host.clone(), file, block.clone()));
                cursor.insert(block);
            }
            Flow::EndHost => cursor.end(),
            Flow::EndPlay => {
                pr.ended = true;
                cursor.end();
            }
            Flow::EndRole => {
                if !cursor.end_role() {
                    cursor.advance();
                }
            }
            Flow::EndBatch => {
                pr.ended = true;
                pr.batch_ended = true;
                cursor.end();
            }
            Flow::ClearHostErrors => {
                cursor.advance();
                // Failed hosts of the play count as failed no more (those
                // done stay done in this play).
                for c in cursors.values_mut() {
                    c.failed = false;
                }
                for h in &pr.hosts {
                    r.failed_hosts.remove(h);
                    r.marked_failed.remove(h);
                }
            }
            Flow::FlushHandlers => {
                cursor.advance();
                flush = true;
            }
        }
    }
    // Every host of the batch reaches flush_handlers, then the handlers run
    // (in lockstep, as Ansible's iterator switches each host to them).
    if flush {
        let before = r.failed_hosts.clone();
        r.flush_handlers(pr, play)?;
        // A handler failing during a flush fails the host where it stands:
        // inside a block, its rescue takes over.
        let newly: Vec<String> = r
            .failed_hosts
            .iter()
            .filter(|h| !before.contains(*h) && cursors.contains_key(*h))
            .cloned()
            .collect();
        for h in newly {
            let Some(c) = cursors.get_mut(&h) else {
                continue;
            };
            if c.will_rescue() {
                c.fail();
                r.failed_hosts.remove(&h);
                if let Ok(mut removed) = pr.scope.removed.write() {
                    removed.retain(|x| x != &h);
                }
                let st = r.stats.entry(h.clone()).or_default();
                st.failed = st.failed.saturating_sub(1);
                st.rescued += 1;
            }
        }
    }
    // A run_once task's registered value and facts reach every host of the
    // play (not only those at the task: an include may have been run once).
    if let (Some(src), true) = (once_host, run_once) {
        let reg = batch_register;
        let targets: Vec<String> = pr
            .hosts
            .iter()
            .filter(|h| **h != src && !r.unreachable_hosts.contains(*h))
            .cloned()
            .collect();
        if let Ok(mut st) = r.states.write() {
            let value = reg
                .as_ref()
                .and_then(|n| st.get(&src).and_then(|h| h.set_facts.get(n).cloned()));
            let fact_module = matches!(once_module.as_str(), "set_fact" | "include_vars");
            for h in &targets {
                let Some(hs) = st.get_mut(h) else { continue };
                if let (Some(n), Some(v)) = (&reg, &value) {
                    hs.set_facts.insert(n.clone(), v.clone());
                }
                if let Some(Value::Object(facts)) = &once_facts {
                    for (k, v) in facts {
                        if fact_module {
                            hs.set_facts.insert(k.clone(), v.clone());
                        } else {
                            // Module facts are kept without their prefix.
                            let k = k.strip_prefix("ansible_").unwrap_or(k);
                            hs.facts.insert(k.to_owned(), v.clone());
                        }
                    }
                }
            }
        }
        for (h, _) in &others {
            if let Some(c) = cursors.get_mut(h) {
                c.advance();
            }
        }
    }
    for (h, f, _) in included {
        r.pending_included.push((f, None, h));
    }
    // `included: file for h1, h2 [=> (item=...)]`, once all hosts are done:
    // one line per file and item, hosts grouped, in the order they came.
    let mut files: Vec<(String, Option<Value>, Vec<String>)> = Vec::new();
    for (f, item, h) in std::mem::take(&mut r.pending_included) {
        if f.is_empty() {
            continue;
        }
        match files.iter_mut().find(|(ff, it, _)| *ff == f && *it == item) {
            Some((_, _, hs)) => hs.push(h),
            None => files.push((f, item, vec![h])),
        }
    }
    for (f, item, hs) in files {
        r.cb.included(&f, &hs, item.as_ref());
    }
    Ok(step)
}

/// What one lockstep step (a task on the hosts at it) left behind, for the
/// strategy's checks after it.
#[derive(Debug, Default)]
pub(crate) struct Step {
    /// The task ran (it was not left out by tags).
    pub ran: bool,
    /// Hosts whose result failed (not ignored) or was unreachable.
    pub failed: Vec<String>,
    /// A failure fails every host of the play.
    pub fatal: bool,
}

/// Tells the callback a host's final result (the json callback keeps it).
fn record(r: &mut Runner<'_>, pr: &PlayRun, host: &str, sched: &Scheduled, done: &Done) {
    if !r.cb.is_json() {
        return;
    }
    let no_log = {
        let vars = r.task_vars(pr, host, sched, Map::new());
        kw_bool(r, sched, "no_log", &vars).unwrap_or(false)
    };
    let module = rustle_runner::modules::canonical_name(&sched.task.module);
    r.cb.record(&super::json_out::Recorded {
        host,
        outcome: done.outcome,
        result: &done.result,
        action: &sched.task.action,
        no_log,
        verbose_always: done.verbose_always,
        is_loop: done.result.get("results").is_some() && sched.task.attrs.get("loop").is_some(),
        is_include: done.outcome != Outcome::Skipped
            && matches!(
                module,
                "include_tasks" | "include_role" | "import_tasks" | "import_role"
            ),
    });
}

/// `set_stats` data (`ansible_stats` in a result) into the run's custom
/// stats, as the strategy does: per host or for the run, aggregated
/// (dicts merged, numbers, strings and lists added) or set.
fn custom_stats(r: &mut Runner<'_>, host: &str, result: &Value) {
    // A loop's items each bring their own.
    if let Some(Value::Array(items)) = result.get("results") {
        for item in items.clone() {
            if item.get("failed").and_then(Value::as_bool) != Some(true) {
                custom_stats(r, host, &item);
            }
        }
        return;
    }
    let Some(stats) = result.get("ansible_stats") else {
        return;
    };
    let Some(data) = stats.get("data").and_then(Value::as_object) else {
        return;
    };
    if data.is_empty() {
        return;
    }
    let per_host = stats.get("per_host").is_none_or(truthy);
    let aggregate = stats.get("aggregate").is_some_and(truthy);
    let key = if per_host { host } else { "_run" };
    let entry =
        r.cb.custom_stats
            .entry(key.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(entry) = entry else { return };
    for (k, v) in data {
        match (entry.get_mut(k), aggregate) {
            (Some(old), true) => {
                if let Some(sum) = aggregate_stat(old, v) {
                    *old = sum;
                }
            }
            _ => {
                entry.insert(k.clone(), v.clone());
            }
        }
    }
}

/// `old += new` for a custom stat (`None` when the types differ, which
/// Ansible ignores).
fn aggregate_stat(old: &Value, new: &Value) -> Option<Value> {
    match (old, new) {
        (Value::Object(_), Value::Object(_)) => Some(aggregate_dicts(old, new)),
        (Value::Array(a), Value::Array(b)) => Some(Value::Array([a.clone(), b.clone()].concat())),
        (Value::String(a), Value::String(b)) => Some(Value::from(format!("{a}{b}"))),
        (Value::Number(a), Value::Number(b)) if a.is_f64() && b.is_f64() => {
            Some(Value::from(a.as_f64()? + b.as_f64()?))
        }
        (Value::Number(a), Value::Number(b)) if !a.is_f64() && !b.is_f64() => {
            Some(Value::from(a.as_i64()? + b.as_i64()?))
        }
        _ => None,
    }
}

/// `merge_hash`: recursive dict merge (new values win).
fn aggregate_dicts(a: &Value, b: &Value) -> Value {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut m = x.clone();
            for (k, v) in y {
                let merged = match m.get(k) {
                    Some(old) => aggregate_dicts(old, v),
                    None => v.clone(),
                };
                m.insert(k.clone(), merged);
            }
            Value::Object(m)
        }
        _ => b.clone(),
    }
}

/// The task's `register` name.
fn register_name(s: &Scheduled) -> Option<String> {
    s.task
        .attrs
        .get("register")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// The `register` name of a batch's task.
fn first_register(batch: &[(String, Scheduled)]) -> Option<String> {
    batch.first().and_then(|(_, s)| register_name(s))
}

/// The arguments a task banner may show (none for a `no_log` task).
fn shown_args(task: &crate::playbook::Task) -> Option<&Map<String, Value>> {
    match task.attrs.get("no_log") {
        Some(v) if crate::exec::truthy(v) => None,
        _ => Some(&task.args),
    }
}

/// Records the handlers a changed task notifies; returns the
/// notifications that named a handler.
fn notify(r: &Runner<'_>, pr: &mut PlayRun, host: &str, sched: &Scheduled) -> Vec<String> {
    let mut saved = Vec::new();
    let mut names: Vec<String> = match sched.task.attrs.get("notify") {
        Some(Value::Array(a)) => a.iter().map(value_to_string).collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    };
    for b in sched.parents.iter().rev() {
        if let Some(v) = b.attrs.get("notify") {
            match v {
                Value::Array(a) => names.extend(a.iter().map(value_to_string)),
                Value::String(s) => names.push(s.clone()),
                _ => {}
            }
        }
    }
    // `notify` is templated with the task's variables (a template may
    // give a list of names).
    if names.iter().any(|n| n.contains("{{") || n.contains("{%")) {
        let tv = r.task_vars(pr, host, sched, Map::new());
        names = names
            .into_iter()
            .flat_map(|n| {
                if !(n.contains("{{") || n.contains("{%")) {
                    return vec![n];
                }
                match r.templar.template(&Value::String(n.clone()), &tv) {
                    Ok(Value::Array(a)) => a.iter().map(value_to_string).collect(),
                    Ok(v) => vec![value_to_string(&v)],
                    Err(_) => vec![n],
                }
            })
            .collect();
    }
    // Handler names may be templated (with play-level variables).
    let vars: Arc<dyn Vars> = Arc::new(Overlay {
        base: Arc::new(pr.scope.play_vars.clone()),
        extra: pr.scope.extra_vars.clone(),
    });
    let handler_names: Vec<Option<String>> = pr
        .handlers
        .iter()
        .map(|h| {
            h.name.as_ref().map(|n| {
                if n.contains("{{") {
                    r.templar
                        .template(&Value::String(n.clone()), &vars)
                        .map(|v| value_to_string(&v))
                        .unwrap_or_else(|_| n.clone())
                } else {
                    n.clone()
                }
            })
        })
        .collect();
    // Ansible searches handler blocks last loaded first (a role's handlers
    // are one block, the play's another), each block in order.
    let mut runs: Vec<Vec<usize>> = Vec::new();
    for (i, h) in pr.handlers.iter().enumerate() {
        match runs.last_mut() {
            Some(run) if pr.handlers[run[0]].role == h.role => run.push(i),
            _ => runs.push(vec![i]),
        }
    }
    let search: Vec<usize> = runs.into_iter().rev().flatten().collect();
    for n in names {
        let mut hit: Vec<usize> = Vec::new();
        // By name: the first handler found.
        if let Some(&i) = search.iter().find(|&&i| {
            let h = &pr.handlers[i];
            handler_names[i].as_deref() == Some(n.as_str())
                || h.role
                    .as_ref()
                    .is_some_and(|r| h.name.as_ref().is_some_and(|hn| format!("{r} : {hn}") == n))
        }) {
            hit.push(i);
        }
        // By topic: every listener (once per handler name); `role : topic`
        // reaches the listeners of that role only.
        let mut seen: Vec<&str> = Vec::new();
        for &i in &search {
            let h = &pr.handlers[i];
            let role_listen = n.split_once(" : ").is_some_and(|(role, topic)| {
                h.role
                    .as_deref()
                    .is_some_and(|r| r == role || r.rsplit('.').next() == Some(role))
                    && h.listen.iter().any(|l| l == topic)
            });
            if !(role_listen || h.listen.contains(&n)) {
                continue;
            }
            if let Some(name) = h.name.as_deref() {
                if seen.contains(&name) {
                    continue;
                }
                seen.push(name);
            }
            hit.push(i);
        }
        if !hit.is_empty() {
            saved.push(n.clone());
        }
        let list = pr.notified.entry(host.to_owned()).or_default();
        for i in hit {
            if !list.contains(&i) {
                list.push(i);
            }
        }
    }
    saved
}

/// The conditionals that apply: parents' `when` then the task's.
fn conditions(s: &Scheduled) -> Vec<Cond> {
    let mut out = Vec::new();
    for b in &s.parents {
        out.extend(split_conds(b.attrs.0.get("when")));
    }
    out.extend(split_conds(s.task.attrs.0.get("when")));
    out
}

/// One conditional and where it was written.
#[derive(Debug, Clone)]
pub(crate) struct Cond {
    value: Value,
    pos: Option<SrcPos>,
}

/// The conditionals of a keyword (a list is one per item).
fn split_conds(a: Option<&Attr>) -> Vec<Cond> {
    match a {
        Some(Attr {
            value: Value::Array(items),
            pos,
            item_pos,
        }) => items
            .iter()
            .enumerate()
            .map(|(i, v)| Cond {
                value: v.clone(),
                pos: Some(item_pos.get(i).unwrap_or(pos).clone()),
            })
            .collect(),
        Some(Attr {
            value: Value::Null, ..
        })
        | None => Vec::new(),
        Some(a) => vec![Cond {
            value: a.value.clone(),
            pos: Some(a.pos.clone()),
        }],
    }
}

/// Evaluates a `changed_when`/`failed_when`-style keyword: true when every
/// conditional holds; an error names the failing one and its position.
fn eval_conds(r: &Runner<'_>, a: &Attr, vars: &Arc<dyn Vars>) -> Result<bool, String> {
    for c in split_conds(Some(a)) {
        match r.templar.evaluate_conditional(&c.value, vars) {
            Ok(true) => {}
            Ok(false) => return Ok(false),
            Err(e) => return Err(cond_error(&c, &e)),
        }
    }
    Ok(true)
}

fn skipped_result(cond: &Value) -> Value {
    json!({
        "changed": false,
        "false_condition": cond,
        "skip_reason": "Conditional result was False",
        "skipped": true,
    })
}

/// The result of an error Ansible raises (TaskExecutor turns it into
/// `{failed, msg}` only).
fn raised(msg: impl Into<String>) -> Value {
    json!({"failed": true, "msg": msg.into(), actions::RAISED: true})
}

fn failed(msg: impl Into<String>) -> Value {
    json!({"changed": false, "failed": true, "msg": msg.into()})
}

/// Evaluates `when`; `Ok(None)` when all hold, `Ok(Some(cond))` with the
/// first false one.
fn check_when(
    r: &Runner<'_>,
    conds: &[Cond],
    vars: &Arc<dyn Vars>,
) -> Result<Option<Value>, String> {
    for c in conds {
        match r.templar.evaluate_conditional(&c.value, vars) {
            Ok(true) => {}
            Ok(false) => return Ok(Some(c.value.clone())),
            Err(e) => return Err(cond_error(c, &e)),
        }
    }
    Ok(None)
}

fn kw_bool(r: &Runner<'_>, s: &Scheduled, key: &str, vars: &Arc<dyn Vars>) -> Option<bool> {
    actions::kw(r, s, key, vars).map(|v| truthy(&v))
}

fn run_host_task(
    r: &mut Runner<'_>,
    pr: &mut PlayRun,
    play: &Play,
    host: &str,
    s: &Scheduled,
) -> Result<Done, u8> {
    r.use_search_path(s);
    let base_vars = r.task_vars(pr, host, s, Map::new());
    let conds = conditions(s);

    let ignore_errors = kw_bool(r, s, "ignore_errors", &base_vars).unwrap_or(false);
    let no_log = kw_bool(r, s, "no_log", &base_vars).unwrap_or(false);
    let done = |result: Value, outcome: Outcome| Done {
        result,
        outcome,
        ignored: false,
        flow: Flow::Continue,
        show: true,
        verbose_always: false,
        extra_ok: 0,
    };
    let loop_v = s.task.attrs.get("loop").cloned();
    let Some(loop_v) = loop_v else {
        // No loop.
        match check_when(r, &conds, &base_vars) {
            // A skipped or failed conditional is registered like any result.
            Ok(Some(c)) => {
                // A skipped task still registers its (skipped) result, as
                // the executor returned it (no `failed` key).
                let d = done(skipped_result(&c), Outcome::Skipped);
                if let Some(name) = s.task.attrs.get("register").and_then(Value::as_str) {
                    if let Ok(mut st) = r.states.write() {
                        if let Some(h) = st.get_mut(host) {
                            h.set_facts.insert(name.to_owned(), d.result.clone());
                        }
                    }
                }
                return Ok(d);
            }
            Ok(None) => {}
            Err(msg) => {
                let mut d = done(raised(msg), Outcome::Failed);
                register(r, host, s, &d.result);
                d.ignored = ignore_errors;
                return Ok(d);
            }
        }
        let mut d = execute(r, pr, play, host, s, &base_vars, None)?;
        let _ = actions::take_raised(&mut d.result);
        finish(r, host, s, &base_vars, &mut d, ignore_errors, no_log);
        return Ok(d);
    };
    // A loop: the list first, then `when` per item.
    let items = match loop_items(r, s, &loop_v, &base_vars) {
        Ok(items) => items,
        Err(msg) => {
            // As Ansible: a loop that cannot be templated is only an error
            // when the task's conditions (without the loop) hold.
            if let Ok(Some(c)) = check_when(r, &conds, &base_vars) {
                let mut d = done(skipped_result(&c), Outcome::Skipped);
                register(r, host, s, &d.result);
                d.show = true;
                return Ok(d);
            }
            // Raised by the executor: registered as `{failed, msg}`.
            let mut d = done(raised(msg), Outcome::Failed);
            register(r, host, s, &d.result);
            d.ignored = ignore_errors;
            return Ok(d);
        }
    };
    if matches!(s.task.module.as_str(), "include_tasks" | "include_role") {
        return include_loop(r, pr, play, host, s, items, &conds, ignore_errors);
    }
    let lc = s
        .task
        .attrs
        .get("loop_control")
        .cloned()
        .unwrap_or(Value::Null);
    let lc = r.templar.template(&lc, &base_vars).unwrap_or(lc);
    let loop_var = lc
        .get("loop_var")
        .and_then(Value::as_str)
        .unwrap_or("item")
        .to_owned();
    let index_var = lc
        .get("index_var")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let extended = lc.get("extended").is_some_and(truthy);
    let extended_allitems = lc.get("extended_allitems").is_none_or(truthy);
    let label_t = lc.get("label").cloned();
    let pause = lc.get("pause").and_then(Value::as_f64).unwrap_or(0.0);
    let mut results = Vec::new();
    let mut any_changed = false;
    let mut any_failed = false;
    let mut all_skipped = true;
    let n = items.len();
    let all_items = if extended { items.clone() } else { Vec::new() };
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 && pause > 0.0 {
            std::thread::sleep(std::time::Duration::from_secs_f64(pause));
        }
        let mut lv = Map::new();
        lv.insert(loop_var.clone(), item.clone());
        lv.insert("ansible_loop_var".into(), Value::from(loop_var.clone()));
        if let Some(iv) = &index_var {
            lv.insert(iv.clone(), Value::from(i));
            lv.insert("ansible_index_var".into(), Value::from(iv.clone()));
        }
        if extended {
            // Key order as the executor builds it (shown when printed).
            let mut al = json!({
                "index": i + 1, "index0": i, "first": i == 0, "last": i + 1 == n,
                "length": n, "revindex": n - i, "revindex0": n - i - 1,
            });
            if let Value::Object(m) = &mut al {
                if extended_allitems {
                    m.insert("allitems".into(), Value::Array(all_items.clone()));
                }
                if let Some(next) = all_items.get(i + 1) {
                    m.insert("nextitem".into(), next.clone());
                }
                if i > 0 {
                    m.insert("previtem".into(), all_items[i - 1].clone());
                }
            }
            lv.insert("ansible_loop".into(), al);
        }
        let vars = r.task_vars(pr, host, s, lv.clone());
        // An undefined label fails the item (after it ran); other label
        // errors are left as the raw label.
        let (label, label_error) = match &label_t {
            Some(t) => match r.templar.template(t, &vars) {
                Ok(l) => (l, None),
                Err(e) if e.is_undefined() => (Value::Null, Some(e.to_string())),
                Err(_) => (t.clone(), None),
            },
            None => (item.clone(), None),
        };
        // An error raised while preparing an item (its condition, its
        // arguments) ends the whole loop: the task fails with it.
        let raised = |msg: String| Done::failure(msg, ignore_errors);
        let mut d = match check_when(r, &conds, &vars) {
            Ok(Some(c)) => done(skipped_result(&c), Outcome::Skipped),
            Ok(None) => execute(r, pr, play, host, s, &vars, Some(&item))?,
            Err(msg) => {
                let d = raised(msg);
                register(r, host, s, &d.result);
                return Ok(d);
            }
        };
        // A host that cannot be reached ends the loop: the task's result
        // is the connection failure, without items.
        if d.outcome == Outcome::Unreachable {
            register(r, host, s, &d.result);
            return Ok(d);
        }
        if let Some(msg) = actions::take_raised(&mut d.result) {
            let mut d = raised(msg);
            // Kept marked: the final result is then registered as is.
            d.result =
                json!({"failed": true, "msg": d.result["msg"].clone(), actions::RAISED: true});
            register(r, host, s, &d.result);
            return Ok(d);
        }
        finish(r, host, s, &vars, &mut d, false, no_log);
        // An executed item gets the executor's `failed`/`changed` defaults.
        if let Value::Object(m) = &mut d.result {
            if !m.contains_key("skip_reason") && !m.contains_key(actions::AS_IS) {
                m.entry("failed").or_insert(Value::Bool(false));
                m.entry("changed").or_insert(Value::Bool(false));
            }
        }
        if let Some(e) = label_error {
            set_key(
                &mut d.result,
                "msg",
                Value::from(format!("Failed to template loop_control.label: {e}")),
            );
            set_key(&mut d.result, "failed", Value::Bool(true));
            d.outcome = Outcome::Failed;
        }
        if let Value::Object(m) = &mut d.result {
            m.insert(loop_var.clone(), item.clone());
            m.insert("ansible_loop_var".into(), Value::from(loop_var.clone()));
            if let Some(iv) = &index_var {
                m.insert(iv.clone(), Value::from(i));
                m.insert("ansible_index_var".into(), Value::from(iv.clone()));
            }
            if extended {
                if let Some(l) = lv.get("ansible_loop") {
                    m.insert("ansible_loop".into(), l.clone());
                }
            }
        }
        let display = if no_log {
            censored(&d.result)
        } else {
            d.result.clone()
        };
        // A censored item shows no label and no forced dump.
        let (label, verbose_always) = if no_log {
            (Value::Null, false)
        } else {
            (label, d.verbose_always)
        };
        r.cb.item(
            host,
            d.outcome,
            &display,
            &label,
            &s.task.module,
            verbose_always,
        );
        match d.outcome {
            Outcome::Skipped => {}
            Outcome::Failed => {
                all_skipped = false;
                any_failed = true;
            }
            _ => all_skipped = false,
        }
        if d.result.get("changed").and_then(Value::as_bool) == Some(true) {
            any_changed = true;
        }
        results.push(d.result);
    }
    let mut result = Map::new();
    result.insert("changed".into(), Value::Bool(any_changed));
    if any_failed {
        result.insert("failed".into(), Value::Bool(true));
        result.insert("msg".into(), Value::from("One or more items failed"));
    } else {
        result.insert("msg".into(), Value::from("All items completed"));
    }
    if all_skipped && n > 0 {
        result.insert("skipped".into(), Value::Bool(true));
        result.insert("msg".into(), Value::from("All items skipped"));
    }
    if n == 0 {
        result.remove("msg");
        result.insert("skipped".into(), Value::Bool(true));
        result.insert("skipped_reason".into(), Value::from("No items in the list"));
    }
    result.insert("results".into(), Value::Array(results));
    let result = Value::Object(result);
    register(r, host, s, &result);
    let outcome = if any_failed {
        Outcome::Failed
    } else if all_skipped {
        Outcome::Skipped
    } else if any_changed {
        Outcome::Changed
    } else {
        Outcome::Ok
    };
    if outcome == Outcome::Skipped {
        r.cb.loop_skipped(host);
    }
    let ignored = any_failed && ignore_errors;
    // The callback shows a failed loop by its items, except for debug:
    // cleaning its result down to `msg` drops the items, so the task's own
    // failure line appears.
    let debug_failed =
        any_failed && rustle_runner::modules::canonical_name(&s.task.module) == "debug";
    // Censored, the task's result has no items left: it shows as a task's.
    let (result, show) = if no_log && outcome != Outcome::Skipped {
        let mut c = censored(&result);
        if any_failed {
            set_key(&mut c, "failed", Value::Bool(true));
        }
        (c, true)
    } else {
        (result, debug_failed)
    };
    Ok(Done {
        result,
        outcome,
        ignored,
        flow: Flow::Continue,
        show,
        verbose_always: false,
        extra_ok: 0,
    })
}

/// An include in a loop: one inclusion per item, each seeing its item.
#[allow(clippy::too_many_arguments)]
fn include_loop(
    r: &mut Runner<'_>,
    pr: &mut PlayRun,
    play: &Play,
    host: &str,
    s: &Scheduled,
    items: Vec<Value>,
    conds: &[Cond],
    ignore_errors: bool,
) -> Result<Done, u8> {
    let lc = s
        .task
        .attrs
        .get("loop_control")
        .cloned()
        .unwrap_or(Value::Null);
    // loop_control is templated, as for any loop.
    let base_vars = r.task_vars(pr, host, s, Map::new());
    let lc = r.templar.template(&lc, &base_vars).unwrap_or(lc);
    let loop_var = lc
        .get("loop_var")
        .and_then(Value::as_str)
        .unwrap_or("item")
        .to_owned();
    let index_var = lc
        .get("index_var")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let mut blocks = Vec::new();
    let mut results: Vec<Value> = Vec::new();
    let mut count = 0u32;
    let mut any_skipped = false;
    for (i, item) in items.iter().enumerate() {
        let mut lv = Map::new();
        lv.insert(loop_var.clone(), item.clone());
        lv.insert("ansible_loop_var".into(), Value::from(loop_var.clone()));
        if let Some(iv) = &index_var {
            lv.insert(iv.clone(), Value::from(i));
            lv.insert("ansible_index_var".into(), Value::from(iv.clone()));
        }
        let vars = r.task_vars(pr, host, s, lv.clone());
        // Each item's result, as the executor's loop leaves it.
        let with_item = |mut res: Value| {
            if let Value::Object(m) = &mut res {
                m.insert(loop_var.clone(), item.clone());
                m.insert("ansible_loop_var".into(), Value::from(loop_var.clone()));
                if let Some(iv) = &index_var {
                    m.insert(iv.clone(), Value::from(i));
                    m.insert("ansible_index_var".into(), Value::from(iv.clone()));
                }
                m.insert("_ansible_item_label".into(), item.clone());
            }
            res
        };
        match check_when(r, conds, &vars) {
            Ok(Some(c)) => {
                any_skipped = true;
                let mut res = with_item(skipped_result(&c));
                set_key(&mut res, "_ansible_no_log", Value::Bool(false));
                r.cb.item(host, Outcome::Skipped, &res, item, &s.task.module, false);
                results.push(res);
                continue;
            }
            Ok(None) => {}
            Err(msg) => {
                return Ok(Done::failure(msg, ignore_errors));
            }
        }
        let d = actions::dispatch(r, pr, play, host, s, &vars, Some(item))?;
        match d.flow {
            Flow::Include(mut b) => {
                let file = b
                    .attrs
                    .get("_included_file")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                r.pending_included
                    .push((file.clone(), Some(item.clone()), host.to_owned()));
                let mut res = d.result.clone();
                if let Value::Object(m) = &mut res {
                    m.remove("changed");
                }
                results.push(with_item(res));
                // The loop variables reach the included tasks as include
                // params (the include's copy gets them as its vars).
                let mut vars = match b.attrs.get("_include_params") {
                    Some(Value::Object(m)) => m.clone(),
                    _ => Map::new(),
                };
                for (k, v) in lv {
                    vars.insert(k, v);
                }
                b.attrs
                    .insert("_include_params", Value::Object(vars), s.task.pos.clone());
                b.attrs.0.remove("_included_file");
                blocks.push(crate::playbook::Item::Block(b));
                count += 1;
            }
            _ => {
                let mut d = d;
                d.ignored = d.outcome == Outcome::Failed && ignore_errors;
                return Ok(d);
            }
        }
    }
    if count == 0 {
        let _ = any_skipped;
        r.cb.loop_skipped(host);
        return Ok(Done {
            result: json!({"changed": false, "msg": "All items skipped", "results": results, "skipped": true}),
            outcome: Outcome::Skipped,
            ignored: false,
            flow: Flow::Continue,
            show: false,
            verbose_always: false,
            extra_ok: 0,
        });
    }
    Ok(Done {
        result: json!({"changed": false, "msg": "All items completed", "results": results}),
        outcome: Outcome::Ok,
        ignored: false,
        flow: Flow::Include(Block {
            pos: s.task.pos.clone(),
            attrs: Default::default(),
            block: blocks,
            rescue: Vec::new(),
            always: Vec::new(),
            implicit: true,
            role: None,
        }),
        show: false,
        verbose_always: false,
        extra_ok: count - 1,
    })
}

fn censored(result: &Value) -> Value {
    json!({
        "censored": "the output has been hidden due to the fact that 'no_log: true' was specified for this result",
        "changed": result.get("changed").cloned().unwrap_or(Value::Bool(false)),
    })
}

fn loop_items(
    r: &Runner<'_>,
    s: &Scheduled,
    loop_v: &Value,
    vars: &Arc<dyn Vars>,
) -> Result<Vec<Value>, String> {
    match &s.task.loop_with {
        Some(lookup) => {
            let terms = r
                .templar
                .template(loop_v, vars)
                .map_err(|e| e.to_string())?;
            r.templar
                .run_lookup(lookup, &terms, &Map::new(), vars)
                .map_err(|e| e.to_string())
        }
        None => {
            let v = r
                .templar
                .template(loop_v, vars)
                .map_err(|e| e.to_string())?;
            match v {
                Value::Array(a) => Ok(a),
                other => Err(format!(
                    "Invalid data passed to 'loop', it requires a list, got this instead: {}. Hint: If you passed a list/dict of just one element, try adding wantlist=True to your lookup invocation or use q/query instead of lookup.",
                    value_to_string(&other)
                )),
            }
        }
    }
}

/// `register`, `changed_when`, `failed_when`, `until`, `ignore_errors`,
/// `no_log` on a finished result.
/// Marks a result whose `changed_when`/`failed_when` were already applied
/// (by the retry loop); removed by `finish`.
const CONDS_APPLIED: &str = "_ansible_rustle_conds_applied";

/// `changed_when` then `failed_when`, seeing the registered result.
fn apply_result_conds(
    r: &Runner<'_>,
    s: &Scheduled,
    vars: &Arc<dyn Vars>,
    reg: Option<&str>,
    d: &mut Done,
) {
    let with_result = |res: &Value| -> Arc<dyn Vars> {
        let mut extra = Map::new();
        if let Some(name) = reg {
            extra.insert(name.to_owned(), res.clone());
        }
        Arc::new(Overlay {
            base: vars.clone(),
            extra,
        })
    };
    if let Some(cw) = s.task.attrs.0.get("changed_when") {
        let v = with_result(&d.result);
        match eval_conds(r, cw, &v) {
            Ok(c) => set_key(&mut d.result, "changed", Value::Bool(c)),
            Err(msg) => {
                set_key(&mut d.result, "failed", Value::Bool(true));
                set_key(&mut d.result, "changed_when_result", Value::from(msg));
            }
        }
    }
    if let Some(fw) = s.task.attrs.0.get("failed_when") {
        let v = with_result(&d.result);
        match eval_conds(r, fw, &v) {
            Ok(f) => {
                set_key(&mut d.result, "failed_when_result", Value::Bool(f));
                set_key(&mut d.result, "failed", Value::Bool(f));
            }
            Err(msg) => {
                set_key(&mut d.result, "failed", Value::Bool(true));
                set_key(&mut d.result, "failed_when_result", Value::from(msg));
            }
        }
    }
}

fn finish(
    r: &mut Runner<'_>,
    host: &str,
    s: &Scheduled,
    vars: &Arc<dyn Vars>,
    d: &mut Done,
    ignore_errors: bool,
    no_log: bool,
) {
    // A connection failure escapes the executor: no conditions; the
    // strategy still registers it.
    if d.outcome == Outcome::Unreachable {
        register(r, host, s, &d.result);
        return;
    }
    if d.outcome == Outcome::Skipped || matches!(d.flow, Flow::Include(_)) {
        if s.task.attrs.get("loop").is_none() {
            register(r, host, s, &d.result);
        }
        return;
    }
    let reg = register_name(s);
    // Under retries the conditions were applied at each attempt.
    let applied = match &mut d.result {
        Value::Object(m) => m.remove(CONDS_APPLIED).is_some(),
        _ => false,
    };
    if !applied {
        apply_result_conds(r, s, vars, reg.as_deref(), d);
    }
    // As TaskResult.is_failed: a `failed_when` verdict, when there is one,
    // decides (even over retries running out).
    let is_failed = match d.result.get("failed_when_result") {
        Some(v) => v.as_bool() == Some(true),
        None => d.result.get("failed").and_then(Value::as_bool) == Some(true),
    };
    let is_changed = d.result.get("changed").and_then(Value::as_bool) == Some(true);
    d.outcome = if is_failed {
        Outcome::Failed
    } else if d.result.get("skipped").and_then(Value::as_bool) == Some(true) {
        Outcome::Skipped
    } else if is_changed {
        Outcome::Changed
    } else {
        Outcome::Ok
    };
    d.ignored = is_failed && ignore_errors;
    if s.task.attrs.get("loop").is_none() {
        register(r, host, s, &d.result);
    }
    // Facts returned by a native module (package_facts, ...) join the
    // host's facts, without their `ansible_` prefix, as Ansible's strategy
    // stores them; fact actions (setup, set_fact, ...) stored theirs already.
    let module = rustle_runner::modules::canonical_name(&s.task.action);
    let fact_action = matches!(
        module,
        "setup" | "gather_facts" | "set_fact" | "include_vars" | "set_stats"
    );
    if !is_failed && !fact_action && rustle_runner::modules::lookup(module).is_some() {
        if let Some(Value::Object(facts)) = d.result.get("ansible_facts") {
            if let Ok(mut st) = r.states.write() {
                if let Some(h) = st.get_mut(host) {
                    for (k, v) in facts {
                        let k = k.strip_prefix("ansible_").unwrap_or(k);
                        h.facts.insert(k.to_owned(), v.clone());
                    }
                }
            }
        }
    }
    if no_log {
        // Censored, debug's forced dump goes too.
        d.verbose_always = false;
        d.result = censored(&d.result);
        if is_failed {
            set_key(&mut d.result, "failed", Value::Bool(true));
        }
    }
}

/// "The conditional check '...' failed. The error was: ..." (unless the
/// templar's error already says so).
pub(crate) fn conditional_failed(cond: &Value, e: &rustle_template::TemplateError) -> String {
    let msg = e.to_string();
    if msg.contains("The conditional check") {
        msg
    } else {
        format!(
            "The conditional check '{}' failed. The error was: {msg}",
            value_to_string(cond)
        )
    }
}

/// The message of a conditional that could not be evaluated.
/// Ansible raises it with the conditional's position, so the message ends
/// with an excerpt of the playbook.
fn cond_error(cond: &Cond, e: &rustle_template::TemplateError) -> String {
    let msg = conditional_failed(&cond.value, e);
    ParseError::general(msg, cond.pos.clone()).render()
}

/// Marks strings that look like templates as `!unsafe`.
fn mark_unsafe(v: &Value) -> Value {
    match v {
        Value::String(s) if s.contains("{{") || s.contains("{%") || s.contains("{#") => {
            let mut m = Map::new();
            m.insert(rustle_template::UNSAFE_KEY.into(), Value::String(s.clone()));
            Value::Object(m)
        }
        Value::Array(a) => Value::Array(a.iter().map(mark_unsafe).collect()),
        Value::Object(m) if !(m.len() == 1 && m.contains_key(rustle_template::UNSAFE_KEY)) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), mark_unsafe(v))).collect())
        }
        other => other.clone(),
    }
}

fn set_key(v: &mut Value, k: &str, val: Value) {
    if let Value::Object(m) = v {
        m.insert(k.to_owned(), val);
    }
}

fn register(r: &mut Runner<'_>, host: &str, s: &Scheduled, result: &Value) {
    let Some(name) = s.task.attrs.get("register").and_then(Value::as_str) else {
        return;
    };
    // Registered data comes from modules: never templated again (Ansible
    // wraps it as unsafe).
    let mut res = mark_unsafe(result);
    if let Value::Object(m) = &mut res {
        // Only an executed task's result gets the `failed`/`changed`
        // defaults; a task skipped by its conditional, or failed by an
        // exception, is registered as is.
        let as_is = m.contains_key("skip_reason")
            || m.contains_key(actions::RAISED)
            || m.contains_key(actions::AS_IS);
        m.retain(|k, _| !k.starts_with("_ansible_") || k == "_ansible_no_log");
        if !as_is && !m.contains_key("failed") {
            m.insert("failed".into(), Value::Bool(false));
        }
        if !as_is && !m.contains_key("changed") {
            m.insert("changed".into(), Value::Bool(false));
        }
    }
    if let Ok(mut st) = r.states.write() {
        if let Some(h) = st.get_mut(host) {
            h.set_facts.insert(name.to_owned(), res);
        }
    }
}

/// Templates arguments and runs the action/module, with `until` retries.
fn execute(
    r: &mut Runner<'_>,
    pr: &mut PlayRun,
    play: &Play,
    host: &str,
    s: &Scheduled,
    vars: &Arc<dyn Vars>,
    item: Option<&Value>,
) -> Result<Done, u8> {
    let retries_v = s.task.attrs.get("retries").cloned();
    let until = s.task.attrs.get("until").cloned();
    // Ansible: one run plus `retries` (3 when only `until` is set); with
    // `retries` alone the task is retried until it does not fail.
    let retries = retries_v
        .as_ref()
        .and_then(|v| r.templar.template(v, vars).ok())
        .and_then(|v| {
            v.as_i64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        });
    let attempts = match (retries, &until) {
        (Some(n), _) => 1 + n.max(0) as usize,
        (None, Some(_)) => 4,
        (None, None) => 1,
    };
    if attempts == 1 {
        return actions::dispatch(r, pr, play, host, s, vars, item);
    }
    let delay = s
        .task
        .attrs
        .get("delay")
        .and_then(|v| r.templar.template(v, vars).ok())
        .and_then(|v| {
            v.as_f64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        })
        .unwrap_or(5.0);
    let reg = register_name(s);
    let mut last = None;
    for attempt in 1..=attempts {
        let mut d = actions::dispatch(r, pr, play, host, s, vars, item)?;
        if matches!(d.outcome, Outcome::Skipped | Outcome::Unreachable)
            || d.result.get(actions::RAISED).is_some()
        {
            return Ok(d);
        }
        set_key(&mut d.result, "attempts", Value::from(attempt));
        // changed_when/failed_when first: `until` sees their verdict.
        apply_result_conds(r, s, vars, reg.as_deref(), &mut d);
        set_key(&mut d.result, CONDS_APPLIED, Value::Bool(true));
        let mut extra = Map::new();
        if let Some(name) = &reg {
            extra.insert(name.clone(), d.result.clone());
        }
        let v: Arc<dyn Vars> = Arc::new(Overlay {
            base: vars.clone(),
            extra,
        });
        let ok = match &until {
            Some(u) => r.templar.evaluate_conditional(u, &v).unwrap_or(false),
            None => d.result.get("failed").and_then(Value::as_bool) != Some(true),
        };
        if ok {
            return Ok(d);
        }
        if attempt < attempts {
            let name = s.task.name().unwrap_or(&s.task.action).to_owned();
            r.cb.retrying(&format!(
                "FAILED - RETRYING: [{host}]: {name} ({} retries left).",
                attempts - attempt
            ));
            if delay > 0.0 {
                std::thread::sleep(std::time::Duration::from_secs_f64(delay));
            }
        } else {
            // As Ansible reports it when attempts run out.
            set_key(&mut d.result, "attempts", Value::from(attempts - 1));
            set_key(&mut d.result, "failed", Value::Bool(true));
            d.outcome = Outcome::Failed;
        }
        last = Some(d);
    }
    Ok(last.unwrap_or(Done {
        result: failed("until loop ran no attempt"),
        outcome: Outcome::Failed,
        ignored: false,
        flow: Flow::Continue,
        show: true,
        verbose_always: false,
        extra_ok: 0,
    }))
}
