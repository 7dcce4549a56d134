//! The `json` stdout callback (`ansible.posix.json`): every play, task and
//! host result is recorded into one document, printed when the run ends
//! (with the stats), instead of the default callback's lines.
//!
//! The document, as the collection's callback builds it:
//! `{"plays": [{"play": {name, id, path, duration: {start, end}},
//! "tasks": [{"task": {name, id, path, duration}, "hosts": {host:
//! result}}]}], "stats": {host: counts}, "custom_stats": {...},
//! "global_custom_stats": {...}}`, dumped with `sort_keys` and Python's
//! `json.dumps` rendering (ASCII only, `indent` from `json_indent`).

use serde_json::{Map, Value};

use rustle_inventory::pyfmt::marker_str;
use rustle_runner::engine::HostStats;

use super::callback::Outcome;

/// What the callback was told about one host's finished task.
#[derive(Debug, Clone)]
pub struct Recorded<'a> {
    pub host: &'a str,
    pub outcome: Outcome,
    /// The result as the executor returned it (uncensored for loops).
    pub result: &'a Value,
    /// The action as written (`debug`, `ansible.builtin.copy`).
    pub action: &'a str,
    pub no_log: bool,
    pub verbose_always: bool,
    /// The result is a loop's (`results` holds the items).
    pub is_loop: bool,
    /// The result comes from an include (no `_ansible_no_log` added).
    pub is_include: bool,
}

/// The document being built.
#[derive(Debug)]
pub struct JsonDoc {
    plays: Vec<Value>,
    /// Loop items seen for the current task, per host, decorated as the
    /// executor leaves them (`_ansible_item_label`...).
    items: Map<String, Value>,
    indent: Option<usize>,
    show_custom_stats: bool,
    ids: UuidGen,
}

/// Ids in the shape of Ansible's `get_unique_id`: a per-run prefix and a
/// counter.
#[derive(Debug)]
struct UuidGen {
    prefix: String,
    next: u64,
}

impl UuidGen {
    fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let pid = std::process::id();
        UuidGen {
            prefix: format!(
                "{:08x}-{:04x}-{:04x}-{:04x}",
                0x02fc_0000u32 ^ (pid & 0xff),
                pid & 0xffff,
                (nanos >> 16) & 0xffff,
                nanos & 0xffff
            ),
            next: 1,
        }
    }

    fn next(&mut self) -> String {
        let id = format!("{}-{:012x}", self.prefix, self.next);
        self.next += 1;
        id
    }
}

/// `'%sZ' % datetime.utcnow().isoformat()`.
fn now() -> String {
    let t = chrono::Utc::now().naive_utc();
    if t.and_utc().timestamp_subsec_micros() == 0 {
        format!("{}Z", t.format("%Y-%m-%dT%H:%M:%S"))
    } else {
        format!("{}Z", t.format("%Y-%m-%dT%H:%M:%S%.6f"))
    }
}

/// Keys Ansible's `TaskResult.clean_copy` keeps among the internal ones.
const CLEAN_EXCEPTIONS: [&str; 4] = [
    "_ansible_verbose_always",
    "_ansible_item_label",
    "_ansible_no_log",
    "_ansible_verbose_override",
];

const CENSORED: &str =
    "the output has been hidden due to the fact that 'no_log: true' was specified for this result";

/// `strip_internal_keys`: every `_ansible_*` key but the callback's.
fn strip_internal(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|k, _| !k.starts_with("_ansible_") || CLEAN_EXCEPTIONS.contains(&k.as_str()));
            for x in m.values_mut() {
                strip_internal(x);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(strip_internal),
        _ => {}
    }
}

impl JsonDoc {
    pub fn new(indent: Option<usize>, show_custom_stats: bool) -> Self {
        JsonDoc {
            plays: Vec::new(),
            items: Map::new(),
            indent,
            show_custom_stats,
            ids: UuidGen::new(),
        }
    }

    pub fn play_start(&mut self, name: &str, path: &str) {
        let id = self.ids.next();
        self.plays.push(serde_json::json!({
            "play": {"name": name, "id": id, "path": path, "duration": {"start": now()}},
            "tasks": [],
        }));
    }

    pub fn task_start(&mut self, name: &str, path: &str) {
        let id = self.ids.next();
        self.items.clear();
        let task = serde_json::json!({
            "task": {"name": name, "id": id, "path": path, "duration": {"start": now()}},
            "hosts": {},
        });
        if let Some(Value::Array(tasks)) = self.plays.last_mut().and_then(|p| p.get_mut("tasks")) {
            tasks.push(task);
        }
    }

    /// A loop item's result, kept for the task's final result.
    pub fn item(&mut self, host: &str, result: &Value, label: &Value, verbose_always: bool) {
        let mut r = result.clone();
        if let Value::Object(m) = &mut r {
            m.insert("_ansible_item_label".into(), label.clone());
            m.entry("_ansible_no_log").or_insert(Value::Bool(false));
            if verbose_always {
                m.insert("_ansible_verbose_always".into(), Value::Bool(true));
            }
        }
        if let Value::Array(a) = self
            .items
            .entry(host.to_owned())
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            a.push(r);
        }
    }

    /// A host's result for the current task (`_record_task_result`).
    pub fn record(&mut self, rec: &Recorded<'_>) {
        let mut result = if rec.no_log {
            // clean_copy keeps only what `_PRESERVE` names.
            let mut m = Map::new();
            m.insert("censored".into(), Value::from(CENSORED));
            for k in ["attempts", "changed", "retries"] {
                if let Some(v) = rec.result.get(k) {
                    m.insert(k.into(), v.clone());
                }
            }
            Value::Object(m)
        } else {
            let mut r = rec.result.clone();
            if let Value::Object(m) = &mut r {
                if rec.is_loop {
                    if let Some(Value::Array(items)) = self.items.remove(rec.host) {
                        if m.get("results").and_then(Value::as_array).map(Vec::len)
                            == Some(items.len())
                        {
                            m.insert("results".into(), Value::Array(items));
                        }
                    }
                } else if !rec.is_include {
                    m.entry("_ansible_no_log").or_insert(Value::Bool(false));
                    if rec.verbose_always {
                        m.insert("_ansible_verbose_always".into(), Value::Bool(true));
                    }
                }
                m.remove("failed");
                m.remove("skipped");
                if rustle_runner::modules::canonical_name(rec.action) == "debug" {
                    m.remove("invocation");
                }
            }
            strip_internal(&mut r);
            r
        };
        if let Value::Object(m) = &mut result {
            match rec.outcome {
                Outcome::Failed => {
                    m.insert("failed".into(), Value::Bool(true));
                }
                Outcome::Skipped => {
                    m.insert("skipped".into(), Value::Bool(true));
                }
                _ => {}
            }
            m.insert("action".into(), Value::from(rec.action));
        }
        let end = now();
        let Some(play) = self.plays.last_mut() else {
            return;
        };
        if let Some(Value::Object(d)) = play.pointer_mut("/play/duration") {
            d.insert("end".into(), Value::from(end.clone()));
        }
        if let Some(task) = play
            .get_mut("tasks")
            .and_then(Value::as_array_mut)
            .and_then(|t| t.last_mut())
        {
            if let Some(Value::Object(h)) = task.get_mut("hosts") {
                h.insert(rec.host.to_owned(), result);
            }
            if let Some(Value::Object(d)) = task.pointer_mut("/task/duration") {
                d.insert("end".into(), Value::from(end));
            }
        }
    }

    /// The whole document (`v2_playbook_on_stats`), with a newline.
    pub fn finish(&mut self, stats: &[(String, HostStats)], custom: &Map<String, Value>) -> String {
        let mut summary = Map::new();
        for (h, s) in stats {
            summary.insert(
                h.clone(),
                serde_json::json!({
                    "ok": s.ok, "failures": s.failed, "unreachable": s.unreachable,
                    "changed": s.changed, "skipped": s.skipped, "rescued": s.rescued,
                    "ignored": s.ignored,
                }),
            );
        }
        let mut custom_stats = Map::new();
        let mut global = Map::new();
        if self.show_custom_stats && !custom.is_empty() {
            custom_stats = custom.clone();
            if let Some(Value::Object(run)) = custom_stats.remove("_run") {
                global = run;
            }
        }
        let doc = serde_json::json!({
            "plays": std::mem::take(&mut self.plays),
            "stats": summary,
            "custom_stats": custom_stats,
            "global_custom_stats": global,
        });
        let mut out = dumps(&doc, self.indent);
        out.push('\n');
        out
    }
}

/// Python's `json.dumps(v, indent=indent, sort_keys=True)` (ASCII output;
/// without an indent, `", "` and `": "` separators on one line); unsafe
/// and vault-marked strings are dumped as their text.
pub fn dumps(v: &Value, indent: Option<usize>) -> String {
    rustle_runner::pyjson::dumps_ascii(&unmarked(v), indent)
}

fn unmarked(v: &Value) -> Value {
    if let Some(s) = marker_str(v) {
        return Value::from(s);
    }
    match v {
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, x)| (k.clone(), unmarked(x))).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(unmarked).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dumps_like_python() {
        let v = json!({"b": [1, 2.5, "é"], "a": {}, "c": []});
        assert_eq!(
            dumps(&v, Some(4)),
            "{\n    \"a\": {},\n    \"b\": [\n        1,\n        2.5,\n        \"\\u00e9\"\n    ],\n    \"c\": []\n}"
        );
        assert_eq!(
            dumps(&v, None),
            "{\"a\": {}, \"b\": [1, 2.5, \"\\u00e9\"], \"c\": []}"
        );
        assert_eq!(
            dumps(&json!("\u{1F600}\x7f"), None),
            "\"\\ud83d\\ude00\\u007f\""
        );
    }

    #[test]
    fn record_strips_and_marks() {
        let mut d = JsonDoc::new(Some(4), false);
        d.play_start("p", "/x/site.yml:1");
        d.task_start("t", "/x/site.yml:3");
        d.record(&Recorded {
            host: "h",
            outcome: Outcome::Failed,
            result: &json!({"failed": true, "msg": "m", "_ansible_rustle_x": 1}),
            action: "fail",
            no_log: false,
            verbose_always: false,
            is_loop: false,
            is_include: false,
        });
        let h = &d.plays[0]["tasks"][0]["hosts"]["h"];
        assert_eq!(
            h,
            &json!({"failed": true, "msg": "m", "_ansible_no_log": false, "action": "fail"})
        );
    }
}
