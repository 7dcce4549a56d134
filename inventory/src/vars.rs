//! `group_vars/` and `host_vars/` files (Ansible's `host_group_vars` vars
//! plugin and `DataLoader.find_vars_files`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::Value as Json;

use crate::data::Vars;
use crate::sources::{load_data, py_falsy, splitext_ext, YAML_EXTS};
use crate::{py_type_name, InventoryError, Warnings};

/// Which vars directory to look in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntityKind {
    Group,
    Host,
}

impl EntityKind {
    fn subdir(self) -> &'static str {
        match self {
            EntityKind::Group => "group_vars",
            EntityKind::Host => "host_vars",
        }
    }
}

/// A loaded vars file: its mapping (`None` when empty) or why not.
type FileVars = Result<Option<Vars>, String>;

/// Loaded vars files, kept for the life of the inventory (Ansible caches
/// them too).
#[derive(Debug, Default)]
pub struct VarsCache {
    files: Mutex<HashMap<PathBuf, Arc<FileVars>>>,
    warnings: Mutex<Warnings>,
}

impl Clone for VarsCache {
    fn clone(&self) -> Self {
        VarsCache::default()
    }
}

impl VarsCache {
    /// Warnings raised while loading vars files (duplicate keys,
    /// `group_vars` that is not a directory), drained.
    pub fn take_warnings(&self) -> Warnings {
        self.warnings
            .lock()
            .map(|mut w| std::mem::take(&mut *w))
            .unwrap_or_default()
    }

    fn warn(&self, msg: String) {
        if let Ok(mut w) = self.warnings.lock() {
            w.push(msg);
        }
    }

    fn load_file(&self, path: &Path) -> Result<Option<Vars>, InventoryError> {
        let cached = self.files.lock().ok().and_then(|f| f.get(path).cloned());
        let result = match cached {
            Some(r) => r,
            None => {
                let r = Arc::new(self.read_file(path));
                if let Ok(mut f) = self.files.lock() {
                    f.insert(path.to_path_buf(), r.clone());
                }
                r
            }
        };
        match &*result {
            Ok(v) => Ok(v.clone()),
            Err(msg) => Err(InventoryError::VarsFile {
                file: path.display().to_string(),
                message: msg.clone(),
            }),
        }
    }

    fn read_file(&self, path: &Path) -> Result<Option<Vars>, String> {
        let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
        let file = path.display().to_string();
        let mut ws = Warnings::default();
        let data = load_data(&text, &file, &mut ws)?;
        for w in ws.0 {
            self.warn(w);
        }
        if py_falsy(&data) {
            return Ok(None);
        }
        match data {
            Json::Object(m) if crate::pyfmt::marker_str(&Json::Object(m.clone())).is_none() => {
                Ok(Some(m))
            }
            other => Err(format!(
                "failed to combine variables, expected dicts but got a 'dict' and a '{}'",
                py_type_name(&other)
            )),
        }
    }

    /// Vars for one entity from `<dir>/group_vars` or `<dir>/host_vars`.
    pub fn entity_vars(
        &self,
        dir: &Path,
        kind: EntityKind,
        name: &str,
    ) -> Result<Vars, InventoryError> {
        let mut data = Vars::new();
        if name.is_empty() || name.starts_with('/') {
            return Ok(data);
        }
        let base = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        let opath = base.join(kind.subdir());
        if !opath.is_dir() {
            if opath.exists() {
                self.warn(format!(
                    "Found {} that is not a directory, skipping: {}",
                    kind.subdir(),
                    opath.display()
                ));
            }
            return Ok(data);
        }
        for f in find_vars_files(&opath, name) {
            if let Some(v) = self.load_file(&f)? {
                for (k, val) in v {
                    data.insert(k, val);
                }
            }
        }
        Ok(data)
    }
}

/// `DataLoader.find_vars_files(path, name)`: `name`, `name.yml`,
/// `name.yaml`, `name.json` (first that exists); a directory gives all its
/// files, recursively, in sorted order.
pub fn find_vars_files(path: &Path, name: &str) -> Vec<PathBuf> {
    let base = path.join(name);
    for ext in std::iter::once("").chain(YAML_EXTS) {
        let full = if ext.is_empty() {
            base.clone()
        } else {
            PathBuf::from(format!("{}{ext}", base.display()))
        };
        if full.exists() {
            return if full.is_dir() {
                dir_vars_files(&full)
            } else {
                vec![full]
            };
        }
    }
    Vec::new()
}

fn dir_vars_files(path: &Path) -> Vec<PathBuf> {
    let mut names: Vec<String> = match std::fs::read_dir(path) {
        Ok(rd) => rd
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => return Vec::new(),
    };
    names.sort();
    let mut found = Vec::new();
    for n in names {
        if n.starts_with('.') || n.ends_with('~') {
            continue;
        }
        let ext = splitext_ext(&n);
        let full = path.join(&n);
        if full.is_dir() && ext.is_empty() {
            found.extend(dir_vars_files(&full));
        } else if full.is_file() && (ext.is_empty() || YAML_EXTS.contains(&ext)) {
            found.push(full);
        }
    }
    found
}
