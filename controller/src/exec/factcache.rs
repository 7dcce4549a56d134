//! The fact cache (`fact_caching`): `memory` (the run only) or `jsonfile`
//! (one JSON file per host in `fact_caching_connection`, named
//! `<prefix><host>`, written as Ansible's jsonfile plugin does:
//! `json.dumps(facts, sort_keys=True, indent=4)`, mode 0644, expired by
//! file mtime after `fact_caching_timeout` seconds, 0 never).
//!
//! Facts are held as modules return them (`ansible_`-prefixed names for
//! gathered facts, `_ansible_facts_gathered`, a cacheable set_fact's names
//! as given); hosts see them without the prefix in `ansible_facts`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value};

/// Why the cache cannot be used (Ansible's words).
#[derive(Debug, thiserror::Error)]
pub enum FactCacheError {
    #[error("Unable to load the facts cache plugin ({0}).")]
    UnknownPlugin(String),
    #[error("error, '{0}' cache plugin requires the 'fact_caching_connection' config option to be set (to a writeable directory path)")]
    NoConnection(String),
    #[error("error in '{plugin}' cache plugin while trying to create cache dir {dir} : {err}")]
    CreateDir {
        plugin: String,
        dir: String,
        err: String,
    },
    #[error("The cache file {0} was corrupt, or did not otherwise contain valid data. It has been removed, so you can re-run your command now.")]
    Corrupt(String),
}

#[derive(Debug, Clone)]
struct JsonFile {
    dir: PathBuf,
    prefix: String,
    timeout: u64,
}

/// The run's fact cache.
#[derive(Debug, Default)]
pub struct FactCache {
    /// Facts known in this run (loaded or set), per host.
    hosts: BTreeMap<String, Map<String, Value>>,
    file: Option<JsonFile>,
}

/// Facts as rustle keeps them (unprefixed) into the module's shape.
pub fn to_module_facts(facts: &Map<String, Value>) -> Map<String, Value> {
    facts
        .iter()
        .map(|(k, v)| {
            let name = if matches!(
                k.as_str(),
                "gather_subset" | "module_setup" | "discovered_interpreter_python"
            ) {
                k.clone()
            } else {
                format!("ansible_{k}")
            };
            (name, v.clone())
        })
        .collect()
}

/// The fact cache settings (`fact_caching`, `fact_caching_connection`,
/// `fact_caching_prefix`, `fact_caching_timeout`), resolved by
/// `crate::config::Config`.
#[derive(Debug, Clone, Default)]
pub struct CacheSettings {
    pub plugin: String,
    pub dir: Option<PathBuf>,
    pub prefix: String,
    /// Seconds; 0 never expires.
    pub timeout: u64,
}

impl FactCache {
    /// The cache the settings name (`memory` unless configured).
    pub fn from_settings(cfg: &CacheSettings) -> Result<FactCache, FactCacheError> {
        let plugin = cfg.plugin.trim();
        let plugin = plugin
            .strip_prefix("ansible.builtin.")
            .unwrap_or(plugin)
            .to_owned();
        match plugin.as_str() {
            "" | "memory" => Ok(FactCache::default()),
            "jsonfile" => {
                let dir = cfg
                    .dir
                    .clone()
                    .ok_or_else(|| FactCacheError::NoConnection(plugin.clone()))?;
                if !dir.exists() {
                    std::fs::create_dir_all(&dir).map_err(|e| FactCacheError::CreateDir {
                        plugin: plugin.clone(),
                        dir: dir.display().to_string(),
                        err: e.to_string(),
                    })?;
                }
                Ok(FactCache {
                    hosts: BTreeMap::new(),
                    file: Some(JsonFile {
                        dir,
                        prefix: cfg.prefix.clone(),
                        timeout: cfg.timeout,
                    }),
                })
            }
            other => Err(FactCacheError::UnknownPlugin(other.to_owned())),
        }
    }

    fn path(f: &JsonFile, host: &str) -> PathBuf {
        f.dir.join(format!("{}{host}", f.prefix))
    }

    fn expired(f: &JsonFile, path: &Path) -> bool {
        if f.timeout == 0 {
            return false;
        }
        let Ok(modified) = std::fs::metadata(path).and_then(|m| m.modified()) else {
            return false;
        };
        SystemTime::now()
            .duration_since(modified)
            .unwrap_or_default()
            > Duration::from_secs(f.timeout)
    }

    /// A host's cached facts (module shape), read from the file the first
    /// time; an expired or missing file is no facts.
    pub fn get(&mut self, host: &str) -> Result<Option<&Map<String, Value>>, FactCacheError> {
        if !self.hosts.contains_key(host) {
            let Some(f) = &self.file else {
                return Ok(None);
            };
            let path = Self::path(f, host);
            if host.is_empty() || Self::expired(f, &path) {
                return Ok(None);
            }
            let Ok(text) = std::fs::read_to_string(&path) else {
                return Ok(None);
            };
            match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(m)) => {
                    self.hosts.insert(host.to_owned(), m);
                }
                _ => {
                    let _ = std::fs::remove_file(&path);
                    return Err(FactCacheError::Corrupt(path.display().to_string()));
                }
            }
        }
        Ok(self.hosts.get(host))
    }

    /// Whether facts were gathered for `host` (in this run or cached).
    pub fn gathered(&mut self, host: &str) -> bool {
        matches!(self.get(host), Ok(Some(m)) if m.get("_ansible_facts_gathered").is_some_and(|v| v == &Value::Bool(true)))
    }

    /// `set_host_facts`: merged into the host's facts, written through.
    /// A file that cannot be written is the warning Ansible shows.
    pub fn update(&mut self, host: &str, facts: &Map<String, Value>) -> Option<String> {
        let _ = self.get(host);
        let entry = self.hosts.entry(host.to_owned()).or_default();
        for (k, v) in facts {
            entry.insert(k.clone(), v.clone());
        }
        let f = self.file.as_ref()?;
        let path = Self::path(f, host);
        let text = super::json_out::dumps(&Value::Object(entry.clone()), Some(4));
        let tmp = f
            .dir
            .join(format!(".{}{host}.tmp{}", f.prefix, std::process::id()));
        let written = std::fs::write(&tmp, text).and_then(|()| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::rename(&tmp, &path)?;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))
        });
        match written {
            Ok(()) => None,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                Some(format!(
                    "error in 'jsonfile' cache plugin while trying to write to '{}' : {e}",
                    path.display()
                ))
            }
        }
    }

    /// `clear_facts`: the host's facts are dropped (its file removed).
    pub fn clear(&mut self, host: &str) {
        self.hosts.remove(host);
        if let Some(f) = &self.file {
            let _ = std::fs::remove_file(Self::path(f, host));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn jsonfile_round_trip_and_expiry() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = JsonFile {
            dir: dir.path().to_path_buf(),
            prefix: "p_".into(),
            timeout: 0,
        };
        let mut c = FactCache {
            hosts: BTreeMap::new(),
            file: Some(f.clone()),
        };
        let facts = json!({"foo": 1, "_ansible_facts_gathered": true});
        assert!(c.update("h1", facts.as_object().expect("map")).is_none());
        let text = std::fs::read_to_string(dir.path().join("p_h1")).expect("written");
        assert_eq!(
            text,
            "{\n    \"_ansible_facts_gathered\": true,\n    \"foo\": 1\n}"
        );
        let mut fresh = FactCache {
            hosts: BTreeMap::new(),
            file: Some(f),
        };
        assert!(fresh.gathered("h1"));
        assert_eq!(fresh.get("h2").expect("ok"), None);
        fresh.clear("h1");
        assert!(!dir.path().join("p_h1").exists());
    }
}
