//! The progress line: shown on a terminal during a long run (a pty made by
//! util-linux `script`), absent when output is not a terminal.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::process::{Command, Stdio};

const PLAY: &str = "- name: slow
  hosts: localhost
  gather_facts: false
  tasks:
    - command: sleep 1
    - command: sleep 1
    - debug: msg=done
";

#[test]
fn shown_on_a_terminal_only() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("no `script` (util-linux): terminal test skipped");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("site.yml"), PLAY).unwrap();
    let cmd = format!("{} playbook site.yml", env!("CARGO_BIN_EXE_rustle"));
    let out = Command::new("script")
        .args(["-q", "-e", "-c", &cmd, "/dev/null"])
        .current_dir(d.path())
        .env("ANSIBLE_NOCOLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("\r\x1b[2K[slow] task 2: command | hosts 1/1 done, 0 running, 0 failed"),
        "{text:?}"
    );
    assert!(text.contains("PLAY RECAP"), "{text}");

    // Not a terminal: nothing but the callback's output.
    let out = Command::new(env!("CARGO_BIN_EXE_rustle"))
        .args(["playbook", "site.yml"])
        .current_dir(d.path())
        .env("ANSIBLE_NOCOLOR", "1")
        .output()
        .unwrap();
    let all = [out.stdout, out.stderr].concat();
    assert!(!String::from_utf8_lossy(&all).contains('\x1b'));
}
