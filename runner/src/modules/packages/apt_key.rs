//! `apt_key`: adds or removes an apt key by driving `apt-key` and `gpg`,
//! as Ansible's module does.

use serde_json::{Map, Value};

use super::common as c;
use super::keys;
use crate::args::{ArgDef, ArgDefault, ArgSpec, ArgType};
use crate::modules::{action, Capabilities, Check, CheckSupport, Context, Module, ModuleError};
use crate::result::ModuleResult;

pub struct AptKey;

static ARGS: [ArgDef; 8] = [
    ArgDef::new("id", ArgType::Str).doc(
        "Key id: 8 or 16 hex digits, or a longer fingerprint, optionally `0x`-prefixed. Taken from the key (`data`, `file`, `url`) when not given.",
    ),
    ArgDef::new("url", ArgType::Str).doc("URL to fetch the key from."),
    ArgDef::new("data", ArgType::Str).doc("The key itself (ASCII-armored)."),
    ArgDef::new("file", ArgType::Path).doc("Path of a key file on the host."),
    ArgDef::new("keyring", ArgType::Path)
        .doc("The keyring to use (`apt-key --keyring`) instead of apt's trusted keys."),
    ArgDef::new("validate_certs", ArgType::Bool)
        .default(ArgDefault::Bool(true))
        .doc("Verify HTTPS certificates when fetching `url`."),
    ArgDef::new("keyserver", ArgType::Str)
        .doc("Keyserver to receive the key `id` from (`apt-key adv --recv`)."),
    ArgDef::new("state", ArgType::Str)
        .default(ArgDefault::Str("present"))
        .choices(&["absent", "present"])
        .doc("Whether the key should be there."),
];

static SPEC: ArgSpec =
    ArgSpec::new(&ARGS).mutually_exclusive(&[&["data", "file", "keyserver", "url"]]);

const ERROR_NO_ERROR: &str =
    "apt-key did not return an error, but {} (check that the id is correct and *not* a subkey)";

/// `get_best_parsable_locale`: the first of Ansible's preferred locales
/// that `locale -a` lists.
fn best_locale(ctx: &Context<'_>) -> String {
    let out = c::run(ctx, &["locale".into(), "-a".into()], &[], None);
    let have: Vec<&str> = out.stdout.lines().map(str::trim).collect();
    for pref in [
        "C.utf8",
        "C.UTF-8",
        "en_US.utf8",
        "en_US.UTF-8",
        "C",
        "POSIX",
    ] {
        if have.contains(&pref) {
            return pref.to_owned();
        }
    }
    "C".to_owned()
}

/// `parse_key_id`: `(short id, fingerprint as listed, key id)`.
fn parse_key_id(raw: &str) -> Option<(String, String, String)> {
    // Python's int(x, 16) accepts an optional 0x prefix and underscores
    // between digits; anything else is not hexadecimal.
    let t = raw.trim();
    let digits = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t)
        .replace('_', "");
    if digits.is_empty() || !digits.chars().all(|ch| ch.is_ascii_hexdigit()) {
        return None;
    }
    let mut key_id = raw.to_uppercase();
    if let Some(r) = key_id.strip_prefix("0X") {
        key_id = r.to_owned();
    }
    let n = key_id.chars().count();
    if n != 8 && n != 16 && n <= 16 {
        return None;
    }
    let tail = |k: usize| key_id[key_id.len().saturating_sub(k)..].to_owned();
    let short = tail(8);
    let fp = if n > 16 { tail(16) } else { key_id.clone() };
    Some((short, fp, key_id))
}

/// `parse_output_for_keys`: key ids of `pub`/`sub` lines that have not
/// expired, in `apt-key`'s (`ed25519/ID`) or gpg's colon format.
fn parse_keys(out: &str, short: bool) -> Vec<String> {
    let mut found = Vec::new();
    for line in out.split('\n') {
        if !(line.starts_with("pub") || line.starts_with("sub")) || line.contains("expired") {
            continue;
        }
        let tokens: Vec<&str> = line.split_whitespace().collect();
        let apt = tokens.get(1).and_then(|code| {
            let parts: Vec<&str> = code.split('/').collect();
            (parts.len() == 2).then(|| parts[1].to_owned())
        });
        let code = match apt {
            Some(x) => x,
            None => match line.split(':').nth(4) {
                Some(x) => x.to_owned(),
                None => continue,
            },
        };
        found.push(code);
    }
    if short {
        found = found
            .into_iter()
            .map(|k| k[k.len().saturating_sub(8)..].to_owned())
            .collect();
    }
    found
}

struct Tools {
    apt_key: String,
    gpg: String,
    keyring: Option<String>,
}

impl Tools {
    /// `apt-key [--keyring K] <rest>` as Ansible's command string.
    fn cmd(&self, rest: &str) -> String {
        match &self.keyring {
            Some(k) => format!("{} --keyring {k} {rest}", self.apt_key),
            None => format!("{} {rest}", self.apt_key),
        }
    }

    fn all_keys(&self, ctx: &Context<'_>, short: bool) -> Result<Vec<String>, ModuleError> {
        let cmd = self.cmd("adv --list-public-keys --keyid-format=long");
        let out = c::run_line(ctx, &cmd, &[]);
        if out.rc != 0 {
            return Err(c::fail_with(
                "Unable to list public keys",
                &[
                    ("cmd", cmd.into()),
                    ("rc", out.rc.into()),
                    ("stdout", out.stdout.into()),
                    ("stderr", out.stderr.into()),
                ],
            ));
        }
        Ok(parse_keys(&out.stdout, short))
    }
}

fn lang_env(locale: &str) -> [(&'static str, String); 4] {
    [
        ("LANG", locale.to_owned()),
        ("LC_ALL", locale.to_owned()),
        ("LC_MESSAGES", locale.to_owned()),
        ("LANGUAGE", locale.to_owned()),
    ]
}

fn env_refs<'a>(e: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    e.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// `get_key_id_from_file`: the first key id `gpg --with-colons` lists.
fn key_id_from(
    ctx: &Context<'_>,
    t: &Tools,
    file: &str,
    data: Option<&[u8]>,
) -> Result<Option<String>, ModuleError> {
    let locale = best_locale(ctx);
    let env = lang_env(&locale);
    let argv = vec![t.gpg.clone(), "--with-colons".into(), file.to_owned()];
    let out = c::run_with_input(ctx, &argv, &env_refs(&env), None, data);
    if out.rc != 0 {
        let what = if data.is_some() { "inline data" } else { file };
        return Err(c::fail_with(
            format!("Unable to extract key from '{what}'"),
            &[("stdout", out.stdout.into()), ("stderr", out.stderr.into())],
        ));
    }
    Ok(parse_keys(&out.stdout, false).into_iter().next())
}

fn download(url: &str, validate_certs: bool) -> Result<Vec<u8>, ModuleError> {
    let f = keys::fetch(url, validate_certs);
    if f.status() != 200 {
        return Err(ModuleError::failed(format!(
            "Failed to download key at {url}: {}",
            f.msg()
        )));
    }
    Ok(f.body.unwrap_or_default())
}

fn proxy(ctx: &Context<'_>) -> Option<String> {
    for v in ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"] {
        let val = ctx
            .environment
            .get(v)
            .cloned()
            .or_else(|| std::env::var(v).ok())
            .filter(|x| !x.is_empty());
        if val.is_some() {
            return val;
        }
    }
    None
}

/// How the key gets added.
enum Source {
    File(String),
    Keyserver(String),
    Data(Vec<u8>),
    Url(String, bool),
}

fn fail_r(msg: impl Into<String>, r: &Map<String, Value>) -> ModuleError {
    ModuleError::Failed {
        msg: msg.into(),
        extra: r.clone(),
    }
}

impl Module for AptKey {
    fn name(&self) -> &'static str {
        "apt_key"
    }
    fn description(&self) -> &'static str {
        "Add or remove an apt key"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            check_mode: CheckSupport::Full,
            diff: false,
        }
    }
    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }
    fn notes(&self) -> &'static str {
        NOTES
    }
    fn check(&self, ctx: &Context<'_>) -> Result<Check, ModuleError> {
        let a = &ctx.args;
        let tools = Tools {
            apt_key: c::require_bin(ctx, "apt-key")?.display().to_string(),
            gpg: c::require_bin(ctx, "gpg")?.display().to_string(),
            keyring: a
                .str("keyring")
                .map(|k| ctx.expand_path(k).display().to_string()),
        };
        let url = a.str("url").map(str::to_owned);
        let file = a
            .str("file")
            .map(|f| ctx.expand_path(f).display().to_string());
        let keyserver = a.str("keyserver").map(str::to_owned);
        let validate = a
            .get("validate_certs")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        let mut data: Option<Vec<u8>> = a.str("data").map(|d| d.as_bytes().to_vec());
        let present = a.str("state") != Some("absent");
        let mut key_id = a.str("id").filter(|s| !s.is_empty()).map(str::to_owned);

        if key_id.is_none() {
            if keyserver.is_some() {
                return Err(ModuleError::failed(
                    "Missing key_id, required with keyserver.",
                ));
            }
            if let Some(u) = &url {
                data = Some(download(u, validate)?);
            }
            if let Some(f) = &file {
                key_id = key_id_from(ctx, &tools, f, None)?;
            } else if let Some(d) = data.as_deref().filter(|d| !d.is_empty()) {
                key_id = key_id_from(ctx, &tools, "-", Some(d))?;
            }
        }
        let mut r = Map::new();
        r.insert(
            "id".into(),
            key_id.clone().map_or(Value::Null, Value::String),
        );
        let Some((short_id, fp, key_id)) = key_id.as_deref().and_then(parse_key_id) else {
            let mut extra = r.clone();
            extra.insert("changed".into(), false.into());
            return Err(fail_r("Invalid key_id", &extra));
        };
        r.insert("short_id".into(), short_id.clone().into());
        r.insert("fp".into(), fp.clone().into());
        r.insert("key_id".into(), key_id.clone().into());
        let short = key_id.len() == 8;
        let keys = tools.all_keys(ctx, short)?;
        r.insert("before".into(), keys.clone().into());
        let want = if short { &short_id } else { &fp };
        let result = |r: &Map<String, Value>, changed: bool| {
            let mut res = ModuleResult::ok();
            res.changed = changed;
            res.extra = r.clone();
            res
        };
        if present {
            if keys.contains(want) {
                return Ok(Check::Done(result(&r, false)));
            }
            let source = if let Some(f) = file {
                Source::File(f)
            } else if let Some(k) = keyserver {
                Source::Keyserver(k)
            } else if let Some(d) = data.filter(|d| !d.is_empty()) {
                Source::Data(d)
            } else if let Some(u) = url {
                Source::Url(u, validate)
            } else {
                let mut extra = r.clone();
                extra.insert("changed".into(), true.into());
                return Err(fail_r("No key to add ... how did i get here?!?!", &extra));
            };
            let predicted = result(&r, true);
            let want = want.clone();
            return Ok(Check::Change {
                predicted,
                action: action(move |ctx: &Context<'_>| {
                    add(ctx, &tools, source, &key_id)?;
                    let after = tools.all_keys(ctx, short)?;
                    r.insert("after".into(), after.clone().into());
                    if !after.contains(&want) {
                        let mut extra = r.clone();
                        extra.insert("changed".into(), true.into());
                        return Err(fail_r(
                            ERROR_NO_ERROR.replace("{}", "failed to add the key"),
                            &extra,
                        ));
                    }
                    Ok(result(&r, true))
                }),
            });
        }
        if !keys.contains(&fp) {
            return Ok(Check::Done(result(&r, false)));
        }
        let predicted = result(&r, true);
        Ok(Check::Change {
            predicted,
            action: action(move |ctx: &Context<'_>| {
                // The short id: `apt-key del` of older apt mishandles others.
                let cmd = tools.cmd(&format!("del {short_id}"));
                let out = c::run_line(ctx, &cmd, &[]);
                if out.rc != 0 {
                    return Err(c::fail_with(
                        format!("Unable to remove a key with id {short_id}"),
                        &[
                            ("cmd", cmd.into()),
                            ("rc", out.rc.into()),
                            ("key_id", short_id.clone().into()),
                            ("stdout", out.stdout.into()),
                            ("stderr", out.stderr.into()),
                        ],
                    ));
                }
                let after = tools.all_keys(ctx, short)?;
                r.insert("after".into(), after.clone().into());
                if after.contains(&fp) {
                    let mut extra = r.clone();
                    extra.insert("changed".into(), true.into());
                    return Err(fail_r(
                        ERROR_NO_ERROR.replace("{}", "the key was not removed"),
                        &extra,
                    ));
                }
                Ok(result(&r, true))
            }),
        })
    }
}

fn add(ctx: &Context<'_>, t: &Tools, source: Source, key_id: &str) -> Result<(), ModuleError> {
    let add_data = |data: &[u8]| {
        let cmd = t.cmd("add -");
        let argv: Vec<String> = shlex::split(&cmd).unwrap_or_default();
        let out = c::run_with_input(ctx, &argv, &[], None, Some(data));
        if out.rc != 0 {
            return Err(c::fail_with(
                "Unable to add a key from binary data",
                &[
                    ("cmd", cmd.into()),
                    ("rc", out.rc.into()),
                    ("stdout", out.stdout.into()),
                    ("stderr", out.stderr.into()),
                ],
            ));
        }
        Ok(())
    };
    match source {
        Source::File(f) => {
            let cmd = t.cmd(&format!("add {f}"));
            let out = c::run_line(ctx, &cmd, &[]);
            if out.rc != 0 {
                return Err(c::fail_with(
                    format!("Unable to add a key from file {f}"),
                    &[
                        ("cmd", cmd.into()),
                        ("rc", out.rc.into()),
                        ("keyfile", f.into()),
                        ("stdout", out.stdout.into()),
                        ("stderr", out.stderr.into()),
                    ],
                ));
            }
            Ok(())
        }
        Source::Data(d) => add_data(&d),
        Source::Url(u, validate) => add_data(&download(&u, validate)?),
        Source::Keyserver(ks) => {
            let mut cmd = t.cmd(&format!("adv --no-tty --keyserver {ks}"));
            if let Some(p) = proxy(ctx) {
                cmd.push_str(&format!(" --keyserver-options http-proxy={p}"));
            }
            cmd.push_str(&format!(" --recv {key_id}"));
            let locale = best_locale(ctx);
            let env = lang_env(&locale);
            let mut out = c::Output::default();
            for _ in 0..5 {
                out = c::run_line(ctx, &cmd, &env_refs(&env));
                if out.rc == 0 {
                    return Ok(());
                }
            }
            let forced: Map<String, Value> = env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Value::from(v.clone())))
                .collect();
            if out.rc == 2 && out.stdout.contains("not found on keyserver") {
                return Err(c::fail_with(
                    format!("Key {key_id} not found on keyserver {ks}"),
                    &[("cmd", cmd.into()), ("forced_environment", forced.into())],
                ));
            }
            Err(c::fail_with(
                format!("Error fetching key {key_id} from keyserver: {ks}"),
                &[
                    ("cmd", cmd.into()),
                    ("forced_environment", forced.into()),
                    ("rc", out.rc.into()),
                    ("stdout", out.stdout.into()),
                    ("stderr", out.stderr.into()),
                ],
            ))
        }
    }
}

const NOTES: &str = r#"Drives `apt-key` and `gpg` as Ansible's module does (both must be on the
host: `Failed to find required executable "apt-key" in paths: ...`). Without `id`, the key id is
the first key `gpg --with-colons` lists for `file`, `data` or the key fetched from `url`. The
id is checked (`Invalid key_id` unless 8, 16 or more than 16 hex digits, `0x` allowed) and split
as Ansible splits it: `short_id` (last 8), `fp` (last 16) and `key_id` (all, upper case, without
`0x`). Presence is decided from `apt-key [--keyring K] adv --list-public-keys
--keyid-format=long` (short ids compared when `id` has 8 digits); a key is added with `apt-key
add FILE`, `apt-key add -` (data, url) or `apt-key adv --no-tty --keyserver K
[--keyserver-options http-proxy=P] --recv ID` (5 tries), removed with `apt-key del SHORT_ID`,
and the listing is read again to confirm.

Results: `changed`, `id` (as given or found), `short_id`, `fp`, `key_id`, `before` (the ids
listed before), `after` (after a change, not in check mode). Failures (with those keys where
Ansible adds them): `Invalid key_id`, `Missing key_id, required with keyserver.`, `Unable to
list public keys`, `Unable to extract key from 'inline data'` (or the file),
`Failed to download key at URL: MSG`, `Unable to add a key from binary data`, `Unable to add a
key from file F`, `Unable to remove a key with id ID`, `Key ID not found on keyserver K`, `Error
fetching key ID from keyserver: K`, `apt-key did not return an error, but failed to add the key
(check that the id is correct and *not* a subkey)`.

Check mode: full (listing only). Diff: not supported (as Ansible).

Differences from Ansible: none known. `url` is fetched with the runner's HTTP client (rustls);
the `http_proxy` settings are honoured only for `keyserver`, as in Ansible's module.

Tests: conformance cases and differential cases `mod_apt_key_*` with a real throwaway key
(generated with `gpg --quick-gen-key` into a temporary `GNUPGHOME`, or a committed test key)
and the real `apt-key`, always into a temporary `keyring` file so the machine's trusted keys are
never touched. `keyserver` cannot be tested here (no network): it is tested with a fake
`apt-key` only.
"#;
