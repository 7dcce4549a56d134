//! `ansible-inventory` output: `--list` (inventory script JSON), `--graph`
//! (with `--vars`) and `--host`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value as Json};

use crate::data::{GroupId, ALL};
use crate::pyfmt::py_str;
use crate::{remove_internal, HostOrder, Inventory, InventoryError, Limit, Vars, Warnings};

/// Where playbook-adjacent vars come from, as `ansible-inventory` sees it.
#[derive(Debug, Clone)]
pub struct OutputOptions {
    /// `--playbook-dir`, if given.
    pub playbook_dir: Option<PathBuf>,
    /// The current directory (the playbook dir when none is given).
    pub cwd: PathBuf,
    /// `--export`.
    pub export: bool,
}

impl OutputOptions {
    fn basedirs(&self) -> Vec<PathBuf> {
        vec![self
            .playbook_dir
            .clone()
            .unwrap_or_else(|| self.cwd.clone())]
    }
}

/// Why an `ansible-inventory` request failed.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// Bad use of the options (Ansible exits 5).
    #[error("{0}")]
    Options(String),
    /// `--host` did not select exactly one host (Ansible exits 5); the
    /// warnings of the pattern come along.
    #[error("You must pass a single valid host to --host parameter")]
    HostCount { got: usize, warnings: Warnings },
    #[error(transparent)]
    Inventory(#[from] InventoryError),
}

fn host_variables(
    inv: &Inventory,
    host: &str,
    opts: &OutputOptions,
) -> Result<Vars, InventoryError> {
    let vars = if opts.export {
        inv.host_export_vars(host, opts.playbook_dir.as_deref())?
    } else {
        inv.host_vars(host, &opts.basedirs())?
    };
    Ok(remove_internal(vars))
}

fn group_variables(
    inv: &Inventory,
    group: &str,
    opts: &OutputOptions,
) -> Result<Vars, InventoryError> {
    Ok(remove_internal(
        inv.group_vars(group, opts.playbook_dir.as_deref())?,
    ))
}

/// `ansible-inventory --list` as JSON data, and the warnings raised.
pub fn list(
    inv: &Inventory,
    limit: Option<&Limit>,
    opts: &OutputOptions,
) -> Result<(Json, Warnings), InventoryError> {
    let sel = inv.get_hosts(&["all"], limit, HostOrder::Inventory)?;
    let available: HashSet<&str> = sel.hosts.iter().map(String::as_str).collect();
    let mut results = Map::new();
    let mut seen = HashSet::new();
    format_group(inv, ALL, &available, &mut seen, opts, &mut results)?;
    let mut hostvars = Map::new();
    for h in &sel.hosts {
        let v = host_variables(inv, h, opts)?;
        if !v.is_empty() {
            hostvars.insert(h.clone(), Json::Object(v));
        }
    }
    let mut meta = Map::new();
    meta.insert("hostvars".into(), Json::Object(hostvars));
    results.insert("_meta".into(), Json::Object(meta));
    Ok((Json::Object(results), sel.warnings))
}

fn format_group(
    inv: &Inventory,
    g: GroupId,
    available: &HashSet<&str>,
    seen: &mut HashSet<GroupId>,
    opts: &OutputOptions,
    results: &mut Map<String, Json>,
) -> Result<(), InventoryError> {
    let d = &inv.data;
    let group = &d.groups[g];
    let mut entry = Map::new();
    if g != ALL {
        let hosts: Vec<Json> = group
            .hosts
            .iter()
            .map(|&h| d.hosts[h].name.as_str())
            .filter(|n| available.contains(n))
            .map(|n| Json::String(n.to_owned()))
            .collect();
        if !hosts.is_empty() {
            entry.insert("hosts".into(), Json::Array(hosts));
        }
    }
    let mut children = Vec::new();
    // the group's own entry goes in first, as Python's dict order would
    results.insert(group.name.clone(), Json::Null);
    for &c in &group.child_groups {
        children.push(Json::String(d.groups[c].name.clone()));
        if !seen.contains(&c) {
            format_group(inv, c, available, seen, opts, results)?;
            seen.insert(c);
        }
    }
    if !children.is_empty() {
        entry.insert("children".into(), Json::Array(children));
    }
    if opts.export {
        let v = group_variables(inv, &group.name, opts)?;
        if !v.is_empty() {
            entry.insert("vars".into(), Json::Object(v));
        }
    }
    if entry.is_empty() {
        results.shift_remove(&group.name);
    } else {
        results.insert(group.name.clone(), Json::Object(entry));
    }
    Ok(())
}

/// `ansible-inventory --graph [GROUP] [--vars]`.
pub fn graph(
    inv: &Inventory,
    group: &str,
    show_vars: bool,
    opts: &OutputOptions,
) -> Result<String, OutputError> {
    let g = inv.data.group_id(group).ok_or_else(|| {
        OutputError::Options("Pattern must be valid group name when using --graph".into())
    })?;
    let mut lines = Vec::new();
    graph_group(inv, g, 0, show_vars, opts, &mut lines)?;
    Ok(lines.join("\n"))
}

fn graph_name(name: &str, depth: usize) -> String {
    if depth == 0 {
        name.to_owned()
    } else {
        format!("{}--{name}", "  |".repeat(depth))
    }
}

fn show_vars(vars: &Vars, depth: usize, lines: &mut Vec<String>) {
    let mut keys: Vec<&String> = vars.keys().collect();
    keys.sort();
    for k in keys {
        lines.push(graph_name(
            &format!("{{{k} = {}}}", py_str(&vars[k])),
            depth,
        ));
    }
}

fn graph_group(
    inv: &Inventory,
    g: GroupId,
    depth: usize,
    vars: bool,
    opts: &OutputOptions,
    lines: &mut Vec<String>,
) -> Result<(), InventoryError> {
    let d = &inv.data;
    let group = &d.groups[g];
    lines.push(graph_name(&format!("@{}:", group.name), depth));
    for &c in &group.child_groups {
        graph_group(inv, c, depth + 1, vars, opts, lines)?;
    }
    if g != ALL {
        for &h in &group.hosts {
            let name = &d.hosts[h].name;
            lines.push(graph_name(name, depth + 1));
            if vars {
                show_vars(&host_variables(inv, name, opts)?, depth + 2, lines);
            }
        }
    }
    if vars {
        show_vars(&group_variables(inv, &group.name, opts)?, depth + 1, lines);
    }
    Ok(())
}

/// `ansible-inventory --host HOST`: the host's variables (HOST is a
/// pattern that must select exactly one host).
pub fn host(
    inv: &Inventory,
    pattern: &str,
    opts: &OutputOptions,
) -> Result<(Json, Warnings), OutputError> {
    let sel = inv.get_hosts(&[pattern], None, HostOrder::Inventory)?;
    if sel.hosts.len() != 1 {
        return Err(OutputError::HostCount {
            got: sel.hosts.len(),
            warnings: sel.warnings,
        });
    }
    let v = host_variables(inv, &sel.hosts[0], opts)?;
    Ok((Json::Object(v), sel.warnings))
}

/// The directory `ansible-inventory` uses for playbook-adjacent vars.
pub fn default_basedir(playbook_dir: Option<&Path>, cwd: &Path) -> PathBuf {
    playbook_dir.map_or_else(|| cwd.to_path_buf(), Path::to_path_buf)
}
