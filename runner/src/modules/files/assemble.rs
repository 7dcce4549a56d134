//! `assemble`: concatenates the fragment files of a directory (sorted by
//! name) into one file, as Ansible's action plugin and module do.
//!
//! With `remote_src` (the default) the fragments are read on the host, and
//! the result is the module's. With `remote_src: false` the controller
//! assembles the fragments it finds (role `files/`, playbook dir, ...) with
//! [`assemble_fragments`] and ships the result as the asset `src`; the
//! module then does what the action plugin does with it: `copy` when the
//! content differs (with a diff), `file` when only attributes may.
//! Vault-encrypted fragments are not decrypted (`decrypt` is accepted).

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::common::{self as c, kv};
use super::file::{self, file_common_args};
use super::pyre::{Flags, PyRegex};
use super::textfile as t;
use crate::args::{ArgDef, ArgDefault, ArgSpec, ArgType};
use crate::modules::{
    action, Capabilities, Check, CheckRefusal, CheckSupport, Context, Module, ModuleError,
};
use crate::result::ModuleResult;

pub struct Assemble;

const COMMON: [ArgDef; 8] = file_common_args!();

static ARGS: [ArgDef; 17] = [
    ArgDef::new("src", ArgType::Path)
        .required()
        .doc("Directory of fragments (on the host unless remote_src is false)."),
    ArgDef::new("delimiter", ArgType::Str)
        .doc("Text put between fragments (escapes like \\n decoded)."),
    ArgDef::new("dest", ArgType::Path)
        .required()
        .doc("The file to write."),
    ArgDef::new("backup", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Keep a timestamped copy of the file it replaces."),
    ArgDef::new("remote_src", ArgType::Bool)
        .default(ArgDefault::Bool(true))
        .doc("src is on the host; false: on the controller."),
    ArgDef::new("regexp", ArgType::Str).doc("Only fragments whose name matches this Python regex."),
    ArgDef::new("ignore_hidden", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Skip fragments whose name starts with a dot."),
    ArgDef::new("validate", ArgType::Str)
        .doc("Command run on the assembled file (%s) before it is put in place."),
    ArgDef::new("decrypt", ArgType::Bool)
        .default(ArgDefault::Bool(true))
        .doc("Accepted; vaulted fragments are not decrypted."),
    COMMON[0],
    COMMON[1],
    COMMON[2],
    COMMON[3],
    COMMON[4],
    COMMON[5],
    COMMON[6],
    COMMON[7],
];

static SPEC: ArgSpec = ArgSpec::new(&ARGS);

/// Why fragments could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum AssembleError {
    #[error("Source ({0}) does not exist")]
    Missing(String),
    #[error("Source ({0}) is not a directory")]
    NotDir(String),
    #[error("Invalid Regexp ({0}) in \"{1}\"")]
    Regexp(String, String),
    #[error("{0}")]
    Io(String),
}

/// `codecs.escape_decode`: Python's backslash escapes in bytes.
fn escape_decode(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        if s[i] != b'\\' || i + 1 >= s.len() {
            out.push(s[i]);
            i += 1;
            continue;
        }
        let n = s[i + 1];
        i += 2;
        match n {
            b'\n' => {}
            b'\\' => out.push(b'\\'),
            b'\'' => out.push(b'\''),
            b'"' => out.push(b'"'),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut v = u32::from(n - b'0');
                let mut k = 0;
                while k < 2 && i < s.len() && (b'0'..=b'7').contains(&s[i]) {
                    v = v * 8 + u32::from(s[i] - b'0');
                    i += 1;
                    k += 1;
                }
                out.push((v & 0xff) as u8);
            }
            b'x' if i + 1 < s.len() && s[i].is_ascii_hexdigit() && s[i + 1].is_ascii_hexdigit() => {
                let h = std::str::from_utf8(&s[i..i + 2]).unwrap_or("0");
                out.push(u8::from_str_radix(h, 16).unwrap_or(0));
                i += 2;
            }
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    out
}

/// `assemble_from_fragments`: the fragments of `src` (sorted by name,
/// regular files only, filtered by `regexp` and `ignore_hidden`) joined,
/// with `delimiter` between them and a newline after any fragment that
/// lacks one when another follows.
pub fn assemble_fragments(
    src: &Path,
    delimiter: Option<&str>,
    regexp: Option<&str>,
    ignore_hidden: bool,
) -> Result<Vec<u8>, AssembleError> {
    let shown = c::ps(src);
    if !c::exists(src) {
        return Err(AssembleError::Missing(shown));
    }
    if !src.is_dir() {
        return Err(AssembleError::NotDir(shown));
    }
    let re = regexp
        .map(|r| {
            PyRegex::new(r, Flags::default()).map_err(|e| AssembleError::Regexp(e, r.to_owned()))
        })
        .transpose()?;
    let mut names: Vec<String> = fs::read_dir(src)
        .map_err(|e| AssembleError::Io(c::py_oserror(&e, Some(src), None)))?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut out = Vec::new();
    let mut delimit_me = false;
    let mut add_newline = false;
    let mut delim: Option<Vec<u8>> = delimiter.map(|d| d.as_bytes().to_vec());
    for name in names {
        if re.as_ref().is_some_and(|re| re.search(&name).is_none()) {
            continue;
        }
        let fragment = src.join(&name);
        if !fragment.is_file() || (ignore_hidden && name.starts_with('.')) {
            continue;
        }
        let content = fs::read(&fragment)
            .map_err(|e| AssembleError::Io(c::py_oserror(&e, Some(&fragment), None)))?;
        if add_newline {
            out.push(b'\n');
        }
        if delimit_me {
            if let Some(d) = delim.as_mut().filter(|d| !d.is_empty()) {
                // Ansible decodes the (already decoded) delimiter again for
                // every fragment.
                *d = escape_decode(d);
                out.extend_from_slice(d);
                if d.last() != Some(&b'\n') {
                    out.push(b'\n');
                }
            }
        }
        out.extend_from_slice(&content);
        delimit_me = true;
        add_newline = !content.ends_with(b"\n");
    }
    Ok(out)
}

#[derive(Debug, Clone)]
struct Opts {
    src: String,
    dest: String,
    delimiter: Option<String>,
    regexp: Option<String>,
    ignore_hidden: bool,
    backup: bool,
    validate: Option<String>,
    mode: Option<Value>,
    owner: Option<String>,
    group: Option<String>,
    /// Content the controller assembled (`remote_src: false`).
    shipped: Option<Vec<u8>>,
    diff: bool,
}

const NOTES: &str = r#"
Fragments are regular files joined in name order; a fragment
without a final newline gets one when another follows.

With `remote_src: true` the module runs on the host: results `src`,
`dest`, `checksum`, `md5sum`, `msg: OK`, `backup_file`, `validation` and
the path information (`state`, `mode`, `owner`, ...). With `remote_src:
false` the controller finds `src` as Ansible's action does (role `files/`,
the task's and playbook's directories), assembles it and ships the result;
the host side then behaves as the action's `copy` (results `dest`,
`checksum`, `md5sum`, path information, `diff` with `--diff`; the
transferred temporary `src` path is not reported).

Check mode: not supported — skipped with `This action (assemble) does not
support check mode.` as Ansible's action does. Diff: with `remote_src:
false` only (as Ansible).
"#;

impl Module for Assemble {
    fn name(&self) -> &'static str {
        "assemble"
    }
    fn description(&self) -> &'static str {
        "Assemble configuration files from fragments"
    }
    fn notes(&self) -> &'static str {
        NOTES
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            check_mode: CheckSupport::None,
            diff: true,
        }
    }
    fn check_refusal(&self) -> CheckRefusal {
        CheckRefusal::Action
    }
    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }
    fn check(&self, ctx: &Context<'_>) -> Result<Check, ModuleError> {
        let a = &ctx.args;
        let s = |k: &str| a.get(k).and_then(Value::as_str).map(str::to_owned);
        let shipped = ctx.asset("src")?;
        if shipped.is_none() && !a.opt_bool("remote_src").unwrap_or(true) {
            return Err(ModuleError::failed(
                "assemble with remote_src=false needs the fragments assembled by the controller",
            ));
        }
        let o = Opts {
            src: file::expand(&s("src").unwrap_or_default()),
            dest: file::expand(&s("dest").unwrap_or_default()),
            delimiter: s("delimiter"),
            regexp: s("regexp"),
            ignore_hidden: a.bool("ignore_hidden"),
            backup: a.bool("backup"),
            validate: s("validate"),
            mode: a.get("mode").cloned(),
            owner: s("owner"),
            group: s("group"),
            shipped,
            diff: ctx.diff,
        };
        // Check mode never gets here (the action does not support it).
        Ok(Check::Change {
            predicted: ModuleResult::changed(),
            action: action(move |_ctx: &Context<'_>| run(&o)),
        })
    }
}

fn file_args(o: &Opts) -> c::FileArgs {
    c::FileArgs::load(
        Path::new(&o.dest),
        false,
        o.mode.clone(),
        o.owner.clone(),
        o.group.clone(),
    )
}

fn run(o: &Opts) -> Result<ModuleResult, ModuleError> {
    match &o.shipped {
        Some(data) => run_shipped(o, data),
        None => run_module(o),
    }
}

/// The module proper (`remote_src`).
fn run_module(o: &Opts) -> Result<ModuleResult, ModuleError> {
    let mut r = kv([
        ("src", o.src.clone().into()),
        ("dest", o.dest.clone().into()),
    ]);
    let src = PathBuf::from(&o.src);
    let data = assemble_fragments(
        &src,
        o.delimiter.as_deref(),
        o.regexp.as_deref(),
        o.ignore_hidden,
    )
    .map_err(|e| ModuleError::failed(e.to_string()))?;
    if let Some(v) = &o.validate {
        t::require_placeholder(v)?;
    }
    let path_hash = c::sha1_bytes(&data);
    r.insert("checksum".into(), path_hash.clone().into());
    r.insert("md5sum".into(), c::md5_bytes(&data).into());
    let dest = PathBuf::from(&o.dest);
    let dest_hash = if c::exists(&dest) {
        c::sha1_file(&dest).ok()
    } else {
        None
    };
    let mut changed = false;
    if dest_hash.as_deref() != Some(path_hash.as_str()) {
        if let Some(v) = &o.validate {
            let staged = crate::fsutil::StagedFile::create(&dest, &data, 0o600)
                .map_err(|e| ModuleError::failed(c::py_oserror(&e, None, None)))?;
            let res = t::run_validate(v, staged.path())?;
            drop(staged);
            r.insert(
                "validation".into(),
                serde_json::json!({"rc": res.rc, "stdout": res.stdout, "stderr": res.stderr}),
            );
            if res.rc != 0 {
                return Err(ModuleError::failed(format!(
                    "failed to validate: rc:{} error:{}",
                    res.rc, res.stderr
                )));
            }
        }
        if o.backup && dest_hash.is_some() {
            r.insert("backup_file".into(), t::backup(&dest)?.into());
        }
        t::write_atomic(&dest, &data, None)?;
        changed = true;
    }
    let changed = c::set_fs_attributes_if_different(&file_args(o), changed, None, false)?;
    c::add_path_info(&mut r);
    Ok(ModuleResult {
        changed,
        msg: Some("OK".into()),
        extra: r,
        ..Default::default()
    })
}

/// The action plugin with the controller's content. Ansible compares the
/// destination's checksum with the checksum of the temporary file's *name*
/// (`checksum_s(path)`), so it always hands over to `copy`, which changes
/// the file only when the content differs; the diff is always computed.
/// (`src`, the copy's temporary path on the host, is not returned.)
fn run_shipped(o: &Opts, data: &[u8]) -> Result<ModuleResult, ModuleError> {
    let dest = PathBuf::from(&o.dest);
    let checksum = c::sha1_bytes(data);
    let dest_sum = if dest.is_file() {
        c::sha1_file(&dest).ok()
    } else {
        None
    };
    let mut diff = serde_json::Map::new();
    if o.diff {
        if !c::exists(&dest) {
            diff.insert("before".into(), "".into());
        } else if let Ok(b) = fs::read(&dest) {
            if b.contains(&0) {
                diff.insert("dst_binary".into(), 1.into());
            } else {
                diff.insert("before_header".into(), o.dest.clone().into());
                diff.insert("before".into(), String::from_utf8_lossy(&b).into());
            }
        }
        if data.contains(&0) {
            diff.insert("src_binary".into(), 1.into());
        } else {
            diff.insert("after_header".into(), o.src.clone().into());
            diff.insert("after".into(), String::from_utf8_lossy(data).into());
        }
    }
    let mut r = kv([
        ("dest", o.dest.clone().into()),
        ("md5sum", c::md5_bytes(data).into()),
        ("checksum", checksum.clone().into()),
    ]);
    let differs = dest_sum.as_deref() != Some(checksum.as_str());
    if differs {
        if o.backup && c::exists(&dest) {
            r.insert("backup_file".into(), t::backup(&dest)?.into());
        }
        if let Some(v) = &o.validate {
            t::require_placeholder(v)?;
        }
        t::write_atomic(&dest, data, o.validate.as_deref())?;
    }
    let changed = c::set_fs_attributes_if_different(&file_args(o), differs, None, false)?;
    c::add_path_info(&mut r);
    if !diff.is_empty() {
        r.insert("diff".into(), Value::Object(diff));
    }
    Ok(ModuleResult {
        changed,
        extra: r,
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(escape_decode(br"a\nb\t\x41\101\\"), b"a\nb\tAA\\");
        assert_eq!(escape_decode(br"\q"), b"\\q");
    }
}
