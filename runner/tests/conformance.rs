//! Table-driven conformance cases: `tests/cases/<module>/<case>.json`.
//!
//! Each case runs in a fresh temporary directory (`{{tmp}}` in any string
//! of the case), through the library's public executor
//! (`engine::run_task`), the way the runner runs tasks. For every case the
//! harness enforces:
//!
//! 1. check mode first: `changed`/`failed`/`skipped` as expected (the real
//!    run's expectations unless `check_expect` overrides them) and the file
//!    system byte-for-byte unchanged (content, type, mode, owner, mtime,
//!    link targets);
//! 2. the real run matches `expect` (status, `msg`, selected result keys,
//!    resulting file-system state), leaving no temporary files behind;
//! 3. a second real run reports `changed: false` and changes nothing
//!    (`"idempotent": false` cases, such as `touch`, must report `changed:
//!    true` instead; failing cases must fail again the same way);
//! 4. for modules that support diff, a diff is present when the run
//!    changes something (`before`/`after`, or `prepared` text as
//!    synchronize returns; `expect.diff: false` asserts that, as in
//!    Ansible, there is none).
//!
//! Case format (all keys but `args` optional):
//!
//! ```json
//! {
//!   "description": "…",
//!   "args": {"path": "{{tmp}}/f", "state": "touch"},
//!   "assets": {"src": "content", "bin": {"hex": "00ff"}, "big": {"repeat": "x", "times": 9}},
//!   "setup": [{"path": "d", "type": "directory", "mode": "0755"},
//!             {"path": "d/f", "type": "file", "content": "x", "mode": "0600", "mtime": 1577970245},
//!             {"path": "l", "type": "link", "target": "d/f"},
//!             {"path": "h", "type": "hard", "target": "d/f"}],
//!   "check_expect": {"changed": true, "failed": false, "skipped": false, "msg": "…", "result": {…}},
//!   "expect": {"changed": true, "failed": false, "skipped": false, "msg": "…",
//!              "result": {"key": "exact JSON", "k2": "<any>", "k3": "<absent>",
//!                         "k4": "<prefix:…>", "k5": "<contains:…>", "k6": "<number>"},
//!              "diff": true,
//!              "fs": {"d/f": {"type": "file", "content": "x", "mode": "0600",
//!                             "same_as": "h", "nlink": 2, "mtime": 1577970245},
//!                     "l": {"type": "link", "target": "d/f"},
//!                     "gone": {"type": "absent"},
//!                     "d": {"type": "directory", "mode": "0755", "entries": ["f"]}}},
//!   "idempotent": true,
//!   "requires_root": false,
//!   "environment": {"PATH": "{{tmp}}/bin:{{path}}", "FAKE_DIR": "{{tmp}}/spool"},
//!   "teardown": [{"module": "user", "args": {"name": "rustletestx", "state": "absent"}}],
//!   "fakes": ["systemctl"],
//!   "env": {"SYSTEMD_OFFLINE": "0"}
//! }
//! ```
//!
//! `environment` is the task's environment (fake programs on `PATH`, set
//! up as executable `setup` files; `{{path}}` is the harness's own
//! `PATH`). `teardown` tasks run after the case, pass or fail, to undo
//! changes outside `{{tmp}}` (accounts, groups).
//!
//! Fake programs: each name in `fakes` is copied from `tests/fakes/<name>`
//! to `{{tmp}}/bin/<name>` (mode 0755) before `setup` runs, and the task's
//! environment gets `PATH={{tmp}}/bin:<the test's PATH>`, so modules that
//! look programs up on the task's `PATH` (as Ansible's `get_bin_path`
//! does) run the fakes. The fakes keep their state under
//! `{{tmp}}/fakestate/` (create it with `setup`), write only when a
//! command changes something, and log those commands (e.g.
//! `fakestate/systemctl.log`), so the file-system checks (check mode
//! touches nothing, the second run changes nothing) cover what the module
//! asked the system to do. `env` adds further task environment variables
//! (placeholders allowed); `environment` entries are applied last.
//!
//! `setup_sh` (a string, placeholders substituted) is run with `/bin/sh
//! -e` in `{{tmp}}` after `setup`, for state files cannot express (a git
//! repository, a virtualenv, wheels to install).
//!
//! `"http": true` starts a small HTTP server for the case on 127.0.0.1
//! (`tests/support/http_server.rs`: files from `{{tmp}}/www/` and a few
//! fixed endpoints such as `/status/404`, `/redirect/x`, `/echo`), whose
//! base URL is the placeholder `{{http}}`. Cases for modules that wait on
//! ports can use `{{closed_port}}`, a port nothing listens on.
//!
//! Placeholders (in `args`, `expect`, `env`, `environment` and `setup`
//! contents): `{{http}}`, `{{closed_port}}`, `{{tmp}}`, `{{user}}`, `{{group}}`, `{{uid}}`, `{{gid}}`
//! (numbers when they are the whole string), `{{default_file_mode}}` and
//! `{{default_dir_mode}}` (what the umask makes of 0666 and 0777),
//! `{{localtime:YYYY-mm-dd HH:MM:SS}}` (that local time as a Unix time).

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

#[path = "support/http_server.rs"]
mod http_server;

use rustle_bundle::{AssetId, PlayPlan, Task};
use rustle_runner::engine::{run_task, RunOptions, Status};
use rustle_runner::modules::{self, AssetSource, ModuleError};
use rustle_runner::result::ModuleResult;
use serde_json::{Map, Value};

// ---------------------------------------------------------------- helpers

struct MemAssets(BTreeMap<AssetId, Vec<u8>>);

impl AssetSource for MemAssets {
    fn asset(&self, id: &AssetId) -> Result<Vec<u8>, ModuleError> {
        self.0
            .get(id)
            .cloned()
            .ok_or_else(|| ModuleError::Asset(format!("asset {id} is not available")))
    }
}

fn proc_ids(key: &str) -> u32 {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(2))
                .and_then(|x| x.parse().ok())
        })
        .unwrap_or(u32::MAX)
}

struct Env {
    tmp: PathBuf,
    uid: u32,
    gid: u32,
    user: String,
    group: String,
    umask: u32,
    http: String,
    closed_port: u16,
}

impl Env {
    fn new(tmp: PathBuf) -> Self {
        let uid = proc_ids("Uid:");
        let gid = proc_ids("Gid:");
        Env {
            tmp,
            uid,
            gid,
            user: rustle_runner::fsutil::user_name(uid).unwrap_or_else(|| uid.to_string()),
            group: rustle_runner::fsutil::group_name(gid).unwrap_or_else(|| gid.to_string()),
            umask: rustle_runner::fsutil::current_umask(),
            http: String::new(),
            closed_port: 0,
        }
    }

    fn subst_str(&self, s: &str) -> Value {
        match s {
            "{{uid}}" => return Value::from(self.uid),
            "{{gid}}" => return Value::from(self.gid),
            "{{closed_port}}" => return Value::from(self.closed_port),
            _ => {}
        }
        if let Some(t) = s
            .strip_prefix("{{localtime:")
            .and_then(|x| x.strip_suffix("}}"))
        {
            use chrono::TimeZone;
            let ts = chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S")
                .ok()
                .and_then(|n| chrono::Local.from_local_datetime(&n).earliest())
                .map(|d| d.timestamp());
            return ts.map_or(Value::Null, Value::from);
        }
        Value::String(
            s.replace("{{tmp}}", &self.tmp.to_string_lossy())
                .replace("{{http}}", &self.http)
                .replace("{{closed_port}}", &self.closed_port.to_string())
                .replace("{{user}}", &self.user)
                .replace("{{group}}", &self.group)
                .replace("{{uid}}", &self.uid.to_string())
                .replace("{{gid}}", &self.gid.to_string())
                .replace("{{path}}", &std::env::var("PATH").unwrap_or_default())
                .replace(
                    "{{default_file_mode}}",
                    &format!("0{:03o}", 0o666 & !self.umask),
                )
                .replace(
                    "{{default_dir_mode}}",
                    &format!("0{:03o}", 0o777 & !self.umask),
                ),
        )
    }

    fn subst(&self, v: &Value) -> Value {
        match v {
            Value::String(s) => self.subst_str(s),
            Value::Array(a) => Value::Array(a.iter().map(|x| self.subst(x)).collect()),
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, x)| {
                        let k = match self.subst_str(k) {
                            Value::String(s) => s,
                            other => other.to_string(),
                        };
                        (k, self.subst(x))
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    fn path(&self, p: &str) -> PathBuf {
        let p = match self.subst_str(p) {
            Value::String(s) => s,
            other => other.to_string(),
        };
        if p.starts_with('/') {
            PathBuf::from(p)
        } else {
            self.tmp.join(p)
        }
    }
}

/// Content given as a string, `{"hex": …}` or `{"repeat": s, "times": n}`.
fn content_of(v: &Value) -> Result<Vec<u8>, String> {
    match v {
        Value::String(s) => Ok(s.as_bytes().to_vec()),
        Value::Object(m) => {
            if let Some(h) = m.get("hex").and_then(Value::as_str) {
                return hex::decode(h).map_err(|e| format!("bad hex content: {e}"));
            }
            if let (Some(s), Some(n)) = (
                m.get("repeat").and_then(Value::as_str),
                m.get("times").and_then(Value::as_u64),
            ) {
                return Ok(s.repeat(n as usize).into_bytes());
            }
            Err(format!("bad content spec: {v}"))
        }
        _ => Err(format!("bad content spec: {v}")),
    }
}

fn parse_mode(v: &Value) -> Result<u32, String> {
    v.as_str()
        .and_then(|s| u32::from_str_radix(s, 8).ok())
        .ok_or_else(|| format!("bad mode {v}: give an octal string"))
}

fn check_keys(m: &Map<String, Value>, allowed: &[&str], what: &str) -> Result<(), String> {
    for k in m.keys() {
        if !allowed.contains(&k.as_str()) {
            return Err(format!("unknown key {k:?} in {what}"));
        }
    }
    Ok(())
}

fn set_mtime(p: &Path, secs: i64) -> Result<(), String> {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs as u64);
    let f = fs::File::open(p).map_err(|e| format!("open {}: {e}", p.display()))?;
    f.set_times(fs::FileTimes::new().set_modified(t).set_accessed(t))
        .map_err(|e| format!("set times {}: {e}", p.display()))
}

fn setup(env: &Env, entries: &[Value]) -> Result<(), String> {
    for e in entries {
        let m = e.as_object().ok_or("setup entries are objects")?;
        check_keys(
            m,
            &["path", "type", "content", "mode", "target", "mtime"],
            "setup",
        )?;
        let p = env.path(m.get("path").and_then(Value::as_str).ok_or("setup: path")?);
        let ty = m.get("type").and_then(Value::as_str).unwrap_or("file");
        let err = |x: std::io::Error| format!("setup {}: {x}", p.display());
        match ty {
            "file" => {
                let data = match m.get("content") {
                    Some(c) => content_of(&env.subst(c))?,
                    None => Vec::new(),
                };
                fs::write(&p, data).map_err(err)?;
            }
            "directory" => fs::create_dir_all(&p).map_err(err)?,
            "link" => {
                let t = m
                    .get("target")
                    .and_then(Value::as_str)
                    .ok_or("link target")?;
                let t = match env.subst_str(t) {
                    Value::String(s) => s,
                    o => o.to_string(),
                };
                std::os::unix::fs::symlink(t, &p).map_err(err)?;
            }
            "hard" => {
                let t = m
                    .get("target")
                    .and_then(Value::as_str)
                    .ok_or("hard target")?;
                fs::hard_link(env.path(t), &p).map_err(err)?;
            }
            other => return Err(format!("unknown setup type {other}")),
        }
        if let Some(mode) = m.get("mode") {
            fs::set_permissions(&p, fs::Permissions::from_mode(parse_mode(mode)?)).map_err(err)?;
        }
        if let Some(t) = m.get("mtime").and_then(Value::as_i64) {
            set_mtime(&p, t)?;
        }
    }
    Ok(())
}

/// Copies the named fake programs from `tests/fakes/` into `<tmp>/bin`.
fn install_fakes(tmp: &Path, names: &[Value]) -> Result<(), String> {
    let bin = tmp.join("bin");
    fs::create_dir_all(&bin).map_err(|e| format!("fakes: {e}"))?;
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fakes");
    for n in names {
        let n = n.as_str().ok_or("fakes are names")?;
        let dest = bin.join(n);
        fs::copy(src.join(n), &dest).map_err(|e| format!("fake {n}: {e}"))?;
        fs::set_permissions(&dest, fs::Permissions::from_mode(0o755))
            .map_err(|e| format!("fake {n}: {e}"))?;
    }
    Ok(())
}

/// Everything about a tree that a run might change (atime excluded: the
/// snapshot itself reads files).
#[derive(Debug, PartialEq)]
enum Node {
    File {
        mode: u32,
        uid: u32,
        gid: u32,
        mtime: (i64, i64),
        ino: u64,
        content: Vec<u8>,
    },
    Dir {
        mode: u32,
        uid: u32,
        gid: u32,
        mtime: (i64, i64),
    },
    Link {
        target: PathBuf,
        uid: u32,
        gid: u32,
    },
    Other,
}

fn snapshot(root: &Path) -> BTreeMap<PathBuf, Node> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        let Ok(md) = fs::symlink_metadata(&p) else {
            continue;
        };
        let ft = md.file_type();
        let node = if ft.is_symlink() {
            Node::Link {
                target: fs::read_link(&p).unwrap_or_default(),
                uid: md.uid(),
                gid: md.gid(),
            }
        } else if ft.is_dir() {
            if let Ok(rd) = fs::read_dir(&p) {
                stack.extend(rd.filter_map(Result::ok).map(|e| e.path()));
            }
            Node::Dir {
                mode: md.mode() & 0o7777,
                uid: md.uid(),
                gid: md.gid(),
                mtime: (md.mtime(), md.mtime_nsec()),
            }
        } else if ft.is_file() {
            Node::File {
                mode: md.mode() & 0o7777,
                uid: md.uid(),
                gid: md.gid(),
                mtime: (md.mtime(), md.mtime_nsec()),
                ino: md.ino(),
                content: fs::read(&p).unwrap_or_default(),
            }
        } else {
            Node::Other
        };
        out.insert(p, node);
    }
    out
}

fn diff_snapshots(a: &BTreeMap<PathBuf, Node>, b: &BTreeMap<PathBuf, Node>) -> Vec<String> {
    let mut out = Vec::new();
    for (p, n) in a {
        match b.get(p) {
            None => out.push(format!("{} disappeared", p.display())),
            Some(m) if m != n => out.push(format!("{} changed: {n:?} -> {m:?}", p.display())),
            _ => {}
        }
    }
    for p in b.keys() {
        if !a.contains_key(p) {
            out.push(format!("{} appeared", p.display()));
        }
    }
    out
}

/// Matches one expected value (with `<…>` matchers) against the actual.
fn value_matches(expected: &Value, actual: Option<&Value>) -> bool {
    if let Value::String(s) = expected {
        match s.as_str() {
            "<absent>" => return actual.is_none(),
            "<any>" => return actual.is_some(),
            "<number>" => return actual.is_some_and(Value::is_number),
            _ => {}
        }
        if let Some(pre) = s.strip_prefix("<prefix:").and_then(|x| x.strip_suffix('>')) {
            return actual
                .and_then(Value::as_str)
                .is_some_and(|a| a.starts_with(pre));
        }
        if let Some(sub) = s
            .strip_prefix("<contains:")
            .and_then(|x| x.strip_suffix('>'))
        {
            return actual
                .and_then(Value::as_str)
                .is_some_and(|a| a.contains(sub));
        }
    }
    let Some(actual) = actual else {
        return false;
    };
    match (expected, actual) {
        // Nested objects (diffs) match exactly: every key, no extra ones.
        (Value::Object(e), Value::Object(a)) => {
            e.iter().all(|(k, v)| value_matches(v, a.get(k))) && a.keys().all(|k| e.contains_key(k))
        }
        (Value::Array(e), Value::Array(a)) => {
            e.len() == a.len() && e.iter().zip(a).all(|(x, y)| value_matches(x, Some(y)))
        }
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => expected == actual,
    }
}

fn full_result(r: &ModuleResult) -> Map<String, Value> {
    match r.to_json() {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Compares status fields, `msg` and selected keys of a result.
fn check_result(
    what: &str,
    exp: &Map<String, Value>,
    status: Status,
    r: &ModuleResult,
    errs: &mut Vec<String>,
) {
    let json = full_result(r);
    let want_failed = exp.get("failed").and_then(Value::as_bool).unwrap_or(false);
    let failed = matches!(status, Status::Failed | Status::Ignored);
    if failed != want_failed {
        errs.push(format!(
            "{what}: failed={failed}, expected {want_failed}; result: {}",
            Value::Object(json.clone())
        ));
        return;
    }
    if let Some(c) = exp.get("changed").and_then(Value::as_bool) {
        if r.changed != c {
            errs.push(format!(
                "{what}: changed={}, expected {c}; result: {}",
                r.changed,
                Value::Object(json.clone())
            ));
        }
    }
    let want_skipped = exp.get("skipped").and_then(Value::as_bool).unwrap_or(false);
    if r.skipped != want_skipped {
        errs.push(format!(
            "{what}: skipped={}, expected {want_skipped}",
            r.skipped
        ));
    }
    if let Some(m) = exp.get("msg") {
        if !value_matches(m, json.get("msg")) {
            errs.push(format!("{what}: msg {:?}, expected {m}", r.msg));
        }
    }
    if let Some(Value::Object(keys)) = exp.get("result") {
        for (k, v) in keys {
            // `a.b` looks inside nested objects (`stat.mode`), `a.0` inside
            // lists (`files.0.path`).
            let mut parts = k.split('.');
            let first = parts.next().unwrap_or_default();
            let got = parts.try_fold(json.get(first), |cur, p| {
                let cur = cur?;
                Some(match (cur, p.parse::<usize>()) {
                    (Value::Array(a), Ok(i)) => a.get(i),
                    _ => cur.get(p),
                })
            });
            let got = got.flatten();
            if !value_matches(v, got) {
                errs.push(format!(
                    "{what}: result[{k}] = {}, expected {v}",
                    got.map_or("<absent>".to_owned(), Value::to_string)
                ));
            }
        }
    }
}

fn check_fs(env: &Env, fsx: &Map<String, Value>, errs: &mut Vec<String>) -> Result<(), String> {
    for (rel, spec) in fsx {
        let p = env.path(rel);
        let spec = spec.as_object().ok_or("fs entries are objects")?;
        check_keys(
            spec,
            &[
                "type", "content", "mode", "target", "same_as", "nlink", "mtime", "entries", "uid",
                "gid",
            ],
            "fs",
        )?;
        let ty = spec.get("type").and_then(Value::as_str).unwrap_or("file");
        let md = fs::symlink_metadata(&p);
        let name = p.display();
        let actual_ty = match &md {
            Err(_) => "absent",
            Ok(m) if m.file_type().is_symlink() => "link",
            Ok(m) if m.is_dir() => "directory",
            Ok(m) if m.is_file() => "file",
            Ok(_) => "other",
        };
        if actual_ty != ty {
            errs.push(format!("fs {name}: is {actual_ty}, expected {ty}"));
            continue;
        }
        let Ok(md) = md else { continue };
        if let Some(c) = spec.get("content") {
            let want = content_of(c)?;
            let got = fs::read(&p).unwrap_or_default();
            if got != want {
                errs.push(format!(
                    "fs {name}: content {:?}, expected {:?}",
                    String::from_utf8_lossy(&got),
                    String::from_utf8_lossy(&want)
                ));
            }
        }
        if let Some(m) = spec.get("mode") {
            let want = match env.subst(m) {
                v @ Value::String(_) => parse_mode(&v)?,
                other => return Err(format!("bad mode {other}")),
            };
            if md.mode() & 0o7777 != want {
                errs.push(format!(
                    "fs {name}: mode {:04o}, expected {want:04o}",
                    md.mode() & 0o7777
                ));
            }
        }
        if let Some(t) = spec.get("target").and_then(Value::as_str) {
            let want = match env.subst_str(t) {
                Value::String(s) => s,
                o => o.to_string(),
            };
            let got = fs::read_link(&p).map(|x| x.to_string_lossy().into_owned());
            if got.as_deref().ok() != Some(want.as_str()) {
                errs.push(format!("fs {name}: link target {got:?}, expected {want}"));
            }
        }
        if let Some(o) = spec.get("same_as").and_then(Value::as_str) {
            let other = fs::metadata(env.path(o)).map(|m| (m.dev(), m.ino())).ok();
            if other != Some((md.dev(), md.ino())) {
                errs.push(format!("fs {name}: not the same file as {o}"));
            }
        }
        if let Some(n) = spec.get("nlink").and_then(Value::as_u64) {
            if md.nlink() != n {
                errs.push(format!("fs {name}: nlink {}, expected {n}", md.nlink()));
            }
        }
        if let Some(t) = spec.get("mtime").and_then(Value::as_i64) {
            let m = fs::metadata(&p).map(|m| m.mtime()).unwrap_or(-1);
            if m != t {
                errs.push(format!("fs {name}: mtime {m}, expected {t}"));
            }
        }
        for (k, id) in [("uid", md.uid()), ("gid", md.gid())] {
            if let Some(v) = spec.get(k) {
                if env.subst(v).as_u64() != Some(u64::from(id)) {
                    errs.push(format!("fs {name}: {k} {id}, expected {v}"));
                }
            }
        }
        if let Some(Value::Array(e)) = spec.get("entries") {
            let mut want: Vec<String> = e
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect();
            want.sort();
            let mut got: Vec<String> = fs::read_dir(&p)
                .map(|rd| {
                    rd.filter_map(Result::ok)
                        .map(|x| x.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default();
            got.sort();
            if got != want {
                errs.push(format!("fs {name}: entries {got:?}, expected {want:?}"));
            }
        }
    }
    Ok(())
}

fn leftover_temp_files(root: &Path) -> Vec<String> {
    snapshot(root)
        .keys()
        .filter(|p| {
            let n = p
                .file_name()
                .map(|x| x.to_string_lossy().into_owned())
                .unwrap_or_default();
            n.contains(".rustle-") && n.ends_with(".tmp")
        })
        .map(|p| p.display().to_string())
        .collect()
}

fn diff_present(r: &ModuleResult) -> bool {
    match r.extra.get("diff") {
        // Package modules report what they did as `prepared` text.
        Some(Value::Object(m)) => {
            m.contains_key("before") || m.contains_key("after") || m.contains_key("prepared")
        }
        Some(Value::Array(a)) => !a.is_empty(),
        _ => false,
    }
}

// ------------------------------------------------------------- the runner

/// Runs one case; `Ok(None)` when it was skipped (root-only case).
fn run_case(module: &str, case: &Value) -> Result<Option<()>, String> {
    let case = case.as_object().ok_or("a case is a JSON object")?;
    check_keys(
        case,
        &[
            "description",
            "args",
            "assets",
            "setup",
            "setup_sh",
            "check_expect",
            "expect",
            "idempotent",
            "requires_root",
            "environment",
            "teardown",
            "fakes",
            "env",
            "http",
        ],
        "case",
    )?;
    let root_only = case
        .get("requires_root")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if root_only && proc_ids("Uid:") != 0 {
        return Ok(None);
    }
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let tmp = fs::canonicalize(dir.path()).map_err(|e| e.to_string())?;
    let mut env = Env::new(tmp.clone());
    if case.get("http").and_then(Value::as_bool) == Some(true) {
        env.http = http_server::start(tmp.join("www")).map_err(|e| e.to_string())?;
    }
    env.closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| e.to_string())?;
    let mut task_env = BTreeMap::new();
    if let Some(Value::Array(f)) = case.get("fakes") {
        install_fakes(&tmp, f)?;
        let path = std::env::var("PATH").unwrap_or_default();
        task_env.insert("PATH".to_owned(), format!("{}/bin:{path}", tmp.display()));
    }
    if let Some(Value::Object(e)) = case.get("env").map(|v| env.subst(v)) {
        for (k, v) in e {
            let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            task_env.insert(k, v);
        }
    }
    if let Some(Value::Array(s)) = case.get("setup") {
        setup(&env, s)?;
    }
    if let Some(Value::String(script)) = case.get("setup_sh").map(|v| env.subst(v)) {
        let out = std::process::Command::new("/bin/sh")
            .arg("-ec")
            .arg(&script)
            .current_dir(&tmp)
            .output()
            .map_err(|e| format!("setup_sh: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "setup_sh failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    let args = match env.subst(case.get("args").unwrap_or(&Value::Null)) {
        Value::Object(m) => m,
        Value::Null => Map::new(),
        _ => return Err("args is an object".into()),
    };
    let mut task = Task::new(format!("conformance {module}"), module);
    task.args = args;
    task.environment = task_env;
    if let Value::Object(e) = env.subst(case.get("environment").unwrap_or(&Value::Null)) {
        for (k, v) in e {
            let v = match v {
                Value::String(s) => s,
                other => other.to_string(),
            };
            task.environment.insert(k, v);
        }
    }
    let teardown = Teardown {
        tasks: match env.subst(case.get("teardown").unwrap_or(&Value::Null)) {
            Value::Array(a) => a,
            _ => Vec::new(),
        },
    };
    let mut store = BTreeMap::new();
    if let Some(Value::Object(a)) = case.get("assets") {
        for (name, content) in a {
            let data = content_of(content)?;
            let id = AssetId::of(&data);
            store.insert(id, data);
            task.assets.insert(name.clone(), id);
        }
    }
    let source = MemAssets(store);
    let play = PlayPlan {
        name: "conformance".into(),
        tasks: Vec::new(),
        handlers: Vec::new(),
        check_mode: None,
        diff: None,
    };
    let expect = match case.get("expect") {
        Some(Value::Object(m)) => env.subst(&Value::Object(m.clone())),
        _ => return Err("expect is required".into()),
    };
    let expect = expect.as_object().cloned().unwrap_or_default();
    check_keys(
        &expect,
        &[
            "changed", "failed", "skipped", "msg", "result", "diff", "fs",
        ],
        "expect",
    )?;
    let mut check_expect = expect.clone();
    check_expect.remove("result");
    check_expect.remove("msg");
    if let Some(Value::Object(o)) = case.get("check_expect").map(|v| env.subst(v)) {
        check_keys(
            &o,
            &["changed", "failed", "skipped", "msg", "result"],
            "check_expect",
        )?;
        check_expect.extend(o);
    }
    let vars = Map::new();
    let mut errs = Vec::new();

    // 1. Check mode: predicts, touches nothing.
    let before = snapshot(&tmp);
    let opts = RunOptions {
        check: true,
        diff: true,
        verbosity: 0,
    };
    let (st, r) = run_task(&task, &play, &source, &opts, &vars);
    check_result("check mode", &check_expect, st, &r, &mut errs);
    for d in diff_snapshots(&before, &snapshot(&tmp)) {
        errs.push(format!("check mode changed the file system: {d}"));
    }

    // 2. The real run.
    let opts = RunOptions {
        check: false,
        diff: true,
        verbosity: 0,
    };
    let (st, r) = run_task(&task, &play, &source, &opts, &vars);
    check_result("run", &expect, st, &r, &mut errs);
    if let Some(Value::Object(fsx)) = expect.get("fs") {
        check_fs(&env, fsx, &mut errs)?;
    }
    for t in leftover_temp_files(&tmp) {
        errs.push(format!("temporary file left behind: {t}"));
    }
    // 4. A diff when something changed (for modules that produce one).
    let supports_diff = modules::lookup(module).is_some_and(|m| m.capabilities().diff);
    let want_diff = expect.get("diff").and_then(Value::as_bool);
    if st != Status::Failed {
        match want_diff {
            Some(false) if diff_present(&r) => {
                errs.push("run: a diff was returned; Ansible returns none here".into())
            }
            Some(true) if !diff_present(&r) => errs.push("run: no diff returned".into()),
            None if supports_diff && r.changed && !diff_present(&r) => {
                errs.push("run: changed without a diff".into())
            }
            _ => {}
        }
    }

    // 3. Second run: idempotent (or, for touch-like cases, changed again).
    let idempotent = case
        .get("idempotent")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let after_first = snapshot(&tmp);
    let (st2, r2) = run_task(&task, &play, &source, &opts, &vars);
    if st == Status::Failed {
        if st2 != Status::Failed || r2.msg != r.msg {
            errs.push(format!(
                "second run: expected the same failure {:?}, got {st2:?} {:?}",
                r.msg, r2.msg
            ));
        }
    } else if idempotent {
        if r2.changed || st2 == Status::Failed {
            errs.push(format!(
                "second run: not idempotent: {}",
                Value::Object(full_result(&r2))
            ));
        }
        for d in diff_snapshots(&after_first, &snapshot(&tmp)) {
            errs.push(format!("second run changed the file system: {d}"));
        }
    } else if !r2.changed {
        errs.push("second run: expected changed (case is not idempotent)".into());
    }
    drop(teardown);
    if errs.is_empty() {
        Ok(Some(()))
    } else {
        Err(errs.join("\n    "))
    }
}

/// Tasks run when a case ends, however it ends (its `teardown`).
struct Teardown {
    tasks: Vec<Value>,
}

impl Drop for Teardown {
    fn drop(&mut self) {
        let play = PlayPlan {
            name: "teardown".into(),
            tasks: Vec::new(),
            handlers: Vec::new(),
            check_mode: None,
            diff: None,
        };
        let opts = RunOptions {
            check: false,
            diff: false,
            verbosity: 0,
        };
        for t in &self.tasks {
            let module = t.get("module").and_then(Value::as_str).unwrap_or_default();
            let mut task = Task::new("teardown", module);
            if let Some(Value::Object(a)) = t.get("args") {
                task.args = a.clone();
            }
            // Best effort: a failed teardown must not hide the case's result.
            let _ = run_task(
                &task,
                &play,
                &MemAssets(BTreeMap::new()),
                &opts,
                &Map::new(),
            );
        }
    }
}

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases")
}

fn load_cases() -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    let Ok(modules) = fs::read_dir(cases_dir()) else {
        return out;
    };
    let mut mods: Vec<_> = modules.filter_map(Result::ok).map(|e| e.path()).collect();
    mods.sort();
    for m in mods {
        let module = m
            .file_name()
            .map(|x| x.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut files: Vec<_> = fs::read_dir(&m)
            .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort();
        for f in files
            .into_iter()
            .filter(|f| f.extension().is_some_and(|e| e == "json"))
        {
            let name = f
                .file_stem()
                .map(|x| x.to_string_lossy().into_owned())
                .unwrap_or_default();
            let v = fs::read_to_string(&f)
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or_else(|| Value::String(format!("unparsable case file {}", f.display())));
            out.push((module.clone(), name, v));
        }
    }
    out
}

#[test]
fn conformance_cases() {
    let cases = load_cases();
    let mut failures = Vec::new();
    let mut ran = 0;
    let mut skipped = Vec::new();
    for (module, name, case) in &cases {
        match run_case(module, case) {
            Ok(Some(())) => ran += 1,
            Ok(None) => skipped.push(format!("{module}/{name}")),
            Err(e) => failures.push(format!("{module}/{name}:\n    {e}")),
        }
    }
    if !skipped.is_empty() {
        eprintln!("skipped (need root): {}", skipped.join(", "));
    }
    assert!(
        failures.is_empty(),
        "{} of {} conformance cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert!(ran > 0, "no conformance case ran");
}

#[test]
fn enough_cases_per_module() {
    let cases = load_cases();
    let count = |m: &str| cases.iter().filter(|(x, _, _)| x == m).count();
    assert!(count("file") >= 15, "file has {} cases", count("file"));
    assert!(count("copy") >= 12, "copy has {} cases", count("copy"));
    for m in [
        "command",
        "shell",
        "stat",
        "lineinfile",
        "blockinfile",
        "replace",
        "slurp",
        "assemble",
        "ini_file",
        "user",
        "group",
        "known_hosts",
        "authorized_key",
        "cron",
        "systemd",
        "systemd_service",
        "sysvinit",
        "service",
        "service_facts",
        "sysctl",
        "pam_limits",
        "mount",
        "hostname",
        "timezone",
        "uri",
        "get_url",
        "find",
        "wait_for",
        "unarchive",
    ] {
        assert!(count(m) >= 2, "{m} has {} cases", count(m));
    }
    for (m, _, _) in &cases {
        assert!(modules::lookup(m).is_some(), "cases for unknown module {m}");
    }
}

/// Corrupts one expectation of a case.
type Mutation = fn(&mut Value);

/// The harness itself must be able to fail: corrupting any one
/// expectation of a passing case makes it fail.
#[test]
fn harness_detects_wrong_expectations() {
    let cases = load_cases();
    let find = |m: &str, n: &str| {
        cases
            .iter()
            .find(|(x, y, _)| x == m && y == n)
            .map(|(_, _, v)| v.clone())
            .unwrap_or(Value::Null)
    };
    let base = find("copy", "content_new_file");
    assert!(run_case("copy", &base).is_ok(), "base case must pass");
    let mutations: Vec<(&str, Mutation)> = vec![
        ("changed", |v| v["expect"]["changed"] = false.into()),
        ("check changed", |v| {
            v["check_expect"] = serde_json::json!({"changed": false})
        }),
        ("failed", |v| v["expect"]["failed"] = true.into()),
        ("result key", |v| {
            v["expect"]["result"]["checksum"] = "0000".into()
        }),
        ("fs content", |v| {
            v["expect"]["fs"]["a.txt"]["content"] = "other".into()
        }),
        ("fs mode", |v| {
            v["expect"]["fs"]["a.txt"]["mode"] = "0600".into()
        }),
        ("fs type", |v| {
            v["expect"]["fs"]["a.txt"]["type"] = "directory".into()
        }),
        ("not idempotent", |v| v["idempotent"] = false.into()),
        ("no diff", |v| v["expect"]["diff"] = false.into()),
        ("fs entries", |v| {
            v["expect"]["fs"]["."]["entries"] = serde_json::json!(["a.txt", "b"])
        }),
        ("diff content", |v| {
            v["expect"]["result"]["diff"][0]["after"] = "hello".into()
        }),
    ];
    for (what, mutate) in mutations {
        let mut c = base.clone();
        mutate(&mut c);
        assert!(
            run_case("copy", &c).is_err(),
            "corrupting {what} went unnoticed"
        );
    }
    // A failing case with the wrong message is caught.
    let fail = find("file", "file_absent_fails");
    assert!(run_case("file", &fail).is_ok(), "failing case must pass");
    let mut f = fail.clone();
    f["expect"]["msg"] = "something else".into();
    assert!(run_case("file", &f).is_err(), "wrong msg went unnoticed");
    // Touch is never idempotent; claiming it is must fail.
    let touch = find("file", "touch_new");
    assert!(run_case("file", &touch).is_ok(), "touch case must pass");
    let mut t = touch.clone();
    t["idempotent"] = true.into();
    assert!(run_case("file", &t).is_err(), "touch is not idempotent");
}

#[test]
fn snapshot_sees_every_kind_of_change() -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let root = dir.path();
    let f = root.join("f");
    fs::write(&f, b"a").map_err(|e| e.to_string())?;
    let s0 = snapshot(root);
    assert!(diff_snapshots(&s0, &snapshot(root)).is_empty());
    fs::write(&f, b"b").map_err(|e| e.to_string())?;
    assert!(!diff_snapshots(&s0, &snapshot(root)).is_empty(), "content");
    let s1 = snapshot(root);
    fs::set_permissions(&f, fs::Permissions::from_mode(0o600)).map_err(|e| e.to_string())?;
    assert!(!diff_snapshots(&s1, &snapshot(root)).is_empty(), "mode");
    let s2 = snapshot(root);
    set_mtime(&f, 1_000_000)?;
    assert!(!diff_snapshots(&s2, &snapshot(root)).is_empty(), "mtime");
    let s3 = snapshot(root);
    std::os::unix::fs::symlink("f", root.join("l")).map_err(|e| e.to_string())?;
    assert!(!diff_snapshots(&s3, &snapshot(root)).is_empty(), "new link");
    Ok(())
}
