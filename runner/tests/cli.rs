//! The runner's command-line behaviour, pinned: stdout, stderr and exit
//! code of each case as an insta snapshot.

use std::path::Path;
use std::process::Command;

use rustle_bundle::{BundleBuilder, HostPlan, Plan, PlayPlan, SecretKey, Task};

fn key() -> SecretKey {
    SecretKey::from_seed([42u8; 32])
}

fn runner(args: &[&str], cwd: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_rustle-runner"))
        .args(args)
        .current_dir(cwd)
        .env("HOME", cwd)
        .output()
        .expect("run rustle-runner");
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn bundle(dir: &Path, tasks: Vec<Task>, handlers: Vec<Task>) -> String {
    let mut plan = Plan::new("cli.yml");
    plan.hosts.push(HostPlan {
        name: "localhost".into(),
        plays: vec![PlayPlan {
            name: "CLI test play".into(),
            tasks,
            handlers,
            check_mode: None,
            diff: None,
        }],
    });
    let p = dir.join("b.rsl");
    BundleBuilder::new(plan)
        .write_to(&p, Some(&key()), None)
        .expect("write");
    std::fs::write(dir.join("k.pub"), key().public().to_line("t")).expect("pub");
    p.display().to_string()
}

fn settings(dir: &Path) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(&regex_escape(&dir.display().to_string()), "[TMP]");
    s.add_filter(r"rustle-runner \d+\.\d+\.\d+", "rustle-runner [VERSION]");
    s.add_filter(r#""(start|end|delta)": "[^"]*""#, r#""$1": "[TIME]""#);
    s
}

fn regex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn sample_tasks(dir: &Path) -> (Vec<Task>, Vec<Task>) {
    let marker = dir.join("marker").display().to_string();
    let tasks = vec![
        Task::new("say hello", "debug").arg("msg", "hello from rustle"),
        Task::new("", "ansible.builtin.debug"),
        Task::new("create marker", "command")
            .arg("_raw_params", format!("touch {marker}"))
            .arg("creates", marker.clone()),
        Task {
            register: Some("st".into()),
            notify: vec!["announce".into()],
            ..Task::new("stat marker", "stat").arg("path", marker.clone())
        },
        Task::new("show registered", "debug").arg("var", "st.stat.exists"),
        Task::new("too verbose", "debug")
            .arg("msg", "hidden")
            .arg("verbosity", 2),
        Task {
            ignore_errors: true,
            ..Task::new("tolerated failure", "command").arg("argv", vec!["false"])
        },
        Task {
            notify: vec!["announce".into()],
            ..Task::new("changes and notifies", "shell").arg("_raw_params", "exit 0")
        },
    ];
    let handlers = vec![Task::new("announce", "debug").arg("msg", "handler ran")];
    (tasks, handlers)
}

#[test]
fn no_arguments_is_a_usage_error() {
    let d = tempfile::tempdir().expect("tmp");
    settings(d.path()).bind(|| insta::assert_snapshot!(runner(&[], d.path())));
}

#[test]
fn version() {
    let d = tempfile::tempdir().expect("tmp");
    settings(d.path()).bind(|| insta::assert_snapshot!(runner(&["--version"], d.path())));
}

#[test]
fn missing_bundle_file() {
    let d = tempfile::tempdir().expect("tmp");
    settings(d.path()).bind(|| {
        insta::assert_snapshot!(runner(&["apply", "nope.rsl", "--trust", "k.pub"], d.path()))
    });
}

#[test]
fn not_a_bundle() {
    let d = tempfile::tempdir().expect("tmp");
    std::fs::write(d.path().join("x.rsl"), vec![b'x'; 400]).expect("write");
    std::fs::write(d.path().join("k.pub"), key().public().to_line("t")).expect("pub");
    settings(d.path()).bind(|| {
        insta::assert_snapshot!(runner(&["apply", "x.rsl", "--trust", "k.pub"], d.path()))
    });
}

#[test]
fn no_trust_configured() {
    let d = tempfile::tempdir().expect("tmp");
    let (t, h) = sample_tasks(d.path());
    let b = bundle(d.path(), t, h);
    settings(d.path()).bind(|| insta::assert_snapshot!(runner(&["apply", &b], d.path())));
}

#[test]
fn apply_default_output() {
    let d = tempfile::tempdir().expect("tmp");
    let (t, h) = sample_tasks(d.path());
    let b = bundle(d.path(), t, h);
    settings(d.path())
        .bind(|| insta::assert_snapshot!(runner(&["apply", &b, "--trust", "k.pub"], d.path())));
}

#[test]
fn apply_check_mode_output() {
    let d = tempfile::tempdir().expect("tmp");
    let (t, h) = sample_tasks(d.path());
    let b = bundle(d.path(), t, h);
    settings(d.path()).bind(|| {
        insta::assert_snapshot!(runner(
            &["apply", &b, "--trust", "k.pub", "--check"],
            d.path()
        ))
    });
}

#[test]
fn apply_failure_output() {
    let d = tempfile::tempdir().expect("tmp");
    let tasks = vec![
        Task::new("bad argument", "stat")
            .arg("path", "/")
            .arg("bogus", 1),
        Task::new("not reached", "debug"),
    ];
    let b = bundle(d.path(), tasks, vec![]);
    settings(d.path())
        .bind(|| insta::assert_snapshot!(runner(&["apply", &b, "--trust", "k.pub"], d.path())));
}
