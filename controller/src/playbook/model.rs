//! The parsed playbook: plays, blocks, tasks and roles with their raw
//! (untemplated) keyword values and source positions.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};

use super::error::SrcPos;

/// A keyword value as written, with where it was written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attr {
    pub value: Value,
    #[serde(skip)]
    pub pos: SrcPos,
    /// For a list value, where each item was written (errors in a `when`
    /// list point at the failing item).
    #[serde(skip)]
    pub item_pos: Vec<SrcPos>,
}

/// Keywords of a play, block, task or role reference.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Attrs(pub BTreeMap<String, Attr>);

impl Attrs {
    pub fn get(&self, k: &str) -> Option<&Value> {
        self.0.get(k).map(|a| &a.value)
    }
    pub fn pos(&self, k: &str) -> Option<&SrcPos> {
        self.0.get(k).map(|a| &a.pos)
    }
    pub fn insert(&mut self, k: &str, value: Value, pos: SrcPos) {
        self.0.insert(
            k.to_owned(),
            Attr {
                value,
                pos,
                item_pos: Vec::new(),
            },
        );
    }
    /// Records where the items of a list-valued keyword were written.
    pub fn set_item_pos(&mut self, k: &str, item_pos: Vec<SrcPos>) {
        if let Some(a) = self.0.get_mut(k) {
            a.item_pos = item_pos;
        }
    }
    pub fn contains(&self, k: &str) -> bool {
        self.0.contains_key(k)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Playbook {
    pub path: PathBuf,
    pub plays: Vec<Play>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Play {
    #[serde(skip)]
    pub pos: SrcPos,
    /// The directory of the playbook file the play is in.
    pub basedir: PathBuf,
    /// Every keyword but the sections below.
    pub attrs: Attrs,
    pub vars: Map<String, Value>,
    pub pre_tasks: Vec<Item>,
    pub roles: Vec<RoleRef>,
    pub tasks: Vec<Item>,
    pub post_tasks: Vec<Item>,
    pub handlers: Vec<Item>,
    /// Keywords inherited from `import_playbook` (when, tags, vars).
    pub import_attrs: Vec<Attrs>,
    /// Defaults and vars of roles imported with `import_role` (public).
    pub role_defaults: Map<String, Value>,
    pub role_vars: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Item {
    Task(Task),
    Block(Block),
}

/// Where a task came from when it belongs to a role.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoleInfo {
    pub name: String,
    pub path: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Block {
    #[serde(skip)]
    pub pos: SrcPos,
    pub attrs: Attrs,
    pub block: Vec<Item>,
    pub rescue: Vec<Item>,
    pub always: Vec<Item>,
    /// Made from a static import (`import_tasks`/`import_role`), not written
    /// as a block.
    pub implicit: bool,
    pub role: Option<Arc<RoleInfo>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Task {
    #[serde(skip)]
    pub pos: SrcPos,
    /// The action as written (`ansible.builtin.copy`).
    pub action: String,
    /// The canonical short name (`copy`).
    pub module: String,
    /// Module arguments, untemplated.
    pub args: Map<String, Value>,
    /// Task keywords (name, when, loop, register, ...), untemplated.
    pub attrs: Attrs,
    /// The loop lookup of `with_<lookup>`, if any.
    pub loop_with: Option<String>,
    pub handler: bool,
    pub role: Option<Arc<RoleInfo>>,
    /// The directory relative includes resolve against.
    pub basedir: PathBuf,
}

impl Task {
    pub fn name(&self) -> Option<&str> {
        self.attrs.get("name").and_then(Value::as_str)
    }
}

/// A role named in `roles:` or `meta/main.yml` dependencies, resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoleRef {
    #[serde(skip)]
    pub pos: SrcPos,
    pub name: String,
    pub path: PathBuf,
    /// Role parameters (keys that are not role keywords).
    pub params: Map<String, Value>,
    pub attrs: Attrs,
    pub role: Arc<Role>,
}

/// A role instance's identity, as Ansible compares roles (its role cache):
/// equal identities are the same role, which runs once per host unless
/// duplicates are allowed. Kept as text in the `_role_ident` attribute of
/// the role's block.
pub fn role_identity(
    path: &std::path::Path,
    params: &Map<String, Value>,
    attrs: &Attrs,
    vars: &Map<String, Value>,
    from_files: &Map<String, Value>,
    from_include: bool,
) -> Value {
    let ident = serde_json::json!({
        "path": path.display().to_string(),
        "params": params,
        "when": attrs.get("when"),
        "tags": attrs.get("tags"),
        "vars": vars,
        "from_files": from_files,
        "from_include": from_include,
    });
    Value::String(ident.to_string())
}

/// A loaded role.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Role {
    pub info: Arc<RoleInfo>,
    pub tasks: Vec<Item>,
    pub handlers: Vec<Item>,
    pub defaults: Map<String, Value>,
    pub vars: Map<String, Value>,
    pub dependencies: Vec<RoleRef>,
    pub allow_duplicates: bool,
}
