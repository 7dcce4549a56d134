//! `find`: returns a list of files matching criteria, walking directories
//! as Ansible's module does (`os.walk` order, hidden handling, depth).

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use serde_json::{Map, Value};

use super::common as c;
use super::pyre::{Flags, PyRegex};
use crate::args::{ArgDef, ArgDefault, ArgSpec, ArgType};
use crate::modules::{Capabilities, Check, CheckSupport, Context, Module, ModuleError};
use crate::result::ModuleResult;

pub struct Find;

static ARGS: [ArgDef; 19] = [
    ArgDef::new("paths", ArgType::List)
        .aliases(&["name", "path"])
        .required()
        .doc("Directories to search."),
    ArgDef::new("patterns", ArgType::List)
        .aliases(&["pattern"])
        .doc("Shell globs (or Python regexes with `use_regex`) matched against the basename; any one matches."),
    ArgDef::new("excludes", ArgType::List)
        .aliases(&["exclude"])
        .doc("Globs (or regexes) whose matches are left out."),
    ArgDef::new("contains", ArgType::Str)
        .doc("A Python regex that some line of the file must match (from its start)."),
    ArgDef::new("read_whole_file", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Search `contains` anywhere in the whole file instead of matching line by line."),
    ArgDef::new("file_type", ArgType::Str)
        .default(ArgDefault::Str("file"))
        .choices(&["any", "directory", "file", "link"])
        .doc("Which kind of entries to return."),
    ArgDef::new("age", ArgType::Str)
        .doc("Entries at least this old (`-N` at most this old); units s, m, h, d, w."),
    ArgDef::new("age_stamp", ArgType::Str)
        .default(ArgDefault::Str("mtime"))
        .choices(&["atime", "ctime", "mtime"])
        .doc("Which time `age` compares."),
    ArgDef::new("size", ArgType::Str)
        .doc("Files at least this big (`-N` at most); units b, k, m, g, t."),
    ArgDef::new("recurse", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Descend into subdirectories."),
    ArgDef::new("hidden", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Include entries whose names start with a dot."),
    ArgDef::new("follow", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Descend into symlinked directories."),
    ArgDef::new("get_checksum", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Add the SHA-1 `checksum` of regular files."),
    ArgDef::new("use_regex", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Patterns are Python regexes (matched from the start of the name)."),
    ArgDef::new("depth", ArgType::Int).doc("Maximum depth of recursion."),
    ArgDef::new("mode", ArgType::Raw)
        .doc("Only entries with this mode (octal or symbolic)."),
    ArgDef::new("exact_mode", ArgType::Bool)
        .default(ArgDefault::Bool(true))
        .doc("`mode` must match exactly, rather than any of its bits."),
    ArgDef::new("encoding", ArgType::Str)
        .doc("Encoding of files searched with `contains` (utf-8, ascii, latin-1)."),
    ArgDef::new("limit", ArgType::Int).doc("Stop after this many matches."),
];

static SPEC: ArgSpec = ArgSpec::new(&ARGS);

const NOTES: &str = r#"Results: `files` (a list of dicts: `path` and the stat fields `mode`
(`"0644"`), `isdir`, `ischr`, `isblk`, `isreg`, `isfifo`, `islnk`,
`issock`, `uid`, `gid`, `size`, `inode`, `dev`, `nlink`, `atime`,
`mtime`, `ctime` (float seconds), `gr_name`, `pw_name`, `wusr` ...
`xoth`, `isuid`, `isgid`, and `checksum` with `get_checksum`), `matched`,
`examined` (entries looked at), `skipped_paths` (path -> reason), `msg`
(`All paths examined`, `Limit of matches reached`, `Not all paths
examined, check warnings for details`), `changed: false`.

Entries come in directory order, files then subdirectories, as
`os.walk`; hidden directories are not returned without `hidden` but are
still descended into, as in Ansible. A path that is not a directory is
skipped with the warning `Skipped 'X' path due to this access issue: 'X'
is not a directory`. Failures: `failed to process age`, `failed to
process size`, `limit cannot be N (use None for unlimited)`, `Failed to
read the file X due to an encoding error. current encoding: E`.

Check mode: full (reads only). Diff: no.

Differences from Ansible: patterns are matched by our own `fnmatch`
and by Python regexes translated for fancy-regex (see the notes at the
top of this page); `encoding` knows UTF-8, ASCII and Latin-1 only (other
names read as UTF-8). Tested for real in conformance cases and the
`mod_find_*` differential cases."#;

impl Module for Find {
    fn name(&self) -> &'static str {
        "find"
    }
    fn description(&self) -> &'static str {
        "Return a list of files based on specific criteria"
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
        Ok(Check::Done(run(ctx)?))
    }
}

/// Python's `fnmatch.fnmatch` on POSIX (case-sensitive).
pub fn fnmatch(name: &str, pat: &str) -> bool {
    let n: Vec<char> = name.chars().collect();
    let p: Vec<char> = pat.chars().collect();
    fn go(n: &[char], p: &[char]) -> bool {
        let Some(&first) = p.first() else {
            return n.is_empty();
        };
        match first {
            '*' => (0..=n.len()).any(|i| go(&n[i..], &p[1..])),
            '?' => !n.is_empty() && go(&n[1..], &p[1..]),
            '[' => {
                // A set; an unclosed `[` is a literal.
                let mut j = 1;
                if j < p.len() && p[j] == '!' {
                    j += 1;
                }
                if j < p.len() && p[j] == ']' {
                    j += 1;
                }
                while j < p.len() && p[j] != ']' {
                    j += 1;
                }
                if j >= p.len() {
                    return !n.is_empty() && n[0] == '[' && go(&n[1..], &p[1..]);
                }
                let Some(&ch) = n.first() else {
                    return false;
                };
                let mut set = &p[1..j];
                let negate = set.first() == Some(&'!');
                if negate {
                    set = &set[1..];
                }
                let mut hit = false;
                let mut k = 0;
                while k < set.len() {
                    if k + 2 < set.len() && set[k + 1] == '-' {
                        if set[k] <= ch && ch <= set[k + 2] {
                            hit = true;
                        }
                        k += 3;
                    } else {
                        if set[k] == ch {
                            hit = true;
                        }
                        k += 1;
                    }
                }
                hit != negate && go(&n[1..], &p[j + 1..])
            }
            c => !n.is_empty() && n[0] == c && go(&n[1..], &p[1..]),
        }
    }
    go(&n, &p)
}

enum Matcher {
    Glob(Vec<String>),
    Regex(Vec<PyRegex>),
}

impl Matcher {
    fn new(pats: &[String], regex: bool) -> Result<Self, ModuleError> {
        if !regex {
            return Ok(Matcher::Glob(pats.to_vec()));
        }
        let flags = Flags {
            anchored: true,
            ..Flags::default()
        };
        pats.iter()
            .map(|p| PyRegex::new(p, flags).map_err(ModuleError::failed))
            .collect::<Result<Vec<_>, _>>()
            .map(Matcher::Regex)
    }
    fn any(&self, name: &str) -> bool {
        match self {
            Matcher::Glob(g) => g.iter().any(|p| fnmatch(name, p)),
            Matcher::Regex(r) => r.iter().any(|p| p.search(name).is_some()),
        }
    }
}

/// `pfilter`.
fn pfilter(name: &str, patterns: &Matcher, excludes: Option<&Matcher>) -> bool {
    if !patterns.any(name) {
        return false;
    }
    !excludes.is_some_and(|e| e.any(name))
}

fn stamp(st: &fs::Metadata, which: &str) -> f64 {
    match which {
        "atime" => c::ftime(st.atime(), st.atime_nsec()),
        "ctime" => c::ftime(st.ctime(), st.ctime_nsec()),
        _ => c::ftime(st.mtime(), st.mtime_nsec()),
    }
}

fn agefilter(st: &fs::Metadata, now: f64, age: Option<i64>, which: &str) -> bool {
    match age {
        None => true,
        Some(a) if a >= 0 => now - stamp(st, which) >= a.unsigned_abs() as f64,
        Some(a) => now - stamp(st, which) <= a.unsigned_abs() as f64,
    }
}

fn sizefilter(st: &fs::Metadata, size: Option<i64>) -> bool {
    match size {
        None => true,
        Some(s) if s >= 0 => st.size() >= s.unsigned_abs(),
        Some(s) => st.size() <= s.unsigned_abs(),
    }
}

/// `contentfilter`.
fn contentfilter(
    path: &Path,
    prog: &PyRegex,
    whole: bool,
    encoding: Option<&str>,
) -> Result<bool, ModuleError> {
    let Ok(data) = fs::read(path) else {
        return Ok(false);
    };
    let enc = encoding.map(str::to_ascii_lowercase);
    let text = match enc.as_deref() {
        Some("latin-1" | "latin1" | "iso-8859-1" | "iso8859-1") => {
            data.iter().map(|&b| b as char).collect::<String>()
        }
        Some("ascii" | "us-ascii") if !data.is_ascii() => {
            return Err(ModuleError::failed(format!(
                "Failed to read the file {} due to an encoding error. current encoding: {}",
                c::ps(path),
                encoding.unwrap_or_default()
            )))
        }
        _ => match String::from_utf8(data) {
            Ok(s) => s,
            Err(_) => {
                return Err(ModuleError::failed(format!(
                    "Failed to read the file {} due to an encoding error. current encoding: {}",
                    c::ps(path),
                    encoding.unwrap_or(
                        "None (default determined by the Python built-in function \"open\")"
                    )
                )))
            }
        },
    };
    // Python's text mode turns \r\n and \r into \n.
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    if whole {
        return Ok(prog.search(&text).is_some());
    }
    Ok(text
        .split_inclusive('\n')
        .any(|line| prog.search(line).is_some()))
}

fn mode_filter(st: &fs::Metadata, mode: Option<&Value>, exact: bool) -> Result<bool, ModuleError> {
    let Some(mode) = mode else {
        return Ok(true);
    };
    if mode.as_str().is_some_and(str::is_empty) {
        return Ok(true);
    }
    let cur = st.mode() & 0o7777;
    // Python applies a symbolic mode to mode 0.
    let want = crate::fsutil::parse_mode(mode, 0, false)? & 0o7777;
    Ok(if exact { cur == want } else { cur & want != 0 })
}

/// `statinfo(st)`.
pub fn statinfo(st: &fs::Metadata) -> Map<String, Value> {
    let m = st.mode();
    let ft = st.file_type();
    let mut r = Map::new();
    r.insert("mode".into(), format!("{:04o}", m & 0o7777).into());
    r.insert("isdir".into(), ft.is_dir().into());
    r.insert("ischr".into(), ft.is_char_device().into());
    r.insert("isblk".into(), ft.is_block_device().into());
    r.insert("isreg".into(), ft.is_file().into());
    r.insert("isfifo".into(), ft.is_fifo().into());
    r.insert("islnk".into(), ft.is_symlink().into());
    r.insert("issock".into(), ft.is_socket().into());
    r.insert("uid".into(), st.uid().into());
    r.insert("gid".into(), st.gid().into());
    r.insert("size".into(), st.size().into());
    r.insert("inode".into(), st.ino().into());
    r.insert("dev".into(), st.dev().into());
    r.insert("nlink".into(), st.nlink().into());
    r.insert("atime".into(), c::ftime(st.atime(), st.atime_nsec()).into());
    r.insert("mtime".into(), c::ftime(st.mtime(), st.mtime_nsec()).into());
    r.insert("ctime".into(), c::ftime(st.ctime(), st.ctime_nsec()).into());
    r.insert(
        "gr_name".into(),
        crate::fsutil::group_name(st.gid())
            .unwrap_or_default()
            .into(),
    );
    r.insert(
        "pw_name".into(),
        crate::fsutil::user_name(st.uid())
            .unwrap_or_default()
            .into(),
    );
    let bit = |b: u32| Value::Bool(m & b != 0);
    r.insert("wusr".into(), bit(0o200));
    r.insert("rusr".into(), bit(0o400));
    r.insert("xusr".into(), bit(0o100));
    r.insert("wgrp".into(), bit(0o020));
    r.insert("rgrp".into(), bit(0o040));
    r.insert("xgrp".into(), bit(0o010));
    r.insert("woth".into(), bit(0o002));
    r.insert("roth".into(), bit(0o004));
    r.insert("xoth".into(), bit(0o001));
    r.insert("isuid".into(), bit(0o4000));
    r.insert("isgid".into(), bit(0o2000));
    r
}

/// `os.path.normpath`.
fn normpath(p: &str) -> String {
    let abs = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !abs {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let body = parts.join("/");
    match (abs, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".into(),
        (false, false) => body,
    }
}

fn parse_units(v: &str, units: &[(char, i64)]) -> Option<i64> {
    let v = v.to_ascii_lowercase();
    let (num, mult) = match v.chars().last() {
        Some(ch) if ch.is_ascii_alphabetic() => {
            let m = units.iter().find(|(u, _)| *u == ch)?.1;
            (&v[..v.len() - 1], m)
        }
        _ => (v.as_str(), 1),
    };
    let digits = num.strip_prefix('-').unwrap_or(num);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    num.parse::<i64>().ok().map(|n| n * mult)
}

/// One `os.walk` step: (files, dirs) in directory order.
fn listdir(dir: &Path, follow: bool) -> std::io::Result<(Vec<String>, Vec<String>)> {
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    for e in fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        // scandir's is_dir() follows symlinks.
        let is_dir = fs::metadata(e.path()).is_ok_and(|m| m.is_dir());
        let _ = follow;
        if is_dir {
            dirs.push(name);
        } else {
            files.push(name);
        }
    }
    Ok((files, dirs))
}

struct Walk<'a> {
    a: &'a crate::args::Args,
    patterns: Matcher,
    excludes: Option<Matcher>,
    contains: Option<PyRegex>,
    whole: bool,
    age: Option<i64>,
    size: Option<i64>,
    now: f64,
    limit: Option<i64>,
    files: Vec<Value>,
    skipped: Map<String, Value>,
    warnings: Vec<String>,
    looked: u64,
    limit_hit: bool,
}

impl Walk<'_> {
    fn one_root(&mut self, npath: &str) -> Result<(), ModuleError> {
        let a = self.a;
        let follow = a.bool("follow");
        let recurse = a.bool("recurse");
        let hidden = a.bool("hidden");
        let depth_max = a.int("depth").filter(|d| *d != 0);
        let file_type = a.str("file_type").unwrap_or("file");
        let age_stamp = a.str("age_stamp").unwrap_or("mtime");
        let get_checksum = a.bool("get_checksum");
        let exact = a.opt_bool("exact_mode").unwrap_or(true);
        let mode = a.get("mode");
        let encoding = a.str("encoding");
        // A stack of roots, topdown, depth first, in os.walk's order.
        let mut stack: Vec<String> = vec![npath.to_owned()];
        while let Some(root) = stack.pop() {
            let (files, mut dirs) = match listdir(Path::new(&root), follow) {
                Ok(x) => x,
                Err(e) => {
                    if matches!(e.raw_os_error(), Some(1) | Some(13) | Some(2)) {
                        self.skipped.insert(
                            root.clone(),
                            format!(
                                "[Errno {}] {}: '{}'",
                                e.raw_os_error().unwrap_or(0),
                                c::strerror(&e),
                                root
                            )
                            .into(),
                        );
                        continue;
                    }
                    return Err(ModuleError::failed(c::py_oserror(&e, None, None)));
                }
            };
            self.looked += (files.len() + dirs.len()) as u64;
            let mut prune = false;
            let all: Vec<String> = files.iter().chain(dirs.iter()).cloned().collect();
            for fsobj in &all {
                let fsname = normpath(&c::join(&root, fsobj));
                if let Some(dmax) = depth_max {
                    let wpath = format!("{}/", npath.trim_end_matches('/'));
                    let depth =
                        fsname.matches('/').count() as i64 - wpath.matches('/').count() as i64 + 1;
                    if depth > dmax {
                        prune = true;
                        continue;
                    }
                }
                if c::basename(&fsname).starts_with('.') && !hidden {
                    continue;
                }
                let st = match fs::symlink_metadata(&fsname) {
                    Ok(s) => s,
                    Err(e) => {
                        let text = c::py_oserror(&e, None, None) + &format!(": '{fsname}'");
                        self.warnings.push(format!(
                            "Skipped entry '{fsname}' due to this access issue: {text}\n"
                        ));
                        self.skipped.insert(fsname.clone(), text.into());
                        continue;
                    }
                };
                let ft = st.file_type();
                let common = |w: &Self| -> Result<bool, ModuleError> {
                    Ok(pfilter(fsobj, &w.patterns, w.excludes.as_ref())
                        && agefilter(&st, w.now, w.age, age_stamp)
                        && mode_filter(&st, mode, exact)?)
                };
                let mut entry = Map::new();
                entry.insert("path".into(), fsname.clone().into());
                let kind_ok = match file_type {
                    "any" => true,
                    "directory" => ft.is_dir(),
                    "file" => ft.is_file(),
                    "link" => ft.is_symlink(),
                    _ => false,
                };
                let mut add = false;
                if kind_ok {
                    let ok = if file_type == "file" {
                        pfilter(fsobj, &self.patterns, self.excludes.as_ref())
                            && agefilter(&st, self.now, self.age, age_stamp)
                            && sizefilter(&st, self.size)
                            && self.content_ok(Path::new(&fsname), encoding)?
                            && mode_filter(&st, mode, exact)?
                    } else {
                        common(self)?
                    };
                    if ok {
                        entry.extend(statinfo(&st));
                        if ft.is_file() && get_checksum {
                            entry.insert(
                                "checksum".into(),
                                c::sha1_file(Path::new(&fsname)).unwrap_or_default().into(),
                            );
                        }
                        // `any` applies the size filter to regular files only.
                        add = file_type != "any" || !ft.is_file() || sizefilter(&st, self.size);
                    }
                }
                if add {
                    self.files.push(Value::Object(entry));
                }
                if self.limit.is_some_and(|l| self.files.len() as i64 == l) {
                    self.limit_hit = true;
                    break;
                }
            }
            if prune {
                dirs.clear();
            }
            if !recurse || self.limit_hit {
                break;
            }
            // os.walk descends into symlinked directories only with follow.
            let mut next: Vec<String> = dirs
                .into_iter()
                .map(|d| c::join(&root, &d))
                .filter(|p| follow || !c::is_link(Path::new(p)))
                .collect();
            next.reverse();
            stack.extend(next);
        }
        Ok(())
    }

    fn content_ok(&self, p: &Path, encoding: Option<&str>) -> Result<bool, ModuleError> {
        let Some(re) = &self.contains else {
            return Ok(true);
        };
        contentfilter(p, re, self.whole, encoding)
    }
}

fn run(ctx: &Context<'_>) -> Result<ModuleResult, ModuleError> {
    let a = &ctx.args;
    if let Some(m) = a.get("mode") {
        if !m.is_string() {
            return Err(ModuleError::failed(format!(
                "argument 'mode' is not a string and conversion is not allowed, value is of type {}",
                match m {
                    Value::Number(n) if n.is_f64() => "float",
                    Value::Number(_) => "int",
                    Value::Bool(_) => "bool",
                    Value::Array(_) => "list",
                    _ => "dict",
                }
            )));
        }
    }
    let use_regex = a.bool("use_regex");
    let mut patterns = a.list("patterns");
    if patterns.is_empty() {
        patterns.push(if use_regex { ".*" } else { "*" }.to_owned());
    }
    let excludes = a.list("excludes");
    let age = match a.str("age") {
        None => None,
        Some(s) => Some(
            parse_units(
                s,
                &[
                    ('s', 1),
                    ('m', 60),
                    ('h', 3600),
                    ('d', 86400),
                    ('w', 604800),
                ],
            )
            .ok_or_else(|| ModuleError::Failed {
                msg: "failed to process age".into(),
                extra: c::kv([("age", s.into())]),
            })?,
        ),
    };
    let size = match a.str("size") {
        None => None,
        Some(s) => Some(
            parse_units(
                s,
                &[
                    ('b', 1),
                    ('k', 1024),
                    ('m', 1 << 20),
                    ('g', 1 << 30),
                    ('t', 1 << 40),
                ],
            )
            .ok_or_else(|| ModuleError::Failed {
                msg: "failed to process size".into(),
                extra: c::kv([("size", s.into())]),
            })?,
        ),
    };
    let limit = a.int("limit");
    if let Some(l) = limit.filter(|l| *l <= 0) {
        return Err(ModuleError::failed(format!(
            "limit cannot be {l} (use None for unlimited)"
        )));
    }
    let contains = match a.str("contains") {
        Some(p) => Some(
            PyRegex::new(
                p,
                Flags {
                    anchored: !a.bool("read_whole_file"),
                    ..Flags::default()
                },
            )
            .map_err(ModuleError::failed)?,
        ),
        None => None,
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let mut w = Walk {
        a,
        patterns: Matcher::new(&patterns, use_regex)?,
        excludes: if excludes.is_empty() {
            None
        } else {
            Some(Matcher::new(&excludes, use_regex)?)
        },
        contains,
        whole: a.bool("read_whole_file"),
        age,
        size,
        now,
        limit,
        files: Vec::new(),
        skipped: Map::new(),
        warnings: Vec::new(),
        looked: 0,
        limit_hit: false,
    };
    let mut has_warnings = false;
    for raw in a.list("paths") {
        let npath = crate::modules::files::file::expand(&raw);
        if !Path::new(&npath).is_dir() {
            let why = format!("'{npath}' is not a directory");
            w.warnings.push(format!(
                "Skipped '{npath}' path due to this access issue: {why}\n"
            ));
            w.skipped.insert(npath.clone(), why.into());
            has_warnings = true;
            continue;
        }
        let before = w.warnings.len();
        w.one_root(&npath)?;
        if w.warnings.len() > before {
            has_warnings = true;
        }
    }
    let mut msg = if w.limit_hit {
        "Limit of matches reached"
    } else {
        "All paths examined"
    };
    if has_warnings {
        msg = "Not all paths examined, check warnings for details";
    }
    let matched = w.files.len();
    let mut r = ModuleResult::ok()
        .with_msg(msg)
        .with("files", Value::Array(w.files))
        .with("matched", matched)
        .with("examined", w.looked)
        .with("skipped_paths", Value::Object(w.skipped));
    if !w.warnings.is_empty() {
        r.set("warnings", w.warnings);
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnmatch_like_python() {
        assert!(fnmatch("a.txt", "*.txt"));
        assert!(!fnmatch("a.txt", "*.log"));
        assert!(fnmatch("a1", "a[0-9]"));
        assert!(!fnmatch("ab", "a[!b]"));
        assert!(fnmatch("[x", "[x"));
        assert!(fnmatch("", "*"));
        assert!(fnmatch("a?c", "a?c"));
    }

    #[test]
    fn units() {
        assert_eq!(parse_units("2d", &[('d', 86400)]), Some(172800));
        assert_eq!(parse_units("-5", &[('d', 86400)]), Some(-5));
        assert_eq!(parse_units("x", &[('d', 86400)]), None);
        assert_eq!(normpath("/a/./b//c/"), "/a/b/c");
    }
}
