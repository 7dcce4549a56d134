//! `rustle vault <action>`: ansible-vault's `create`, `decrypt`, `edit`,
//! `view`, `encrypt`, `encrypt_string` and `rekey`, with its options,
//! prompts, messages and exit codes (0 ok, 1 an error, 5 bad options).
//! Thin over `rustle-vault` (the envelopes) and `vault_secrets` (the
//! password sources, as `rustle playbook` reads them).

use std::io::{IsTerminal, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use clap::{ArgAction, Args, Subcommand};
use rustle_vault::zeroize::Zeroizing;
use rustle_vault::Secret;

use crate::config::Config;

/// Options every action takes (ansible's `add_vault_options` and `-v`).
#[derive(Args, Debug, Clone, Default)]
pub struct Common {
    /// The vault identity to use (repeatable).
    #[arg(long = "vault-id", value_name = "VAULT_IDS")]
    pub vault_id: Vec<String>,
    /// Ask for vault password.
    #[arg(short = 'J', long = "ask-vault-password", alias = "ask-vault-pass")]
    pub ask_vault_password: bool,
    /// Vault password file (repeatable).
    #[arg(
        long = "vault-password-file",
        alias = "vault-pass-file",
        value_name = "VAULT_PASSWORD_FILES"
    )]
    pub vault_password_file: Vec<PathBuf>,
    /// Verbosity (accepted; ansible-vault only uses it for debug output).
    #[arg(short = 'v', long = "verbose", action = ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Args, Debug)]
pub struct VaultArgs {
    #[command(subcommand)]
    action: Action,
}

#[derive(Subcommand, Debug)]
enum Action {
    /// Create new vault encrypted file.
    Create {
        #[command(flatten)]
        common: Common,
        /// The vault id used to encrypt (required if more than one vault-id is provided).
        #[arg(long = "encrypt-vault-id")]
        encrypt_vault_id: Option<String>,
        /// Allows editor to be opened when no tty attached.
        #[arg(long = "skip-tty-check")]
        skip_tty_check: bool,
        #[arg(value_name = "file_name")]
        files: Vec<String>,
    },
    /// Decrypt vault encrypted file.
    Decrypt {
        #[command(flatten)]
        common: Common,
        /// Output file name for encrypt or decrypt; use - for stdout.
        #[arg(long = "output")]
        output: Option<String>,
        #[arg(value_name = "file_name")]
        files: Vec<String>,
    },
    /// Edit vault encrypted file.
    Edit {
        #[command(flatten)]
        common: Common,
        /// Accepted as ansible-vault does; edit keeps the file's vault id.
        #[arg(long = "encrypt-vault-id")]
        encrypt_vault_id: Option<String>,
        #[arg(value_name = "file_name")]
        files: Vec<String>,
    },
    /// View vault encrypted file.
    View {
        #[command(flatten)]
        common: Common,
        #[arg(value_name = "file_name")]
        files: Vec<String>,
    },
    /// Encrypt YAML file.
    Encrypt {
        #[command(flatten)]
        common: Common,
        /// Output file name for encrypt or decrypt; use - for stdout.
        #[arg(long = "output")]
        output: Option<String>,
        /// The vault id used to encrypt (required if more than one vault-id is provided).
        #[arg(long = "encrypt-vault-id")]
        encrypt_vault_id: Option<String>,
        #[arg(value_name = "file_name")]
        files: Vec<String>,
    },
    /// Encrypt a string.
    #[command(name = "encrypt_string")]
    EncryptString {
        #[command(flatten)]
        common: Common,
        /// Output file name for encrypt or decrypt; use - for stdout.
        #[arg(long = "output")]
        output: Option<String>,
        /// The vault id used to encrypt (required if more than one vault-id is provided).
        #[arg(long = "encrypt-vault-id")]
        encrypt_vault_id: Option<String>,
        /// Prompt for the string to encrypt.
        #[arg(short = 'p', long = "prompt")]
        prompt: bool,
        /// Do not hide input when prompted for the string to encrypt.
        #[arg(long = "show-input")]
        show_input: bool,
        /// Specify the variable name (repeatable).
        #[arg(short = 'n', long = "name")]
        names: Vec<String>,
        /// Specify the variable name for stdin.
        #[arg(long = "stdin-name")]
        stdin_name: Option<String>,
        #[arg(value_name = "string_to_encrypt")]
        args: Vec<String>,
    },
    /// Re-key a vault encrypted file.
    Rekey {
        #[command(flatten)]
        common: Common,
        /// The vault id used to encrypt (required if more than one vault-id is provided).
        #[arg(long = "encrypt-vault-id")]
        encrypt_vault_id: Option<String>,
        /// New vault password file for rekey.
        #[arg(long = "new-vault-password-file", conflicts_with = "new_vault_id")]
        new_vault_password_file: Option<PathBuf>,
        /// The new vault identity to use for rekey.
        #[arg(long = "new-vault-id")]
        new_vault_id: Option<String>,
        #[arg(value_name = "file_name")]
        files: Vec<String>,
    },
}

/// How an action fails: ansible's `AnsibleOptionsError` (exit 5) or
/// `AnsibleError` (exit 1).
enum Fail {
    Options(String),
    Error(String),
}

type Res<T> = Result<T, Fail>;

/// Runs the action.
pub fn run(args: VaultArgs) -> ExitCode {
    let config = match Config::load() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ERROR: {e}");
            return ExitCode::from(e.exit_code());
        }
    };
    match dispatch(args.action, &config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Fail::Options(m)) => {
            eprintln!("ERROR! {m}");
            ExitCode::from(5)
        }
        Err(Fail::Error(m)) => {
            eprintln!("ERROR! {m}");
            ExitCode::from(1)
        }
    }
}

fn common_of(a: &Action) -> &Common {
    match a {
        Action::Create { common, .. }
        | Action::Decrypt { common, .. }
        | Action::Edit { common, .. }
        | Action::View { common, .. }
        | Action::Encrypt { common, .. }
        | Action::EncryptString { common, .. }
        | Action::Rekey { common, .. } => common,
    }
}

fn dispatch(action: Action, config: &Config) -> Res<()> {
    let common = common_of(&action).clone();
    // ansible-vault's post_process_args checks.
    for id in &common.vault_id {
        if id.contains(';') {
            return Err(Fail::Options(format!(
                "'{id}' is not a valid vault id. The character ';' is not allowed in vault ids"
            )));
        }
    }
    let (output, nfiles) = match &action {
        Action::Decrypt { output, files, .. } | Action::Encrypt { output, files, .. } => {
            (output.clone(), files.len())
        }
        Action::EncryptString { output, args, .. } => (output.clone(), args.len()),
        _ => (None, 0),
    };
    if output.is_some() && nfiles > 1 {
        return Err(Fail::Options(
            "At most one input file may be used with the --output option".to_owned(),
        ));
    }
    let output = output.map(|o| if o == "-" { o } else { real_path(&o) });
    let encrypt_id_default = std::env::var("ANSIBLE_VAULT_ENCRYPT_IDENTITY")
        .ok()
        .filter(|s| !s.is_empty());
    match action {
        Action::Encrypt {
            encrypt_vault_id,
            files,
            ..
        } => {
            let secret = encrypt_secret(
                config,
                &common,
                encrypt_vault_id.or(encrypt_id_default).as_deref(),
            )?;
            encrypt(&secret, &files, output.as_deref())
        }
        Action::Decrypt { files, .. } => {
            let secrets = read_secrets(config, &common)?;
            decrypt(&secrets, &files, output.as_deref())
        }
        Action::View { files, .. } => {
            let secrets = read_secrets(config, &common)?;
            view(&secrets, &files)
        }
        Action::Create {
            encrypt_vault_id,
            skip_tty_check,
            files,
            ..
        } => {
            let secret = encrypt_secret(
                config,
                &common,
                encrypt_vault_id.or(encrypt_id_default).as_deref(),
            )?;
            create(&secret, &files, skip_tty_check)
        }
        Action::Edit { files, .. } => {
            let secrets = read_secrets(config, &common)?;
            for f in &files {
                edit(&secrets, f)?;
            }
            Ok(())
        }
        Action::Rekey {
            encrypt_vault_id,
            new_vault_password_file,
            new_vault_id,
            files,
            ..
        } => {
            let secrets = read_secrets(config, &common)?;
            let encrypt_vault_id = encrypt_vault_id.or(encrypt_id_default);
            let mut ids = Vec::new();
            if encrypt_vault_id.is_some() {
                ids = config.vault_identity_list.clone();
            }
            ids.extend(new_vault_id);
            let mut pw_files: Vec<PathBuf> = new_vault_password_file.into_iter().collect();
            pw_files.extend(config.vault_password_file.iter().cloned());
            let new = load(config, &[], &ids, pw_files, common.ask_vault_password, true)?;
            if new.is_empty() {
                return Err(Fail::Options(
                    "A new vault password is required to use Ansible's Vault rekey".to_owned(),
                ));
            }
            let new_secret = match_secret(&new, encrypt_vault_id.as_deref())?;
            rekey(&secrets, &new_secret, &files)
        }
        Action::EncryptString {
            encrypt_vault_id,
            prompt,
            show_input,
            names,
            stdin_name,
            args,
            ..
        } => {
            let read_stdin = args.iter().any(|a| a == "-")
                || stdin_name.is_some()
                || (args.is_empty() && !prompt);
            if prompt && read_stdin {
                return Err(Fail::Options(
                    "The --prompt option is not supported if also reading input from stdin"
                        .to_owned(),
                ));
            }
            let secret = encrypt_secret(
                config,
                &common,
                encrypt_vault_id.or(encrypt_id_default).as_deref(),
            )?;
            encrypt_string(
                &secret,
                StringInputs {
                    prompt,
                    show_input,
                    read_stdin,
                    names,
                    stdin_name,
                    args,
                },
                output.as_deref(),
            )
        }
    }
}

/// `CLI.setup_vault_secrets`: configured identities, `--vault-id`s,
/// password files, then the prompt (also when nothing else is given, as
/// ansible-vault's `auto_prompt`).
fn load(
    config: &Config,
    identity_list: &[String],
    ids: &[String],
    password_files: Vec<PathBuf>,
    ask: bool,
    new_password: bool,
) -> Res<Vec<Secret>> {
    let ask = ask || (identity_list.is_empty() && ids.is_empty() && password_files.is_empty());
    let (secrets, warnings) = crate::vault_secrets::load(&crate::vault_secrets::Sources {
        identity_list,
        vault_ids: ids,
        password_files,
        ask,
        default_id: &config.vault_identity,
        new_password,
    })
    .map_err(Fail::Error)?;
    for w in warnings {
        eprintln!("{}", crate::display::warning_text(&w));
    }
    Ok(secrets)
}

fn common_sources(config: &Config, common: &Common, new_password: bool) -> Res<Vec<Secret>> {
    let mut files = common.vault_password_file.clone();
    files.extend(config.vault_password_file.iter().cloned());
    let secrets = load(
        config,
        &config.vault_identity_list,
        &common.vault_id,
        files,
        common.ask_vault_password,
        new_password,
    )?;
    if secrets.is_empty() {
        return Err(Fail::Options(
            "A vault password is required to use Ansible's Vault".to_owned(),
        ));
    }
    Ok(secrets)
}

fn read_secrets(config: &Config, common: &Common) -> Res<Vec<Secret>> {
    common_sources(config, common, false)
}

/// The one secret to encrypt with (`match_encrypt_secret`).
fn encrypt_secret(config: &Config, common: &Common, encrypt_id: Option<&str>) -> Res<Secret> {
    let secrets = common_sources(config, common, true)?;
    if secrets.len() > 1 && encrypt_id.is_none() {
        let ids: Vec<&str> = secrets.iter().map(|s| s.id.as_str()).collect();
        return Err(Fail::Options(format!(
            "The vault-ids {} are available to encrypt. Specify the vault-id to encrypt with --encrypt-vault-id",
            ids.join(",")
        )));
    }
    match_secret(&secrets, encrypt_id)
}

fn match_secret(secrets: &[Secret], encrypt_id: Option<&str>) -> Res<Secret> {
    let found = match encrypt_id {
        Some(id) => secrets.iter().find(|s| s.id == id),
        None => secrets.first(),
    };
    found.cloned().ok_or_else(|| {
        let ids: Vec<String> = secrets.iter().map(|s| format!("'{}'", s.id)).collect();
        Fail::Error(format!(
            "Did not find a match for --encrypt-vault-id={} in the known vault-ids [{}]",
            encrypt_id.unwrap_or_default(),
            ids.join(", ")
        ))
    })
}

/// `os.path.realpath`: absolute, symlinks resolved where they exist.
fn real_path(name: &str) -> String {
    if name == "-" {
        return name.to_owned();
    }
    let abs = std::path::absolute(name).unwrap_or_else(|_| PathBuf::from(name));
    std::fs::canonicalize(&abs)
        .unwrap_or(abs)
        .display()
        .to_string()
}

/// Python's `str(OSError)` for the common cases.
fn os_error(e: &std::io::Error, name: &str) -> String {
    match e.raw_os_error() {
        Some(n) => {
            let text = std::io::Error::from_raw_os_error(n).to_string();
            // Rust says "No such file or directory (os error 2)".
            let text = text
                .split(" (os error")
                .next()
                .unwrap_or_default()
                .to_owned();
            format!("[Errno {n}] {text}: '{name}'")
        }
        None => e.to_string(),
    }
}

fn read_data(name: &str) -> Res<Zeroizing<Vec<u8>>> {
    let mut data = Zeroizing::new(Vec::new());
    let r = if name == "-" {
        std::io::stdin().lock().read_to_end(&mut data).map(|_| ())
    } else {
        std::fs::File::open(name).and_then(|mut f| f.read_to_end(&mut data).map(|_| ()))
    };
    r.map_err(|e| {
        Fail::Error(format!(
            "Unable to read source file ({name}): {}",
            os_error(&e, name)
        ))
    })?;
    Ok(data)
}

/// Overwrites a file's bytes with zeros before it goes away (ansible's
/// `_shred_file_custom`), so old plaintext does not linger in its blocks.
fn shred(path: &Path) {
    if let Ok(meta) = std::fs::metadata(path) {
        if let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(path) {
            let zeros = vec![0u8; 64 * 1024];
            let mut left = meta.len();
            while left > 0 {
                let n = left.min(zeros.len() as u64) as usize;
                if f.write_all(&zeros[..n]).is_err() {
                    break;
                }
                left -= n as u64;
            }
            let _ = f.sync_all();
        }
    }
}

/// `VaultEditor.write_data`: stdout for `-`, else a new file of mode 0600
/// written beside the target and renamed over it (the old content
/// shredded first when `shred`).
fn write_data(data: &[u8], target: &str, shred_old: bool) -> Res<()> {
    if target == "-" {
        let mut out = std::io::stdout().lock();
        return out
            .write_all(data)
            .and_then(|_| out.flush())
            .map_err(|e| Fail::Error(e.to_string()));
    }
    let path = Path::new(target);
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let base = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{base}.rustle-vault-{}", std::process::id()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::NotFound => {
                Fail::Error(format!("Destination '{}' not writable", dir.display()))
            }
            _ => Fail::Error(format!("Problem creating temporary vault file: {e}")),
        })?;
    let written = f.write_all(data).and_then(|_| f.sync_all());
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(Fail::Error(format!(
            "Unable to write to temporary vault file: {e}"
        )));
    }
    if shred_old && path.is_file() {
        shred(path);
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Fail::Error(format!("Problem creating temporary vault file: {e}"))
    })
}

fn vault_encrypt(plain: &[u8], secret: &Secret) -> Res<String> {
    vault_encrypt_as(plain, secret, Some(&secret.id))
}

fn vault_encrypt_as(plain: &[u8], secret: &Secret, id: Option<&str>) -> Res<String> {
    if rustle_vault::is_encrypted(plain) {
        return Err(Fail::Error("input is already encrypted".to_owned()));
    }
    rustle_vault::encrypt(plain, secret, id, None).map_err(|e| Fail::Error(e.to_string()))
}

fn encrypt(secret: &Secret, files: &[String], output: Option<&str>) -> Res<()> {
    if files.is_empty() && std::io::stdin().is_terminal() {
        eprintln!("Reading plaintext input from stdin");
    }
    let stdin = ["-".to_owned()];
    let files = if files.is_empty() { &stdin[..] } else { files };
    for f in files {
        let path = real_path(f);
        let plain = read_data(&path)?;
        let ct = vault_encrypt(&plain, secret)?;
        write_data(ct.as_bytes(), output.unwrap_or(&path), true)?;
    }
    if std::io::stdout().is_terminal() {
        eprintln!("Encryption successful");
    }
    Ok(())
}

fn decrypt_named(data: &[u8], secrets: &[Secret], name: &str) -> Res<(Zeroizing<Vec<u8>>, String)> {
    rustle_vault::decrypt(data, secrets, Some(name))
        .map_err(|e| Fail::Error(format!("{e} for {name}")))
}

fn decrypt(secrets: &[Secret], files: &[String], output: Option<&str>) -> Res<()> {
    if files.is_empty() && std::io::stdin().is_terminal() {
        eprintln!("Reading ciphertext input from stdin");
    }
    let stdin = ["-".to_owned()];
    let files = if files.is_empty() { &stdin[..] } else { files };
    for f in files {
        let path = real_path(f);
        let data = read_data(&path)?;
        let (plain, _) = decrypt_named(&data, secrets, &path)?;
        write_data(&plain, output.unwrap_or(&path), false)?;
    }
    if std::io::stdout().is_terminal() {
        eprintln!("Decryption successful");
    }
    Ok(())
}

/// Each file decrypted whole before any of it is shown; through `$PAGER`
/// (`less`) on a terminal, else to stdout as ansible-vault does.
fn view(secrets: &[Secret], files: &[String]) -> Res<()> {
    for f in files {
        let data = read_data(f)?;
        let (plain, _) = decrypt_named(&data, secrets, f)?;
        let mut text = Zeroizing::new(String::from_utf8_lossy(&plain).into_owned());
        pager(&mut text);
    }
    Ok(())
}

fn pager(text: &mut Zeroizing<String>) {
    if !text.ends_with('\n') {
        text.push('\n');
    }
    if std::io::stdout().is_terminal() {
        let pager = std::env::var("PAGER").unwrap_or_else(|_| "less".to_owned());
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c").arg(&pager).stdin(Stdio::piped());
        if pager.contains("less") {
            cmd.env("LESS", "FRSX");
        }
        if let Ok(mut child) = cmd.spawn() {
            if let Some(mut stdin) = child.stdin.take() {
                let _ = stdin.write_all(text.as_bytes());
            }
            let _ = child.wait();
            return;
        }
    }
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

fn create(secret: &Secret, files: &[String], skip_tty_check: bool) -> Res<()> {
    let [file] = files else {
        return Err(Fail::Options(
            "ansible-vault create can take only one filename argument".to_owned(),
        ));
    };
    if !(std::io::stdout().is_terminal() || skip_tty_check) {
        return Err(Fail::Options(
            "not a tty, editor cannot be opened".to_owned(),
        ));
    }
    let dir = Path::new(file)
        .parent()
        .filter(|d| !d.as_os_str().is_empty());
    if let Some(d) = dir {
        if !d.exists() {
            eprintln!(
                "{}",
                crate::display::warning_text(&format!(
                    "{} does not exist, creating...",
                    d.display()
                ))
            );
            std::fs::create_dir_all(d).map_err(|e| Fail::Error(e.to_string()))?;
        }
    }
    if Path::new(file).is_file() {
        return Err(Fail::Error(format!(
            "{file} exists, please use 'edit' instead"
        )));
    }
    edit_helper(file, secret, None, Some(&secret.id))
}

fn edit(secrets: &[Secret], f: &str) -> Res<()> {
    let path = real_path(f);
    let data = read_data(&path)?;
    let (plain, used) = decrypt_named(&data, secrets, &path)?;
    // Re-encrypt with the secret that opened it, under the file's own id.
    let secret = secrets
        .iter()
        .filter(|s| s.id == used)
        .find(|s| rustle_vault::decrypt(&data, std::slice::from_ref(*s), None).is_ok())
        .cloned()
        .ok_or_else(|| Fail::Error(format!("Decryption failed for {path}")))?;
    let envelope = rustle_vault::parse_envelope(&data, Some(&path))
        .map_err(|e| Fail::Error(format!("{e} for {path}")))?;
    edit_helper(&path, &secret, Some(&plain), envelope.vault_id.as_deref())
}

/// `VaultEditor._edit_file_helper`: the plaintext in a file inside a fresh
/// 0700 directory, `$EDITOR` on it, encrypted back when it changed (always
/// for `create`), the temporary file overwritten and removed in any case.
fn edit_helper(
    filename: &str,
    secret: &Secret,
    existing: Option<&[u8]>,
    vault_id: Option<&str>,
) -> Res<()> {
    let ext = Path::new(&real_path(filename))
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    let dir = tempfile::Builder::new()
        .prefix("rustle-vault-")
        .tempdir()
        .map_err(|e| Fail::Error(format!("Problem creating temporary vault file: {e}")))?;
    // tempfile makes it 0700 already; say so explicitly.
    let _ = std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700));
    let tmp = dir.path().join(format!("tmp{ext}"));
    let result = edit_in(filename, secret, existing, vault_id, &tmp);
    shred(&tmp);
    let _ = std::fs::remove_file(&tmp);
    result
}

fn edit_in(
    filename: &str,
    secret: &Secret,
    existing: Option<&[u8]>,
    vault_id: Option<&str>,
    tmp: &Path,
) -> Res<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(tmp)
        .map_err(|e| Fail::Error(format!("Problem creating temporary vault file: {e}")))?;
    f.write_all(existing.unwrap_or_default())
        .and_then(|_| f.sync_all())
        .map_err(|e| Fail::Error(format!("Unable to write to temporary vault file: {e}")))?;
    drop(f);
    let editor = std::env::var("EDITOR").unwrap_or_else(|_| "vi".to_owned());
    let mut cmd = shlex::split(&editor).unwrap_or_else(|| vec![editor.clone()]);
    cmd.push(tmp.display().to_string());
    // The editor's exit status is not checked, as ansible-vault.
    Command::new(&cmd[0])
        .args(&cmd[1..])
        .status()
        .map_err(|e| {
            Fail::Error(format!(
                "Unable to execute the command \"{}\": {}",
                cmd.join(" "),
                os_error(&e, &cmd[0])
            ))
        })?;
    let new = read_data(&tmp.display().to_string())?;
    if existing == Some(new.as_slice()) {
        return Ok(());
    }
    let ct = vault_encrypt_as(&new, secret, vault_id)?;
    let prev = std::fs::metadata(filename).ok();
    write_data(ct.as_bytes(), filename, true)?;
    if let Some(m) = prev {
        let _ = std::fs::set_permissions(filename, m.permissions());
    }
    Ok(())
}

fn rekey(secrets: &[Secret], new: &Secret, files: &[String]) -> Res<()> {
    for f in files {
        let path = real_path(f);
        let prev = std::fs::metadata(&path).ok();
        let data = read_data(&path)?;
        // ansible-vault's rekey decrypts without naming the file (no
        // "on <file>"), then adds "for <file>".
        let (plain, _) = rustle_vault::decrypt(&data, secrets, None)
            .map_err(|e| Fail::Error(format!("{e} for {path}")))?;
        let ct = rustle_vault::encrypt(&plain, new, Some(&new.id), None)
            .map_err(|e| Fail::Error(e.to_string()))?;
        write_data(ct.as_bytes(), &path, true)?;
        if let Some(m) = prev {
            use std::os::unix::fs::MetadataExt;
            let _ = std::fs::set_permissions(&path, m.permissions());
            let _ = std::os::unix::fs::chown(&path, Some(m.uid()), Some(m.gid()));
        }
    }
    eprintln!("Rekey successful");
    Ok(())
}

struct StringInputs {
    prompt: bool,
    show_input: bool,
    read_stdin: bool,
    names: Vec<String>,
    stdin_name: Option<String>,
    args: Vec<String>,
}

/// A string to encrypt: its bytes, where it came from, its variable name.
type StringItem = (Zeroizing<Vec<u8>>, &'static str, Option<String>);

const FROM_STDIN: &str = "stdin";
const FROM_ARGS: &str = "the command line args";
const FROM_PROMPT: &str = "the interactive prompt";

fn read_line_from_stdin(prompt: &str) -> Res<String> {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(prompt.as_bytes());
    let _ = out.flush();
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| Fail::Error(e.to_string()))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn encrypt_string(secret: &Secret, inp: StringInputs, output: Option<&str>) -> Res<()> {
    let mut items: Vec<StringItem> = Vec::new();
    if inp.prompt {
        let name = read_line_from_stdin("Variable name (enter for no name): ")?;
        let text = if inp.show_input {
            Zeroizing::new(read_line_from_stdin("String to encrypt:")?)
        } else {
            Zeroizing::new(
                rpassword::prompt_password("String to encrypt (hidden): ")
                    .map_err(|e| Fail::Error(e.to_string()))?,
            )
        };
        if text.is_empty() {
            return Err(Fail::Options(
                "The plaintext provided from the prompt was empty, not encrypting".to_owned(),
            ));
        }
        items.push((
            Zeroizing::new(text.as_bytes().to_vec()),
            FROM_PROMPT,
            Some(name).filter(|n| !n.is_empty()),
        ));
    }
    if inp.read_stdin {
        if std::io::stdout().is_terminal() {
            eprintln!("Reading plaintext input from stdin. (ctrl-d to end input, twice if your content does not already have a newline)");
        }
        let data = read_data("-")?;
        if data.is_empty() {
            return Err(Fail::Options("stdin was empty, not encrypting".to_owned()));
        }
        if std::io::stdout().is_terminal() && !data.ends_with(b"\n") {
            println!();
        }
        items.push((data, FROM_STDIN, inp.stdin_name.clone()));
    }
    let args: Vec<&String> = inp.args.iter().filter(|a| *a != "-").collect();
    if !inp.names.is_empty() && args.len() > inp.names.len() {
        // Vague on purpose: never show the plaintext.
        eprintln!("The number of --name options do not match the number of args.");
        eprintln!(
            "The last named variable will be \"{}\". The rest will not have names.",
            inp.names.last().map(String::as_str).unwrap_or_default()
        );
    }
    for (i, a) in args.iter().enumerate() {
        if a.is_empty() {
            return Err(Fail::Options(
                "The plaintext provided from the command line args was empty, not encrypting"
                    .to_owned(),
            ));
        }
        items.push((
            Zeroizing::new(a.as_bytes().to_vec()),
            FROM_ARGS,
            inp.names.get(i).cloned(),
        ));
    }
    let delimit = items.len() > 1;
    let mut outs = Vec::new();
    for (i, (plain, src, name)) in items.iter().enumerate() {
        let ct = rustle_vault::encrypt(plain, secret, Some(&secret.id), None)
            .map_err(|e| Fail::Error(e.to_string()))?;
        outs.push(format_ciphertext_yaml(&ct, name.as_deref()));
        if delimit {
            let n = i + 1;
            match name {
                Some(name) => eprintln!(
                    "# The encrypted version of variable (\"{name}\", the string #{n} from {src})."
                ),
                None => eprintln!("# The encrypted version of the string #{n} from {src}.)"),
            }
        }
    }
    outs.push(String::new());
    write_data(outs.join("\n").as_bytes(), output.unwrap_or("-"), true)?;
    if std::io::stdout().is_terminal() {
        eprintln!("Encryption successful");
    }
    Ok(())
}

/// `VaultCLI.format_ciphertext_yaml`: a `!vault |` block, 10-space indent.
fn format_ciphertext_yaml(ct: &str, name: Option<&str>) -> String {
    let mut lines = vec![match name {
        Some(n) => format!("{n}: !vault |"),
        None => "!vault |".to_owned(),
    }];
    lines.extend(ct.lines().map(|l| format!("{}{l}", " ".repeat(10))));
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::format_ciphertext_yaml;

    #[test]
    fn yaml_block() {
        assert_eq!(
            format_ciphertext_yaml("$ANSIBLE_VAULT;1.1;AES256\nab\ncd\n", Some("x")),
            "x: !vault |\n          $ANSIBLE_VAULT;1.1;AES256\n          ab\n          cd"
        );
    }
}
