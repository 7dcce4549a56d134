//! ansible-playbook's exit codes, one test each (read from
//! `ansible/cli/__init__.py` and the TaskQueueManager's `RUN_*` codes, and
//! checked against ansible-core 2.18.19 runs of the same playbooks):
//! 0 ok, 1 an error (`AnsibleError`), 2 failed hosts or a usage error
//! (argparse), 4 unreachable hosts or a parser error, 99 interrupted.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

const INVENTORY: &str = "\
local ansible_connection=local
down ansible_host=127.0.0.1 ansible_port=1
";

fn rustle(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rustle"))
        .arg("playbook")
        .args(args)
        .current_dir(dir)
        .env("ANSIBLE_NOCOLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn case(playbook: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("inventory"), INVENTORY).unwrap();
    std::fs::write(d.path().join("site.yml"), playbook).unwrap();
    d
}

#[test]
fn ok_is_0() {
    let d = case("- hosts: local\n  gather_facts: no\n  tasks:\n    - debug: msg=hi\n");
    assert_eq!(rustle(d.path(), &["-i", "inventory", "site.yml"]).0, 0);
}

#[test]
fn missing_playbook_is_1() {
    let d = case("");
    let (code, _, err) = rustle(d.path(), &["nope.yml"]);
    assert_eq!(code, 1);
    assert_eq!(err, "ERROR! the playbook: nope.yml could not be found\n");
}

#[test]
fn failed_host_is_2() {
    let d = case("- hosts: local\n  gather_facts: no\n  tasks:\n    - fail: msg=no\n");
    let (code, out, _) = rustle(d.path(), &["-i", "inventory", "site.yml"]);
    assert_eq!(code, 2);
    assert!(out.contains("failed=1"), "{out}");
}

#[test]
fn usage_errors_are_2() {
    let d = case("- hosts: local\n  tasks: []\n");
    assert_eq!(rustle(d.path(), &["--no-such-option", "site.yml"]).0, 2);
    let (code, _, err) = rustle(d.path(), &["-f", "0", "site.yml"]);
    assert_eq!(code, 2);
    assert!(err.contains("The number of processes (--forks) must be >= 1"));
}

#[test]
fn unreachable_host_is_4() {
    let d = case("- hosts: all\n  gather_facts: no\n  tasks:\n    - ping:\n");
    let (code, out, _) = rustle(d.path(), &["-i", "inventory", "site.yml"]);
    assert_eq!(code, 4);
    assert!(
        out.contains("fatal: [down]: UNREACHABLE! => {\"changed\": false, \"msg\": \"Failed to connect to the host via ssh: ssh: connect to host 127.0.0.1 port 1: Connection refused\", \"unreachable\": true}"),
        "{out}"
    );
}

#[test]
fn parser_error_is_4() {
    let d = case("- hosts: local\n  tasks:\n    - debug: msg=hi\n   bad: [\n");
    let (code, _, err) = rustle(d.path(), &["-i", "inventory", "site.yml"]);
    assert_eq!(code, 4);
    assert!(err.starts_with("ERROR! "), "{err}");
}

#[test]
fn interrupted_is_99() {
    let d = case(
        "- hosts: local\n  gather_facts: no\n  tasks:\n    - debug: msg=started\n    - command: sleep 30\n",
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_rustle"))
        .args(["playbook", "-i", "inventory", "site.yml"])
        .current_dir(d.path())
        .env("ANSIBLE_NOCOLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the long task has started, then press Ctrl-C.
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while !String::from_utf8_lossy(&seen).contains("TASK [command]") {
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0, "run ended early: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(99));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        " [ERROR]: User interrupted execution\n"
    );
}
