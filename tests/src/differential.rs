//! Differential cases: small playbooks run through both `ansible-playbook`
//! and `rustle playbook`, comparing exit code and output.
//!
//! A case is a directory holding `site.yml`, optionally an `inventory` file
//! (passed as `-i inventory`), any other files the playbook reads, and an
//! optional `case.json`:
//!
//! ```json
//! {"args": ["-e", "x=1"], "env": {"K": "V"}, "env_remove": ["ANSIBLE_NOCOLOR"]}
//! ```
//!
//! (`env_remove` drops variables the harness sets by default, so that a
//! case's `ansible.cfg` can decide them.)
//!
//! A `stdin` file in the case is fed to the program's standard input
//! (answers to `--step`); otherwise the input is empty.
//!
//! Each run happens in a private copy of the case directory (also the
//! working directory, so an `ansible.cfg` there is used); that path is
//! replaced by `$CASE` in the output. At `-vv` both programs open with a
//! version block naming the program, its version and its install paths:
//! it is replaced by a marker in both outputs (see [`mask_version_block`]).
//!
//! Cases whose `env` selects the json stdout callback
//! (`ANSIBLE_STDOUT_CALLBACK=json`) print ids and times that change from
//! run to run: in their output, on both sides, every UUID-shaped id becomes
//! `<UUID>` and every ISO-8601 UTC time (`2024-01-31T12:00:00.123456Z`)
//! becomes `<TIME>` (see `mask_run_specific`). That callback comes from the
//! ansible.posix collection, which `tests/setup.sh` puts in the venv's
//! `collections` directory; Ansible runs get it as
//! `ANSIBLE_COLLECTIONS_PATH`. What Ansible printed is recorded in
//! `expected.json` (`RUSTLE_RECORD=1 cargo test -p rustle-e2e --test
//! <suite>`) together with a digest of the case's files (`inputs`).
//!
//! Every run checks that each recording's `inputs` digest is the digest of
//! the case as it is now, so a case edited without re-recording fails.
//! Re-running Ansible on all cases to check the recordings themselves is
//! slow (about seven minutes for the two suites on two cores), so it runs
//! when `RUSTLE_VERIFY_RECORDINGS=1` is set (`tests/run.sh
//! --verify-recordings`); `RUSTLE_VERIFY_RECORDINGS=prefix[,prefix]`
//! re-checks only the cases whose names start so.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde_json::{json, Value as Json};
use sha2::{Digest, Sha256};

use crate::{workspace_root, Run};

/// Which streams a suite compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Streams {
    /// Exit code and stdout (the default callback's output).
    Stdout,
    /// Exit code, stdout and stderr (errors and warnings).
    All,
}

/// One case directory.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    pub dir: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    env_remove: Vec<String>,
}

/// The cases of a suite (`tests/data/<suite>/<case>/`), sorted by name.
pub fn cases(suite: &str) -> Vec<Case> {
    let root = workspace_root().join("tests/data").join(suite);
    let mut out = Vec::new();
    for e in std::fs::read_dir(&root).expect("read suite dir") {
        let dir = e.expect("dir entry").path();
        if !dir.join("site.yml").exists() {
            continue;
        }
        let spec: Json = std::fs::read_to_string(dir.join("case.json"))
            .map(|t| serde_json::from_str(&t).expect("case.json is JSON"))
            .unwrap_or_else(|_| json!({}));
        let strs = |v: &Json| -> Vec<String> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let env = spec["env"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        out.push(Case {
            name: dir
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned(),
            args: strs(&spec["args"]),
            env_remove: strs(&spec["env_remove"]),
            env,
            dir,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    // `RUSTLE_CASES=prefix[,prefix]` narrows a run while working on cases.
    if let Ok(only) = std::env::var("RUSTLE_CASES") {
        out.retain(|c| only.split(',').any(|p| c.name.starts_with(p)));
    }
    out
}

impl Case {
    /// The case selects the json stdout callback (its output is masked).
    pub fn uses_json_callback(&self) -> bool {
        self.env.iter().any(|(k, v)| {
            k == "ANSIBLE_STDOUT_CALLBACK" && matches!(v.as_str(), "json" | "ansible.posix.json")
        })
    }
}

/// The venv's collections directory (where `tests/setup.sh` puts
/// ansible.posix), given to Ansible as `ANSIBLE_COLLECTIONS_PATH`.
fn collections_dir(venv: &Path) -> PathBuf {
    venv.join("collections")
}

/// Refuses to record or check json-callback cases with a venv that lacks
/// the ansible.posix collection (Ansible would fall back to an error, and
/// the comparison would mean nothing).
fn require_posix_collection(venv: &Path, cases: &[Case]) {
    let cb =
        collections_dir(venv).join("ansible_collections/ansible/posix/plugins/callback/json.py");
    let json_cases: Vec<&str> = cases
        .iter()
        .filter(|c| c.uses_json_callback())
        .map(|c| c.name.as_str())
        .collect();
    assert!(
        json_cases.is_empty() || cb.exists(),
        "cases {json_cases:?} use the json stdout callback, but {} is missing: run tests/setup.sh to add the ansible.posix collection to the venv",
        cb.display()
    );
}

/// The recording key holding the digest of the case's files.
const INPUTS_KEY: &str = "inputs";

/// A digest of everything in the case directory except the recording:
/// relative paths, file contents and symlink targets, in name order.
pub fn inputs_digest(case: &Case) -> String {
    fn walk(root: &Path, dir: &Path, h: &mut Sha256) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .expect("read case dir")
            .map(|e| e.expect("dir entry"))
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let path = e.path();
            let rel = path.strip_prefix(root).expect("inside the case");
            if rel == Path::new("expected.json") {
                continue;
            }
            let ty = e.file_type().expect("file type");
            let (kind, body) = if ty.is_symlink() {
                let to = std::fs::read_link(&path).expect("readlink");
                ("l", to.display().to_string().into_bytes())
            } else if ty.is_dir() {
                ("d", Vec::new())
            } else {
                ("f", std::fs::read(&path).expect("read case file"))
            };
            h.update(format!("{kind} {} {}\0", rel.display(), body.len()));
            h.update(&body);
            if ty.is_dir() {
                walk(root, &path, h);
            }
        }
    }
    let mut h = Sha256::new();
    walk(&case.dir, &case.dir, &mut h);
    hex::encode(h.finalize())
}

/// The recording of a case (without its `inputs` digest), if any.
fn recording(case: &Case) -> Option<(Json, Option<String>)> {
    let mut rec: Json = std::fs::read_to_string(case.dir.join("expected.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())?;
    let inputs = rec
        .as_object_mut()
        .and_then(|m| m.remove(INPUTS_KEY))
        .and_then(|v| v.as_str().map(str::to_owned));
    Some((rec, inputs))
}

/// Runs one case with the venv's `ansible-playbook`.
fn run_ansible(case: &Case, venv: &Path, streams: Streams) -> Json {
    let mut case = case.clone();
    case.env.insert(
        0,
        (
            "ANSIBLE_COLLECTIONS_PATH".to_owned(),
            collections_dir(venv).display().to_string(),
        ),
    );
    run_case(&case, &venv.join("bin/ansible-playbook"), &[], streams)
}

/// Masks what differs from run to run in json callback output: UUID-shaped
/// ids (8-4-4-4-12 hex digits) become `<UUID>`, ISO-8601 UTC times
/// (`YYYY-MM-DDTHH:MM:SS[.ffffff]Z`) become `<TIME>`.
pub fn mask_run_specific(s: &str) -> String {
    fn hex_run(b: &[u8], at: usize, n: usize) -> bool {
        b.len() >= at + n && b[at..at + n].iter().all(u8::is_ascii_hexdigit)
    }
    fn digits(b: &[u8], at: usize, n: usize) -> bool {
        b.len() >= at + n && b[at..at + n].iter().all(u8::is_ascii_digit)
    }
    fn uuid_len(b: &[u8], i: usize) -> Option<usize> {
        let mut at = i;
        for (k, n) in [8, 4, 4, 4, 12].into_iter().enumerate() {
            if !hex_run(b, at, n) {
                return None;
            }
            at += n;
            if k < 4 {
                if b.get(at) != Some(&b'-') {
                    return None;
                }
                at += 1;
            }
        }
        Some(at - i)
    }
    fn time_len(b: &[u8], i: usize) -> Option<usize> {
        let shape = [
            (4, b'-'),
            (2, b'-'),
            (2, b'T'),
            (2, b':'),
            (2, b':'),
            (2, 0),
        ];
        let mut at = i;
        for (n, sep) in shape {
            if !digits(b, at, n) {
                return None;
            }
            at += n;
            if sep != 0 {
                if b.get(at) != Some(&sep) {
                    return None;
                }
                at += 1;
            }
        }
        if b.get(at) == Some(&b'.') {
            at += 1;
            while b.get(at).is_some_and(u8::is_ascii_digit) {
                at += 1;
            }
        }
        (b.get(at) == Some(&b'Z')).then_some(at + 1 - i)
    }
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut plain = 0;
    while i < b.len() {
        let hit = uuid_len(b, i)
            .map(|n| (n, "<UUID>"))
            .or_else(|| time_len(b, i).map(|n| (n, "<TIME>")));
        match hit {
            Some((n, marker)) => {
                out.push_str(&s[plain..i]);
                out.push_str(marker);
                i += n;
                plain = i;
            }
            None => i += 1,
        }
    }
    out.push_str(&s[plain..]);
    out
}

/// The ansible venv (`RUSTLE_ANSIBLE_VENV`, else `.venv` at the workspace
/// root), if it has `ansible-playbook`.
pub fn ansible_venv() -> Option<PathBuf> {
    let venv = std::env::var_os("RUSTLE_ANSIBLE_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv"));
    venv.join("bin/ansible-playbook").exists().then_some(venv)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read case dir") {
        let e = e.expect("dir entry");
        let target = to.join(e.file_name());
        let ty = e.file_type().expect("file type");
        if ty.is_dir() {
            copy_dir(&e.path(), &target);
        } else if ty.is_symlink() {
            let link = std::fs::read_link(e.path()).expect("readlink");
            std::os::unix::fs::symlink(link, &target).expect("symlink");
        } else if e.file_name() != "expected.json" {
            std::fs::copy(e.path(), &target).expect("copy");
        }
    }
}

/// Runs one case with `program` (plus leading `prefix` args, e.g.
/// `playbook`) and returns the normalised result as recorded.
pub fn run_case(case: &Case, program: &Path, prefix: &[&str], streams: Streams) -> Json {
    let tmp = tempfile::tempdir().expect("tempdir");
    let work = tmp.path().join("case");
    copy_dir(&case.dir, &work);
    let work = work.canonicalize().expect("canonical case dir");
    let mut cmd = Command::new(program);
    cmd.args(prefix);
    if work.join("inventory").exists() {
        cmd.args(["-i", "inventory"]);
    }
    cmd.args(&case.args).arg("site.yml").current_dir(&work);
    cmd.env_remove("ANSIBLE_CONFIG")
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_FORCE_COLOR", "0")
        .env("ANSIBLE_RETRY_FILES_ENABLED", "false")
        .env("ANSIBLE_DEPRECATION_WARNINGS", "false")
        .env("ANSIBLE_HOST_KEY_CHECKING", "false")
        .env("ANSIBLE_LOCAL_TEMP", tmp.path().join("ansible-local"))
        .env("ANSIBLE_REMOTE_TEMP", tmp.path().join("ansible-remote"))
        .env("CASE_DIR", &work);
    for k in &case.env_remove {
        cmd.env_remove(k);
    }
    for (k, v) in &case.env {
        cmd.env(k, v);
    }
    // A case's `stdin` file is what the terminal would type (`--step`).
    let input = std::fs::read(case.dir.join("stdin")).unwrap_or_default();
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {}: {e}", program.display()));
    if let Some(mut si) = child.stdin.take() {
        use std::io::Write;
        // The program may exit before reading it all.
        let _ = si.write_all(&input);
    }
    let run: Run = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("run {}: {e}", program.display()))
        .into();
    let path = work.display().to_string();
    let json_cb = case.uses_json_callback();
    let norm = |s: &str| {
        let s = mask_async_jids(&mask_version_block(&s.replace(&path, "$CASE")));
        if json_cb {
            mask_run_specific(&s)
        } else {
            s
        }
    };
    let mut out = json!({"rc": run.code, "stdout": norm(&run.stdout)});
    if streams == Streams::All {
        out["stderr"] = Json::String(norm(&run.stderr));
    }
    out
}

/// Async job ids are random (`jid=j123.456`, `"ansible_job_id":
/// "j123.456"`, `~/.ansible_async/j123.456`): every `j<digits>.<digits>`
/// not preceded by a letter, digit or `_` becomes `<JID>`.
pub fn mask_async_jids(s: &str) -> String {
    let b = s.as_bytes();
    let digits = |at: usize| b[at..].iter().take_while(|c| c.is_ascii_digit()).count();
    let mut out = String::with_capacity(s.len());
    let (mut i, mut plain) = (0, 0);
    while i < b.len() {
        let starts =
            b[i] == b'j' && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'));
        if starts {
            let a = digits(i + 1);
            let dot = i + 1 + a;
            if a > 0 && b.get(dot) == Some(&b'.') {
                let n = digits(dot + 1);
                if n > 0 {
                    out.push_str(&s[plain..i]);
                    out.push_str("<JID>");
                    i = dot + 1 + n;
                    plain = i;
                    continue;
                }
            }
        }
        i += 1;
    }
    out.push_str(&s[plain..]);
    out
}

/// The other masking besides `$CASE`: at `-vv` both programs open with a
/// version block (`ansible-playbook [core 2.18.19]` and its install
/// paths; `rustle-playbook [rustle ...]` and its own), which cannot be
/// identical. When the output starts with one, everything before the
/// config-file line (`No config file found; using defaults` or
/// `Using ... as config file`) becomes `<version block>`. Colour codes
/// around the lines are looked through.
pub fn mask_version_block(out: &str) -> String {
    fn plain(line: &str) -> &str {
        let l = line
            .strip_prefix("\x1b[")
            .map_or(line, |rest| rest.find('m').map_or(line, |i| &rest[i + 1..]));
        l.strip_suffix("\x1b[0m").unwrap_or(l)
    }
    let lines: Vec<&str> = out.split_inclusive('\n').collect();
    let Some(first) = lines.first() else {
        return out.to_owned();
    };
    let first = plain(first.trim_end_matches('\n'));
    if !(first.starts_with("ansible-playbook [") || first.starts_with("rustle-playbook [")) {
        return out.to_owned();
    }
    let Some(end) = lines.iter().position(|l| {
        let l = plain(l.trim_end_matches('\n'));
        l == "No config file found; using defaults"
            || (l.starts_with("Using ") && l.ends_with(" as config file"))
    }) else {
        return out.to_owned();
    };
    format!("<version block>\n{}", lines[end..].concat())
}

/// Runs `f` over every case on a few threads; returns the results in case
/// order.
pub fn par_map<T: Send>(cases: &[Case], f: impl Fn(&Case) -> T + Sync) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<T>>> = Mutex::new((0..cases.len()).map(|_| None).collect());
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(2, 8);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(case) = cases.get(i) else { break };
                let r = f(case);
                results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|r| r.expect("every case ran"))
        .collect()
}

/// A readable report of where two recordings differ.
pub fn describe_difference(name: &str, ours: &Json, want: &Json) -> Option<String> {
    if ours == want {
        return None;
    }
    let mut out = format!("=== {name}\n");
    if ours["rc"] != want["rc"] {
        out += &format!("exit code: ours {} ansible {}\n", ours["rc"], want["rc"]);
    }
    for stream in ["stdout", "stderr"] {
        let (a, b) = (
            ours[stream].as_str().unwrap_or_default(),
            want[stream].as_str().unwrap_or_default(),
        );
        if a == b {
            continue;
        }
        let (al, bl): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
        let first = al
            .iter()
            .zip(&bl)
            .position(|(x, y)| x != y)
            .unwrap_or(al.len().min(bl.len()));
        let from = first.saturating_sub(3);
        out += &format!("{stream} differs from line {}:\n--- ours\n", first + 1);
        for l in al.iter().skip(from).take(12) {
            out += &format!("  {l}\n");
        }
        out += "--- ansible\n";
        for l in bl.iter().skip(from).take(12) {
            out += &format!("  {l}\n");
        }
    }
    Some(out)
}

/// The whole differential check of a suite: compares rustle with the
/// recordings; with `RUSTLE_RECORD=1` (re)records them from Ansible first.
pub fn check_suite(suite: &str, streams: Streams, rustle: &Path, min_cases: usize) {
    let cases = cases(suite);
    if std::env::var_os("RUSTLE_RECORD").is_some() {
        let venv = ansible_venv().expect("RUSTLE_RECORD needs the ansible venv");
        require_posix_collection(&venv, &cases);
        par_map(&cases, |c| {
            let mut rec = run_ansible(c, &venv, streams);
            rec[INPUTS_KEY] = Json::String(inputs_digest(c));
            let text = serde_json::to_string_pretty(&rec).expect("json") + "\n";
            std::fs::write(c.dir.join("expected.json"), text).expect("write expected.json");
        });
    }
    let failures: Vec<String> = par_map(&cases, |c| {
        let want = recording(c).map_or_else(
            || json!({"missing": "expected.json (record with RUSTLE_RECORD=1)"}),
            |(rec, _)| rec,
        );
        let ours = run_case(c, rustle, &["playbook"], streams);
        describe_difference(&c.name, &ours, &want)
    })
    .into_iter()
    .flatten()
    .collect();
    assert!(
        failures.is_empty(),
        "{}/{} cases differ from ansible-playbook:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert!(
        cases.len() >= min_cases || std::env::var_os("RUSTLE_CASES").is_some(),
        "suite {suite}: only {} cases",
        cases.len()
    );
}

/// Checks every recording was made from the case as it is now (its
/// `inputs` digest) and, with `RUSTLE_VERIFY_RECORDINGS`, re-runs Ansible
/// on the cases to check the recordings are what it prints now.
pub fn check_recordings(suite: &str, streams: Streams) {
    if std::env::var_os("RUSTLE_RECORD").is_some() {
        return;
    }
    let cases = cases(suite);
    let changed: Vec<String> = cases
        .iter()
        .filter_map(|c| match recording(c) {
            None => Some(format!("{}: no expected.json", c.name)),
            Some((_, None)) => Some(format!("{}: the recording has no inputs digest", c.name)),
            Some((_, Some(d))) if d != inputs_digest(c) => Some(format!(
                "{}: the case changed after it was recorded",
                c.name
            )),
            Some(_) => None,
        })
        .collect();
    assert!(
        changed.is_empty(),
        "re-record these cases with RUSTLE_RECORD=1 RUSTLE_CASES=<name>:\n{}",
        changed.join("\n")
    );
    let Ok(only) = std::env::var("RUSTLE_VERIFY_RECORDINGS") else {
        return;
    };
    let venv = ansible_venv().expect("RUSTLE_VERIFY_RECORDINGS needs the ansible venv");
    let cases: Vec<Case> = cases
        .into_iter()
        .filter(|c| only == "1" || only.split(',').any(|p| c.name.starts_with(p)))
        .collect();
    require_posix_collection(&venv, &cases);
    let stale: Vec<String> = par_map(&cases, |c| {
        let want = recording(c).map_or(Json::Null, |(rec, _)| rec);
        let now = run_ansible(c, &venv, streams);
        describe_difference(&c.name, &want, &now)
    })
    .into_iter()
    .flatten()
    .collect();
    assert!(
        stale.is_empty(),
        "recordings differ from what ansible-playbook prints now (re-record with RUSTLE_RECORD=1):\n\n{}",
        stale.join("\n")
    );
}

#[cfg(test)]
mod tests {
    use super::mask_run_specific;

    #[test]
    fn masks_ids_and_times_only() {
        let s = r#""id": "02fc0000-0001-028e-a954-00000000000a", "end": "2026-11-26T07:52:27.069821Z", "t": "2026-11-26T07:52:27Z", "d": "2026-11-26 07:52:27.1", "x": "02fc0000-0001""#;
        assert_eq!(
            mask_run_specific(s),
            r#""id": "<UUID>", "end": "<TIME>", "t": "<TIME>", "d": "2026-11-26 07:52:27.1", "x": "02fc0000-0001""#
        );
    }
}
