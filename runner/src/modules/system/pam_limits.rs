//! `pam_limits` (community.general): one limit in a limits.conf file,
//! with the parsing, results and messages of Ansible's module.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::args::{ArgDef, ArgDefault, ArgSpec, ArgType};
use crate::fsutil;
use crate::modules::files::common::writable;
use crate::modules::{action, Capabilities, Check, CheckSupport, Context, Module, ModuleError};
use crate::result::ModuleResult;

pub struct PamLimits;

const ITEMS: &[&str] = &[
    "core",
    "data",
    "fsize",
    "memlock",
    "nofile",
    "rss",
    "stack",
    "cpu",
    "nproc",
    "as",
    "maxlogins",
    "maxsyslogins",
    "priority",
    "locks",
    "sigpending",
    "msgqueue",
    "nice",
    "rtprio",
    "chroot",
];

static ARGS: [ArgDef; 9] = [
    ArgDef::new("domain", ArgType::Str)
        .required()
        .doc("A user name, `@group`, wildcard or uid/gid range."),
    ArgDef::new("limit_type", ArgType::Str)
        .required()
        .choices(&["soft", "hard", "-"])
        .doc("`soft`, `hard` or `-` (both)."),
    ArgDef::new("limit_item", ArgType::Str)
        .required()
        .choices(ITEMS)
        .doc("The resource limited (`nofile`, `nproc`, ...)."),
    ArgDef::new("value", ArgType::Str)
        .required()
        .doc("A number, or `unlimited`/`infinity`/`-1`; -20..19 for `nice` and `priority`."),
    ArgDef::new("use_max", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Keep the larger of the existing and the given value."),
    ArgDef::new("use_min", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Keep the smaller of the existing and the given value."),
    ArgDef::new("backup", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Keep a timestamped copy of the original file."),
    ArgDef::new("dest", ArgType::Str)
        .default(ArgDefault::Str("/etc/security/limits.conf"))
        .doc("The limits file."),
    ArgDef::new("comment", ArgType::Str)
        .default(ArgDefault::Str(""))
        .doc("A comment put after the limit (`\\t#comment`)."),
];

static SPEC: ArgSpec = ArgSpec::new(&ARGS);

const NOTES: &str = r#"As community.general's module: lines are compared with runs of
whitespace collapsed and `#` comments cut; a line with the same domain,
type and item gets the new value (`use_max`/`use_min` keep the larger or
smaller, with `unlimited`/`infinity`/`-1` as no limit), else
`DOMAIN\tTYPE\tITEM\tVALUE[\t#COMMENT]` is appended. Ansible's quirk is
kept: without `comment`, the comment of the last commented limit line
seen before the match is reused.

Results: `changed`, `msg` (the resulting limit line, or `''`), `diff`
(before/after content), `backup_file` with `backup`. Failures: ` Value of
'x' for item 'nofile' is invalid. Value must either be ...` (also for
existing lines, prefixed `Invalid configuration found in 'FILE'.`), `Cannot
use use_min and use_max at the same time.`, `FILE is not writable. Use
sudo`, `directory DIR is not writable (check presence, access rights, use
sudo)`.

Check mode: full. Diff: yes.

Differences: Ansible rewrites the file and, with `backup`, makes a backup
on every run (even in check mode and when nothing changes); Rustle writes
and backs up only when something changes, never in check mode, and
returns `backup_file` only then.

Tested for real on files in temporary directories (conformance cases and
a differential case against ansible-playbook)."#;

impl Module for PamLimits {
    fn name(&self) -> &'static str {
        "pam_limits"
    }
    fn description(&self) -> &'static str {
        "Modify Linux PAM limits"
    }
    fn collection(&self) -> &'static str {
        "community.general"
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
    fn notes(&self) -> &'static str {
        NOTES
    }
    fn check(&self, ctx: &Context<'_>) -> Result<Check, ModuleError> {
        check(ctx)
    }
}

fn py_repr(s: &str) -> String {
    if s.contains('\'') && !s.contains('"') {
        format!("\"{s}\"")
    } else {
        format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
    }
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_digit())
}

fn assert_valid(item: &str, value: &str, prefix: &str) -> Result<(), ModuleError> {
    if item == "nice" || item == "priority" {
        let ok = value
            .trim()
            .parse::<i64>()
            .is_ok_and(|v| (-20..=19).contains(&v));
        if !ok {
            return Err(ModuleError::failed(format!(
                "{prefix} Value of {} for item {} is invalid. Value must be a number in the range -20 to 19 inclusive. Refer to the limits.conf(5) manual pages for more details.",
                py_repr(value),
                py_repr(item)
            )));
        }
    } else if !(["unlimited", "infinity", "-1"].contains(&value) || is_digits(value)) {
        return Err(ModuleError::failed(format!(
            "{prefix} Value of {} for item {} is invalid. Value must either be 'unlimited', 'infinity' or -1, all of which indicate no limit, or a limit of 0 or larger. Refer to the limits.conf(5) manual pages for more details.",
            py_repr(value),
            py_repr(item)
        )));
    }
    Ok(())
}

fn unlimited(v: &str) -> bool {
    ["unlimited", "infinity", "-1"].contains(&v)
}

fn as_int(v: &str) -> Result<i64, ModuleError> {
    v.trim().parse::<i64>().map_err(|_| {
        ModuleError::failed(format!(
            "invalid literal for int() with base 10: {}",
            py_repr(v)
        ))
    })
}

fn check(ctx: &Context<'_>) -> Result<Check, ModuleError> {
    let a = &ctx.args;
    let domain = a.str("domain").unwrap_or_default();
    let limit_type = a.str("limit_type").unwrap_or_default();
    let limit_item = a.str("limit_item").unwrap_or_default();
    let value = a.str("value").unwrap_or_default();
    let use_max = a.bool("use_max");
    let use_min = a.bool("use_min");
    let dest_s = a
        .str("dest")
        .unwrap_or("/etc/security/limits.conf")
        .to_owned();
    let dest = PathBuf::from(&dest_s);
    let mut new_comment = a.str("comment").unwrap_or_default().to_owned();
    let mut changed = false;
    let mut does_not_exist = false;
    if dest.is_file() {
        if !writable(&dest) {
            return Err(ModuleError::failed(format!(
                "{dest_s} is not writable. Use sudo"
            )));
        }
    } else {
        let dir = crate::modules::files::common::dirname(&dest_s);
        let dirp = Path::new(&dir);
        if dirp.is_dir() && writable(dirp) {
            does_not_exist = true;
            changed = true;
        } else {
            return Err(ModuleError::failed(format!(
                "directory {dir} is not writable (check presence, access rights, use sudo)"
            )));
        }
    }
    if use_max && use_min {
        return Err(ModuleError::failed(
            "Cannot use use_min and use_max at the same time.",
        ));
    }
    assert_valid(limit_item, value, "")?;
    let before: Vec<u8> = if does_not_exist {
        Vec::new()
    } else {
        std::fs::read(&dest).map_err(|e| {
            ModuleError::failed(crate::modules::files::common::py_oserror(
                &e,
                Some(&dest),
                None,
            ))
        })?
    };
    let text = String::from_utf8_lossy(&before).into_owned();
    let mut out = String::new();
    let mut message = String::new();
    let mut found = false;
    let mut new_value = value.to_owned();
    let prefix = format!("Invalid configuration found in '{dest_s}'.");
    for line in text.split_inclusive('\n') {
        if line.starts_with('#') {
            out.push_str(line);
            continue;
        }
        let collapsed = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if collapsed.is_empty() {
            out.push_str(line);
            continue;
        }
        let newline = collapsed.split('#').next().unwrap_or_default();
        let old_comment = line.split_once('#').map(|(_, c)| c).unwrap_or_default();
        let newline = newline.trim_end();
        if new_comment.is_empty() {
            new_comment = old_comment.to_owned();
        }
        let fields: Vec<&str> = newline.split(' ').collect();
        if fields.len() != 4 {
            out.push_str(line);
            continue;
        }
        let (l_domain, l_type, l_item, actual) = (fields[0], fields[1], fields[2], fields[3]);
        assert_valid(l_item, actual, &prefix)?;
        if l_domain == domain && l_type == limit_type && l_item == limit_item {
            found = true;
            if value == actual {
                message = line.to_owned();
                out.push_str(line);
                continue;
            }
            // Ansible compares the *type* with nice/priority here, so the
            // unlimited words always count.
            let (actual_unl, value_unl) = if l_type != "nice" && l_type != "priority" {
                (unlimited(actual), unlimited(value))
            } else {
                (false, false)
            };
            if use_max {
                new_value = if actual_unl {
                    actual.to_owned()
                } else if value_unl {
                    value.to_owned()
                } else {
                    as_int(value)?.max(as_int(actual)?).to_string()
                };
            }
            if use_min {
                new_value = if actual_unl && value_unl {
                    actual.to_owned()
                } else if actual_unl {
                    value.to_owned()
                } else if value_unl {
                    actual.to_owned()
                } else {
                    as_int(value)?.min(as_int(actual)?).to_string()
                };
            }
            if new_value != actual {
                changed = true;
                if !new_comment.is_empty() {
                    new_comment = format!("\t#{new_comment}");
                }
                let l = format!("{domain}\t{limit_type}\t{limit_item}\t{new_value}{new_comment}\n");
                out.push_str(&l);
                message = l;
            } else {
                message = line.to_owned();
                out.push_str(line);
            }
        } else {
            out.push_str(line);
        }
    }
    if !found {
        changed = true;
        if !new_comment.is_empty() {
            new_comment = format!("\t#{new_comment}");
        }
        let l = format!("{domain}\t{limit_type}\t{limit_item}\t{new_value}{new_comment}\n");
        out.push_str(&l);
        message = l;
    }
    let mut diff = Map::new();
    diff.insert("before".into(), Value::String(text));
    diff.insert("after".into(), Value::String(out.clone()));
    let mut r = ModuleResult {
        changed,
        msg: Some(message),
        ..Default::default()
    };
    r.set("diff", Value::Object(diff));
    if !changed {
        return Ok(Check::Done(r));
    }
    let backup = a.bool("backup");
    Ok(Check::Change {
        predicted: r.clone(),
        action: action(move |_ctx| {
            if backup {
                // `backup_local` of a missing file is `''`.
                let b = if dest.exists() {
                    fsutil::backup_file(&dest)?.display().to_string()
                } else {
                    String::new()
                };
                r.set("backup_file", b);
            }
            let target = std::path::absolute(&dest).unwrap_or(dest.clone());
            fsutil::atomic_write(&target, out.as_bytes(), None)?;
            Ok(r)
        }),
    })
}
