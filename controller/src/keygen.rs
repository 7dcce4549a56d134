//! `rustle keygen`: bundle signing keys.

use std::path::{Path, PathBuf};

use rustle_bundle::{KeyError, SecretKey};

/// Paths of a key pair written from `base`: `<base>.key` and `<base>.pub`.
pub fn pair_paths(base: &Path) -> (PathBuf, PathBuf) {
    let s = base.as_os_str().to_string_lossy();
    (
        PathBuf::from(format!("{s}.key")),
        PathBuf::from(format!("{s}.pub")),
    )
}

/// Generates a key pair; the secret key file is created with mode 0600 and
/// never overwrites an existing file.
pub fn generate(base: &Path) -> Result<(PathBuf, PathBuf, String), KeyError> {
    let (sk_path, pk_path) = pair_paths(base);
    let sk = SecretKey::generate();
    sk.write_pair(&sk_path, &pk_path)?;
    Ok((sk_path, pk_path, sk.public().id.to_string()))
}
