//! `script`: the script is found on the controller, shipped to the host
//! as an asset and run there by the runner's `script` module.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustle_template::Vars;
use serde_json::{json, Map, Value};

use super::{action_fail, done, module_call, Done, Runner, Scheduled};
use crate::exec::action_docs;
use crate::exec::value_to_string;

/// Ansible's `_find_needle`: the places searched for `name` under `sub`,
/// in order (roles first, then the task's and the playbook's directory).
pub(super) fn needle_candidates(
    s: &Scheduled,
    sub: &str,
    name: &str,
    playbook_dir: &Path,
) -> Vec<PathBuf> {
    let p = Path::new(name);
    if p.is_absolute() {
        return vec![p.to_path_buf()];
    }
    let role = s
        .task
        .role
        .as_ref()
        .or_else(|| s.parents.iter().rev().find_map(|b| b.role.as_ref()));
    let mut cands = Vec::new();
    if let Some(role) = role {
        cands.push(role.path.join(sub).join(name));
        cands.push(role.path.join(name));
        cands.push(role.path.join("tasks").join(sub).join(name));
        cands.push(role.path.join("tasks").join(name));
    }
    cands.push(s.task.basedir.join(sub).join(name));
    cands.push(s.task.basedir.join(name));
    cands.push(playbook_dir.join(sub).join(name));
    cands.push(playbook_dir.join(name));
    cands
}

/// The file, or Ansible's `AnsibleFileNotFound` failure (message and
/// exception, as a result) listing where it looked.
pub(super) fn find_needle(
    s: &Scheduled,
    sub: &str,
    name: &str,
    playbook_dir: &Path,
) -> Result<PathBuf, Value> {
    let cands = needle_candidates(s, sub, name, playbook_dir);
    if let Some(found) = cands.iter().find(|c| c.exists()) {
        return Ok(found.clone());
    }
    let list: Vec<String> = cands.iter().map(|c| c.display().to_string()).collect();
    let msg = format!(
        "Could not find or access '{name}'\nSearched in:\n\t{} on the Ansible Controller.\nIf you are using a module and expect the file to exist on the remote, see the remote_src option",
        list.join("\n\t")
    );
    Err(json!({
        "changed": false,
        "failed": true,
        "msg": msg,
        "exception": format!("Traceback (most recent call last):\nansible.errors.AnsibleFileNotFound: {msg}\n"),
    }))
}

pub(super) fn script(
    r: &Runner<'_>,
    s: &Scheduled,
    args: &Map<String, Value>,
    vars: &Arc<dyn Vars>,
) -> Done {
    // Ansible moves a `cmd` given instead of the free form into it.
    let mut args = args.clone();
    if args.get("_raw_params").is_none_or(Value::is_null) {
        if let Some(c) = args.get("cmd").filter(|c| !c.is_null()).cloned() {
            args.insert("_raw_params".into(), c);
            args.remove("cmd");
        }
    }
    // `decrypt` is the action's own option, taken before the module's
    // arguments are validated (it is not among the supported parameters
    // Ansible lists).
    let decrypt = args
        .remove("decrypt")
        .is_none_or(|v| crate::exec::truthy(&v));
    let checked = match action_docs::validate("script", &args) {
        Ok(a) => a,
        Err(msg) => return action_fail(msg),
    };
    if let Some(chdir) = checked.str("chdir").filter(|c| !c.is_empty()) {
        if !chdir.starts_with('/') {
            return action_fail(format!(
                "chdir {chdir} must be an absolute path for a Unix-aware remote node"
            ));
        }
    }
    let raw = checked
        .get("_raw_params")
        .map(value_to_string)
        .unwrap_or_default();
    let parts = shlex::split(raw.trim()).unwrap_or_default();
    let Some(token) = parts.first().cloned() else {
        return action_fail("one of the following is required: _raw_params, cmd");
    };
    let path = match find_needle(s, "files", &token, &r.playbook_dir) {
        Ok(p) => p,
        Err(v) => return done(v),
    };
    // A vaulted script is decrypted here unless `decrypt: false`.
    let bytes = match super::read_src(&path, decrypt) {
        Ok(b) => b,
        Err(e) => return action_fail(format!("Could not read {}: {e}", path.display())),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "script".into());
    let mut margs = Map::new();
    margs.insert("_raw_params".into(), Value::from(raw));
    margs.insert("_script_token".into(), Value::from(token));
    margs.insert("_script_name".into(), Value::from(name));
    for k in ["creates", "removes", "chdir", "executable"] {
        if let Some(v) = checked.str(k) {
            margs.insert(k.into(), Value::from(v));
        }
    }
    module_call(r, s, "script", margs, vars, Some(bytes))
}
