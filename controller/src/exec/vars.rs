//! Variable scopes for one task on one host, layered by Ansible's
//! precedence, looked up lazily by the templar.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use rustle_template::Vars;
use serde_json::{Map, Value};

/// Per-host state that outlives a task: facts, `set_fact`, registered
/// results, `include_vars`.
#[derive(Debug, Default, Clone)]
pub struct HostState {
    /// Inventory variables (all inventory levels combined).
    pub inventory: Map<String, Value>,
    /// Gathered facts (`ansible_facts`).
    pub facts: Map<String, Value>,
    /// `include_vars` results.
    pub include_vars: Map<String, Value>,
    /// `set_fact` and `register` results.
    pub set_facts: Map<String, Value>,
    /// Cached facts without the `ansible_` prefix (a cacheable set_fact's
    /// in an earlier run), injected as variables under their own name.
    pub fact_vars: Map<String, Value>,
}

/// Everything shared by the hosts of a play: read-only during a task.
#[derive(Debug, Default)]
pub struct PlayScope {
    /// The configured `timeout` (`ansible_timeout` when nothing sets it).
    pub timeout: i64,
    pub role_defaults: Map<String, Value>,
    pub play_vars: Map<String, Value>,
    pub vars_files: Map<String, Value>,
    /// Defaults and vars of roles included with `public: true`.
    pub public_defaults: std::sync::RwLock<Map<String, Value>>,
    pub public_vars: std::sync::RwLock<Map<String, Value>>,
    /// `vars_files` as each host read them (names templated per host).
    pub vars_files_by_host: BTreeMap<String, Map<String, Value>>,
    pub role_vars: Map<String, Value>,
    pub extra_vars: Map<String, Value>,
    /// Magic variables that are the same for every host of the play.
    pub magic: Map<String, Value>,
    /// `groups`, refreshed when add_host or group_by change the inventory.
    pub groups: std::sync::RwLock<Value>,
    /// The play's roles by name, in order (`ansible_play_role_names`):
    /// `roles:`, imported ones, then included ones as they are included.
    pub play_roles: std::sync::RwLock<Vec<String>>,
    /// Names of the dependencies of the play's roles.
    pub dep_roles: Vec<String>,
    /// Every host the play's pattern matches (`ansible_play_hosts_all`).
    pub hosts_all: Vec<String>,
    /// The current serial batch (`ansible_play_batch`, `play_hosts`).
    pub batch: std::sync::RwLock<Vec<String>>,
    /// Hosts that failed in this play: gone from the two lists above.
    pub removed: std::sync::RwLock<Vec<String>>,
    /// The play's connection (`connection:`, else `-c`, else ssh): what
    /// `ansible_connection` is when no variable sets it.
    pub connection: String,
}

impl PlayScope {
    fn without_removed(&self, hosts: &[String]) -> Value {
        let removed = self.removed.read().map(|r| r.clone()).unwrap_or_default();
        Value::from(
            hosts
                .iter()
                .filter(|h| !removed.contains(h))
                .cloned()
                .collect::<Vec<_>>(),
        )
    }
}

/// All hosts' states, shared so `hostvars` can read them.
pub type States = Arc<RwLock<BTreeMap<String, HostState>>>;

/// The variables one task sees on one host.
pub struct TaskVars {
    pub host: String,
    pub states: States,
    pub play: Arc<PlayScope>,
    /// Block vars, task vars, role params, include params, loop vars: in
    /// increasing precedence (extra vars still win over all of these).
    pub local: Vec<Map<String, Value>>,
    /// Loop variables (item, ansible_loop...): above everything, extra
    /// vars included.
    pub loop_vars: Map<String, Value>,
    /// The levels of the role the task belongs to.
    pub role: RoleLevels,
    /// Only the host's own levels, without the play's (vars, vars_files,
    /// roles, play magic): what `hostvars[host]` shows, as Ansible builds
    /// it without a play.
    pub host_only: bool,
}

/// Magic variables that need a play (left out of `hostvars`).
const PLAY_MAGIC: &[&str] = &[
    "ansible_play_name",
    "ansible_play_hosts_all",
    "ansible_play_hosts",
    "ansible_play_batch",
    "play_hosts",
    "ansible_play_role_names",
    "role_names",
    "ansible_dependent_role_names",
    "ansible_role_names",
];

/// A task's role's variables, each at its own precedence level.
#[derive(Debug, Default, Clone)]
pub struct RoleLevels {
    /// Its defaults (over the play roles' defaults).
    pub defaults: Map<String, Value>,
    /// Its vars (inherited, exported by dependencies, `vars/`, the `vars:`
    /// keyword): over play vars, under block vars.
    pub vars: Map<String, Value>,
    /// Role params and include params: over set_fact, under extra vars.
    pub params: Map<String, Value>,
}

impl TaskVars {
    /// The connection variables a task sees when nothing sets them
    /// (PlayContext.update_vars): the address, the connection, and the
    /// settings' defaults.
    fn connection_magic(&self, name: &str) -> Option<Value> {
        let inv = |k: &str| self.lower_get(k);
        match name {
            "ansible_host" | "ansible_ssh_host" => Some(
                inv("ansible_host")
                    .or_else(|| inv("ansible_ssh_host"))
                    .unwrap_or_else(|| Value::from(self.host.clone())),
            ),
            "ansible_connection" => Some(Value::from(self.play.connection.clone())),
            "ansible_shell_executable" => Some(Value::from("/bin/sh")),
            "ansible_pipelining" | "ansible_ssh_pipelining" => Some(
                inv("ansible_pipelining")
                    .or_else(|| inv("ansible_ssh_pipelining"))
                    .unwrap_or(Value::Bool(false)),
            ),
            "ansible_timeout" | "ansible_ssh_timeout" => Some(Value::from(self.play.timeout)),
            "ansible_module_compression" => Some(Value::from("ZIP_DEFLATED")),
            _ => None,
        }
    }

    fn vars_files(&self) -> &Map<String, Value> {
        self.play
            .vars_files_by_host
            .get(&self.host)
            .unwrap_or(&self.play.vars_files)
    }

    fn state_get(&self, name: &str) -> Option<Value> {
        let states = self.states.read().ok()?;
        let st = states.get(&self.host)?;
        if let Some(v) = st.set_facts.get(name) {
            return Some(v.clone());
        }
        if let Some(v) = st.include_vars.get(name) {
            return Some(v.clone());
        }
        None
    }

    fn lower_get(&self, name: &str) -> Option<Value> {
        let states = self.states.read().ok()?;
        let st = states.get(&self.host)?;
        // Below play vars: facts, then inventory variables.
        if name == "ansible_facts" {
            // Ansible's `namespace_facts` strips the `ansible_` prefix of
            // every fact but `ansible_local`.
            return Some(Value::Object(
                st.facts
                    .iter()
                    .map(|(k, v)| {
                        let k = if k == "local" {
                            "ansible_local"
                        } else {
                            k.as_str()
                        };
                        (k.to_owned(), v.clone())
                    })
                    .collect(),
            ));
        }
        if let Some(v) = st
            .facts
            .get(name.strip_prefix("ansible_").unwrap_or("\u{0}"))
        {
            // Facts are injected as ansible_<name> (INJECT_FACTS_AS_VARS).
            return Some(v.clone());
        }
        if let Some(v) = st.fact_vars.get(name) {
            return Some(v.clone());
        }
        st.inventory.get(name).cloned()
    }

    /// Every variable of this host, merged (for `hostvars` and `vars`).
    pub fn merged(&self) -> Map<String, Value> {
        let mut out = Map::new();
        for n in self.names() {
            if let Some(v) = self.get(&n) {
                out.insert(n, v);
            }
        }
        out
    }
}

impl Vars for TaskVars {
    fn get(&self, name: &str) -> Option<Value> {
        // The executor sets loop variables on top of everything, extra
        // vars included.
        if let Some(v) = self.loop_vars.get(name) {
            return Some(v.clone());
        }
        if let Some(v) = self.play.extra_vars.get(name) {
            return Some(v.clone());
        }
        if let Some(v) = self.role.params.get(name) {
            return Some(v.clone());
        }
        // set_fact/register and include_vars outrank block and task vars.
        if let Some(v) = self.state_get(name) {
            return Some(v);
        }
        for layer in self.local.iter().rev() {
            if let Some(v) = layer.get(name) {
                return Some(v.clone());
            }
        }
        if self.host_only {
            if PLAY_MAGIC.contains(&name) {
                return None;
            }
            if let Some(v) = self.lower_get(name) {
                return Some(v);
            }
        } else {
            for layer in [
                &self.role.vars,
                &self.play.role_vars,
                self.vars_files(),
                &self.play.play_vars,
            ] {
                if let Some(v) = layer.get(name) {
                    return Some(v.clone());
                }
            }
            if let Some(v) = self.play.public_vars.read().ok()?.get(name) {
                return Some(v.clone());
            }
            if let Some(v) = self.lower_get(name) {
                return Some(v);
            }
            if let Some(v) = self.role.defaults.get(name) {
                return Some(v.clone());
            }
            if let Some(v) = self.play.role_defaults.get(name) {
                return Some(v.clone());
            }
            if let Some(v) = self.play.public_defaults.read().ok()?.get(name) {
                return Some(v.clone());
            }
        }
        if let Some(v) = self.play.magic.get(name) {
            return Some(v.clone());
        }
        match name {
            "groups" => self.play.groups.read().ok().map(|g| g.clone()),
            "ansible_play_role_names" | "role_names" => self
                .play
                .play_roles
                .read()
                .ok()
                .map(|r| Value::from(r.clone())),
            "ansible_dependent_role_names" => Some(Value::from(self.play.dep_roles.clone())),
            "ansible_play_hosts_all" => Some(Value::from(self.play.hosts_all.clone())),
            "ansible_play_hosts" => Some(self.play.without_removed(&self.play.hosts_all)),
            "ansible_play_batch" | "play_hosts" => {
                let batch = self
                    .play
                    .batch
                    .read()
                    .map(|b| b.clone())
                    .unwrap_or_default();
                Some(self.play.without_removed(&batch))
            }
            "ansible_role_names" => {
                // A set in Ansible (unordered): first-seen order here.
                let mut all: Vec<String> = self.play.dep_roles.clone();
                if let Ok(r) = self.play.play_roles.read() {
                    all.extend(r.iter().cloned());
                }
                let mut seen = Vec::new();
                for n in all {
                    if !seen.contains(&n) {
                        seen.push(n);
                    }
                }
                Some(Value::from(seen))
            }
            "hostvars" => Some(self.hostvars()),
            // `vars` is left to the templar, whose view returns entries
            // untemplated, as Ansible's copy of the variables does.
            _ if !self.host_only => self.connection_magic(name),
            _ => None,
        }
    }

    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        let mut add = |m: &Map<String, Value>| {
            for k in m.keys() {
                if !names.contains(k) {
                    names.push(k.clone());
                }
            }
        };
        add(&self.play.extra_vars);
        add(&self.loop_vars);
        add(&self.role.params);
        add(&self.role.vars);
        add(&self.role.defaults);
        for l in &self.local {
            add(l);
        }
        if let Ok(states) = self.states.read() {
            if let Some(st) = states.get(&self.host) {
                add(&st.set_facts);
                add(&st.include_vars);
                add(&st.inventory);
                add(&st.fact_vars);
                let facts: Map<String, Value> = st
                    .facts
                    .iter()
                    .map(|(k, v)| (format!("ansible_{k}"), v.clone()))
                    .collect();
                add(&facts);
            }
        }
        if !self.host_only {
            add(&self.play.role_vars);
            add(self.vars_files());
            add(&self.play.play_vars);
            add(&self.play.role_defaults);
            if let Ok(m) = self.play.public_vars.read() {
                add(&m);
            }
            if let Ok(m) = self.play.public_defaults.read() {
                add(&m);
            }
        }
        add(&self.play.magic);
        if self.host_only {
            names.retain(|n| !PLAY_MAGIC.contains(&n.as_str()));
            names.push("groups".into());
            return names;
        }
        // The computed play magic (ansible_play_name is in `magic`).
        for n in std::iter::once("groups").chain(
            PLAY_MAGIC
                .iter()
                .copied()
                .filter(|n| *n != "ansible_play_name"),
        ) {
            if !names.iter().any(|x| x == n) {
                names.push(n.to_owned());
            }
        }
        names
    }
}

impl TaskVars {
    fn merged_without_vars(&self) -> Map<String, Value> {
        let mut out = Map::new();
        for n in self.names() {
            if n == "vars" || n == "hostvars" {
                continue;
            }
            if let Some(v) = self.get(&n) {
                out.insert(n, v);
            }
        }
        out
    }

    /// `hostvars`: every host's variables (host-level scopes only: facts,
    /// set_fact, inventory, play vars, extra vars).
    fn hostvars(&self) -> Value {
        // Inventory order (`groups.all`), then the implicit localhost,
        // which Ansible's hostvars always has.
        let known: Vec<String> = match self.states.read() {
            Ok(s) => s.keys().cloned().collect(),
            Err(_) => Vec::new(),
        };
        let mut hosts: Vec<String> = match self.play.groups.read() {
            Ok(g) => g
                .get("all")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        for h in known {
            if !hosts.contains(&h) {
                hosts.push(h);
            }
        }
        let mut out = Map::new();
        for h in hosts {
            let tv = TaskVars {
                host: h.clone(),
                states: self.states.clone(),
                play: self.play.clone(),
                local: Vec::new(),
                loop_vars: Map::new(),
                role: RoleLevels::default(),
                host_only: true,
            };
            out.insert(h, Value::Object(tv.merged_without_vars()));
        }
        Value::Object(out)
    }
}
