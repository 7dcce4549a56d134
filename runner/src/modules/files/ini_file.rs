//! `ini_file` (`community.general.ini_file`): manages options and sections
//! of INI files, with the steps, results and messages of the collection's
//! module (community.general 10.x, as shipped with Ansible 11).

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::common::{self as c, FileArgs};
use super::file::file_common_args;
use super::pyre::{self, Flags, PyRegex};
use super::textfile as t;
use crate::args::{ArgDef, ArgDefault, ArgSpec, ArgType};
use crate::modules::{action, Capabilities, Check, CheckSupport, Context, Module, ModuleError};
use crate::result::ModuleResult;

pub struct IniFile;

const COMMON: [ArgDef; 8] = file_common_args!();

static ARGS: [ArgDef; 23] = [
    ArgDef::new("path", ArgType::Path)
        .aliases(&["dest"])
        .required()
        .doc("The INI file to modify."),
    ArgDef::new("section", ArgType::Str)
        .doc("Section name; omitted: options before the first section."),
    ArgDef::new("section_has_values", ArgType::Raw)
        .doc("Pick among same-named sections: list of {option, value|values}."),
    ArgDef::new("option", ArgType::Str).doc("Option name."),
    ArgDef::new("value", ArgType::Str).doc("The option's value."),
    ArgDef::new("values", ArgType::List).doc("Several values for the option."),
    ArgDef::new("backup", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Keep a timestamped copy of the original file."),
    ArgDef::new("state", ArgType::Str)
        .default(ArgDefault::Str("present"))
        .choices(&["absent", "present"])
        .doc("Whether the option (or section) should be there."),
    ArgDef::new("exclusive", ArgType::Bool)
        .default(ArgDefault::Bool(true))
        .doc("Remove other values of the option (present) / all of it (absent)."),
    ArgDef::new("no_extra_spaces", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Write key=value without spaces around '='."),
    ArgDef::new("ignore_spaces", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Leave a line alone when only spacing differs."),
    ArgDef::new("allow_no_value", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Allow options without '=' and value."),
    ArgDef::new("modify_inactive_option", ArgType::Bool)
        .default(ArgDefault::Bool(true))
        .doc("Replace a commented-out option rather than adding one."),
    ArgDef::new("create", ArgType::Bool)
        .default(ArgDefault::Bool(true))
        .doc("Create the file when it is missing."),
    ArgDef::new("follow", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Edit a symlink's target instead of replacing the link."),
    COMMON[0],
    COMMON[1],
    COMMON[2],
    COMMON[3],
    COMMON[4],
    COMMON[5],
    COMMON[6],
    COMMON[7],
];

static SPEC: ArgSpec = ArgSpec::new(&ARGS).mutually_exclusive(&[&["value", "values"]]);

const FAKE_SECTION: &str = "ad01e11446efb704fcdbdb21f2c43757423d91c5";

/// One `section_has_values` condition.
#[derive(Debug, Clone)]
struct Cond {
    option: String,
    values: Vec<String>,
}

#[derive(Debug, Clone)]
struct Opts {
    path: String,
    section: Option<String>,
    conds: Option<Vec<Cond>>,
    option: Option<String>,
    values: Vec<String>,
    present: bool,
    exclusive: bool,
    backup: bool,
    no_extra_spaces: bool,
    ignore_spaces: bool,
    allow_no_value: bool,
    modify_inactive_option: bool,
    create: bool,
    follow: bool,
    fa: FileArgs,
    diff: bool,
}

const NOTES: &str = r#"
The file is read as Python's text mode does
(UTF-8 with an optional BOM, `\r\n` and `\r` become `\n`).

Results: `changed`, `msg` (`OK`, `option added`, `option changed`,
`section and option added`, `only section added`, `section removed`),
`path`, `diff` (always a content diff), `backup_file`, and the path
information of the file. As the module, file attributes are only compared
and set outside check mode. Check mode: full. Diff: yes.
"#;

impl Module for IniFile {
    fn name(&self) -> &'static str {
        "ini_file"
    }
    fn description(&self) -> &'static str {
        "Tweak settings in INI files"
    }
    fn collection(&self) -> &'static str {
        "community.general"
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
        let s = |k: &str| a.get(k).and_then(Value::as_str).map(str::to_owned);
        let path = super::file::expand(&s("path").unwrap_or_default());
        let present = a.str("state") != Some("absent");
        let allow_no_value = a.bool("allow_no_value");
        let value = s("value");
        let values = a.is_set("values").then(|| a.list("values"));
        if present
            && !allow_no_value
            && value.is_none()
            && values.as_ref().is_none_or(Vec::is_empty)
        {
            return Err(ModuleError::failed(
                "Parameter 'value(s)' must be defined if state=present and allow_no_value=False.",
            ));
        }
        let values = match value {
            Some(v) => vec![v],
            None => values.unwrap_or_default(),
        };
        let conds = match a.get("section_has_values") {
            None => None,
            Some(v) => Some(conditions(v)?),
        };
        let follow = a.bool("follow");
        let fa = FileArgs::load(
            Path::new(&path),
            follow,
            a.get("mode").cloned(),
            s("owner"),
            s("group"),
        );
        let o = Opts {
            path,
            section: s("section"),
            conds,
            option: s("option"),
            values,
            present,
            exclusive: a.bool("exclusive"),
            backup: a.bool("backup"),
            no_extra_spaces: a.bool("no_extra_spaces"),
            ignore_spaces: a.bool("ignore_spaces"),
            allow_no_value,
            modify_inactive_option: a.bool("modify_inactive_option"),
            create: a.bool("create"),
            follow,
            fa,
            diff: ctx.diff,
        };
        let predicted = run(&o, true)?;
        // Attributes are only looked at outside check mode (as the module).
        let attrs = c::exists(Path::new(&o.path))
            && c::set_fs_attributes_if_different(&o.fa, false, None, true)?;
        if !predicted.changed && !attrs {
            return Ok(Check::Done(predicted));
        }
        Ok(Check::Change {
            predicted,
            action: action(move |_ctx: &Context<'_>| run(&o, false)),
        })
    }
}

fn conditions(v: &Value) -> Result<Vec<Cond>, ModuleError> {
    let bad = || {
        ModuleError::Args(
            "Elements value for option 'section_has_values' is of type <class 'str'> and we were unable to convert to dict".into(),
        )
    };
    let Value::Array(items) = v else {
        return Err(bad());
    };
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "True" } else { "False" }.into(),
        other => other.to_string(),
    };
    items
        .iter()
        .map(|item| {
            let m = item.as_object().ok_or_else(bad)?;
            let option = m.get("option").filter(|v| !v.is_null()).ok_or_else(|| {
                ModuleError::Args(
                    "missing required arguments: option found in section_has_values".into(),
                )
            })?;
            let value = m.get("value").filter(|v| !v.is_null());
            let values = m.get("values").filter(|v| !v.is_null());
            if value.is_some() && values.is_some() {
                return Err(ModuleError::Args(
                    "parameters are mutually exclusive: value|values found in section_has_values"
                        .into(),
                ));
            }
            let values = match (value, values) {
                (Some(v), _) => vec![text(v)],
                (None, Some(Value::Array(a))) => a.iter().map(text).collect(),
                (None, Some(v)) => text(v).split(',').map(str::to_owned).collect(),
                (None, None) => Vec::new(),
            };
            Ok(Cond {
                option: text(option),
                values,
            })
        })
        .collect()
}

/// `match_opt` / `match_active_opt` for one option name.
struct OptMatcher {
    any: PyRegex,
    active: PyRegex,
}

impl OptMatcher {
    fn new(option: &str) -> Result<Self, ModuleError> {
        let esc = pyre::escape(option);
        let flags = Flags {
            anchored: true,
            ..Flags::default()
        };
        let compile = |p: String| {
            PyRegex::new(&p, flags).map_err(|e| ModuleError::failed(format!("bad option: {e}")))
        };
        Ok(OptMatcher {
            any: compile(format!(
                "( |\\t)*([#;]?)( |\\t)*({esc})( |\\t)*(=|$)( |\\t)*(.*)"
            ))?,
            active: compile(format!("()()( |\\t)*({esc})( |\\t)*(=|$)( |\\t)*(.*)"))?,
        })
    }

    /// Group 8 (the value) of a match, or `None` when the line is not
    /// this option.
    fn value(re: &PyRegex, line: &str) -> Option<String> {
        re.search(line)
            .map(|c| c.get(8).map_or(String::new(), |m| m.as_str().to_owned()))
    }

    fn commented(&self, line: &str) -> Option<bool> {
        self.any
            .search(line)
            .map(|c| c.get(2).is_some_and(|m| !m.as_str().is_empty()))
    }

    fn matches(&self, line: &str, inactive_too: bool) -> Option<String> {
        Self::value(
            if inactive_too {
                &self.any
            } else {
                &self.active
            },
            line,
        )
    }
}

/// Reads the file as Python's text mode does (`utf-8-sig`, universal
/// newlines).
fn read_lines(p: &Path) -> Result<Vec<String>, ModuleError> {
    let data = fs::read(p).map_err(|e| ModuleError::failed(c::py_oserror(&e, Some(p), None)))?;
    let data = data.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&data);
    let text = String::from_utf8(data.to_vec()).map_err(|e| {
        ModuleError::failed(format!("'utf-8' codec can't decode {}: {e}", c::ps(p)))
    })?;
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    Ok(t::readlines(&text))
}

#[allow(clippy::too_many_arguments)]
fn update_section_line(
    m: &OptMatcher,
    ignore_spaces: bool,
    changed: &mut bool,
    lines: &mut [String],
    index: usize,
    changed_lines: &mut [bool],
    newline: String,
    msg: &mut String,
) {
    let mut option_changed = None;
    if ignore_spaces && m.commented(&lines[index]) == Some(false) {
        let old = OptMatcher::value(&m.any, &lines[index]);
        let new = OptMatcher::value(&m.any, &newline);
        option_changed = Some(old != new);
    }
    let option_changed = option_changed.unwrap_or(lines[index] != newline);
    if option_changed {
        lines[index] = newline;
        *changed = true;
        *msg = "option changed".into();
    }
    changed_lines[index] = true;
}

fn section_has_values(conds: &Option<Vec<Cond>>, lines: &[String]) -> Result<bool, ModuleError> {
    let Some(conds) = conds else { return Ok(true) };
    for cond in conds {
        let m = OptMatcher::new(&cond.option)?;
        let ok = lines.iter().any(|l| {
            OptMatcher::value(&m.any, l)
                .is_some_and(|v| cond.values.is_empty() || cond.values.contains(&v))
        });
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

fn run(o: &Opts, dry: bool) -> Result<ModuleResult, ModuleError> {
    let (changed, backup_file, diff, msg) = do_ini(o, dry)?;
    let path = Path::new(&o.path);
    let changed = if !dry && c::exists(path) {
        c::set_fs_attributes_if_different(&o.fa, changed, None, false)?
    } else {
        changed
    };
    let mut r = c::kv([("path", o.path.clone().into())]);
    r.insert("diff".into(), diff);
    if let Some(b) = backup_file {
        r.insert("backup_file".into(), b.into());
    }
    c::add_path_info(&mut r);
    Ok(ModuleResult {
        changed,
        msg: Some(msg),
        extra: r,
        ..Default::default()
    })
}

type IniOutcome = (bool, Option<String>, Value, String);

fn do_ini(o: &Opts, dry: bool) -> Result<IniOutcome, ModuleError> {
    let filename = &o.path;
    let mut values: Vec<String> = Vec::new();
    for v in &o.values {
        if !values.contains(v) {
            values.push(v.clone());
        }
    }
    let target: PathBuf = if o.follow && c::is_link(Path::new(filename)) {
        c::realpath(Path::new(filename))
    } else {
        PathBuf::from(filename)
    };
    let mut ini_lines = if !c::exists(&target) {
        if !o.create {
            return Err(ModuleError::Failed {
                msg: format!("Destination {} does not exist!", c::ps(&target)),
                extra: c::kv([("rc", 257.into())]),
            });
        }
        if !dry {
            t::make_parent(&target)
                .map_err(|e| ModuleError::failed(c::py_oserror(&e, target.parent(), None)))?;
        }
        Vec::new()
    } else {
        read_lines(&target)?
    };
    let header = format!("{filename} (content)");
    let before = if o.diff {
        ini_lines.concat()
    } else {
        String::new()
    };
    let mut changed = false;
    if ini_lines.is_empty() {
        ini_lines.push("\n".into());
    }
    if let Some(last) = ini_lines.last_mut() {
        if !last.ends_with('\n') {
            last.push('\n');
            changed = true;
        }
    }
    ini_lines.insert(0, format!("[{FAKE_SECTION}]"));
    ini_lines.push("[".into());
    let section = o
        .section
        .clone()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| FAKE_SECTION.to_owned());
    let mut within_section = false;
    let (mut section_start, mut section_end) = (0, 0);
    let mut msg = "OK".to_owned();
    let fmt = |opt: &str, val: &str| {
        if o.no_extra_spaces {
            format!("{opt}={val}\n")
        } else {
            format!("{opt} = {val}\n")
        }
    };
    let mut option_no_value_present = false;
    let blank_or_comment =
        PyRegex::new(r"^[ \t]*([#;].*)?$", Flags::default()).map_err(ModuleError::failed)?;
    let section_re = PyRegex::new(
        &format!(r"^\[\s*{}\s*]", pyre::escape(section.trim())),
        Flags {
            anchored: true,
            ..Flags::default()
        },
    )
    .map_err(ModuleError::failed)?;
    for (index, line) in ini_lines.iter().enumerate() {
        if within_section && line.starts_with('[') {
            if section_has_values(&o.conds, &ini_lines[section_start..index])? {
                section_end = index;
                break;
            }
            within_section = false;
            section_start = 0;
            section_end = 0;
        }
        if section_re.search(line).is_some() {
            within_section = true;
            section_start = index;
        }
    }
    let before_lines = ini_lines[..section_start].to_vec();
    let mut section_lines = ini_lines[section_start..section_end].to_vec();
    let after_lines = ini_lines[section_end..].to_vec();
    let mut changed_lines = vec![false; section_lines.len()];
    let inactive = o.modify_inactive_option;
    let matcher = o.option.as_deref().map(OptMatcher::new).transpose()?;
    let option = o.option.clone().unwrap_or_default();

    if let (true, Some(m)) = (o.present, &matcher) {
        for index in 0..section_lines.len() {
            let Some(found) = m.matches(&section_lines[index], inactive) else {
                continue;
            };
            if !values.is_empty() && values.contains(&found) {
                let newline = if found.is_empty() && o.allow_no_value {
                    option_no_value_present = true;
                    format!("{option}\n")
                } else {
                    fmt(&option, &found)
                };
                update_section_line(
                    m,
                    o.ignore_spaces,
                    &mut changed,
                    &mut section_lines,
                    index,
                    &mut changed_lines,
                    newline,
                    &mut msg,
                );
                if let Some(pos) = values.iter().position(|v| *v == found) {
                    values.remove(pos);
                }
            } else if values.is_empty() && o.allow_no_value {
                update_section_line(
                    m,
                    o.ignore_spaces,
                    &mut changed,
                    &mut section_lines,
                    index,
                    &mut changed_lines,
                    format!("{option}\n"),
                    &mut msg,
                );
                option_no_value_present = true;
                break;
            }
        }
    }

    if let (true, true, false, Some(m)) = (o.present, o.exclusive, o.allow_no_value, &matcher) {
        if !values.is_empty() {
            for index in 0..section_lines.len() {
                if !changed_lines[index] && m.matches(&section_lines[index], inactive).is_some() {
                    let v = values.remove(0);
                    let newline = fmt(&option, &v);
                    update_section_line(
                        m,
                        o.ignore_spaces,
                        &mut changed,
                        &mut section_lines,
                        index,
                        &mut changed_lines,
                        newline,
                        &mut msg,
                    );
                    if values.is_empty() {
                        break;
                    }
                }
            }
        }
        let mut index = section_lines.len().saturating_sub(1);
        while index > 0 {
            if !changed_lines[index] && m.matches(&section_lines[index], inactive).is_some() {
                section_lines.remove(index);
                changed_lines.remove(index);
                changed = true;
                msg = "option changed".into();
            }
            index -= 1;
        }
    }

    if o.present {
        let mut index = section_lines.len();
        while index > 0 {
            if blank_or_comment.search(&section_lines[index - 1]).is_none() {
                if o.option.is_some() && !values.is_empty() {
                    for element in values.iter().rev() {
                        section_lines.insert(index, fmt(&option, element));
                        msg = "option added".into();
                        changed = true;
                    }
                } else if o.option.is_some()
                    && values.is_empty()
                    && o.allow_no_value
                    && !option_no_value_present
                {
                    section_lines.insert(index, format!("{option}\n"));
                    msg = "option added".into();
                    changed = true;
                }
                break;
            }
            index -= 1;
        }
    }

    if !o.present {
        if let Some(m) = &matcher {
            if o.exclusive {
                let new: Vec<String> = section_lines
                    .iter()
                    .filter(|l| m.matches(l, false).is_none())
                    .cloned()
                    .collect();
                if new != section_lines {
                    changed = true;
                    msg = "option changed".into();
                    section_lines = new;
                }
            } else if !values.is_empty() {
                let new: Vec<String> = section_lines
                    .iter()
                    .filter(|l| !m.matches(l, false).is_some_and(|v| values.contains(&v)))
                    .cloned()
                    .collect();
                if new != section_lines {
                    changed = true;
                    msg = "option changed".into();
                    section_lines = new;
                }
            }
        } else if !section_lines.is_empty() {
            section_lines.clear();
            msg = "section removed".into();
            changed = true;
        }
    }

    let mut ini_lines: Vec<String> = before_lines
        .into_iter()
        .chain(section_lines)
        .chain(after_lines)
        .collect();
    if !ini_lines.is_empty() {
        ini_lines.remove(0);
    }
    ini_lines.pop();

    if !within_section && o.present {
        ini_lines.push(format!("[{section}]\n"));
        msg = "section and option added".into();
        if let Some(conds) = &o.conds {
            for cond in conds {
                if cond.option != option {
                    if !cond.values.is_empty() {
                        for v in &cond.values {
                            ini_lines.push(fmt(&cond.option, v));
                        }
                    } else if o.allow_no_value {
                        ini_lines.push(format!("{}\n", cond.option));
                    }
                } else if !o.exclusive {
                    for v in &cond.values {
                        if !values.contains(v) {
                            values.push(v.clone());
                        }
                    }
                }
            }
        }
        if o.option.is_some() && !values.is_empty() {
            for v in &values {
                ini_lines.push(fmt(&option, v));
            }
        } else if o.option.is_some() && values.is_empty() && o.allow_no_value {
            ini_lines.push(format!("{option}\n"));
        } else {
            msg = "only section added".into();
        }
        changed = true;
    }

    let after = if o.diff {
        ini_lines.concat()
    } else {
        String::new()
    };
    let mut backup_file = None;
    if changed && !dry {
        if o.backup {
            backup_file = Some(if c::exists(&target) {
                t::backup(&target)?
            } else {
                String::new()
            });
        }
        let dest = if target.is_absolute() {
            target.clone()
        } else {
            std::env::current_dir().unwrap_or_default().join(&target)
        };
        t::write_atomic(&dest, ini_lines.concat().as_bytes(), None)?;
    }
    Ok((
        changed,
        backup_file,
        t::content_diff(&before, &after, &header),
        msg,
    ))
}
