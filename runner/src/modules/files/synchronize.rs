//! `synchronize`: the host side of a native tree sync standing in for
//! `ansible.posix.synchronize`'s rsync. The controller reads the source
//! tree and sends it as a manifest (`_tree`) plus one asset per distinct
//! file content; here the destination is brought in line with it, rsync
//! style (quick check on size and time, or contents with `checksum`),
//! and the changes are reported as rsync's `--itemize-changes` lines.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::args::{ArgDef, ArgDefault, ArgSpec, ArgType};
use crate::modules::{action, Capabilities, Check, CheckSupport, Context, Module, ModuleError};
use crate::result::ModuleResult;

pub struct Synchronize;

/// What a source entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    File,
    Dir,
    Link,
}

/// One entry of the source tree, relative to the transfer root (`""` is
/// the root itself when the source is a directory copied by content).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub path: String,
    pub kind: Kind,
    pub mode: u32,
    pub mtime: i64,
    #[serde(default)]
    pub mtime_nsec: u32,
    #[serde(default)]
    pub size: u64,
    /// A symlink's target.
    #[serde(default)]
    pub target: Option<String>,
    /// Name of the asset holding a file's content.
    #[serde(default)]
    pub asset: Option<String>,
    #[serde(default)]
    pub uid: u32,
    #[serde(default)]
    pub gid: u32,
}

/// The rsync options the sync honours.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub recursive: bool,
    pub links: bool,
    pub perms: bool,
    pub times: bool,
    pub owner: bool,
    pub group: bool,
    pub checksum: bool,
    pub delete: bool,
    pub existing_only: bool,
}

/// One change to make, with its itemized line.
#[derive(Debug, Clone)]
pub enum Op {
    Mkdir(usize),
    Write(usize),
    Link(usize),
    /// Attributes only (mode, time, owner).
    Attrs(usize),
    Delete(PathBuf),
}

/// Reads a tree (the source side). `root_name` is the name the top entry
/// gets (`""` to copy a directory's contents).
pub fn read_tree(
    src: &Path,
    root_name: &str,
    opts: &Options,
    excludes: &[String],
) -> std::io::Result<Vec<(Entry, Option<PathBuf>)>> {
    let mut out = Vec::new();
    walk(src, root_name, opts, excludes, &mut out, true)?;
    Ok(out)
}

fn excluded(rel: &str, excludes: &[String]) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    excludes.iter().any(|p| {
        let pat = p.trim_end_matches('/');
        let Ok(g) = glob::Pattern::new(pat.trim_start_matches('/')) else {
            return false;
        };
        if pat.contains('/') {
            g.matches(rel)
        } else {
            g.matches(name)
        }
    })
}

fn walk(
    p: &Path,
    rel: &str,
    opts: &Options,
    excludes: &[String],
    out: &mut Vec<(Entry, Option<PathBuf>)>,
    top: bool,
) -> std::io::Result<()> {
    if !rel.is_empty() && excluded(rel, excludes) {
        return Ok(());
    }
    let md = if opts.links {
        fs::symlink_metadata(p)?
    } else {
        fs::metadata(p)?
    };
    let kind = if md.file_type().is_symlink() {
        Kind::Link
    } else if md.is_dir() {
        Kind::Dir
    } else {
        Kind::File
    };
    let entry = Entry {
        path: rel.to_owned(),
        kind,
        mode: md.mode() & 0o7777,
        mtime: md.mtime(),
        mtime_nsec: md.mtime_nsec().clamp(0, 999_999_999) as u32,
        size: md.len(),
        target: if kind == Kind::Link {
            fs::read_link(p)
                .ok()
                .map(|t| t.to_string_lossy().into_owned())
        } else {
            None
        },
        asset: None,
        uid: md.uid(),
        gid: md.gid(),
    };
    out.push((entry, (kind == Kind::File).then(|| p.to_path_buf())));
    // Without `recursive` only the top directory's files are sent (rsync
    // would need `dirs` for the directories themselves).
    if kind == Kind::Dir && (opts.recursive || top) {
        let mut names: Vec<_> = fs::read_dir(p)?
            .filter_map(Result::ok)
            .map(|e| e.file_name())
            .collect();
        names.sort();
        for n in names {
            let name = n.to_string_lossy().into_owned();
            let child = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let cp = p.join(&n);
            if !opts.recursive && fs::metadata(&cp).is_ok_and(|m| m.is_dir()) {
                continue;
            }
            walk(&cp, &child, opts, excludes, out, false)?;
        }
    }
    Ok(())
}

fn shown(e: &Entry) -> String {
    let base = if e.path.is_empty() { "." } else { &e.path };
    match e.kind {
        Kind::Dir => format!("{base}/"),
        Kind::Link => format!("{base} -> {}", e.target.as_deref().unwrap_or("")),
        Kind::File => base.to_owned(),
    }
}

fn target_of(dest: &Path, e: &Entry) -> PathBuf {
    if e.path.is_empty() {
        dest.to_path_buf()
    } else {
        dest.join(&e.path)
    }
}

fn same_time(md: &fs::Metadata, e: &Entry) -> bool {
    md.mtime() == e.mtime
}

/// Decides the changes and their itemized lines (touching nothing).
/// `content` gives a file entry's bytes, for `checksum`.
pub fn plan(
    entries: &[Entry],
    dest: &Path,
    opts: &Options,
    excludes: &[String],
    content: &dyn Fn(&Entry) -> Option<Vec<u8>>,
) -> (Vec<Op>, Vec<String>) {
    let mut ops = Vec::new();
    let mut lines = Vec::new();
    let root_uid = rustix::process::geteuid().is_root();
    for (i, e) in entries.iter().enumerate() {
        let t = target_of(dest, e);
        let cur = fs::symlink_metadata(&t).ok();
        let attr_flags = |md: &fs::Metadata, check_time: bool| -> (bool, bool, bool) {
            let p = opts.perms && e.kind != Kind::Link && md.mode() & 0o7777 != e.mode;
            let tm = opts.times && check_time && !same_time(md, e);
            let o = root_uid
                && ((opts.owner && md.uid() != e.uid) || (opts.group && md.gid() != e.gid));
            (p, tm, o)
        };
        match e.kind {
            Kind::Dir => match &cur {
                Some(md) if md.is_dir() => {
                    let (p, tm, o) = attr_flags(md, true);
                    if p || tm || o {
                        ops.push(Op::Attrs(i));
                        lines.push(format!(
                            ".d..{}{}{}.... {}",
                            if tm { "t" } else { "." },
                            if p { "p" } else { "." },
                            if o { "o" } else { "." },
                            shown(e)
                        ));
                    }
                }
                _ => {
                    if opts.existing_only {
                        continue;
                    }
                    ops.push(Op::Mkdir(i));
                    lines.push(format!("cd+++++++++ {}", shown(e)));
                }
            },
            Kind::Link => {
                let same = cur.as_ref().is_some_and(|m| m.file_type().is_symlink())
                    && fs::read_link(&t)
                        .ok()
                        .map(|x| x.to_string_lossy().into_owned())
                        == e.target;
                let skip_new = opts.existing_only && cur.is_none();
                if !(same || skip_new) {
                    ops.push(Op::Link(i));
                    lines.push(format!("cL+++++++++ {}", shown(e)));
                }
            }
            Kind::File => match &cur {
                Some(md) if md.is_file() => {
                    let size_differs = md.len() != e.size;
                    let differs = if opts.checksum {
                        size_differs
                            || content(e)
                                .is_none_or(|c| fs::read(&t).ok().as_deref() != Some(&c[..]))
                    } else {
                        // rsync's quick check; without preserved times the
                        // contents decide (rsync would copy every time).
                        size_differs
                            || if opts.times {
                                !same_time(md, e)
                            } else {
                                content(e)
                                    .is_none_or(|c| fs::read(&t).ok().as_deref() != Some(&c[..]))
                            }
                    };
                    let (p, tm, o) = attr_flags(md, true);
                    if differs {
                        ops.push(Op::Write(i));
                        lines.push(format!(
                            ">f{}{}{}{}{}.... {}",
                            if opts.checksum { "c" } else { "." },
                            if size_differs { "s" } else { "." },
                            if tm { "t" } else { "." },
                            if p { "p" } else { "." },
                            if o { "o" } else { "." },
                            shown(e)
                        ));
                    } else if p || tm || o {
                        ops.push(Op::Attrs(i));
                        lines.push(format!(
                            ".f..{}{}{}.... {}",
                            if tm { "t" } else { "." },
                            if p { "p" } else { "." },
                            if o { "o" } else { "." },
                            shown(e)
                        ));
                    }
                }
                _ => {
                    if opts.existing_only && cur.is_none() {
                        continue;
                    }
                    ops.push(Op::Write(i));
                    lines.push(format!(">f+++++++++ {}", shown(e)));
                }
            },
        }
    }
    if opts.delete && opts.recursive {
        let wanted: BTreeSet<&str> = entries.iter().map(|e| e.path.as_str()).collect();
        for e in entries.iter().filter(|e| e.kind == Kind::Dir) {
            let d = target_of(dest, e);
            let mut extra = Vec::new();
            collect_extra(&d, &e.path, &wanted, excludes, &mut extra);
            for (rel, p, is_dir) in extra {
                lines.push(format!(
                    "*deleting   {}{}",
                    rel,
                    if is_dir { "/" } else { "" }
                ));
                ops.push(Op::Delete(p));
            }
        }
    }
    (ops, lines)
}

/// Entries under `dir` (deepest first) that the source does not have.
fn collect_extra(
    dir: &Path,
    rel: &str,
    wanted: &BTreeSet<&str>,
    excludes: &[String],
    out: &mut Vec<(String, PathBuf, bool)>,
) {
    let Ok(rd) = fs::read_dir(dir) else {
        return;
    };
    let mut names: Vec<_> = rd.filter_map(Result::ok).map(|e| e.file_name()).collect();
    names.sort();
    for n in names {
        let name = n.to_string_lossy().into_owned();
        let child = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        if wanted.contains(child.as_str()) || excluded(&child, excludes) {
            continue;
        }
        let p = dir.join(&n);
        let is_dir = fs::symlink_metadata(&p).is_ok_and(|m| m.is_dir());
        if is_dir {
            // Contents first, as rsync lists them.
            let mut inner = Vec::new();
            collect_all(&p, &child, &mut inner);
            out.extend(inner);
        }
        out.push((child, p, is_dir));
    }
}

fn collect_all(dir: &Path, rel: &str, out: &mut Vec<(String, PathBuf, bool)>) {
    let Ok(rd) = fs::read_dir(dir) else {
        return;
    };
    let mut names: Vec<_> = rd.filter_map(Result::ok).map(|e| e.file_name()).collect();
    names.sort();
    for n in names {
        let child = format!("{rel}/{}", n.to_string_lossy());
        let p = dir.join(&n);
        let is_dir = fs::symlink_metadata(&p).is_ok_and(|m| m.is_dir());
        if is_dir {
            collect_all(&p, &child, out);
        }
        out.push((child, p, is_dir));
    }
}

fn set_mtime(p: &Path, e: &Entry) -> std::io::Result<()> {
    let t = if e.mtime >= 0 {
        UNIX_EPOCH + Duration::new(e.mtime as u64, e.mtime_nsec)
    } else {
        UNIX_EPOCH - Duration::from_secs(e.mtime.unsigned_abs())
    };
    let f = fs::File::options()
        .read(true)
        .open(p)
        .or_else(|_| fs::File::open(p))?;
    f.set_times(
        fs::FileTimes::new()
            .set_modified(t)
            .set_accessed(SystemTime::now()),
    )
}

fn set_attrs(p: &Path, e: &Entry, opts: &Options) -> std::io::Result<()> {
    if rustix::process::geteuid().is_root() && (opts.owner || opts.group) {
        let uid = opts.owner.then(|| rustix::process::Uid::from_raw(e.uid));
        let gid = opts.group.then(|| rustix::process::Gid::from_raw(e.gid));
        rustix::fs::chown(p, uid, gid).map_err(std::io::Error::from)?;
    }
    if opts.perms {
        fs::set_permissions(p, fs::Permissions::from_mode(e.mode))?;
    }
    if opts.times && e.kind == Kind::File {
        set_mtime(p, e)?;
    }
    Ok(())
}

/// Applies the planned changes.
pub fn apply(
    entries: &[Entry],
    dest: &Path,
    opts: &Options,
    ops: &[Op],
    content: &dyn Fn(&Entry) -> Option<Vec<u8>>,
) -> Result<(), ModuleError> {
    let io =
        |what: &str, p: &Path, e: std::io::Error| ModuleError::io(what, p.display().to_string(), e);
    for op in ops {
        match op {
            Op::Mkdir(i) => {
                let t = target_of(dest, &entries[*i]);
                if fs::symlink_metadata(&t).is_ok_and(|m| !m.is_dir()) {
                    fs::remove_file(&t).map_err(|e| io("could not replace", &t, e))?;
                }
                fs::create_dir_all(&t).map_err(|e| io("could not create directory", &t, e))?;
                set_attrs(&t, &entries[*i], opts)
                    .map_err(|e| io("could not set attributes", &t, e))?;
            }
            Op::Write(i) => {
                let e = &entries[*i];
                let t = target_of(dest, e);
                let Some(data) = content(e) else {
                    return Err(ModuleError::failed(format!(
                        "the content of {} was not shipped",
                        e.path
                    )));
                };
                if fs::symlink_metadata(&t).is_ok_and(|m| m.is_dir()) {
                    fs::remove_dir_all(&t).map_err(|x| io("could not replace", &t, x))?;
                }
                let dir = t.parent().unwrap_or(Path::new("/"));
                let name = t
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                // rsync's --delay-updates: written aside, renamed in place.
                let tmp = dir.join(format!(".~tmp~{name}.{}", std::process::id()));
                fs::write(&tmp, &data).map_err(|x| io("could not write", &tmp, x))?;
                let mut e2 = e.clone();
                if !opts.perms {
                    // New files get the source's mode less the umask, as rsync.
                    e2.mode = fs::metadata(&t)
                        .map(|m| m.mode() & 0o7777)
                        .unwrap_or(e.mode & 0o755);
                }
                set_attrs(
                    &tmp,
                    &e2,
                    &Options {
                        perms: true,
                        ..*opts
                    },
                )
                .map_err(|x| io("could not set attributes", &tmp, x))?;
                fs::rename(&tmp, &t).map_err(|x| {
                    let _ = fs::remove_file(&tmp);
                    io("could not rename", &t, x)
                })?;
            }
            Op::Link(i) => {
                let e = &entries[*i];
                let t = target_of(dest, e);
                if let Ok(m) = fs::symlink_metadata(&t) {
                    if m.is_dir() {
                        fs::remove_dir_all(&t)
                    } else {
                        fs::remove_file(&t)
                    }
                    .map_err(|x| io("could not replace", &t, x))?;
                }
                std::os::unix::fs::symlink(e.target.as_deref().unwrap_or(""), &t)
                    .map_err(|x| io("could not create symlink", &t, x))?;
            }
            Op::Attrs(i) => {
                let t = target_of(dest, &entries[*i]);
                set_attrs(&t, &entries[*i], opts)
                    .map_err(|x| io("could not set attributes", &t, x))?;
            }
            Op::Delete(p) => {
                let r = if fs::symlink_metadata(p).is_ok_and(|m| m.is_dir()) {
                    fs::remove_dir_all(p)
                } else {
                    fs::remove_file(p)
                };
                match r {
                    Ok(()) => {}
                    Err(x) if x.kind() == std::io::ErrorKind::NotFound => {}
                    Err(x) => return Err(io("could not delete", p, x)),
                }
            }
        }
    }
    // Directory times last: writing into a directory changes its time.
    if opts.times {
        for e in entries.iter().rev().filter(|e| e.kind == Kind::Dir) {
            let t = target_of(dest, e);
            if t.is_dir() {
                set_mtime(&t, e).map_err(|x| io("could not set times", &t, x))?;
            }
        }
    }
    Ok(())
}

/// The module's result for a planned sync.
pub fn result(lines: &[String], cmd: &str) -> ModuleResult {
    let out: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let mut r = if lines.is_empty() {
        ModuleResult::ok()
    } else {
        ModuleResult::changed()
    };
    r.msg = Some(out.clone());
    r.set("rc", 0);
    r.set("cmd", cmd);
    r.set("stdout_lines", lines.to_vec());
    let mut d = serde_json::Map::new();
    d.insert("prepared".into(), Value::from(out));
    r.set("diff", Value::Object(d));
    r
}

static SPEC: ArgSpec = ArgSpec::new(&[
    ArgDef::new("dest", ArgType::Path)
        .required()
        .doc("Where the tree goes on the host (the transfer root's parent for a named directory)."),
    ArgDef::new("_tree", ArgType::Raw)
        .internal()
        .doc("The source tree's manifest, from the controller."),
    ArgDef::new("_cmd", ArgType::Str)
        .internal()
        .doc("The equivalent rsync command line, reported as `cmd`."),
    ArgDef::new("_excludes", ArgType::List)
        .internal()
        .doc("`--exclude` patterns."),
    ArgDef::new("_src_name", ArgType::Str)
        .internal()
        .doc("The source file's name, for a file sent into an existing directory."),
    ArgDef::new("recursive", ArgType::Bool)
        .default(ArgDefault::Bool(true))
        .doc("Descend into directories."),
    ArgDef::new("links", ArgType::Bool)
        .default(ArgDefault::Bool(true))
        .doc("Copy symlinks as symlinks."),
    ArgDef::new("perms", ArgType::Bool)
        .default(ArgDefault::Bool(true))
        .doc("Copy permissions."),
    ArgDef::new("times", ArgType::Bool)
        .default(ArgDefault::Bool(true))
        .doc("Copy modification times."),
    ArgDef::new("owner", ArgType::Bool)
        .default(ArgDefault::Bool(true))
        .doc("Copy the owner (as root)."),
    ArgDef::new("group", ArgType::Bool)
        .default(ArgDefault::Bool(true))
        .doc("Copy the group (as root)."),
    ArgDef::new("checksum", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Compare contents instead of size and time."),
    ArgDef::new("delete", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Delete what the source does not have."),
    ArgDef::new("existing_only", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Only update files that already exist."),
]);

impl Module for Synchronize {
    fn name(&self) -> &'static str {
        "synchronize"
    }
    fn description(&self) -> &'static str {
        "Brings a directory tree on the host in line with one sent by the controller (synchronize's host side)"
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
        "The host half of the `synchronize` action (see the action's notes). The \
manifest `_tree` lists the source entries (path, kind, mode, mtime, size, owner, \
link target, content asset); the destination is compared rsync style (quick \
check on size and mtime, or contents with `checksum`; contents when times are \
not preserved) and changed through a temporary file renamed in place. Deletions \
(`delete`) happen after the transfer and skip excluded names. Results: \
`changed`, `msg` (rsync `%i %n%L` itemized lines), `stdout_lines`, `rc` (0), \
`cmd` (the rsync command line Ansible would have run), `diff.prepared`. Check \
mode reports the same lines and changes nothing. Tested by the controller's \
`ctl_synchronize_*` cases, for real."
    }
    fn check(&self, ctx: &Context<'_>) -> Result<Check, ModuleError> {
        let mut entries: Vec<Entry> =
            serde_json::from_value(ctx.args.get("_tree").cloned().unwrap_or(Value::Null))
                .map_err(|e| ModuleError::Args(format!("synchronize: bad manifest: {e}")))?;
        let dest = ctx.expand_path(ctx.args.str("dest").unwrap_or_default());
        let opts = Options {
            recursive: ctx.args.bool("recursive"),
            links: ctx.args.bool("links"),
            perms: ctx.args.bool("perms"),
            times: ctx.args.bool("times"),
            owner: ctx.args.bool("owner"),
            group: ctx.args.bool("group"),
            checksum: ctx.args.bool("checksum"),
            delete: ctx.args.bool("delete"),
            existing_only: ctx.args.bool("existing_only"),
        };
        let excludes = ctx.args.list("_excludes");
        // A single file sent to an existing directory goes inside it.
        if let [only] = entries.as_mut_slice() {
            if only.kind == Kind::File && only.path.is_empty() && dest.is_dir() {
                only.path = ctx.args.str("_src_name").unwrap_or_default().to_owned();
            }
        }
        let cmd = ctx.args.str("_cmd").unwrap_or_default().to_owned();
        let content = |e: &Entry| -> Option<Vec<u8>> {
            e.asset.as_deref().and_then(|a| ctx.asset(a).ok().flatten())
        };
        let (ops, lines) = plan(&entries, &dest, &opts, &excludes, &content);
        let predicted = result(&lines, &cmd);
        if ops.is_empty() {
            return Ok(Check::Done(predicted));
        }
        Ok(Check::Change {
            predicted,
            action: action(move |ctx: &Context<'_>| {
                let content = |e: &Entry| -> Option<Vec<u8>> {
                    e.asset.as_deref().and_then(|a| ctx.asset(a).ok().flatten())
                };
                apply(&entries, &dest, &opts, &ops, &content)?;
                Ok(result(&lines, &cmd))
            }),
        })
    }
}
