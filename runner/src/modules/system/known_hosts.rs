//! `known_hosts`: adds or removes a host key in an SSH known_hosts file,
//! matching hosts with `ssh-keygen -F` as Ansible's module does (so
//! hashed entries and patterns are understood the way OpenSSH does).

use std::fs;
use std::io::Write;
use std::path::Path;

use base64::Engine;
use serde_json::{Map, Value};
use sha1::{Digest, Sha1};

use super::accounts as acc;
use crate::args::{ArgDef, ArgDefault, ArgSpec, ArgType};
use crate::fsutil;
use crate::modules::{action, Capabilities, Check, CheckSupport, Context, Module, ModuleError};
use crate::result::ModuleResult;

pub struct KnownHosts;

static ARGS: [ArgDef; 5] = [
    ArgDef::new("name", ArgType::Str)
        .aliases(&["host"])
        .required()
        .doc("The host (lower-cased), as `ssh-keygen -F` looks it up; `[host]:port` for a port."),
    ArgDef::new("key", ArgType::Str)
        .doc("The key line, as in a known_hosts file (`host keytype base64`, optionally `@cert-authority`/`@revoked` first)."),
    ArgDef::new("path", ArgType::Path)
        .default(ArgDefault::Str("~/.ssh/known_hosts"))
        .doc("The known_hosts file."),
    ArgDef::new("hash_host", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Write the host name hashed (`|1|salt|hash`)."),
    ArgDef::new("state", ArgType::Str)
        .default(ArgDefault::Str("present"))
        .choices(&["absent", "present"])
        .doc("`present` adds or replaces the key of that type; `absent` removes it (every key of the host without `key`)."),
];

static SPEC: ArgSpec = ArgSpec::new(&ARGS);

const NOTES: &str = "\
Uses the host's `ssh-keygen` (`-F` to find the host, `-R` to remove every key of a host), as \
Ansible's module. A key of the same type as the given one is replaced; a hashed host stays \
hashed.

Results: the arguments (`name`, `key`, `path` with `~` expanded, `hash_host`, `state`), \
`changed` and always a `diff` (before/after file contents; `/dev/null` as the before header \
when the file does not exist). Failures as Ansible's: `No key specified when adding a host`, \
`Comma separated list of names is not supported. ...`, `Host parameter does not match hashed \
host field in supplied key`, `ssh-keygen failed (rc=..., ...)`.

Check mode: predicts exactly. The file is written atomically; a new file gets 0666 minus the \
umask, an existing one keeps its mode and owner. `ssh-keygen -R` leaves `<path>.old` behind, \
as with Ansible.

Tested with the real `ssh-keygen` by conformance cases and by the ansible-core integration \
target `known_hosts` in the compat corpus.";

impl Module for KnownHosts {
    fn name(&self) -> &'static str {
        "known_hosts"
    }
    fn description(&self) -> &'static str {
        "Add or remove a host from the known_hosts file"
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
    fn keeps_diff(&self) -> bool {
        true
    }
    fn check(&self, ctx: &Context<'_>) -> Result<Check, ModuleError> {
        let a = &ctx.args;
        let name = a.str("name").unwrap_or_default().to_owned();
        let host = name.to_lowercase();
        let path_arg = a.str("path").unwrap_or("~/.ssh/known_hosts");
        let path = ctx.expand_path(path_arg).to_string_lossy().into_owned();
        let hash_host = a.bool("hash_host");
        let present = a.str("state") != Some("absent");
        let mut result = ModuleResult::ok();
        result.set("name", name.clone());
        result.set("key", a.get("key").cloned().unwrap_or(Value::Null));
        result.set("path", path.clone());
        result.set("hash_host", hash_host);
        result.set("state", if present { "present" } else { "absent" });
        let sshkeygen = acc::require_bin(ctx, "ssh-keygen")?
            .to_string_lossy()
            .into_owned();
        let mut key = a.str("key").filter(|k| !k.is_empty()).map(str::to_owned);
        if key.is_none() && present {
            return Err(ModuleError::failed("No key specified when adding a host"));
        }
        if let (Some(k), true) = (&key, hash_host) {
            key = Some(hash_host_key(&host, k)?);
        }
        if let Some(k) = &mut key {
            if !k.ends_with('\n') {
                k.push('\n');
            }
        }
        if let Some(k) = &key {
            sanity_check(ctx, &sshkeygen, &host, k)?;
        }
        let (found, replace_or_add, found_line) =
            search_for_host_key(ctx, &sshkeygen, &host, key.as_deref(), &path)?;
        let (diff, after) =
            compute_diff(&path, found_line, replace_or_add, present, key.as_deref());
        result.set("diff", diff);
        if !present && found_line.is_none() && key.is_some() {
            return Ok(Check::Done(with_path_info(result)));
        }
        let remove_all = found && key.is_none() && !present;
        let rewrite = replace_or_add || found != present;
        // In check mode Ansible exits early: only `changed` and `diff`.
        let mut predicted = ModuleResult {
            changed: rewrite,
            ..Default::default()
        };
        predicted.set("diff", result.get("diff").cloned().unwrap_or(Value::Null));
        if !remove_all && !rewrite {
            return Ok(Check::Done(if ctx.check_mode {
                predicted
            } else {
                with_path_info(result)
            }));
        }
        predicted.changed = true;
        Ok(Check::Change {
            predicted,
            action: action(move |ctx| {
                if remove_all {
                    let argv = [sshkeygen, "-R".into(), host, "-f".into(), path.clone()];
                    let out = acc::run(ctx, &argv, None);
                    if out.rc != 0 {
                        let mut extra = Map::new();
                        extra.insert("cmd".into(), Value::from(argv.join(" ")));
                        extra.insert("rc".into(), Value::from(out.rc));
                        extra.insert("stdout".into(), Value::from(out.stdout.clone()));
                        extra.insert("stderr".into(), Value::from(out.stderr.clone()));
                        return Err(ModuleError::Failed {
                            msg: out.stderr.trim_end().to_owned(),
                            extra,
                        });
                    }
                }
                if rewrite {
                    let current = match fs::read_to_string(&path) {
                        Ok(s) => Some(s),
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                        Err(e) => {
                            return Err(ModuleError::failed(format!(
                                "Failed to read {path}: {}",
                                py_err(&e, &path)
                            )))
                        }
                    };
                    let mut data = String::new();
                    if let Some(cur) = current {
                        for (n, line) in cur.split_inclusive('\n').enumerate() {
                            if found_line == Some(n + 1) && (replace_or_add || !present) {
                                continue;
                            }
                            data.push_str(line);
                        }
                    }
                    if present {
                        data.push_str(key.as_deref().unwrap_or_default());
                    }
                    let dir = acc::dirname(&path);
                    if !dir.is_empty() && !Path::new(&dir).is_dir() {
                        return Err(ModuleError::failed(format!(
                            "Failed to write to file {path}: [Errno 2] No such file or directory: '{dir}'"
                        )));
                    }
                    fsutil::atomic_write(Path::new(&path), data.as_bytes(), None).map_err(|e| {
                        ModuleError::failed(format!("Failed to write to file {path}: {e}"))
                    })?;
                }
                let mut r = result;
                r.changed = true;
                let _ = after;
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

fn py_err(e: &std::io::Error, path: &str) -> String {
    format!(
        "[Errno {}] {}: '{path}'",
        e.raw_os_error().unwrap_or(0),
        crate::modules::files::common::strerror(e)
    )
}

fn random_bytes(n: usize) -> Result<Vec<u8>, ModuleError> {
    use std::io::Read;
    let mut buf = vec![0u8; n];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .map_err(|e| ModuleError::failed(format!("cannot read /dev/urandom: {e}")))?;
    Ok(buf)
}

fn hmac_sha1(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..20].copy_from_slice(&Sha1::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha1::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(msg);
    let mut outer = Sha1::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().to_vec()
}

/// Replaces the key line's host field with `|1|salt|hash`.
fn hash_host_key(host: &str, key: &str) -> Result<String, ModuleError> {
    let salt = random_bytes(20)?;
    let hashed = hmac_sha1(&salt, host.as_bytes());
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut parts: Vec<String> = key.split_whitespace().map(str::to_owned).collect();
    let i = usize::from(parts.first().is_some_and(|p| p.starts_with('@')));
    if i < parts.len() {
        parts[i] = format!("|1|{}|{}", b64.encode(&salt), b64.encode(hashed));
    }
    Ok(parts.join(" "))
}

/// Checks the key names the host (`ssh-keygen -F` on the key alone).
fn sanity_check(
    ctx: &Context<'_>,
    sshkeygen: &str,
    host: &str,
    key: &str,
) -> Result<(), ModuleError> {
    let comma = fancy_regex::Regex::new(r"\S+(\s+)?,(\s+)?")
        .map_err(|e| ModuleError::failed(e.to_string()))?;
    if comma.is_match(host).unwrap_or(false) {
        return Err(ModuleError::failed("Comma separated list of names is not supported. Please pass a single name to lookup in the known_hosts file."));
    }
    let tmp = std::env::temp_dir().join(format!(
        "rustle-known_hosts-{}-{}",
        std::process::id(),
        hex::encode(random_bytes(6)?)
    ));
    let written = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .and_then(|mut f| f.write_all(key.as_bytes()));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(ModuleError::failed(format!(
            "Failed to write to temporary file {}: {e}",
            tmp.display()
        )));
    }
    let out = acc::run(
        ctx,
        &[
            sshkeygen.to_owned(),
            "-F".into(),
            host.to_owned(),
            "-f".into(),
            tmp.to_string_lossy().into_owned(),
        ],
        None,
    );
    let _ = fs::remove_file(&tmp);
    if out.stdout.is_empty() {
        return Err(ModuleError::failed(
            "Host parameter does not match hashed host field in supplied key",
        ));
    }
    Ok(())
}

#[derive(PartialEq, Eq, Debug)]
struct KeyLine {
    options: Option<String>,
    host: String,
    ty: String,
    key: String,
}

fn normalize(line: &str) -> Option<KeyLine> {
    let k: Vec<&str> = line.split_whitespace().collect();
    let (options, rest) = if k.first()?.starts_with('@') {
        (Some(k[0].to_owned()), &k[1..])
    } else {
        (None, &k[..])
    };
    Some(KeyLine {
        options,
        host: rest.first()?.to_string(),
        ty: rest.get(1)?.to_string(),
        key: rest.get(2)?.to_string(),
    })
}

/// `(found, replace_or_add, found_line)` as Ansible's `search_for_host_key`.
fn search_for_host_key(
    ctx: &Context<'_>,
    sshkeygen: &str,
    host: &str,
    key: Option<&str>,
    path: &str,
) -> Result<(bool, bool, Option<usize>), ModuleError> {
    if !Path::new(path).exists() {
        return Ok((false, false, None));
    }
    let out = acc::run(
        ctx,
        &[
            sshkeygen.to_owned(),
            "-F".into(),
            host.to_owned(),
            "-f".into(),
            path.to_owned(),
        ],
        None,
    );
    if out.stdout.is_empty() && out.stderr.is_empty() && (out.rc == 0 || out.rc == 1) {
        return Ok((false, false, None));
    }
    if out.rc != 0 {
        return Err(ModuleError::failed(format!(
            "ssh-keygen failed (rc={}, stdout='{}',stderr='{}')",
            out.rc, out.stdout, out.stderr
        )));
    }
    let Some(key) = key else {
        return Ok((true, false, None));
    };
    let Some(mut new_key) = normalize(key) else {
        return Ok((true, true, None));
    };
    let line_re = fancy_regex::Regex::new(r"found: line (\d+)")
        .map_err(|e| ModuleError::failed(e.to_string()))?;
    let mut found_line = None;
    for l in out.stdout.split('\n') {
        if l.is_empty() {
            continue;
        }
        if l.starts_with('#') {
            found_line = line_re
                .captures(l)
                .ok()
                .flatten()
                .and_then(|c| c.get(1))
                .and_then(|m| m.as_str().parse::<usize>().ok());
            continue;
        }
        let Some(found) = normalize(l) else { continue };
        let special = found
            .options
            .as_deref()
            .is_some_and(|o| o.starts_with("@cert-authority") || o.starts_with("@revoke"));
        if special {
            if new_key == found {
                return Ok((true, false, found_line));
            }
        } else {
            if new_key.host.starts_with("|1|") && found.host.starts_with("|1|") {
                new_key.host = found.host.clone();
            }
            if new_key == found {
                return Ok((true, false, found_line));
            } else if new_key.ty == found.ty {
                return Ok((true, true, found_line));
            }
        }
    }
    Ok((true, true, None))
}

/// The diff Ansible computes (before the change, for every run), and the
/// content it predicts.
fn compute_diff(
    path: &str,
    found_line: Option<usize>,
    replace_or_add: bool,
    present: bool,
    key: Option<&str>,
) -> (Value, String) {
    let mut before_header = path.to_owned();
    let before = match fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) => {
            if e.kind() == std::io::ErrorKind::NotFound {
                before_header = "/dev/null".into();
            }
            String::new()
        }
    };
    let mut lines: Vec<&str> = before.split_inclusive('\n').collect();
    if let Some(n) = found_line {
        if (replace_or_add || !present) && (1..=lines.len()).contains(&n) {
            lines.remove(n - 1);
        }
    }
    let mut after = lines.concat();
    if present && (replace_or_add || found_line.is_none()) {
        after.push_str(key.unwrap_or("None"));
    }
    let mut d = Map::new();
    d.insert("before_header".into(), Value::from(before_header));
    d.insert("after_header".into(), Value::from(path));
    d.insert("before".into(), Value::from(before));
    d.insert("after".into(), Value::from(after.clone()));
    (Value::Object(d), after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc2202() {
        let mac = hmac_sha1(&[0x0b; 20], b"Hi There");
        assert_eq!(hex::encode(mac), "b617318655057264e28bc0b6fb378c8ef146be00");
    }
}
