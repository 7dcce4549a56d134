//! Hosts and groups with Ansible's relationships (`InventoryData`, `Group`,
//! `Host`): insertion order everywhere, depth and priority, ancestors, the
//! `all`/`ungrouped` rules of `reconcile_inventory`.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value as Json};

use crate::Warnings;

/// Variables as Rustle carries them.
pub type Vars = Map<String, Json>;

/// Names Ansible treats as the local machine.
pub const LOCALHOST: [&str; 3] = ["127.0.0.1", "localhost", "::1"];

/// Index of a group in [`InventoryData::groups`].
pub type GroupId = usize;
/// Index of a host in [`InventoryData::hosts`].
pub type HostId = usize;

/// A group of hosts.
#[derive(Debug, Clone)]
pub struct Group {
    pub name: String,
    /// Hosts added directly to this group, in order.
    pub hosts: Vec<HostId>,
    /// Variables set by inventory sources (not group_vars files).
    pub vars: Vars,
    pub child_groups: Vec<GroupId>,
    pub parent_groups: Vec<GroupId>,
    pub depth: u32,
    /// `ansible_group_priority` (default 1).
    pub priority: i64,
}

/// A host.
#[derive(Debug, Clone)]
pub struct Host {
    pub name: String,
    /// Variables set by inventory sources (not host_vars files), including
    /// `inventory_file`/`inventory_dir` as Ansible sets them.
    pub vars: Vars,
    /// Groups this host was added to directly, in order.
    pub direct_groups: Vec<GroupId>,
    /// The implicit `localhost` (not in the inventory).
    pub implicit: bool,
}

/// The inventory's hosts and groups.
#[derive(Debug, Clone)]
pub struct InventoryData {
    pub groups: Vec<Group>,
    pub hosts: Vec<Host>,
    group_index: HashMap<String, GroupId>,
    host_index: HashMap<String, HostId>,
    /// The first localhost-like host of the inventory.
    pub localhost: Option<HostId>,
    /// The source being parsed (sets `inventory_file` on new hosts).
    pub(crate) current_source: Option<String>,
    /// What the inventory manager reports at -vvv while trying plugins
    /// (`Parsed ... with ini plugin`, `yaml declined parsing ...`).
    pub(crate) trace: Vec<String>,
}

pub const ALL: GroupId = 0;
pub const UNGROUPED: GroupId = 1;

/// Ansible's `INVALID_VARIABLE_NAMES`: `^[\d\W]|[^\w]`.
fn invalid_group_name(name: &str) -> bool {
    let mut cs = name.chars();
    match cs.next() {
        None => false,
        Some(c) if c.is_numeric() || !(c.is_alphanumeric() || c == '_') => true,
        Some(_) => cs.any(|c| !(c.is_alphanumeric() || c == '_')),
    }
}

impl Default for InventoryData {
    fn default() -> Self {
        Self::new()
    }
}

impl InventoryData {
    pub fn new() -> Self {
        let mut d = InventoryData {
            groups: Vec::new(),
            hosts: Vec::new(),
            group_index: HashMap::new(),
            host_index: HashMap::new(),
            localhost: None,
            current_source: None,
            trace: Vec::new(),
        };
        let mut w = Warnings::default();
        d.add_group("all", &mut w);
        d.add_group("ungrouped", &mut w);
        d.add_child_group(ALL, UNGROUPED).ok();
        d
    }

    pub fn group_id(&self, name: &str) -> Option<GroupId> {
        self.group_index.get(name).copied()
    }

    pub fn host_id(&self, name: &str) -> Option<HostId> {
        self.host_index.get(name).copied()
    }

    pub fn group(&self, name: &str) -> Option<&Group> {
        self.group_id(name).map(|g| &self.groups[g])
    }

    pub fn host(&self, name: &str) -> Option<&Host> {
        self.host_id(name).map(|h| &self.hosts[h])
    }

    /// Adds a group if new; warns as Ansible does (default
    /// `TRANSFORM_INVALID_GROUP_CHARS=never`) about names that are not
    /// valid variable names.
    pub fn add_group(&mut self, name: &str, warnings: &mut Warnings) -> GroupId {
        if let Some(g) = self.group_id(name) {
            return g;
        }
        if invalid_group_name(name) {
            warnings.push(
                "Invalid characters were found in group names but not replaced, use -vvvv to see details",
            );
        }
        let id = self.groups.len();
        self.groups.push(Group {
            name: name.to_owned(),
            hosts: Vec::new(),
            vars: Vars::new(),
            child_groups: Vec::new(),
            parent_groups: Vec::new(),
            depth: 0,
            priority: 1,
        });
        self.group_index.insert(name.to_owned(), id);
        id
    }

    /// Adds a host if new (with `ansible_port` when a port is given, and
    /// `inventory_file`/`inventory_dir`), and to `group` if given.
    pub fn add_host(
        &mut self,
        name: &str,
        group: Option<GroupId>,
        port: Option<u64>,
        warnings: &mut Warnings,
    ) -> HostId {
        let id = match self.host_id(name) {
            Some(h) => h,
            None => {
                let mut vars = Vars::new();
                if let Some(p) = port.filter(|&p| p != 0) {
                    vars.insert("ansible_port".into(), Json::from(p));
                }
                let (file, dir) = match &self.current_source {
                    Some(src) => (
                        Json::String(src.clone()),
                        Json::String(crate::sources::basedir(src)),
                    ),
                    None => (Json::Null, Json::Null),
                };
                vars.insert("inventory_file".into(), file);
                vars.insert("inventory_dir".into(), dir);
                let id = self.hosts.len();
                self.hosts.push(Host {
                    name: name.to_owned(),
                    vars,
                    direct_groups: Vec::new(),
                    implicit: false,
                });
                self.host_index.insert(name.to_owned(), id);
                if LOCALHOST.contains(&name) {
                    match self.localhost {
                        None => self.localhost = Some(id),
                        Some(first) => warnings.push(format!(
                            "A duplicate localhost-like entry was found ({name}). First found localhost was {}",
                            self.hosts[first].name
                        )),
                    }
                }
                id
            }
        };
        if let Some(g) = group {
            self.add_host_to_group(g, id);
        }
        id
    }

    pub fn add_host_to_group(&mut self, g: GroupId, h: HostId) -> bool {
        if self.groups[g].hosts.contains(&h) {
            return false;
        }
        self.groups[g].hosts.push(h);
        if !self.hosts[h].direct_groups.contains(&g) {
            self.hosts[h].direct_groups.push(g);
        }
        true
    }

    fn remove_host_from_group(&mut self, g: GroupId, h: HostId) {
        self.groups[g].hosts.retain(|&x| x != h);
        self.hosts[h].direct_groups.retain(|&x| x != g);
    }

    /// All ancestors of a group (not itself).
    pub fn ancestors(&self, g: GroupId) -> HashSet<GroupId> {
        let mut seen = HashSet::new();
        let mut todo: Vec<GroupId> = self.groups[g].parent_groups.clone();
        while let Some(x) = todo.pop() {
            if seen.insert(x) {
                todo.extend(self.groups[x].parent_groups.iter().copied());
            }
        }
        seen
    }

    /// `Group.add_child_group`: errors on loops as Ansible does.
    pub fn add_child_group(&mut self, parent: GroupId, child: GroupId) -> Result<bool, String> {
        if parent == child {
            return Err("can't add group to itself".into());
        }
        if self.groups[parent].child_groups.contains(&child) {
            return Ok(false);
        }
        if self.ancestors(parent).contains(&child) {
            return Err(format!(
                "Adding group '{}' as child to '{}' creates a recursive dependency loop.",
                self.groups[child].name, self.groups[parent].name
            ));
        }
        self.groups[parent].child_groups.push(child);
        let d = self.groups[parent].depth + 1;
        if d > self.groups[child].depth {
            self.groups[child].depth = d;
        }
        self.check_children_depth(child)?;
        if !self.groups[child].parent_groups.contains(&parent) {
            self.groups[child].parent_groups.push(parent);
        }
        Ok(true)
    }

    fn check_children_depth(&mut self, g: GroupId) -> Result<(), String> {
        let start = self.groups[g].depth;
        let mut depth = start;
        let mut seen: HashSet<GroupId> = HashSet::new();
        let mut unprocessed: Vec<GroupId> = self.groups[g].child_groups.clone();
        while !unprocessed.is_empty() {
            seen.extend(unprocessed.iter().copied());
            depth += 1;
            let mut next = Vec::new();
            for x in unprocessed {
                if self.groups[x].depth < depth {
                    self.groups[x].depth = depth;
                    for &c in &self.groups[x].child_groups {
                        if !next.contains(&c) {
                            next.push(c);
                        }
                    }
                }
            }
            unprocessed = next;
            if (depth - start) as usize > seen.len() {
                return Err(format!(
                    "The group named '{}' has a recursive dependency loop.",
                    self.groups[g].name
                ));
            }
        }
        Ok(())
    }

    /// `InventoryData.add_child`: a group or (failing that) a host.
    pub fn add_child(&mut self, group: &str, child: &str) -> Result<bool, String> {
        let g = self
            .group_id(group)
            .ok_or_else(|| format!("{group} is not a known group"))?;
        if let Some(c) = self.group_id(child) {
            self.add_child_group(g, c)
        } else if let Some(h) = self.host_id(child) {
            Ok(self.add_host_to_group(g, h))
        } else {
            Err(format!("{child} is not a known host nor group"))
        }
    }

    /// `Group.set_variable` / `Host.set_variable` (`ansible_group_priority`
    /// sets the priority instead).
    pub fn set_group_var(&mut self, g: GroupId, key: &str, value: Json) -> Result<(), String> {
        if key == "ansible_group_priority" {
            self.groups[g].priority = py_int_value(&value)?;
        } else {
            self.groups[g].vars.insert(key.to_owned(), value);
        }
        Ok(())
    }

    pub fn set_host_var(&mut self, h: HostId, key: &str, value: Json) {
        self.hosts[h].vars.insert(key.to_owned(), value);
    }

    /// Every group the host belongs to: its groups and their ancestors.
    pub fn host_groups(&self, h: HostId) -> Vec<GroupId> {
        let mut out: Vec<GroupId> = Vec::new();
        for &g in &self.hosts[h].direct_groups {
            let mut anc: Vec<GroupId> = self.ancestors(g).into_iter().collect();
            anc.sort_unstable();
            for a in anc {
                if !out.contains(&a) {
                    out.push(a);
                }
            }
            if !out.contains(&g) {
                out.push(g);
            }
        }
        out
    }

    /// Groups sorted as `sort_groups`: by depth, priority, then name.
    pub fn sort_groups(&self, mut groups: Vec<GroupId>) -> Vec<GroupId> {
        groups.sort_by(|&a, &b| {
            let (ga, gb) = (&self.groups[a], &self.groups[b]);
            (ga.depth, ga.priority, &ga.name).cmp(&(gb.depth, gb.priority, &gb.name))
        });
        groups
    }

    /// `Group.get_hosts`: the group's hosts, then its descendants' in
    /// breadth-first order (the implicit localhost is never in `all`).
    ///
    /// Ansible walks each level of descendants through a Python `set`, so
    /// where two groups at the same level both have children, the order of
    /// those grandchildren's hosts depends on object addresses; we use the
    /// order in which the groups were reached.
    pub fn group_hosts(&self, g: GroupId) -> Vec<HostId> {
        let mut ordered = vec![g];
        ordered.extend(self.groups[g].child_groups.iter().copied());
        let mut seen: HashSet<GroupId> = ordered.iter().copied().collect();
        let mut level: Vec<GroupId> = ordered.clone();
        while !level.is_empty() {
            let mut next = Vec::new();
            for &x in &level {
                for &c in &self.groups[x].child_groups {
                    if !seen.contains(&c) && !next.contains(&c) {
                        next.push(c);
                    }
                }
            }
            for &c in &next {
                ordered.push(c);
                seen.insert(c);
            }
            level = next;
        }
        let mut hosts = Vec::new();
        let mut seen_h = HashSet::new();
        for x in ordered {
            for &h in &self.groups[x].hosts {
                if seen_h.insert(h) {
                    hosts.push(h);
                }
            }
        }
        hosts
    }

    /// `reconcile_inventory`: top-level groups become children of `all`;
    /// hosts in no group go to `ungrouped`, hosts in another group leave it.
    pub fn reconcile(&mut self, warnings: &mut Warnings) {
        self.current_source = None;
        for g in 0..self.groups.len() {
            if g != ALL && self.ancestors(g).is_empty() {
                self.add_child_group(ALL, g).ok();
            }
        }
        for h in 0..self.hosts.len() {
            let groups = self.host_groups(h);
            if groups.contains(&UNGROUPED) {
                if groups.iter().any(|&g| g != ALL && g != UNGROUPED) {
                    self.remove_host_from_group(UNGROUPED, h);
                }
            } else if !self.hosts[h].implicit
                && (groups.is_empty() || (groups.len() == 1 && groups[0] == ALL))
            {
                let name = self.hosts[h].name.clone();
                self.add_child("ungrouped", &name).ok();
            }
        }
        let mut names: Vec<&str> = self
            .groups
            .iter()
            .filter(|g| self.host_index.contains_key(&g.name))
            .map(|g| g.name.as_str())
            .collect();
        names.sort_unstable();
        for n in names {
            warnings.push(format!("Found both group and host with same name: {n}"));
        }
    }
}

/// Python's `int(value)` for `ansible_group_priority`.
fn py_int_value(v: &Json) -> Result<i64, String> {
    match v {
        Json::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f.trunc() as i64))
            .ok_or_else(|| format!("invalid priority {n}")),
        Json::Bool(b) => Ok(i64::from(*b)),
        Json::String(s) => s
            .trim()
            .replace('_', "")
            .parse::<i64>()
            .map_err(|_| format!("invalid literal for int() with base 10: '{s}'")),
        other => Err(format!(
            "int() argument must be a string, a bytes-like object or a real number, not '{}'",
            crate::py_type_name(other)
        )),
    }
}
