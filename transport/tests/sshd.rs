//! The transport against real OpenSSH sshd instances (see common/mod.rs).
//! Skipped (with a note) when sshd is not installed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustle_transport::testing::{self as common, current_user, keygen, pub_of, Sshd};
use rustle_transport::{
    resolve, AuthOptions, ConnectError, Connection, Defaults, Settings, SshConfigs,
};

macro_rules! require_sshd {
    () => {
        if !common::available() {
            eprintln!("skipped: {} or ssh-keygen not installed", common::SSHD);
            return;
        }
    };
}

fn no_agent() -> AuthOptions {
    AuthOptions {
        no_agent: true,
        ..AuthOptions::default()
    }
}

/// Settings for the test server as an inventory host would give them;
/// `home` isolates known_hosts and default identities.
fn settings_for(
    sshd: &Sshd,
    key: Option<&Path>,
    home: &Path,
    host_key_checking: bool,
    extra: &[(&str, &str)],
) -> Settings {
    let mut vars = BTreeMap::new();
    vars.insert("ansible_host".to_string(), "127.0.0.1".to_string());
    vars.insert("ansible_port".to_string(), sshd.port.to_string());
    vars.insert("ansible_user".to_string(), current_user());
    if let Some(k) = key {
        vars.insert(
            "ansible_ssh_private_key_file".to_string(),
            k.display().to_string(),
        );
    }
    for (k, v) in extra {
        vars.insert(k.to_string(), v.to_string());
    }
    let defaults = Defaults {
        home: Some(home.to_path_buf()),
        host_key_checking,
        timeout: Some(10),
        ..Defaults::default()
    };
    resolve("testhost", &vars, &defaults, &SshConfigs::default()).expect("settings")
}

struct Fixture {
    keys: tempfile::TempDir,
    home: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let keys = tempfile::tempdir().expect("keys dir");
        for kind in ["ed25519", "ecdsa", "rsa"] {
            keygen(&keys.path().join(format!("id_{kind}")), kind, "");
        }
        keygen(&keys.path().join("id_encrypted"), "ed25519", "s3cret pass");
        keygen(&keys.path().join("id_stranger"), "ed25519", "");
        let home = tempfile::tempdir().expect("home");
        std::fs::create_dir(home.path().join(".ssh")).expect(".ssh");
        Fixture { keys, home }
    }

    fn key(&self, name: &str) -> PathBuf {
        self.keys.path().join(format!("id_{name}"))
    }

    fn authorized(&self) -> Vec<String> {
        ["ed25519", "ecdsa", "rsa", "encrypted"]
            .iter()
            .map(|k| pub_of(&self.key(k)))
            .collect()
    }

    fn known_hosts(&self) -> PathBuf {
        self.home.path().join(".ssh/known_hosts")
    }

    fn trust(&self, sshd: &Sshd) {
        use std::io::Write as _;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.known_hosts())
            .expect("known_hosts");
        writeln!(f, "{}", sshd.known_hosts_line()).expect("write");
    }
}

#[tokio::test]
async fn exec_with_each_key_type() {
    require_sshd!();
    let fx = Fixture::new();
    let sshd = Sshd::start("ed25519", &fx.authorized(), "");
    fx.trust(&sshd);
    for kind in ["ed25519", "ecdsa", "rsa"] {
        let s = settings_for(&sshd, Some(&fx.key(kind)), fx.home.path(), true, &[]);
        let conn = Connection::connect(&s, &no_agent())
            .await
            .unwrap_or_else(|e| panic!("{kind}: {e}\n{}", sshd.log()));
        assert!(conn.notes.is_empty(), "{:?}", conn.notes);
        let out = conn.exec("echo hello-$0", &[]).await.expect("exec");
        assert_eq!(out.status, Some(0));
        assert!(
            String::from_utf8_lossy(&out.stdout).starts_with("hello-"),
            "{kind}: {out:?}"
        );
        conn.close().await;
    }
}

#[tokio::test]
async fn exit_codes_stdin_stdout_stderr() {
    require_sshd!();
    let fx = Fixture::new();
    let sshd = Sshd::start("ecdsa", &fx.authorized(), "");
    fx.trust(&sshd);
    let s = settings_for(&sshd, Some(&fx.key("ed25519")), fx.home.path(), true, &[]);
    let conn = Connection::connect(&s, &no_agent()).await.expect("connect");

    let out = conn.exec("exit 3", &[]).await.expect("exec");
    assert_eq!(out.status, Some(3));

    let out = conn
        .exec("echo out; echo err >&2; exit 7", &[])
        .await
        .expect("exec");
    assert_eq!(
        (out.status, out.stdout.as_slice(), out.stderr.as_slice()),
        (Some(7), &b"out\n"[..], &b"err\n"[..])
    );

    // Binary stdin round trip, larger than one channel window.
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let out = conn.exec("cat", &data).await.expect("cat");
    assert_eq!(out.status, Some(0));
    assert_eq!(out.stdout.len(), data.len());
    assert!(out.stdout == data);

    // A command that does not read its stdin still reports its status.
    let out = conn.exec("exit 0", &data).await.expect("no read");
    assert_eq!(out.status, Some(0));

    let out = conn.exec("kill -TERM $$", &[]).await.expect("signal");
    assert_eq!(out.status, None);
    assert!(out.signal.is_some(), "{out:?}");

    // The shell start-up stays cheap (no ~/.bashrc): measure an exec.
    let start = Instant::now();
    for _ in 0..5 {
        conn.exec("true", &[]).await.expect("true");
    }
    let per_exec = start.elapsed() / 5;
    eprintln!("exec `true` on an open connection: {per_exec:?}");
    assert!(per_exec < Duration::from_millis(500), "{per_exec:?}");
    conn.close().await;
}

#[tokio::test]
async fn host_key_mismatch_is_refused_with_fingerprint() {
    require_sshd!();
    let fx = Fixture::new();
    let sshd = Sshd::start("ed25519", &fx.authorized(), "");
    // Record some other ed25519 key for this host.
    let other = fx.keys.path().join("other_host");
    keygen(&other, "ed25519", "");
    let other_pub = pub_of(&other);
    let mut f = other_pub.split_whitespace();
    let line = format!(
        "[127.0.0.1]:{} {} {}\n",
        sshd.port,
        f.next().expect("type"),
        f.next().expect("b64")
    );
    std::fs::write(fx.known_hosts(), line).expect("known_hosts");
    // Refused even with host key checking off.
    for hkc in [true, false] {
        let s = settings_for(&sshd, Some(&fx.key("ed25519")), fx.home.path(), hkc, &[]);
        let err = Connection::connect(&s, &no_agent())
            .await
            .err()
            .expect("refused");
        assert!(matches!(err, ConnectError::HostKey(_)), "{err}");
        let msg = err.to_string();
        let fp = server_fingerprint(&sshd);
        assert!(
            msg.contains("REMOTE HOST IDENTIFICATION HAS CHANGED"),
            "{msg}"
        );
        assert!(msg.contains(&fp), "{msg} lacks {fp}");
        assert!(
            msg.contains(&format!(
                "Offending ED25519 key in {}:1",
                fx.known_hosts().display()
            )),
            "{msg}"
        );
        assert!(msg.ends_with("Host key verification failed."), "{msg}");
    }
}

fn server_fingerprint(sshd: &Sshd) -> String {
    let out = std::process::Command::new("ssh-keygen")
        .arg("-lf")
        .arg(sshd.host_key.as_os_str().to_string_lossy().to_string() + ".pub")
        .output()
        .expect("ssh-keygen -l");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(1)
        .expect("fingerprint")
        .to_string()
}

#[tokio::test]
async fn unknown_host_refused_then_accepted_and_recorded() {
    require_sshd!();
    let fx = Fixture::new();
    let sshd = Sshd::start("ed25519", &fx.authorized(), "");
    let on = settings_for(&sshd, Some(&fx.key("ed25519")), fx.home.path(), true, &[]);
    let err = Connection::connect(&on, &no_agent())
        .await
        .err()
        .expect("unknown refused");
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!(
            "No ED25519 host key is known for [127.0.0.1]:{} and you have requested strict checking.",
            sshd.port
        )),
        "{msg}"
    );
    assert!(!fx.known_hosts().exists());

    let off = settings_for(&sshd, Some(&fx.key("ed25519")), fx.home.path(), false, &[]);
    let conn = Connection::connect(&off, &no_agent())
        .await
        .expect("accepted");
    assert_eq!(
        conn.notes,
        vec![format!(
            "Warning: Permanently added '[127.0.0.1]:{}' (ED25519) to the list of known hosts.",
            sshd.port
        )]
    );
    conn.close().await;
    let recorded = std::fs::read_to_string(fx.known_hosts()).expect("recorded");
    assert!(recorded.starts_with(&format!("[127.0.0.1]:{} ssh-ed25519 ", sshd.port)));

    // Now known: strict checking connects, with no note.
    let conn = Connection::connect(&on, &no_agent())
        .await
        .expect("known now");
    assert!(conn.notes.is_empty());
    conn.close().await;
    // Recorded in a form OpenSSH's own tools read.
    let st = std::process::Command::new("ssh-keygen")
        .arg("-F")
        .arg(format!("[127.0.0.1]:{}", sshd.port))
        .arg("-f")
        .arg(fx.known_hosts())
        .stdout(std::process::Stdio::null())
        .status()
        .expect("ssh-keygen -F");
    assert!(st.success());
}

#[tokio::test]
async fn hashed_known_hosts_entry() {
    require_sshd!();
    let fx = Fixture::new();
    let sshd = Sshd::start("rsa", &fx.authorized(), "");
    fx.trust(&sshd);
    let st = std::process::Command::new("ssh-keygen")
        .arg("-H")
        .arg("-f")
        .arg(fx.known_hosts())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("ssh-keygen -H");
    assert!(st.success());
    let text = std::fs::read_to_string(fx.known_hosts()).expect("kh");
    assert!(text.starts_with("|1|"), "{text}");
    let s = settings_for(&sshd, Some(&fx.key("ed25519")), fx.home.path(), true, &[]);
    let conn = Connection::connect(&s, &no_agent())
        .await
        .expect("hashed entry matches (RSA host key)");
    conn.close().await;
}

#[tokio::test]
async fn proxy_jump_through_second_sshd() {
    require_sshd!();
    let fx = Fixture::new();
    let jump = Sshd::start("ed25519", &fx.authorized(), "");
    let target = Sshd::start("ecdsa", &fx.authorized(), "");
    fx.trust(&jump);
    fx.trust(&target);
    // The jump host as ssh_config knows it, with its own key and port.
    let cfg = rustle_transport::ssh_config::SshConfig::parse(
        &format!(
            "Host jumpbox\n  HostName 127.0.0.1\n  Port {}\n  User {}\n  IdentityFile {}\n",
            jump.port,
            current_user(),
            fx.key("ecdsa").display()
        ),
        None,
    );
    let mut vars = BTreeMap::new();
    vars.insert("ansible_host".to_string(), "127.0.0.1".to_string());
    vars.insert("ansible_port".to_string(), target.port.to_string());
    vars.insert("ansible_user".to_string(), current_user());
    vars.insert(
        "ansible_ssh_private_key_file".to_string(),
        fx.key("rsa").display().to_string(),
    );
    vars.insert(
        "ansible_ssh_common_args".to_string(),
        "-o ProxyJump=jumpbox".to_string(),
    );
    let defaults = Defaults {
        home: Some(fx.home.path().to_path_buf()),
        ..Defaults::default()
    };
    let configs = SshConfigs {
        user: cfg,
        system: Default::default(),
    };
    let s = resolve("testhost", &vars, &defaults, &configs).expect("settings");
    assert_eq!(s.proxy_jump.len(), 1);
    let conn = Connection::connect(&s, &no_agent())
        .await
        .unwrap_or_else(|e| panic!("{e}\njump: {}\ntarget: {}", jump.log(), target.log()));
    let out = conn.exec("echo $SSH_CONNECTION", &[]).await.expect("exec");
    // The target sees the connection coming from the jump host's sshd.
    let seen = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(seen.contains(&target.port.to_string()), "{seen}");
    conn.close().await;

    // A failing hop is named in the error.
    drop(jump);
    let err = Connection::connect(&s, &no_agent())
        .await
        .err()
        .expect("jump down");
    let msg = err.to_string();
    assert!(
        msg.starts_with("jump host jumpbox: connect to host 127.0.0.1 port"),
        "{msg}"
    );
}

#[tokio::test]
async fn encrypted_key_needs_its_passphrase() {
    require_sshd!();
    let fx = Fixture::new();
    let sshd = Sshd::start("ed25519", &fx.authorized(), "");
    fx.trust(&sshd);
    let s = settings_for(&sshd, Some(&fx.key("encrypted")), fx.home.path(), true, &[]);
    let err = Connection::connect(&s, &no_agent())
        .await
        .err()
        .expect("no passphrase");
    assert!(matches!(err, ConnectError::Key { .. }), "{err}");
    let auth = AuthOptions {
        passphrase: Some("s3cret pass".into()),
        no_agent: true,
        ..AuthOptions::default()
    };
    let conn = Connection::connect(&s, &auth)
        .await
        .expect("with passphrase");
    conn.close().await;
}

#[tokio::test]
async fn wrong_key_is_permission_denied() {
    require_sshd!();
    let fx = Fixture::new();
    let sshd = Sshd::start("ed25519", &fx.authorized(), "");
    fx.trust(&sshd);
    let s = settings_for(&sshd, Some(&fx.key("stranger")), fx.home.path(), true, &[]);
    let err = Connection::connect(&s, &no_agent())
        .await
        .err()
        .expect("denied");
    assert_eq!(
        err.to_string(),
        format!(
            "{}@127.0.0.1: Permission denied (publickey).",
            current_user()
        )
    );
    assert!(!err.is_transient());
}

#[tokio::test]
async fn ssh_agent_keys() {
    require_sshd!();
    let fx = Fixture::new();
    let sshd = Sshd::start("ed25519", &fx.authorized(), "");
    fx.trust(&sshd);
    let sock = fx.keys.path().join("agent.sock");
    let mut agent = std::process::Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(&sock)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("ssh-agent");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !sock.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let st = std::process::Command::new("ssh-add")
        .arg(fx.key("ecdsa"))
        .env("SSH_AUTH_SOCK", &sock)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("ssh-add");
    assert!(st.success());
    // No identity file given (defaults under the empty home do not exist).
    let s = settings_for(&sshd, None, fx.home.path(), true, &[]);
    let auth = AuthOptions {
        agent_socket: Some(sock.clone()),
        ..AuthOptions::default()
    };
    let r = Connection::connect(&s, &auth).await;
    let _ = agent.kill();
    let _ = agent.wait();
    let conn = r.expect("agent auth");
    conn.close().await;
}

#[tokio::test]
async fn sftp_upload() {
    require_sshd!();
    let fx = Fixture::new();
    let sshd = Sshd::start("ed25519", &fx.authorized(), "");
    fx.trust(&sshd);
    let s = settings_for(&sshd, Some(&fx.key("ed25519")), fx.home.path(), true, &[]);
    let conn = Connection::connect(&s, &no_agent()).await.expect("connect");
    let local = fx.keys.path().join("payload.bin");
    let data: Vec<u8> = (0..5_000_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&local, &data).expect("payload");
    let remote = sshd.dir.path().join("uploaded.bin");
    let start = Instant::now();
    let n = conn
        .upload(&local, &remote.display().to_string(), Some(0o700))
        .await
        .expect("upload");
    eprintln!("sftp upload of 5 MB: {:?}", start.elapsed());
    assert_eq!(n, data.len() as u64);
    assert!(std::fs::read(&remote).expect("remote") == data);
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&remote)
        .expect("meta")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
    conn.close().await;
}

#[tokio::test]
async fn unreachable_with_retries() {
    let port = common::free_port();
    let home = tempfile::tempdir().expect("home");
    let mut vars = BTreeMap::new();
    vars.insert("ansible_host".to_string(), "127.0.0.1".to_string());
    vars.insert("ansible_port".to_string(), port.to_string());
    let defaults = Defaults {
        home: Some(home.path().to_path_buf()),
        retries: Some(2),
        ..Defaults::default()
    };
    let s = resolve("down", &vars, &defaults, &SshConfigs::default()).expect("settings");
    let start = Instant::now();
    let err = Connection::connect(&s, &no_agent())
        .await
        .err()
        .expect("refused");
    // Two retries: pauses of 0 s then 1 s.
    assert!(
        start.elapsed() >= Duration::from_millis(900),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(
        err.to_string(),
        format!("connect to host 127.0.0.1 port {port}: Connection refused")
    );
    assert!(err.is_transient());
}

#[test]
fn probe_all_reports_each_host() {
    require_sshd!();
    let fx = Fixture::new();
    let a = Sshd::start("ed25519", &fx.authorized(), "");
    let b = Sshd::start("ed25519", &fx.authorized(), "");
    fx.trust(&a);
    fx.trust(&b);
    let down = common::free_port();
    let mut hosts = vec![
        settings_for(&a, Some(&fx.key("ed25519")), fx.home.path(), true, &[]),
        settings_for(&b, Some(&fx.key("ed25519")), fx.home.path(), true, &[]),
    ];
    let mut c = hosts[0].clone();
    c.port = down;
    hosts.push(c);
    let res = rustle_transport::probe_all(hosts, &no_agent(), 2).expect("runtime");
    assert_eq!(res.len(), 3);
    assert!(res[0].1.is_ok(), "{:?}", res[0].1);
    assert!(res[1].1.is_ok(), "{:?}", res[1].1);
    assert_eq!(
        res[2].1.as_ref().err().map(String::as_str),
        Some(format!("connect to host 127.0.0.1 port {down}: Connection refused").as_str())
    );
}

#[tokio::test]
async fn host_certificate_trusted_through_cert_authority() {
    require_sshd!();
    let fx = Fixture::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let host_key = dir.path().join("ssh_host_ed25519_key");
    keygen(&host_key, "ed25519", "");
    let ca = fx.keys.path().join("host_ca");
    keygen(&ca, "ed25519", "");
    let st = std::process::Command::new("ssh-keygen")
        .args(["-q", "-s"])
        .arg(&ca)
        .args(["-I", "testhost", "-h", "-n", "127.0.0.1", "-V", "-5m:+1h"])
        .arg(dir.path().join("ssh_host_ed25519_key.pub"))
        .status()
        .expect("ssh-keygen -s");
    assert!(st.success());
    let cert = dir.path().join("ssh_host_ed25519_key-cert.pub");
    let extra = format!("HostCertificate {}", cert.display());
    let sshd = Sshd::start_with_key(dir, host_key, &fx.authorized(), &extra);
    // Only the CA is trusted: no plain entry for the host.
    let ca_pub = pub_of(&ca);
    let mut f = ca_pub.split_whitespace();
    std::fs::write(
        fx.known_hosts(),
        format!(
            "@cert-authority [127.0.0.1]:{} {} {}\n",
            sshd.port,
            f.next().expect("type"),
            f.next().expect("b64")
        ),
    )
    .expect("known_hosts");
    let s = settings_for(&sshd, Some(&fx.key("ed25519")), fx.home.path(), true, &[]);
    let conn = Connection::connect(&s, &no_agent())
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", sshd.log()));
    assert!(conn.notes.is_empty());
    conn.close().await;
}

#[tokio::test]
async fn silent_server_times_out() {
    // Accepts TCP connections but never sends a banner.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let home = tempfile::tempdir().expect("home");
    let mut vars = BTreeMap::new();
    vars.insert("ansible_host".to_string(), "127.0.0.1".to_string());
    vars.insert("ansible_port".to_string(), port.to_string());
    let defaults = Defaults {
        home: Some(home.path().to_path_buf()),
        timeout: Some(1),
        ..Defaults::default()
    };
    let s = resolve("silent", &vars, &defaults, &SshConfigs::default()).expect("settings");
    let start = Instant::now();
    let err = Connection::connect(&s, &no_agent())
        .await
        .err()
        .expect("timed out");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(
        err.to_string(),
        format!("ssh: 127.0.0.1 port {port}: Connection timed out during banner exchange")
    );
    drop(listener);
}
