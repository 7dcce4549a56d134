//! `template`: rendered on the controller (Jinja2 options, the template_*
//! variables and `ansible_managed`, `newline_sequence`, `output_encoding`),
//! then written on the host by the runner's `copy` module (force, follow,
//! backup, validate, mode/owner/group, check and diff mode).

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Arc;

use rustle_template::{Overlay, Vars};
use serde_json::{Map, Value};

use super::script::find_needle;
use super::{action_fail, done, fail, module_call, Done, Runner, Scheduled};
use crate::exec::value_to_string;

/// The options that only shape the rendering (removed before `copy`).
const TEMPLATE_ONLY: [&str; 10] = [
    "newline_sequence",
    "block_start_string",
    "block_end_string",
    "variable_start_string",
    "variable_end_string",
    "comment_start_string",
    "comment_end_string",
    "trim_blocks",
    "lstrip_blocks",
    "output_encoding",
];

/// Jinja's three delimiter pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Delims {
    pub block: (String, String),
    pub variable: (String, String),
    pub comment: (String, String),
}

impl Default for Delims {
    fn default() -> Self {
        Delims {
            block: ("{%".into(), "%}".into()),
            variable: ("{{".into(), "}}".into()),
            comment: ("{#".into(), "#}".into()),
        }
    }
}

/// Rewrites a template written with custom delimiters into Jinja's
/// defaults (the engine has one syntax): custom tags become default tags,
/// and default openers that are plain text under the custom syntax are
/// emitted as literals.
pub(crate) fn translate_delimiters(src: &str, d: &Delims) -> String {
    let def = Delims::default();
    if *d == def {
        return src.to_owned();
    }
    let pairs = [
        (&d.block, &def.block),
        (&d.variable, &def.variable),
        (&d.comment, &def.comment),
    ];
    // Longest custom openers first, so `{{%` is not taken for `{{`.
    let mut active: Vec<(&str, &str, &str, &str)> = pairs
        .iter()
        .map(|(c, f)| (c.0.as_str(), c.1.as_str(), f.0.as_str(), f.1.as_str()))
        .collect();
    active.sort_by_key(|p| std::cmp::Reverse(p.0.len()));
    let literal_openers: Vec<&str> = pairs
        .iter()
        .filter(|(c, f)| c != f)
        .map(|(_, f)| f.0.as_str())
        .filter(|o| !active.iter().any(|a| a.0 == *o))
        .collect();
    let mut out = String::with_capacity(src.len());
    let mut rest = src;
    'outer: while !rest.is_empty() {
        for (cs, ce, ds, de) in &active {
            if let Some(after) = rest.strip_prefix(cs) {
                if let Some(end) = after.find(ce) {
                    out.push_str(ds);
                    out.push_str(&after[..end]);
                    out.push_str(de);
                    rest = &after[end + ce.len()..];
                    continue 'outer;
                }
            }
        }
        for op in &literal_openers {
            if let Some(after) = rest.strip_prefix(op) {
                out.push_str(&format!("{{{{ '{op}' }}}}"));
                rest = after;
                continue 'outer;
            }
        }
        let ch = rest.chars().next().unwrap_or_default();
        out.push(ch);
        rest = &rest[ch.len_utf8()..];
    }
    out
}

/// `lstrip_blocks`: spaces and tabs before a block or comment tag that
/// starts a line are dropped (unless the tag opens with `+`).
pub(crate) fn lstrip_blocks(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    for line in src.split_inclusive('\n') {
        let body = line.trim_start_matches([' ', '\t']);
        let tag = body.starts_with("{%") || body.starts_with("{#");
        let plus = body.starts_with("{%+") || body.starts_with("{#+");
        if tag && !plus {
            out.push_str(body);
        } else {
            out.push_str(line);
        }
    }
    out
}

/// `trim_blocks: false` on an engine that trims: the newline after a
/// block or comment tag is doubled so that the trimmed one leaves the
/// original.
pub(crate) fn keep_block_newlines(src: &str) -> String {
    let mut out = String::with_capacity(src.len() + 16);
    let mut rest = src;
    loop {
        let next = [("{%", "%}"), ("{#", "#}")]
            .into_iter()
            .filter_map(|(o, c)| rest.find(o).map(|i| (i, c)))
            .min_by_key(|(i, _)| *i);
        let Some((start, close)) = next else {
            break;
        };
        let Some(len) = rest[start + 2..].find(close) else {
            break;
        };
        let end = start + 2 + len + 2;
        out.push_str(&rest[..end]);
        let tag = &rest[start..end];
        rest = &rest[end..];
        let modified = tag.len() >= 5 && matches!(&tag[tag.len() - 3..tag.len() - 2], "-" | "+");
        if !modified {
            if rest.starts_with("\r\n") {
                out.push_str("\r\n");
            } else if rest.starts_with('\n') {
                out.push('\n');
            }
        }
    }
    out.push_str(rest);
    out
}

/// Python's `time.strftime` for the few codes `ansible_managed` strings use.
fn strftime(fmt: &str, t: chrono::DateTime<chrono::Local>) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    // chrono reports a bad format as a fmt error; keep the text then.
    if write!(out, "{}", t.format(fmt)).is_err() {
        return fmt.to_owned();
    }
    out
}

fn local_time(secs: i64, nanos: i64) -> chrono::DateTime<chrono::Local> {
    let utc = chrono::DateTime::from_timestamp(secs, nanos.clamp(0, 999_999_999) as u32)
        .unwrap_or_default();
    utc.with_timezone(&chrono::Local)
}

/// `generate_ansible_template_vars`.
fn template_vars(r: &Runner<'_>, src_arg: &str, full: &Path, dest: &str) -> Map<String, Value> {
    let md = std::fs::metadata(full).ok();
    let uid = md.as_ref().map(|m| m.uid()).unwrap_or(0);
    let uid_name = rustle_runner::fsutil::user_name(uid).unwrap_or_else(|| uid.to_string());
    let mtime = md
        .as_ref()
        .map(|m| local_time(m.mtime(), m.mtime_nsec()))
        .unwrap_or_else(chrono::Local::now);
    let host = rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned();
    let py_dt = |t: chrono::DateTime<chrono::Local>| t.format("%Y-%m-%d %H:%M:%S%.6f").to_string();
    let mut m = Map::new();
    m.insert("template_host".into(), Value::from(host));
    m.insert("template_path".into(), Value::from(src_arg));
    m.insert("template_mtime".into(), Value::from(py_dt(mtime)));
    m.insert("template_uid".into(), Value::from(uid_name));
    m.insert(
        "template_run_date".into(),
        Value::from(py_dt(chrono::Local::now())),
    );
    m.insert(
        "template_destpath".into(),
        if dest.is_empty() {
            Value::Null
        } else {
            Value::from(dest)
        },
    );
    m.insert(
        "template_fullpath".into(),
        Value::from(full.display().to_string()),
    );
    let managed = r
        .cfg
        .lookup_config
        .get("DEFAULT_MANAGED_STR")
        .map(value_to_string)
        .unwrap_or_else(|| "Ansible managed".into())
        .replace("{host}", "{{ template_host }}")
        .replace("{uid}", "{{ template_uid }}")
        .replace("{file}", "{{ template_path }}");
    m.insert(
        "ansible_managed".into(),
        Value::from(strftime(&managed, mtime)),
    );
    m
}

/// The text in `encoding` (Python codec names for UTF-8, Latin-1, ASCII).
fn encode(text: &str, encoding: &str) -> Result<Vec<u8>, String> {
    let norm = encoding.to_ascii_lowercase().replace(['-', '_'], "");
    match norm.as_str() {
        "utf8" | "u8" | "utf" | "cp65001" => Ok(text.as_bytes().to_vec()),
        "latin1" | "iso88591" | "l1" | "latin" | "8859" | "cp819" | "ascii" | "usascii" => {
            let max = if norm.contains("ascii") { 0x7f } else { 0xff };
            text.chars()
                .enumerate()
                .map(|(i, c)| {
                    u8::try_from(u32::from(c))
                        .ok()
                        .filter(|b| u32::from(*b) <= max)
                        .ok_or_else(|| {
                            format!(
                                "'{}' codec can't encode character '\\u{:04x}' in position {i}",
                                if max == 0x7f { "ascii" } else { "latin-1" },
                                u32::from(c)
                            )
                        })
                })
                .collect()
        }
        _ => Err(format!("unknown encoding: {encoding}")),
    }
}

pub(super) fn template(
    r: &Runner<'_>,
    s: &Scheduled,
    args: &Map<String, Value>,
    vars: &Arc<dyn Vars>,
) -> Done {
    let text = |k: &str| args.get(k).filter(|v| !v.is_null()).map(value_to_string);
    let flag = |k: &str, d: bool| match args.get(k) {
        None | Some(Value::Null) => d,
        Some(v) => rustle_runner::args::to_bool(v).unwrap_or(false),
    };
    let mut newline = text("newline_sequence").unwrap_or_else(|| "\n".into());
    // Written in YAML without escapes, the sequences arrive as backslashes.
    newline = match newline.as_str() {
        "\\n" => "\n".into(),
        "\\r" => "\r".into(),
        "\\r\\n" => "\r\n".into(),
        _ => newline,
    };
    if args.get("state").is_some_and(|v| !v.is_null()) {
        return action_fail("'state' cannot be specified on a template");
    }
    let (Some(src), Some(dest)) = (text("src"), text("dest")) else {
        return action_fail("src and dest are required");
    };
    if !matches!(newline.as_str(), "\n" | "\r" | "\r\n") {
        return action_fail("newline_sequence needs to be one of: \n, \r or \r\n");
    }
    let path = match find_needle(s, "templates", &src, &r.playbook_dir) {
        Ok(p) => p,
        Err(v) => return done(v),
    };
    let mut mode = args.get("mode").cloned();
    if mode.as_ref().and_then(Value::as_str) == Some("preserve") {
        if let Ok(md) = std::fs::metadata(&path) {
            mode = Some(Value::from(format!("0{:03o}", md.mode() & 0o7777)));
        }
    }
    // Vaulted templates are decrypted here, as Ansible's loader does.
    let bytes = match super::read_src(&path, true) {
        Ok(b) => b,
        Err(e) if path.is_file() => return action_fail(e),
        Err(_) => {
            let e = std::fs::read(&path)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            return action_fail(format!("could not find src={}, {e}", path.display()));
        }
    };
    let Ok(source) = String::from_utf8(bytes) else {
        return action_fail("Template source files must be utf-8 encoded");
    };
    let opt = |k: &str, d: &str| text(k).unwrap_or_else(|| d.to_owned());
    let delims = Delims {
        block: (
            opt("block_start_string", "{%"),
            opt("block_end_string", "%}"),
        ),
        variable: (
            opt("variable_start_string", "{{"),
            opt("variable_end_string", "}}"),
        ),
        comment: (
            opt("comment_start_string", "{#"),
            opt("comment_end_string", "#}"),
        ),
    };
    let mut prepared = translate_delimiters(&source, &delims);
    if flag("lstrip_blocks", false) {
        prepared = lstrip_blocks(&prepared);
    }
    if !flag("trim_blocks", true) {
        prepared = keep_block_newlines(&prepared);
    }
    let extra = template_vars(r, &src, &path, &dest);
    let tvars: Arc<dyn Vars> = Arc::new(Overlay {
        base: vars.clone(),
        extra,
    });
    let mut rendered = match r.templar.render_file_contents(&prepared, &tvars) {
        Ok(t) => t,
        Err(e) => {
            // Raised by the action with the templar's exception as the
            // traceback's last line.
            let kind = if e.is_undefined() {
                "AnsibleUndefinedVariable"
            } else {
                "AnsibleError"
            };
            return done(serde_json::json!({
                "changed": false,
                "failed": true,
                "msg": format!("{kind}: {e}"),
                "exception": format!("Traceback (most recent call last):\nansible.errors.{kind}: {e}\n"),
            }));
        }
    };
    if newline != "\n" {
        rendered = rendered.replace('\n', &newline);
    }
    let encoding = text("output_encoding")
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| "utf-8".into());
    let data = match encode(&rendered, &encoding) {
        Ok(d) => d,
        Err(e) => return fail(format!("UnicodeEncodeError: {e}")),
    };
    let mut margs = args.clone();
    for k in TEMPLATE_ONLY {
        margs.remove(k);
    }
    match mode {
        Some(m) => margs.insert("mode".into(), m),
        None => margs.remove("mode"),
    };
    // `src` stays: a directory `dest` takes the template's file name.
    margs.insert(
        "src".into(),
        Value::from(
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or(src),
        ),
    );
    margs.insert("follow".into(), Value::Bool(flag("follow", false)));
    module_call(r, s, "copy", margs, vars, Some(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters_all_three() {
        let d = Delims {
            block: ("<%".into(), "%>".into()),
            variable: ("[[".into(), "]]".into()),
            comment: ("<#".into(), "#>".into()),
        };
        assert_eq!(
            translate_delimiters("<% if x %>[[ y ]]<# c #>{{ z }}{% q %}{# r #}", &d),
            "{% if x %}{{ y }}{# c #}{{ '{{' }} z }}{{ '{%' }} q %}{{ '{#' }} r #}"
        );
    }

    #[test]
    fn whitespace_options() {
        assert_eq!(
            lstrip_blocks("  {% if %}\n  x\n\t{%+ y %}"),
            "{% if %}\n  x\n\t{%+ y %}"
        );
        assert_eq!(
            keep_block_newlines("{% a %}\nx{% b -%}\n"),
            "{% a %}\n\nx{% b -%}\n"
        );
    }

    #[test]
    fn encodings() {
        assert_eq!(encode("é", "latin-1").ok(), Some(vec![0xe9]));
        assert!(encode("é", "ascii").is_err());
        assert!(encode("x", "klingon").is_err());
    }
}
