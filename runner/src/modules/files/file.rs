//! `file`: manage files, directories, links and their attributes.
//!
//! One implementation serves check mode and real runs, with a `dry` flag
//! in the place of Ansible's `module.check_mode`, so that a check predicts
//! exactly what Ansible's check mode reports: `check()` runs it dry, and the
//! action runs it for real.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use super::common::{self as c, kv, Diff, FileArgs};
use crate::args::{ArgDef, ArgDefault, ArgSpec, ArgType, Args};
use crate::modules::{action, Capabilities, Check, CheckSupport, Context, Module, ModuleError};
use crate::result::ModuleResult;

pub struct File;

/// The arguments every file-handling module accepts (Ansible's
/// `FILE_COMMON_ARGUMENTS`). SELinux contexts are accepted and, as on a
/// host without SELinux, ignored.
macro_rules! file_common_args {
    () => {
        [
            ArgDef::new("mode", ArgType::Raw).doc("Permissions: octal or symbolic."),
            ArgDef::new("owner", ArgType::Str).doc("Name (or uid) of the owner."),
            ArgDef::new("group", ArgType::Str).doc("Name (or gid) of the group."),
            ArgDef::new("seuser", ArgType::Str).doc("SELinux user (ignored)."),
            ArgDef::new("serole", ArgType::Str).doc("SELinux role (ignored)."),
            ArgDef::new("setype", ArgType::Str).doc("SELinux type (ignored)."),
            ArgDef::new("selevel", ArgType::Str).doc("SELinux level (ignored)."),
            ArgDef::new("unsafe_writes", ArgType::Bool)
                .default(ArgDefault::Bool(false))
                .doc("Accepted for compatibility; writes are always atomic."),
        ]
    };
}
pub(crate) use file_common_args;

const COMMON: [ArgDef; 8] = file_common_args!();

static ARGS: [ArgDef; 20] = [
    ArgDef::new("path", ArgType::Path)
        .aliases(&["dest", "name"])
        .required()
        .doc("Path to the file being managed."),
    ArgDef::new("state", ArgType::Str)
        .choices(&["absent", "directory", "file", "hard", "link", "touch"])
        .doc("What the path should be; default: the current state, or file."),
    ArgDef::new("recurse", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Apply attributes recursively (state=directory)."),
    ArgDef::new("force", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Force creating links over existing paths."),
    ArgDef::new("follow", ArgType::Bool)
        .default(ArgDefault::Bool(true))
        .doc("Follow symlinks when setting attributes."),
    ArgDef::new("src", ArgType::Path).doc("Target of the link (state=link or hard)."),
    ArgDef::new("modification_time", ArgType::Str)
        .doc("Modification time to set: a time, 'now' or 'preserve'."),
    ArgDef::new("modification_time_format", ArgType::Str)
        .default(ArgDefault::Str("%Y%m%d%H%M.%S"))
        .doc("strftime format of modification_time."),
    ArgDef::new("access_time", ArgType::Str)
        .doc("Access time to set: a time, 'now' or 'preserve'."),
    ArgDef::new("access_time_format", ArgType::Str)
        .default(ArgDefault::Str("%Y%m%d%H%M.%S"))
        .doc("strftime format of access_time."),
    ArgDef::new("_original_basename", ArgType::Str).internal(),
    ArgDef::new("_diff_peek", ArgType::Bool).internal(),
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

/// `path`-typed values as Ansible's argument parsing leaves them:
/// `os.path.expanduser(os.path.expandvars(value))`.
pub(crate) fn expand(p: &str) -> String {
    let v = crate::modules::commands::expand_vars(p);
    crate::fsutil::expand_user(&v)
        .to_string_lossy()
        .into_owned()
}

/// The file module's parameters (also built by `copy`, which hands its
/// "nothing to copy" case to this module as Ansible's action plugin does).
#[derive(Debug, Clone)]
pub(crate) struct Params {
    pub path: String,
    pub state: Option<String>,
    pub mode: Option<Value>,
    pub owner: Option<String>,
    pub group: Option<String>,
    pub recurse: bool,
    pub force: bool,
    pub follow: bool,
    pub src: Option<String>,
    pub modification_time: Option<String>,
    pub modification_time_format: String,
    pub access_time: Option<String>,
    pub access_time_format: String,
    pub original_basename: Option<String>,
    pub diff_peek: bool,
}

impl Params {
    pub fn new(path: &str) -> Self {
        Params {
            path: path.to_owned(),
            state: None,
            mode: None,
            owner: None,
            group: None,
            recurse: false,
            force: false,
            follow: true,
            src: None,
            modification_time: None,
            modification_time_format: "%Y%m%d%H%M.%S".into(),
            access_time: None,
            access_time_format: "%Y%m%d%H%M.%S".into(),
            original_basename: None,
            diff_peek: false,
        }
    }

    fn from_args(a: &Args) -> Self {
        let s = |k: &str| a.str(k).map(str::to_owned);
        Params {
            path: expand(a.str("path").unwrap_or_default()),
            state: s("state"),
            mode: a.get("mode").cloned(),
            owner: s("owner"),
            group: s("group"),
            recurse: a.bool("recurse"),
            force: a.bool("force"),
            follow: a.opt_bool("follow").unwrap_or(true),
            src: a.str("src").map(expand),
            modification_time: s("modification_time"),
            modification_time_format: s("modification_time_format")
                .unwrap_or_else(|| "%Y%m%d%H%M.%S".into()),
            access_time: s("access_time"),
            access_time_format: s("access_time_format").unwrap_or_else(|| "%Y%m%d%H%M.%S".into()),
            original_basename: s("_original_basename"),
            diff_peek: a.opt_bool("_diff_peek").is_some(),
        }
    }

    fn file_args(&self, path: &Path, follow: bool) -> FileArgs {
        FileArgs::load(
            path,
            follow,
            self.mode.clone(),
            self.owner.clone(),
            self.group.clone(),
        )
    }
}

const NOTES: &str = r#"
All states: `file` (attributes of an existing file; fails `file (X) is
absent, cannot continue` when missing), `directory` (parents created;
`recurse` applies attributes below), `link` (symbolic; `src` relative to
the link's directory; `force` replaces an existing file), `hard`, `touch`
(always changed; times set to now or to `modification_time` /
`access_time`, `preserve` keeps them) and `absent` (recursive). Modes are
octal (quoted or numeric) or symbolic (`u+rwx,g-w,o=r`, `X`), as Python's
`chmod` handling in Ansible.

Results: `path` (or `dest` for links), `state`, `mode`, `owner`, `group`,
`uid`, `gid`, `size`, `diff` (`before`/`after` with `path`, `state`,
`mode`, ... as Ansible), and for `absent` the `diff` of the removed
`path_content` listing.

Check mode: full (the same code runs dry). Diff: yes.
"#;

impl Module for File {
    fn name(&self) -> &'static str {
        "file"
    }
    fn description(&self) -> &'static str {
        "Manage files and file properties"
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
        let params = Params::from_args(&ctx.args);
        let predicted = run(params.clone(), true)?;
        if !predicted.changed {
            return Ok(Check::Done(predicted));
        }
        Ok(Check::Change {
            predicted,
            action: action(move |_ctx: &Context<'_>| run(params, false)),
        })
    }
}

/// When a time should be set to.
#[derive(Debug, Clone, Copy, PartialEq)]
enum TimeSpec {
    Preserve,
    Now,
    At(f64),
}

fn now_f64() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn to_system_time(t: f64) -> Option<SystemTime> {
    let d = Duration::try_from_secs_f64(t.abs()).ok()?;
    if t >= 0.0 {
        UNIX_EPOCH.checked_add(d)
    } else {
        UNIX_EPOCH.checked_sub(d)
    }
}

/// Python's `time.mktime(time.strptime(value, format))`.
fn strptime_local(value: &str, format: &str) -> Result<f64, String> {
    use chrono::format::{parse, Parsed, StrftimeItems};
    use chrono::{LocalResult, NaiveDate, TimeZone};
    let mismatch = || format!("time data '{value}' does not match format '{format}'");
    let mut p = Parsed::new();
    if let Err(e) = parse(&mut p, value, StrftimeItems::new(format)) {
        return Err(if e.kind() == chrono::format::ParseErrorKind::TooLong {
            "unconverted data remains".to_owned()
        } else {
            mismatch()
        });
    }
    let year = p.year().unwrap_or_else(|| match p.year_mod_100() {
        Some(y) if y < 69 => 2000 + y,
        Some(y) => 1900 + y,
        None => 1900,
    });
    let hour = match (p.hour_div_12(), p.hour_mod_12()) {
        (Some(d), Some(m)) => d * 12 + m,
        (None, Some(m)) => m,
        _ => 0,
    };
    let date = match p.ordinal() {
        Some(o) if p.month().is_none() => NaiveDate::from_yo_opt(year, o),
        _ => NaiveDate::from_ymd_opt(year, p.month().unwrap_or(1), p.day().unwrap_or(1)),
    }
    .ok_or_else(mismatch)?;
    let ndt = date
        .and_hms_opt(hour, p.minute().unwrap_or(0), p.second().unwrap_or(0))
        .ok_or_else(mismatch)?;
    match chrono::Local.from_local_datetime(&ndt) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Ok(t.timestamp() as f64),
        LocalResult::None => Err("mktime argument out of range".to_owned()),
    }
}

fn timestamp_for(value: &str, format: &str) -> Result<TimeSpec, ModuleError> {
    match value {
        "preserve" => Ok(TimeSpec::Preserve),
        "now" => Ok(TimeSpec::Now),
        _ => strptime_local(value, format)
            .map(TimeSpec::At)
            .map_err(|e| ModuleError::Failed {
                msg: format!(
                    "Error while obtaining timestamp for time {value} using format {format}: {e}"
                ),
                extra: Map::new(),
            }),
    }
}

/// Ansible's `keep_backward_compatibility_on_timestamps` then
/// `get_timestamp_for_time` for (mtime, atime).
fn timestamps(p: &Params, state: &str) -> Result<(TimeSpec, TimeSpec), ModuleError> {
    let default = if state == "touch" { "now" } else { "preserve" };
    let m = p.modification_time.as_deref().unwrap_or(default);
    let a = p.access_time.as_deref().unwrap_or(default);
    Ok((
        timestamp_for(m, &p.modification_time_format)?,
        timestamp_for(a, &p.access_time_format)?,
    ))
}

/// `update_timestamp_for_file`.
fn update_timestamp(
    path: &Path,
    mtime: TimeSpec,
    atime: TimeSpec,
    diff: Option<&mut Diff>,
    dry: bool,
) -> Result<bool, ModuleError> {
    let err = |e: String| ModuleError::Failed {
        msg: format!("Error while updating modification or access time: {e}"),
        extra: kv([("path", c::ps(path).into())]),
    };
    if mtime == TimeSpec::Preserve && atime == TimeSpec::Preserve {
        return Ok(false);
    }
    let st = fs::metadata(path).map_err(|e| err(c::py_oserror(&e, Some(path), None)))?;
    let prev_m = c::ftime(st.mtime(), st.mtime_nsec());
    let prev_a = c::ftime(st.atime(), st.atime_nsec());
    let (m, a) = if mtime == TimeSpec::Now && atime == TimeSpec::Now {
        let t = now_f64();
        (t, t)
    } else {
        let pick = |spec: TimeSpec, prev: f64| match spec {
            TimeSpec::Preserve => prev,
            TimeSpec::Now => now_f64(),
            TimeSpec::At(t) => t,
        };
        let (m, a) = (pick(mtime, prev_m), pick(atime, prev_a));
        if m == prev_m && a == prev_a {
            return Ok(false);
        }
        (m, a)
    };
    if !dry {
        let (Some(at), Some(mt)) = (to_system_time(a), to_system_time(m)) else {
            return Err(err("timestamp out of range".into()));
        };
        let times = fs::FileTimes::new().set_accessed(at).set_modified(mt);
        let f = fs::File::open(path)
            .or_else(|_| fs::OpenOptions::new().write(true).open(path))
            .map_err(|e| err(c::py_oserror(&e, Some(path), None)))?;
        f.set_times(times)
            .map_err(|e| err(c::py_oserror(&e, Some(path), None)))?;
    }
    if let Some(d) = diff {
        if m != prev_m {
            d.set("mtime", prev_m, m);
        }
        if a != prev_a {
            d.set("atime", prev_a, a);
        }
    }
    Ok(true)
}

/// `os.walk` (top-down, not following links): `(dir, subdirs, files)`.
fn walk(top: &Path) -> Vec<(PathBuf, Vec<String>, Vec<String>)> {
    let mut out = Vec::new();
    let Ok(rd) = fs::read_dir(top) else {
        return out;
    };
    let mut dirs = Vec::new();
    let mut files = Vec::new();
    let mut names: Vec<_> = rd.filter_map(Result::ok).collect();
    names.sort_by_key(|e| e.file_name());
    for e in names {
        let name = e.file_name().to_string_lossy().into_owned();
        if fs::metadata(e.path()).is_ok_and(|m| m.is_dir()) {
            dirs.push(name);
        } else {
            files.push(name);
        }
    }
    let recurse: Vec<PathBuf> = dirs
        .iter()
        .map(|d| top.join(d))
        .filter(|p| !c::is_link(p))
        .collect();
    out.push((top.to_path_buf(), dirs, files));
    for d in recurse {
        out.extend(walk(&d));
    }
    out
}

/// `initial_diff`.
fn initial_diff(path: &str, state: &str, prev: &str) -> Diff {
    let mut d = Diff::default();
    d.before.insert("path".into(), path.into());
    d.after.insert("path".into(), path.into());
    if prev != state {
        d.set("state", prev, state);
        if state == "absent" && prev == "directory" {
            let mut dirs = Vec::new();
            let mut files = Vec::new();
            for (base, sub, fl) in walk(Path::new(path)) {
                let base = c::ps(&base);
                dirs.extend(sub.iter().map(|s| Value::from(c::join(&base, s))));
                files.extend(fl.iter().map(|s| Value::from(c::join(&base, s))));
            }
            let walklist = kv([
                ("directories", Value::Array(dirs)),
                ("files", Value::Array(files)),
            ]);
            d.before
                .insert("path_content".into(), Value::Object(walklist));
        }
    }
    d
}

/// Runs the module; `dry` is check mode.
pub(crate) fn run(mut p: Params, dry: bool) -> Result<ModuleResult, ModuleError> {
    let mut warnings: Vec<String> = Vec::new();
    let r = run_inner(&mut p, dry, &mut warnings);
    let attach = |m: &mut Map<String, Value>, w: &[String]| {
        if !w.is_empty() {
            m.insert("warnings".into(), w.to_vec().into());
        }
    };
    match r {
        Ok(mut map) => {
            let changed = map
                .remove("changed")
                .and_then(|v| v.as_bool())
                .unwrap_or(false);
            c::add_path_info(&mut map);
            attach(&mut map, &warnings);
            Ok(ModuleResult {
                changed,
                extra: map,
                ..Default::default()
            })
        }
        Err(ModuleError::Failed { msg, mut extra }) => {
            attach(&mut extra, &warnings);
            Err(ModuleError::Failed { msg, extra })
        }
        Err(e) => Err(e),
    }
}

fn run_inner(
    p: &mut Params,
    dry: bool,
    warnings: &mut Vec<String>,
) -> Result<Map<String, Value>, ModuleError> {
    // additional_parameter_handling
    let st = p.state.as_deref();
    if !matches!(st, Some("link") | Some("absent")) && Path::new(&p.path).is_dir() {
        let base = p
            .original_basename
            .clone()
            .or_else(|| p.src.as_deref().map(|s| c::basename(s).to_owned()));
        if let Some(b) = base.filter(|b| !b.is_empty()) {
            p.path = c::join(&p.path, &b);
        }
    }
    let prev_state = c::get_state(Path::new(&p.path));
    let state = match p.state.clone() {
        Some(s) => s,
        None if prev_state != "absent" => prev_state.to_owned(),
        None if p.recurse => "directory".to_owned(),
        None => "file".to_owned(),
    };
    if p.recurse && state != "directory" {
        return Err(c::fail_json(
            "recurse option requires state to be 'directory'",
            kv([("path", p.path.clone().into())]),
        ));
    }
    if p.src.is_some() && state != "link" && state != "hard" {
        return Err(c::fail_json(
            "src option requires state to be 'link' or 'hard'",
            kv([("path", p.path.clone().into())]),
        ));
    }
    if dry && state != "absent" {
        if let Some(o) = p.owner.as_deref().filter(|o| !c::user_exists(o)) {
            warnings.push(match o.parse::<u32>() {
                Ok(_) => format!(
                    "failed to look up user with uid {o}. Create user up to this point in real play"
                ),
                Err(_) => {
                    format!("failed to look up user {o}. Create user up to this point in real play")
                }
            });
        }
        if let Some(g) = p.group.as_deref().filter(|g| !c::group_exists(g)) {
            warnings.push(match g.parse::<u32>() {
                Ok(_) => format!(
                    "failed to look up group with gid {g}. Create group up to this point in real play"
                ),
                Err(_) => format!(
                    "failed to look up group {g}. Create group up to this point in real play"
                ),
            });
        }
    }
    if p.diff_peek {
        let binary = fs::File::open(&p.path)
            .ok()
            .and_then(|f| {
                use std::io::Read;
                let mut head = Vec::with_capacity(8192);
                f.take(8192).read_to_end(&mut head).ok()?;
                Some(head.contains(&0))
            })
            .unwrap_or(false);
        return Ok(kv([
            ("path", p.path.clone().into()),
            ("changed", false.into()),
            ("appears_binary", binary.into()),
        ]));
    }
    let p = &*p;
    match state.as_str() {
        "file" => ensure_file_attributes(p, dry),
        "directory" => ensure_directory(p, dry),
        "link" => ensure_symlink(p, dry, warnings),
        "hard" => ensure_hardlink(p, dry),
        "touch" => execute_touch(p, dry),
        _ => ensure_absent(p, dry),
    }
}

fn ensure_absent(p: &Params, dry: bool) -> Result<Map<String, Value>, ModuleError> {
    let path = Path::new(&p.path);
    let prev = c::get_state(path);
    if prev == "absent" {
        return Ok(kv([
            ("path", p.path.clone().into()),
            ("changed", false.into()),
            ("state", "absent".into()),
        ]));
    }
    let diff = initial_diff(&p.path, "absent", prev);
    if !dry {
        if prev == "directory" {
            fs::remove_dir_all(path).map_err(|e| ModuleError::Failed {
                msg: format!("rmtree failed: {}", c::py_oserror(&e, None, None)),
                extra: Map::new(),
            })?;
        } else if let Err(e) = fs::remove_file(path) {
            if e.kind() != std::io::ErrorKind::NotFound {
                return Err(c::fail_json(
                    format!("unlinking failed: {} ", c::py_oserror(&e, Some(path), None)),
                    kv([("path", p.path.clone().into())]),
                ));
            }
        }
    }
    Ok(kv([
        ("path", p.path.clone().into()),
        ("changed", true.into()),
        ("diff", diff.to_value()),
        ("state", "absent".into()),
    ]))
}

fn execute_touch(p: &Params, dry: bool) -> Result<Map<String, Value>, ModuleError> {
    let path = Path::new(&p.path);
    let prev = c::get_state(path);
    let mut changed = false;
    let (mtime, atime) = timestamps(p, "touch")?;
    if prev == "absent" {
        if dry {
            return Ok(kv([
                ("dest", p.path.clone().into()),
                ("changed", true.into()),
            ]));
        }
        fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(|e| {
                c::fail_json(
                    format!(
                        "Error, could not touch target: {}",
                        c::py_oserror(&e, Some(path), None)
                    ),
                    kv([("path", p.path.clone().into())]),
                )
            })?;
        changed = true;
    }
    let mut diff = initial_diff(&p.path, "touch", prev);
    let fa = p.file_args(path, p.follow);
    changed = match c::set_fs_attributes_if_different(&fa, changed, Some(&mut diff), dry) {
        Ok(ch) => ch,
        Err(e) => {
            if prev == "absent" && !dry {
                let _ = fs::remove_file(path);
            }
            return Err(e);
        }
    };
    changed |= update_timestamp(&fa.path, mtime, atime, Some(&mut diff), dry)?;
    Ok(kv([
        ("dest", p.path.clone().into()),
        ("changed", changed.into()),
        ("diff", diff.to_value()),
    ]))
}

fn ensure_file_attributes(p: &Params, dry: bool) -> Result<Map<String, Value>, ModuleError> {
    let mut path = p.path.clone();
    let mut prev = c::get_state(Path::new(&path));
    let mut fa = p.file_args(Path::new(&path), p.follow);
    let (mtime, atime) = timestamps(p, "file")?;
    if prev != "file" && p.follow && prev == "link" {
        path = c::ps(&c::realpath(Path::new(&path)));
        prev = c::get_state(Path::new(&path));
        fa.path = PathBuf::from(&path);
    }
    if prev != "file" && prev != "hard" {
        return Err(c::fail_json(
            format!("file ({path}) is {prev}, cannot continue"),
            kv([("path", path.clone().into()), ("state", prev.into())]),
        ));
    }
    let mut diff = initial_diff(&path, "file", prev);
    let mut changed = c::set_fs_attributes_if_different(&fa, false, Some(&mut diff), dry)?;
    changed |= update_timestamp(&fa.path, mtime, atime, Some(&mut diff), dry)?;
    Ok(kv([
        ("path", path.into()),
        ("changed", changed.into()),
        ("diff", diff.to_value()),
    ]))
}

fn ensure_directory(p: &Params, dry: bool) -> Result<Map<String, Value>, ModuleError> {
    let mut path = p.path.clone();
    let mut prev = c::get_state(Path::new(&path));
    let mut fa = p.file_args(Path::new(&path), p.follow);
    let (mtime, atime) = timestamps(p, "directory")?;
    if p.follow && prev == "link" {
        path = c::ps(&c::realpath(Path::new(&path)));
        fa.path = PathBuf::from(&path);
        prev = c::get_state(Path::new(&path));
    }
    let mut changed = false;
    let mut diff = initial_diff(&path, "directory", prev);
    let done = |path: String, changed: bool, diff: &Diff| {
        Ok(kv([
            ("path", path.into()),
            ("changed", changed.into()),
            ("diff", diff.to_value()),
        ]))
    };
    if prev == "absent" {
        if dry {
            return done(path, true, &diff);
        }
        let absolute = path.starts_with('/');
        let mut cur = String::new();
        for part in path.trim_matches('/').split('/') {
            cur = format!("{cur}/{part}");
            if !absolute {
                cur = cur.trim_start_matches('/').to_owned();
            }
            let curp = Path::new(&cur);
            if c::exists(curp) {
                continue;
            }
            let issue = |e: String| {
                c::fail_json(
                    format!("There was an issue creating {cur} as requested: {e}"),
                    kv([("path", path.clone().into())]),
                )
            };
            match fs::create_dir(curp) {
                Ok(()) => changed = true,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && curp.is_dir() => {}
                Err(e) => return Err(issue(c::py_oserror(&e, Some(curp), None))),
            }
            changed = c::set_fs_attributes_if_different(
                &fa.with_path(curp),
                changed,
                Some(&mut diff),
                false,
            )?;
            changed |= match update_timestamp(&fa.path, mtime, atime, Some(&mut diff), false) {
                Ok(ch) => ch,
                Err(e) => return Err(issue(e.to_string())),
            };
        }
        return done(path, changed, &diff);
    }
    if prev != "directory" {
        return Err(c::fail_json(
            format!("{path} already exists as a {prev}"),
            kv([("path", path.clone().into())]),
        ));
    }
    changed = c::set_fs_attributes_if_different(&fa, changed, Some(&mut diff), dry)?;
    changed |= update_timestamp(&fa.path, mtime, atime, Some(&mut diff), dry)?;
    if p.recurse {
        changed |= recursive_set_attributes(Path::new(&path), p.follow, &fa, mtime, atime, dry, 0)?;
    }
    done(path, changed, &diff)
}

fn recursive_set_attributes(
    top: &Path,
    follow: bool,
    fa: &FileArgs,
    mtime: TimeSpec,
    atime: TimeSpec,
    dry: bool,
    depth: usize,
) -> Result<bool, ModuleError> {
    if depth > 64 {
        return Err(ModuleError::failed(format!(
            "Could not recursively set attributes on {}. Original error was: 'maximum recursion depth exceeded'",
            c::ps(top)
        )));
    }
    let mut changed = false;
    for (root, dirs, files) in walk(top) {
        for name in dirs.iter().chain(files.iter()) {
            let p = root.join(name);
            changed |= c::set_fs_attributes_if_different(&fa.with_path(&p), changed, None, dry)?;
            changed |= update_timestamp(&p, mtime, atime, None, dry)?;
            if follow && c::is_link(&p) {
                let Ok(target) = fs::read_link(&p) else {
                    continue;
                };
                let t = root.join(target);
                if c::exists(&t) {
                    if t.is_dir() {
                        changed |=
                            recursive_set_attributes(&t, follow, fa, mtime, atime, dry, depth + 1)?;
                    }
                    changed |=
                        c::set_fs_attributes_if_different(&fa.with_path(&t), changed, None, dry)?;
                    changed |= update_timestamp(&t, mtime, atime, None, dry)?;
                }
            }
        }
    }
    Ok(changed)
}

/// A temporary name next to `path` as Ansible uses for replacing links.
fn tmp_link_path(path: &str) -> PathBuf {
    PathBuf::from(format!(
        "{}/.{}.{}.tmp",
        c::dirname(path),
        std::process::id(),
        now_f64()
    ))
}

fn link_result(path: &str, src: Option<&str>, changed: bool, diff: &Diff) -> Map<String, Value> {
    kv([
        ("dest", path.into()),
        ("src", src.map_or(Value::Null, Value::from)),
        ("changed", changed.into()),
        ("diff", diff.to_value()),
    ])
}

fn ensure_symlink(
    p: &Params,
    dry: bool,
    warnings: &mut Vec<String>,
) -> Result<Map<String, Value>, ModuleError> {
    let path = p.path.as_str();
    let b_path = Path::new(path);
    let mut src = p.src.clone();
    let prev = c::get_state(b_path);
    let (mtime, atime) = timestamps(p, "link")?;
    if src.is_none() && p.follow && c::exists(b_path) {
        if let Ok(t) = fs::read_link(b_path) {
            src = Some(c::ps(&t));
        }
    }
    let relpath = if !c::is_link(b_path) && b_path.is_dir() {
        path.to_owned()
    } else {
        c::dirname(path)
    };
    let path_kv = || kv([("path", path.into())]);
    if let Some(s) = src.as_deref() {
        let absrc = c::join(&relpath, s);
        if !p.force && !c::exists(Path::new(&absrc)) {
            return Err(c::fail_json(
                format!(
                    "src file does not exist, use \"force=yes\" if you really want to create the link: {absrc}"
                ),
                kv([("path", path.into()), ("src", s.into())]),
            ));
        }
    }
    if prev == "directory" {
        if !p.force {
            return Err(c::fail_json(
                format!("refusing to convert from {prev} to symlink for {path}"),
                path_kv(),
            ));
        }
        let nonempty = fs::read_dir(b_path).is_ok_and(|mut d| d.next().is_some());
        if nonempty {
            return Err(c::fail_json(
                format!("the directory {path} is not empty, refusing to convert it"),
                path_kv(),
            ));
        }
    } else if (prev == "file" || prev == "hard") && !p.force {
        return Err(c::fail_json(
            format!("refusing to convert from {prev} to symlink for {path}"),
            path_kv(),
        ));
    }
    let mut diff = initial_diff(path, "link", prev);
    let mut changed = false;
    if prev == "link" {
        if let Some(s) = src.as_deref() {
            let old = fs::read_link(b_path).map(|t| c::ps(&t)).unwrap_or_default();
            if old != s {
                diff.set("src", old, s);
                changed = true;
            }
        }
    } else {
        if src.is_none() {
            return Err(ModuleError::failed(
                "src is required for creating new symlinks",
            ));
        }
        changed = true;
    }
    let src_s = src.clone().unwrap_or_default();
    if changed && !dry {
        if prev != "absent" {
            let tmp = tmp_link_path(path);
            let r = (|| {
                if prev == "directory" {
                    fs::remove_dir(b_path).map_err(|e| c::py_oserror(&e, Some(b_path), None))?;
                }
                std::os::unix::fs::symlink(&src_s, &tmp)
                    .map_err(|e| c::py_oserror(&e, Some(Path::new(&src_s)), Some(&tmp)))?;
                fs::rename(&tmp, b_path).map_err(|e| c::py_oserror(&e, Some(&tmp), Some(b_path)))
            })();
            if let Err(e) = r {
                if c::lexists(&tmp) {
                    let _ = fs::remove_file(&tmp);
                }
                return Err(c::fail_json(
                    format!("Error while replacing: {e}"),
                    path_kv(),
                ));
            }
        } else {
            std::os::unix::fs::symlink(&src_s, b_path).map_err(|e| {
                c::fail_json(
                    format!(
                        "Error while linking: {}",
                        c::py_oserror(&e, Some(Path::new(&src_s)), Some(b_path))
                    ),
                    path_kv(),
                )
            })?;
        }
    }
    if dry && !c::exists(b_path) {
        return Ok(link_result(path, src.as_deref(), changed, &diff));
    }
    let fa = p.file_args(b_path, p.follow);
    if p.follow && c::is_link(b_path) && !c::exists(&fa.path) {
        warnings.push(
            "Cannot set fs attributes on a non-existent symlink target. follow should be set to False to avoid this."
                .into(),
        );
    } else {
        changed = c::set_fs_attributes_if_different(&fa, changed, Some(&mut diff), dry)?;
        changed |= update_timestamp(&fa.path, mtime, atime, Some(&mut diff), dry)?;
    }
    Ok(link_result(path, src.as_deref(), changed, &diff))
}

fn inode(p: &Path) -> Option<(u64, u64)> {
    fs::metadata(p).ok().map(|m| (m.dev(), m.ino()))
}

fn ensure_hardlink(p: &Params, dry: bool) -> Result<Map<String, Value>, ModuleError> {
    let path = p.path.as_str();
    let b_path = Path::new(path);
    let src = p.src.clone();
    let prev = c::get_state(b_path);
    let fa = p.file_args(b_path, p.follow);
    let (mtime, atime) = timestamps(p, "hard")?;
    let dest_src = |s: &Option<String>| {
        kv([
            ("dest", path.into()),
            ("src", s.clone().map_or(Value::Null, Value::from)),
        ])
    };
    if prev != "hard" && src.is_none() {
        return Err(ModuleError::failed(
            "src is required for creating new hardlinks",
        ));
    }
    if let Some(s) = src.as_deref() {
        if !c::exists(Path::new(s)) {
            return Err(c::fail_json("src does not exist", dest_src(&src)));
        }
    }
    let mut diff = initial_diff(path, "hard", prev);
    let mut changed = false;
    match prev {
        "absent" => changed = true,
        "link" => {
            let old = fs::read_link(b_path).map(|t| c::ps(&t)).unwrap_or_default();
            let s = src.clone().unwrap_or_default();
            if old != s {
                diff.set("src", old, s);
                changed = true;
            }
        }
        "hard" => {
            if let Some(s) = src.as_deref() {
                if inode(b_path) != inode(Path::new(s)) {
                    changed = true;
                    if !p.force {
                        return Err(c::fail_json(
                            "Cannot link, different hard link exists at destination",
                            dest_src(&src),
                        ));
                    }
                }
            }
        }
        "file" => {
            changed = true;
            if !p.force {
                return Err(c::fail_json(
                    format!("Cannot link, {prev} exists at destination"),
                    dest_src(&src),
                ));
            }
        }
        _ => {
            // directory
            changed = true;
            if c::exists(b_path) {
                let s = src.clone().unwrap_or_default();
                if inode(b_path) == inode(Path::new(&s)) {
                    return Ok(kv([("path", path.into()), ("changed", false.into())]));
                } else if !p.force {
                    return Err(c::fail_json(
                        "Cannot link: different hard link exists at destination",
                        dest_src(&src),
                    ));
                }
            }
        }
    }
    if changed && !dry {
        let s = src.clone().unwrap_or_default();
        // os.link follows a symlinked source; link to what it points at.
        let target = if c::is_link(Path::new(&s)) {
            c::realpath(Path::new(&s))
        } else {
            PathBuf::from(&s)
        };
        if prev != "absent" {
            let tmp = tmp_link_path(path);
            let r = (|| {
                if prev == "directory" && c::exists(b_path) {
                    if let Err(e) = fs::remove_file(b_path) {
                        if e.kind() != std::io::ErrorKind::NotFound {
                            return Err(c::py_oserror(&e, Some(b_path), None));
                        }
                    }
                }
                fs::hard_link(&target, &tmp)
                    .map_err(|e| c::py_oserror(&e, Some(Path::new(&s)), Some(&tmp)))?;
                fs::rename(&tmp, b_path).map_err(|e| c::py_oserror(&e, Some(&tmp), Some(b_path)))
            })();
            if let Err(e) = r {
                if c::lexists(&tmp) {
                    let _ = fs::remove_file(&tmp);
                }
                return Err(c::fail_json(
                    format!("Error while replacing: {e}"),
                    kv([("path", path.into())]),
                ));
            }
        } else {
            fs::hard_link(&target, b_path).map_err(|e| {
                c::fail_json(
                    format!(
                        "Error while linking: {}",
                        c::py_oserror(&e, Some(Path::new(&s)), Some(b_path))
                    ),
                    kv([("path", path.into())]),
                )
            })?;
        }
    }
    if dry && !c::exists(b_path) {
        return Ok(link_result(path, src.as_deref(), changed, &diff));
    }
    changed = c::set_fs_attributes_if_different(&fa, changed, Some(&mut diff), dry)?;
    changed |= update_timestamp(&fa.path, mtime, atime, Some(&mut diff), dry)?;
    Ok(link_result(path, src.as_deref(), changed, &diff))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strptime_formats() {
        // Local time: compare against chrono's own conversion.
        use chrono::TimeZone;
        let expect = |y, mo, d, h, mi, s| {
            chrono::Local
                .with_ymd_and_hms(y, mo, d, h, mi, s)
                .earliest()
                .map(|t| t.timestamp() as f64)
        };
        assert_eq!(
            strptime_local("202001021304.05", "%Y%m%d%H%M.%S").ok(),
            expect(2020, 1, 2, 13, 4, 5)
        );
        assert_eq!(
            strptime_local("2020-01-02", "%Y-%m-%d").ok(),
            expect(2020, 1, 2, 0, 0, 0)
        );
        assert_eq!(
            strptime_local("2020", "%Y%m%d%H%M.%S").err().as_deref(),
            Some("time data '2020' does not match format '%Y%m%d%H%M.%S'")
        );
    }
}
