//! ed25519 signing keys and the runner's trust store.
//!
//! Text formats (one key per line, `#` starts a comment line):
//! - public:  `rustle-ed25519-pub <key-id: 16 hex> <base64 of 32 bytes> [comment]`
//! - secret:  `rustle-ed25519-secret <key-id: 16 hex> <base64 of the 32-byte seed>`
//!
//! The key id is the first 8 bytes of SHA-256 over the public key.

use std::fmt;
use std::io::Write;
use std::path::Path;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use thiserror::Error;

const PUB_TAG: &str = "rustle-ed25519-pub";
const SECRET_TAG: &str = "rustle-ed25519-secret";

/// First 8 bytes of SHA-256 of a public key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(pub [u8; 8]);

impl KeyId {
    pub fn of(key: &VerifyingKey) -> Self {
        let d = Sha256::digest(key.as_bytes());
        let mut id = [0u8; 8];
        id.copy_from_slice(&d[..8]);
        KeyId(id)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

#[derive(Debug, Error)]
pub enum KeyError {
    #[error("{path}:{line}: expected \"{expected} <key-id> <base64>\", got {got:?}")]
    Malformed {
        path: String,
        line: usize,
        expected: &'static str,
        got: String,
    },
    #[error("{path}:{line}: key is {got} bytes after base64 decoding, expected 32")]
    BadLength {
        path: String,
        line: usize,
        got: usize,
    },
    #[error("{path}:{line}: key id {got} does not match the key (expected {expected})")]
    KeyIdMismatch {
        path: String,
        line: usize,
        got: String,
        expected: String,
    },
    #[error("{path}:{line}: not a valid ed25519 public key")]
    InvalidKey { path: String, line: usize },
    #[error("{path}: no key found")]
    Empty { path: String },
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("refusing to overwrite existing key file {path}")]
    Exists { path: String },
}

/// A public key that bundles can be verified against.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub key: VerifyingKey,
    pub id: KeyId,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.id)
    }
}

impl PublicKey {
    pub fn from_verifying(key: VerifyingKey) -> Self {
        PublicKey {
            id: KeyId::of(&key),
            key,
        }
    }

    /// The one-line text form.
    pub fn to_line(&self, comment: &str) -> String {
        let mut s = format!("{PUB_TAG} {} {}", self.id, B64.encode(self.key.as_bytes()));
        if !comment.is_empty() {
            s.push(' ');
            s.push_str(comment);
        }
        s
    }

    fn parse_line(path: &str, line_no: usize, line: &str) -> Result<Self, KeyError> {
        let bytes = parse_tagged(path, line_no, line, PUB_TAG)?;
        let key = VerifyingKey::from_bytes(&bytes.1).map_err(|_| KeyError::InvalidKey {
            path: path.to_owned(),
            line: line_no,
        })?;
        let pk = PublicKey::from_verifying(key);
        check_id(path, line_no, &bytes.0, pk.id)?;
        Ok(pk)
    }

    /// Parses the text form (first key line of `text`).
    pub fn parse(path: &str, text: &str) -> Result<Self, KeyError> {
        let store = TrustStore::parse(path, text)?;
        store
            .keys
            .into_iter()
            .next()
            .ok_or_else(|| KeyError::Empty { path: path.into() })
    }
}

/// A signing key. The seed is zeroized on drop (ed25519-dalek's `zeroize`).
pub struct SecretKey {
    key: SigningKey,
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({})", self.public().id)
    }
}

impl SecretKey {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> Self {
        SecretKey {
            key: SigningKey::generate(&mut rand_core::OsRng),
        }
    }

    /// A key from a fixed 32-byte seed (tests and fixtures).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        SecretKey {
            key: SigningKey::from_bytes(&seed),
        }
    }

    pub fn public(&self) -> PublicKey {
        PublicKey::from_verifying(self.key.verifying_key())
    }

    pub(crate) fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.key.sign(msg).to_bytes()
    }

    pub fn to_text(&self) -> String {
        format!(
            "# rustle bundle signing key: keep it secret\n{SECRET_TAG} {} {}\n",
            self.public().id,
            B64.encode(self.key.to_bytes())
        )
    }

    pub fn parse(path: &str, text: &str) -> Result<Self, KeyError> {
        for (i, line) in text.lines().enumerate() {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let (id, seed) = parse_tagged(path, i + 1, t, SECRET_TAG)?;
            let sk = SecretKey::from_seed(seed);
            check_id(path, i + 1, &id, sk.public().id)?;
            return Ok(sk);
        }
        Err(KeyError::Empty { path: path.into() })
    }

    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Read {
            path: p.clone(),
            source,
        })?;
        SecretKey::parse(&p, &text)
    }

    /// Writes `<base>.key` (mode 0600, created exclusively) and `<base>.pub`.
    pub fn write_pair(&self, secret_path: &Path, public_path: &Path) -> Result<(), KeyError> {
        use std::os::unix::fs::OpenOptionsExt;
        for p in [secret_path, public_path] {
            if p.exists() {
                return Err(KeyError::Exists {
                    path: p.display().to_string(),
                });
            }
        }
        let werr = |p: &Path| {
            let path = p.display().to_string();
            move |source| KeyError::Write { path, source }
        };
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(secret_path)
            .map_err(werr(secret_path))?;
        f.write_all(self.to_text().as_bytes())
            .and_then(|_| f.sync_all())
            .map_err(werr(secret_path))?;
        let line = self.public().to_line("rustle");
        std::fs::write(public_path, format!("{line}\n")).map_err(werr(public_path))?;
        Ok(())
    }
}

fn parse_tagged(
    path: &str,
    line_no: usize,
    line: &str,
    tag: &'static str,
) -> Result<(String, [u8; 32]), KeyError> {
    let malformed = || KeyError::Malformed {
        path: path.to_owned(),
        line: line_no,
        expected: tag,
        got: line.chars().take(60).collect(),
    };
    let mut parts = line.split_whitespace();
    if parts.next() != Some(tag) {
        return Err(malformed());
    }
    let id = parts.next().ok_or_else(malformed)?.to_owned();
    let b64 = parts.next().ok_or_else(malformed)?;
    let raw = B64.decode(b64).map_err(|_| malformed())?;
    let arr: [u8; 32] = raw.as_slice().try_into().map_err(|_| KeyError::BadLength {
        path: path.to_owned(),
        line: line_no,
        got: raw.len(),
    })?;
    Ok((id, arr))
}

fn check_id(path: &str, line: usize, got: &str, expected: KeyId) -> Result<(), KeyError> {
    if got.eq_ignore_ascii_case(&expected.to_string()) {
        Ok(())
    } else {
        Err(KeyError::KeyIdMismatch {
            path: path.to_owned(),
            line,
            got: got.to_owned(),
            expected: expected.to_string(),
        })
    }
}

/// The set of public keys a runner accepts bundles from.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    pub keys: Vec<PublicKey>,
}

impl TrustStore {
    pub fn new() -> Self {
        TrustStore::default()
    }

    pub fn add(&mut self, key: PublicKey) {
        if !self.keys.iter().any(|k| k.id == key.id && k.key == key.key) {
            self.keys.push(key);
        }
    }

    /// Parses a trust file: public key lines, blank lines and `#` comments.
    pub fn parse(path: &str, text: &str) -> Result<Self, KeyError> {
        let mut store = TrustStore::new();
        for (i, line) in text.lines().enumerate() {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            store.add(PublicKey::parse_line(path, i + 1, t)?);
        }
        Ok(store)
    }

    /// Adds every key of the file at `path`.
    pub fn load_file(&mut self, path: &Path) -> Result<(), KeyError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Read {
            path: p.clone(),
            source,
        })?;
        let parsed = TrustStore::parse(&p, &text)?;
        if parsed.keys.is_empty() {
            return Err(KeyError::Empty { path: p });
        }
        for k in parsed.keys {
            self.add(k);
        }
        Ok(())
    }

    pub fn find<'s>(&'s self, id: &'s [u8; 8]) -> impl Iterator<Item = &'s PublicKey> + 's {
        self.keys.iter().filter(move |k| &k.id.0 == id)
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub(crate) fn describe(&self) -> String {
        if self.keys.is_empty() {
            "none".to_owned()
        } else {
            self.keys
                .iter()
                .map(|k| k.id.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        }
    }
}
