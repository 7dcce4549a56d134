//! Ansible Vault, byte-compatible with `ansible-vault`: the
//! `$ANSIBLE_VAULT;1.1;AES256` and `$ANSIBLE_VAULT;1.2;AES256;<id>`
//! envelopes, AES-256-CTR with PKCS#7 padding, keys from
//! PBKDF2-HMAC-SHA256 (10000 iterations, 80 bytes: cipher key, HMAC key,
//! counter), HMAC-SHA256 over the ciphertext verified in constant time
//! before anything is decrypted. Passwords and plaintexts live in
//! zeroizing buffers.

use aes::cipher::{KeyIvInit, StreamCipher};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use thiserror::Error;
use zeroize::Zeroizing;

pub use zeroize;

/// The first bytes of every vaulted text.
pub const HEADER: &str = "$ANSIBLE_VAULT";
const CIPHER: &str = "AES256";
const ITERATIONS: u32 = 10_000;

type Aes256Ctr = ctr::Ctr128BE<aes::Aes256>;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum VaultError {
    /// The text does not start with `$ANSIBLE_VAULT`.
    #[error("input is not vault encrypted data. {0}")]
    NotVault(String),
    /// A malformed envelope or body (Ansible's `AnsibleVaultFormatError`).
    #[error("{0}")]
    Format(String),
    #[error("{0} cipher could not be found")]
    Cipher(String),
    #[error("Attempting to decrypt but no vault secrets found")]
    NoSecrets,
    /// No secret's HMAC matched (wrong password or tampered data).
    #[error("Decryption failed (no vault secrets were found that could decrypt){}", on(.0))]
    NoMatch(Option<String>),
    #[error("A vault password must be specified to decrypt data{}", in_file(.0))]
    EmptyPassword(Option<String>),
}

fn on(file: &Option<String>) -> String {
    file.as_ref()
        .map(|f| format!(" on {f}"))
        .unwrap_or_default()
}

fn in_file(file: &Option<String>) -> String {
    file.as_ref()
        .map(|f| format!(" in file {f}"))
        .unwrap_or_default()
}

/// A vault password with its vault id (`default` unless given).
#[derive(Clone)]
pub struct Secret {
    pub id: String,
    password: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({}, <hidden>)", self.id)
    }
}

impl Secret {
    pub fn new(id: impl Into<String>, password: impl Into<Vec<u8>>) -> Self {
        Secret {
            id: id.into(),
            password: Zeroizing::new(password.into()),
        }
    }
    pub fn password(&self) -> &[u8] {
        &self.password
    }
}

/// The parts of a vault envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub version: String,
    pub cipher: String,
    /// The id named in a 1.2 header.
    pub vault_id: Option<String>,
    /// The hexlified body, line breaks removed.
    pub body: Vec<u8>,
}

/// Whether `data` is vaulted (ASCII, starting with the header), as
/// Ansible's `is_encrypted`.
pub fn is_encrypted(data: &[u8]) -> bool {
    data.is_ascii() && data.starts_with(HEADER.as_bytes())
}

/// Splits an envelope into header fields and body.
pub fn parse_envelope(data: &[u8], file: Option<&str>) -> Result<Envelope, VaultError> {
    let text = std::str::from_utf8(data).map_err(|e| format_err(file, &e.to_string()))?;
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let fields: Vec<&str> = header.trim().split(';').map(str::trim).collect();
    if fields.first() != Some(&HEADER) {
        return Err(VaultError::NotVault(match file {
            Some(f) => format!("{f} is not a vault encrypted file"),
            None => String::new(),
        }));
    }
    if fields.len() < 3 {
        return Err(format_err(file, "list index out of range"));
    }
    let body: Vec<u8> = lines.flat_map(|l| l.trim().bytes()).collect::<Vec<u8>>();
    Ok(Envelope {
        version: fields[1].to_owned(),
        cipher: fields[2].to_owned(),
        vault_id: fields.get(3).map(|s| (*s).to_owned()),
        body,
    })
}

fn format_err(file: Option<&str>, detail: &str) -> VaultError {
    let mut msg = "Vault envelope format error".to_owned();
    if let Some(f) = file {
        msg.push_str(&format!(" in {f}"));
    }
    msg.push_str(&format!(": {detail}"));
    VaultError::Format(msg)
}

fn unhexlify(data: &[u8]) -> Result<Vec<u8>, VaultError> {
    hex::decode(data).map_err(|e| {
        VaultError::Format(format!(
            "Vault format unhexlify error: {}",
            match e {
                hex::FromHexError::OddLength => "Odd-length string".to_owned(),
                _ => "Non-hexadecimal digit found".to_owned(),
            }
        ))
    })
}

struct Keys {
    cipher: Zeroizing<[u8; 32]>,
    mac: Zeroizing<[u8; 32]>,
    iv: [u8; 16],
}

fn derive(password: &[u8], salt: &[u8]) -> Keys {
    let mut out = Zeroizing::new([0u8; 80]);
    pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, ITERATIONS, out.as_mut());
    let mut cipher = Zeroizing::new([0u8; 32]);
    let mut mac = Zeroizing::new([0u8; 32]);
    let mut iv = [0u8; 16];
    cipher.copy_from_slice(&out[..32]);
    mac.copy_from_slice(&out[32..64]);
    iv.copy_from_slice(&out[64..80]);
    Keys { cipher, mac, iv }
}

fn hmac_of(key: &[u8], data: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length: this cannot fail.
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    m.update(data);
    m
}

/// Encrypts `plaintext` with `secret`: the complete vaulted text (header
/// line, 80-column body, final newline). `vault_id` other than `default`
/// makes a 1.2 envelope. `salt` is for reproducible tests; `None` draws
/// 32 random bytes as Ansible does.
pub fn encrypt(
    plaintext: &[u8],
    secret: &Secret,
    vault_id: Option<&str>,
    salt: Option<&[u8]>,
) -> Result<String, VaultError> {
    if secret.password.is_empty() {
        return Err(VaultError::EmptyPassword(None));
    }
    let salt: Vec<u8> = match salt {
        Some(s) => s.to_vec(),
        None => random_salt(),
    };
    let keys = derive(&secret.password, &salt);
    let pad = 16 - plaintext.len() % 16;
    let mut data = Zeroizing::new(Vec::with_capacity(plaintext.len() + pad));
    data.extend_from_slice(plaintext);
    data.extend(std::iter::repeat_n(pad as u8, pad));
    let mut cipher = Aes256Ctr::new(keys.cipher.as_ref().into(), (&keys.iv).into());
    let mut ct = data.to_vec();
    cipher.apply_keystream(&mut ct);
    let tag = hmac_of(keys.mac.as_ref(), &ct).finalize().into_bytes();
    let inner = format!(
        "{}\n{}\n{}",
        hex::encode(&salt),
        hex::encode(tag),
        hex::encode(&ct)
    );
    let body = hex::encode(inner.as_bytes());
    let version = match vault_id {
        Some(id) if id != "default" => "1.2",
        _ => "1.1",
    };
    let mut out = format!("{HEADER};{version};{CIPHER}");
    if version == "1.2" {
        if let Some(id) = vault_id {
            out.push(';');
            out.push_str(id);
        }
    }
    out.push('\n');
    for chunk in body.as_bytes().chunks(80) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    Ok(out)
}

fn random_salt() -> Vec<u8> {
    use std::io::Read;
    let mut salt = vec![0u8; 32];
    let ok = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut salt))
        .is_ok();
    if !ok {
        // No urandom (not Linux/Unix?): fall back to a time- and
        // address-seeded hash so salts still differ per call.
        let seed = format!(
            "{:?}{:p}",
            std::time::SystemTime::now(),
            &salt as *const Vec<u8>
        );
        let mut h = hmac_of(seed.as_bytes(), b"rustle-vault-salt");
        h.update(seed.as_bytes());
        salt.copy_from_slice(&h.finalize().into_bytes());
    }
    salt
}

/// Decrypts with one secret: `Ok(None)` when the HMAC does not match.
fn decrypt_body(body: &[u8], secret: &Secret) -> Result<Option<Zeroizing<Vec<u8>>>, VaultError> {
    let inner = unhexlify(body)?;
    let mut parts = inner.splitn(3, |b| *b == b'\n');
    let (Some(salt), Some(tag), Some(ct)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(VaultError::Format(
            "Vault vaulttext format error: not enough values to unpack (expected 3, got 1)"
                .to_owned(),
        ));
    };
    let salt = unhexlify(salt)?;
    let ct = unhexlify(ct)?;
    let tag = unhexlify(tag)?;
    let keys = derive(&secret.password, &salt);
    // Constant-time comparison, before any decryption.
    if hmac_of(keys.mac.as_ref(), &ct).verify_slice(&tag).is_err() {
        return Ok(None);
    }
    let mut plain = Zeroizing::new(ct);
    let mut cipher = Aes256Ctr::new(keys.cipher.as_ref().into(), (&keys.iv).into());
    cipher.apply_keystream(&mut plain);
    let pad = plain.last().copied().unwrap_or(0) as usize;
    let valid = (1..=16).contains(&pad)
        && pad <= plain.len()
        && plain[plain.len() - pad..]
            .iter()
            .all(|b| *b as usize == pad);
    if !valid {
        return Err(VaultError::Format("Invalid padding bytes.".to_owned()));
    }
    let n = plain.len() - pad;
    plain.truncate(n);
    Ok(Some(plain))
}

/// Decrypts vaulted `data` with the first secret that fits, trying the
/// envelope's vault id first and then the others, as Ansible does (with
/// `DEFAULT_VAULT_ID_MATCH` off). Returns the plaintext and the id used.
pub fn decrypt(
    data: &[u8],
    secrets: &[Secret],
    file: Option<&str>,
) -> Result<(Zeroizing<Vec<u8>>, String), VaultError> {
    if !is_encrypted(data) {
        return Err(VaultError::NotVault(match file {
            Some(f) => format!("{f} is not a vault encrypted file"),
            None => String::new(),
        }));
    }
    let env = parse_envelope(data, file)?;
    if env.cipher != CIPHER {
        return Err(VaultError::Cipher(env.cipher));
    }
    if secrets.is_empty() {
        return Err(VaultError::NoSecrets);
    }
    let mut order: Vec<&Secret> = Vec::new();
    if let Some(id) = &env.vault_id {
        order.extend(secrets.iter().filter(|s| &s.id == id));
    }
    order.extend(
        secrets
            .iter()
            .filter(|s| env.vault_id.as_deref() != Some(s.id.as_str())),
    );
    for s in order {
        if let Some(plain) = decrypt_body(&env.body, s)? {
            return Ok((plain, s.id.clone()));
        }
    }
    Err(VaultError::NoMatch(file.map(str::to_owned)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_1_1_and_1_2() {
        let s = Secret::new("default", "pw");
        for plain in [
            &b""[..],
            b"x",
            b"0123456789abcdef",
            "\u{e9}t\u{e9}\n".as_bytes(),
        ] {
            let v = encrypt(plain, &s, None, None).expect("encrypt");
            assert!(v.starts_with("$ANSIBLE_VAULT;1.1;AES256\n"));
            assert!(v.lines().skip(1).all(|l| l.len() <= 80));
            let (p, id) = decrypt(v.as_bytes(), std::slice::from_ref(&s), None).expect("decrypt");
            assert_eq!(&p[..], plain);
            assert_eq!(id, "default");
        }
        let dev = Secret::new("dev", "other");
        let v = encrypt(b"secret", &dev, Some("dev"), None).expect("encrypt");
        assert!(v.starts_with("$ANSIBLE_VAULT;1.2;AES256;dev\n"));
        let (p, id) = decrypt(v.as_bytes(), &[s, dev], None).expect("decrypt");
        assert_eq!(&p[..], b"secret");
        assert_eq!(id, "dev");
    }

    #[test]
    fn wrong_password_and_tampering_are_refused() {
        let v = encrypt(b"secret", &Secret::new("default", "pw"), None, None).expect("encrypt");
        let wrong = [Secret::new("default", "nope")];
        assert_eq!(
            decrypt(v.as_bytes(), &wrong, Some("f.yml"))
                .unwrap_err()
                .to_string(),
            "Decryption failed (no vault secrets were found that could decrypt) on f.yml"
        );
        // Flip one hex digit of the ciphertext part of the body.
        let mut bytes = v.into_bytes();
        let last = bytes.len() - 2;
        bytes[last] = if bytes[last] == b'0' { b'1' } else { b'0' };
        let right = [Secret::new("default", "pw")];
        assert!(decrypt(&bytes, &right, None).is_err());
        assert_eq!(
            decrypt(b"$ANSIBLE_VAULT;1.1;AES256\n00", &[], None).unwrap_err(),
            VaultError::NoSecrets
        );
    }

    #[test]
    fn fixed_salt_gives_ansibles_bytes() {
        // Made by ansible-vault 2.18 (`encrypt` of a file holding `hello`,
        // ANSIBLE_VAULT_ENCRYPT_SALT=abcdefgh, password `pw`).
        const ANSIBLE: &str = "$ANSIBLE_VAULT;1.1;AES256
363136323633363436353636363736380a3738303866383266653837323161313334613336656461
34623630663933373662613337623130393139623631346266613634373636363433323166633464
310a3736383531316139343633656532346364316530333565303838373866666130
";
        let s = Secret::new("default", "pw");
        let v = encrypt(b"hello", &s, None, Some(b"abcdefgh")).expect("encrypt");
        assert_eq!(v, ANSIBLE);
        let (p, _) = decrypt(ANSIBLE.as_bytes(), &[s], None).expect("decrypt");
        assert_eq!(&p[..], b"hello");
    }
}

/// The run's vault secrets, set once when the command line is read and
/// used by every loader (inventory, playbooks, vars files, templates), as
/// Ansible's `DataLoader` holds them.
pub mod keyring {
    use std::sync::RwLock;

    use zeroize::Zeroizing;

    use super::{decrypt, Secret, VaultError};

    static SECRETS: RwLock<Vec<Secret>> = RwLock::new(Vec::new());

    /// Replaces the run's secrets.
    pub fn install(secrets: Vec<Secret>) {
        match SECRETS.write() {
            Ok(mut g) => *g = secrets,
            Err(p) => *p.into_inner() = secrets,
        }
    }

    /// The run's secrets, in the order they are tried.
    pub fn secrets() -> Vec<Secret> {
        match SECRETS.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Decrypts vaulted file content with the run's secrets.
    pub fn decrypt_file(data: &[u8], file: &str) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        decrypt(data, &secrets(), Some(file)).map(|(p, _)| p)
    }

    /// Decrypts an inline vaulted value (`!vault`) with the run's secrets.
    pub fn decrypt_value(text: &str) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        decrypt(text.as_bytes(), &secrets(), None).map(|(p, _)| p)
    }
}
