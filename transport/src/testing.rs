//! Test support (for this crate's tests and the end-to-end tests): a real OpenSSH `sshd` on a free 127.0.0.1 port, run as the
//! current user with everything in a temp dir (host key, authorized_keys,
//! config), key-only authentication.
//!
//! The remote user is the current user; sshd runs commands with that
//! user's login shell (`$SHELL -c`), and Debian's bash sources `~/.bashrc`
//! for commands run by sshd. A developer's `~/.bashrc` can take a second
//! (tool initialisers), so the config sets `HOME` to the temp dir
//! (`SetEnv`, applied after sshd's own HOME): the shell finds no start-up
//! files and an exec costs a few milliseconds.
//!
//! As root, sshd insists on its privilege separation directory
//! (`/run/sshd`, which the openssh-server package creates at service
//! start); the helper creates it when missing (an empty root-owned dir on
//! tmpfs). Not root, sshd needs nothing outside the temp dir.

#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const SSHD: &str = "/usr/sbin/sshd";

/// Whether tests can run (sshd and ssh-keygen installed).
pub fn available() -> bool {
    Path::new(SSHD).exists()
        && Command::new("ssh-keygen")
            .arg("-?")
            .stderr(Stdio::null())
            .status()
            .is_ok()
}

pub fn keygen(path: &Path, kind: &str, passphrase: &str) {
    let mut cmd = Command::new("ssh-keygen");
    cmd.args(["-q", "-t", kind, "-N", passphrase, "-C", "rustletest", "-f"])
        .arg(path);
    if kind == "rsa" {
        cmd.args(["-b", "2048"]);
    }
    let st = cmd.status().expect("run ssh-keygen");
    assert!(st.success(), "ssh-keygen -t {kind} failed");
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

pub fn current_user() -> String {
    crate::settings::local_user_name()
}

pub struct Sshd {
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub host_key: PathBuf,
    child: Child,
}

impl Sshd {
    /// Starts sshd with a host key of `host_key_type`, trusting the public
    /// keys given (contents of `.pub` files); `extra` is appended to the
    /// config.
    pub fn start(host_key_type: &str, authorized: &[String], extra: &str) -> Sshd {
        let dir = tempfile::tempdir().expect("tempdir");
        let host_key = dir.path().join(format!("ssh_host_{host_key_type}_key"));
        keygen(&host_key, host_key_type, "");
        Self::start_with_key(dir, host_key, authorized, extra)
    }

    pub fn start_with_key(
        dir: tempfile::TempDir,
        host_key: PathBuf,
        authorized: &[String],
        extra: &str,
    ) -> Sshd {
        let d = dir.path();
        std::fs::write(d.join("authorized_keys"), authorized.join("\n") + "\n")
            .expect("authorized_keys");
        let root = crate::settings::local_user_name() == "root";
        if root && !Path::new("/run/sshd").exists() {
            let _ = std::fs::create_dir_all("/run/sshd");
        }
        let port = free_port();
        let config = format!(
            "Port {port}\n\
             ListenAddress 127.0.0.1\n\
             HostKey {hk}\n\
             PidFile none\n\
             UsePAM no\n\
             StrictModes no\n\
             AuthorizedKeysFile {d}/authorized_keys\n\
             PubkeyAuthentication yes\n\
             PasswordAuthentication no\n\
             KbdInteractiveAuthentication no\n\
             PermitRootLogin prohibit-password\n\
             AllowTcpForwarding yes\n\
             MaxStartups 100\n\
             LogLevel ERROR\n\
             SetEnv HOME={d}\n\
             Subsystem sftp internal-sftp\n\
             {extra}\n",
            hk = host_key.display(),
            d = d.display(),
        );
        let cfg = d.join("sshd_config");
        std::fs::write(&cfg, config).expect("sshd_config");
        let log = std::fs::File::create(d.join("sshd.log")).expect("log");
        let child = Command::new(SSHD)
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(&cfg)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start sshd");
        let mut s = Sshd {
            dir,
            port,
            host_key,
            child,
        };
        s.wait_ready();
        s
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!(
                    "sshd exited ({st}): {}",
                    std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
                );
            }
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("sshd did not listen on {}", self.port);
    }

    /// The host's public key line (`type base64 comment`).
    pub fn host_pub(&self) -> String {
        std::fs::read_to_string(self.host_key.with_extension("pub"))
            .or_else(|_| {
                let mut p = self.host_key.as_os_str().to_owned();
                p.push(".pub");
                std::fs::read_to_string(PathBuf::from(p))
            })
            .expect("host pub")
            .trim()
            .to_string()
    }

    /// A known_hosts line for this server.
    pub fn known_hosts_line(&self) -> String {
        let mut parts = self.host_pub();
        if let Some(i) = parts.rfind(' ') {
            if parts[..i].contains(' ') {
                parts.truncate(i);
            }
        }
        format!("[127.0.0.1]:{} {parts}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads `path.pub`.
pub fn pub_of(path: &Path) -> String {
    let mut p = path.as_os_str().to_owned();
    p.push(".pub");
    std::fs::read_to_string(PathBuf::from(p))
        .expect("pub key")
        .trim()
        .to_string()
}
