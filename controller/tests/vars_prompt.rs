//! `vars_prompt` end to end: answers typed on a terminal (a pty made by
//! util-linux `script`), the non-interactive fallback, and `-e` overrides.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::io::Write;
use std::process::{Command, Stdio};

const PLAY: &str = "- hosts: localhost
  gather_facts: false
  vars:
    who: bob
  vars_prompt:
    - name: user
      prompt: Your name
      private: false
      default: \"{{ who }}\"
    - name: pw
      prompt: Password
      confirm: true
  tasks:
    - debug: msg=\"{{ user }} {{ pw }}\"
";

fn setup() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("site.yml"), PLAY).unwrap();
    d
}

#[test]
fn answers_from_a_terminal_with_confirmation() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("no `script` (util-linux): terminal test skipped");
        return;
    }
    let d = setup();
    let cmd = format!("{} playbook site.yml", env!("CARGO_BIN_EXE_rustle"));
    let mut child = Command::new("script")
        .args(["-q", "-e", "-c", &cmd, "/dev/null"])
        .current_dir(d.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Name, then a password confirmed wrongly once, then rightly.
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"al\ns1\ns2\ns3\ns3\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    assert!(out.status.success(), "{text}");
    assert!(text.contains("Your name [bob]: "), "{text}");
    assert!(text.contains("confirm Password: "), "{text}");
    assert!(
        text.contains("***** VALUES ENTERED DO NOT MATCH ****"),
        "{text}"
    );
    assert!(text.contains("\"msg\": \"al s3\""), "{text}");
}

#[test]
fn without_a_terminal_defaults_are_used() {
    let d = setup();
    let out = Command::new(env!("CARGO_BIN_EXE_rustle"))
        .args(["playbook", "site.yml"])
        .current_dir(d.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(stdout.contains("\"msg\": \"bob None\""), "{stdout}");
    assert_eq!(
        stderr
            .matches("[WARNING]: Not prompting as we are not in interactive mode")
            .count(),
        1,
        "{stderr}"
    );
}

#[test]
fn extra_vars_are_not_asked() {
    let d = setup();
    let out = Command::new(env!("CARGO_BIN_EXE_rustle"))
        .args(["playbook", "site.yml", "-e", "user=x pw=y"])
        .current_dir(d.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("\"msg\": \"x y\""), "{stdout}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("Not prompting"));
}
