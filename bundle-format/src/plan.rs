//! The execution plan: the single definition of what a runner executes.
//!
//! Encoded as MessagePack with named fields (`rmp_serde::to_vec_named`), so
//! that a later schema can add optional fields without breaking older
//! readers; a change that older readers must not ignore bumps
//! [`PLAN_SCHEMA_VERSION`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::AssetId;

/// Version of the plan schema inside the bundle (independent of the
/// container's [`crate::FORMAT_VERSION`]).
pub const PLAN_SCHEMA_VERSION: u32 = 1;

/// A complete plan: what each host of the bundle executes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub schema_version: u32,
    /// Where the plan came from (a playbook path), for display only.
    #[serde(default)]
    pub source: String,
    pub hosts: Vec<HostPlan>,
}

impl Plan {
    pub fn new(source: impl Into<String>) -> Self {
        Plan {
            schema_version: PLAN_SCHEMA_VERSION,
            source: source.into(),
            hosts: Vec::new(),
        }
    }

    /// The plan for `name`, if the bundle has one.
    pub fn host(&self, name: &str) -> Option<&HostPlan> {
        self.hosts.iter().find(|h| h.name == name)
    }
}

/// Everything one host runs, play by play.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostPlan {
    /// The inventory hostname shown in output (`ok: [name]`).
    pub name: String,
    #[serde(default)]
    pub plays: Vec<PlayPlan>,
}

/// One play (or play segment) for one host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlayPlan {
    /// Display name, shown as `PLAY [name]`.
    pub name: String,
    #[serde(default)]
    pub tasks: Vec<Task>,
    /// Handlers, run after the tasks in definition order when notified.
    #[serde(default)]
    pub handlers: Vec<Task>,
    /// Play-level `check_mode:`; `None` follows the run's `--check`.
    #[serde(default)]
    pub check_mode: Option<bool>,
    /// Play-level `diff:`; `None` follows the run's `--diff`.
    #[serde(default)]
    pub diff: Option<bool>,
}

/// One task, with arguments already resolved by the controller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Task {
    /// Display name, shown as `TASK [name]`.
    pub name: String,
    /// Canonical module name (`copy`, `command`, ...).
    pub module: String,
    /// Module arguments, as JSON-like data.
    #[serde(default)]
    pub args: Map<String, Value>,
    /// Files the task reads from the bundle, by logical name (for `copy`:
    /// `src`; for a directory source, one entry per relative path).
    #[serde(default)]
    pub assets: BTreeMap<String, AssetId>,
    #[serde(default)]
    pub check_mode: Option<bool>,
    #[serde(default)]
    pub diff: Option<bool>,
    #[serde(default)]
    pub ignore_errors: bool,
    /// Hide arguments and results in all output.
    #[serde(default)]
    pub no_log: bool,
    /// Name under which the result is registered for later tasks.
    #[serde(default)]
    pub register: Option<String>,
    /// Handler names or `listen` topics notified when the task changes.
    #[serde(default)]
    pub notify: Vec<String>,
    /// For handlers: the `listen` topics it answers to besides its name.
    #[serde(default)]
    pub listen: Vec<String>,
    /// Environment variables for commands the task runs.
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// `file:line:column` of the task in its source, for messages.
    #[serde(default)]
    pub origin: Option<String>,
}

impl Task {
    pub fn new(name: impl Into<String>, module: impl Into<String>) -> Self {
        Task {
            name: name.into(),
            module: module.into(),
            ..Task::default()
        }
    }

    /// Adds an argument (builder style).
    pub fn arg(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.args.insert(key.to_owned(), value.into());
        self
    }

    /// Attaches a bundled asset under `name` (builder style).
    pub fn asset(mut self, name: &str, id: AssetId) -> Self {
        self.assets.insert(name.to_owned(), id);
        self
    }
}
