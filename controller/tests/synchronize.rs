//! `synchronize` (ansible.posix) through rustle's native tree sync, for
//! real on temporary trees with `connection: local`. There is no Ansible
//! recording: Ansible's module needs rsync, which the test machines do not
//! have; the expected itemized lines are rsync's `%i %n%L` format as
//! documented in the action's notes.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};

fn rustle(dir: &Path, extra: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rustle"))
        .arg("playbook")
        .arg("site.yml")
        .args(extra)
        .current_dir(dir)
        .env("ANSIBLE_NOCOLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The `msg` lines the playbook prints, one `RESULT <changed> <lines>` per
/// synchronize task.
fn results(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix("\"msg\": \"RESULT "))
        .map(|l| l.trim_end_matches('"').to_owned())
        .collect()
}

const PLAY: &str = r#"
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: SYNC
      synchronize: "{{ sync }}"
      register: r
    - debug:
        msg: "RESULT {{ r.changed }} {{ r.stdout_lines | join('|') }}"
"#;

fn tree(root: &Path) {
    std::fs::create_dir_all(root.join("src/sub")).unwrap();
    std::fs::write(root.join("src/a.txt"), "a\n").unwrap();
    std::fs::write(root.join("src/sub/b.txt"), "bb\n").unwrap();
    std::fs::write(root.join("src/skip.log"), "log\n").unwrap();
    std::fs::set_permissions(
        root.join("src/sub/b.txt"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    std::os::unix::fs::symlink("a.txt", root.join("src/link")).unwrap();
    std::fs::write(root.join("site.yml"), PLAY).unwrap();
}

fn run(dir: &Path, sync: &str, extra: &[&str]) -> Vec<String> {
    let vars = format!("{{\"sync\": {sync}}}");
    let mut args = vec!["-e", vars.as_str()];
    args.extend_from_slice(extra);
    let (code, out) = rustle(dir, &args);
    assert_eq!(code, 0, "{out}");
    results(&out)
}

#[test]
fn push_contents_then_idempotent_then_delete_and_exclude() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    tree(root);
    let src = format!("{}/src/", root.display());
    let dst = format!("{}/dst", root.display());
    let base = format!("{{\"src\": \"{src}\", \"dest\": \"{dst}\"}}");

    // Check mode predicts and writes nothing.
    let r = run(root, &base, &["--check"]);
    assert_eq!(
        r,
        ["True cd+++++++++ ./|>f+++++++++ a.txt|cL+++++++++ link -> a.txt|>f+++++++++ skip.log|cd+++++++++ sub/|>f+++++++++ sub/b.txt"]
    );
    assert!(!root.join("dst").exists());

    let r = run(root, &base, &[]);
    assert_eq!(
        r,
        ["True cd+++++++++ ./|>f+++++++++ a.txt|cL+++++++++ link -> a.txt|>f+++++++++ skip.log|cd+++++++++ sub/|>f+++++++++ sub/b.txt"]
    );
    assert_eq!(
        std::fs::read_to_string(root.join("dst/sub/b.txt")).unwrap(),
        "bb\n"
    );
    assert_eq!(
        std::fs::metadata(root.join("dst/sub/b.txt"))
            .unwrap()
            .mode()
            & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::read_link(root.join("dst/link")).unwrap(),
        Path::new("a.txt")
    );
    let (s, t) = (
        std::fs::metadata(root.join("src/sub/b.txt")).unwrap(),
        std::fs::metadata(root.join("dst/sub/b.txt")).unwrap(),
    );
    assert_eq!(s.mtime(), t.mtime(), "times preserved");

    // Nothing to do the second time.
    assert_eq!(run(root, &base, &[]), ["False "]);

    // A changed source file, an extra destination file, an excluded one.
    std::fs::write(root.join("dst/extra.txt"), "x\n").unwrap();
    std::fs::write(root.join("dst/keep.log"), "kept\n").unwrap();
    std::fs::write(root.join("src/a.txt"), "longer a\n").unwrap();
    let del = format!(
        "{{\"src\": \"{src}\", \"dest\": \"{dst}\", \"delete\": true, \"rsync_opts\": [\"--exclude=*.log\"]}}"
    );
    let r = run(root, &del, &[]);
    assert_eq!(r.len(), 1);
    assert!(r[0].starts_with("True "), "{r:?}");
    // Size changed; the time flag (`t`) depends on whether the rewrite
    // fell in another second than the first sync.
    assert!(
        r[0].contains(">f.st...... a.txt") || r[0].contains(">f.s....... a.txt"),
        "{r:?}"
    );
    assert!(r[0].contains("*deleting   extra.txt"), "{r:?}");
    assert!(!root.join("dst/extra.txt").exists());
    assert!(
        root.join("dst/keep.log").exists(),
        "excluded names are not deleted"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("dst/a.txt")).unwrap(),
        "longer a\n"
    );
    assert_eq!(run(root, &del, &[]), ["False "]);
}

#[test]
fn named_directory_single_file_and_pull() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    tree(root);
    // `src` without a slash: the directory itself goes under dest.
    let named = format!(
        "{{\"src\": \"{0}/src\", \"dest\": \"{0}/named\"}}",
        root.display()
    );
    let r = run(root, &named, &[]);
    assert!(
        r[0].starts_with("True cd+++++++++ src/|>f+++++++++ src/a.txt"),
        "{r:?}"
    );
    assert!(root.join("named/src/sub/b.txt").is_file());

    // One file into an existing directory.
    let one = format!(
        "{{\"src\": \"{0}/src/a.txt\", \"dest\": \"{0}/named\"}}",
        root.display()
    );
    assert_eq!(run(root, &one, &[]), ["True >f+++++++++ a.txt"]);
    assert!(root.join("named/a.txt").is_file());

    // Pull: the host's tree to the controller.
    let pull = format!(
        "{{\"src\": \"{0}/named/src/\", \"dest\": \"{0}/pulled\", \"mode\": \"pull\", \"checksum\": true}}",
        root.display()
    );
    let r = run(root, &pull, &[]);
    assert!(r[0].starts_with("True cd+++++++++ ./"), "{r:?}");
    assert_eq!(
        std::fs::read_to_string(root.join("pulled/sub/b.txt")).unwrap(),
        "bb\n"
    );
    assert_eq!(run(root, &pull, &[]), ["False "]);
}

#[test]
fn unsupported_rsync_option_fails() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    tree(root);
    let bad = format!(
        "{{\"src\": \"{0}/src/\", \"dest\": \"{0}/x\", \"rsync_opts\": [\"--bogus\"]}}",
        root.display()
    );
    let vars = format!("{{\"sync\": {bad}}}");
    let (code, out) = rustle(root, &["-e", &vars]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("rsync option --bogus is not supported"),
        "{out}"
    );
    assert!(!root.join("x").exists());
}
