//! `blockinfile`: inserts, updates or removes a block of lines between
//! marker lines, with the steps, results and messages of Ansible's module.

use std::fs;
use std::path::PathBuf;

use serde_json::Value;

use super::common::{self as c, Diff, FileArgs};
use super::file::file_common_args;
use super::pyre;
use super::textfile::{self as t, Codec};
use crate::args::{ArgDef, ArgDefault, ArgSpec, ArgType};
use crate::modules::{Capabilities, Check, CheckSupport, Context, Module, ModuleError};
use crate::result::ModuleResult;

pub struct Blockinfile;

const COMMON: [ArgDef; 8] = file_common_args!();

static ARGS: [ArgDef; 21] = [
    ArgDef::new("path", ArgType::Path)
        .aliases(&["dest", "destfile", "name"])
        .required()
        .doc("The file to modify."),
    ArgDef::new("state", ArgType::Str)
        .default(ArgDefault::Str("present"))
        .choices(&["absent", "present"])
        .doc("Whether the block should be there or not."),
    ArgDef::new("marker", ArgType::Str)
        .default(ArgDefault::Str("# {mark} ANSIBLE MANAGED BLOCK"))
        .doc("Marker line template; {mark} becomes marker_begin or marker_end."),
    ArgDef::new("block", ArgType::Str)
        .aliases(&["content"])
        .default(ArgDefault::Str(""))
        .doc("The text to put between the markers."),
    ArgDef::new("insertafter", ArgType::Str)
        .doc("Insert after the last line matching this regex, or EOF."),
    ArgDef::new("insertbefore", ArgType::Str)
        .doc("Insert before the last line matching this regex, or BOF."),
    ArgDef::new("create", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Create the file when it is missing."),
    ArgDef::new("backup", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Keep a timestamped copy of the original file."),
    ArgDef::new("validate", ArgType::Str)
        .doc("Command run on the new file (%s) before it is put in place."),
    ArgDef::new("marker_begin", ArgType::Str)
        .default(ArgDefault::Str("BEGIN"))
        .doc("What {mark} becomes in the first marker."),
    ArgDef::new("marker_end", ArgType::Str)
        .default(ArgDefault::Str("END"))
        .doc("What {mark} becomes in the last marker."),
    ArgDef::new("append_newline", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Add a blank line after the block unless one is there."),
    ArgDef::new("prepend_newline", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Add a blank line before the block unless one is there."),
    COMMON[0],
    COMMON[1],
    COMMON[2],
    COMMON[3],
    COMMON[4],
    COMMON[5],
    COMMON[6],
    COMMON[7],
];

static SPEC: ArgSpec = ArgSpec::new(&ARGS).mutually_exclusive(&[&["insertbefore", "insertafter"]]);

#[derive(Debug, Clone)]
struct Opts {
    path: String,
    dest: PathBuf,
    present: bool,
    marker: String,
    block: String,
    insertafter: Option<String>,
    insertbefore: Option<String>,
    create: bool,
    backup: bool,
    validate: Option<String>,
    marker_begin: String,
    marker_end: String,
    append_newline: bool,
    prepend_newline: bool,
    fa: FileArgs,
    diff: bool,
}

const NOTES: &str = r#"
Results: `changed`, `msg` (`Block inserted`, `Block removed`, `File
created`, `File X not present`, `''`), `backup_file` when a backup was
made, `diff` (content + attributes list; a single content diff in check
mode for a file that does not exist yet). Check mode: full. Diff: yes.
"#;

impl Module for Blockinfile {
    fn name(&self) -> &'static str {
        "blockinfile"
    }
    fn description(&self) -> &'static str {
        "Insert/update/remove a text block surrounded by marker lines"
    }
    fn notes(&self) -> &'static str {
        NOTES
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            check_mode: CheckSupport::Full,
            diff: true,
        }
    }
    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }
    fn check(&self, ctx: &Context<'_>) -> Result<Check, ModuleError> {
        let a = &ctx.args;
        let path = a.str("path").unwrap_or_default().to_owned();
        let dest = t::target(&path);
        let s = |k: &str| a.get(k).and_then(Value::as_str).map(str::to_owned);
        let o = Opts {
            path,
            dest: dest.clone(),
            present: a.str("state") != Some("absent"),
            marker: s("marker").unwrap_or_default(),
            block: s("block").unwrap_or_default(),
            insertafter: s("insertafter"),
            insertbefore: s("insertbefore"),
            create: a.bool("create"),
            backup: a.bool("backup"),
            validate: s("validate"),
            marker_begin: s("marker_begin").unwrap_or_default(),
            marker_end: s("marker_end").unwrap_or_default(),
            append_newline: a.bool("append_newline"),
            prepend_newline: a.bool("prepend_newline"),
            fa: t::file_args(a, &dest),
            diff: ctx.diff,
        };
        t::check_by_dry_run(o, run)
    }
}

/// `re.sub(b'{mark}', value, marker)` (value is a replacement template).
fn marker_line(marker: &str, value: &str) -> Result<String, ModuleError> {
    let re = t::compile("{mark}")?;
    let (s, _) = re.subn(value, marker).map_err(ModuleError::failed)?;
    Ok(format!("{s}\n"))
}

fn run(o: &Opts, dry: bool) -> Result<ModuleResult, ModuleError> {
    let path = &o.path;
    if o.dest.is_dir() {
        return Err(t::fail_rc(256, format!("Path {path} is a directory !")));
    }
    let path_exists = c::exists(&o.dest);
    let (original, codec) = if !path_exists {
        if !o.create {
            return Err(t::fail_rc(257, format!("Path {path} does not exist !")));
        }
        if !dry {
            if let Some(parent) = o.dest.parent().filter(|p| !p.as_os_str().is_empty()) {
                if !c::exists(parent) {
                    fs::create_dir_all(parent).map_err(|e| {
                        ModuleError::failed(format!(
                            "Error creating {} Error code: {} Error description: {}",
                            c::ps(parent),
                            e.raw_os_error().unwrap_or(0),
                            c::strerror(&e)
                        ))
                    })?;
                }
            }
        }
        (None, Codec::Utf8)
    } else {
        let data = fs::read(&o.dest)
            .map_err(|e| ModuleError::failed(c::py_oserror(&e, Some(&o.dest), None)))?;
        let (s, codec) = Codec::decode(&data);
        (Some(s), codec)
    };
    let mut lines = original
        .as_deref()
        .map(t::splitlines_keepends)
        .unwrap_or_default();
    let header = format!("{path} (content)");
    let before = match (&original, o.diff) {
        (Some(s), true) if !s.is_empty() => codec.display(s),
        _ => String::new(),
    };
    if !o.present && !path_exists {
        return Ok(ModuleResult::ok().with_msg(format!("File {path} not present")));
    }
    let arg = |s: &Option<String>| s.as_deref().map(|x| codec.arg(x));
    let mut insertafter = arg(&o.insertafter);
    let insertbefore = arg(&o.insertbefore);
    if insertbefore.is_none() && insertafter.is_none() {
        insertafter = Some("EOF".into());
    }
    let insertre = match (&insertafter, &insertbefore) {
        (Some(a), _) if a != "EOF" => Some((t::compile(a)?, pyre::inline_flag(a, 'm'))),
        (None, Some(b)) if b != "BOF" => Some((t::compile(b)?, pyre::inline_flag(b, 'm'))),
        _ => None,
    };
    let marker = codec.arg(&o.marker);
    let marker0 = marker_line(&marker, &codec.arg(&o.marker_begin))?;
    let marker1 = marker_line(&marker, &codec.arg(&o.marker_end))?;
    let mut block = codec.arg(&o.block);
    let blocklines: Vec<String> = if o.present && !block.is_empty() {
        if !block.ends_with('\n') {
            block.push('\n');
        }
        let mut v = vec![marker0.clone()];
        v.extend(t::splitlines_keepends(&block));
        v.push(marker1.clone());
        v
    } else {
        Vec::new()
    };
    let (mut n0, mut n1) = (None, None);
    for (i, l) in lines.iter().enumerate() {
        if *l == marker0 {
            n0 = Some(i);
        }
        if *l == marker1 {
            n1 = Some(i);
        }
    }
    let mut n0 = match (n0, n1) {
        (Some(a), Some(b)) if a < b => {
            lines.drain(a..=b);
            a
        }
        (Some(a), Some(b)) => {
            lines.drain(b..=a);
            b
        }
        _ => {
            let mut n: Option<usize> = None;
            if let Some((re, multiline)) = &insertre {
                if *multiline {
                    let orig = original.as_deref().unwrap_or_default();
                    if let Some(m) = re.search(orig).and_then(|cap| cap.get(0)) {
                        let upto = if insertafter.is_some() {
                            m.end()
                        } else {
                            m.start()
                        };
                        n = Some(orig[..upto].matches('\n').count());
                    }
                } else {
                    for (i, l) in lines.iter().enumerate() {
                        if re.search(l).is_some() {
                            n = Some(i);
                        }
                    }
                }
                match n {
                    None => lines.len(),
                    Some(x) if insertafter.is_some() => x + 1,
                    Some(x) => x,
                }
            } else if insertbefore.is_some() {
                0
            } else {
                lines.len()
            }
        }
    };
    if n0 > 0 && n0 <= lines.len() && !lines[n0 - 1].ends_with('\n') {
        lines[n0 - 1].push('\n');
    }
    if o.prepend_newline
        && o.present
        && n0 != 0
        && lines.get(n0 - 1).map(String::as_str) != Some("\n")
    {
        lines.insert(n0, "\n".into());
        n0 += 1;
    }
    let n0 = n0.min(lines.len());
    let nblock = blocklines.len();
    lines.splice(n0..n0, blocklines);
    if o.append_newline && o.present {
        let after_block = n0 + nblock;
        if after_block < lines.len() && lines[after_block] != "\n" {
            lines.insert(after_block, "\n".into());
        }
    }
    let result = lines.concat();
    let after = if o.diff {
        codec.display(&result)
    } else {
        String::new()
    };
    let (mut msg, changed) = match &original {
        Some(orig) if *orig == result => (String::new(), false),
        None => ("File created".to_owned(), true),
        _ if nblock == 0 => ("Block removed".to_owned(), true),
        _ => ("Block inserted".to_owned(), true),
    };
    let diff = t::content_diff(&before, &after, &header);
    let mut backup_file = None;
    if changed && !dry {
        if o.backup && path_exists {
            backup_file = Some(t::backup(&o.dest)?);
        }
        t::write_atomic(
            &c::realpath(&o.dest),
            &codec.encode(&result),
            o.validate.as_deref(),
        )?;
    }
    if dry && !path_exists {
        let mut r = ModuleResult {
            changed,
            msg: Some(msg),
            ..Default::default()
        };
        r.set("diff", diff);
        return Ok(r);
    }
    let mut ad = Diff::default();
    let changed = t::check_file_attrs(&o.fa, changed, &mut msg, Some(&mut ad), dry)?;
    let mut r = ModuleResult {
        changed,
        msg: Some(msg),
        ..Default::default()
    };
    r.set("diff", vec![diff, t::attr_diff(&ad, path)]);
    if let Some(b) = backup_file {
        r.set("backup_file", b);
    }
    Ok(r)
}
