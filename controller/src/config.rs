//! Settings, resolved as Ansible's config manager resolves them.
//!
//! The config file is the first of `$ANSIBLE_CONFIG` (a file, or a
//! directory holding `ansible.cfg`), `./ansible.cfg` (skipped, with a
//! warning, when the working directory is world-writable),
//! `~/.ansible.cfg` and `/etc/ansible/ansible.cfg` that exists and is
//! readable. It is INI as Python's `configparser` reads it (strict, `;`
//! inline comments, no interpolation: Ansible reads values raw). Each
//! setting is taken from its environment variable, else from the file,
//! else Ansible's default; command-line options override both (applied by
//! [`Config::apply_cli`]). Bad values fail with Ansible's message.
//!
//! Rustle's own settings, for which Ansible has no word, live in
//! `rustle.toml` ([`RustleSettings`]). `docs/configuration.md` lists them
//! all.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::cli::PlaybookArgs;

/// A configuration error, worded as Ansible's (ansible-playbook prints it
/// as `ERROR: <text>` and exits 5).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("Unsupported configuration file extension for {path}: {ext}")]
    Extension { path: String, ext: String },
    #[error(
        "Error reading config file({path}) because the config file was not utf8 encoded: {msg}"
    )]
    NotUtf8 { path: String, msg: String },
    #[error("Error reading config file ({path}): {msg}")]
    Read { path: String, msg: String },
    #[error("Invalid type for configuration option setting: {setting} (from {origin}): {msg}")]
    Type {
        setting: &'static str,
        origin: String,
        msg: String,
    },
    #[error("Invalid value \"{value}\" for configuration option \"setting: {setting} \", valid values are: {valid}")]
    Choice {
        setting: &'static str,
        value: String,
        valid: String,
    },
    #[error("Error reading {path}: {msg}")]
    Rustle { path: String, msg: String },
}

impl ConfigError {
    /// ansible-playbook's exit code for a configuration error.
    pub fn exit_code(&self) -> u8 {
        5
    }
}

/// `gathering`: when plays gather facts (implicit, explicit, smart).
pub use crate::settings::Gathering;

/// `hash_behaviour`: how dictionaries defined at several levels combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HashBehaviour {
    #[default]
    Replace,
    Merge,
}

/// Rustle's execution strategy (`rustle.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Ship a bundle to each host's prebuilt runner.
    #[default]
    Binary,
    /// Bundles where a runner fits the host, task by task elsewhere.
    Hybrid,
    /// Task by task over SSH.
    Ssh,
}

/// `rustle.toml`: settings Ansible has no word for.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RustleSettings {
    #[serde(default)]
    pub strategy: Strategy,
    /// Where built bundles are kept between runs.
    pub bundle_cache: Option<PathBuf>,
    /// A runner binary per target triple, overriding the search.
    #[serde(default)]
    pub runners: std::collections::BTreeMap<String, PathBuf>,
}

/// Colours of the output (`[colors]`, `ANSIBLE_COLOR_*`), as SGR
/// parameter strings (`0;32`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Colors {
    pub ok: String,
    pub changed: String,
    pub skip: String,
    pub error: String,
    pub unreachable: String,
    pub warn: String,
    pub debug: String,
    pub verbose: String,
    pub deprecate: String,
    pub diff_add: String,
    pub diff_remove: String,
    pub diff_lines: String,
    pub included: String,
    pub highlight: String,
}

/// Every setting Rustle reads, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The config file in use (`C.CONFIG_FILE`).
    pub file: Option<PathBuf>,
    /// `rustle.toml` in use.
    pub rustle_file: Option<PathBuf>,
    /// Warnings from finding the file (world-writable working directory).
    pub warnings: Vec<String>,
    pub forks: i64,
    /// `DEFAULT_HOST_LIST`: the inventory sources used without `-i`.
    pub inventory: Vec<String>,
    pub roles_path: Vec<PathBuf>,
    pub collections_path: Vec<PathBuf>,
    pub module_path: Vec<PathBuf>,
    pub host_key_checking: bool,
    pub remote_user: Option<String>,
    /// `ansible_managed` (`DEFAULT_MANAGED_STR`), for the template action.
    pub managed_str: String,
    pub private_key_file: Option<PathBuf>,
    /// `[ssh_connection] ssh_args` (the ssh plugin's `ssh_args`).
    pub ssh_args: Option<String>,
    /// `[ssh_connection] retries` (the ssh plugin's `reconnection_retries`).
    pub ssh_retries: i64,
    pub become_: bool,
    pub become_method: String,
    pub become_user: String,
    pub timeout: i64,
    pub transport: String,
    pub stdout_callback: String,
    pub gathering: Gathering,
    /// `fact_caching` (`CACHE_PLUGIN`).
    pub fact_caching: String,
    /// `fact_caching_connection` (`CACHE_PLUGIN_CONNECTION`).
    pub fact_caching_connection: Option<String>,
    /// `fact_caching_timeout` (`CACHE_PLUGIN_TIMEOUT`), in seconds.
    pub fact_caching_timeout: i64,
    /// `fact_caching_prefix` (`CACHE_PLUGIN_PREFIX`).
    pub fact_caching_prefix: String,
    /// The cache directory as the jsonfile plugin reads
    /// `fact_caching_connection` (its `_uri`, a path: expanded, relative to
    /// the config file when set there).
    pub fact_caching_dir: Option<PathBuf>,
    /// The file name prefix as the jsonfile plugin reads
    /// `fact_caching_prefix` (its `_prefix` has no default: empty).
    pub fact_caching_file_prefix: String,
    pub retry_files_enabled: bool,
    pub nocolor: bool,
    pub force_color: bool,
    pub hash_behaviour: HashBehaviour,
    pub host_pattern_mismatch: rustle_inventory::PatternMismatch,
    /// `DEFAULT_VAULT_PASSWORD_FILE`.
    pub vault_password_file: Option<PathBuf>,
    /// `DEFAULT_VAULT_IDENTITY_LIST`: `label@source` slugs tried first.
    pub vault_identity_list: Vec<String>,
    /// `DEFAULT_VAULT_IDENTITY`: the id of unlabelled secrets.
    pub vault_identity: String,
    pub any_errors_fatal: bool,
    pub deprecation_warnings: bool,
    pub system_warnings: bool,
    pub display_args_to_stdout: bool,
    pub poll_interval: i64,
    // The default callback's options.
    pub display_skipped_hosts: bool,
    pub display_ok_hosts: bool,
    pub display_failed_stderr: bool,
    pub show_custom_stats: bool,
    pub show_per_host_start: bool,
    pub check_mode_markers: bool,
    pub show_task_path_on_failure: bool,
    pub colors: Colors,
    pub rustle: RustleSettings,
}

/// Where settings come from: the environment, the working directory and
/// the home directory (the process's own by [`Sources::from_process`]).
#[derive(Debug, Clone, Default)]
pub struct Sources {
    pub env: HashMap<String, String>,
    pub cwd: PathBuf,
    pub home: Option<PathBuf>,
    /// Where the system-wide `ansible.cfg` is looked for.
    pub system_file: PathBuf,
}

impl Sources {
    pub fn from_process() -> Self {
        Sources {
            env: std::env::vars().collect(),
            cwd: std::env::current_dir().unwrap_or_default(),
            home: std::env::var_os("HOME").map(PathBuf::from),
            system_file: PathBuf::from("/etc/ansible/ansible.cfg"),
        }
    }
}

/// Python's `os.path.normpath` on an absolute or relative path.
fn normpath(p: &str) -> String {
    let abs = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !abs {
                    parts.push("..");
                }
            }
            c => parts.push(c),
        }
    }
    let body = parts.join("/");
    match (abs, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".into(),
        (false, false) => body,
    }
}

impl Sources {
    fn var(&self, name: &str) -> Option<&str> {
        self.env.get(name).map(String::as_str)
    }

    /// `os.path.expanduser(os.path.expandvars(p))`.
    fn expand(&self, p: &str) -> String {
        let mut out = String::new();
        let mut rest = p;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            let (name, len) = if let Some(b) = after.strip_prefix('{') {
                match b.find('}') {
                    Some(e) => (&b[..e], e + 2),
                    None => ("", 0),
                }
            } else {
                let n = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..n], n)
            };
            match self.var(name) {
                Some(v) if !name.is_empty() => {
                    out.push_str(v);
                    rest = &after[len..];
                }
                _ => {
                    out.push('$');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        if let Some(tail) = out.strip_prefix('~') {
            if tail.is_empty() || tail.starts_with('/') {
                if let Some(h) = &self.home {
                    return format!("{}{tail}", h.display());
                }
            }
        }
        out
    }

    /// `unfrackpath(p, follow=False, basedir)`: expanded, absolute against
    /// `basedir` (the working directory when none), normalised.
    fn unfrack(&self, p: &str, basedir: Option<&Path>) -> PathBuf {
        let e = self.expand(p);
        let full = if e.starts_with('/') {
            e
        } else {
            format!("{}/{e}", basedir.unwrap_or(&self.cwd).display())
        };
        PathBuf::from(normpath(&full))
    }
}

/// One INI file as `configparser.ConfigParser(inline_comment_prefixes=(';',))`
/// reads it (keys lower-cased, `[DEFAULT]` values visible in every section).
#[derive(Debug, Clone, Default)]
pub struct Ini {
    sections: HashMap<String, HashMap<String, String>>,
    defaults: HashMap<String, String>,
}

/// Python's `repr` of a line of text.
fn py_line_repr(s: &str) -> String {
    rustle_inventory::pyfmt::py_repr(&serde_json::Value::String(s.to_owned()))
}

impl Ini {
    /// Parses `text`; errors worded as `configparser`'s.
    pub fn parse(text: &str) -> Result<Ini, String> {
        let mut ini = Ini::default();
        // (section or None for DEFAULT, option) being continued
        let mut cur: Option<Option<String>> = None;
        let mut opt: Option<String> = None;
        let mut values: Vec<(Option<String>, String, Vec<String>)> = Vec::new();
        let mut seen_sections: Vec<String> = Vec::new();
        let mut seen_opts: Vec<(Option<String>, String)> = Vec::new();
        let mut indent_level = usize::MAX;
        let mut errors: Vec<String> = Vec::new();
        let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
        if lines.is_empty() {
            lines.push("");
        }
        for (i, line) in lines.iter().enumerate() {
            let lineno = i + 1;
            // inline comments: `;` at the start or after whitespace
            let mut comment_start: Option<usize> = None;
            for (idx, _) in line.match_indices(';') {
                let before = line[..idx].chars().next_back();
                if idx == 0 || before.is_some_and(char::is_whitespace) {
                    comment_start = Some(idx);
                    break;
                }
            }
            let stripped = line.trim();
            if stripped.starts_with('#') || stripped.starts_with(';') {
                comment_start = Some(0);
            }
            let value = line[..comment_start.unwrap_or(line.len())].trim();
            if value.is_empty() {
                if comment_start.is_none() && opt.is_some() {
                    if let Some(last) = values.last_mut() {
                        last.2.push(String::new());
                    }
                }
                continue;
            }
            let cur_indent = line.len() - line.trim_start().len();
            if cur.is_some() && opt.is_some() && cur_indent > indent_level {
                if let Some(last) = values.last_mut() {
                    last.2.push(value.to_owned());
                }
                continue;
            }
            indent_level = cur_indent;
            if let Some(header) = value
                .strip_prefix('[')
                .and_then(|v| v.rfind(']').map(|e| &v[..e]))
                .filter(|h| !h.is_empty())
            {
                if header == "DEFAULT" {
                    cur = Some(None);
                } else {
                    if seen_sections.iter().any(|s| s == header) {
                        return Err(format!(
                            "While reading from '<string>' [line {lineno:2}]: section '{header}' already exists"
                        ));
                    }
                    seen_sections.push(header.to_owned());
                    ini.sections.entry(header.to_owned()).or_default();
                    cur = Some(Some(header.to_owned()));
                }
                opt = None;
                continue;
            }
            let Some(section) = cur.clone() else {
                return Err(format!(
                    "File contains no section headers.\nfile: '<string>', line: {lineno}\n{}",
                    py_line_repr(line)
                ));
            };
            let delim = value.find(['=', ':']);
            match delim {
                Some(d) if !value[..d].trim().is_empty() => {
                    let name = value[..d].trim_end().to_lowercase();
                    let key = (section.clone(), name.clone());
                    if seen_opts.contains(&key) {
                        let sect = section.as_deref().unwrap_or("DEFAULT");
                        return Err(format!(
                            "While reading from '<string>' [line {lineno:2}]: option '{name}' in section '{sect}' already exists"
                        ));
                    }
                    seen_opts.push(key);
                    values.push((
                        section,
                        name.clone(),
                        vec![value[d + 1..].trim().to_owned()],
                    ));
                    opt = Some(name);
                }
                _ => {
                    errors.push(format!("\n\t[line {lineno:2}]: {}", py_line_repr(line)));
                }
            }
        }
        for (section, name, parts) in values {
            let v = parts.join("\n").trim_end().to_owned();
            match section {
                None => {
                    ini.defaults.insert(name, v);
                }
                Some(s) => {
                    ini.sections.entry(s).or_default().insert(name, v);
                }
            }
        }
        if !errors.is_empty() {
            return Err(format!(
                "Source contains parsing errors: '<string>'{}",
                errors.concat()
            ));
        }
        Ok(ini)
    }

    /// `parser.get(section, key, raw=True)`, if the section exists.
    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        let s = self.sections.get(section)?;
        s.get(key)
            .or_else(|| self.defaults.get(key))
            .map(String::as_str)
    }
}

/// How a setting's value is typed (base.yml's `type`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ty {
    Str,
    Bool,
    Int,
    Path,
    PathList,
    PathSpec,
}

/// One setting of base.yml (or of the default callback's options).
struct Def {
    name: &'static str,
    env: &'static [&'static str],
    ini: &'static [(&'static str, &'static str)],
    ty: Ty,
    choices: &'static [&'static str],
}

const fn def(
    name: &'static str,
    env: &'static [&'static str],
    ini: &'static [(&'static str, &'static str)],
    ty: Ty,
) -> Def {
    Def {
        name,
        env,
        ini,
        ty,
        choices: &[],
    }
}

/// A resolved value before typing, with where it came from.
enum Raw {
    Default,
    Env(&'static str, String),
    File(String),
}

/// The value of a setting once typed.
enum Val {
    Str(String),
    Bool(bool),
    Int(i64),
    Path(PathBuf),
    Paths(Vec<PathBuf>),
}

/// `ensure_type(..., 'integer')`: what Python's `Decimal` accepts, when
/// integral.
fn parse_int(raw: &str) -> Result<i64, String> {
    let t = raw.trim();
    let clean: String = t.chars().filter(|c| *c != '_').collect();
    let shaped = !t.starts_with('_')
        && !t.ends_with('_')
        && !t.contains("__")
        && !clean.is_empty()
        && clean
            .trim_start_matches(['+', '-'])
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
        && clean
            .trim_start_matches(['+', '-'])
            .starts_with(|c: char| c.is_ascii_digit() || c == '.');
    if !shaped {
        return Err(String::new());
    }
    if let Ok(i) = clean.parse::<i64>() {
        return Ok(i);
    }
    match clean.parse::<f64>() {
        Ok(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e18 => Ok(f as i64),
        Ok(f) if f.is_finite() => Err(format!(
            "Invalid type provided for \"int\": {}",
            py_line_repr(raw)
        )),
        _ => Err(String::new()),
    }
}

/// `boolean(value, strict=False)`.
fn parse_bool(raw: &str) -> bool {
    matches!(
        raw.trim().to_lowercase().as_str(),
        "y" | "yes" | "on" | "1" | "true" | "t"
    )
}

/// `unquote`: one pair of matching outer quotes removed.
fn unquote(s: &str) -> &str {
    for q in ['"', '\''] {
        if s.len() >= 2 && s.starts_with(q) && s.ends_with(q) {
            return &s[1..s.len() - 1];
        }
    }
    s
}

struct Resolver<'a> {
    src: &'a Sources,
    ini: Option<&'a Ini>,
    file: Option<&'a Path>,
}

impl Resolver<'_> {
    fn raw(&self, d: &Def) -> Raw {
        // The last variable set wins, as `_loop_entries`.
        let mut found = None;
        for e in d.env {
            if let Some(v) = self.src.var(e) {
                found = Some(Raw::Env(e, v.to_owned()));
            }
        }
        if let Some(f) = found {
            return f;
        }
        if let Some(ini) = self.ini {
            let mut found = None;
            for (section, key) in d.ini {
                if let Some(v) = ini.get(section, key) {
                    found = Some(Raw::File(v.to_owned()));
                }
            }
            if let Some(f) = found {
                return f;
            }
        }
        Raw::Default
    }

    /// The typed value, or `None` for the default.
    fn get(&self, d: &Def) -> Result<Option<Val>, ConfigError> {
        let (text, origin, from_file) = match self.raw(d) {
            Raw::Default => return Ok(None),
            Raw::Env(name, v) => (v, format!("env: {name}"), false),
            Raw::File(v) => (
                v,
                self.file
                    .map(|f| f.display().to_string())
                    .unwrap_or_default(),
                true,
            ),
        };
        let basedir = if from_file {
            self.file.and_then(Path::parent)
        } else {
            None
        };
        let val = match d.ty {
            Ty::Bool => Val::Bool(parse_bool(&text)),
            Ty::Int => match parse_int(&text) {
                Ok(i) => Val::Int(i),
                // An empty variable means the default.
                Err(_) if !from_file && text.is_empty() => return Ok(None),
                Err(msg) => {
                    return Err(ConfigError::Type {
                        setting: d.name,
                        origin,
                        msg,
                    })
                }
            },
            Ty::Str => {
                let s = if from_file {
                    unquote(&text).to_owned()
                } else {
                    text
                };
                if !d.choices.is_empty() && !d.choices.contains(&s.as_str()) {
                    return Err(ConfigError::Choice {
                        setting: d.name,
                        value: s,
                        valid: d.choices.join(", "),
                    });
                }
                Val::Str(s)
            }
            Ty::Path => Val::Path(self.src.unfrack(&text, basedir)),
            Ty::PathList => Val::Paths(
                text.split(',')
                    .map(|p| self.src.unfrack(p.trim(), basedir))
                    .collect(),
            ),
            Ty::PathSpec => Val::Paths(
                text.split(':')
                    .map(|p| self.src.unfrack(p, basedir))
                    .collect(),
            ),
        };
        Ok(Some(val))
    }

    fn string(&self, d: &Def, default: &str) -> Result<String, ConfigError> {
        Ok(match self.get(d)? {
            Some(Val::Str(s)) => s,
            _ => default.to_owned(),
        })
    }

    fn opt_string(&self, d: &Def) -> Result<Option<String>, ConfigError> {
        Ok(match self.get(d)? {
            Some(Val::Str(s)) => Some(s),
            _ => None,
        })
    }

    fn boolean(&self, d: &Def, default: bool) -> Result<bool, ConfigError> {
        Ok(match self.get(d)? {
            Some(Val::Bool(b)) => b,
            _ => default,
        })
    }

    fn int(&self, d: &Def, default: i64) -> Result<i64, ConfigError> {
        Ok(match self.get(d)? {
            Some(Val::Int(i)) => i,
            _ => default,
        })
    }

    fn path(&self, d: &Def) -> Result<Option<PathBuf>, ConfigError> {
        Ok(match self.get(d)? {
            Some(Val::Path(p)) => Some(p),
            _ => None,
        })
    }

    fn paths(&self, d: &Def, default: &str) -> Result<Vec<PathBuf>, ConfigError> {
        Ok(match self.get(d)? {
            Some(Val::Paths(p)) => p,
            _ => default
                .split(':')
                .map(|p| self.src.unfrack(p, None))
                .collect(),
        })
    }

    fn color(&self, key: &'static str, default: &str) -> String {
        let env: &'static str = match key {
            "ok" => "ANSIBLE_COLOR_OK",
            "changed" => "ANSIBLE_COLOR_CHANGED",
            "skip" => "ANSIBLE_COLOR_SKIP",
            "error" => "ANSIBLE_COLOR_ERROR",
            "unreachable" => "ANSIBLE_COLOR_UNREACHABLE",
            "warn" => "ANSIBLE_COLOR_WARN",
            "debug" => "ANSIBLE_COLOR_DEBUG",
            "verbose" => "ANSIBLE_COLOR_VERBOSE",
            "deprecate" => "ANSIBLE_COLOR_DEPRECATE",
            "diff_add" => "ANSIBLE_COLOR_DIFF_ADD",
            "diff_remove" => "ANSIBLE_COLOR_DIFF_REMOVE",
            "diff_lines" => "ANSIBLE_COLOR_DIFF_LINES",
            "included" => "ANSIBLE_COLOR_INCLUDED",
            _ => "ANSIBLE_COLOR_HIGHLIGHT",
        };
        let name = self
            .src
            .var(env)
            .map(str::to_owned)
            .or_else(|| {
                self.ini
                    .and_then(|i| i.get("colors", key))
                    .map(|v| unquote(v).to_owned())
            })
            .unwrap_or_else(|| default.to_owned());
        parse_color(&name).unwrap_or_else(|| parse_color(default).unwrap_or_default())
    }
}

/// `parsecolor`: a colour name (`bright red`), `colorN`, `rgbRGB` or
/// `grayN` as an SGR parameter string.
pub fn parse_color(name: &str) -> Option<String> {
    let digits = |s: &str| -> Option<u32> {
        let d: String = s.chars().take_while(char::is_ascii_digit).collect();
        d.parse().ok()
    };
    if let Some(n) = name.strip_prefix("color").and_then(digits) {
        return Some(format!("38;5;{n}"));
    }
    if let Some(rgb) = name.strip_prefix("rgb") {
        let c: Vec<u32> = rgb.chars().take(3).filter_map(|c| c.to_digit(6)).collect();
        if c.len() == 3 {
            return Some(format!("38;5;{}", 16 + 36 * c[0] + 6 * c[1] + c[2]));
        }
    }
    if let Some(n) = name.strip_prefix("gray").and_then(digits) {
        return Some(format!("38;5;{}", 232 + n));
    }
    let code = match name {
        "black" => "0;30",
        "bright gray" => "0;37",
        "blue" => "0;34",
        "white" => "1;37",
        "green" => "0;32",
        "bright blue" => "1;34",
        "cyan" => "0;36",
        "bright green" => "1;32",
        "red" => "0;31",
        "bright cyan" => "1;36",
        "purple" | "magenta" => "0;35",
        "bright red" => "1;31",
        "yellow" => "0;33",
        "bright purple" | "bright magenta" => "1;35",
        "dark gray" => "1;30",
        "bright yellow" => "1;33",
        "normal" => "0",
        _ => return None,
    };
    Some(code.to_owned())
}

const FORKS: Def = def(
    "DEFAULT_FORKS",
    &["ANSIBLE_FORKS"],
    &[("defaults", "forks")],
    Ty::Int,
);
const HOST_LIST: Def = def(
    "DEFAULT_HOST_LIST",
    &["ANSIBLE_INVENTORY"],
    &[("defaults", "inventory")],
    Ty::PathList,
);
const ROLES_PATH: Def = def(
    "DEFAULT_ROLES_PATH",
    &["ANSIBLE_ROLES_PATH"],
    &[("defaults", "roles_path")],
    Ty::PathSpec,
);
const COLLECTIONS_PATHS: Def = def(
    "COLLECTIONS_PATHS",
    &["ANSIBLE_COLLECTIONS_PATHS", "ANSIBLE_COLLECTIONS_PATH"],
    &[
        ("defaults", "collections_paths"),
        ("defaults", "collections_path"),
    ],
    Ty::PathSpec,
);
const MODULE_PATH: Def = def(
    "DEFAULT_MODULE_PATH",
    &["ANSIBLE_LIBRARY"],
    &[("defaults", "library")],
    Ty::PathSpec,
);
const HOST_KEY_CHECKING: Def = def(
    "HOST_KEY_CHECKING",
    &["ANSIBLE_HOST_KEY_CHECKING"],
    &[("defaults", "host_key_checking")],
    Ty::Bool,
);
const REMOTE_USER: Def = def(
    "DEFAULT_REMOTE_USER",
    &["ANSIBLE_REMOTE_USER"],
    &[("defaults", "remote_user")],
    Ty::Str,
);
const MANAGED_STR: Def = def(
    "DEFAULT_MANAGED_STR",
    &[],
    &[("defaults", "ansible_managed")],
    Ty::Str,
);
const PRIVATE_KEY_FILE: Def = def(
    "DEFAULT_PRIVATE_KEY_FILE",
    &["ANSIBLE_PRIVATE_KEY_FILE"],
    &[("defaults", "private_key_file")],
    Ty::Path,
);
const SSH_ARGS: Def = def(
    "ssh_args",
    &["ANSIBLE_SSH_ARGS"],
    &[("ssh_connection", "ssh_args")],
    Ty::Str,
);
const SSH_RETRIES: Def = def(
    "reconnection_retries",
    &["ANSIBLE_SSH_RETRIES"],
    &[("connection", "retries"), ("ssh_connection", "retries")],
    Ty::Int,
);
const BECOME: Def = def(
    "DEFAULT_BECOME",
    &["ANSIBLE_BECOME"],
    &[("privilege_escalation", "become")],
    Ty::Bool,
);
const BECOME_METHOD: Def = def(
    "DEFAULT_BECOME_METHOD",
    &["ANSIBLE_BECOME_METHOD"],
    &[("privilege_escalation", "become_method")],
    Ty::Str,
);
const BECOME_USER: Def = def(
    "DEFAULT_BECOME_USER",
    &["ANSIBLE_BECOME_USER"],
    &[("privilege_escalation", "become_user")],
    Ty::Str,
);
const TIMEOUT: Def = def(
    "DEFAULT_TIMEOUT",
    &["ANSIBLE_TIMEOUT"],
    &[("defaults", "timeout")],
    Ty::Int,
);
const TRANSPORT: Def = def(
    "DEFAULT_TRANSPORT",
    &["ANSIBLE_TRANSPORT"],
    &[("defaults", "transport")],
    Ty::Str,
);
const STDOUT_CALLBACK: Def = def(
    "DEFAULT_STDOUT_CALLBACK",
    &["ANSIBLE_STDOUT_CALLBACK"],
    &[("defaults", "stdout_callback")],
    Ty::Str,
);
const GATHERING: Def = Def {
    choices: &["implicit", "explicit", "smart"],
    ..def(
        "DEFAULT_GATHERING",
        &["ANSIBLE_GATHERING"],
        &[("defaults", "gathering")],
        Ty::Str,
    )
};
const CACHE_PLUGIN: Def = def(
    "CACHE_PLUGIN",
    &["ANSIBLE_CACHE_PLUGIN"],
    &[("defaults", "fact_caching")],
    Ty::Str,
);
const CACHE_PLUGIN_CONNECTION: Def = def(
    "CACHE_PLUGIN_CONNECTION",
    &["ANSIBLE_CACHE_PLUGIN_CONNECTION"],
    &[("defaults", "fact_caching_connection")],
    Ty::Str,
);
const CACHE_PLUGIN_URI: Def = def(
    "_uri",
    &["ANSIBLE_CACHE_PLUGIN_CONNECTION"],
    &[("defaults", "fact_caching_connection")],
    Ty::Path,
);
const CACHE_PLUGIN_TIMEOUT: Def = def(
    "CACHE_PLUGIN_TIMEOUT",
    &["ANSIBLE_CACHE_PLUGIN_TIMEOUT"],
    &[("defaults", "fact_caching_timeout")],
    Ty::Int,
);
const CACHE_PLUGIN_PREFIX: Def = def(
    "CACHE_PLUGIN_PREFIX",
    &["ANSIBLE_CACHE_PLUGIN_PREFIX"],
    &[("defaults", "fact_caching_prefix")],
    Ty::Str,
);
const RETRY_FILES_ENABLED: Def = def(
    "RETRY_FILES_ENABLED",
    &["ANSIBLE_RETRY_FILES_ENABLED"],
    &[("defaults", "retry_files_enabled")],
    Ty::Bool,
);
const NOCOLOR: Def = def(
    "ANSIBLE_NOCOLOR",
    &["ANSIBLE_NOCOLOR", "NO_COLOR"],
    &[("defaults", "nocolor")],
    Ty::Bool,
);
const FORCE_COLOR: Def = def(
    "ANSIBLE_FORCE_COLOR",
    &["ANSIBLE_FORCE_COLOR"],
    &[("defaults", "force_color")],
    Ty::Bool,
);
const HASH_BEHAVIOUR: Def = Def {
    choices: &["replace", "merge"],
    ..def(
        "DEFAULT_HASH_BEHAVIOUR",
        &["ANSIBLE_HASH_BEHAVIOUR"],
        &[("defaults", "hash_behaviour")],
        Ty::Str,
    )
};
const VAULT_PASSWORD_FILE: Def = def(
    "DEFAULT_VAULT_PASSWORD_FILE",
    &["ANSIBLE_VAULT_PASSWORD_FILE"],
    &[("defaults", "vault_password_file")],
    Ty::Path,
);
const VAULT_IDENTITY_LIST: Def = def(
    "DEFAULT_VAULT_IDENTITY_LIST",
    &["ANSIBLE_VAULT_IDENTITY_LIST"],
    &[("defaults", "vault_identity_list")],
    Ty::Str,
);
const VAULT_IDENTITY: Def = def(
    "DEFAULT_VAULT_IDENTITY",
    &["ANSIBLE_VAULT_IDENTITY"],
    &[("defaults", "vault_identity")],
    Ty::Str,
);
const HOST_PATTERN_MISMATCH: Def = Def {
    choices: &["error", "warning", "ignore"],
    ..def(
        "HOST_PATTERN_MISMATCH",
        &["ANSIBLE_HOST_PATTERN_MISMATCH"],
        &[("inventory", "host_pattern_mismatch")],
        Ty::Str,
    )
};
const ANY_ERRORS_FATAL: Def = def(
    "ANY_ERRORS_FATAL",
    &["ANSIBLE_ANY_ERRORS_FATAL"],
    &[("defaults", "any_errors_fatal")],
    Ty::Bool,
);
const DEPRECATION_WARNINGS: Def = def(
    "DEPRECATION_WARNINGS",
    &["ANSIBLE_DEPRECATION_WARNINGS"],
    &[("defaults", "deprecation_warnings")],
    Ty::Bool,
);
const SYSTEM_WARNINGS: Def = def(
    "SYSTEM_WARNINGS",
    &["ANSIBLE_SYSTEM_WARNINGS"],
    &[("defaults", "system_warnings")],
    Ty::Bool,
);
const DISPLAY_ARGS_TO_STDOUT: Def = def(
    "DISPLAY_ARGS_TO_STDOUT",
    &["ANSIBLE_DISPLAY_ARGS_TO_STDOUT"],
    &[("defaults", "display_args_to_stdout")],
    Ty::Bool,
);
const POLL_INTERVAL: Def = def(
    "DEFAULT_POLL_INTERVAL",
    &["ANSIBLE_POLL_INTERVAL"],
    &[("defaults", "poll_interval")],
    Ty::Int,
);
const DISPLAY_SKIPPED_HOSTS: Def = def(
    "DISPLAY_SKIPPED_HOSTS",
    &["ANSIBLE_DISPLAY_SKIPPED_HOSTS"],
    &[("defaults", "display_skipped_hosts")],
    Ty::Bool,
);
const DISPLAY_OK_HOSTS: Def = def(
    "display_ok_hosts",
    &["ANSIBLE_DISPLAY_OK_HOSTS"],
    &[("defaults", "display_ok_hosts")],
    Ty::Bool,
);
const DISPLAY_FAILED_STDERR: Def = def(
    "display_failed_stderr",
    &["ANSIBLE_DISPLAY_FAILED_STDERR"],
    &[("defaults", "display_failed_stderr")],
    Ty::Bool,
);
const SHOW_CUSTOM_STATS: Def = def(
    "SHOW_CUSTOM_STATS",
    &["ANSIBLE_SHOW_CUSTOM_STATS"],
    &[("defaults", "show_custom_stats")],
    Ty::Bool,
);
const SHOW_PER_HOST_START: Def = def(
    "show_per_host_start",
    &["ANSIBLE_SHOW_PER_HOST_START"],
    &[("defaults", "show_per_host_start")],
    Ty::Bool,
);
const CHECK_MODE_MARKERS: Def = def(
    "check_mode_markers",
    &["ANSIBLE_CHECK_MODE_MARKERS"],
    &[("defaults", "check_mode_markers")],
    Ty::Bool,
);
const SHOW_TASK_PATH_ON_FAILURE: Def = def(
    "show_task_path_on_failure",
    &["ANSIBLE_SHOW_TASK_PATH_ON_FAILURE"],
    &[("defaults", "show_task_path_on_failure")],
    Ty::Bool,
);

/// `find_ini_config_file`: the config file in use, and the warning about
/// a world-writable working directory.
pub fn find_config_file(src: &Sources) -> (Option<PathBuf>, Vec<String>) {
    use std::os::unix::fs::PermissionsExt;
    let mut candidates = Vec::new();
    let from_env = src.var("ANSIBLE_CONFIG").map(|p| {
        let p = src.unfrack(p, None);
        if p.is_dir() {
            p.join("ansible.cfg")
        } else {
            p
        }
    });
    candidates.extend(from_env.clone());
    let mut warn_cwd = false;
    let cwd_cfg = src.cwd.join("ansible.cfg");
    match std::fs::metadata(&src.cwd) {
        Ok(m) if m.permissions().mode() & 0o002 != 0 => warn_cwd = cwd_cfg.exists(),
        Ok(_) => candidates.push(cwd_cfg),
        Err(_) => {}
    }
    candidates.push(src.unfrack("~/.ansible.cfg", None));
    candidates.push(src.system_file.clone());
    let found = candidates
        .into_iter()
        .find(|p| p.exists() && std::fs::File::open(p).is_ok());
    let mut warnings = Vec::new();
    // (Ansible compares with a sentinel when ANSIBLE_CONFIG is unset.)
    if warn_cwd && (from_env.is_none() || from_env != found) {
        warnings.push(format!(
            "Ansible is being run in a world writable directory ({}), ignoring it as an ansible.cfg source. For more information see https://docs.ansible.com/ansible/devel/reference_appendices/config.html#cfg-in-world-writable-dir",
            src.cwd.display()
        ));
    }
    (found, warnings)
}

/// Reads and parses the config file.
fn read_ini(path: &Path) -> Result<Ini, ConfigError> {
    let shown = path.display().to_string();
    let ext = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    if ext != ".ini" && ext != ".cfg" {
        return Err(ConfigError::Extension { path: shown, ext });
    }
    let bytes = std::fs::read(path).map_err(|e| ConfigError::Read {
        path: shown.clone(),
        msg: e.to_string(),
    })?;
    let text = String::from_utf8(bytes).map_err(|e| ConfigError::NotUtf8 {
        path: shown.clone(),
        msg: e.to_string(),
    })?;
    Ini::parse(&text).map_err(|msg| ConfigError::Read { path: shown, msg })
}

/// Finds and reads `rustle.toml`: `$RUSTLE_CONFIG`, else next to the
/// ansible.cfg in use, else in the working directory.
fn read_rustle(
    src: &Sources,
    ansible_cfg: Option<&Path>,
) -> Result<(Option<PathBuf>, RustleSettings), ConfigError> {
    let mut candidates = Vec::new();
    if let Some(p) = src.var("RUSTLE_CONFIG") {
        candidates.push(src.unfrack(p, None));
    }
    if let Some(dir) = ansible_cfg.and_then(Path::parent) {
        candidates.push(dir.join("rustle.toml"));
    }
    candidates.push(src.cwd.join("rustle.toml"));
    let Some(path) = candidates.into_iter().find(|p| p.is_file()) else {
        return Ok((None, RustleSettings::default()));
    };
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(&path).map_err(|e| ConfigError::Rustle {
        path: shown.clone(),
        msg: e.to_string(),
    })?;
    let mut s: RustleSettings = toml::from_str(&text).map_err(|e| ConfigError::Rustle {
        path: shown,
        msg: e.message().to_owned(),
    })?;
    // Relative paths are relative to the file.
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let fix = |p: &PathBuf| src.unfrack(&p.display().to_string(), Some(&base));
    s.bundle_cache = s.bundle_cache.as_ref().map(fix);
    for v in s.runners.values_mut() {
        *v = fix(v);
    }
    Ok((Some(path), s))
}

impl Config {
    /// Settings of this process (environment, working directory, home).
    pub fn load() -> Result<Config, ConfigError> {
        Self::load_from(&Sources::from_process())
    }

    /// Settings from explicit sources.
    pub fn load_from(src: &Sources) -> Result<Config, ConfigError> {
        let (file, warnings) = find_config_file(src);
        let ini = file.as_deref().map(read_ini).transpose()?;
        let r = Resolver {
            src,
            ini: ini.as_ref(),
            file: file.as_deref(),
        };
        let ansible_home = src.unfrack("~/.ansible", None).display().to_string();
        let gathering = match r.string(&GATHERING, "implicit")?.as_str() {
            "explicit" => Gathering::Explicit,
            "smart" => Gathering::Smart,
            _ => Gathering::Implicit,
        };
        let hash_behaviour = match r.string(&HASH_BEHAVIOUR, "replace")?.as_str() {
            "merge" => HashBehaviour::Merge,
            _ => HashBehaviour::Replace,
        };
        let host_pattern_mismatch = match r.string(&HOST_PATTERN_MISMATCH, "warning")?.as_str() {
            "error" => rustle_inventory::PatternMismatch::Error,
            "ignore" => rustle_inventory::PatternMismatch::Ignore,
            _ => rustle_inventory::PatternMismatch::Warning,
        };
        let colors = Colors {
            ok: r.color("ok", "green"),
            changed: r.color("changed", "yellow"),
            skip: r.color("skip", "cyan"),
            error: r.color("error", "red"),
            unreachable: r.color("unreachable", "bright red"),
            warn: r.color("warn", "bright purple"),
            debug: r.color("debug", "dark gray"),
            verbose: r.color("verbose", "blue"),
            deprecate: r.color("deprecate", "purple"),
            diff_add: r.color("diff_add", "green"),
            diff_remove: r.color("diff_remove", "red"),
            diff_lines: r.color("diff_lines", "cyan"),
            included: r.color("included", "cyan"),
            highlight: r.color("highlight", "white"),
        };
        let (rustle_file, rustle) = read_rustle(src, file.as_deref())?;
        Ok(Config {
            forks: r.int(&FORKS, 5)?,
            inventory: match r.get(&HOST_LIST)? {
                Some(Val::Paths(p)) => p.iter().map(|p| p.display().to_string()).collect(),
                _ => vec!["/etc/ansible/hosts".to_owned()],
            },
            roles_path: r.paths(
                &ROLES_PATH,
                &format!("{ansible_home}/roles:/usr/share/ansible/roles:/etc/ansible/roles"),
            )?,
            collections_path: r.paths(
                &COLLECTIONS_PATHS,
                &format!("{ansible_home}/collections:/usr/share/ansible/collections"),
            )?,
            module_path: r.paths(
                &MODULE_PATH,
                &format!("{ansible_home}/plugins/modules:/usr/share/ansible/plugins/modules"),
            )?,
            host_key_checking: r.boolean(&HOST_KEY_CHECKING, true)?,
            remote_user: r.opt_string(&REMOTE_USER)?,
            managed_str: r.string(&MANAGED_STR, "Ansible managed")?,
            private_key_file: r.path(&PRIVATE_KEY_FILE)?,
            ssh_args: r.opt_string(&SSH_ARGS)?,
            ssh_retries: r.int(&SSH_RETRIES, 0)?,
            become_: r.boolean(&BECOME, false)?,
            become_method: r.string(&BECOME_METHOD, "sudo")?,
            become_user: r.string(&BECOME_USER, "root")?,
            timeout: r.int(&TIMEOUT, 10)?,
            transport: r.string(&TRANSPORT, "ssh")?,
            stdout_callback: r.string(&STDOUT_CALLBACK, "default")?,
            gathering,
            fact_caching: r.string(&CACHE_PLUGIN, "memory")?,
            fact_caching_connection: r.opt_string(&CACHE_PLUGIN_CONNECTION)?,
            fact_caching_timeout: r.int(&CACHE_PLUGIN_TIMEOUT, 86400)?,
            fact_caching_prefix: r.string(&CACHE_PLUGIN_PREFIX, "ansible_facts")?,
            fact_caching_dir: r
                .path(&CACHE_PLUGIN_URI)?
                .filter(|p| !p.as_os_str().is_empty()),
            fact_caching_file_prefix: r.opt_string(&CACHE_PLUGIN_PREFIX)?.unwrap_or_default(),
            retry_files_enabled: r.boolean(&RETRY_FILES_ENABLED, false)?,
            nocolor: r.boolean(&NOCOLOR, false)?,
            force_color: r.boolean(&FORCE_COLOR, false)?,
            hash_behaviour,
            host_pattern_mismatch,
            vault_password_file: r.path(&VAULT_PASSWORD_FILE)?,
            vault_identity_list: r
                .string(&VAULT_IDENTITY_LIST, "")?
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
            vault_identity: r.string(&VAULT_IDENTITY, "default")?,
            any_errors_fatal: r.boolean(&ANY_ERRORS_FATAL, false)?,
            deprecation_warnings: r.boolean(&DEPRECATION_WARNINGS, true)?,
            system_warnings: r.boolean(&SYSTEM_WARNINGS, true)?,
            display_args_to_stdout: r.boolean(&DISPLAY_ARGS_TO_STDOUT, false)?,
            poll_interval: r.int(&POLL_INTERVAL, 15)?,
            display_skipped_hosts: r.boolean(&DISPLAY_SKIPPED_HOSTS, true)?,
            display_ok_hosts: r.boolean(&DISPLAY_OK_HOSTS, true)?,
            display_failed_stderr: r.boolean(&DISPLAY_FAILED_STDERR, false)?,
            show_custom_stats: r.boolean(&SHOW_CUSTOM_STATS, false)?,
            show_per_host_start: r.boolean(&SHOW_PER_HOST_START, false)?,
            check_mode_markers: r.boolean(&CHECK_MODE_MARKERS, false)?,
            show_task_path_on_failure: r.boolean(&SHOW_TASK_PATH_ON_FAILURE, false)?,
            colors,
            file,
            rustle_file,
            warnings,
            rustle,
        })
    }

    /// What `lookup('config', NAME)` returns for the settings Rustle
    /// resolves (call before [`Config::apply_cli`]: no setting of base.yml
    /// takes the command line).
    pub fn lookup_values(&self) -> serde_json::Map<String, serde_json::Value> {
        use serde_json::Value as J;
        let paths = |p: &[PathBuf]| {
            J::Array(
                p.iter()
                    .map(|x| J::String(x.display().to_string()))
                    .collect(),
            )
        };
        let opt = |s: &Option<String>| s.clone().map_or(J::Null, J::String);
        let mut m = serde_json::Map::new();
        let mut put = |k: &str, v: J| {
            m.insert(k.to_owned(), v);
        };
        put("DEFAULT_FORKS", J::from(self.forks));
        put("DEFAULT_TIMEOUT", J::from(self.timeout));
        put(
            "DEFAULT_HOST_LIST",
            J::Array(self.inventory.iter().cloned().map(J::String).collect()),
        );
        put("DEFAULT_ROLES_PATH", paths(&self.roles_path));
        put("COLLECTIONS_PATHS", paths(&self.collections_path));
        put("DEFAULT_MODULE_PATH", paths(&self.module_path));
        put("HOST_KEY_CHECKING", J::Bool(self.host_key_checking));
        put("DEFAULT_REMOTE_USER", opt(&self.remote_user));
        put("DEFAULT_MANAGED_STR", J::String(self.managed_str.clone()));
        put(
            "DEFAULT_PRIVATE_KEY_FILE",
            self.private_key_file
                .as_ref()
                .map_or(J::Null, |p| J::String(p.display().to_string())),
        );
        put("DEFAULT_BECOME", J::Bool(self.become_));
        put(
            "DEFAULT_BECOME_METHOD",
            J::String(self.become_method.clone()),
        );
        put("DEFAULT_BECOME_USER", J::String(self.become_user.clone()));
        put("DEFAULT_TRANSPORT", J::String(self.transport.clone()));
        put(
            "DEFAULT_STDOUT_CALLBACK",
            J::String(self.stdout_callback.clone()),
        );
        put(
            "DEFAULT_GATHERING",
            J::from(match self.gathering {
                Gathering::Implicit => "implicit",
                Gathering::Explicit => "explicit",
                Gathering::Smart => "smart",
            }),
        );
        put("CACHE_PLUGIN", J::String(self.fact_caching.clone()));
        put(
            "CACHE_PLUGIN_CONNECTION",
            opt(&self.fact_caching_connection),
        );
        put("CACHE_PLUGIN_TIMEOUT", J::from(self.fact_caching_timeout));
        put(
            "CACHE_PLUGIN_PREFIX",
            J::String(self.fact_caching_prefix.clone()),
        );
        put("RETRY_FILES_ENABLED", J::Bool(self.retry_files_enabled));
        put("ANSIBLE_NOCOLOR", J::Bool(self.nocolor));
        put("ANSIBLE_FORCE_COLOR", J::Bool(self.force_color));
        put(
            "DEFAULT_HASH_BEHAVIOUR",
            J::from(match self.hash_behaviour {
                HashBehaviour::Replace => "replace",
                HashBehaviour::Merge => "merge",
            }),
        );
        put(
            "HOST_PATTERN_MISMATCH",
            J::from(match self.host_pattern_mismatch {
                rustle_inventory::PatternMismatch::Warning => "warning",
                rustle_inventory::PatternMismatch::Error => "error",
                rustle_inventory::PatternMismatch::Ignore => "ignore",
            }),
        );
        put("ANY_ERRORS_FATAL", J::Bool(self.any_errors_fatal));
        put("DEPRECATION_WARNINGS", J::Bool(self.deprecation_warnings));
        put("SYSTEM_WARNINGS", J::Bool(self.system_warnings));
        put(
            "DISPLAY_ARGS_TO_STDOUT",
            J::Bool(self.display_args_to_stdout),
        );
        put("DISPLAY_SKIPPED_HOSTS", J::Bool(self.display_skipped_hosts));
        put("SHOW_CUSTOM_STATS", J::Bool(self.show_custom_stats));
        put("DEFAULT_POLL_INTERVAL", J::from(self.poll_interval));
        m
    }

    /// Command-line options override the file and the environment.
    pub fn apply_cli(&mut self, args: &PlaybookArgs) {
        if let Some(f) = args.forks {
            self.forks = f as i64;
        }
        if let Some(u) = &args.user {
            self.remote_user = Some(u.clone());
        }
        if let Some(k) = &args.private_key {
            self.private_key_file = Some(k.clone());
        }
        if let Some(t) = args.timeout {
            self.timeout = t as i64;
        }
        if args.become_ {
            self.become_ = true;
        }
        if let Some(m) = &args.become_method {
            self.become_method = m.clone();
        }
        if let Some(u) = &args.become_user {
            self.become_user = u.clone();
        }
        if let Some(c) = &args.connection {
            self.transport = c.clone();
        }
        if !args.module_path.is_empty() {
            let mut paths: Vec<PathBuf> = args
                .module_path
                .iter()
                .flat_map(|p| p.split(':'))
                .map(PathBuf::from)
                .collect();
            paths.append(&mut self.module_path);
            self.module_path = paths;
        }
    }

    /// Whether output is coloured: on a terminal unless `nocolor`, or
    /// whenever `force_color` (utils/color.py).
    pub fn color_enabled(&self, stdout_is_tty: bool) -> bool {
        self.force_color || (!self.nocolor && stdout_is_tty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(dir: &Path, env: &[(&str, &str)]) -> Sources {
        Sources {
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            cwd: dir.to_path_buf(),
            home: Some(dir.join("home")),
            system_file: dir.join("etc-ansible.cfg"),
        }
    }

    fn with_cfg(text: &str) -> tempfile::TempDir {
        let d = tempfile::tempdir().expect("tmp");
        std::fs::write(d.path().join("ansible.cfg"), text).expect("write");
        d
    }

    #[test]
    fn no_file_gives_defaults() {
        let d = tempfile::tempdir().expect("tmp");
        let c = Config::load_from(&sources(d.path(), &[])).expect("load");
        assert_eq!(c.file, None);
        assert_eq!(c.forks, 5);
        assert_eq!(c.timeout, 10);
        assert_eq!(c.inventory, vec!["/etc/ansible/hosts".to_owned()]);
        assert_eq!(c.gathering, Gathering::Implicit);
        assert_eq!(c.roles_path[0], d.path().join("home/.ansible/roles"));
        assert_eq!(c.colors.ok, "0;32");
        assert_eq!(c.colors.warn, "1;35");
        assert!(c.host_key_checking && c.display_ok_hosts && c.display_skipped_hosts);
    }

    #[test]
    fn precedence_file_env_cli() {
        let d = with_cfg(
            "[defaults]\nforks = 7 ; seven\ntimeout=3\ngathering = explicit\nroles_path = r1:/abs/r2\ninventory = hosts, other\n[privilege_escalation]\nbecome = yes\n",
        );
        let c = Config::load_from(&sources(d.path(), &[])).expect("load");
        assert_eq!(c.file, Some(d.path().join("ansible.cfg")));
        assert_eq!((c.forks, c.timeout), (7, 3));
        assert_eq!(c.gathering, Gathering::Explicit);
        assert!(c.become_);
        // Relative paths in the file are relative to the file.
        assert_eq!(c.roles_path, vec![d.path().join("r1"), "/abs/r2".into()]);
        assert_eq!(
            c.inventory,
            vec![
                d.path().join("hosts").display().to_string(),
                d.path().join("other").display().to_string()
            ]
        );
        let mut c = Config::load_from(&sources(
            d.path(),
            &[("ANSIBLE_FORKS", "9"), ("ANSIBLE_GATHERING", "smart")],
        ))
        .expect("load");
        assert_eq!((c.forks, c.timeout), (9, 3));
        assert_eq!(c.gathering, Gathering::Smart);
        c.apply_cli(&PlaybookArgs {
            forks: Some(2),
            ..Default::default()
        });
        assert_eq!(c.forks, 2);
    }

    #[test]
    fn ansible_config_env_and_home() {
        let d = tempfile::tempdir().expect("tmp");
        std::fs::create_dir_all(d.path().join("home")).expect("mkdir");
        std::fs::write(d.path().join("home/.ansible.cfg"), "[defaults]\nforks=3\n").expect("w");
        let c = Config::load_from(&sources(d.path(), &[])).expect("load");
        assert_eq!(c.file, Some(d.path().join("home/.ansible.cfg")));
        assert_eq!(c.forks, 3);
        std::fs::create_dir_all(d.path().join("conf")).expect("mkdir");
        std::fs::write(d.path().join("conf/ansible.cfg"), "[defaults]\nforks=4\n").expect("w");
        let conf = d.path().join("conf").display().to_string();
        let c = Config::load_from(&sources(d.path(), &[("ANSIBLE_CONFIG", &conf)])).expect("l");
        assert_eq!(
            (c.forks, c.file),
            (4, Some(d.path().join("conf/ansible.cfg")))
        );
    }

    #[test]
    fn world_writable_cwd_is_skipped_with_a_warning() {
        use std::os::unix::fs::PermissionsExt;
        let d = with_cfg("[defaults]\nforks=3\n");
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let c = Config::load_from(&sources(d.path(), &[])).expect("load");
        assert_eq!((c.file, c.forks), (None, 5));
        assert_eq!(c.warnings.len(), 1);
        assert!(c.warnings[0].starts_with(&format!(
            "Ansible is being run in a world writable directory ({}), ignoring it as an ansible.cfg source.",
            d.path().display()
        )));
        // Named by ANSIBLE_CONFIG, the same file is used, without warning.
        let f = d.path().join("ansible.cfg").display().to_string();
        let c = Config::load_from(&sources(d.path(), &[("ANSIBLE_CONFIG", &f)])).expect("load");
        assert_eq!((c.forks, c.warnings.len()), (3, 0));
    }

    #[test]
    fn bad_values_are_ansible_errors() {
        let d = with_cfg("[defaults]\nforks = abc\n");
        let e = Config::load_from(&sources(d.path(), &[])).expect_err("bad");
        let file = d.path().join("ansible.cfg").display().to_string();
        assert_eq!(
            e.to_string(),
            format!("Invalid type for configuration option setting: DEFAULT_FORKS (from {file}): ")
        );
        let d = with_cfg("[defaults]\nforks = 2.5\n");
        let e = Config::load_from(&sources(d.path(), &[])).expect_err("bad");
        assert!(e
            .to_string()
            .ends_with("): Invalid type provided for \"int\": '2.5'"));
        let e =
            Config::load_from(&sources(d.path(), &[("ANSIBLE_GATHERING", "x")])).expect_err("bad");
        assert_eq!(e.to_string(), "Invalid value \"x\" for configuration option \"setting: DEFAULT_GATHERING \", valid values are: implicit, explicit, smart");
        let d = tempfile::tempdir().expect("tmp");
        let e =
            Config::load_from(&sources(d.path(), &[("ANSIBLE_TIMEOUT", "x")])).expect_err("bad");
        assert_eq!(
            e.to_string(),
            "Invalid type for configuration option setting: DEFAULT_TIMEOUT (from env: ANSIBLE_TIMEOUT): "
        );
        assert_eq!(e.exit_code(), 5);
        // An empty variable means the default; 5.0 is an integer.
        let c = Config::load_from(&sources(
            d.path(),
            &[("ANSIBLE_TIMEOUT", ""), ("ANSIBLE_FORKS", "5.0")],
        ))
        .expect("load");
        assert_eq!((c.timeout, c.forks), (10, 5));
    }

    #[test]
    fn ini_like_configparser() {
        assert_eq!(
            Ini::parse("forks=3\n").expect_err("no section"),
            "File contains no section headers.\nfile: '<string>', line: 1\n'forks=3\\n'"
        );
        assert_eq!(
            Ini::parse("[defaults]\nforks=3\nforks=4\n").expect_err("dup"),
            "While reading from '<string>' [line  3]: option 'forks' in section 'defaults' already exists"
        );
        assert_eq!(
            Ini::parse("[defaults]\ngarbage\nx=1\nother junk\n").expect_err("junk"),
            "Source contains parsing errors: '<string>'\n\t[line  2]: 'garbage\\n'\n\t[line  4]: 'other junk\\n'"
        );
        let ini = Ini::parse(
            "[defaults]\nX=1\n  cont\ny : 2 ; c\nz = a;b\n#c\n ;c\n[DEFAULT]\nforks=9\n",
        )
        .expect("parse");
        assert_eq!(ini.get("defaults", "x"), Some("1\ncont"));
        assert_eq!(ini.get("defaults", "y"), Some("2"));
        assert_eq!(ini.get("defaults", "z"), Some("a;b"));
        assert_eq!(ini.get("defaults", "forks"), Some("9"));
        assert_eq!(ini.get("nosuch", "forks"), None);
    }

    #[test]
    fn rustle_toml() {
        let d = with_cfg("[defaults]\n");
        std::fs::write(
            d.path().join("rustle.toml"),
            "strategy = \"hybrid\"\nbundle_cache = \"cache\"\n[runners]\n\"x86_64-unknown-linux-musl\" = \"/opt/r\"\n",
        )
        .expect("w");
        let c = Config::load_from(&sources(d.path(), &[])).expect("load");
        assert_eq!(c.rustle.strategy, Strategy::Hybrid);
        assert_eq!(c.rustle.bundle_cache, Some(d.path().join("cache")));
        assert_eq!(
            c.rustle.runners.get("x86_64-unknown-linux-musl"),
            Some(&PathBuf::from("/opt/r"))
        );
        std::fs::write(d.path().join("rustle.toml"), "strategy = \"fast\"\n").expect("w");
        let e = Config::load_from(&sources(d.path(), &[])).expect_err("bad");
        assert!(matches!(e, ConfigError::Rustle { .. }), "{e}");
    }

    #[test]
    fn colors_parse() {
        assert_eq!(parse_color("bright red").as_deref(), Some("1;31"));
        assert_eq!(parse_color("color100").as_deref(), Some("38;5;100"));
        assert_eq!(parse_color("rgb123").as_deref(), Some("38;5;67"));
        assert_eq!(parse_color("gray5").as_deref(), Some("38;5;237"));
    }
}
