//! Task results in Ansible's shape, as data.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

fn is_false(b: &bool) -> bool {
    !*b
}

/// What a module (or the executor) reports for one task on one host:
/// `changed`, `failed`, `skipped`, `msg`, plus module extras (`rc`,
/// `stdout`, `path`, `diff`, ...), exactly the keys Ansible registers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModuleResult {
    pub changed: bool,
    /// Always present in registered results, as Ansible's executor adds it.
    #[serde(default)]
    pub failed: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub skipped: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ModuleResult {
    pub fn ok() -> Self {
        ModuleResult::default()
    }

    pub fn changed() -> Self {
        ModuleResult {
            changed: true,
            ..Default::default()
        }
    }

    pub fn failed(msg: impl Into<String>) -> Self {
        ModuleResult {
            failed: true,
            msg: Some(msg.into()),
            ..Default::default()
        }
    }

    pub fn with_msg(mut self, msg: impl Into<String>) -> Self {
        self.msg = Some(msg.into());
        self
    }

    /// Sets an extra key (builder style).
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(key.to_owned(), value.into());
        self
    }

    pub fn set(&mut self, key: &str, value: impl Into<Value>) {
        self.extra.insert(key.to_owned(), value.into());
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.extra.get(key)
    }

    /// The `diff` entries (a module returns one dict or a list of them).
    pub fn diffs(&self) -> Vec<&Map<String, Value>> {
        match self.extra.get("diff") {
            Some(Value::Object(m)) => vec![m],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_object).collect(),
            _ => Vec::new(),
        }
    }

    /// The whole result as a JSON object.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// One `diff` entry with before/after content, as Ansible's modules return
/// it (`before`, `after`, `before_header`, `after_header`).
pub fn diff_entry(
    before_header: &str,
    before: impl Into<Value>,
    after_header: &str,
    after: impl Into<Value>,
) -> Value {
    let mut m = Map::new();
    m.insert("before".into(), before.into());
    m.insert("after".into(), after.into());
    m.insert("before_header".into(), before_header.into());
    m.insert("after_header".into(), after_header.into());
    Value::Object(m)
}
