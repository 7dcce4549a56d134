//! `vault` and `unvault`: encrypt and decrypt strings with a password
//! given in the template (ansible.builtin's encryption filters).

use minijinja::value::{Value, ValueKind};
use minijinja::{Error, State};

use super::{need, Args};
use crate::error::ferr;
use crate::pyfmt::pytype;

fn python_class(v: &Value) -> String {
    format!("<class '{}'>", pytype(v))
}

fn is_text(v: &Value) -> bool {
    matches!(v.kind(), ValueKind::String | ValueKind::Bytes)
}

fn bytes_of(v: &Value) -> Vec<u8> {
    match v.as_bytes() {
        Some(b) => b.to_vec(),
        None => v.as_str().unwrap_or_default().as_bytes().to_vec(),
    }
}

pub(crate) fn f_vault(_: &State, data: Value, a: Args) -> Result<Value, Error> {
    let secret = a.get(0, "secret").unwrap_or_default();
    need(&secret)?;
    if !is_text(&secret) {
        return Err(ferr(format!(
            "Secret passed is required to be a string, instead we got: {}",
            python_class(&secret)
        )));
    }
    need(&data)?;
    if !is_text(&data) {
        return Err(ferr(format!(
            "Can only vault strings, instead we got: {}",
            python_class(&data)
        )));
    }
    let salt = a
        .get(1, "salt")
        .filter(|s| !s.is_none() && !s.is_undefined())
        .map(|s| bytes_of(&s));
    let vault_id = a
        .str(2, "vault_id")
        .or_else(|| a.str(4, "vaultid"))
        .unwrap_or_else(|| "filter_default".to_owned());
    let s = rustle_vault::Secret::new(vault_id.clone(), bytes_of(&secret));
    rustle_vault::encrypt(&bytes_of(&data), &s, Some(&vault_id), salt.as_deref())
        .map(Value::from)
        // AnsibleFilterError(orig_exc=e) appends the cause's text.
        .map_err(|e| ferr(format!("Unable to encrypt: {e}. {e}")))
}

pub(crate) fn f_unvault(_: &State, vault: Value, a: Args) -> Result<Value, Error> {
    let secret = a.get(0, "secret").unwrap_or_default();
    need(&secret)?;
    if !is_text(&secret) {
        return Err(ferr(format!(
            "Secret passed is required to be as string, instead we got: {}",
            python_class(&secret)
        )));
    }
    need(&vault)?;
    if !is_text(&vault) {
        return Err(ferr(format!(
            "Vault should be in the form of a string, instead we got: {}",
            python_class(&vault)
        )));
    }
    let data = bytes_of(&vault);
    if !rustle_vault::is_encrypted(&data) {
        return Ok(vault);
    }
    let vault_id = a
        .str(1, "vault_id")
        .or_else(|| a.str(2, "vaultid"))
        .unwrap_or_else(|| "filter_default".to_owned());
    let s = rustle_vault::Secret::new(vault_id, bytes_of(&secret));
    rustle_vault::decrypt(&data, &[s], None)
        .map(|(p, _)| Value::from(String::from_utf8_lossy(&p).into_owned()))
        // AnsibleFilterError(orig_exc=e) appends the cause's text.
        .map_err(|e| ferr(format!("Unable to decrypt: {e}. {e}")))
}
