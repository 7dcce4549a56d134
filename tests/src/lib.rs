//! Helpers for the end-to-end tests: locating the workspace's binaries
//! (built by `cargo test --workspace`, or built here on demand), test keys,
//! and running commands with captured output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

use rustle_bundle::SecretKey;

pub mod differential;

/// The workspace root (this crate lives in `<root>/tests`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// `target/<profile>` of the running test binary.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    // target/<profile>/deps/<test-binary>
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| workspace_root().join("target/debug"))
}

static BUILT: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Path to a workspace binary, (re)built once per test process with cargo
/// so that a test never runs a stale binary (a no-op when up to date).
pub fn bin(name: &str) -> PathBuf {
    let path = profile_dir().join(name);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if !built.iter().any(|b| b == name) {
        let release = profile_dir().file_name().is_some_and(|n| n == "release");
        let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cmd.current_dir(workspace_root())
            // All the workspace's binaries at once: built alone, a binary's
            // dependencies get other features than in `cargo test
            // --workspace` and are compiled again (minutes per test binary).
            .args(["build", "--quiet", "--workspace", "--bins"]);
        if release {
            cmd.arg("--release");
        }
        let st = cmd.status().expect("run cargo build");
        assert!(st.success(), "cargo build --bin {name} failed");
        built.push(name.to_owned());
    }
    path
}

/// The fixed key the tests sign with (never used outside tests).
pub fn test_key() -> SecretKey {
    SecretKey::from_seed([42u8; 32])
}

/// Writes the test key's public half to `dir/test.pub` and returns the path.
pub fn write_test_pub(dir: &Path) -> PathBuf {
    let p = dir.join("test.pub");
    std::fs::write(&p, format!("{}\n", test_key().public().to_line("test")))
        .expect("write test.pub");
    p
}

/// Captured result of a command.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// Runs `program args...` in `cwd`, capturing output.
pub fn run(program: &Path, args: &[&str], cwd: &Path) -> Run {
    Command::new(program)
        .args(args)
        .current_dir(cwd)
        .env_remove("RUSTLE_TRUST_FILE")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()))
        .into()
}

/// The `PLAY RECAP` counters of a host in `stdout`, e.g. `ok=3 changed=1 ...`.
pub fn recap_line(stdout: &str, host: &str) -> Option<String> {
    let after = stdout.split("PLAY RECAP").nth(1)?;
    after
        .lines()
        .find(|l| l.starts_with(host) && l.contains(" : "))
        .map(|l| {
            l.split(" : ")
                .nth(1)
                .unwrap_or_default()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
}

/// Snapshot of a directory tree: relative path → (kind, mode, content).
pub fn tree(dir: &Path) -> Vec<(String, String)> {
    use std::os::unix::fs::MetadataExt;
    let mut out = Vec::new();
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<_> = rd.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let p = e.path();
            let rel = p.strip_prefix(base).unwrap_or(&p).display().to_string();
            let Ok(md) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            let desc = if md.file_type().is_symlink() {
                format!(
                    "link -> {}",
                    std::fs::read_link(&p).unwrap_or_default().display()
                )
            } else if md.is_dir() {
                format!("dir {:o}", md.mode() & 0o7777)
            } else {
                let data = std::fs::read(&p).unwrap_or_default();
                format!(
                    "file {:o} {}",
                    md.mode() & 0o7777,
                    String::from_utf8_lossy(&data)
                )
            };
            out.push((rel, desc));
            if md.is_dir() {
                walk(base, &p, out);
            }
        }
    }
    walk(dir, dir, &mut out);
    out
}
