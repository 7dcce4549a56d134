//! Inventory sources as `InventoryManager.parse_source` handles them: host
//! lists, directories (sorted, with Ansible's ignore rules), and files tried
//! with the default plugin chain `host_list, script, auto, yaml, ini, toml`.
//! A plugin that fails leaves what it added (as in Ansible) and the next
//! one is tried; a source no plugin parses is a warning, not an error.

use std::path::{Component, Path, PathBuf};

use serde_json::Value as Json;

use crate::address::{expand_hostpattern, parse_address};
use crate::data::{GroupId, InventoryData, UNGROUPED};
use crate::{ini, py_class, Warnings};

/// `INVENTORY_IGNORE_EXTS` (`REJECT_EXTS` plus `.orig .ini .cfg .retry`).
pub const IGNORE_EXTS: [&str; 13] = [
    ".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".ini", ".cfg",
    ".retry",
];

/// `YAML_FILENAME_EXTENSIONS` / the yaml plugin's `yaml_extensions`.
pub const YAML_EXTS: [&str; 3] = [".yml", ".yaml", ".json"];

/// Is a directory entry skipped when the directory is an inventory source?
pub fn ignored_in_dir(name: &str) -> bool {
    name.starts_with('.')
        || matches!(name, "host_vars" | "group_vars" | "vars_plugins")
        || IGNORE_EXTS.iter().any(|e| name.ends_with(e))
}

/// Python's `os.path.splitext(path)[1]`.
pub fn splitext_ext(path: &str) -> &str {
    let base = path.rsplit('/').next().unwrap_or(path);
    let stripped = base.trim_start_matches('.');
    match stripped.rfind('.') {
        Some(i) => &stripped[i..],
        None => "",
    }
}

/// `ansible.utils.path.basedir`: the directory of a file path, the path
/// itself for a directory.
pub fn basedir(source: &str) -> String {
    let p = Path::new(source);
    if p.is_dir() {
        return source.to_owned();
    }
    match source.rfind('/') {
        Some(0) => "/".into(),
        Some(i) => source[..i].to_owned(),
        None => String::new(),
    }
}

/// `unfrackpath(source, follow=False)`: `~` expanded, made absolute
/// against `cwd` and normalised (symlinks are kept).
pub fn unfrack(source: &str, cwd: &Path) -> String {
    let expanded = match source.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => match std::env::var_os("HOME") {
            Some(home) => format!("{}{rest}", home.to_string_lossy()),
            None => source.to_owned(),
        },
        _ => source.to_owned(),
    };
    let p = Path::new(&expanded);
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        cwd.join(p)
    };
    let mut out = PathBuf::from("/");
    for c in abs.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n),
            _ => {}
        }
    }
    out.to_string_lossy().into_owned()
}

/// A failed plugin attempt, reported as Ansible does.
struct Failure {
    plugin: &'static str,
    message: String,
}

/// Loads YAML or JSON data as Ansible's `DataLoader.load`: JSON first
/// (keeping `__ansible_unsafe`/`__ansible_vault` markers), then YAML.
pub fn load_data(text: &str, file: &str, warnings: &mut Warnings) -> Result<Json, String> {
    if rustle_vault::is_encrypted(text.as_bytes()) {
        let plain = rustle_vault::keyring::decrypt_file(text.as_bytes(), file)
            .map_err(|e| e.to_string())?;
        let plain = String::from_utf8_lossy(&plain).into_owned();
        return load_data(&plain, file, warnings);
    }
    if let Ok(v) = serde_json::from_str::<Json>(text) {
        return Ok(v);
    }
    match rustle_yaml::load(text, file) {
        Ok((node, ws)) => {
            for w in ws {
                warnings.push(w.message);
            }
            Ok(node.to_ansible_json())
        }
        Err(e) => Err(format!(
            "{}\n\n{}",
            e.ansible_message(text),
            rustle_yaml::excerpt::extended_error(file, e.line, e.col)
        )),
    }
}

/// Is `v` false in Python's sense?
pub fn py_falsy(v: &Json) -> bool {
    match v {
        Json::Null => true,
        Json::Bool(b) => !b,
        Json::Number(n) => n.as_f64() == Some(0.0),
        Json::String(s) => s.is_empty(),
        Json::Array(a) => a.is_empty(),
        Json::Object(o) => o.is_empty(),
    }
}

impl InventoryData {
    /// Parses one source (a path or a host list); returns whether any
    /// plugin parsed it.
    pub(crate) fn parse_source(&mut self, source: &str, warnings: &mut Warnings) -> bool {
        let path = Path::new(source);
        if path.is_dir() {
            let mut names: Vec<String> = match std::fs::read_dir(path) {
                Ok(rd) => rd
                    .filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect(),
                Err(_) => Vec::new(),
            };
            names.sort();
            let mut parsed = false;
            for n in names {
                if ignored_in_dir(&n) {
                    continue;
                }
                let full = format!("{}/{n}", source.trim_end_matches('/'));
                let this = self.parse_source(&full, warnings);
                parsed = parsed || this;
            }
            return parsed;
        }
        self.current_source = Some(source.to_owned());
        let mut failures = Vec::new();
        let parsed = self.try_plugins(source, &mut failures, warnings);
        if !parsed && (source != "/etc/ansible/hosts" || path.exists()) {
            for f in &failures {
                warnings.push(format!(
                    "\n* Failed to parse {source} with {} plugin: {}",
                    f.plugin, f.message
                ));
            }
            warnings.push(format!("Unable to parse {source} as an inventory source"));
        }
        self.current_source = None;
        parsed
    }

    fn try_plugins(
        &mut self,
        source: &str,
        failures: &mut Vec<Failure>,
        warnings: &mut Warnings,
    ) -> bool {
        let path = Path::new(source);
        let exists = path.exists();
        let declined = |p: &str| {
            format!("{p} declined parsing {source} as it did not pass its verify_file() method")
        };
        const UNREADABLE: &str =
            "Skipping due to inventory source not existing or not being readable by the current user";
        // host_list
        if !exists && source.contains(',') {
            self.parse_host_list(source, warnings);
            self.trace.push(format!(
                "Parsed {source} inventory source with host_list plugin"
            ));
            return true;
        }
        self.trace.push(declined("host_list"));
        let readable = exists && std::fs::File::open(path).is_ok();
        if !readable {
            // Each file-based plugin's verify_file says why, but auto,
            // which looks at the extension first.
            for p in ["script", "auto", "yaml", "ini", "toml"] {
                if p != "auto" {
                    self.trace.push(UNREADABLE.to_owned());
                }
                self.trace.push(declined(p));
            }
            return false;
        }
        let bytes = std::fs::read(path).unwrap_or_default();
        // script: an executable file or one with a shebang
        if !(is_executable(path) || bytes.starts_with(b"#!")) {
            self.trace.push(declined("script"));
        } else {
            failures.push(Failure {
                plugin: "script",
                message: format!(
                    "Rustle does not run inventory scripts: {source} is executable or starts with #!"
                ),
            });
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let ext = splitext_ext(source);
        // auto: YAML plugin configuration files
        if !(source.ends_with(".yml") || source.ends_with(".yaml")) {
            self.trace.push(declined("auto"));
        } else {
            let mut scratch = Warnings::default();
            let plugin = load_data(&text, source, &mut scratch)
                .ok()
                .and_then(|v| v.get("plugin").cloned())
                .filter(|p| !py_falsy(p));
            failures.push(Failure {
                plugin: "auto",
                message: match plugin {
                    None => format!("no root 'plugin' key found, '{source}' is not a valid YAML inventory plugin config file"),
                    Some(p) => format!(
                        "inventory config '{source}' specifies plugin '{}', which Rustle does not support",
                        crate::pyfmt::py_str(&p)
                    ),
                },
            });
        }
        // yaml
        if !(ext.is_empty() || YAML_EXTS.contains(&ext)) {
            self.trace.push(declined("yaml"));
        } else {
            match self.parse_yaml(source, &text, warnings) {
                Ok(()) => {
                    self.trace
                        .push(format!("Parsed {source} inventory source with yaml plugin"));
                    return true;
                }
                Err(message) => failures.push(Failure {
                    plugin: "yaml",
                    message,
                }),
            }
        }
        // ini
        let ini_result = match std::str::from_utf8(&bytes) {
            Ok(t) => ini::parse(self, source, t, warnings),
            Err(_) => {
                // Ansible tolerates undecodable bytes only in comment lines
                let lines: Vec<String> = bytes
                    .split(|&b| b == b'\n')
                    .map(|l| {
                        if l.first().is_some_and(|&b| b == b';' || b == b'#') {
                            Ok(String::new())
                        } else {
                            String::from_utf8(l.to_vec()).map_err(|e| e.to_string())
                        }
                    })
                    .collect::<Result<_, _>>()
                    .unwrap_or_else(|e| vec![format!("\u{0}{e}")]);
                if lines.iter().any(|l| l.starts_with('\u{0}')) {
                    Err("'utf-8' codec can't decode the file".into())
                } else {
                    ini::parse(self, source, &lines.join("\n"), warnings)
                }
            }
        };
        match ini_result {
            Ok(()) => {
                self.trace
                    .push(format!("Parsed {source} inventory source with ini plugin"));
                return true;
            }
            Err(message) => failures.push(Failure {
                plugin: "ini",
                message,
            }),
        }
        // toml
        if ext == ".toml" {
            failures.push(Failure {
                plugin: "toml",
                message: "TOML inventories are not supported by Rustle".into(),
            });
        } else {
            self.trace.push(declined("toml"));
        }
        false
    }

    fn parse_host_list(&mut self, source: &str, warnings: &mut Warnings) {
        for h in source.split(',') {
            let h = h.trim();
            if h.is_empty() {
                continue;
            }
            let (host, port) = parse_address(h, false).unwrap_or_else(|| (h.to_owned(), None));
            if self.host_id(&host).is_none() {
                self.add_host(&host, Some(UNGROUPED), port, warnings);
            }
        }
    }

    fn parse_yaml(
        &mut self,
        path: &str,
        text: &str,
        warnings: &mut Warnings,
    ) -> Result<(), String> {
        let data = load_data(text, path, warnings)?;
        if py_falsy(&data) {
            return Err("Parsed empty YAML file".into());
        }
        let Json::Object(map) = data else {
            return Err(format!(
                "YAML inventory has invalid structure, it should be a dictionary, got: {}",
                py_class(&data)
            ));
        };
        if map.get("plugin").is_some_and(|p| !py_falsy(p)) {
            return Err("Plugin configuration YAML file, not YAML inventory".into());
        }
        for (name, gdata) in map {
            self.yaml_group(&name, gdata, warnings)?;
        }
        Ok(())
    }

    fn yaml_group(
        &mut self,
        name: &str,
        gdata: Json,
        warnings: &mut Warnings,
    ) -> Result<Option<GroupId>, String> {
        let mut gdata = match gdata {
            Json::Null => serde_json::Map::new(),
            Json::Object(m) if crate::pyfmt::marker_str(&Json::Object(m.clone())).is_none() => m,
            _ => {
                warnings.push(format!(
                    "Skipping '{name}' as this is not a valid group definition"
                ));
                return Ok(self.group_id(name));
            }
        };
        if name.is_empty() {
            return Err(format!(
                "Unable to add group {name}: Invalid empty/false group name provided: {name}"
            ));
        }
        let g = self.add_group(name, warnings);
        for section in ["vars", "children", "hosts"] {
            if let Some(v) = gdata.get_mut(section) {
                if let Some(s) = v.as_str().map(str::to_owned) {
                    let mut m = serde_json::Map::new();
                    m.insert(s, Json::Null);
                    *v = Json::Object(m);
                }
                if !(v.is_null() || is_mapping(v)) {
                    return Err(format!(
                        "Invalid \"{section}\" entry for \"{name}\" group, requires a dictionary, found \"{}\" instead.",
                        py_class(v)
                    ));
                }
            }
        }
        for (key, value) in gdata {
            if !(value.is_null() || is_mapping(&value)) {
                warnings.push(format!(
                    "Skipping key ({key}) in group ({name}) as it is not a mapping, it is a {}",
                    py_class(&value)
                ));
                continue;
            }
            let Json::Object(entries) = value else {
                continue; // None: skipped
            };
            match key.as_str() {
                "vars" => {
                    for (k, v) in entries {
                        self.set_group_var(g, &k, v)?;
                    }
                }
                "children" => {
                    for (sub, sdata) in entries {
                        if let Some(c) = self.yaml_group(&sub, sdata, warnings)? {
                            self.add_child_group(g, c)?;
                        } else {
                            return Err(format!("{sub} is not a known host nor group"));
                        }
                    }
                }
                "hosts" => {
                    for (pattern, hvars) in entries {
                        let (hosts, port) = expand_hostpattern(&pattern)?;
                        let hvars = if py_falsy(&hvars) {
                            serde_json::Map::new()
                        } else {
                            match hvars {
                                Json::Object(m) if crate::pyfmt::marker_str(&Json::Object(m.clone())).is_none() => m,
                                other => {
                                    return Err(format!(
                                        "Invalid data from file, expected dictionary and got:\n\n{}",
                                        crate::pyfmt::py_str(&other)
                                    ))
                                }
                            }
                        };
                        for h in hosts {
                            if h.is_empty() {
                                return Err(format!("Invalid empty host name provided: {h}"));
                            }
                            let id = self.add_host(&h, Some(g), port, warnings);
                            for (k, v) in &hvars {
                                self.set_host_var(id, k, v.clone());
                            }
                        }
                    }
                }
                other => warnings.push(format!(
                    "Skipping unexpected key ({other}) in group ({name}), only \"vars\", \"children\" and \"hosts\" are valid"
                )),
            }
        }
        Ok(Some(g))
    }
}

fn is_mapping(v: &Json) -> bool {
    v.is_object() && crate::pyfmt::marker_str(v).is_none()
}

#[cfg(unix)]
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(_: &Path) -> bool {
    false
}
