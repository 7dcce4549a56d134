//! Playbook errors as ansible-playbook reports them. The expected texts
//! were taken from ansible-core 2.18.19 runs of the same files (message,
//! position, excerpt with caret, exit code 4 for parser errors).

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::path::Path;
use std::process::Command;

fn run(dir: &Path, file: &str, text: &str) -> (i32, String) {
    std::fs::write(dir.join(file), text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rustle"))
        .args(["playbook", file])
        .current_dir(dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| !l.starts_with("[WARNING]") && !l.starts_with("the implicit localhost"))
        .collect::<Vec<_>>()
        .join("\n");
    (out.status.code().unwrap_or(-1), stderr)
}

fn expected(dir: &Path, file: &str, body: &str) -> String {
    body.replace("FILE", &dir.join(file).display().to_string())
}

#[test]
fn unknown_play_keyword() {
    let d = tempfile::tempdir().unwrap();
    let (code, err) = run(
        d.path(),
        "e1.yml",
        "- hosts: localhost\n  gather_facts: no\n  foo: bar\n  tasks:\n    - debug: msg=hi\n",
    );
    assert_eq!(code, 4);
    assert_eq!(
        err,
        expected(
            d.path(),
            "e1.yml",
            "ERROR! 'foo' is not a valid attribute for a Play\n\nThe error appears to be in 'FILE': line 1, column 3, but may\nbe elsewhere in the file depending on the exact syntax problem.\n\nThe offending line appears to be:\n\n\n- hosts: localhost\n  ^ here"
        )
    );
}

#[test]
fn two_modules_in_one_task() {
    let d = tempfile::tempdir().unwrap();
    let (code, err) = run(
        d.path(),
        "e2.yml",
        "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - name: two\n      debug: msg=hi\n      command: echo\n",
    );
    assert_eq!(code, 4);
    assert_eq!(
        err,
        expected(
            d.path(),
            "e2.yml",
            "ERROR! conflicting action statements: debug, command\n\nThe error appears to be in 'FILE': line 4, column 7, but may\nbe elsewhere in the file depending on the exact syntax problem.\n\nThe offending line appears to be:\n\n  tasks:\n    - name: two\n      ^ here"
        )
    );
}

#[test]
fn unknown_module() {
    let d = tempfile::tempdir().unwrap();
    let (code, err) = run(
        d.path(),
        "e3.yml",
        "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - name: bad\n      nosuchmodule: a=b\n",
    );
    assert_eq!(code, 4);
    assert!(err.starts_with("ERROR! couldn't resolve module/action 'nosuchmodule'. This often indicates a misspelling, missing collection, or incorrect module path."), "{err}");
    assert!(err.contains("line 4, column 7"), "{err}");
}

#[test]
fn yaml_syntax_error() {
    let d = tempfile::tempdir().unwrap();
    let (code, err) = run(
        d.path(),
        "e4.yml",
        "- hosts: localhost\n  tasks:\n  - debug: msg=hi\n   - debug: msg=x\n",
    );
    // As Ansible: exit 4, and the k=v shorthand on the line before the
    // bad token moves the reported position to that line's `=`.
    assert_eq!(code, 4);
    assert!(
        err.starts_with("ERROR! We were unable to read either as JSON nor YAML, these are the errors we got from each:\nJSON: Expecting value: line 1 column 1 (char 0)\n\nSyntax Error while loading YAML.\n"),
        "{err}"
    );
    assert!(err.contains("  did not find expected key. while parsing a block mapping\n  in \"<unicode string>\", line 1, column 3\ndid not find expected key\n  in \"<unicode string>\", line 4, column 4\n"), "{err}");
    assert!(err.contains("e4.yml': line 3, column 15"), "{err}");
    assert!(err.ends_with("There appears to be both 'k=v' shorthand syntax and YAML in this task. Only one syntax may be used."), "{err}");
}

#[test]
fn playbook_not_a_list_and_missing_file() {
    let d = tempfile::tempdir().unwrap();
    let (code, err) = run(d.path(), "e5.yml", "hosts: all\n");
    assert_eq!(code, 4);
    assert!(
        err.contains("A playbook must be a list of plays, got a <class 'ansible.parsing.yaml.objects.AnsibleMapping'> instead:"),
        "{err}"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_rustle"))
        .args(["playbook", "nope.yml"])
        .current_dir(d.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "ERROR! the playbook: nope.yml could not be found"
    );
}
