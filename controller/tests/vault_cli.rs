//! `rustle vault` against real `ansible-vault` (from the repository's
//! `.venv` when present): data encrypted by one is decrypted by the other,
//! for files, stdin, empty, binary, Unicode and long content, 1.1 and 1.2
//! envelopes; encrypt_string, rekey, view, create/edit with a scripted
//! `$EDITOR`; error messages and exit codes compared.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

struct Out {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
}

fn run(
    prog: &Path,
    pre: &[&str],
    dir: &Path,
    args: &[&str],
    stdin: &[u8],
    env: &[(&str, &str)],
) -> Out {
    let mut cmd = Command::new(prog);
    cmd.args(pre)
        .args(args)
        .current_dir(dir)
        .env("ANSIBLE_NOCOLOR", "1")
        .env_remove("ANSIBLE_VAULT_PASSWORD_FILE")
        .env_remove("ANSIBLE_VAULT_IDENTITY_LIST")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn rustle(dir: &Path, args: &[&str], stdin: &[u8]) -> Out {
    run(
        Path::new(env!("CARGO_BIN_EXE_rustle")),
        &["vault"],
        dir,
        args,
        stdin,
        &[],
    )
}

fn ansible_vault() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/ansible-vault");
    p.exists().then_some(p)
}

fn av(dir: &Path, args: &[&str], stdin: &[u8]) -> Option<Out> {
    ansible_vault().map(|p| run(&p, &[], dir, args, stdin, &[]))
}

fn setup() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("pw"), "s3cret\n").unwrap();
    std::fs::write(d.path().join("pw2"), "other\n").unwrap();
    d
}

fn contents() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("empty", Vec::new()),
        ("binary", (0..=255u8).chain(0..=255u8).collect()),
        ("unicode", "héllo wörld ✓ 日本語\n".as_bytes().to_vec()),
        ("long", "x".repeat(20_000).into_bytes()),
        ("yaml", b"a: 1\nb: [2, 3]\n".to_vec()),
    ]
}

type Tool = fn(&Path, &[&str], &[u8]) -> Option<Out>;

fn rustle_opt(dir: &Path, args: &[&str], stdin: &[u8]) -> Option<Out> {
    Some(rustle(dir, args, stdin))
}

/// Files: encrypt with one tool in place, decrypt to stdout with the other.
#[test]
fn file_round_trips_both_ways() {
    if ansible_vault().is_none() {
        return;
    }
    let d = setup();
    let tools: [(&str, Tool); 2] = [("rustle", rustle_opt), ("ansible", av)];
    for (ename, enc) in tools {
        for (dname, dec) in tools {
            for (id, header) in [
                ("pw", "$ANSIBLE_VAULT;1.1;AES256\n"),
                ("lab@pw", "$ANSIBLE_VAULT;1.2;AES256;lab\n"),
            ] {
                let idarg = if id == "pw" {
                    "--vault-password-file"
                } else {
                    "--vault-id"
                };
                for (cname, data) in contents() {
                    let f = format!("{ename}-{dname}-{cname}-{}", id.len());
                    std::fs::write(d.path().join(&f), &data).unwrap();
                    let o = enc(d.path(), &["encrypt", idarg, id, &f], b"").unwrap();
                    assert_eq!(o.code, 0, "{ename} encrypt {f}: {}", o.stderr);
                    let ct = std::fs::read_to_string(d.path().join(&f)).unwrap();
                    assert!(ct.starts_with(header), "{f}: {ct}");
                    let o =
                        dec(d.path(), &["decrypt", idarg, id, "--output", "-", &f], b"").unwrap();
                    assert_eq!(o.code, 0, "{dname} decrypt {f}: {}", o.stderr);
                    assert_eq!(o.stdout, data, "{f}");
                }
            }
        }
    }
}

/// stdin to stdout, both ways; decrypt in place restores the file.
#[test]
fn stdin_round_trips_and_in_place_decrypt() {
    if ansible_vault().is_none() {
        return;
    }
    let d = setup();
    for (_, data) in contents() {
        let o = rustle(d.path(), &["encrypt", "--vault-password-file", "pw"], &data);
        assert_eq!(o.code, 0, "{}", o.stderr);
        let a = av(
            d.path(),
            &["decrypt", "--vault-password-file", "pw"],
            &o.stdout,
        )
        .unwrap();
        assert_eq!(a.code, 0, "{}", a.stderr);
        assert_eq!(a.stdout, data);
        let a = av(d.path(), &["encrypt", "--vault-id", "x@pw", "-"], &data).unwrap();
        let o = rustle(d.path(), &["decrypt", "--vault-id", "x@pw", "-"], &a.stdout);
        assert_eq!(o.code, 0, "{}", o.stderr);
        assert_eq!(o.stdout, data);
    }
    std::fs::write(d.path().join("f"), "plain\n").unwrap();
    av(
        d.path(),
        &["encrypt", "--vault-password-file", "pw", "f"],
        b"",
    )
    .unwrap();
    let o = rustle(
        d.path(),
        &["decrypt", "--vault-password-file", "pw", "f"],
        b"",
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(
        std::fs::read_to_string(d.path().join("f")).unwrap(),
        "plain\n"
    );
    let mode = std::fs::metadata(d.path().join("f"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

/// The `!vault |` block without its header line and indent: the envelope.
fn unblock(block: &str) -> String {
    block
        .lines()
        .skip(1)
        .map(|l| format!("{}\n", l.strip_prefix("          ").unwrap()))
        .collect()
}

#[test]
fn encrypt_string_format_and_decrypt_by_ansible() {
    let d = setup();
    let o = rustle(
        d.path(),
        &[
            "encrypt_string",
            "--vault-password-file",
            "pw",
            "-n",
            "db_pass",
            "hunter2",
        ],
        b"",
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.starts_with("db_pass: !vault |\n          $ANSIBLE_VAULT;1.1;AES256\n"),
        "{text}"
    );
    assert!(text.ends_with('\n') && !text.ends_with("\n\n"), "{text:?}");
    assert!(text
        .lines()
        .skip(1)
        .all(|l| l.starts_with("          ") && l.len() <= 90));
    // Same shape as ansible-vault's.
    if let Some(a) = av(
        d.path(),
        &[
            "encrypt_string",
            "--vault-password-file",
            "pw",
            "-n",
            "db_pass",
            "hunter2",
        ],
        b"",
    ) {
        let theirs = String::from_utf8(a.stdout).unwrap();
        assert_eq!(theirs.lines().count(), text.lines().count());
        assert_eq!(a.stderr, o.stderr);
        let env = unblock(&text);
        let a = av(
            d.path(),
            &["decrypt", "--vault-password-file", "pw"],
            env.as_bytes(),
        )
        .unwrap();
        assert_eq!(a.code, 0, "{}", a.stderr);
        assert_eq!(a.stdout, b"hunter2");
        // And ansible reads it as a vars file.
        std::fs::write(d.path().join("vars.yml"), &text).unwrap();
        let adhoc = ansible_vault().unwrap().with_file_name("ansible");
        let out = Command::new(adhoc)
            .current_dir(d.path())
            .args([
                "localhost",
                "-m",
                "debug",
                "-a",
                "var=db_pass",
                "-e",
                "@vars.yml",
            ])
            .args(["--vault-password-file", "pw"])
            .output()
            .unwrap();
        let s = String::from_utf8_lossy(&out.stdout);
        assert!(s.contains("\"db_pass\": \"hunter2\""), "{s}");
    }
    // stdin with --stdin-name, and a labelled id (1.2).
    let o = rustle(
        d.path(),
        &[
            "encrypt_string",
            "--vault-id",
            "prod@pw",
            "--stdin-name",
            "tok",
        ],
        "ünï\n".as_bytes(),
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.starts_with("tok: !vault |\n          $ANSIBLE_VAULT;1.2;AES256;prod\n"),
        "{text}"
    );
    if let Some(a) = av(
        d.path(),
        &["decrypt", "--vault-id", "prod@pw"],
        unblock(&text).as_bytes(),
    ) {
        assert_eq!(a.stdout, "ünï\n".as_bytes());
    }
    // No name: a bare block; two strings: delimiters on stderr.
    let o = rustle(
        d.path(),
        &["encrypt_string", "--vault-password-file", "pw", "a", "b"],
        b"",
    );
    let text = String::from_utf8(o.stdout).unwrap();
    assert_eq!(text.matches("!vault |\n").count(), 2, "{text}");
    assert_eq!(
        o.stderr,
        "# The encrypted version of the string #1 from the command line args.)\n\
         # The encrypted version of the string #2 from the command line args.)\n"
    );
    // Empty stdin is refused as ansible-vault does.
    let o = rustle(
        d.path(),
        &["encrypt_string", "--vault-password-file", "pw"],
        b"",
    );
    assert_eq!(o.code, 5);
    assert_eq!(o.stderr, "ERROR! stdin was empty, not encrypting\n");
}

#[test]
fn rekey_and_view() {
    let d = setup();
    std::fs::write(d.path().join("f"), "top: secret\n").unwrap();
    let o = rustle(
        d.path(),
        &["encrypt", "--vault-password-file", "pw", "f"],
        b"",
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    // encrypt leaves 0600, as ansible-vault; rekey keeps the mode it finds.
    let mode = std::fs::metadata(d.path().join("f"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    std::fs::set_permissions(d.path().join("f"), std::fs::Permissions::from_mode(0o640)).unwrap();
    let o = rustle(
        d.path(),
        &[
            "rekey",
            "--vault-password-file",
            "pw",
            "--new-vault-id",
            "new@pw2",
            "f",
        ],
        b"",
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stderr, "Rekey successful\n");
    let ct = std::fs::read_to_string(d.path().join("f")).unwrap();
    assert!(ct.starts_with("$ANSIBLE_VAULT;1.2;AES256;new\n"), "{ct}");
    let o = rustle(d.path(), &["view", "--vault-id", "new@pw2", "f"], b"");
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, b"top: secret\n");
    if let Some(a) = av(d.path(), &["view", "--vault-id", "new@pw2", "f"], b"") {
        assert_eq!(a.stdout, o.stdout);
        // ansible-vault rekeys back; rustle reads it.
        let a = av(
            d.path(),
            &[
                "rekey",
                "--vault-id",
                "new@pw2",
                "--new-vault-password-file",
                "pw",
                "f",
            ],
            b"",
        )
        .unwrap();
        assert_eq!(a.code, 0, "{}", a.stderr);
        let o = rustle(d.path(), &["view", "--vault-password-file", "pw", "f"], b"");
        assert_eq!(o.stdout, b"top: secret\n");
    }
    let mode = std::fs::metadata(d.path().join("f"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o640);
}

#[test]
fn create_and_edit_with_editor_script() {
    let d = setup();
    let editor = d.path().join("ed.sh");
    std::fs::write(
        &editor,
        "#!/bin/sh\necho edited >> \"$1\"\nls -ld \"$(dirname \"$1\")\" > \"$EDLOG\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
    let tmp = d.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let log = d.path().join("edlog");
    let env = [
        ("EDITOR", editor.to_str().unwrap()),
        ("TMPDIR", tmp.to_str().unwrap()),
        ("EDLOG", log.to_str().unwrap()),
    ];
    let bin = Path::new(env!("CARGO_BIN_EXE_rustle"));
    let o = run(
        bin,
        &["vault"],
        d.path(),
        &["create", "--vault-password-file", "pw", "new.yml"],
        b"",
        &env,
    );
    assert_eq!(o.code, 5);
    assert_eq!(o.stderr, "ERROR! not a tty, editor cannot be opened\n");
    let args = [
        "create",
        "--skip-tty-check",
        "--vault-id",
        "dev@pw",
        "new.yml",
    ];
    let o = run(bin, &["vault"], d.path(), &args, b"", &env);
    assert_eq!(o.code, 0, "{}", o.stderr);
    // The plaintext lived in a 0700 directory, gone afterwards.
    let ls = std::fs::read_to_string(&log).unwrap();
    assert!(ls.starts_with("drwx------"), "{ls}");
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
    let ct = std::fs::read_to_string(d.path().join("new.yml")).unwrap();
    assert!(ct.starts_with("$ANSIBLE_VAULT;1.2;AES256;dev\n"), "{ct}");
    let o = run(bin, &["vault"], d.path(), &args, b"", &env);
    assert_eq!(o.code, 1);
    assert_eq!(
        o.stderr,
        "ERROR! new.yml exists, please use 'edit' instead\n"
    );
    let o = run(
        bin,
        &["vault"],
        d.path(),
        &["edit", "--vault-id", "dev@pw", "new.yml"],
        b"",
        &env,
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
    let ct = std::fs::read_to_string(d.path().join("new.yml")).unwrap();
    assert!(ct.starts_with("$ANSIBLE_VAULT;1.2;AES256;dev\n"), "{ct}");
    let view = match av(d.path(), &["view", "--vault-id", "dev@pw", "new.yml"], b"") {
        Some(a) => a,
        None => rustle(d.path(), &["view", "--vault-id", "dev@pw", "new.yml"], b""),
    };
    assert_eq!(view.stdout, b"edited\nedited\n");
}

/// Errors: same text and exit code as ansible-vault; nothing of the
/// plaintext on any output.
#[test]
fn errors_match_ansible_vault() {
    let d = setup();
    std::fs::write(d.path().join("plain"), "PLAINTEXT-MARK\n").unwrap();
    std::fs::write(d.path().join("enc"), "PLAINTEXT-MARK\n").unwrap();
    let o = rustle(
        d.path(),
        &["encrypt", "--vault-password-file", "pw", "enc"],
        b"",
    );
    assert_eq!(o.code, 0);
    let cases: Vec<Vec<&str>> = vec![
        vec!["view", "--vault-password-file", "pw2", "enc"],
        vec!["decrypt", "--vault-password-file", "pw2", "enc"],
        vec!["decrypt", "--vault-password-file", "pw", "plain"],
        vec!["decrypt", "--vault-password-file", "pw", "missing"],
        vec!["encrypt", "--vault-password-file", "pw", "enc"],
        vec![
            "encrypt",
            "--vault-id",
            "a@pw",
            "--vault-id",
            "b@pw",
            "plain",
        ],
        vec![
            "encrypt",
            "--vault-id",
            "a@pw",
            "--encrypt-vault-id",
            "c",
            "plain",
        ],
        vec![
            "rekey",
            "--vault-password-file",
            "pw2",
            "--new-vault-password-file",
            "pw",
            "enc",
        ],
        vec!["encrypt", "--vault-id", "a;b@pw", "plain"],
    ];
    for args in cases {
        let o = rustle(d.path(), &args, b"");
        assert_ne!(o.code, 0, "{args:?}");
        let all = format!("{}{}", String::from_utf8_lossy(&o.stdout), o.stderr);
        assert!(!all.contains("PLAINTEXT-MARK"), "{args:?}: {all}");
        if let Some(a) = av(d.path(), &args, b"") {
            assert_eq!(o.code, a.code, "{args:?}: {}", o.stderr);
            let theirs = a
                .stderr
                .lines()
                .filter(|l| l.starts_with("ERROR!"))
                .collect::<Vec<_>>();
            let ours = o
                .stderr
                .replace(&d.path().canonicalize().unwrap().display().to_string(), "")
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>();
            let theirs: Vec<String> = theirs
                .iter()
                .map(|l| l.replace(&d.path().canonicalize().unwrap().display().to_string(), ""))
                .collect();
            assert_eq!(ours, theirs, "{args:?}");
        }
    }
    // Nothing was changed by the failures.
    assert_eq!(
        std::fs::read_to_string(d.path().join("plain")).unwrap(),
        "PLAINTEXT-MARK\n"
    );
}
