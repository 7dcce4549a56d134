//! The run's vault secrets from the command line and settings, as
//! Ansible's `CLI.setup_vault_secrets` builds them: configured identities
//! first, then `--vault-id`, then password files (`--vault-password-file`,
//! `DEFAULT_VAULT_PASSWORD_FILE`) under the default id, then the
//! `--ask-vault-pass` prompt.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rustle_vault::{zeroize, Secret};

/// Where the secrets come from.
pub struct Sources<'a> {
    pub identity_list: &'a [String],
    pub vault_ids: &'a [String],
    pub password_files: Vec<PathBuf>,
    pub ask: bool,
    pub default_id: &'a str,
    /// Prompts ask for a new password and its confirmation (ansible-vault's
    /// `create_new_password`, for encrypting).
    pub new_password: bool,
}

/// The secrets, or the error that ends the run. Warnings (a bad file
/// while another source worked) are returned alongside, as Ansible shows
/// them and goes on.
pub fn load(src: &Sources<'_>) -> Result<(Vec<Secret>, Vec<String>), String> {
    let mut slugs: Vec<String> = src.identity_list.to_vec();
    slugs.extend(src.vault_ids.iter().cloned());
    for f in &src.password_files {
        slugs.push(format!("{}@{}", src.default_id, f.display()));
    }
    if src.ask {
        slugs.push(format!("{}@prompt_ask_vault_pass", src.default_id));
    }
    let mut secrets = Vec::new();
    let mut warnings = Vec::new();
    let mut last_error = None;
    for slug in slugs {
        let (label, source) = match slug.split_once('@') {
            Some((l, s)) => (Some(l.to_owned()), s.to_owned()),
            None => (None, slug.clone()),
        };
        let id = label.clone().unwrap_or_else(|| src.default_id.to_owned());
        if source == "prompt" || source == "prompt_ask_vault_pass" {
            let prompts: Vec<String> = match (source == "prompt", src.new_password) {
                (true, false) => vec![format!("Vault password ({id}): ")],
                (false, false) => vec!["Vault password: ".to_owned()],
                (true, true) => vec![
                    format!("New vault password ({id}): "),
                    format!("Confirm new vault password ({id}): "),
                ],
                (false, true) => vec![
                    "New Vault password: ".to_owned(),
                    "Confirm New Vault password: ".to_owned(),
                ],
            };
            let mut answers = Vec::new();
            for prompt in prompts {
                let pw = rpassword::prompt_password(prompt)
                    .map_err(|e| format!("Error in vault password prompt ({id}): {e}"))?;
                if pw.is_empty() {
                    return Err("Invalid vault password was provided from prompt".to_owned());
                }
                answers.push(zeroize::Zeroizing::new(pw));
            }
            if answers.windows(2).any(|w| w[0] != w[1]) {
                return Err("Passwords do not match".to_owned());
            }
            let pw = answers.swap_remove(0);
            secrets.push(Secret::new(id, pw.as_bytes().to_vec()));
            continue;
        }
        match file_secret(Path::new(&source), &id) {
            Ok(pw) => secrets.push(Secret::new(id, pw)),
            Err(e) => {
                let shown = label.unwrap_or_default();
                warnings.push(format!("Error getting vault password file ({shown}): {e}"));
                last_error = Some(e);
            }
        }
    }
    if secrets.is_empty() {
        if let Some(e) = last_error {
            return Err(e);
        }
    }
    Ok((secrets, warnings))
}

/// A password from a file, or from the stdout of an executable file (a
/// `*-client` script gets `--vault-id <id>`).
fn file_secret(path: &Path, id: &str) -> Result<Vec<u8>, String> {
    // Relative to the working directory, never searched on PATH.
    let path = &std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let shown = path.display().to_string();
    let meta = std::fs::metadata(path)
        .map_err(|_| format!("The vault password file {shown} was not found"))?;
    if meta.is_dir() {
        return Err(format!(
            "The vault password file provided '{shown}' can not be a directory"
        ));
    }
    if meta.permissions().mode() & 0o111 != 0 {
        let client = path
            .file_stem()
            .map(|s| s.to_string_lossy().ends_with("-client"))
            .unwrap_or(false);
        let mut cmd = Command::new(path);
        if client {
            cmd.args(["--vault-id", id]);
        }
        let out = cmd
            .stdin(Stdio::inherit())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| format!("Problem running vault password script {shown} ({e}). If this is not a script, remove the executable bit from the file."))?;
        if !out.status.success() {
            return Err(format!(
                "Vault password script {shown} returned non-zero ({}): {}",
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let pw = trim_newlines(&out.stdout);
        if pw.is_empty() {
            return Err(format!(
                "Invalid vault password was provided from script ({shown})"
            ));
        }
        return Ok(pw);
    }
    let data = std::fs::read(path)
        .map_err(|e| format!("Could not read vault password file {shown}: {e}"))?;
    let pw = String::from_utf8_lossy(&data).trim().as_bytes().to_vec();
    if pw.is_empty() {
        return Err(format!(
            "Invalid vault password was provided from file ({shown})"
        ));
    }
    Ok(pw)
}

/// `bytes.strip(b'\r\n')`.
fn trim_newlines(b: &[u8]) -> Vec<u8> {
    let start = b
        .iter()
        .position(|c| *c != b'\r' && *c != b'\n')
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| *c != b'\r' && *c != b'\n')
        .map(|i| i + 1)
        .unwrap_or(start);
    b[start..end.max(start)].to_vec()
}

/// Inline `!vault` values decrypted with the run's secrets.
pub struct KeyringVault;

impl rustle_template::VaultDecryptor for KeyringVault {
    fn decrypt(&self, ciphertext: &str) -> Result<String, String> {
        rustle_vault::keyring::decrypt_value(ciphertext)
            .map(|p| String::from_utf8_lossy(&p).into_owned())
            .map_err(|e| e.to_string())
    }
}

/// File content as read by Ansible's loader: decrypted when vaulted.
pub fn read_maybe_vaulted(path: &Path) -> std::io::Result<Result<Vec<u8>, String>> {
    let data = std::fs::read(path)?;
    if !rustle_vault::is_encrypted(&data) {
        return Ok(Ok(data));
    }
    Ok(
        rustle_vault::keyring::decrypt_file(&data, &path.display().to_string())
            .map(|p| p.to_vec())
            .map_err(|e| e.to_string()),
    )
}
