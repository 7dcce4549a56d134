//! Drop-in use: the `rustle` binary reached through a link named
//! `ansible-playbook` behaves as `rustle playbook` with the same
//! arguments, so existing scripts and CI jobs run unchanged.

use std::process::Command;

use rustle_e2e::{bin, Run};

const PLAY: &str = "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - debug: msg=hello\n      changed_when: true\n    - fail: msg=boom\n      when: false\n";

fn run(program: &std::path::Path, prefix: &[&str], dir: &std::path::Path, args: &[&str]) -> Run {
    Command::new(program)
        .args(prefix)
        .args(args)
        .current_dir(dir)
        .env("ANSIBLE_NOCOLOR", "1")
        .env_remove("ANSIBLE_CONFIG")
        .output()
        .expect("run")
        .into()
}

#[test]
fn link_named_ansible_playbook_runs_playbooks() {
    let rustle = bin("rustle");
    let tmp = tempfile::tempdir().expect("tmp");
    let link = tmp.path().join("ansible-playbook");
    std::os::unix::fs::symlink(&rustle, &link).expect("symlink");
    std::fs::write(tmp.path().join("site.yml"), PLAY).expect("write");
    let args = ["-i", "localhost,", "-c", "local", "-v", "site.yml"];
    let via_link = run(&link, &[], tmp.path(), &args);
    let direct = run(&rustle, &["playbook"], tmp.path(), &args);
    assert_eq!(via_link.code, 0, "{}", via_link.stderr);
    assert_eq!(via_link.stdout, direct.stdout);
    assert_eq!(via_link.stderr, direct.stderr);
    assert!(via_link
        .stdout
        .starts_with("No config file found; using defaults\n"));
    assert!(via_link.stdout.contains("changed: [localhost] => {"));

    // argparse's exit code for bad options, and --version without a playbook.
    let bad = run(&link, &[], tmp.path(), &["--no-such-option", "site.yml"]);
    assert_eq!(bad.code, 2);
    let version = run(&link, &[], tmp.path(), &["--version"]);
    assert_eq!(version.code, 0, "{}", version.stderr);
    assert!(version.stdout.starts_with("rustle-playbook [rustle "));
    assert!(version.stdout.contains("  config file = None\n"));
}
