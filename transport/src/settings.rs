//! Connection settings for one host, resolved as Ansible's `ssh` connection
//! plugin and OpenSSH together would resolve them.
//!
//! Ansible builds `ssh [ssh_args] -o StrictHostKeyChecking=no (when
//! host_key_checking is off) -o Port=.. -o IdentityFile=.. -o User=..
//! -o ConnectTimeout=.. [ansible_ssh_common_args] [ansible_ssh_extra_args]
//! HOST`, where HOST is `ansible_host` (or the inventory name), and OpenSSH
//! then reads `~/.ssh/config` and `/etc/ssh/ssh_config` for HOST. For every
//! setting the first value wins, so the precedence here is: inventory vars
//! (and the ansible.cfg values they default to), then the `-o` options in
//! the common/extra args, then the user's ssh_config, then the system's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::ssh_config::{
    apply_entry, expand_path, home_dir, split_words, HostConfig, SshConfig, StrictHostKeyChecking,
    Tokens, SUPPORTED_KEYWORDS,
};

/// Values from ansible.cfg / the command line, passed in by the caller.
#[derive(Debug, Clone)]
pub struct Defaults {
    /// `[defaults] remote_user` / `-u`.
    pub remote_user: Option<String>,
    /// `[defaults] private_key_file` / `--private-key`.
    pub private_key_file: Option<String>,
    /// `[defaults] timeout` / `-T` (Ansible always passes it as
    /// ConnectTimeout; its default is 10).
    pub timeout: Option<u64>,
    /// `[ssh_connection] retries` (Ansible's default is 0).
    pub retries: Option<u32>,
    /// `[defaults] host_key_checking` (default true).
    pub host_key_checking: bool,
    /// `[ssh_connection] ssh_args` (only its `-o` options matter here).
    pub ssh_args: Option<String>,
    /// `--ask-pass` / `ansible_password` default.
    pub password: Option<String>,
    /// Local home directory (tokens, `~`, default files); `$HOME` by default.
    pub home: Option<PathBuf>,
    /// Local user name (`%u`, default remote user).
    pub local_user: String,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            remote_user: None,
            private_key_file: None,
            timeout: None,
            retries: None,
            host_key_checking: true,
            ssh_args: None,
            password: None,
            home: home_dir(),
            local_user: local_user_name(),
        }
    }
}

/// The user's and the system's ssh_config, loaded once for a run.
#[derive(Debug, Clone, Default)]
pub struct SshConfigs {
    pub user: SshConfig,
    pub system: SshConfig,
}

impl SshConfigs {
    /// `~/.ssh/config` and `/etc/ssh/ssh_config` (missing files are empty).
    pub fn load_default(home: Option<&Path>) -> std::io::Result<SshConfigs> {
        let user = match home {
            Some(h) => SshConfig::load(&h.join(".ssh/config"))?,
            None => SshConfig::default(),
        };
        let system = SshConfig::load(Path::new("/etc/ssh/ssh_config")).unwrap_or_default();
        Ok(SshConfigs { user, system })
    }
}

/// A ProxyJump hop, fully resolved (its own ssh_config applied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    /// The name as written in ProxyJump (what ssh_config matched).
    pub name: String,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub identity_files: Vec<PathBuf>,
    pub identities_only: bool,
    pub accept_unknown: bool,
    pub known_hosts_files: Vec<PathBuf>,
    pub record_known_hosts: Option<PathBuf>,
}

/// Everything needed to connect to one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub inventory_name: String,
    /// The name given to ssh (ansible_host or the inventory name).
    pub name: String,
    /// Where to connect (ssh_config HostName applied).
    pub host: String,
    pub port: u16,
    pub user: String,
    pub identity_files: Vec<PathBuf>,
    pub identities_only: bool,
    pub password: Option<String>,
    /// Try password authentication (PasswordAuthentication, default yes).
    pub password_authentication: bool,
    pub pubkey_authentication: bool,
    pub proxy_jump: Vec<Hop>,
    /// Unknown host keys accepted (and recorded).
    pub accept_unknown: bool,
    pub known_hosts_files: Vec<PathBuf>,
    /// Where accepted unknown keys are appended (the first user file).
    pub record_known_hosts: Option<PathBuf>,
    pub connect_timeout: Option<Duration>,
    pub server_alive_interval: Option<Duration>,
    pub server_alive_count_max: u32,
    pub retries: u32,
    /// Options read but not honoured.
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettingsError {
    #[error("invalid value for {var}: {value:?} ({why})")]
    Invalid {
        var: String,
        value: String,
        why: String,
    },
    #[error("{0} is not supported by Rustle's SSH transport (use ProxyJump)")]
    Unsupported(String),
}

/// Inventory variables whose names Ansible accepts for each setting, first
/// listed wins (`ansible_ssh_*` are the older aliases).
const HOST_VARS: &[&str] = &["ansible_host", "ansible_ssh_host"];
const PORT_VARS: &[&str] = &["ansible_port", "ansible_ssh_port"];
const USER_VARS: &[&str] = &["ansible_user", "ansible_ssh_user"];
const KEY_VARS: &[&str] = &["ansible_ssh_private_key_file", "ansible_private_key_file"];
const PASS_VARS: &[&str] = &[
    "ansible_password",
    "ansible_ssh_pass",
    "ansible_ssh_password",
];
const COMMON_ARGS: &[&str] = &["ansible_ssh_common_args"];
const EXTRA_ARGS: &[&str] = &["ansible_ssh_extra_args"];

/// Every inventory variable [`resolve`] reads.
pub const CONNECTION_VARS: &[&str] = &[
    "ansible_host",
    "ansible_ssh_host",
    "ansible_port",
    "ansible_ssh_port",
    "ansible_user",
    "ansible_ssh_user",
    "ansible_ssh_private_key_file",
    "ansible_private_key_file",
    "ansible_password",
    "ansible_ssh_pass",
    "ansible_ssh_password",
    "ansible_ssh_common_args",
    "ansible_ssh_extra_args",
];

fn var<'a>(vars: &'a BTreeMap<String, String>, names: &[&str]) -> Option<&'a str> {
    names
        .iter()
        .find_map(|n| vars.get(*n))
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

/// POSIX-shell-like word splitting (single and double quotes, backslash),
/// as Ansible splits `ssh_common_args` with `shlex`.
pub fn shell_split(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(ch) => cur.push(ch),
                        None => return Err("No closing quotation".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(ch @ ('"' | '\\' | '$' | '`')) => cur.push(ch),
                            Some(ch) => {
                                cur.push('\\');
                                cur.push(ch);
                            }
                            None => return Err("No closing quotation".into()),
                        },
                        Some(ch) => cur.push(ch),
                        None => return Err("No closing quotation".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(ch) = chars.next() {
                    cur.push(ch);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

/// What ssh command-line arguments contribute.
#[derive(Debug, Default)]
struct ArgOptions {
    config_file: Option<PathBuf>,
}

/// Applies ssh command-line arguments (`-o K=V`, `-oK=V`, `-i`, `-p`, `-l`,
/// `-J`, `-F`) to `hc`; flags without effect on connecting are ignored,
/// unsupported options recorded in `warnings`.
fn apply_ssh_args(
    var_name: &str,
    text: &str,
    hc: &mut HostConfig,
    opts: &mut ArgOptions,
    warnings: &mut Vec<String>,
) -> Result<(), SettingsError> {
    let words = shell_split(text).map_err(|why| SettingsError::Invalid {
        var: var_name.to_string(),
        value: text.to_string(),
        why,
    })?;
    let mut it = words.into_iter();
    while let Some(w) = it.next() {
        let Some(flag) = w.strip_prefix('-') else {
            warnings.push(format!("{var_name}: ignored argument {w:?}"));
            continue;
        };
        let Some(letter) = flag.chars().next() else {
            continue;
        };
        let takes_value = "oipIlJFbcDEeLmOQRSwW".contains(letter);
        if !takes_value {
            // Flags such as -C, -q, -v, -4, -T, -A: no effect on how we connect.
            continue;
        }
        let value = if flag.len() > 1 {
            flag[1..].to_string()
        } else {
            match it.next() {
                Some(v) => v,
                None => {
                    return Err(SettingsError::Invalid {
                        var: var_name.to_string(),
                        value: text.to_string(),
                        why: format!("option -{letter} needs a value"),
                    })
                }
            }
        };
        match letter {
            'o' => apply_option(var_name, &value, hc, warnings)?,
            'i' => {
                apply_entry(hc, "identityfile", &[value]);
            }
            'p' => {
                apply_entry(hc, "port", &[value]);
            }
            'l' => {
                apply_entry(hc, "user", &[value]);
            }
            'J' => {
                apply_entry(hc, "proxyjump", &[value]);
            }
            'F' => opts.config_file = Some(PathBuf::from(value)),
            other => warnings.push(format!("{var_name}: ignored option -{other} {value}")),
        }
    }
    Ok(())
}

fn apply_option(
    var_name: &str,
    value: &str,
    hc: &mut HostConfig,
    warnings: &mut Vec<String>,
) -> Result<(), SettingsError> {
    // `-o Key=Value` or `-o "Key Value"`.
    let (key, rest) = match value.find(|c: char| c == '=' || c.is_whitespace()) {
        Some(i) => (
            &value[..i],
            value[i + 1..].trim_start_matches(['=', ' ', '\t']),
        ),
        None => (value, ""),
    };
    let key = key.to_ascii_lowercase();
    let args = split_words(rest).map_err(|why| SettingsError::Invalid {
        var: var_name.to_string(),
        value: value.to_string(),
        why,
    })?;
    if key == "proxycommand" && !args.first().is_some_and(|a| a.eq_ignore_ascii_case("none")) {
        return Err(SettingsError::Unsupported(format!(
            "{var_name}: ProxyCommand"
        )));
    }
    if SUPPORTED_KEYWORDS.contains(&key.as_str()) {
        apply_entry(hc, &key, &args);
    } else if !IGNORED_OPTIONS.contains(&key.as_str()) {
        warnings.push(format!(
            "{var_name}: ssh option {value:?} is not supported; ignored"
        ));
    }
    Ok(())
}

/// Options that only tune OpenSSH's own process (multiplexing, logging,
/// compression) and mean nothing for a native client.
const IGNORED_OPTIONS: &[&str] = &[
    "controlmaster",
    "controlpersist",
    "controlpath",
    "compression",
    "loglevel",
    "batchmode",
    "kbdinteractiveauthentication",
    "preferredauthentications",
    "gssapiauthentication",
    "forwardagent",
    "requesttty",
    "hashknownhosts",
    "tcpkeepalive",
    "addkeystoagent",
    "checkhostip",
    "visualhostkey",
    "updatehostkeys",
];

/// The local user's name ($USER, $LOGNAME, else `/etc/passwd` by uid).
pub fn local_user_name() -> String {
    for v in ["USER", "LOGNAME"] {
        if let Ok(u) = std::env::var(v) {
            if !u.is_empty() {
                return u;
            }
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        if let Ok(meta) = std::fs::metadata("/proc/self") {
            let uid = meta.uid().to_string();
            if let Ok(pw) = std::fs::read_to_string("/etc/passwd") {
                for line in pw.lines() {
                    let f: Vec<&str> = line.split(':').collect();
                    if f.len() > 2 && f[2] == uid {
                        return f[0].to_string();
                    }
                }
            }
        }
    }
    "root".to_string()
}

/// Parses `[user@]host[:port]` (or `ssh://[user@]host[:port]`), with
/// `[v6addr]:port`.
pub fn parse_jump(spec: &str) -> (Option<String>, String, Option<u16>) {
    let s = spec.strip_prefix("ssh://").unwrap_or(spec);
    let (user, rest) = match s.rsplit_once('@') {
        Some((u, r)) => (Some(u.to_string()), r),
        None => (None, s),
    };
    if let Some(r) = rest.strip_prefix('[') {
        if let Some((h, tail)) = r.split_once(']') {
            let port = tail.strip_prefix(':').and_then(|p| p.parse().ok());
            return (user, h.to_string(), port);
        }
    }
    match rest.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => match p.parse() {
            Ok(port) => (user, h.to_string(), Some(port)),
            Err(_) => (user, rest.to_string(), None),
        },
        _ => (user, rest.to_string(), None),
    }
}

struct Finished {
    host: String,
    port: u16,
    user: String,
    identity_files: Vec<PathBuf>,
    identities_only: bool,
    accept_unknown: bool,
    known_hosts_files: Vec<PathBuf>,
    record_known_hosts: Option<PathBuf>,
}

/// Applies defaults and expands tokens for a merged HostConfig.
fn finish(name: &str, hc: &HostConfig, d: &Defaults) -> Finished {
    let home = d
        .home
        .as_ref()
        .map(|h| h.display().to_string())
        .unwrap_or_default();
    let port = hc.port.unwrap_or(22);
    let user = hc.user.clone().unwrap_or_else(|| d.local_user.clone());
    let mut t = Tokens {
        host: name,
        original_host: name,
        port,
        remote_user: &user,
        local_user: &d.local_user,
        home: &home,
    };
    let host = hc
        .hostname
        .as_deref()
        .map(|h| crate::ssh_config::expand_tokens(h, &t))
        .unwrap_or_else(|| name.to_string());
    t.host = &host;
    let mut identity_files: Vec<PathBuf> = hc
        .identity_files
        .iter()
        .map(|f| expand_path(f, &t))
        .collect();
    if hc.identity_files.is_empty() {
        // OpenSSH's default identities, used only when none is configured.
        if let Some(h) = &d.home {
            for f in ["id_rsa", "id_ecdsa", "id_ed25519"] {
                identity_files.push(h.join(".ssh").join(f));
            }
        }
    }
    let user_files: Vec<PathBuf> = match &hc.user_known_hosts_files {
        Some(files) => files.iter().map(|f| expand_path(f, &t)).collect(),
        None => ["~/.ssh/known_hosts", "~/.ssh/known_hosts2"]
            .iter()
            .map(|f| expand_path(f, &t))
            .collect(),
    };
    let global_files: Vec<PathBuf> = match &hc.global_known_hosts_files {
        Some(files) => files.iter().map(|f| expand_path(f, &t)).collect(),
        None => vec![
            PathBuf::from("/etc/ssh/ssh_known_hosts"),
            PathBuf::from("/etc/ssh/ssh_known_hosts2"),
        ],
    };
    let record_known_hosts = user_files.first().cloned();
    let mut known_hosts_files = user_files;
    known_hosts_files.extend(global_files);
    let accept_unknown = !d.host_key_checking
        || hc
            .strict_host_key_checking
            .unwrap_or(StrictHostKeyChecking::Ask)
            .accepts_unknown();
    Finished {
        host,
        port,
        user,
        identity_files,
        identities_only: hc.identities_only.unwrap_or(false),
        accept_unknown,
        known_hosts_files,
        record_known_hosts,
    }
}

/// Resolves the connection settings for one inventory host. `vars` are the
/// host's variables rendered as strings (only the `ansible_*` connection
/// variables are read).
pub fn resolve(
    inventory_name: &str,
    vars: &BTreeMap<String, String>,
    defaults: &Defaults,
    configs: &SshConfigs,
) -> Result<Settings, SettingsError> {
    let mut warnings = Vec::new();
    let name = var(vars, HOST_VARS).unwrap_or(inventory_name).to_string();
    let mut hc = HostConfig::default();
    if !defaults.host_key_checking {
        apply_entry(&mut hc, "stricthostkeychecking", &["no".to_string()]);
    }
    if let Some(p) = var(vars, PORT_VARS) {
        let port: u16 = p.trim().parse().map_err(|_| SettingsError::Invalid {
            var: "ansible_port".into(),
            value: p.to_string(),
            why: "not a port number".into(),
        })?;
        hc.port = Some(port);
    }
    if let Some(k) = var(vars, KEY_VARS).or(defaults.private_key_file.as_deref()) {
        apply_entry(&mut hc, "identityfile", &[k.to_string()]);
    }
    if let Some(u) = var(vars, USER_VARS).or(defaults.remote_user.as_deref()) {
        apply_entry(&mut hc, "user", &[u.to_string()]);
    }
    if let Some(t) = defaults.timeout {
        hc.connect_timeout = Some(t);
    }
    let mut opts = ArgOptions::default();
    if let Some(a) = &defaults.ssh_args {
        apply_ssh_args("ssh_args", a, &mut hc, &mut opts, &mut warnings)?;
    }
    if let Some(a) = var(vars, COMMON_ARGS) {
        apply_ssh_args(COMMON_ARGS[0], a, &mut hc, &mut opts, &mut warnings)?;
    }
    if let Some(a) = var(vars, EXTRA_ARGS) {
        apply_ssh_args(EXTRA_ARGS[0], a, &mut hc, &mut opts, &mut warnings)?;
    }
    // `-F FILE` replaces both the user's and the system's file.
    let loaded;
    let files: Vec<&SshConfig> = match &opts.config_file {
        Some(f) => {
            let path = expand_path(
                &f.display().to_string(),
                &Tokens {
                    home: &defaults
                        .home
                        .as_ref()
                        .map(|h| h.display().to_string())
                        .unwrap_or_default(),
                    ..Tokens::default()
                },
            );
            loaded = SshConfig::load(&path).map_err(|e| SettingsError::Invalid {
                var: "-F".into(),
                value: path.display().to_string(),
                why: e.to_string(),
            })?;
            vec![&loaded]
        }
        None => vec![&configs.user, &configs.system],
    };
    for cfg in &files {
        merge(&mut hc, &cfg.resolve(&name));
        warnings.extend(cfg.warnings.iter().cloned());
    }
    let f = finish(&name, &hc, defaults);
    let mut proxy_jump = Vec::new();
    for spec in hc.proxy_jump.clone().unwrap_or_default() {
        let (user, hop_name, port) = parse_jump(&spec);
        let mut hop_hc = HostConfig {
            user,
            port,
            ..HostConfig::default()
        };
        if !defaults.host_key_checking {
            apply_entry(&mut hop_hc, "stricthostkeychecking", &["no".to_string()]);
        }
        for cfg in &files {
            merge(&mut hop_hc, &cfg.resolve(&hop_name));
        }
        let hf = finish(&hop_name, &hop_hc, defaults);
        proxy_jump.push(Hop {
            name: hop_name,
            host: hf.host,
            port: hf.port,
            user: hf.user,
            identity_files: hf.identity_files,
            identities_only: hf.identities_only,
            accept_unknown: hf.accept_unknown,
            known_hosts_files: hf.known_hosts_files,
            record_known_hosts: hf.record_known_hosts,
        });
    }
    let retries = match var(vars, &["ansible_ssh_retries"]) {
        Some(r) => r.trim().parse().map_err(|_| SettingsError::Invalid {
            var: "ansible_ssh_retries".into(),
            value: r.to_string(),
            why: "not a number".into(),
        })?,
        None => defaults.retries.unwrap_or(0),
    };
    Ok(Settings {
        inventory_name: inventory_name.to_string(),
        name,
        host: f.host,
        port: f.port,
        user: f.user,
        identity_files: f.identity_files,
        identities_only: f.identities_only,
        password: var(vars, PASS_VARS)
            .map(str::to_string)
            .or_else(|| defaults.password.clone()),
        password_authentication: hc.password_authentication.unwrap_or(true),
        pubkey_authentication: hc.pubkey_authentication.unwrap_or(true),
        proxy_jump,
        accept_unknown: f.accept_unknown,
        known_hosts_files: f.known_hosts_files,
        record_known_hosts: f.record_known_hosts,
        connect_timeout: hc
            .connect_timeout
            .filter(|t| *t > 0)
            .map(Duration::from_secs),
        server_alive_interval: hc
            .server_alive_interval
            .filter(|t| *t > 0)
            .map(Duration::from_secs),
        server_alive_count_max: hc
            .server_alive_count_max
            .and_then(|c| u32::try_from(c).ok())
            .unwrap_or(3),
        retries,
        warnings,
    })
}

/// Fills what `hc` lacks from `later` (first value wins; identities add up).
fn merge(hc: &mut HostConfig, later: &HostConfig) {
    macro_rules! fill {
        ($($f:ident),*) => { $( if hc.$f.is_none() { hc.$f = later.$f.clone(); } )* };
    }
    fill!(
        hostname,
        user,
        port,
        identities_only,
        proxy_jump,
        strict_host_key_checking,
        user_known_hosts_files,
        global_known_hosts_files,
        connect_timeout,
        server_alive_interval,
        server_alive_count_max,
        password_authentication,
        pubkey_authentication
    );
    hc.identity_files
        .extend(later.identity_files.iter().cloned());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Defaults {
        Defaults {
            home: Some(PathBuf::from("/home/me")),
            local_user: "me".into(),
            ..Defaults::default()
        }
    }

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn configs(text: &str) -> SshConfigs {
        SshConfigs {
            user: SshConfig::parse(text, None),
            system: SshConfig::default(),
        }
    }

    #[test]
    fn plain_defaults() {
        let s = resolve("web1", &vars(&[]), &defaults(), &SshConfigs::default()).expect("ok");
        assert_eq!(s.name, "web1");
        assert_eq!(s.host, "web1");
        assert_eq!(s.port, 22);
        assert_eq!(s.user, "me");
        assert_eq!(
            s.identity_files,
            vec![
                PathBuf::from("/home/me/.ssh/id_rsa"),
                PathBuf::from("/home/me/.ssh/id_ecdsa"),
                PathBuf::from("/home/me/.ssh/id_ed25519")
            ]
        );
        assert!(!s.accept_unknown);
        assert_eq!(
            s.record_known_hosts,
            Some(PathBuf::from("/home/me/.ssh/known_hosts"))
        );
        assert_eq!(s.known_hosts_files.len(), 4);
        assert_eq!(s.retries, 0);
        assert_eq!(s.connect_timeout, None);
    }

    #[test]
    fn inventory_vars_win_over_ssh_config() {
        let cfg = configs(
            "Host 10.0.0.5\n  User cfguser\n  Port 2200\n  IdentityFile ~/.ssh/cfg_%r\n\
             Host *\n  ConnectTimeout 3\n  ServerAliveInterval 20\n",
        );
        let v = vars(&[
            ("ansible_host", "10.0.0.5"),
            ("ansible_user", "deploy"),
            ("ansible_ssh_private_key_file", "~/keys/deploy"),
        ]);
        let s = resolve("web1", &v, &defaults(), &cfg).expect("ok");
        assert_eq!(s.inventory_name, "web1");
        assert_eq!(s.host, "10.0.0.5");
        assert_eq!(s.user, "deploy");
        assert_eq!(s.port, 2200);
        assert_eq!(
            s.identity_files,
            vec![
                PathBuf::from("/home/me/keys/deploy"),
                PathBuf::from("/home/me/.ssh/cfg_deploy")
            ]
        );
        assert_eq!(s.connect_timeout, Some(Duration::from_secs(3)));
        assert_eq!(s.server_alive_interval, Some(Duration::from_secs(20)));
        // ansible.cfg timeout overrides ssh_config's ConnectTimeout.
        let d = Defaults {
            timeout: Some(10),
            retries: Some(3),
            remote_user: Some("cfguser2".into()),
            ..defaults()
        };
        let s = resolve("web1", &vars(&[("ansible_host", "10.0.0.5")]), &d, &cfg).expect("ok");
        assert_eq!(s.connect_timeout, Some(Duration::from_secs(10)));
        assert_eq!(s.retries, 3);
        assert_eq!(s.user, "cfguser2");
    }

    #[test]
    fn port_var_and_aliases() {
        let v = vars(&[
            ("ansible_ssh_host", "h"),
            ("ansible_ssh_port", "2022"),
            ("ansible_ssh_user", "u"),
            ("ansible_ssh_pass", "pw"),
        ]);
        let s = resolve("x", &v, &defaults(), &SshConfigs::default()).expect("ok");
        assert_eq!((s.host.as_str(), s.port, s.user.as_str()), ("h", 2022, "u"));
        assert_eq!(s.password.as_deref(), Some("pw"));
        let bad = vars(&[("ansible_port", "abc")]);
        assert!(resolve("x", &bad, &defaults(), &SshConfigs::default()).is_err());
    }

    #[test]
    fn hostname_from_config() {
        let cfg =
            configs("Host web*\n  HostName %h.example.com\n  StrictHostKeyChecking accept-new\n");
        let s = resolve("web1", &vars(&[]), &defaults(), &cfg).expect("ok");
        assert_eq!(s.name, "web1");
        assert_eq!(s.host, "web1.example.com");
        assert!(s.accept_unknown);
    }

    #[test]
    fn host_key_checking_off_accepts() {
        let cfg = configs("StrictHostKeyChecking yes\n");
        let d = Defaults {
            host_key_checking: false,
            ..defaults()
        };
        assert!(
            resolve("h", &vars(&[]), &d, &cfg)
                .expect("ok")
                .accept_unknown
        );
        assert!(
            !resolve("h", &vars(&[]), &defaults(), &cfg)
                .expect("ok")
                .accept_unknown
        );
    }

    #[test]
    fn common_and_extra_args() {
        let v = vars(&[
            (
                "ansible_ssh_common_args",
                "-o StrictHostKeyChecking=no -o 'UserKnownHostsFile /tmp/kh %h' -J jump1,bob@jump2:2222 -C -q",
            ),
            ("ansible_ssh_extra_args", "-oPort=2201 -o ServerAliveInterval=5 -o Foo=bar -o ControlMaster=auto"),
        ]);
        let cfg = configs("Host jump1\n  User j1\n  Port 2022\nHost *\n  Port 2300\n");
        let s = resolve("web1", &v, &defaults(), &cfg).expect("ok");
        assert!(s.accept_unknown);
        assert_eq!(
            s.known_hosts_files[..2],
            [PathBuf::from("/tmp/kh"), PathBuf::from("web1")]
        );
        assert_eq!(s.port, 2201);
        assert_eq!(s.server_alive_interval, Some(Duration::from_secs(5)));
        assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
        assert!(s.warnings[0].contains("Foo=bar"));
        assert_eq!(s.proxy_jump.len(), 2);
        assert_eq!(
            (
                s.proxy_jump[0].host.as_str(),
                s.proxy_jump[0].port,
                s.proxy_jump[0].user.as_str()
            ),
            ("jump1", 2022, "j1")
        );
        assert_eq!(
            (
                s.proxy_jump[1].host.as_str(),
                s.proxy_jump[1].port,
                s.proxy_jump[1].user.as_str()
            ),
            ("jump2", 2222, "bob")
        );
        let pc = vars(&[(
            "ansible_ssh_common_args",
            "-o ProxyCommand=\"ssh -W %h:%p bastion\"",
        )]);
        assert_eq!(
            resolve("web1", &pc, &defaults(), &cfg),
            Err(SettingsError::Unsupported(
                "ansible_ssh_common_args: ProxyCommand".into()
            ))
        );
    }

    #[test]
    fn config_file_flag() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("cfg");
        std::fs::write(&f, "Host *\n  User fromfile\n").expect("write");
        let v = vars(&[("ansible_ssh_common_args", &*format!("-F {}", f.display()))]);
        let cfg = configs("Host *\n  User fromdefault\n");
        assert_eq!(
            resolve("h", &v, &defaults(), &cfg).expect("ok").user,
            "fromfile"
        );
    }

    #[test]
    fn jump_specs() {
        assert_eq!(parse_jump("h"), (None, "h".into(), None));
        assert_eq!(
            parse_jump("u@h:22"),
            (Some("u".into()), "h".into(), Some(22))
        );
        assert_eq!(
            parse_jump("ssh://u@h:2"),
            (Some("u".into()), "h".into(), Some(2))
        );
        assert_eq!(parse_jump("[::1]:2222"), (None, "::1".into(), Some(2222)));
    }

    #[test]
    fn shell_words() {
        assert_eq!(
            shell_split(r#"-o "A B" 'c d' e\ f"#).expect("ok"),
            vec!["-o", "A B", "c d", "e f"]
        );
        assert!(shell_split("'x").is_err());
    }
}
