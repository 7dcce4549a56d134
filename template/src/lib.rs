//! Ansible-compatible templating for Rustle.
//!
//! [`Templar`] mirrors ansible-core 2.18's `Templar` with its default
//! (non-native) behaviour: strings are rendered with Jinja2 semantics (via
//! minijinja), a result that looks like a Python list/dict/bool literal is
//! turned back into that type, a template that is exactly one `{{ var }}` of a
//! number/bool keeps its type, and variables are templated lazily when a
//! template reads them.
//!
//! Variables are `serde_json::Value`s; `{"__ansible_unsafe": "..."}` marks an
//! `!unsafe` string (never templated) and `{"__ansible_vault": "..."}` an
//! inline vault value (decrypted through [`VaultDecryptor`]).
//!
//! Behaviour is checked against real ansible-core 2.18 by
//! `tests/ansible_parity.rs` (cases recorded by `tests/record.py`).
//!
//! Known differences from Ansible:
//! - Undefined values are minijinja's "chainable" ones; uses Ansible rejects
//!   (`{% if undef %}`, `undef == 1`, iterating) are reported only when the
//!   missing name is a top-level variable and the source has no
//!   `defined`/`default`/`d(`/`mandatory`/`omit` guard.
//! - `type_debug` says `str` for strings Ansible calls `AnsibleUnicode`.
//! - A vault value that cannot be decrypted reads as undefined (`is defined`
//!   is false) instead of failing only when printed.
//! - Python-only types: tuples exist only where a filter makes one
//!   (`splitext`); sets, `datetime` arithmetic and `to_datetime` are missing.
//! - `to_yaml` does not fold long lines or indent continuation lines of
//!   multi-line quoted scalars like PyYAML.
//! - Variables templated during one `template()` call are cached for that
//!   call unless their source has lookups, `random`, `now()`…

mod context;
mod convert;
mod datetime;
mod error;
mod filters;
mod lex;
mod literal;
mod lookups;
mod pyfmt;
mod pyrandom;
mod pyrepr;
pub mod splitter;
mod tests_jinja;
mod yaml_dump;

use std::path::PathBuf;
use std::sync::Arc;

use minijinja::Environment;
use serde_json::{Map, Value};

pub use error::{ErrorKind, TemplateError};
pub use lookups::LookupOptions;

pub use rustle_yaml::{UNSAFE_KEY, VAULT_KEY};

/// A source of raw (untemplated) variables, looked up lazily by name.
///
/// Values are returned exactly as loaded: strings that contain `{{`/`{%` are
/// templated by the [`Templar`] when a template reads them.
pub trait Vars: Send + Sync {
    /// The raw value of `name`, if defined.
    fn get(&self, name: &str) -> Option<Value>;
    /// All defined names (used by the `varnames` lookup and `vars`).
    fn names(&self) -> Vec<String>;
    /// Whether `name` is defined; override when cheaper than [`Vars::get`].
    fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
    /// The variables of inventory host `host`, for a lazy `hostvars`
    /// (`hostvars[h].x` is templated with `h`'s variables when read, like
    /// Ansible's `HostVars`). Used only when [`Vars::get`] has no `hostvars`.
    fn host_vars(&self, host: &str) -> Option<Arc<dyn Vars>> {
        let _ = host;
        None
    }
    /// Inventory host names (keys of the lazy `hostvars`).
    fn host_names(&self) -> Vec<String> {
        Vec::new()
    }
}

impl Vars for Map<String, Value> {
    fn get(&self, name: &str) -> Option<Value> {
        Map::get(self, name).cloned()
    }
    fn names(&self) -> Vec<String> {
        self.keys().cloned().collect()
    }
    fn contains(&self, name: &str) -> bool {
        self.contains_key(name)
    }
}

/// Variables layered over a base source: `extra` wins (loop vars, `vars:` of
/// a lookup, task-local overrides).
pub struct Overlay {
    pub base: Arc<dyn Vars>,
    pub extra: Map<String, Value>,
}

impl Vars for Overlay {
    fn get(&self, name: &str) -> Option<Value> {
        match self.extra.get(name) {
            Some(v) => Some(v.clone()),
            None => self.base.get(name),
        }
    }
    fn names(&self) -> Vec<String> {
        let mut names = self.base.names();
        for k in self.extra.keys() {
            if !names.iter().any(|n| n == k) {
                names.push(k.clone());
            }
        }
        names
    }
    fn contains(&self, name: &str) -> bool {
        self.extra.contains_key(name) || self.base.contains(name)
    }
    fn host_vars(&self, host: &str) -> Option<Arc<dyn Vars>> {
        self.base.host_vars(host)
    }
    fn host_names(&self) -> Vec<String> {
        self.base.host_names()
    }
}

/// Decrypts inline vault values (`{"__ansible_vault": "$ANSIBLE_VAULT;..."}`).
pub trait VaultDecryptor: Send + Sync {
    /// Plaintext of `ciphertext`, or Ansible's error message.
    fn decrypt(&self, ciphertext: &str) -> Result<String, String>;
}

/// Inventory access for the `inventory_hostnames` lookup.
pub trait InventoryHook: Send + Sync {
    /// Host names matching an Ansible host pattern, in inventory order.
    fn hostnames(&self, pattern: &str) -> Result<Vec<String>, String>;
}

/// Options fixed when a [`Templar`] is built.
#[derive(Clone, Default)]
pub struct TemplarOptions {
    /// Directories searched (in order) by `file`, `template`, `lines`…
    /// lookups and by `first_found` for relative names: typically the role's
    /// `files`/`templates` dirs, the role dir, then the playbook dir.
    pub search_paths: Vec<PathBuf>,
    /// The playbook directory (`playbook_dir`, base of relative paths).
    pub playbook_dir: Option<PathBuf>,
    /// `--check` mode (reported by `ansible_check_mode` by the caller; kept
    /// here for lookups that must not write, e.g. `password`).
    pub check_mode: bool,
    /// Vault decryption; without it, using a vault value fails like Ansible
    /// without a vault password.
    pub vault: Option<Arc<dyn VaultDecryptor>>,
    /// Inventory for `inventory_hostnames`.
    pub inventory: Option<Arc<dyn InventoryHook>>,
    /// The `omit` placeholder; generated randomly when `None`.
    pub omit_token: Option<String>,
    /// Values for the `config` lookup (`DEFAULT_ROLES_PATH`, …); unknown
    /// settings fall back to built-in defaults.
    pub config: Map<String, Value>,
}

impl std::fmt::Debug for TemplarOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemplarOptions")
            .field("search_paths", &self.search_paths)
            .field("playbook_dir", &self.playbook_dir)
            .field("check_mode", &self.check_mode)
            .field("vault", &self.vault.is_some())
            .field("inventory", &self.inventory.is_some())
            .field("omit_token", &self.omit_token)
            .finish()
    }
}

pub(crate) struct Shared {
    pub opts: TemplarOptions,
    pub omit: String,
    /// Template sources compiled once and cached by the engine (by id).
    pub sources: Arc<std::sync::Mutex<SourceTable>>,
    /// Preprocessed sources, keyed by (escape_backslashes, source).
    pub prepared: std::sync::Mutex<std::collections::HashMap<(bool, String), Arc<Prepared>>>,
}

/// A template source after Ansible's rewrites.
pub(crate) struct Prepared {
    pub pre: String,
    /// The expression when the source is exactly one `{{ expr }}`.
    pub single: Option<String>,
}

/// Source text ↔ id of templates the engine has compiled and cached.
#[derive(Default)]
pub(crate) struct SourceTable {
    pub ids: std::collections::HashMap<String, usize>,
    pub srcs: Vec<String>,
}

/// Beyond this many distinct sources, templates are compiled per use.
const SOURCE_CACHE_LIMIT: usize = 50_000;

impl Shared {
    pub(crate) fn prepare(&self, src: &str, escape_backslashes: bool) -> Arc<Prepared> {
        let key = (escape_backslashes, src.to_string());
        let mut cache = match self.prepared.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if let Some(p) = cache.get(&key) {
            return p.clone();
        }
        let pre = lex::preprocess_opts(src, escape_backslashes);
        let single = lex::single_expression(&pre);
        let p = Arc::new(Prepared { pre, single });
        if cache.len() < SOURCE_CACHE_LIMIT {
            cache.insert(key, p.clone());
        }
        p
    }

    /// The engine name under which `src` is cached, registering it.
    pub(crate) fn cache_name(&self, src: &str) -> Option<String> {
        let mut t = match self.sources.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if let Some(id) = t.ids.get(src) {
            return Some(format!("rustle:{id}"));
        }
        if t.srcs.len() >= SOURCE_CACHE_LIMIT {
            return None;
        }
        let id = t.srcs.len();
        t.srcs.push(src.to_string());
        t.ids.insert(src.to_string(), id);
        Some(format!("rustle:{id}"))
    }
}

/// The templating engine: build once, use for every task.
#[derive(Clone)]
pub struct Templar {
    pub(crate) env: Arc<Environment<'static>>,
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for Templar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templar")
            .field("opts", &self.shared.opts)
            .finish()
    }
}

/// Result of evaluating a conditional, with Ansible's warnings.
#[derive(Debug, Clone, PartialEq)]
pub struct ConditionalOutcome {
    pub value: bool,
    /// Warnings / deprecations Ansible would print (templating delimiters in
    /// a conditional, non-boolean results).
    pub warnings: Vec<String>,
}

impl Templar {
    /// Builds the environment with all filters, tests and lookups.
    pub fn new(opts: TemplarOptions) -> Templar {
        let omit = opts.omit_token.clone().unwrap_or_else(|| {
            use sha1::Digest;
            let mut seed = [0u8; 64];
            for b in seed.iter_mut() {
                *b = fastrand::u8(..);
            }
            format!(
                "__omit_place_holder__{}",
                hex::encode(sha1::Sha1::digest(seed))
            )
        });
        let shared = Arc::new(Shared {
            opts,
            omit,
            sources: Default::default(),
            prepared: Default::default(),
        });
        let env = context::build_env(shared.clone());
        Templar {
            env: Arc::new(env),
            shared,
        }
    }

    /// The options this templar was built with.
    pub fn options(&self) -> &TemplarOptions {
        &self.shared.opts
    }

    /// The `omit` placeholder string (also exposed as variable `omit`).
    pub fn omit_token(&self) -> &str {
        &self.shared.omit
    }

    /// Templates `value` like Ansible's `Templar.template()`: strings are
    /// rendered, lists and dicts recursively (keys untouched), other values
    /// are returned unchanged. Results that touched `!unsafe` data come back
    /// marked unsafe.
    pub fn template(&self, value: &Value, vars: &Arc<dyn Vars>) -> Result<Value, TemplateError> {
        let ctx = context::Ctx::new(self, vars.clone());
        ctx.template_top(value)
    }

    /// Templates one string (see [`Templar::template`]).
    pub fn template_str(&self, s: &str, vars: &Arc<dyn Vars>) -> Result<Value, TemplateError> {
        self.template(&Value::String(s.to_string()), vars)
    }

    /// Renders a template file's contents like the `template` module / lookup:
    /// always a string, trailing newlines kept, no type conversion.
    pub fn render_file_contents(
        &self,
        source: &str,
        vars: &Arc<dyn Vars>,
    ) -> Result<String, TemplateError> {
        let ctx = context::Ctx::new(self, vars.clone());
        ctx.render_template_file(source)
    }

    /// Evaluates a `when:`-style conditional (`failed_when`, `changed_when`,
    /// `until` too): a bare expression, a bool, a string with `{{ }}`
    /// (warned), or a list whose items must all be true.
    pub fn evaluate_conditional(
        &self,
        cond: &Value,
        vars: &Arc<dyn Vars>,
    ) -> Result<bool, TemplateError> {
        self.evaluate_conditional_full(cond, vars).map(|o| o.value)
    }

    /// [`Templar::evaluate_conditional`] with the warnings Ansible prints.
    pub fn evaluate_conditional_full(
        &self,
        cond: &Value,
        vars: &Arc<dyn Vars>,
    ) -> Result<ConditionalOutcome, TemplateError> {
        let ctx = context::Ctx::new(self, vars.clone());
        ctx.evaluate_conditional(cond)
    }

    /// Runs a lookup plugin for a `with_<name>` loop, returning its list.
    /// `terms` is the (already templated) loop value.
    pub fn run_lookup(
        &self,
        name: &str,
        terms: &Value,
        kwargs: &Map<String, Value>,
        vars: &Arc<dyn Vars>,
    ) -> Result<Vec<Value>, TemplateError> {
        let ctx = context::Ctx::new(self, vars.clone());
        ctx.run_lookup_for_loop(name, terms, kwargs)
    }

    /// Whether `s` contains a Jinja2 start delimiter (`{{`, `{%`, `{#`).
    pub fn is_possibly_template(s: &str) -> bool {
        lex::is_possibly_template(s)
    }

    /// Removes mapping entries whose value is the `omit` placeholder
    /// (recursively through nested dicts and lists of dicts, as Ansible does
    /// for module args).
    pub fn remove_omit(&self, value: &Value) -> Value {
        remove_omit(value, &self.shared.omit)
    }
}

/// Removes dict entries equal to `omit` (recursing into dicts and lists);
/// list items equal to `omit` are dropped too.
pub fn remove_omit(value: &Value, omit: &str) -> Value {
    match value {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| v.as_str() != Some(omit))
                .map(|(k, v)| (k.clone(), remove_omit(v, omit)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(
            a.iter()
                .filter(|v| v.as_str() != Some(omit))
                .map(|v| remove_omit(v, omit))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Replaces `{"__ansible_unsafe": s}` markers by plain strings (for values
/// handed to modules).
pub fn strip_unsafe(value: &Value) -> Value {
    match value {
        Value::Object(m) => {
            if m.len() == 1 {
                if let Some(Value::String(s)) = m.get(UNSAFE_KEY) {
                    return Value::String(s.clone());
                }
            }
            Value::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), strip_unsafe(v)))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(strip_unsafe).collect()),
        other => other.clone(),
    }
}

/// The plain string of an unsafe marker, if `value` is one.
pub fn as_unsafe_str(value: &Value) -> Option<&str> {
    match value {
        Value::Object(m) if m.len() == 1 => m.get(UNSAFE_KEY).and_then(Value::as_str),
        _ => None,
    }
}

/// The ciphertext of an inline vault marker, if `value` is one.
pub fn as_vault_str(value: &Value) -> Option<&str> {
    match value {
        Value::Object(m) if m.len() == 1 => m.get(VAULT_KEY).and_then(Value::as_str),
        _ => None,
    }
}
