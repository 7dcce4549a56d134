//! Lookup plugins (`lookup()`, `query()`/`q()` and `with_<name>` loops).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use minijinja::value::{Rest, Value, ValueKind, ValueOrKwargs};
use minijinja::{Environment, Error, State};

use crate::context::{Ctx, CTX_KEY};
use crate::convert::mj_to_json;
use crate::error::{to_mj, ErrorKind, TemplateError};
use crate::filters::Args;
use crate::pyrepr::py_str;
use crate::{Overlay, Shared, Vars};

/// Options accepted by every lookup call (documented for callers).
#[derive(Debug, Clone, Default)]
pub struct LookupOptions {
    /// `errors=`: `strict` (default), `warn` or `ignore`.
    pub errors: Option<String>,
}

/// The subelements lookup (`with_subelements`): unlike the filter, each
/// pair's element loses the list it was paired from (Ansible pops it).
fn subelements_lookup(terms: &[Value]) -> Result<Value, TemplateError> {
    let terms_err = |msg: &str| {
        lerr(format!(
            "subelements lookup expects a list of two or three items, {msg}"
        ))
    };
    let (base, key) = match terms {
        [b, k] | [b, k, _] => (mj_to_json(b)?, k),
        _ => return Err(terms_err("")),
    };
    let Some(key) = key.as_str().filter(|_| base.is_array() || base.is_object()) else {
        return Err(terms_err(
            "first a dict or a list, second a string pointing to the subkey",
        ));
    };
    let path: Vec<&str> = key.split('.').collect();
    let skip_missing = terms
        .get(2)
        .map(|f| {
            let v = f.get_item(&Value::from("skip_missing")).unwrap_or_default();
            crate::filters::to_bool_ansible(&v).is_true()
        })
        .unwrap_or(false);
    let not_skipped = |v: &serde_json::Value| {
        v.get("skipped")
            .is_none_or(|s| *s == serde_json::Value::Bool(false))
    };
    let elements: Vec<serde_json::Value> = match base {
        serde_json::Value::Object(m) => {
            if !not_skipped(&serde_json::Value::Object(m.clone())) {
                return Ok(Value::from(Vec::<Value>::new()));
            }
            m.into_iter().map(|(_, v)| v).collect()
        }
        serde_json::Value::Array(a) => a,
        _ => Vec::new(),
    };
    let show = |v: &serde_json::Value| py_str(&crate::convert::json_to_mj(v));
    let mut out = Vec::new();
    for mut item0 in elements {
        if !item0.is_object() {
            return Err(lerr(format!(
                "subelements lookup expects a dictionary, got '{}'",
                show(&item0)
            )));
        }
        if !not_skipped(&item0) {
            continue;
        }
        // Walk the path read-only first, then pop the list from its dict.
        let mut cur = &item0;
        let mut walk: Vec<&str> = Vec::new();
        let mut pop_key = None;
        for (i, k) in path.iter().enumerate() {
            let Some(m) = cur.as_object() else { break };
            let Some(val) = m.get(*k) else {
                if skip_missing {
                    continue;
                }
                return Err(lerr(format!(
                    "could not find '{k}' key in iterated item '{}'",
                    show(cur)
                )));
            };
            if i + 1 < path.len() {
                if !val.is_object() {
                    if skip_missing {
                        continue;
                    }
                    return Err(lerr(format!(
                        "the key {k} should point to a dictionary, got '{}'",
                        show(val)
                    )));
                }
                walk.push(k);
                cur = val;
            } else if val.is_array() {
                pop_key = Some(*k);
            } else {
                return Err(lerr(format!(
                    "the key {k} should point to a list, got '{}'",
                    show(val)
                )));
            }
        }
        let mut sublist = Vec::new();
        if let Some(k) = pop_key {
            let ptr: String = walk
                .iter()
                .map(|w| format!("/{}", w.replace('~', "~0").replace('/', "~1")))
                .collect();
            if let Some(serde_json::Value::Array(l)) = item0
                .pointer_mut(&ptr)
                .and_then(|t| t.as_object_mut())
                .and_then(|m| m.shift_remove(k))
            {
                sublist = l;
            }
        }
        let first = crate::convert::json_to_mj(&item0);
        for item1 in sublist {
            out.push(Value::from(vec![
                first.clone(),
                crate::convert::json_to_mj(&item1),
            ]));
        }
    }
    Ok(Value::from(out))
}

fn lerr(msg: impl Into<String>) -> TemplateError {
    TemplateError::new(ErrorKind::Lookup, msg)
}

fn s(v: &Value) -> String {
    match v.as_str() {
        Some(s) => s.to_string(),
        None => py_str(v),
    }
}

fn kw<'a>(kwargs: &'a [(String, Value)], name: &str) -> Option<&'a Value> {
    kwargs.iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// Finds `term` like Ansible's `find_file_in_search_path(…, subdir, term)`.
fn find_file(ctx: &Ctx, subdir: &str, term: &str) -> Option<PathBuf> {
    let p = Path::new(term);
    if p.is_absolute() {
        return p.exists().then(|| p.to_path_buf());
    }
    let opts = &ctx.shared.opts;
    let mut bases: Vec<PathBuf> = opts.search_paths.clone();
    if let Some(pd) = &opts.playbook_dir {
        bases.push(pd.clone());
    }
    if bases.is_empty() {
        bases.push(PathBuf::from("."));
    }
    for b in &bases {
        for cand in [b.join(subdir).join(term), b.join(term)] {
            if cand.exists() {
                return Some(cand);
            }
        }
    }
    None
}

fn flatten_terms(terms: &[Value]) -> Vec<Value> {
    let mut out = Vec::new();
    for t in terms {
        if t.kind() == ValueKind::Seq {
            out.extend(
                t.try_iter()
                    .map(|i| i.collect::<Vec<_>>())
                    .unwrap_or_default(),
            );
        } else {
            out.push(t.clone());
        }
    }
    out
}

fn run_cmd(cmd: &str) -> Result<(i32, String), TemplateError> {
    let out = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(cmd)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| lerr(format!("lookup_plugin.pipe({cmd}) failed: {e}")))?;
    Ok((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    ))
}

fn parse_kv(s: &str) -> Vec<(String, String)> {
    shlex::split(s)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| {
            p.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect()
}

/// The sequence plugin raises plain `AnsibleError`s, which Ansible wraps
/// as "An unhandled exception occurred while running the lookup plugin".
fn serr(msg: impl Into<String>) -> TemplateError {
    TemplateError::other(msg)
}

fn sequence(term: &str) -> Result<Vec<Value>, TemplateError> {
    let (mut start, mut end, mut count, mut stride, mut format) =
        (1i64, None::<i64>, None::<i64>, 1i64, "%d".to_string());
    // Each value is a plugin option of type int (Python's `int()`);
    // a bad one is refused by the config system, naming the option.
    let opt = |field: &str, v: &str| -> Result<i64, TemplateError> {
        crate::filters::parse_py_int(v, 10)
            .map(|n| n as i64)
            .ok_or_else(|| {
                serr(format!(
                    "Invalid type for configuration option plugin_type: lookup plugin: sequence setting: {field} (from Direct): "
                ))
            })
    };
    if term.contains('=') {
        for (k, v) in parse_kv(term) {
            match k.as_str() {
                "start" => start = opt("start", &v)?,
                "end" => end = Some(opt("end", &v)?),
                "count" => count = Some(opt("count", &v)?),
                "stride" => stride = opt("stride", &v)?,
                "format" => format = v,
                other => {
                    return Err(serr(format!(
                        "unrecognized arguments to with_sequence: ['{other}']"
                    )))
                }
            }
        }
    } else {
        // [start-]end[/stride][:format]
        let (main, fmt) = match term.split_once(':') {
            Some((m, f)) => (m, Some(f)),
            None => (term, None),
        };
        let (range, st) = match main.split_once('/') {
            Some((r, s)) => (r, Some(s)),
            None => (main, None),
        };
        match range.split_once('-') {
            Some((a, b)) if !a.is_empty() => {
                start = opt("start", a)?;
                end = Some(opt("end", b)?);
            }
            _ => end = Some(opt("end", range)?),
        }
        if let Some(st) = st {
            stride = opt("stride", st)?;
        }
        if let Some(f) = fmt {
            format = f.to_string();
        }
    }
    if count.is_some() && end.is_some() {
        return Err(serr("can't specify both count and end in with_sequence"));
    }
    let end = match (end, count) {
        (Some(e), _) => e,
        (None, Some(c)) => {
            if c == 0 {
                return Ok(vec![]);
            }
            start + (c - 1) * stride
        }
        (None, None) => return Err(serr("must specify count or end in with_sequence")),
    };
    if stride == 0 {
        return Ok(vec![]);
    }
    if stride > 0 && end < start {
        return Err(serr("to count backwards make stride negative"));
    }
    if stride < 0 && end > start {
        return Err(serr("to count forward don't make stride negative"));
    }
    let mut out = Vec::new();
    let mut i = start;
    while (stride > 0 && i <= end) || (stride < 0 && i >= end) {
        let f = crate::pyfmt::percent_format(&format, &Value::from(i))
            .map_err(|_| serr(format!("bad formatting string: {format}")))?;
        out.push(Value::from(f));
        i += stride;
    }
    Ok(out)
}

const PW_CHARS_DEFAULT: &str =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.,:-_";

fn password(ctx: &Ctx, term: &str, kwargs: &[(String, Value)]) -> Result<Value, TemplateError> {
    let mut parts = term.splitn(2, ' ');
    let path = parts.next().unwrap_or_default().to_string();
    let mut params: Vec<(String, String)> = parse_kv(parts.next().unwrap_or_default());
    for (k, v) in kwargs {
        // `chars` may be given as a list of sets.
        let text = match v.try_iter() {
            Ok(items) if v.kind() == ValueKind::Seq => {
                items.map(|i| s(&i)).collect::<Vec<_>>().join(",")
            }
            _ => s(v),
        };
        params.push((k.clone(), text));
    }
    let get = |k: &str| {
        params
            .iter()
            .rev()
            .find(|(pk, _)| pk == k)
            .map(|(_, v)| v.clone())
    };
    let length: usize = get("length").and_then(|l| l.parse().ok()).unwrap_or(20);
    let chars: String = match get("chars") {
        Some(c) => c
            .split(',')
            .map(|set| match set {
                "ascii_letters" => {
                    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".to_string()
                }
                "ascii_lowercase" => "abcdefghijklmnopqrstuvwxyz".to_string(),
                "ascii_uppercase" => "ABCDEFGHIJKLMNOPQRSTUVWXYZ".to_string(),
                "digits" => "0123456789".to_string(),
                "hexdigits" => "0123456789abcdefABCDEF".to_string(),
                "octdigits" => "01234567".to_string(),
                "punctuation" => "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~".to_string(),
                other => other.to_string(),
            })
            .collect(),
        None => PW_CHARS_DEFAULT.to_string(),
    };
    let mut charv: Vec<char> = chars.chars().collect();
    if charv.is_empty() {
        charv = PW_CHARS_DEFAULT.chars().collect();
    }
    let gen = || -> String {
        (0..length)
            .map(|_| charv[fastrand::usize(0..charv.len())])
            .collect()
    };
    if path == "/dev/null" {
        return Ok(Value::from(gen()));
    }
    let full = if Path::new(&path).is_absolute() {
        PathBuf::from(&path)
    } else {
        ctx.shared
            .opts
            .playbook_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("."))
            .join(&path)
    };
    if let Ok(content) = std::fs::read_to_string(&full) {
        let line = content.lines().next().unwrap_or_default();
        let pw = match line.find(" salt=") {
            Some(i) => &line[..i],
            None => line,
        };
        return Ok(Value::from(pw));
    }
    let pw = gen();
    if !ctx.shared.opts.check_mode {
        if let Some(parent) = full.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        std::fs::write(&full, format!("{pw}\n")).map_err(|e| {
            lerr(format!(
                "failed to write password file {}: {e}",
                full.display()
            ))
        })?;
    }
    Ok(Value::from(pw))
}

/// The environment variable that sets a known setting, and its type.
fn config_env(name: &str) -> Option<(&'static str, &'static str)> {
    Some(match name {
        "DEFAULT_BECOME_USER" => ("ANSIBLE_BECOME_USER", "string"),
        "DEFAULT_BECOME_METHOD" => ("ANSIBLE_BECOME_METHOD", "string"),
        "DEFAULT_REMOTE_USER" => ("ANSIBLE_REMOTE_USER", "string"),
        "DEFAULT_FORKS" => ("ANSIBLE_FORKS", "integer"),
        "DEFAULT_TIMEOUT" => ("ANSIBLE_TIMEOUT", "integer"),
        "DEFAULT_JINJA2_NATIVE" => ("ANSIBLE_JINJA2_NATIVE", "boolean"),
        "DEFAULT_HASH_BEHAVIOUR" => ("ANSIBLE_HASH_BEHAVIOUR", "string"),
        "DEFAULT_KEEP_REMOTE_FILES" => ("ANSIBLE_KEEP_REMOTE_FILES", "boolean"),
        "DEFAULT_ROLES_PATH" => ("ANSIBLE_ROLES_PATH", "pathspec"),
        "DEFAULT_UNDEFINED_VAR_BEHAVIOR" => ("ANSIBLE_ERROR_ON_UNDEFINED_VARS", "boolean"),
        "HOST_KEY_CHECKING" => ("ANSIBLE_HOST_KEY_CHECKING", "boolean"),
        "RETRY_FILES_ENABLED" => ("ANSIBLE_RETRY_FILES_ENABLED", "boolean"),
        "ANSIBLE_FORCE_COLOR" => ("ANSIBLE_FORCE_COLOR", "boolean"),
        "COLOR_OK" => ("ANSIBLE_COLOR_OK", "string"),
        "COLOR_CHANGED" => ("ANSIBLE_COLOR_CHANGED", "string"),
        "COLOR_ERROR" => ("ANSIBLE_COLOR_ERROR", "string"),
        "ANSIBLE_COW_ACCEPTLIST" => ("ANSIBLE_COW_ACCEPTLIST", "list"),
        _ => return None,
    })
}

/// A plugin's setting as the config manager resolves it for a task: the
/// last of its variables that is set, else its environment variable, else
/// its default; with the origin Ansible reports. `Ok(None)` when the
/// plugin has no such setting; an error when there is no such plugin.
fn plugin_config(
    ctx: &Arc<Ctx>,
    ptype: &str,
    pname: &str,
    name: &str,
) -> Result<Option<(Value, String)>, TemplateError> {
    // (setting, variables in definition order, environment, default, int)
    type Def = (
        &'static str,
        &'static [&'static str],
        &'static [&'static str],
        Option<&'static str>,
        bool,
    );
    const SSH: &[Def] = &[
        (
            "host",
            &["inventory_hostname", "ansible_host", "ansible_ssh_host"],
            &[],
            None,
            false,
        ),
        (
            "remote_user",
            &["ansible_user", "ansible_ssh_user"],
            &["ANSIBLE_REMOTE_USER"],
            None,
            false,
        ),
        (
            "port",
            &["ansible_port", "ansible_ssh_port"],
            &["ANSIBLE_REMOTE_PORT"],
            None,
            true,
        ),
        (
            "timeout",
            &["ansible_ssh_timeout"],
            &["ANSIBLE_TIMEOUT", "ANSIBLE_SSH_TIMEOUT"],
            Some("10"),
            true,
        ),
        (
            "private_key_file",
            &["ansible_private_key_file", "ansible_ssh_private_key_file"],
            &["ANSIBLE_PRIVATE_KEY_FILE"],
            None,
            false,
        ),
        (
            "password",
            &[
                "ansible_password",
                "ansible_ssh_pass",
                "ansible_ssh_password",
            ],
            &[],
            None,
            false,
        ),
        (
            "ssh_executable",
            &["ansible_ssh_executable"],
            &["ANSIBLE_SSH_EXECUTABLE"],
            Some("ssh"),
            false,
        ),
        (
            "pipelining",
            &["ansible_pipelining", "ansible_ssh_pipelining"],
            &["ANSIBLE_PIPELINING", "ANSIBLE_SSH_PIPELINING"],
            None,
            false,
        ),
    ];
    const LOCAL: &[Def] = &[(
        "pipelining",
        &["ansible_pipelining"],
        &["ANSIBLE_PIPELINING"],
        None,
        false,
    )];
    const SH: &[Def] = &[
        (
            "remote_tmp",
            &["ansible_remote_tmp"],
            &["ANSIBLE_REMOTE_TEMP", "ANSIBLE_REMOTE_TMP"],
            Some("~/.ansible/tmp"),
            false,
        ),
        (
            "system_tmpdirs",
            &["ansible_system_tmpdirs"],
            &["ANSIBLE_SYSTEM_TMPDIRS"],
            None,
            false,
        ),
    ];
    let name_only = pname.rsplit('.').next().unwrap_or(pname);
    let defs: &[Def] = match (ptype, name_only) {
        ("connection", "ssh") => SSH,
        ("connection", "local") => LOCAL,
        ("shell", "sh") => SH,
        _ => return Err(lerr(format!("Unable to load {ptype} plugin \"{pname}\""))),
    };
    let Some(&(_, vars, envs, default, int)) = defs.iter().find(|d| d.0 == name) else {
        return Ok(None);
    };
    let mut found = None;
    for v in vars {
        if let Some(val) = ctx.lookup_var(v).filter(|v| !v.is_undefined()) {
            found = Some((val, format!("var: {v}")));
        }
    }
    if found.is_none() {
        for e in envs {
            if let Ok(raw) = std::env::var(e) {
                found = Some((Value::from(raw), format!("env: {e}")));
            }
        }
    }
    let (v, origin) = found.unwrap_or_else(|| {
        (
            default.map_or(Value::from(()), Value::from),
            "default".to_owned(),
        )
    });
    let v = match (int, v.as_str()) {
        (true, Some(t)) => t.trim().parse::<i64>().map_or(v.clone(), Value::from),
        _ => v,
    };
    Ok(Some((v, origin)))
}

/// The `csvfile` lookup: for each search key, column `col` of the first
/// row whose column `keycol` equals it (Python's csv module, excel
/// dialect). Options come as keywords or, deprecated, as `k=v` words in
/// the term after the key.
fn csvfile(ctx: &Ctx, terms: &[Value], kwargs: &[(String, Value)]) -> Result<Value, TemplateError> {
    const OPTIONS: [&str; 6] = ["file", "delimiter", "col", "keycol", "default", "encoding"];
    let mut base: Vec<(String, Value)> = vec![
        ("file".into(), Value::from("ansible.csv")),
        ("delimiter".into(), Value::from("TAB")),
        ("col".into(), Value::from("1")),
        ("keycol".into(), Value::from(0)),
        ("default".into(), Value::from(())),
        ("encoding".into(), Value::from("utf-8")),
    ];
    for (k, v) in kwargs {
        if k == "wantlist" || k == "errors" {
            continue;
        }
        match base.iter_mut().find(|(n, _)| n == k) {
            Some(slot) => slot.1 = v.clone(),
            None => {
                return Err(lerr(format!(
                    "Invalid option(s) for the csvfile lookup: {k} is not a valid option"
                )))
            }
        }
    }
    if terms.is_empty() {
        return Err(serr("Search key is required but was not found"));
    }
    let mut out = Vec::new();
    for term in terms {
        let kv = crate::splitter::parse_kv(&s(term), false).map_err(lerr)?;
        let Some(key) = kv.get("_raw_params").and_then(|v| v.as_str()) else {
            return Err(serr("Search key is required but was not found"));
        };
        let mut opts = base.clone();
        for (k, v) in &kv {
            if k == "_raw_params" {
                continue;
            }
            if !OPTIONS.contains(&k.as_str()) {
                return Err(serr(format!("{k} is not a valid option")));
            }
            if let Some(slot) = opts.iter_mut().find(|(n, _)| n == k) {
                slot.1 = crate::convert::json_to_mj(v);
            }
        }
        let opt = |n: &str| {
            opts.iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let mut delimiter = s(&opt("delimiter"));
        if delimiter == "TAB" {
            delimiter = "\t".into();
        }
        let col = s(&opt("col"));
        let keycol = opt("keycol");
        let file = s(&opt("file"));
        let found = find_file(ctx, "files", &file);
        let row_value = read_csv(found.as_deref(), key, &delimiter, &col, &keycol)?;
        match row_value {
            Some(v) => out.push(Value::from(v)),
            None => {
                let d = opt("default");
                if !d.is_none() && !d.is_undefined() {
                    out.push(d);
                }
            }
        }
    }
    Ok(Value::from(out))
}

fn read_csv(
    path: Option<&Path>,
    key: &str,
    delimiter: &str,
    col: &str,
    keycol: &Value,
) -> Result<Option<String>, TemplateError> {
    let err = |m: String| serr(format!("csvfile: {m}"));
    let Some(path) = path else {
        // Python opens `None` (no file found) as the path b'None'.
        return Err(err("[Errno 2] No such file or directory: b'None'".into()));
    };
    let mut chars = delimiter.chars();
    let (Some(delim), None) = (chars.next(), chars.next()) else {
        return Err(err("\"delimiter\" must be a 1-character string".into()));
    };
    let bytes = std::fs::read(path).map_err(|e| {
        err(format!(
            "[Errno 2] {}: b'{}'",
            io_reason(&e),
            path.display()
        ))
    })?;
    let text = String::from_utf8_lossy(&bytes);
    let keycol: usize = match keycol.as_i64() {
        Some(n) if n >= 0 => n as usize,
        _ => s(keycol).trim().parse().map_err(|_| {
            err(format!(
                "invalid literal for int() with base 10: '{}'",
                s(keycol)
            ))
        })?,
    };
    for row in csv_rows(&text, delim) {
        if row.get(keycol).is_some_and(|k| k == key) {
            let c: usize = col
                .trim()
                .parse()
                .map_err(|_| err(format!("invalid literal for int() with base 10: '{col}'")))?;
            return row
                .get(c)
                .cloned()
                .map(Some)
                .ok_or_else(|| err("list index out of range".into()));
        }
    }
    Ok(None)
}

fn io_reason(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::NotFound => "No such file or directory",
        std::io::ErrorKind::PermissionDenied => "Permission denied",
        _ => "Input/output error",
    }
}

/// Rows of CSV text as Python's `csv.reader` (excel dialect) reads them:
/// `"` quotes a field (`""` inside is a quote), a quoted field may span
/// lines, quotes in the middle of an unquoted field are kept, `\r\n` or
/// `\n` ends a row, empty lines give no row.
fn csv_rows(text: &str, delim: char) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut in_quotes = false;
    let mut started = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_quotes {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    in_quotes = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' if field.is_empty() && !started => {
                in_quotes = true;
                started = true;
            }
            c if c == delim => {
                row.push(std::mem::take(&mut field));
                started = false;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => {
                if !row.is_empty() || !field.is_empty() || started {
                    row.push(std::mem::take(&mut field));
                    rows.push(std::mem::take(&mut row));
                }
                started = false;
            }
            c => {
                field.push(c);
                started = true;
            }
        }
    }
    if !row.is_empty() || !field.is_empty() || started {
        row.push(field);
        rows.push(row);
    }
    rows
}

/// The `vars` and `config` lookups' error for a term that is not a string.
fn not_a_setting_name(t: &Value) -> TemplateError {
    let class = match t.kind() {
        minijinja::value::ValueKind::Number if t.is_integer() => "int",
        minijinja::value::ValueKind::Number => "float",
        minijinja::value::ValueKind::Bool => "bool",
        minijinja::value::ValueKind::Seq => "list",
        minijinja::value::ValueKind::Map => "dict",
        _ => "NoneType",
    };
    lerr(format!(
        "Invalid setting identifier, \"{}\" is not a string, its a <class '{class}'>",
        py_str(t)
    ))
}

fn config(ctx: &Ctx, name: &str) -> Option<Value> {
    if let Some(v) = ctx.shared.opts.config.get(name) {
        return Some(crate::convert::json_to_mj(v));
    }
    // The environment overrides the defaults, converted to the setting's
    // type as Ansible's config manager does.
    if let Some((env, ty)) = config_env(name) {
        if let Ok(raw) = std::env::var(env) {
            let v = match ty {
                "integer" => raw.trim().parse::<i64>().ok().map(Value::from),
                "boolean" => Some(Value::from(matches!(
                    raw.trim().to_lowercase().as_str(),
                    "y" | "yes" | "on" | "1" | "true" | "t"
                ))),
                "list" => Some(Value::from(
                    raw.split(',')
                        .map(|p| Value::from(p.trim()))
                        .collect::<Vec<_>>(),
                )),
                "pathspec" => Some(Value::from(
                    raw.split(':')
                        .filter(|p| !p.is_empty())
                        .map(Value::from)
                        .collect::<Vec<_>>(),
                )),
                _ => Some(Value::from(raw.clone())),
            };
            if let Some(v) = v {
                return Some(v);
            }
        }
    }
    let home = std::env::var("HOME").unwrap_or_default();
    Some(match name {
        "DEFAULT_BECOME_USER" => Value::from("root"),
        "DEFAULT_BECOME_METHOD" => Value::from("sudo"),
        "DEFAULT_REMOTE_USER" => Value::from(()),
        "DEFAULT_FORKS" => Value::from(5),
        "DEFAULT_TIMEOUT" => Value::from(10),
        "DEFAULT_JINJA2_NATIVE" => Value::from(false),
        "DEFAULT_HASH_BEHAVIOUR" => Value::from("replace"),
        "DEFAULT_KEEP_REMOTE_FILES" => Value::from(false),
        "DEFAULT_ROLES_PATH" => Value::from(vec![
            Value::from(format!("{home}/.ansible/roles")),
            Value::from("/usr/share/ansible/roles"),
            Value::from("/etc/ansible/roles"),
        ]),
        "DEFAULT_MODULE_NAME" => Value::from("command"),
        "DEFAULT_MANAGED_STR" => Value::from("Ansible managed"),
        "DEFAULT_NULL_REPRESENTATION" => Value::from(()),
        "DEFAULT_UNDEFINED_VAR_BEHAVIOR" => Value::from(true),
        "HOST_KEY_CHECKING" => Value::from(true),
        "RETRY_FILES_ENABLED" => Value::from(false),
        "ANSIBLE_FORCE_COLOR" => Value::from(false),
        "COLOR_OK" => Value::from("green"),
        "COLOR_CHANGED" => Value::from("yellow"),
        "COLOR_ERROR" => Value::from("red"),
        "ANSIBLE_COW_ACCEPTLIST" => Value::from(
            [
                "bud-frogs",
                "bunny",
                "cheese",
                "daemon",
                "default",
                "dragon",
                "elephant-in-snake",
                "elephant",
                "eyes",
                "hellokitty",
                "kitty",
                "luke-koala",
                "meow",
                "milk",
                "moofasa",
                "moose",
                "ren",
                "sheep",
                "small",
                "stegosaurus",
                "stimpy",
                "supermilker",
                "three-eyes",
                "turkey",
                "turtle",
                "tux",
                "udder",
                "vader-koala",
                "vader",
                "www",
            ]
            .iter()
            .map(|s| Value::from(*s))
            .collect::<Vec<_>>(),
        ),
        _ => return None,
    })
}

/// Runs lookup `name`; returns the list of results.
pub(crate) fn run(
    ctx: &Arc<Ctx>,
    name: &str,
    terms: &[Value],
    kwargs: &[(String, Value)],
    _wantlist: bool,
) -> Result<Value, TemplateError> {
    let list = |v: Vec<Value>| Ok(Value::from(v));
    let name = name
        .strip_prefix("ansible.builtin.")
        .or_else(|| name.strip_prefix("ansible.legacy."))
        .unwrap_or(name);
    match name {
        "env" | "ansible.builtin.env" => {
            let default = kw(kwargs, "default").cloned().unwrap_or(Value::from(""));
            list(
                terms
                    .iter()
                    .map(|t| {
                        std::env::var(s(t))
                            .map(Value::from)
                            .unwrap_or(default.clone())
                    })
                    .collect(),
            )
        }
        "file" | "ansible.builtin.file" => {
            let lstrip = kw(kwargs, "lstrip").is_some_and(|v| v.is_true());
            let rstrip = kw(kwargs, "rstrip").map(|v| v.is_true()).unwrap_or(true);
            let mut out = Vec::new();
            for t in terms {
                let t = s(t);
                let p = find_file(ctx, "files", &t).ok_or_else(|| {
                    lerr(format!("The 'file' lookup had an issue accessing the file '{t}'. file not found, use -vvvvv to see paths searched"))
                })?;
                let mut c = read_decrypted(&p).map_err(lerr)?;
                if rstrip {
                    c = c.trim_end().to_string();
                }
                if lstrip {
                    c = c.trim_start().to_string();
                }
                out.push(Value::from(c));
            }
            list(out)
        }
        "template" | "ansible.builtin.template" => {
            let convert = kw(kwargs, "convert_data")
                .map(|v| v.is_true())
                .unwrap_or(true);
            let tvars = kw(kwargs, "template_vars").cloned();
            let opt = |k: &str, d: &str| kw(kwargs, k).map(s).unwrap_or_else(|| d.to_owned());
            let delims = crate::lex::Delimiters {
                variable: (
                    opt("variable_start_string", "{{"),
                    opt("variable_end_string", "}}"),
                ),
                comment: (
                    opt("comment_start_string", "{#"),
                    opt("comment_end_string", "#}"),
                ),
            };
            let mut out = Vec::new();
            for t in terms {
                let t = s(t);
                // A plain AnsibleError (reported as an unhandled exception).
                let p = find_file(ctx, "templates", &t).ok_or_else(|| {
                    TemplateError::other(format!(
                        "the template file {t} could not be found for the lookup"
                    ))
                })?;
                let src = std::fs::read_to_string(&p)
                    .map_err(|e| lerr(format!("could not read template {}: {e}", p.display())))?;
                let src = crate::lex::translate_delimiters(&src, &delims);
                let c = match &tvars {
                    Some(tv) if tv.kind() == ValueKind::Map => {
                        let extra = match mj_to_json(tv)? {
                            serde_json::Value::Object(m) => m,
                            _ => serde_json::Map::new(),
                        };
                        let ov: Arc<dyn Vars> = Arc::new(Overlay {
                            base: ctx.vars.clone(),
                            extra,
                        });
                        ctx.with_vars(ov)
                    }
                    _ => ctx.clone(),
                };
                out.push(c.do_template(&src, false, convert)?);
            }
            list(out)
        }
        "pipe" | "ansible.builtin.pipe" => {
            let mut out = Vec::new();
            for t in terms {
                let t = s(t);
                let (rc, stdout) = run_cmd(&t)?;
                if rc != 0 {
                    return Err(lerr(format!("lookup_plugin.pipe({t}) returned {rc}")));
                }
                out.push(Value::from(stdout.trim_end()));
            }
            list(out)
        }
        "lines" | "ansible.builtin.lines" => {
            let mut out = Vec::new();
            for t in terms {
                let t = s(t);
                let (rc, stdout) = run_cmd(&t)?;
                if rc != 0 {
                    return Err(lerr(format!("lookup_plugin.lines({t}) returned {rc}")));
                }
                out.extend(stdout.lines().map(Value::from));
            }
            list(out)
        }
        "vars" | "ansible.builtin.vars" => {
            let default = kw(kwargs, "default").cloned();
            let mut out = Vec::new();
            for t in terms {
                if t.as_str().is_none() {
                    return Err(not_a_setting_name(t));
                }
                let t = s(t);
                match ctx.lookup_var(&t).filter(|v| !v.is_undefined()) {
                    Some(v) => out.push(v),
                    None => match &default {
                        Some(d) => out.push(d.clone()),
                        // AnsibleUndefinedVariable in Ansible.
                        None => {
                            return Err(TemplateError::undefined(format!(
                                "No variable found with this name: {t}"
                            )))
                        }
                    },
                }
            }
            list(out)
        }
        "varnames" | "ansible.builtin.varnames" => {
            let names = ctx.vars.names();
            let mut out = Vec::new();
            for t in terms {
                let re = crate::filters::more_regex(&format!("\\A(?:{})", s(t)), false, false)
                    .map_err(|e| lerr(e.to_string()))?;
                for n in &names {
                    if re.is_match(n).unwrap_or(false) {
                        out.push(Value::from(n.as_str()));
                    }
                }
            }
            list(out)
        }
        "items" | "ansible.builtin.items" => list(flatten_terms(terms)),
        "list" | "ansible.builtin.list" => list(terms.to_vec()),
        "indexed_items" | "ansible.builtin.indexed_items" => list(
            flatten_terms(terms)
                .into_iter()
                .enumerate()
                .map(|(i, v)| Value::from(vec![Value::from(i), v]))
                .collect(),
        ),
        "dict" | "ansible.builtin.dict" => {
            let mut out = Vec::new();
            for t in terms {
                if t.kind() != ValueKind::Map {
                    return Err(TemplateError::other("with_dict expects a dict"));
                }
                for k in t.try_iter().map_err(|e| lerr(e.to_string()))? {
                    let v = t.get_item(&k).unwrap_or_default();
                    out.push(Value::from_pairs(vec![
                        (Value::from("key"), k),
                        (Value::from("value"), v),
                    ]));
                }
            }
            list(out)
        }
        "sequence" | "ansible.builtin.sequence" => {
            let mut out = Vec::new();
            for t in terms {
                out.extend(sequence(&s(t))?);
            }
            list(out)
        }
        "together" | "ansible.builtin.together" => {
            let lists: Vec<Vec<Value>> = terms
                .iter()
                .map(|t| {
                    t.try_iter()
                        .map(|i| i.collect())
                        .unwrap_or_else(|_| vec![t.clone()])
                })
                .collect();
            if lists.is_empty() {
                return Err(lerr(
                    "with_together requires at least one element in each list",
                ));
            }
            let n = lists.iter().map(Vec::len).max().unwrap_or(0);
            list(
                (0..n)
                    .map(|i| {
                        Value::from(
                            lists
                                .iter()
                                .map(|l| l.get(i).cloned().unwrap_or(Value::from(())))
                                .collect::<Vec<_>>(),
                        )
                    })
                    .collect(),
            )
        }
        "nested" | "ansible.builtin.nested" => {
            let lists: Vec<Vec<Value>> = terms
                .iter()
                .map(|t| {
                    t.try_iter()
                        .map(|i| i.collect())
                        .unwrap_or_else(|_| vec![t.clone()])
                })
                .collect();
            if lists.is_empty() {
                return Err(lerr(
                    "with_nested requires at least one element in the nested list",
                ));
            }
            let mut acc: Vec<Vec<Value>> = vec![vec![]];
            for l in &lists {
                let mut next = Vec::new();
                for p in &acc {
                    for x in l {
                        let mut q = p.clone();
                        q.push(x.clone());
                        next.push(q);
                    }
                }
                acc = next;
            }
            list(acc.into_iter().map(Value::from).collect())
        }
        "subelements" | "ansible.builtin.subelements" => subelements_lookup(terms),
        "fileglob" | "ansible.builtin.fileglob" => {
            let mut out = Vec::new();
            for t in terms {
                let t = s(t);
                let pats: Vec<String> = if Path::new(&t).is_absolute() {
                    vec![t.clone()]
                } else {
                    let opts = &ctx.shared.opts;
                    let mut bases = opts.search_paths.clone();
                    if let Some(pd) = &opts.playbook_dir {
                        bases.push(pd.clone());
                    }
                    bases
                        .iter()
                        .flat_map(|b| [b.join("files").join(&t), b.join(&t)])
                        .map(|p| p.to_string_lossy().into_owned())
                        .collect()
                };
                for p in pats {
                    let found: Vec<String> = crate::filters::glob_paths(&p)
                        .into_iter()
                        .filter(|f| Path::new(f).is_file())
                        .collect();
                    if !found.is_empty() {
                        out.extend(found.into_iter().map(Value::from));
                        break;
                    }
                }
            }
            list(out)
        }
        "first_found" | "ansible.builtin.first_found" => {
            let mut files: Vec<String> = Vec::new();
            let mut paths: Vec<String> = Vec::new();
            let mut skip = kw(kwargs, "skip").is_some_and(|v| v.is_true());
            let split = |v: &Value| -> Vec<String> {
                match v.kind() {
                    ValueKind::Seq => v
                        .try_iter()
                        .map(|i| i.map(|x| s(&x)).collect())
                        .unwrap_or_default(),
                    _ => s(v)
                        .split([',', ';'])
                        .map(|x| x.trim().to_string())
                        .filter(|x| !x.is_empty())
                        .collect(),
                }
            };
            if let Some(f) = kw(kwargs, "files") {
                files.extend(split(f));
            }
            if let Some(p) = kw(kwargs, "paths") {
                paths.extend(split(p));
            }
            for t in flatten_terms(terms) {
                if t.kind() == ValueKind::Map {
                    if let Ok(f) = t.get_item(&Value::from("files")) {
                        if !f.is_undefined() {
                            files.extend(split(&f));
                        }
                    }
                    if let Ok(p) = t.get_item(&Value::from("paths")) {
                        if !p.is_undefined() {
                            paths.extend(split(&p));
                        }
                    }
                    if t.get_item(&Value::from("skip")).is_ok_and(|v| v.is_true()) {
                        skip = true;
                    }
                } else {
                    files.push(s(&t));
                }
            }
            let mut cands: Vec<String> = Vec::new();
            for f in &files {
                if paths.is_empty() {
                    cands.push(f.clone());
                } else {
                    for p in &paths {
                        cands.push(Path::new(p).join(f).to_string_lossy().into_owned());
                    }
                }
            }
            for c in cands {
                if let Some(p) = find_file(ctx, "files", &c) {
                    return list(vec![Value::from(p.to_string_lossy().into_owned())]);
                }
            }
            if skip {
                return list(vec![]);
            }
            Err(lerr("No file was found when using first_found."))
        }
        "csvfile" | "ansible.builtin.csvfile" => csvfile(ctx, terms, kwargs),
        "password" | "ansible.builtin.password" => {
            let mut out = Vec::new();
            for t in terms {
                out.push(password(ctx, &s(t), kwargs)?);
            }
            list(out)
        }
        "config" | "ansible.builtin.config" => {
            let on_missing = kw(kwargs, "on_missing")
                .map(s)
                .unwrap_or_else(|| "error".into());
            if !matches!(on_missing.as_str(), "error" | "warn" | "skip") {
                return Err(lerr(format!(
                    "Invalid value \"{on_missing}\" for configuration option \"plugin_type: lookup plugin: config setting: on_missing \", valid values are: error, warn, skip"
                )));
            }
            let ptype = kw(kwargs, "plugin_type").map(s);
            let pname = kw(kwargs, "plugin_name").map(s);
            let show_origin = kw(kwargs, "show_origin").is_some_and(|v| v.is_true());
            if ptype.is_some() != pname.is_some() {
                return Err(lerr(
                    "Both plugin_type and plugin_name are required, cannot use one without the other",
                ));
            }
            let mut out = Vec::new();
            for t in terms {
                if t.as_str().is_none() {
                    return Err(not_a_setting_name(t));
                }
                let t = s(t);
                if let (Some(pt), Some(pn)) = (&ptype, &pname) {
                    match plugin_config(ctx, pt, pn, &t)? {
                        Some((v, origin)) if show_origin => {
                            out.push(Value::from(vec![v, Value::from(origin)]))
                        }
                        Some((v, _)) => out.push(v),
                        None if on_missing == "error" => {
                            let why = format!("Requested entry (plugin_type: {pt} plugin: {pn} setting: {t} ) was not defined in configuration.");
                            return Err(lerr(format!("Unable to find setting {t}. {why}. {why}")));
                        }
                        None => {}
                    }
                    continue;
                }
                // The callables of ansible-core 2.18's `ansible.constants`
                // (its settings are plain values).
                if matches!(
                    t.as_str(),
                    "ConfigManager"
                        | "Sequence"
                        | "_DeprecatedSequenceConstant"
                        | "_deprecated"
                        | "_warning"
                        | "add_internal_fqcns"
                        | "handle_config_noise"
                        | "set_constant"
                        | "to_text"
                ) {
                    return Err(lerr(format!("Invalid setting \"{t}\" attempted")));
                }
                match config(ctx, &t) {
                    Some(v) if show_origin => {
                        out.push(Value::from(vec![v, Value::from("default")]))
                    }
                    Some(v) => out.push(v),
                    None if on_missing == "skip" || on_missing == "warn" => {}
                    // Ansible's message carries the failed attribute
                    // lookup on its constants module (twice).
                    None => {
                        let why = format!("module 'ansible.constants' has no attribute '{t}'");
                        return Err(lerr(format!("Unable to find setting {t}. {why}. {why}")));
                    }
                }
            }
            list(out)
        }
        "inventory_hostnames" | "ansible.builtin.inventory_hostnames" => {
            let Some(inv) = &ctx.shared.opts.inventory else {
                return Err(lerr("inventory_hostnames lookup: no inventory available"));
            };
            let mut out = Vec::new();
            for t in terms {
                out.extend(
                    inv.hostnames(&s(t))
                        .map_err(lerr)?
                        .into_iter()
                        .map(Value::from),
                );
            }
            list(out)
        }
        "random_choice" | "ansible.builtin.random_choice" => {
            let all = flatten_terms(terms);
            if all.is_empty() {
                return list(vec![]);
            }
            list(vec![all[fastrand::usize(0..all.len())].clone()])
        }
        "unvault" | "ansible.builtin.unvault" => {
            let mut out = Vec::new();
            for t in terms {
                let t = s(t);
                let p = find_file(ctx, "files", &t)
                    .ok_or_else(|| lerr(format!("Unable to find file matching \"{t}\" ")))?;
                out.push(Value::from(read_decrypted(&p).map_err(lerr)?));
            }
            list(out)
        }
        other => Err(lerr(format!("lookup plugin ({other}) not found"))),
    }
}

/// A file's text as Ansible's loader reads it: decrypted when vaulted.
fn read_decrypted(p: &std::path::Path) -> Result<String, String> {
    let data = std::fs::read(p).map_err(|e| format!("could not read file {}: {e}", p.display()))?;
    if rustle_vault::is_encrypted(&data) {
        let plain = rustle_vault::keyring::decrypt_file(&data, &p.display().to_string())
            .map_err(|e| e.to_string())?;
        return Ok(String::from_utf8_lossy(&plain).into_owned());
    }
    Ok(String::from_utf8_lossy(&data).into_owned())
}

fn get_ctx(state: &State) -> Result<Arc<Ctx>, Error> {
    state
        .lookup(CTX_KEY)
        .and_then(|v| v.downcast_object::<Ctx>())
        .ok_or_else(|| to_mj(lerr("lookups are not available here")))
}

fn call_lookup(state: &State, args: Vec<Value>, force_list: bool) -> Result<Value, Error> {
    let a = Args::new(args);
    let Some(name) = a.pos.first().map(s) else {
        return Err(to_mj(lerr("lookup requires a plugin name")));
    };
    let ctx = get_ctx(state)?;
    let terms: Vec<Value> = a.pos[1..].to_vec();
    for t in &terms {
        if t.is_undefined() {
            return Err(Error::new(
                minijinja::ErrorKind::UndefinedError,
                "undefined value",
            ));
        }
    }
    let wantlist = force_list || a.kw("wantlist").is_some_and(|v| v.is_true());
    let errors = a
        .kw("errors")
        .map(|v| s(&v))
        .unwrap_or_else(|| "strict".into());
    let kwargs: Vec<(String, Value)> =
        a.kw.iter()
            .filter(|(k, _)| k != "wantlist" && k != "errors")
            .cloned()
            .collect();
    let res = match run(&ctx, &name, &terms, &kwargs, wantlist) {
        Ok(r) => r,
        Err(e) => {
            if errors == "ignore" || errors == "warn" {
                return Ok(if force_list {
                    Value::from(Vec::<Value>::new())
                } else {
                    Value::from(())
                });
            }
            if e.kind == ErrorKind::Lookup
                || e.kind == ErrorKind::Vault
                || e.kind == ErrorKind::Undefined
            {
                return Err(to_mj(e));
            }
            let msg = format!(
                "An unhandled exception occurred while running the lookup plugin '{name}'. Error was a <class 'ansible.errors.AnsibleError'>, original message: {m}. {m}",
                m = e.message
            );
            return Err(to_mj(TemplateError::new(e.kind, msg)));
        }
    };
    ctx.mark_unsafe();
    if wantlist {
        return Ok(res);
    }
    let items: Vec<Value> = res.try_iter().map(|i| i.collect()).unwrap_or_default();
    if items.is_empty() {
        return Ok(res);
    }
    if items.iter().all(|v| v.kind() == ValueKind::String) {
        return Ok(Value::from(
            items.iter().map(s).collect::<Vec<_>>().join(","),
        ));
    }
    if items.len() == 1 {
        return Ok(items.into_iter().next().unwrap_or_default());
    }
    Ok(Value::from(items))
}

pub(crate) fn register(env: &mut Environment<'static>, _shared: Arc<Shared>) {
    env.add_function("lookup", |state: &State, args: Rest<ValueOrKwargs>| {
        call_lookup(state, args.0.into_iter().map(Value::from).collect(), false)
    });
    env.add_function("query", |state: &State, args: Rest<ValueOrKwargs>| {
        call_lookup(state, args.0.into_iter().map(Value::from).collect(), true)
    });
    env.add_function("q", |state: &State, args: Rest<ValueOrKwargs>| {
        call_lookup(state, args.0.into_iter().map(Value::from).collect(), true)
    });
}

#[cfg(test)]
mod csv_tests {
    use super::csv_rows;

    #[test]
    fn rows_as_python_csv() {
        let rows = csv_rows(
            "a,b\r\n\"x, \"\"y\"\"\",2\n\"The\" Rock,3\n\nlast\na\"b\"c",
            ',',
        );
        assert_eq!(
            rows,
            vec![
                vec!["a".to_string(), "b".into()],
                vec!["x, \"y\"".into(), "2".into()],
                vec!["The Rock".into(), "3".into()],
                vec!["last".into()],
                vec!["a\"b\"c".into()],
            ]
        );
    }
}
