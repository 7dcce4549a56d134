//! `lineinfile`: makes sure one line is (or is not) in a text file, with
//! the steps, results and messages of Ansible's module.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::common::{self as c, Diff, FileArgs};
use super::file::file_common_args;
use super::pyre;
use super::textfile::{self as t, Codec};
use crate::args::{ArgDef, ArgDefault, ArgSpec, ArgType};
use crate::modules::{Capabilities, Check, CheckSupport, Context, Module, ModuleError};
use crate::result::ModuleResult;

pub struct Lineinfile;

const COMMON: [ArgDef; 8] = file_common_args!();

static ARGS: [ArgDef; 20] = [
    ArgDef::new("path", ArgType::Path)
        .aliases(&["dest", "destfile", "name"])
        .required()
        .doc("The file to modify."),
    ArgDef::new("state", ArgType::Str)
        .default(ArgDefault::Str("present"))
        .choices(&["absent", "present"])
        .doc("Whether the line should be there or not."),
    ArgDef::new("regexp", ArgType::Str)
        .aliases(&["regex"])
        .doc("Python regular expression looked for in every line."),
    ArgDef::new("search_string", ArgType::Str).doc("Literal string looked for in every line."),
    ArgDef::new("line", ArgType::Str)
        .aliases(&["value"])
        .doc("The line to insert or replace."),
    ArgDef::new("insertafter", ArgType::Str)
        .doc("Insert after the last line matching this regex, or EOF/BOF."),
    ArgDef::new("insertbefore", ArgType::Str)
        .doc("Insert before the last line matching this regex, or BOF."),
    ArgDef::new("backrefs", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Expand regexp's groups in line; change nothing when regexp does not match."),
    ArgDef::new("create", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Create the file when it is missing."),
    ArgDef::new("backup", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Keep a timestamped copy of the original file."),
    ArgDef::new("firstmatch", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Use the first matching line instead of the last."),
    ArgDef::new("validate", ArgType::Str)
        .doc("Command run on the new file (%s) before it is put in place."),
    COMMON[0],
    COMMON[1],
    COMMON[2],
    COMMON[3],
    COMMON[4],
    COMMON[5],
    COMMON[6],
    COMMON[7],
];

static SPEC: ArgSpec = ArgSpec::new(&ARGS).mutually_exclusive(&[
    &["insertbefore", "insertafter"],
    &["regexp", "search_string"],
    &["backrefs", "search_string"],
]);

#[derive(Debug, Clone)]
struct Opts {
    path: String,
    dest: PathBuf,
    present: bool,
    regexp: Option<String>,
    search_string: Option<String>,
    line: Option<String>,
    insertafter: Option<String>,
    insertbefore: Option<String>,
    backrefs: bool,
    create: bool,
    backup: bool,
    firstmatch: bool,
    validate: Option<String>,
    fa: FileArgs,
    diff: bool,
    warnings: Vec<String>,
}

const NOTES: &str = r#"
Results: `changed`, `msg` (`line added`, `line replaced`, `N line(s)
removed`, `file not present`, `... and ownership, perms or SE linux context
changed`), `backup` (the backup path or `""`), `found` (absent), `diff`
(a list: content before/after with `<path> (content)` headers, then file
attributes). Failures: `Destination X does not exist !` (rc 257), `Path X is
a directory !` (rc 256), `failed to validate: rc:N error:...`. An empty
`regexp`/`search_string` warns as Ansible does. Files that are not UTF-8 are
edited byte for byte.

Check mode: full (predicts the same result, touches nothing). Diff: yes.
"#;

impl Module for Lineinfile {
    fn name(&self) -> &'static str {
        "lineinfile"
    }
    fn description(&self) -> &'static str {
        "Manage lines in text files"
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
        let mut o = Opts {
            path: path.clone(),
            dest: dest.clone(),
            present: a.str("state") != Some("absent"),
            regexp: s("regexp"),
            search_string: s("search_string"),
            line: s("line"),
            insertafter: s("insertafter"),
            insertbefore: s("insertbefore"),
            backrefs: a.bool("backrefs"),
            create: a.bool("create"),
            backup: a.bool("backup"),
            firstmatch: a.bool("firstmatch"),
            validate: s("validate"),
            fa: t::file_args(a, &dest),
            diff: ctx.diff,
            warnings: Vec::new(),
        };
        if o.regexp.as_deref() == Some("") || o.search_string.as_deref() == Some("") {
            let mut msg = "The %s is an empty string, which will match every line in the file. This may have unintended consequences, such as replacing the last line in the file rather than appending.".to_owned();
            let mut name = "search string";
            if o.regexp.as_deref() == Some("") {
                name = "regular expression";
                msg.push_str(" If this is desired, use '^' to match every line in the file and avoid this warning.");
            }
            o.warnings.push(msg.replace("%s", name));
        }
        if dest.is_dir() {
            return Err(t::fail_rc(256, format!("Path {path} is a directory !")));
        }
        if o.present {
            if o.backrefs && o.regexp.is_none() {
                return Err(ModuleError::failed("regexp is required with backrefs=true"));
            }
            if o.line.is_none() {
                return Err(ModuleError::failed("line is required with state=present"));
            }
            if o.insertbefore.is_none() && o.insertafter.is_none() {
                o.insertafter = Some("EOF".into());
            }
        } else if o.regexp.is_none() && o.search_string.is_none() && o.line.is_none() {
            return Err(ModuleError::failed(
                "one of line, search_string, or regexp is required with state=absent",
            ));
        }
        t::check_by_dry_run(o, run)
    }
}

fn run(o: &Opts, dry: bool) -> Result<ModuleResult, ModuleError> {
    let mut r = if o.present {
        present(o, dry)?
    } else {
        absent(o, dry)?
    };
    if !o.warnings.is_empty() {
        r.set("warnings", o.warnings.clone());
    }
    Ok(r)
}

fn read(dest: &Path) -> Result<(String, Codec), ModuleError> {
    let data =
        fs::read(dest).map_err(|e| ModuleError::failed(c::py_oserror(&e, Some(dest), None)))?;
    Ok(Codec::decode(&data))
}

fn trim_eol(s: &str) -> &str {
    s.trim_end_matches(['\r', '\n'])
}

fn write(o: &Opts, lines: &[String], codec: Codec) -> Result<(), ModuleError> {
    let data = codec.encode(&lines.concat());
    t::write_atomic(&c::realpath(&o.dest), &data, o.validate.as_deref())
}

fn present(o: &Opts, dry: bool) -> Result<ModuleResult, ModuleError> {
    let header = format!("{} (content)", o.path);
    let exists = c::exists(&o.dest);
    let (mut lines, codec) = if !exists {
        if !o.create {
            return Err(t::fail_rc(
                257,
                format!("Destination {} does not exist !", o.path),
            ));
        }
        if !dry {
            if let Some(parent) = o.dest.parent().filter(|p| !p.as_os_str().is_empty()) {
                if !c::exists(parent) {
                    fs::create_dir_all(parent).map_err(|e| {
                        ModuleError::failed(format!(
                            "Error creating {} ({})",
                            c::ps(parent),
                            c::py_oserror(&e, Some(parent), None)
                        ))
                    })?;
                }
            }
        }
        (Vec::new(), Codec::Utf8)
    } else {
        let (text, codec) = read(&o.dest)?;
        (t::readlines(&text), codec)
    };
    let before = if o.diff {
        codec.display(&lines.concat())
    } else {
        String::new()
    };
    let arg = |s: &Option<String>| s.as_deref().map(|x| codec.arg(x));
    let regexp = arg(&o.regexp).map(|p| t::compile(&p)).transpose()?;
    let insertafter = arg(&o.insertafter);
    let insertbefore = arg(&o.insertbefore);
    let bre_ins = match (&insertafter, &insertbefore) {
        (Some(a), _) if a != "BOF" && a != "EOF" => Some(t::compile(a)?),
        (None, Some(b)) if b != "BOF" => Some(t::compile(b)?),
        _ => None,
    };
    let line = codec.arg(o.line.as_deref().unwrap_or_default());
    let search = arg(&o.search_string);
    let mut index: [i64; 2] = [-1, -1];
    let mut matched = false;
    if let Some(re) = &regexp {
        for (n, cur) in lines.iter().enumerate() {
            if re.search(cur).is_some() {
                index[0] = n as i64;
                matched = true;
                if o.firstmatch {
                    break;
                }
            }
        }
    }
    if let Some(s) = &search {
        for (n, cur) in lines.iter().enumerate() {
            if cur.contains(s.as_str()) {
                index[0] = n as i64;
                matched = true;
                if o.firstmatch {
                    break;
                }
            }
        }
    }
    if !matched {
        for (n, cur) in lines.iter().enumerate() {
            if trim_eol(cur) == line {
                index[0] = n as i64;
            } else if bre_ins.as_ref().is_some_and(|re| re.search(cur).is_some()) {
                if insertafter.is_some() {
                    index[1] = n as i64 + 1;
                    if o.firstmatch {
                        break;
                    }
                }
                if insertbefore.is_some() {
                    index[1] = n as i64;
                    if o.firstmatch {
                        break;
                    }
                }
            }
        }
    }
    let mut msg = String::new();
    let mut changed = false;
    let with_nl = |s: &str| format!("{s}\n");
    if index[0] != -1 {
        let i0 = index[0] as usize;
        let mut new_line = line.clone();
        if o.backrefs && matched {
            if let Some(caps) = regexp.as_ref().and_then(|re| re.search(&lines[i0])) {
                new_line = pyre::expand(&caps, &line).map_err(ModuleError::failed)?;
            }
        }
        if !new_line.ends_with('\n') {
            new_line.push('\n');
        }
        if lines[i0] != new_line {
            lines[i0] = new_line;
            msg = "line replaced".into();
            changed = true;
        }
    } else if o.backrefs {
        // No match with backrefs: leave the file alone.
    } else if insertbefore.as_deref() == Some("BOF") || insertafter.as_deref() == Some("BOF") {
        lines.insert(0, with_nl(&line));
        msg = "line added".into();
        changed = true;
    } else if insertafter.as_deref() == Some("EOF") || index[1] == -1 {
        if let Some(last) = lines.last_mut() {
            if !last.ends_with(['\n', '\r']) {
                last.push('\n');
            }
        }
        lines.push(with_nl(&line));
        msg = "line added".into();
        changed = true;
    } else if insertafter.is_some() {
        let i1 = index[1] as usize;
        if lines.len() == i1 {
            if trim_eol(&lines[i1 - 1]) != line {
                lines.push(with_nl(&line));
                msg = "line added".into();
                changed = true;
            }
        } else if line != trim_eol(&lines[i1]) {
            lines.insert(i1, with_nl(&line));
            msg = "line added".into();
            changed = true;
        }
    } else {
        lines.insert(index[1] as usize, with_nl(&line));
        msg = "line added".into();
        changed = true;
    }
    let after = if o.diff {
        codec.display(&lines.concat())
    } else {
        String::new()
    };
    let diff = t::content_diff(&before, &after, &header);
    let mut backup = String::new();
    if changed && !dry {
        if o.backup && c::exists(&o.dest) {
            backup = t::backup(&o.dest)?;
        }
        write(o, &lines, codec)?;
    }
    if dry && !exists {
        let mut r = ModuleResult {
            changed,
            msg: Some(msg),
            ..Default::default()
        };
        r.set("backup", backup);
        r.set("diff", diff);
        return Ok(r);
    }
    finish(o, changed, msg, backup, diff, None, dry)
}

fn finish(
    o: &Opts,
    changed: bool,
    mut msg: String,
    backup: String,
    diff: Value,
    found: Option<usize>,
    dry: bool,
) -> Result<ModuleResult, ModuleError> {
    let mut ad = Diff::default();
    let changed = t::check_file_attrs(&o.fa, changed, &mut msg, Some(&mut ad), dry)?;
    let mut r = ModuleResult {
        changed,
        msg: Some(msg),
        ..Default::default()
    };
    if let Some(n) = found {
        r.set("found", n);
    }
    r.set("backup", backup);
    r.set("diff", vec![diff, t::attr_diff(&ad, &o.path)]);
    Ok(r)
}

fn absent(o: &Opts, dry: bool) -> Result<ModuleResult, ModuleError> {
    if !c::exists(&o.dest) {
        return Ok(ModuleResult::ok().with_msg("file not present"));
    }
    let header = format!("{} (content)", o.path);
    let (text, codec) = read(&o.dest)?;
    let lines = t::readlines(&text);
    let before = if o.diff {
        codec.display(&text)
    } else {
        String::new()
    };
    let regexp = o
        .regexp
        .as_deref()
        .map(|p| t::compile(&codec.arg(p)))
        .transpose()?;
    let search = o.search_string.as_deref().map(|s| codec.arg(s));
    // `to_bytes(None)` is `b'None'`: a missing line matches a line "None".
    let line = codec.arg(o.line.as_deref().unwrap_or("None"));
    let mut found = 0;
    let kept: Vec<String> = lines
        .into_iter()
        .filter(|cur| {
            let hit = if let Some(re) = &regexp {
                re.search(cur).is_some()
            } else if let Some(s) = &search {
                cur.contains(s.as_str())
            } else {
                trim_eol(cur) == line
            };
            if hit {
                found += 1;
            }
            !hit
        })
        .collect();
    let changed = found > 0;
    let after = if o.diff {
        codec.display(&kept.concat())
    } else {
        String::new()
    };
    let mut backup = String::new();
    if changed && !dry {
        if o.backup {
            backup = t::backup(&o.dest)?;
        }
        write(o, &kept, codec)?;
    }
    let msg = if changed {
        format!("{found} line(s) removed")
    } else {
        String::new()
    };
    let diff = t::content_diff(&before, &after, &header);
    finish(o, changed, msg, backup, diff, Some(found), dry)
}
