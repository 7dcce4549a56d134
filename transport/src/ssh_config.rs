//! OpenSSH client configuration (`~/.ssh/config`, `ssh -F FILE`), the subset
//! Rustle's transport uses.
//!
//! Semantics follow `ssh_config(5)`: the file is read top to bottom, a `Host`
//! line opens a section that applies when one of its patterns matches the
//! host name given on the command line (`*` and `?` wildcards, `!` negation
//! vetoes the section), and for every keyword the FIRST value obtained wins —
//! except `IdentityFile`, whose values accumulate. `Match` sections are
//! honoured only as `Match all`; any other `Match` criterion is not evaluated
//! and its section is skipped (recorded in [`SshConfig::warnings`]).
//! `Include` is followed (relative paths are taken from `~/.ssh`, `*`/`?`
//! in the last path component are expanded).

use std::path::{Path, PathBuf};

/// One keyword line, as found in a section.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    /// Lower-cased keyword.
    key: String,
    args: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Condition {
    /// Lines before the first `Host`/`Match`: apply to every host.
    Always,
    Host(Vec<String>),
    MatchAll,
    /// A `Match` with criteria we do not evaluate: never applies.
    Never,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Section {
    cond: Condition,
    entries: Vec<Entry>,
}

/// A parsed configuration file (with its includes spliced in).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SshConfig {
    sections: Vec<Section>,
    /// Things that were read but not honoured (unsupported `Match`
    /// criteria, unreadable includes, malformed lines).
    pub warnings: Vec<String>,
}

/// The values `ssh_config` gives one host. `None`/empty = not set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostConfig {
    pub hostname: Option<String>,
    pub user: Option<String>,
    pub port: Option<u16>,
    /// Raw `IdentityFile` values in order (tokens and `~` expanded later, by
    /// [`expand_path`], once the user and port are known).
    pub identity_files: Vec<String>,
    pub identities_only: Option<bool>,
    /// `ProxyJump` hops, in order; `Some(vec![])` is `ProxyJump none`.
    pub proxy_jump: Option<Vec<String>>,
    pub strict_host_key_checking: Option<StrictHostKeyChecking>,
    /// `UserKnownHostsFile` values (raw, several allowed); `Some(vec![])` is
    /// `none`.
    pub user_known_hosts_files: Option<Vec<String>>,
    /// `GlobalKnownHostsFile` values (raw).
    pub global_known_hosts_files: Option<Vec<String>>,
    pub connect_timeout: Option<u64>,
    pub server_alive_interval: Option<u64>,
    pub server_alive_count_max: Option<u64>,
    pub password_authentication: Option<bool>,
    pub pubkey_authentication: Option<bool>,
}

/// `StrictHostKeyChecking`'s values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrictHostKeyChecking {
    /// `yes`: unknown hosts are refused.
    Yes,
    /// `ask` (OpenSSH's default): there is no one to ask, so unknown hosts
    /// are refused as with `yes`.
    Ask,
    /// `accept-new`: unknown hosts are accepted and recorded.
    AcceptNew,
    /// `no`/`off`: unknown hosts are accepted and recorded. A CHANGED key
    /// is still refused (stricter than OpenSSH, which connects with some
    /// authentication methods disabled).
    No,
}

impl StrictHostKeyChecking {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "yes" | "true" => Some(Self::Yes),
            "ask" => Some(Self::Ask),
            "accept-new" => Some(Self::AcceptNew),
            "no" | "off" | "false" => Some(Self::No),
            _ => None,
        }
    }

    /// Whether a host missing from known_hosts may be accepted (and recorded).
    pub fn accepts_unknown(self) -> bool {
        matches!(self, Self::AcceptNew | Self::No)
    }
}

/// Splits a config line into words as OpenSSH does: whitespace separated,
/// double quotes group, a first `=` may separate the keyword.
pub fn split_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quoted = false;
    for c in line.chars() {
        if quoted {
            if c == '"' {
                quoted = false;
            } else {
                cur.push(c);
            }
            continue;
        }
        match c {
            '"' => {
                quoted = true;
                in_word = true;
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            _ => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if quoted {
        return Err("unterminated quote".into());
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// Splits `Keyword=value`, `Keyword = value`, `Keyword value` into the
/// keyword and the argument words.
fn split_keyword(line: &str) -> Result<Option<(String, Vec<String>)>, String> {
    let trimmed = line.trim();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Ok(None);
    }
    let end = trimmed
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(trimmed.len());
    let key = trimmed[..end].to_ascii_lowercase();
    let mut rest = trimmed[end..].trim_start();
    if let Some(r) = rest.strip_prefix('=') {
        rest = r.trim_start();
    }
    let args = split_words(rest)?;
    Ok(Some((key, args)))
}

/// Glob match with `*` (any run) and `?` (one char), as OpenSSH's
/// `match_pattern` (case-sensitive; callers lower-case host names).
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// A `Host` line's pattern list against a host: some positive pattern must
/// match and no negated one (`!pat`) may.
pub fn host_patterns_match(patterns: &[String], host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    let mut matched = false;
    for pat in patterns {
        // A Host line may also carry comma-separated lists.
        for p in pat.split(',').filter(|p| !p.is_empty()) {
            let p = p.to_ascii_lowercase();
            if let Some(neg) = p.strip_prefix('!') {
                if wildcard_match(neg, &host) {
                    return false;
                }
            } else if wildcard_match(&p, &host) {
                matched = true;
            }
        }
    }
    matched
}

fn parse_yes_no(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "yes" | "true" => Some(true),
        "no" | "false" => Some(false),
        _ => None,
    }
}

impl SshConfig {
    /// Parses configuration text. `base_dir` resolves relative `Include`s
    /// (OpenSSH uses `~/.ssh` for user files).
    pub fn parse(text: &str, base_dir: Option<&Path>) -> SshConfig {
        let mut cfg = SshConfig {
            sections: vec![Section {
                cond: Condition::Always,
                entries: Vec::new(),
            }],
            warnings: Vec::new(),
        };
        cfg.parse_into(text, base_dir, "config", 0);
        cfg
    }

    /// Reads and parses a file. A missing file is an empty configuration
    /// (as OpenSSH treats a missing `~/.ssh/config`).
    pub fn load(path: &Path) -> std::io::Result<SshConfig> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(Self::parse(&text, path.parent())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(SshConfig::default()),
            Err(e) => Err(e),
        }
    }

    fn parse_into(&mut self, text: &str, base_dir: Option<&Path>, name: &str, depth: usize) {
        for (n, line) in text.lines().enumerate() {
            let (key, args) = match split_keyword(line) {
                Ok(Some(x)) => x,
                Ok(None) => continue,
                Err(e) => {
                    self.warnings.push(format!("{name} line {}: {e}", n + 1));
                    continue;
                }
            };
            match key.as_str() {
                "host" => self.sections.push(Section {
                    cond: Condition::Host(args),
                    entries: Vec::new(),
                }),
                "match" => {
                    let all = args.len() == 1 && args[0].eq_ignore_ascii_case("all");
                    if !all {
                        self.warnings.push(format!(
                            "{name} line {}: Match {} is not supported; its section is ignored",
                            n + 1,
                            args.join(" ")
                        ));
                    }
                    self.sections.push(Section {
                        cond: if all {
                            Condition::MatchAll
                        } else {
                            Condition::Never
                        },
                        entries: Vec::new(),
                    });
                }
                "include" => {
                    if depth >= 16 {
                        self.warnings
                            .push(format!("{name} line {}: Include nested too deeply", n + 1));
                        continue;
                    }
                    for arg in &args {
                        for file in expand_include(arg, base_dir) {
                            match std::fs::read_to_string(&file) {
                                Ok(t) => {
                                    // Included lines belong to the current
                                    // section until they open their own.
                                    let fname = file.display().to_string();
                                    self.parse_into(&t, base_dir, &fname, depth + 1);
                                }
                                Err(e) => self.warnings.push(format!(
                                    "{name} line {}: Include {}: {e}",
                                    n + 1,
                                    file.display()
                                )),
                            }
                        }
                    }
                }
                _ => {
                    if let Some(sec) = self.sections.last_mut() {
                        sec.entries.push(Entry { key, args });
                    }
                }
            }
        }
    }

    /// The settings for `host` (the name given to ssh, i.e. `ansible_host`
    /// or the inventory name), first value wins.
    pub fn resolve(&self, host: &str) -> HostConfig {
        let mut hc = HostConfig::default();
        for sec in &self.sections {
            let applies = match &sec.cond {
                Condition::Always | Condition::MatchAll => true,
                Condition::Host(p) => host_patterns_match(p, host),
                Condition::Never => false,
            };
            if !applies {
                continue;
            }
            for e in &sec.entries {
                apply_entry(&mut hc, &e.key, &e.args);
            }
        }
        hc
    }
}

/// Applies one keyword to `hc` when it is not set yet (first value wins);
/// `IdentityFile` accumulates. Unknown keywords are ignored (OpenSSH has
/// many we have no use for). Also used for `-o Key=Value` options.
pub fn apply_entry(hc: &mut HostConfig, key: &str, args: &[String]) -> bool {
    let first = args.first().map(String::as_str);
    let Some(first) = first else {
        return false;
    };
    match key {
        "hostname" => {
            hc.hostname.get_or_insert_with(|| first.to_string());
        }
        "user" => {
            hc.user.get_or_insert_with(|| first.to_string());
        }
        "port" => {
            if hc.port.is_none() {
                hc.port = first.parse().ok();
            }
        }
        "identityfile" => hc.identity_files.push(first.to_string()),
        "identitiesonly" => {
            if hc.identities_only.is_none() {
                hc.identities_only = parse_yes_no(first);
            }
        }
        "proxyjump" => {
            if hc.proxy_jump.is_none() {
                hc.proxy_jump = Some(if first.eq_ignore_ascii_case("none") {
                    Vec::new()
                } else {
                    first
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect()
                });
            }
        }
        "stricthostkeychecking" => {
            if hc.strict_host_key_checking.is_none() {
                hc.strict_host_key_checking = StrictHostKeyChecking::parse(first);
            }
        }
        "userknownhostsfile" => {
            if hc.user_known_hosts_files.is_none() {
                hc.user_known_hosts_files = Some(if first.eq_ignore_ascii_case("none") {
                    Vec::new()
                } else {
                    args.to_vec()
                });
            }
        }
        "globalknownhostsfile" => {
            if hc.global_known_hosts_files.is_none() {
                hc.global_known_hosts_files = Some(if first.eq_ignore_ascii_case("none") {
                    Vec::new()
                } else {
                    args.to_vec()
                });
            }
        }
        "connecttimeout" => {
            if hc.connect_timeout.is_none() {
                hc.connect_timeout = first.parse().ok();
            }
        }
        "serveraliveinterval" => {
            if hc.server_alive_interval.is_none() {
                hc.server_alive_interval = first.parse().ok();
            }
        }
        "serveralivecountmax" => {
            if hc.server_alive_count_max.is_none() {
                hc.server_alive_count_max = first.parse().ok();
            }
        }
        "passwordauthentication" => {
            if hc.password_authentication.is_none() {
                hc.password_authentication = parse_yes_no(first);
            }
        }
        "pubkeyauthentication" => {
            if hc.pubkey_authentication.is_none() {
                hc.pubkey_authentication = parse_yes_no(first);
            }
        }
        _ => return false,
    }
    true
}

/// Keywords [`apply_entry`] understands (lower-case).
pub const SUPPORTED_KEYWORDS: &[&str] = &[
    "hostname",
    "user",
    "port",
    "identityfile",
    "identitiesonly",
    "proxyjump",
    "stricthostkeychecking",
    "userknownhostsfile",
    "globalknownhostsfile",
    "connecttimeout",
    "serveraliveinterval",
    "serveralivecountmax",
    "passwordauthentication",
    "pubkeyauthentication",
];

fn expand_include(arg: &str, base_dir: Option<&Path>) -> Vec<PathBuf> {
    let expanded = expand_tilde(arg, home_dir().as_deref());
    let mut path = PathBuf::from(&expanded);
    if path.is_relative() {
        if let Some(b) = base_dir {
            path = b.join(path);
        }
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !name.contains(['*', '?']) {
        return vec![path];
    }
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter(|e| wildcard_match(&name, &e.file_name().to_string_lossy()))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// The current user's home directory (`$HOME`).
pub fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

/// `~` and `~/...` to the home directory.
pub fn expand_tilde(s: &str, home: Option<&Path>) -> String {
    match (s, home) {
        ("~", Some(h)) => h.display().to_string(),
        (s, Some(h)) if s.starts_with("~/") => format!("{}{}", h.display(), &s[1..]),
        _ => s.to_string(),
    }
}

/// Values for `%` tokens (`ssh_config(5)` TOKENS).
#[derive(Debug, Clone, Default)]
pub struct Tokens<'a> {
    /// `%h`: the remote host name (after `HostName`).
    pub host: &'a str,
    /// `%n`: the name as given on the command line.
    pub original_host: &'a str,
    /// `%p`
    pub port: u16,
    /// `%r`: the remote user.
    pub remote_user: &'a str,
    /// `%u`: the local user.
    pub local_user: &'a str,
    /// `%d`: the local home directory.
    pub home: &'a str,
}

/// Expands `%` tokens; unknown tokens are kept as written.
pub fn expand_tokens(s: &str, t: &Tokens<'_>) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some('h') => out.push_str(t.host),
            Some('n') => out.push_str(t.original_host),
            Some('p') => out.push_str(&t.port.to_string()),
            Some('r') => out.push_str(t.remote_user),
            Some('u') => out.push_str(t.local_user),
            Some('d') => out.push_str(t.home),
            Some(o) => {
                out.push('%');
                out.push(o);
            }
            None => out.push('%'),
        }
    }
    out
}

/// `~` then tokens, as OpenSSH does for `IdentityFile` and
/// `UserKnownHostsFile`.
pub fn expand_path(s: &str, t: &Tokens<'_>) -> PathBuf {
    let home = if t.home.is_empty() {
        None
    } else {
        Some(Path::new(t.home))
    };
    PathBuf::from(expand_tokens(&expand_tilde(s, home), t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard_match("*", "anything"));
        assert!(wildcard_match("web*", "web01"));
        assert!(wildcard_match("web?1", "web01"));
        assert!(!wildcard_match("web?1", "web001"));
        assert!(wildcard_match("*.example.com", "a.b.example.com"));
        assert!(!wildcard_match("*.example.com", "example.com"));
        assert!(wildcard_match("a*b*c", "aXXbYYc"));
        assert!(!wildcard_match("a*b*c", "aXXbYY"));
        assert!(wildcard_match("", ""));
    }

    #[test]
    fn negation_vetoes() {
        let p = vec![
            "*.example.com".to_string(),
            "!bastion.example.com".to_string(),
        ];
        assert!(host_patterns_match(&p, "web.example.com"));
        assert!(!host_patterns_match(&p, "bastion.example.com"));
        // A negation alone never matches.
        assert!(!host_patterns_match(&["!foo".to_string()], "bar"));
        assert!(host_patterns_match(&["a,b".to_string()], "B"));
    }

    #[test]
    fn first_value_wins_identity_accumulates() {
        let cfg = SshConfig::parse(
            "# comment\n\
             Host web*\n\
             \x20 HostName 10.0.0.%h\n\
             \x20 User deploy\n\
             \x20 IdentityFile ~/.ssh/web_%r\n\
             \x20 Port=2222\n\
             Host *\n\
             \x20 User nobody\n\
             \x20 Port 22\n\
             \x20 IdentityFile \"~/.ssh/id with space\"\n\
             \x20 IdentitiesOnly yes\n\
             \x20 StrictHostKeyChecking accept-new\n\
             \x20 UserKnownHostsFile ~/.ssh/kh1 ~/.ssh/kh2\n\
             \x20 ConnectTimeout 7\n\
             \x20 ServerAliveInterval 15\n",
            None,
        );
        let hc = cfg.resolve("web01");
        assert_eq!(hc.hostname.as_deref(), Some("10.0.0.%h"));
        assert_eq!(hc.user.as_deref(), Some("deploy"));
        assert_eq!(hc.port, Some(2222));
        assert_eq!(
            hc.identity_files,
            vec![
                "~/.ssh/web_%r".to_string(),
                "~/.ssh/id with space".to_string()
            ]
        );
        assert_eq!(hc.identities_only, Some(true));
        assert_eq!(
            hc.strict_host_key_checking,
            Some(StrictHostKeyChecking::AcceptNew)
        );
        assert_eq!(
            hc.user_known_hosts_files,
            Some(vec!["~/.ssh/kh1".to_string(), "~/.ssh/kh2".to_string()])
        );
        assert_eq!(hc.connect_timeout, Some(7));
        assert_eq!(hc.server_alive_interval, Some(15));

        let other = cfg.resolve("db01");
        assert_eq!(other.user.as_deref(), Some("nobody"));
        assert_eq!(other.port, Some(22));
        assert_eq!(other.hostname, None);
    }

    #[test]
    fn global_lines_and_proxyjump() {
        let cfg = SshConfig::parse(
            "User early\n\
             Host internal-* !internal-bastion\n\
             ProxyJump jump1,admin@jump2:2200\n\
             Host internal-bastion\n\
             ProxyJump none\n",
            None,
        );
        let a = cfg.resolve("internal-db");
        assert_eq!(a.user.as_deref(), Some("early"));
        assert_eq!(
            a.proxy_jump,
            Some(vec!["jump1".to_string(), "admin@jump2:2200".to_string()])
        );
        let b = cfg.resolve("internal-bastion");
        assert_eq!(b.proxy_jump, Some(vec![]));
    }

    #[test]
    fn match_blocks() {
        let cfg = SshConfig::parse(
            "Match host foo exec \"true\"\n  User skipped\nMatch all\n  User all\n",
            None,
        );
        assert_eq!(cfg.resolve("foo").user.as_deref(), Some("all"));
        assert_eq!(cfg.warnings.len(), 1);
    }

    #[test]
    fn include_relative_and_glob() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("conf.d")).expect("mkdir");
        std::fs::write(dir.path().join("conf.d/10-a.conf"), "Host a\n  Port 1001\n")
            .expect("write");
        std::fs::write(dir.path().join("conf.d/20-b.conf"), "Host b\n  Port 1002\n")
            .expect("write");
        std::fs::write(
            dir.path().join("config"),
            "Include conf.d/*.conf\nHost *\n  Port 9\n",
        )
        .expect("write");
        let cfg = SshConfig::load(&dir.path().join("config")).expect("load");
        assert_eq!(cfg.resolve("a").port, Some(1001));
        assert_eq!(cfg.resolve("b").port, Some(1002));
        assert_eq!(cfg.resolve("c").port, Some(9));
        assert!(SshConfig::load(&dir.path().join("missing"))
            .expect("missing is empty")
            .sections
            .is_empty());
    }

    #[test]
    fn tokens() {
        let t = Tokens {
            host: "10.1.1.1",
            original_host: "web",
            port: 2222,
            remote_user: "deploy",
            local_user: "me",
            home: "/home/me",
        };
        assert_eq!(
            expand_path("~/.ssh/%r@%h:%p-%n-%u-%%", &t),
            PathBuf::from("/home/me/.ssh/deploy@10.1.1.1:2222-web-me-%")
        );
        assert_eq!(expand_tokens("%d/x%q", &t), "/home/me/x%q");
    }

    #[test]
    fn words_and_keywords() {
        assert_eq!(
            split_keyword("  IdentityFile = \"/a b\" c  ").expect("ok"),
            Some((
                "identityfile".to_string(),
                vec!["/a b".to_string(), "c".to_string()]
            ))
        );
        assert_eq!(
            split_keyword("Port=22").expect("ok").map(|x| x.1),
            Some(vec!["22".to_string()])
        );
        assert!(split_keyword("User \"x").is_err());
        assert_eq!(split_keyword("   # c").expect("ok"), None);
    }
}
