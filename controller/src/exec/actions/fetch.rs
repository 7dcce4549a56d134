//! `fetch`: copies a file from the host to the controller. The host side
//! goes through the runner (`stat`, then `slurp` when the bytes are
//! needed), so it works the same once hosts are reached over SSH.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use rustle_runner::modules::files::common::{md5_bytes, sha1_bytes, sha1_file};
use rustle_template::Vars;
use serde_json::{json, Map, Value};

use super::{action_fail, done, kw, module_call, Done, Runner, Scheduled, AS_IS};
use crate::exec::{truthy, value_to_string};

/// `boolean(x, strict=False)`: only the true spellings are true.
fn loose_bool(v: Option<&Value>, default: bool) -> bool {
    match v {
        None | Some(Value::Null) => default,
        Some(v) => rustle_runner::args::to_bool(v).unwrap_or(false),
    }
}

/// `os.path.normpath` for the absolute or relative paths built here.
fn normpath(p: &str) -> String {
    let abs = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for c in Path::new(p).components() {
        match c {
            Component::Normal(s) => out.push(s.to_str().unwrap_or_default()),
            Component::ParentDir => {
                if out.last().is_some_and(|l| *l != "..") {
                    out.pop();
                } else if !abs {
                    out.push("..");
                }
            }
            _ => {}
        }
    }
    let joined = out.join("/");
    match (abs, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

pub(super) fn fetch(
    r: &Runner<'_>,
    s: &Scheduled,
    host: &str,
    args: &Map<String, Value>,
    vars: &Arc<dyn Vars>,
) -> Done {
    let check = kw(r, s, "check_mode", vars).map_or(r.cfg.check, |v| truthy(&v));
    if check {
        // Raised (AnsibleActionSkip) outside the action's own handler: the
        // result has no `failed` key.
        return done(json!({
            "changed": false, "skipped": true,
            "msg": "check mode not (yet) supported for this module", AS_IS: true,
        }));
    }
    let (src, dest) = match (args.get("src"), args.get("dest")) {
        (Some(Value::String(a)), Some(Value::String(b))) => (a.clone(), b.clone()),
        (None | Some(Value::Null), _) | (_, None | Some(Value::Null)) => {
            return action_fail("src and dest are required")
        }
        (_, Some(Value::String(_))) => {
            return action_fail("Invalid type supplied for source option, it must be a string")
        }
        _ => return action_fail("Invalid type supplied for dest option, it must be a string"),
    };
    let flat = loose_bool(args.get("flat"), false);
    let fail_on_missing = loose_bool(args.get("fail_on_missing"), true);
    let validate_checksum = loose_bool(args.get("validate_checksum"), true);
    let source = if src.starts_with('~') {
        rustle_runner::fsutil::expand_user(&src)
            .to_string_lossy()
            .into_owned()
    } else {
        src.clone()
    };

    let call = |module: &str, a: Value| -> Value {
        let Value::Object(m) = a else {
            return Value::Null;
        };
        module_call(r, s, module, m, vars, None).result
    };

    let stat = call(
        "stat",
        json!({"path": source, "follow": true, "get_checksum": true, "checksum_algorithm": "sha1"}),
    );
    if stat.get("failed").and_then(Value::as_bool) == Some(true) {
        let msg = format!(
            "Failed to get information on remote file ({source}): {}",
            stat.get("msg").map(value_to_string).unwrap_or_default()
        );
        let mut res = json!({"changed": false, "file": source});
        if fail_on_missing {
            res["failed"] = Value::Bool(true);
            res["msg"] = Value::from(msg);
        } else {
            res["msg"] = Value::from(format!("{msg}, ignored"));
        }
        return done(res);
    }
    let st = stat.get("stat").cloned().unwrap_or(Value::Null);
    let exists = st.get("exists").and_then(Value::as_bool) == Some(true);
    if exists && st.get("isdir").and_then(Value::as_bool) == Some(true) {
        let msg = "remote file is a directory, fetch cannot work on directories";
        return done(if fail_on_missing {
            json!({"changed": false, "failed": true, "msg": msg})
        } else {
            json!({"msg": format!("{msg}, not transferring, ignored")})
        });
    }
    let mut remote_checksum: Option<String> = if exists {
        Some(st.get("checksum").map(value_to_string).unwrap_or_default())
    } else {
        Some("1".into())
    };

    let slurp = |src: &str| -> Result<Vec<u8>, Value> {
        let res = call("slurp", json!({"src": src}));
        if res.get("failed").and_then(Value::as_bool) == Some(true) {
            return Err(res);
        }
        let content = res.get("content").and_then(Value::as_str).unwrap_or("");
        base64::engine::general_purpose::STANDARD
            .decode(content)
            .map_err(|e| json!({"failed": true, "changed": false, "msg": format!("bad slurp content: {e}")}))
    };
    let mut data: Option<Vec<u8>> = None;
    if matches!(remote_checksum.as_deref(), None | Some("1") | Some("")) {
        match slurp(&source) {
            Ok(d) => {
                remote_checksum = Some(sha1_bytes(&d));
                data = Some(d);
            }
            Err(res) => {
                let smsg = res.get("msg").map(value_to_string).unwrap_or_default();
                let mut out = if fail_on_missing {
                    let mut m = Map::new();
                    for k in ["changed", "failed", "msg"] {
                        if let Some(v) = res.get(k) {
                            m.insert(k.into(), v.clone());
                        }
                    }
                    Value::Object(m)
                } else {
                    json!({"file": source, "changed": false})
                };
                if smsg.contains("not found") {
                    out["msg"] =
                        Value::from("the remote file does not exist, not transferring, ignored");
                } else if smsg.starts_with("source is a directory") {
                    out["msg"] =
                        Value::from("remote file is a directory, fetch cannot work on directories");
                }
                return done(out);
            }
        }
    }

    // The destination on the controller.
    let base = |d: &str| -> String {
        if d.starts_with('/') {
            d.to_owned()
        } else {
            r.playbook_dir.join(d).to_string_lossy().into_owned()
        }
    };
    let mut dest_path = dest.clone();
    if flat {
        if Path::new(&dest_path).is_dir() && !dest_path.ends_with('/') {
            return action_fail("dest is an existing directory, use a trailing slash if you want to fetch src into that directory");
        }
        if dest_path.ends_with('/') {
            let name = Path::new(&source)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            dest_path = format!("{dest_path}{name}");
            if Path::new(&dest_path).is_dir() {
                return action_fail(format!("calculated dest '{dest_path}' is an existing directory, use another path that does not point to an existing directory"));
            }
        }
        dest_path = base(&dest_path);
    } else {
        let target = vars
            .get("inventory_hostname")
            .map(|v| value_to_string(&v))
            .unwrap_or_else(|| host.to_owned());
        dest_path = format!("{}/{}/{}", base(&dest), target, source);
    }
    let dest_path = normpath(&dest_path);
    let dp = PathBuf::from(&dest_path);
    let local_checksum = if dp.is_file() {
        sha1_file(&dp).ok()
    } else {
        None
    };

    if remote_checksum != local_checksum {
        let bytes = match data {
            Some(d) => d,
            None => match slurp(&source) {
                Ok(d) => d,
                Err(res) => return done(res),
            },
        };
        if let Some(parent) = dp.parent() {
            if let Err(e) = std::fs::create_dir_all(parent) {
                return action_fail(format!("Failed to fetch the file: {e}"));
            }
        }
        if let Err(e) = write_atomic(&dp, &bytes) {
            return action_fail(format!("Failed to fetch the file: {e}"));
        }
        let new_checksum = sha1_bytes(&bytes);
        let new_md5 = md5_bytes(&bytes);
        if validate_checksum && Some(&new_checksum) != remote_checksum.as_ref() {
            return done(json!({
                "changed": false, "failed": true, "md5sum": new_md5, "msg": "checksum mismatch",
                "file": source, "dest": dest_path, "remote_md5sum": null,
                "checksum": new_checksum, "remote_checksum": remote_checksum,
            }));
        }
        done(json!({
            "changed": true, "md5sum": new_md5, "dest": dest_path, "remote_md5sum": null,
            "checksum": new_checksum, "remote_checksum": remote_checksum,
        }))
    } else {
        let md5 = std::fs::read(&dp).ok().map(|b| md5_bytes(&b));
        done(json!({
            "changed": false, "md5sum": md5, "file": source, "dest": dest_path,
            "checksum": local_checksum,
        }))
    }
}

/// Writes through a temporary file in the same directory and renames it,
/// so a failed fetch never leaves a half-written file.
fn write_atomic(dest: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = dest.parent().unwrap_or(Path::new("."));
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.rustle-fetch-{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, dest).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

#[cfg(test)]
mod tests {
    use super::normpath;

    #[test]
    fn normpath_as_python() {
        assert_eq!(normpath("/a/b/../c//d/./e"), "/a/c/d/e");
        assert_eq!(normpath("a/../../b"), "../b");
        assert_eq!(normpath("/.."), "/");
    }
}
