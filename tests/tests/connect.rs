//! `rustle connect` against real sshd instances (rustle-transport's test
//! helper): per-host status lines in inventory order, the unreachable exit
//! code, host key checking from ansible.cfg's environment variable.

use std::process::Command;

use rustle_e2e::{bin, Run};
use rustle_transport::testing::{self, keygen, pub_of, Sshd};

fn connect(
    dir: &std::path::Path,
    home: &std::path::Path,
    env: &[(&str, &str)],
    args: &[&str],
) -> Run {
    let mut cmd = Command::new(bin("rustle"));
    cmd.arg("connect")
        .args(args)
        .current_dir(dir)
        .env("HOME", home)
        .env_remove("ANSIBLE_CONFIG")
        .env_remove("SSH_AUTH_SOCK");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run rustle connect").into()
}

#[test]
fn connect_reports_each_host() {
    if !testing::available() {
        eprintln!("skipped: sshd not installed");
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let home = tmp.path().join("home");
    std::fs::create_dir_all(home.join(".ssh")).expect("home");
    let key = tmp.path().join("id_ed25519");
    keygen(&key, "ed25519", "");
    let a = Sshd::start("ed25519", &[pub_of(&key)], "");
    let b = Sshd::start("ecdsa", &[pub_of(&key)], "");
    let down = testing::free_port();
    let user = testing::current_user();
    std::fs::write(
        tmp.path().join("inv.ini"),
        format!(
            "[web]\nweb1 ansible_host=127.0.0.1 ansible_port={}\nweb2 ansible_host=127.0.0.1 ansible_port={}\n\
             web3 ansible_host=127.0.0.1 ansible_port={down}\n[loc]\nlocal1 ansible_connection=local\n\
             [all:vars]\nansible_user={user}\nansible_ssh_private_key_file={}\n",
            a.port,
            b.port,
            key.display()
        ),
    )
    .expect("inventory");

    // Unknown hosts with host key checking on (the default): refused.
    let r = connect(tmp.path(), &home, &[], &["-i", "inv.ini", "web1"]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.stdout.starts_with(&format!(
            "web1 | UNREACHABLE | {user}@127.0.0.1:{} | Failed to connect to the host via ssh: No ED25519 host key is known for [127.0.0.1]:{}",
            a.port, a.port
        )),
        "{}",
        r.stdout
    );

    // Off: accepted and recorded; the down host is reported; local is OK.
    let r = connect(
        tmp.path(),
        &home,
        &[("ANSIBLE_HOST_KEY_CHECKING", "False")],
        &["-i", "inv.ini", "all", "-f", "2"],
    );
    assert_eq!(r.code, 4, "{r:?}");
    let lines: Vec<&str> = r.stdout.lines().filter(|l| !l.starts_with("  ")).collect();
    assert_eq!(lines.len(), 4, "{}", r.stdout);
    assert!(
        lines[0].starts_with(&format!(
            "web1 | OK | {user}@127.0.0.1:{} | connect ",
            a.port
        )),
        "{}",
        r.stdout
    );
    assert!(
        lines[1].starts_with(&format!(
            "web2 | OK | {user}@127.0.0.1:{} | connect ",
            b.port
        )),
        "{}",
        r.stdout
    );
    assert_eq!(
        lines[2],
        format!("web3 | UNREACHABLE | {user}@127.0.0.1:{down} | Failed to connect to the host via ssh: connect to host 127.0.0.1 port {down}: Connection refused")
    );
    assert_eq!(
        lines[3],
        "local1 | OK | connection: local, nothing to connect to"
    );
    assert!(r.stdout.contains(&format!(
        "  Warning: Permanently added '[127.0.0.1]:{}' (ED25519) to the list of known hosts.",
        a.port
    )));

    // Now known: checking on, every selected host reachable, exit 0.
    let r = connect(tmp.path(), &home, &[], &["-i", "inv.ini", "web1:web2"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stdout.lines().count(), 2, "{}", r.stdout);
}
