//! Host key verification against OpenSSH `known_hosts` files.
//!
//! Understands what users' files contain: plain host patterns (comma
//! lists, `*`/`?` wildcards, `!` negation), hashed names (`|1|salt|hmac`),
//! the `[host]:port` form for ports other than 22, `@revoked` lines and
//! `@cert-authority` lines (host certificates signed by a trusted CA, with
//! principal, type and validity checks). Messages are worded as OpenSSH's.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use russh::keys::ssh_key::{certificate::CertType, public::KeyData, Certificate};
use russh::keys::{Algorithm, HashAlg, PublicKey};

use crate::ssh_config::host_patterns_match;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    None,
    CertAuthority,
    Revoked,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Names {
    Plain(Vec<String>),
    Hashed { salt: Vec<u8>, hash: Vec<u8> },
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub file: PathBuf,
    /// 1-based line number.
    pub line: usize,
    pub marker: Marker,
    names: Names,
    pub key: PublicKey,
}

/// The name a host is recorded under: `host`, or `[host]:port` off port 22.
pub fn lookup_name(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

/// OpenSSH's short key type label (`ED25519`, `ECDSA`, `RSA`).
pub fn key_type_label(alg: &Algorithm) -> String {
    match alg {
        Algorithm::Ed25519 => "ED25519".into(),
        Algorithm::Ecdsa { .. } => "ECDSA".into(),
        Algorithm::Rsa { .. } => "RSA".into(),
        Algorithm::Dsa => "DSA".into(),
        Algorithm::SkEd25519 => "ED25519-SK".into(),
        Algorithm::SkEcdsaSha2NistP256 => "ECDSA-SK".into(),
        other => other.as_str().to_ascii_uppercase(),
    }
}

/// `SHA256:base64` as `ssh-keygen -l` prints it.
pub fn fingerprint(key: &KeyData) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

fn same_type(a: &KeyData, b: &KeyData) -> bool {
    // RSA keys compare equal whatever signature hash was negotiated.
    key_type_label(&a.algorithm()) == key_type_label(&b.algorithm())
}

impl Entry {
    fn matches_host(&self, name: &str) -> bool {
        match &self.names {
            Names::Plain(p) => host_patterns_match(p, name),
            Names::Hashed { salt, hash } => {
                let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(salt) else {
                    return false;
                };
                mac.update(name.as_bytes());
                mac.verify_slice(hash).is_ok()
            }
        }
    }
}

/// Parses one known_hosts line. `Ok(None)` for blank/comment lines; an
/// error for lines OpenSSH would skip as malformed (we skip them too).
fn parse_line(line: &str) -> Result<Option<(Marker, Names, PublicKey)>, String> {
    let t = line.trim();
    if t.is_empty() || t.starts_with('#') {
        return Ok(None);
    }
    let mut fields = t.split_whitespace();
    let mut first = fields.next().ok_or("empty line")?;
    let marker = match first {
        "@cert-authority" => Marker::CertAuthority,
        "@revoked" => Marker::Revoked,
        m if m.starts_with('@') => return Err(format!("unknown marker {m}")),
        _ => Marker::None,
    };
    if marker != Marker::None {
        first = fields.next().ok_or("missing host names")?;
    }
    let names = if let Some(rest) = first.strip_prefix("|1|") {
        let (salt, hash) = rest.split_once('|').ok_or("bad hashed host name")?;
        Names::Hashed {
            salt: B64.decode(salt).map_err(|e| e.to_string())?,
            hash: B64.decode(hash).map_err(|e| e.to_string())?,
        }
    } else {
        Names::Plain(first.split(',').map(str::to_string).collect())
    };
    let kind = fields.next().ok_or("missing key type")?;
    let b64 = fields.next().ok_or("missing key")?;
    let key = PublicKey::from_openssh(&format!("{kind} {b64}")).map_err(|e| e.to_string())?;
    Ok(Some((marker, names, key)))
}

/// All entries of a set of known_hosts files (missing files are empty).
#[derive(Debug, Clone, Default)]
pub struct KnownHosts {
    pub entries: Vec<Entry>,
}

impl KnownHosts {
    pub fn load(files: &[PathBuf]) -> KnownHosts {
        let mut kh = KnownHosts::default();
        for f in files {
            if let Ok(text) = std::fs::read_to_string(f) {
                kh.add_text(&text, f);
            }
        }
        kh
    }

    pub fn add_text(&mut self, text: &str, file: &Path) {
        for (i, line) in text.lines().enumerate() {
            if let Ok(Some((marker, names, key))) = parse_line(line) {
                self.entries.push(Entry {
                    file: file.to_path_buf(),
                    line: i + 1,
                    marker,
                    names,
                    key,
                });
            }
        }
    }

    fn for_host<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Entry> + 'a {
        self.entries.iter().filter(move |e| e.matches_host(name))
    }

    /// Key algorithms recorded for this host, for ordering the host key
    /// algorithms offered in the key exchange as OpenSSH does (so a host
    /// known by its ECDSA key is asked for that key).
    pub fn known_algorithms(&self, host: &str, port: u16) -> Vec<Algorithm> {
        let name = lookup_name(host, port);
        let mut out: Vec<Algorithm> = Vec::new();
        for e in self.for_host(&name) {
            if e.marker == Marker::None && !out.contains(&e.key.algorithm()) {
                out.push(e.key.algorithm());
            }
        }
        out
    }

    /// Whether a CA is trusted for this host (then host certificates are
    /// worth asking for).
    pub fn has_cert_authority(&self, host: &str, port: u16) -> bool {
        let name = lookup_name(host, port);
        let found = self
            .for_host(&name)
            .any(|e| e.marker == Marker::CertAuthority);
        found
    }

    /// Checks a plain host key.
    pub fn check_key(&self, host: &str, port: u16, key: &KeyData) -> HostKeyStatus {
        let name = lookup_name(host, port);
        let mut changed: Option<&Entry> = None;
        let mut known = false;
        for e in self.for_host(&name) {
            match e.marker {
                Marker::Revoked if e.key.key_data() == key => return HostKeyStatus::Revoked,
                Marker::None if e.key.key_data() == key => known = true,
                Marker::None if same_type(e.key.key_data(), key) => {
                    changed.get_or_insert(e);
                }
                _ => {}
            }
        }
        if known {
            HostKeyStatus::Known
        } else if let Some(e) = changed {
            HostKeyStatus::Changed {
                file: e.file.clone(),
                line: e.line,
            }
        } else {
            HostKeyStatus::Unknown
        }
    }

    /// Checks a host certificate: trusted when a `@cert-authority` line for
    /// this host holds its signing key and the certificate is a valid host
    /// certificate for this name now. Otherwise the certificate's key is
    /// checked as a plain key (OpenSSH's fallback).
    pub fn check_certificate(&self, host: &str, port: u16, cert: &Certificate) -> HostKeyStatus {
        let name = lookup_name(host, port);
        for e in self.for_host(&name) {
            if e.marker == Marker::Revoked
                && (e.key.key_data() == cert.signature_key()
                    || e.key.key_data() == cert.public_key())
            {
                return HostKeyStatus::Revoked;
            }
        }
        let ca_trusted = self
            .for_host(&name)
            .any(|e| e.marker == Marker::CertAuthority && e.key.key_data() == cert.signature_key());
        if ca_trusted {
            let ca_fp = cert.signature_key().fingerprint(HashAlg::Sha256);
            let principal_ok = cert.valid_principals().is_empty()
                || cert.valid_principals().iter().any(|p| p == host);
            if cert.cert_type() == CertType::Host && principal_ok && cert.validate([&ca_fp]).is_ok()
            {
                return HostKeyStatus::Known;
            }
        }
        self.check_key(host, port, cert.public_key())
    }
}

/// What known_hosts says about a presented key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKeyStatus {
    Known,
    /// No key of this type is recorded for the host.
    Unknown,
    /// A different key of the same type is recorded (file, line).
    Changed {
        file: PathBuf,
        line: usize,
    },
    Revoked,
}

/// A refused host key, with OpenSSH's wording in `Display`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKeyError {
    Changed {
        name: String,
        key_type: String,
        fingerprint: String,
        file: PathBuf,
        line: usize,
        record_file: PathBuf,
    },
    Unknown {
        name: String,
        key_type: String,
        fingerprint: String,
    },
    Revoked {
        name: String,
        key_type: String,
        fingerprint: String,
    },
}

impl std::fmt::Display for HostKeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostKeyError::Changed {
                name,
                key_type,
                fingerprint,
                file,
                line,
                record_file,
            } => {
                let bar = "@".repeat(59);
                let mut s = String::new();
                let _ = writeln!(s, "{bar}");
                let _ = writeln!(s, "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @");
                let _ = writeln!(s, "{bar}");
                let _ = writeln!(s, "IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!");
                let _ = writeln!(
                    s,
                    "Someone could be eavesdropping on you right now (man-in-the-middle attack)!"
                );
                let _ = writeln!(s, "It is also possible that a host key has just been changed.");
                let _ = writeln!(
                    s,
                    "The fingerprint for the {key_type} key sent by the remote host is\n{fingerprint}."
                );
                let _ = writeln!(s, "Please contact your system administrator.");
                let _ = writeln!(
                    s,
                    "Add correct host key in {} to get rid of this message.",
                    record_file.display()
                );
                let _ = writeln!(s, "Offending {key_type} key in {}:{line}", file.display());
                let _ = writeln!(s, "  remove with:");
                let _ = writeln!(
                    s,
                    "  ssh-keygen -f \"{}\" -R \"{name}\"",
                    file.display()
                );
                let _ = writeln!(
                    s,
                    "Host key for {name} has changed and you have requested strict checking."
                );
                s.push_str("Host key verification failed.");
                f.write_str(&s)
            }
            HostKeyError::Unknown {
                name,
                key_type,
                fingerprint,
            } => write!(
                f,
                "No {key_type} host key is known for {name} and you have requested strict checking.\n\
                 ({key_type} key fingerprint is {fingerprint}.)\n\
                 Host key verification failed."
            ),
            HostKeyError::Revoked {
                name,
                key_type,
                fingerprint,
            } => {
                let bar = "@".repeat(59);
                write!(
                    f,
                    "{bar}\n@       WARNING: REVOKED HOST KEY DETECTED!               @\n{bar}\n\
                     The {key_type} host key for {name} is marked as revoked.\n\
                     This could mean that a stolen key is being used to\n\
                     impersonate this host.\n\
                     {key_type} key fingerprint is {fingerprint}.\n\
                     Host key verification failed."
                )
            }
        }
    }
}

impl std::error::Error for HostKeyError {}

/// The accepted outcome of a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    Known,
    /// Unknown host accepted and recorded; the message is OpenSSH's
    /// `Warning: Permanently added ...` line (or why recording failed).
    Added(String),
}

/// Policy for one verification.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Files read (user files first, then global ones).
    pub files: Vec<PathBuf>,
    /// Where an accepted unknown key is appended (OpenSSH: the first
    /// `UserKnownHostsFile`); `None` = do not record.
    pub record_file: Option<PathBuf>,
    /// Accept unknown hosts (host_key_checking off, or
    /// `StrictHostKeyChecking no/accept-new`).
    pub accept_unknown: bool,
}

/// The key a server presented.
pub enum Presented<'a> {
    Key(&'a PublicKey),
    Certificate(&'a Certificate),
}

/// Verifies a presented key for `host:port` under `policy`; a changed or
/// revoked key is always refused. Unknown hosts accepted are appended to
/// `policy.record_file`.
pub fn verify(
    policy: &Policy,
    host: &str,
    port: u16,
    presented: Presented<'_>,
) -> Result<Verified, Box<HostKeyError>> {
    let kh = KnownHosts::load(&policy.files);
    let (status, key_data) = match presented {
        Presented::Key(k) => (kh.check_key(host, port, k.key_data()), k.key_data().clone()),
        Presented::Certificate(c) => (kh.check_certificate(host, port, c), c.public_key().clone()),
    };
    let name = lookup_name(host, port);
    let key_type = key_type_label(&key_data.algorithm());
    let fp = fingerprint(&key_data);
    match status {
        HostKeyStatus::Known => Ok(Verified::Known),
        HostKeyStatus::Revoked => Err(Box::new(HostKeyError::Revoked {
            name,
            key_type,
            fingerprint: fp,
        })),
        HostKeyStatus::Changed { file, line } => Err(Box::new(HostKeyError::Changed {
            name,
            key_type,
            fingerprint: fp,
            record_file: policy.record_file.clone().unwrap_or_else(|| file.clone()),
            file,
            line,
        })),
        HostKeyStatus::Unknown if !policy.accept_unknown => Err(Box::new(HostKeyError::Unknown {
            name,
            key_type,
            fingerprint: fp,
        })),
        HostKeyStatus::Unknown => {
            let Some(record) = &policy.record_file else {
                return Ok(Verified::Added(format!(
                    "Warning: {key_type} host key for '{name}' accepted but not recorded."
                )));
            };
            let line = match PublicKey::new(key_data, "").to_openssh() {
                Ok(k) => format!("{name} {}\n", k.trim_end()),
                Err(e) => return Ok(Verified::Added(format!("Failed to add the host key: {e}"))),
            };
            match append(record, &line) {
                Ok(()) => Ok(Verified::Added(format!(
                    "Warning: Permanently added '{name}' ({key_type}) to the list of known hosts."
                ))),
                Err(e) => Ok(Verified::Added(format!(
                    "Failed to add the host to the list of known hosts ({}): {e}",
                    record.display()
                ))),
            }
        }
    }
}

fn append(path: &Path, line: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() && !dir.exists() {
            std::fs::create_dir_all(dir)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
            }
        }
    }
    // Appends are serialised per process: concurrent connections may record
    // at the same time.
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    // A file not ending in a newline would glue our entry to its last line.
    let len = f.metadata()?.len();
    if len > 0 {
        let text = std::fs::read(path)?;
        if text.last() != Some(&b'\n') {
            f.write_all(b"\n")?;
        }
    }
    f.write_all(line.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED1: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMwVXJ4qB5Ew7wGhRC6Eae1b2J3tQxHk/xWrbbSPmMIP";

    fn key(s: &str) -> PublicKey {
        PublicKey::from_openssh(s).expect("key")
    }

    /// Generates a key pair with ssh-keygen (OpenSSH's own format) and
    /// returns (private key path, public key).
    fn keygen(dir: &Path, name: &str) -> (PathBuf, PublicKey) {
        let path = dir.join(name);
        let st = std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "", "-f"])
            .arg(&path)
            .status()
            .expect("ssh-keygen");
        assert!(st.success());
        let pubtext = std::fs::read_to_string(path.with_extension("pub")).expect("pub");
        (path, key(pubtext.trim()))
    }

    fn gen_ed25519() -> PublicKey {
        let dir = tempfile::tempdir().expect("tempdir");
        keygen(dir.path(), "k").1
    }

    fn hashed(name: &str, salt: &[u8]) -> String {
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(salt).expect("hmac");
        mac.update(name.as_bytes());
        format!(
            "|1|{}|{}",
            B64.encode(salt),
            B64.encode(mac.finalize().into_bytes())
        )
    }

    #[test]
    fn plain_hashed_port_and_patterns() {
        let k = key(ED1);
        let other = gen_ed25519();
        let mut kh = KnownHosts::default();
        kh.add_text(
            &format!(
                "# comment\n\
                 web1,10.0.0.1 {ED1}\n\
                 [127.0.0.1]:2222 {ED1}\n\
                 {} {ED1}\n\
                 *.corp,!bad.corp {ED1}\n\
                 garbage line\n",
                hashed("hashed.example", b"0123456789abcdefghij")
            ),
            Path::new("/kh"),
        );
        assert_eq!(kh.entries.len(), 4);
        assert_eq!(kh.check_key("web1", 22, k.key_data()), HostKeyStatus::Known);
        assert_eq!(
            kh.check_key("10.0.0.1", 22, k.key_data()),
            HostKeyStatus::Known
        );
        assert_eq!(
            kh.check_key("127.0.0.1", 2222, k.key_data()),
            HostKeyStatus::Known
        );
        assert_eq!(
            kh.check_key("127.0.0.1", 22, k.key_data()),
            HostKeyStatus::Unknown
        );
        assert_eq!(
            kh.check_key("hashed.example", 22, k.key_data()),
            HostKeyStatus::Known
        );
        assert_eq!(
            kh.check_key("a.corp", 22, k.key_data()),
            HostKeyStatus::Known
        );
        assert_eq!(
            kh.check_key("bad.corp", 22, k.key_data()),
            HostKeyStatus::Unknown
        );
        assert_eq!(
            kh.check_key("web1", 22, other.key_data()),
            HostKeyStatus::Changed {
                file: PathBuf::from("/kh"),
                line: 2
            }
        );
        assert_eq!(kh.known_algorithms("web1", 22), vec![Algorithm::Ed25519]);
    }

    #[test]
    fn revoked_wins() {
        let mut kh = KnownHosts::default();
        kh.add_text(&format!("web1 {ED1}\n@revoked * {ED1}\n"), Path::new("/kh"));
        assert_eq!(
            kh.check_key("web1", 22, key(ED1).key_data()),
            HostKeyStatus::Revoked
        );
    }

    #[test]
    fn verify_records_unknown_and_refuses_changed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("sub/known_hosts");
        let k = gen_ed25519();
        let strict = Policy {
            files: vec![file.clone()],
            record_file: Some(file.clone()),
            accept_unknown: false,
        };
        let err = verify(&strict, "127.0.0.1", 2200, Presented::Key(&k)).expect_err("unknown");
        let msg = err.to_string();
        assert!(
            msg.starts_with("No ED25519 host key is known for [127.0.0.1]:2200"),
            "{msg}"
        );
        assert!(msg.contains("SHA256:"));
        let lax = Policy {
            accept_unknown: true,
            ..strict.clone()
        };
        let added = verify(&lax, "127.0.0.1", 2200, Presented::Key(&k)).expect("accepted");
        assert_eq!(
            added,
            Verified::Added(
                "Warning: Permanently added '[127.0.0.1]:2200' (ED25519) to the list of known hosts."
                    .into()
            )
        );
        assert_eq!(
            verify(&strict, "127.0.0.1", 2200, Presented::Key(&k)).expect("known now"),
            Verified::Known
        );
        let other = gen_ed25519();
        let err = verify(&lax, "127.0.0.1", 2200, Presented::Key(&other)).expect_err("changed");
        let msg = err.to_string();
        assert!(
            msg.contains("REMOTE HOST IDENTIFICATION HAS CHANGED"),
            "{msg}"
        );
        assert!(msg.contains(&fingerprint(other.key_data())), "{msg}");
        assert!(
            msg.contains(&format!("Offending ED25519 key in {}:1", file.display())),
            "{msg}"
        );
    }

    #[test]
    fn cert_authority() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (ca_path, ca) = keygen(dir.path(), "ca");
        let (host_path, _) = keygen(dir.path(), "host");
        let st = std::process::Command::new("ssh-keygen")
            .args(["-q", "-s"])
            .arg(&ca_path)
            .args(["-I", "web1", "-h", "-n", "web1", "-V", "-5m:+1h"])
            .arg(host_path.with_extension("pub"))
            .status()
            .expect("ssh-keygen -s");
        assert!(st.success());
        let cert_text = std::fs::read_to_string(dir.path().join("host-cert.pub")).expect("cert");
        let cert = Certificate::from_openssh(cert_text.trim()).expect("parse cert");
        let ca_line = ca.to_openssh().expect("ca pub");
        let mut kh = KnownHosts::default();
        kh.add_text(
            &format!("@cert-authority *.corp,web1 {ca_line}\n"),
            Path::new("/kh"),
        );
        assert!(kh.has_cert_authority("web1", 22));
        assert_eq!(
            kh.check_certificate("web1", 22, &cert),
            HostKeyStatus::Known
        );
        // Not a listed principal: falls back to the plain key, unknown.
        assert_eq!(
            kh.check_certificate("db.corp", 22, &cert),
            HostKeyStatus::Unknown
        );
        kh.add_text(&format!("@revoked * {ca_line}\n"), Path::new("/kh"));
        assert_eq!(
            kh.check_certificate("web1", 22, &cert),
            HostKeyStatus::Revoked
        );
    }
}
