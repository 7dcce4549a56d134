//! `replace`: replaces every match of a Python regular expression in a
//! file (MULTILINE), optionally only between `after` and `before`, with the
//! steps, results and messages of Ansible's module. Pattern and template
//! translation to fancy-regex: see [`super::pyre`].

use std::fs;
use std::path::PathBuf;

use serde_json::Value;

use super::common::{self as c, FileArgs};
use super::file::file_common_args;
use super::pyre::{Flags, PyRegex};
use super::textfile as t;
use crate::args::{ArgDef, ArgDefault, ArgSpec, ArgType};
use crate::modules::{Capabilities, Check, CheckSupport, Context, Module, ModuleError};
use crate::result::ModuleResult;

pub struct Replace;

const COMMON: [ArgDef; 8] = file_common_args!();

static ARGS: [ArgDef; 16] = [
    ArgDef::new("path", ArgType::Path)
        .aliases(&["dest", "destfile", "name"])
        .required()
        .doc("The file to modify."),
    ArgDef::new("regexp", ArgType::Str)
        .required()
        .doc("Python regular expression (MULTILINE) to replace."),
    ArgDef::new("replace", ArgType::Str)
        .default(ArgDefault::Str(""))
        .doc("Replacement template: \\1, \\g<1>, \\g<name> refer to groups."),
    ArgDef::new("after", ArgType::Str).doc("Only replace after this expression's match."),
    ArgDef::new("before", ArgType::Str).doc("Only replace before this expression's match."),
    ArgDef::new("backup", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Keep a timestamped copy of the original file."),
    ArgDef::new("validate", ArgType::Str)
        .doc("Command run on the new file (%s) before it is put in place."),
    ArgDef::new("encoding", ArgType::Str)
        .default(ArgDefault::Str("utf-8"))
        .doc("Encoding of the file: utf-8, ascii or latin-1."),
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Utf8,
    Ascii,
    Latin1,
}

impl Encoding {
    /// Python codec names this module understands (normalised as Python
    /// does: case and `-`/`_` do not matter).
    fn parse(name: &str) -> Option<Self> {
        let n = name.to_ascii_lowercase().replace(['-', ' '], "_");
        match n.as_str() {
            "utf_8" | "utf8" | "u8" | "utf" => Some(Encoding::Utf8),
            "ascii" | "us_ascii" | "646" => Some(Encoding::Ascii),
            "latin_1" | "latin1" | "latin" | "l1" | "iso_8859_1" | "iso8859_1" | "8859"
            | "cp819" => Some(Encoding::Latin1),
            _ => None,
        }
    }

    fn decode(self, data: &[u8]) -> Result<String, String> {
        match self {
            Encoding::Utf8 => String::from_utf8(data.to_vec()).map_err(|e| {
                let at = e.utf8_error().valid_up_to();
                format!(
                    "'utf-8' codec can't decode byte 0x{:02x} in position {at}: invalid start byte",
                    data[at]
                )
            }),
            Encoding::Ascii => match data.iter().position(|b| !b.is_ascii()) {
                Some(at) => Err(format!(
                    "'ascii' codec can't decode byte 0x{:02x} in position {at}: ordinal not in range(128)",
                    data[at]
                )),
                None => Ok(String::from_utf8_lossy(data).into_owned()),
            },
            Encoding::Latin1 => Ok(data.iter().map(|&b| b as char).collect()),
        }
    }

    fn encode(self, s: &str) -> Result<Vec<u8>, String> {
        match self {
            Encoding::Utf8 => Ok(s.as_bytes().to_vec()),
            Encoding::Ascii | Encoding::Latin1 => {
                let limit = if self == Encoding::Ascii { 0x7f } else { 0xff };
                s.chars()
                    .map(|ch| {
                        u8::try_from(ch as u32)
                            .ok()
                            .filter(|b| u32::from(*b) <= limit)
                            .ok_or_else(|| format!("can't encode character {ch:?}"))
                    })
                    .collect()
            }
        }
    }
}

#[derive(Debug, Clone)]
struct Opts {
    path: String,
    dest: PathBuf,
    regexp: String,
    replace: String,
    after: Option<String>,
    before: Option<String>,
    backup: bool,
    validate: Option<String>,
    encoding: Encoding,
    fa: FileArgs,
    diff: bool,
}

const NOTES: &str = r#"
Results: `changed`, `msg` (`N replacements made`, `Pattern for
before/after params did not match the given file: ...`, `''`), `rc` (0),
`backup_file`, `diff` (before/after with the path as header, only when
something is replaced). A bad template fails with `Unable to process
replace due to error: ...`. Check mode: full. Diff: yes.
"#;

impl Module for Replace {
    fn name(&self) -> &'static str {
        "replace"
    }
    fn description(&self) -> &'static str {
        "Replace all instances of a particular string in a file using a back-referenced regular expression"
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
        let enc_name = s("encoding").unwrap_or_else(|| "utf-8".into());
        let Some(encoding) = Encoding::parse(&enc_name) else {
            return Err(ModuleError::failed(format!(
                "Unable to read the contents of {path}: unknown encoding: {enc_name}"
            )));
        };
        let o = Opts {
            path,
            dest: dest.clone(),
            regexp: s("regexp").unwrap_or_default(),
            replace: s("replace").unwrap_or_default(),
            after: s("after"),
            before: s("before"),
            backup: a.bool("backup"),
            validate: s("validate"),
            encoding,
            fa: t::file_args(a, &dest),
            diff: ctx.diff,
        };
        t::check_by_dry_run(o, run)
    }
}

fn run(o: &Opts, dry: bool) -> Result<ModuleResult, ModuleError> {
    let path = &o.path;
    if o.dest.is_dir() {
        return Err(t::fail_rc(256, format!("Path {path} is a directory !")));
    }
    if !c::exists(&o.dest) {
        return Err(t::fail_rc(257, format!("Path {path} does not exist !")));
    }
    let contents = fs::read(&o.dest)
        .map_err(|e| c::py_oserror(&e, Some(&o.dest), None))
        .and_then(|d| o.encoding.decode(&d))
        .map_err(|e| ModuleError::failed(format!("Unable to read the contents of {path}: {e}")))?;
    // Empty `after`/`before` count as not given, as Python's truthiness.
    let after = o.after.as_deref().filter(|s| !s.is_empty());
    let before = o.before.as_deref().filter(|s| !s.is_empty());
    let pattern = match (after, before) {
        (Some(a), Some(b)) => format!("{a}(?P<subsection>.*?){b}"),
        (Some(a), None) => format!("{a}(?P<subsection>.*)"),
        (None, Some(b)) => format!("(?P<subsection>.*){b}"),
        (None, None) => String::new(),
    };
    let compile_err =
        |e: String| ModuleError::failed(format!("Unable to process replace due to error: {e}"));
    let (section, span) = if pattern.is_empty() {
        (contents.as_str(), None)
    } else {
        let re = PyRegex::new(
            &pattern,
            Flags {
                dotall: true,
                ..Flags::default()
            },
        )
        .map_err(compile_err)?;
        match re.search(&contents).and_then(|c| c.name("subsection")) {
            Some(m) => (m.as_str(), Some((m.start(), m.end()))),
            None => {
                let mut r = ModuleResult::ok().with_msg(format!(
                    "Pattern for before/after params did not match the given file: {pattern}"
                ));
                r.set("rc", 0);
                return Ok(r);
            }
        }
    };
    let mre = PyRegex::new(
        &o.regexp,
        Flags {
            multiline: true,
            ..Flags::default()
        },
    )
    .map_err(compile_err)?;
    let (replaced, n) = mre
        .subn(&o.replace, section)
        .map_err(|e| ModuleError::Failed {
            msg: format!("Unable to process replace due to error: {e}"),
            // The callback shows the exception's last line.
            extra: c::kv([("exception", format!("re.error: {e}").into())]),
        })?;
    let mut r = ModuleResult::ok();
    r.set("rc", 0);
    let (mut msg, changed, new_contents) = if n > 0 && section != replaced {
        let new = match span {
            Some((s, e)) => format!("{}{}{}", &contents[..s], replaced, &contents[e..]),
            None => replaced,
        };
        if o.diff {
            r.set("diff", t::content_diff(&contents, &new, path));
        }
        (format!("{n} replacements made"), true, Some(new))
    } else {
        (String::new(), false, None)
    };
    if let (Some(new), false) = (&new_contents, dry) {
        if o.backup && c::exists(&o.dest) {
            r.set("backup_file", t::backup(&o.dest)?);
        }
        let data = o.encoding.encode(new).map_err(ModuleError::failed)?;
        t::write_atomic(&c::realpath(&o.dest), &data, o.validate.as_deref())?;
    }
    r.changed = t::check_file_attrs(&o.fa, changed, &mut msg, None, dry)?;
    r.msg = Some(msg);
    Ok(r)
}
