//! The static release runners (built by `release/build.sh` into
//! `dist/runners/<triple>/rustle-runner`) apply a real signed bundle; the
//! aarch64 ones run under `qemu-aarch64-static`.
//!
//! Runs when `RUSTLE_STATIC_RUNNERS` names the directory of built runners
//! (tests/run.sh sets it after building them); then every triple named by
//! `RUSTLE_RUNNER_TARGETS` (comma-separated; all four when unset) must be
//! present. Without the variable the test says so and passes vacuously,
//! so that a plain `cargo test` does not need cross toolchains.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::path::{Path, PathBuf};
use std::process::Command;

use rustle_bundle::{BundleBuilder, HostPlan, Plan, PlayPlan, Task};
use rustle_e2e::{recap_line, test_key, tree, write_test_pub, Run};

const TRIPLES: &[&str] = &[
    "x86_64-unknown-linux-musl",
    "aarch64-unknown-linux-musl",
    "x86_64-unknown-linux-gnu",
    "aarch64-unknown-linux-gnu",
];

fn bundle(dir: &Path) -> PathBuf {
    // Relative paths: the runner resolves them against its working directory.
    let mut b = BundleBuilder::new(Plan::new("static"));
    let big: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
    let asset = b.add_asset(big);
    let tasks = vec![
        Task::new("dir", "file")
            .arg("path", "out")
            .arg("state", "directory"),
        Task::new("copy", "copy")
            .arg("dest", "out/data.bin")
            .asset("src", asset),
        Task::new("content", "copy")
            .arg("dest", "out/hello.txt")
            .arg("content", "hello\n")
            .arg("mode", "0640"),
        Task::new("cmd", "command")
            .arg("_raw_params", "touch out/ran")
            .arg("creates", "out/ran"),
        Task::new("stat", "stat").arg("path", "out/data.bin"),
    ];
    b.plan_mut().hosts.push(HostPlan {
        name: "localhost".into(),
        plays: vec![PlayPlan {
            name: "static runner smoke".into(),
            tasks,
            handlers: vec![],
            check_mode: None,
            diff: None,
        }],
    });
    let p = dir.join("smoke.rsl");
    b.write_to(&p, Some(&test_key()), None).unwrap();
    p
}

fn apply(runner: &Path, triple: &str, bundle: &Path, key: &Path, cwd: &Path) -> Run {
    let mut cmd = if triple.starts_with("aarch64") && !cfg!(target_arch = "aarch64") {
        let mut c = Command::new("qemu-aarch64-static");
        c.arg(runner);
        c
    } else {
        Command::new(runner)
    };
    cmd.arg("apply")
        .arg(bundle)
        .arg("--trust")
        .arg(key)
        .current_dir(cwd)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", runner.display()))
        .into()
}

#[test]
fn every_static_runner_applies_a_bundle() {
    let Some(dir) = std::env::var_os("RUSTLE_STATIC_RUNNERS") else {
        eprintln!("RUSTLE_STATIC_RUNNERS not set: static runners not checked here");
        return;
    };
    let dir = PathBuf::from(dir);
    let work = tempfile::tempdir().unwrap();
    let b = bundle(work.path());
    let key = write_test_pub(work.path());
    let wanted = std::env::var("RUSTLE_RUNNER_TARGETS").ok();
    let triples: Vec<&str> = match &wanted {
        Some(list) => list.split(',').filter(|t| !t.is_empty()).collect(),
        None => TRIPLES.to_vec(),
    };
    for t in &triples {
        assert!(
            TRIPLES.contains(t),
            "unknown target {t} in RUSTLE_RUNNER_TARGETS"
        );
    }
    for triple in triples {
        let runner = dir.join(triple).join("rustle-runner");
        assert!(runner.exists(), "{} is missing", runner.display());
        let cwd = work.path().join(triple);
        std::fs::create_dir(&cwd).unwrap();
        let r = apply(&runner, triple, &b, &key, &cwd);
        assert_eq!(r.code, 0, "{triple}: {}\n{}", r.stdout, r.stderr);
        assert_eq!(
            recap_line(&r.stdout, "localhost").as_deref(),
            Some("ok=5 changed=4 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"),
            "{triple}: {}",
            r.stdout
        );
        let data = std::fs::read(cwd.join("out/data.bin")).unwrap();
        assert_eq!(data.len(), 800_000, "{triple}");
        let t = tree(&cwd);
        assert!(
            t.iter()
                .any(|(p, d)| p == "out/hello.txt" && d == "file 640 hello\n"),
            "{triple}: {t:?}"
        );
        let r = apply(&runner, triple, &b, &key, &cwd);
        assert_eq!(r.code, 0, "{triple}: {}", r.stderr);
        assert!(r.stdout.contains("changed=0"), "{triple}: {}", r.stdout);
    }
}
