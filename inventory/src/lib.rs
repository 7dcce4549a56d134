//! Ansible inventories as ansible-core 2.18 builds them.
//!
//! - Sources ([`Inventory::load`]): INI and YAML/JSON files (tried with
//!   Ansible's default plugin chain, see [`sources`]), comma-separated host
//!   lists (`-i 'h1,h2,'`), directories (every entry in sorted order except
//!   hidden ones, `group_vars`/`host_vars`/`vars_plugins` and the
//!   `INVENTORY_IGNORE_EXTS` extensions `.pyc .pyo .swp .bak ~ .rpm .md .txt
//!   .rst .orig .ini .cfg .retry`), several sources merged in order. A source
//!   no plugin can parse is a warning, as in Ansible, never an error.
//! - Hosts and groups ([`data`]): host ranges, `all`/`ungrouped`, depth and
//!   `ansible_group_priority`, the implicit `localhost`.
//! - Variables ([`Inventory::host_vars`]): Ansible's `VariableManager`
//!   order for inventory variables, with playbook-adjacent `group_vars/`
//!   and `host_vars/` as an extra input (see [`VarsLayer`]).
//! - Host patterns ([`Inventory::get_hosts`]): `all`, globs, `~regex`,
//!   `a:b`, `a,b`, `&`, `!`, subscripts, `--limit` with `@file`, and the
//!   play `order:` keyword.
//! - `ansible-inventory` output ([`output`]): `--list`, `--graph`, `--host`.
//!
//! Variables are `serde_json` values; `!unsafe` and `!vault` strings are
//! `{"__ansible_unsafe": s}` / `{"__ansible_vault": s}` as everywhere in
//! Rustle. Nothing here prints: warnings are returned as data.
//!
//! Known gaps: inventory scripts, plugin configuration files (`plugin:`),
//! TOML and vault-encrypted files are reported as unparseable by that
//! plugin; Python literal typing of INI values does not produce sets or
//! complex numbers (the text is kept), and integers beyond 64 bits become
//! floats; where two groups at the same depth both have child groups,
//! Ansible orders the grandchildren's hosts by Python `set` iteration
//! (object addresses) and we use discovery order.

pub mod address;
pub mod data;
mod ini;
pub mod output;
pub mod pyfmt;
pub mod pyliteral;
pub mod sources;
pub mod vars;

mod pattern;

use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use thiserror::Error;

pub use data::{Group, Host, InventoryData, Vars, LOCALHOST};
pub use pattern::{fnmatch, split_host_pattern, HostOrder, Limit, Selection};
pub use vars::{EntityKind, VarsCache};

/// Errors from inventory operations (parse failures of a source are
/// warnings, not errors, as in Ansible).
#[derive(Debug, Error)]
pub enum InventoryError {
    /// A `group_vars`/`host_vars` file that cannot be used.
    #[error("Could not process '{file}': {message}")]
    VarsFile { file: String, message: String },
    /// A host pattern that cannot be evaluated.
    #[error("{0}")]
    Pattern(String),
    /// A bad `--limit` file.
    #[error("{0}")]
    Limit(String),
    /// An `order:` value that is not one of Ansible's.
    #[error("Invalid 'order' specified for inventory hosts: {got} (expected one of inventory, reverse_inventory, sorted, reverse_sorted, shuffle)")]
    Order { got: String },
    /// A host name or group name that is not in the inventory.
    #[error("{what} {got:?} not found in the inventory")]
    NotFound { what: &'static str, got: String },
}

/// Warnings in the order raised; identical texts are kept once, as
/// Ansible's display does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Warnings(pub Vec<String>);

impl Warnings {
    pub fn push(&mut self, msg: impl Into<String>) {
        let m = msg.into();
        if !self.0.contains(&m) {
            self.0.push(m);
        }
    }

    pub fn extend(&mut self, other: Warnings) {
        for w in other.0 {
            self.push(w);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &String> {
        self.0.iter()
    }
}

/// Variables Ansible strips from `ansible-inventory` output
/// (`INTERNAL_STATIC_VARS`).
pub const INTERNAL_STATIC_VARS: &[&str] = &[
    "ansible_async_path",
    "ansible_collection_name",
    "ansible_config_file",
    "ansible_dependent_role_names",
    "ansible_diff_mode",
    "ansible_facts",
    "ansible_forks",
    "ansible_inventory_sources",
    "ansible_limit",
    "ansible_play_batch",
    "ansible_play_hosts",
    "ansible_play_hosts_all",
    "ansible_play_role_names",
    "ansible_playbook_python",
    "ansible_role_name",
    "ansible_role_names",
    "ansible_run_tags",
    "ansible_skip_tags",
    "ansible_verbosity",
    "ansible_version",
    "inventory_dir",
    "inventory_file",
    "inventory_hostname",
    "inventory_hostname_short",
    "groups",
    "group_names",
    "omit",
    "hostvars",
    "playbook_dir",
    "play_hosts",
    "role_name",
    "role_names",
    "role_path",
    "role_uuid",
];

/// Python's `type(v).__name__` for JSON data.
pub fn py_type_name(v: &Json) -> &'static str {
    match v {
        Json::Null => "NoneType",
        Json::Bool(_) => "bool",
        Json::Number(n) if n.is_f64() => "float",
        Json::Number(_) => "int",
        Json::String(_) => "str",
        Json::Array(_) => "list",
        Json::Object(_) if pyfmt::marker_str(v).is_some() => "str",
        Json::Object(_) => "dict",
    }
}

/// `type(v)` as Ansible prints it for data loaded from YAML.
pub fn py_class(v: &Json) -> String {
    let name = match v {
        Json::Null => "NoneType",
        Json::Bool(_) => "bool",
        Json::Number(n) if n.is_f64() => "float",
        Json::Number(_) => "int",
        Json::String(_) => "ansible.parsing.yaml.objects.AnsibleUnicode",
        Json::Array(_) => "ansible.parsing.yaml.objects.AnsibleSequence",
        Json::Object(_) if pyfmt::marker_str(v).is_some() => {
            "ansible.utils.unsafe_proxy.AnsibleUnsafeText"
        }
        Json::Object(_) => "ansible.parsing.yaml.objects.AnsibleMapping",
    };
    format!("<class '{name}'>")
}

/// How to load an inventory.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Relative sources are resolved against this directory.
    pub cwd: PathBuf,
    /// `ansible_python_interpreter` of the implicit localhost (Ansible
    /// uses its own interpreter, `sys.executable`).
    pub python_interpreter: String,
    /// What an unmatched host pattern does (`HOST_PATTERN_MISMATCH`).
    pub pattern_mismatch: PatternMismatch,
}

/// Ansible's `HOST_PATTERN_MISMATCH` setting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PatternMismatch {
    #[default]
    Warning,
    Error,
    Ignore,
}

impl std::str::FromStr for PatternMismatch {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "warning" => Ok(PatternMismatch::Warning),
            "error" => Ok(PatternMismatch::Error),
            "ignore" => Ok(PatternMismatch::Ignore),
            _ => Err(format!(
                "Invalid value for HOST_PATTERN_MISMATCH: {s} (expected one of warning, error, ignore)"
            )),
        }
    }
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")),
            python_interpreter: "/usr/bin/python3".into(),
            pattern_mismatch: PatternMismatch::default(),
        }
    }
}

/// Precedence levels of a host's inventory variables, lowest first, as
/// `VariableManager.get_vars` combines them (default
/// `VARIABLE_PRECEDENCE`). Later levels replace earlier keys (no merging:
/// `hash_behaviour=replace`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarsLayer {
    /// `all`'s vars from inventory files (`[all:vars]`, `all: vars:`).
    InventoryFileAll,
    /// Other groups' vars from inventory files, groups sorted by depth,
    /// then `ansible_group_priority`, then name.
    InventoryFileGroups,
    /// `group_vars/all` next to each inventory source.
    InventoryGroupVarsAll,
    /// `group_vars/all` in the playbook directories.
    PlaybookGroupVarsAll,
    /// `group_vars/<group>` next to each inventory source (source by
    /// source, groups sorted as above within a source).
    InventoryGroupVars,
    /// `group_vars/<group>` in the playbook directories.
    PlaybookGroupVars,
    /// The host's vars from inventory files, plus `inventory_hostname`,
    /// `inventory_hostname_short` and `group_names`.
    InventoryFileHost,
    /// `host_vars/<host>` next to each inventory source.
    InventoryHostVars,
    /// `host_vars/<host>` in the playbook directories.
    PlaybookHostVars,
}

/// A loaded inventory.
#[derive(Debug, Clone)]
pub struct Inventory {
    pub data: InventoryData,
    sources: Vec<String>,
    python_interpreter: String,
    pub(crate) pattern_mismatch: PatternMismatch,
    cache: VarsCache,
    warnings: Warnings,
}

impl Inventory {
    /// Parses sources in order (`-i` values: paths, directories or host
    /// lists). Sources that cannot be parsed give warnings, as Ansible.
    pub fn load<S: AsRef<str>>(sources: &[S], opts: &LoadOptions) -> Inventory {
        let mut data = InventoryData::new();
        let mut warnings = Warnings::default();
        let mut list = Vec::new();
        let mut parsed = false;
        for s in sources {
            let s = s.as_ref();
            if s.is_empty() {
                continue;
            }
            let src = if s.contains(',') {
                s.to_owned()
            } else {
                sources::unfrack(s, &opts.cwd)
            };
            if data.parse_source(&src, &mut warnings) {
                parsed = true;
            }
            list.push(src);
        }
        if parsed {
            data.reconcile(&mut warnings);
        } else {
            warnings.push("No inventory was parsed, only implicit localhost is available");
        }
        Inventory {
            data,
            sources: list,
            python_interpreter: opts.python_interpreter.clone(),
            pattern_mismatch: opts.pattern_mismatch,
            cache: VarsCache::default(),
            warnings,
        }
    }

    /// What Ansible's inventory manager shows at -vvv while loading: for
    /// each source, the plugins that declined it and the one that parsed it.
    pub fn load_trace(&self) -> &[String] {
        &self.data.trace
    }

    /// Warnings raised while loading the sources.
    pub fn warnings(&self) -> &Warnings {
        &self.warnings
    }

    /// Warnings raised by vars files since the last call (duplicate keys,
    /// a `group_vars` that is not a directory).
    pub fn take_vars_warnings(&self) -> Warnings {
        self.cache.take_warnings()
    }

    /// The sources as used (paths made absolute).
    pub fn sources(&self) -> &[String] {
        &self.sources
    }

    /// Resolves a host name as `InventoryData.get_host`: an inventory
    /// host, else for `localhost`/`127.0.0.1`/`::1` the inventory's first
    /// localhost-like host or the implicit localhost.
    pub fn resolve_host(&self, name: &str) -> Option<HostRef> {
        if let Some(h) = self.data.host_id(name) {
            return Some(HostRef::Inventory(h));
        }
        if LOCALHOST.contains(&name) {
            return Some(match self.data.localhost {
                Some(h) => HostRef::Inventory(h),
                None => HostRef::Implicit(name.to_owned()),
            });
        }
        None
    }

    /// The name of a resolved host.
    pub fn host_name<'a>(&'a self, h: &'a HostRef) -> &'a str {
        match h {
            HostRef::Inventory(id) => &self.data.hosts[*id].name,
            HostRef::Implicit(n) => n,
        }
    }

    /// Group vars directories of the inventory sources (the directory of a
    /// file source, a directory source itself; host lists have none).
    fn source_dirs(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for s in &self.sources {
            let p = Path::new(s);
            if s.contains(',') && !p.exists() {
                continue;
            }
            if p.is_dir() {
                out.push(p.to_path_buf());
            } else {
                out.push(
                    p.parent()
                        .map_or_else(|| PathBuf::from("/"), Path::to_path_buf),
                );
            }
        }
        out
    }

    fn dirs_vars(
        &self,
        dirs: &[PathBuf],
        kind: EntityKind,
        names: &[&str],
    ) -> Result<Vars, InventoryError> {
        let mut out = Vars::new();
        for d in dirs {
            for n in names {
                for (k, v) in self.cache.entity_vars(d, kind, n)? {
                    out.insert(k, v);
                }
            }
        }
        Ok(out)
    }

    /// A host's variables by precedence level (see [`VarsLayer`]),
    /// lowest first. `playbook_dirs` are the playbook-adjacent bases
    /// (`ansible-inventory` uses `--playbook-dir` or the current
    /// directory).
    pub fn host_vars_layers(
        &self,
        host: &str,
        playbook_dirs: &[PathBuf],
    ) -> Result<Vec<(VarsLayer, Vars)>, InventoryError> {
        let h = self
            .resolve_host(host)
            .ok_or_else(|| InventoryError::NotFound {
                what: "host",
                got: host.to_owned(),
            })?;
        let d = &self.data;
        let (groups, own_vars, name) = match &h {
            HostRef::Inventory(id) => {
                let gs: Vec<usize> = d
                    .host_groups(*id)
                    .into_iter()
                    .filter(|&g| g != data::ALL)
                    .collect();
                (
                    d.sort_groups(gs),
                    d.hosts[*id].vars.clone(),
                    d.hosts[*id].name.clone(),
                )
            }
            HostRef::Implicit(n) => {
                let mut v = Vars::new();
                v.insert(
                    "ansible_python_interpreter".into(),
                    Json::String(self.python_interpreter.clone()),
                );
                v.insert("ansible_connection".into(), Json::String("local".into()));
                (Vec::new(), v, n.clone())
            }
        };
        let group_names: Vec<&str> = groups.iter().map(|&g| d.groups[g].name.as_str()).collect();
        let src = self.source_dirs();
        let mut layers = Vec::new();
        layers.push((
            VarsLayer::InventoryFileAll,
            d.groups[data::ALL].vars.clone(),
        ));
        let mut gv = Vars::new();
        for &g in &groups {
            for (k, v) in &d.groups[g].vars {
                gv.insert(k.clone(), v.clone());
            }
        }
        layers.push((VarsLayer::InventoryFileGroups, gv));
        layers.push((
            VarsLayer::InventoryGroupVarsAll,
            self.dirs_vars(&src, EntityKind::Group, &["all"])?,
        ));
        layers.push((
            VarsLayer::PlaybookGroupVarsAll,
            self.dirs_vars(playbook_dirs, EntityKind::Group, &["all"])?,
        ));
        layers.push((
            VarsLayer::InventoryGroupVars,
            self.dirs_vars(&src, EntityKind::Group, &group_names)?,
        ));
        layers.push((
            VarsLayer::PlaybookGroupVars,
            self.dirs_vars(playbook_dirs, EntityKind::Group, &group_names)?,
        ));
        let mut hv = own_vars;
        hv.insert("inventory_hostname".into(), Json::String(name.clone()));
        let short = if address::is_ip_address(&name) {
            name.clone()
        } else {
            name.split('.').next().unwrap_or("").to_owned()
        };
        hv.insert("inventory_hostname_short".into(), Json::String(short));
        let mut sorted_names: Vec<&str> = group_names.clone();
        sorted_names.sort_unstable();
        hv.insert(
            "group_names".into(),
            Json::Array(
                sorted_names
                    .into_iter()
                    .map(|s| Json::String(s.into()))
                    .collect(),
            ),
        );
        layers.push((VarsLayer::InventoryFileHost, hv));
        layers.push((
            VarsLayer::InventoryHostVars,
            self.dirs_vars(&src, EntityKind::Host, &[&name])?,
        ));
        layers.push((
            VarsLayer::PlaybookHostVars,
            self.dirs_vars(playbook_dirs, EntityKind::Host, &[&name])?,
        ));
        Ok(layers)
    }

    /// A host's inventory variables, all levels combined (see
    /// [`VarsLayer`]); includes `inventory_hostname`, `group_names`,
    /// `inventory_file` and `inventory_dir`.
    pub fn host_vars(&self, host: &str, playbook_dirs: &[PathBuf]) -> Result<Vars, InventoryError> {
        let mut out = Vars::new();
        for (_, layer) in self.host_vars_layers(host, playbook_dirs)? {
            for (k, v) in layer {
                out.insert(k, v);
            }
        }
        Ok(out)
    }

    /// A group's own variables as `ansible-inventory` shows them
    /// (`--graph --vars`, `--export`): inventory file vars, then
    /// `group_vars/<group>` next to the sources, then in `playbook_dir`,
    /// and `ansible_group_priority` when not 1.
    pub fn group_vars(
        &self,
        group: &str,
        playbook_dir: Option<&Path>,
    ) -> Result<Vars, InventoryError> {
        let g = self
            .data
            .group(group)
            .ok_or_else(|| InventoryError::NotFound {
                what: "group",
                got: group.to_owned(),
            })?;
        let mut out = g.vars.clone();
        for (k, v) in self.dirs_vars(&self.source_dirs(), EntityKind::Group, &[group])? {
            out.insert(k, v);
        }
        if let Some(p) = playbook_dir {
            for (k, v) in self.dirs_vars(&[p.to_path_buf()], EntityKind::Group, &[group])? {
                out.insert(k, v);
            }
        }
        if g.priority != 1 {
            out.insert("ansible_group_priority".into(), Json::from(g.priority));
        }
        Ok(out)
    }

    /// `Host.get_vars()` plus `host_vars/` files: what `--export` shows for
    /// a host.
    pub fn host_export_vars(
        &self,
        host: &str,
        playbook_dir: Option<&Path>,
    ) -> Result<Vars, InventoryError> {
        let layers = self.host_vars_layers(host, &[])?;
        let mut out = Vars::new();
        for (layer, vars) in layers {
            if matches!(
                layer,
                VarsLayer::InventoryFileHost | VarsLayer::InventoryHostVars
            ) {
                for (k, v) in vars {
                    out.insert(k, v);
                }
            }
        }
        if let Some(p) = playbook_dir {
            for (k, v) in self.dirs_vars(&[p.to_path_buf()], EntityKind::Host, &[host])? {
                out.insert(k, v);
            }
        }
        Ok(out)
    }
}

/// A host as patterns resolve it: an inventory host or the implicit
/// localhost.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HostRef {
    Inventory(usize),
    Implicit(String),
}

/// Removes [`INTERNAL_STATIC_VARS`] (as `ansible-inventory` does).
pub fn remove_internal(mut vars: Vars) -> Vars {
    for k in INTERNAL_STATIC_VARS {
        vars.shift_remove(*k);
    }
    vars
}
