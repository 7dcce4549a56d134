//! `authorized_key` (ansible.posix): adds or removes SSH keys in a user's
//! authorized_keys file, parsing and rewriting it the way the Ansible
//! module does (its ordering, option handling and line format included).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::{Map, Value};

use super::accounts as acc;
use crate::args::{ArgDef, ArgDefault, ArgSpec, ArgType};
use crate::fsutil;
use crate::modules::{action, Capabilities, Check, CheckSupport, Context, Module, ModuleError};
use crate::result::ModuleResult;

pub struct AuthorizedKey;

static ARGS: [ArgDef; 10] = [
    ArgDef::new("user", ArgType::Str)
        .required()
        .doc("The account whose authorized_keys file is managed."),
    ArgDef::new("key", ArgType::Str)
        .required()
        .doc("One or more public key lines (one per line); URLs are not supported."),
    ArgDef::new("path", ArgType::Path)
        .doc("The authorized_keys file (default `~user/.ssh/authorized_keys`)."),
    ArgDef::new("manage_dir", ArgType::Bool)
        .default(ArgDefault::Bool(true))
        .doc("Create the file's directory (mode 0700, owned by the user) when writing."),
    ArgDef::new("state", ArgType::Str)
        .default(ArgDefault::Str("present"))
        .choices(&["absent", "present"])
        .doc("Whether the keys should be in the file."),
    ArgDef::new("key_options", ArgType::Str)
        .doc("Options prepended to every key (`no-pty,from=\"10.0.0.1\"`)."),
    ArgDef::new("exclusive", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Remove every other key from the file (with state=present)."),
    ArgDef::new("comment", ArgType::Str).doc("Replace the keys' comments."),
    ArgDef::new("validate_certs", ArgType::Bool)
        .default(ArgDefault::Bool(true))
        .doc("For keys fetched from URLs; accepted and unused (URLs are not supported)."),
    ArgDef::new("follow", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Write through a symlinked authorized_keys file instead of replacing the link."),
];

static SPEC: ArgSpec = ArgSpec::new(&ARGS);

const NOTES: &str = "\
The file is parsed and rewritten as ansible.posix's module does: a key is identified by its \
base64 part; a key with different options or comment is replaced in place; new keys go after \
the existing ones; comments and unparsable lines are kept; a key without comment is written \
with a trailing space (`ssh-rsa AAAA... `), as Ansible does.

Results: every argument (`user`, `key`, `path`, `manage_dir`, `state`, `key_options`, \
`exclusive`, `comment`, `validate_certs`, `follow`), `keyfile` and `changed`; with diff mode a \
`diff` (before/after contents). Failures as Ansible's: `invalid key specified: <line>`, \
`Failed to lookup user <user>: ...`, `Either user must exist or you must provide full path to \
key file in check mode`.

Writing: with `manage_dir` the file's directory is created if missing and set to 0700 owned by \
the user; the file is created, set to 0600 and given to the user, then replaced atomically.

Check mode: predicts exactly (with `path`, the user need not exist).

Differences from Ansible: keys given as URLs (`https://github.com/user.keys`) are not \
supported (the runner has no network access to fetch them): such a `key` fails with \
`Error getting key from: <url> (keys from URLs are not supported by rustle)`. No SELinux \
context is set on created files.

Tested by conformance cases (temporary files, the current user) and the `mod_authorized_key_*` \
differential cases against ansible-playbook.";

impl Module for AuthorizedKey {
    fn name(&self) -> &'static str {
        "authorized_key"
    }
    fn description(&self) -> &'static str {
        "Adds or removes an SSH authorized key"
    }
    fn collection(&self) -> &'static str {
        "ansible.posix"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            check_mode: CheckSupport::Full,
            diff: true,
        }
    }
    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }
    fn notes(&self) -> &'static str {
        NOTES
    }
    fn check(&self, ctx: &Context<'_>) -> Result<Check, ModuleError> {
        let a = &ctx.args;
        let user = a.str("user").unwrap_or_default().to_owned();
        let key = a.str("key").unwrap_or_default().to_owned();
        let path = a
            .str("path")
            .map(|p| ctx.expand_path(p).to_string_lossy().into_owned());
        let manage_dir = a.opt_bool("manage_dir").unwrap_or(true);
        let present = a.str("state") != Some("absent");
        let key_options = a.str("key_options").map(str::to_owned);
        let exclusive = a.bool("exclusive");
        let comment = a.str("comment").map(str::to_owned);
        let follow = a.bool("follow");

        let mut r = ModuleResult::ok();
        for name in [
            "user",
            "key",
            "manage_dir",
            "state",
            "key_options",
            "exclusive",
            "comment",
            "validate_certs",
            "follow",
        ] {
            r.set(name, a.get(name).cloned().unwrap_or(Value::Null));
        }
        r.set("path", path.clone().map_or(Value::Null, Value::from));

        if key.starts_with("http") {
            return Err(ModuleError::failed(format!(
                "Error getting key from: {key} (keys from URLs are not supported by rustle)"
            )));
        }
        let new_keys: Vec<&str> = key
            .lines()
            .filter(|s| !s.is_empty() && !s.starts_with('#'))
            .collect();
        let pw = acc::getpwnam(&user);
        let keyfile = keyfile_path(ctx.check_mode, &user, pw.as_ref(), path.as_deref(), false)?;
        r.set("keyfile", keyfile.clone());
        let existing_content = if Path::new(&keyfile).is_file() {
            fs::read_to_string(&keyfile)
                .map_err(|e| ModuleError::failed(format!("could not read {keyfile}: {e}")))?
        } else {
            String::new()
        };
        let mut existing = parse_keys(&existing_content);
        let max_rank = existing.len();
        let mut do_write = false;
        let mut to_exist: Vec<String> = Vec::new();
        for (rank, line) in new_keys.iter().enumerate() {
            let Some(mut k) = parse_key(line, rank) else {
                return Err(ModuleError::failed(format!(
                    "invalid key specified: {line}"
                )));
            };
            if let Some(o) = &key_options {
                k.options = parse_options(Some(o));
            }
            if let Some(c) = &comment {
                k.comment = c.clone();
            }
            let mut matched = false;
            let mut replace = false;
            if let Some(cur) = existing.get(&k.id) {
                if !same_key(cur, &k) && present {
                    replace = true;
                } else {
                    matched = true;
                }
            }
            if present {
                to_exist.push(k.id.clone());
                if replace {
                    existing.remove(&k.id);
                    do_write = true;
                }
                if !matched {
                    k.rank = max_rank + rank;
                    existing.insert(k);
                    do_write = true;
                }
            } else if matched {
                existing.remove(&k.id);
                do_write = true;
            }
        }
        if present && exclusive {
            let drop: Vec<String> = existing
                .items
                .iter()
                .map(|e| e.id.clone())
                .filter(|id| !to_exist.contains(id))
                .collect();
            for id in drop {
                existing.remove(&id);
                do_write = true;
            }
        }
        if !do_write {
            return Ok(Check::Done(with_path_info(r)));
        }
        let filename = keyfile_path(ctx.check_mode, &user, pw.as_ref(), path.as_deref(), follow)?;
        let new_content = existing.serialize();
        if ctx.diff {
            let mut d = Map::new();
            d.insert("before_header".into(), Value::from(keyfile.clone()));
            d.insert("after_header".into(), Value::from(filename.clone()));
            d.insert("before".into(), Value::from(existing_content));
            d.insert("after".into(), Value::from(new_content.clone()));
            r.set("diff", Value::Object(d));
        }
        r.changed = true;
        Ok(Check::Change {
            predicted: with_path_info(r.clone()),
            action: action(move |_ctx| {
                let Some(pw) = pw else {
                    return Err(lookup_failed(&user));
                };
                prepare(&pw, path.as_deref(), manage_dir, &filename)?;
                fsutil::atomic_write(Path::new(&filename), new_content.as_bytes(), None).map_err(
                    |e| ModuleError::failed(format!("Failed to write to file {filename}: {e}")),
                )?;
                Ok(with_path_info(r))
            }),
        })
    }
}

/// Ansible's `exit_json` adds the file's attributes when `path` exists.
fn with_path_info(mut r: ModuleResult) -> ModuleResult {
    crate::modules::files::common::add_path_info(&mut r.extra);
    r
}

fn lookup_failed(user: &str) -> ModuleError {
    ModuleError::failed(format!(
        "Failed to lookup user {user}: \"getpwnam(): name not found: '{user}'\""
    ))
}

/// Ansible's `keyfile` without writing: where the keys are.
fn keyfile_path(
    check: bool,
    user: &str,
    pw: Option<&acc::Passwd>,
    path: Option<&str>,
    follow: bool,
) -> Result<String, ModuleError> {
    let real = |p: String| {
        if follow {
            crate::modules::files::common::realpath(Path::new(&p))
                .to_string_lossy()
                .into_owned()
        } else {
            p
        }
    };
    if let (true, Some(p)) = (check, path) {
        return Ok(real(p.to_owned()));
    }
    let Some(pw) = pw else {
        if check && path.is_none() {
            return Err(ModuleError::failed(
                "Either user must exist or you must provide full path to key file in check mode",
            ));
        }
        return Err(lookup_failed(user));
    };
    let file = match path {
        Some(p) => p.to_owned(),
        None => acc::path_join(&acc::path_join(&pw.home, ".ssh"), "authorized_keys"),
    };
    Ok(real(file))
}

/// Ansible's `keyfile` with `write=True`: the directory and an empty file
/// with the right owner and modes.
fn prepare(
    pw: &acc::Passwd,
    path: Option<&str>,
    manage_dir: bool,
    keysfile: &str,
) -> Result<(), ModuleError> {
    let sshdir = match path {
        Some(p) => acc::dirname(p),
        None => acc::path_join(&pw.home, ".ssh"),
    };
    if manage_dir {
        if !Path::new(&sshdir).exists() {
            fs::create_dir(&sshdir).map_err(|e| {
                ModuleError::failed(format!("Failed to create directory {sshdir} : {e}"))
            })?;
        }
        let io = |e: std::io::Error| ModuleError::failed(format!("{sshdir}: {e}"));
        std::os::unix::fs::chown(&sshdir, Some(pw.uid), Some(pw.gid)).map_err(io)?;
        fs::set_permissions(&sshdir, fs::Permissions::from_mode(0o700)).map_err(io)?;
    }
    if !Path::new(keysfile).exists() {
        let base = acc::dirname(keysfile);
        if !base.is_empty() && !Path::new(&base).exists() {
            fs::create_dir_all(&base).map_err(|e| ModuleError::failed(format!("{base}: {e}")))?;
        }
        fs::write(keysfile, b"").map_err(|e| ModuleError::failed(format!("{keysfile}: {e}")))?;
    }
    // Best effort, as Ansible (it ignores OSError here).
    let _ = std::os::unix::fs::chown(keysfile, Some(pw.uid), Some(pw.gid));
    let _ = fs::set_permissions(keysfile, fs::Permissions::from_mode(0o600));
    Ok(())
}

const KEY_TYPES: [&str; 23] = [
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "webauthn-sk-ecdsa-sha2-nistp256@openssh.com",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp384-cert-v01@openssh.com",
    "ecdsa-sha2-nistp521",
    "ecdsa-sha2-nistp521-cert-v01@openssh.com",
    "sk-ssh-ed25519@openssh.com",
    "sk-ssh-ed25519-cert-v01@openssh.com",
    "ssh-ed25519",
    "ssh-ed25519-cert-v01@openssh.com",
    "ssh-dss",
    "ssh-rsa",
    "ssh-xmss@openssh.com",
    "ssh-xmss-cert-v01@openssh.com",
    "rsa-sha2-256",
    "rsa-sha2-512",
    "ssh-rsa-cert-v01@openssh.com",
    "rsa-sha2-256-cert-v01@openssh.com",
    "rsa-sha2-512-cert-v01@openssh.com",
    "ssh-dss-cert-v01@openssh.com",
];

/// One line of the file: a key, or a line kept as it is (`skipped`).
#[derive(Debug, Clone)]
struct Entry {
    /// What the module keys its dictionary by: the base64 key, or the
    /// whole line for kept lines.
    id: String,
    /// `None` for kept lines.
    ty: Option<String>,
    options: Vec<(String, Option<String>)>,
    comment: String,
    rank: usize,
}

/// Python dict equality of two option `keydict`s: the same names, each
/// with the same values in the same order.
fn same_options(a: &[(String, Option<String>)], b: &[(String, Option<String>)]) -> bool {
    let group = |v: &[(String, Option<String>)]| {
        let mut m: std::collections::BTreeMap<String, Vec<Option<String>>> = Default::default();
        for (k, x) in v {
            m.entry(k.clone()).or_default().push(x.clone());
        }
        m
    };
    group(a) == group(b)
}

fn same_key(a: &Entry, b: &Entry) -> bool {
    a.id == b.id && a.ty == b.ty && same_options(&a.options, &b.options) && a.comment == b.comment
}

/// The module's `parseoptions`.
fn parse_options(options: Option<&str>) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let Some(s) = options.filter(|s| !s.is_empty()) else {
        return out;
    };
    // Split on commas outside double or single quotes.
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match quote {
            Some(q) => {
                cur.push(c);
                if c == q {
                    quote = None;
                }
            }
            None if c == ',' => {
                if !cur.is_empty() {
                    parts.push(std::mem::take(&mut cur));
                }
            }
            None => {
                if c == '"' || c == '\'' {
                    quote = Some(c);
                }
                cur.push(c);
            }
        }
    }
    if !cur.is_empty() {
        parts.push(cur);
    }
    for p in parts {
        match p.split_once('=') {
            Some((k, v)) => out.push((k.to_owned(), Some(v.to_owned()))),
            None => out.push((p, None)),
        }
    }
    out
}

/// The module's `parsekey`: `None` when no key type is found.
fn parse_key(raw: &str, rank: usize) -> Option<Entry> {
    let raw = raw.replace("\\#", "#");
    let parts: Vec<&str> = raw.split_whitespace().collect();
    if parts.first() == Some(&"#") {
        return Some(Entry {
            id: raw.clone(),
            ty: None,
            options: Vec::new(),
            comment: String::new(),
            rank,
        });
    }
    let ti = parts.iter().position(|p| KEY_TYPES.contains(p))?;
    let options = (ti > 0).then(|| parts[..ti].join(" "));
    let key = parts.get(ti + 1)?;
    Some(Entry {
        id: (*key).to_owned(),
        ty: Some(parts[ti].to_owned()),
        options: parse_options(options.as_deref()),
        comment: parts.get(ti + 2..).map(|c| c.join(" ")).unwrap_or_default(),
        rank,
    })
}

/// An insertion-ordered dictionary of entries by id (Python dict rules:
/// re-setting a key keeps its place).
#[derive(Debug, Default)]
struct Keys {
    items: Vec<Entry>,
}

impl Keys {
    fn get(&self, id: &str) -> Option<&Entry> {
        self.items.iter().find(|e| e.id == id)
    }
    fn insert(&mut self, e: Entry) {
        match self.items.iter_mut().find(|x| x.id == e.id) {
            Some(x) => *x = e,
            None => self.items.push(e),
        }
    }
    fn remove(&mut self, id: &str) {
        self.items.retain(|e| e.id != id);
    }
    fn len(&self) -> usize {
        self.items.len()
    }
    /// The module's `serialize`: by rank (stable), keys re-formatted.
    fn serialize(&self) -> String {
        let mut v: Vec<&Entry> = self.items.iter().collect();
        v.sort_by_key(|e| e.rank);
        let mut out = String::new();
        for e in v {
            match &e.ty {
                None => out.push_str(&e.id),
                Some(ty) => {
                    if !e.options.is_empty() {
                        let opts: Vec<String> = e
                            .options
                            .iter()
                            .map(|(k, v)| match v {
                                Some(v) => format!("{k}={v}"),
                                None => k.clone(),
                            })
                            .collect();
                        out.push_str(&opts.join(","));
                        out.push(' ');
                    }
                    out.push_str(&format!("{ty} {} {}\n", e.id, e.comment));
                }
            }
        }
        out
    }
}

/// The module's `parsekeys`.
fn parse_keys(content: &str) -> Keys {
    let mut keys = Keys::default();
    for (rank, line) in content.split_inclusive('\n').enumerate() {
        match parse_key(line, rank) {
            Some(e) => keys.insert(e),
            None => keys.insert(Entry {
                id: line.to_owned(),
                ty: None,
                options: Vec::new(),
                comment: String::new(),
                rank,
            }),
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_split_outside_quotes() {
        let o = parse_options(Some("no-pty,command=\"a,b\",from='x'"));
        assert_eq!(
            o,
            vec![
                ("no-pty".into(), None),
                ("command".into(), Some("\"a,b\"".into())),
                ("from".into(), Some("'x'".into())),
            ]
        );
    }

    #[test]
    fn key_without_comment_keeps_trailing_space() {
        let mut k = Keys::default();
        k.insert(parse_key("ssh-ed25519 AAAA", 0).unwrap_or_else(|| unreachable!()));
        assert_eq!(k.serialize(), "ssh-ed25519 AAAA \n");
    }
}
