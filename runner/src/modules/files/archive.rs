//! `archive` (`community.general.archive`): packs files and trees into a
//! tar (optionally gz/bz2/xz compressed) or zip archive, or compresses a
//! single file, deciding `changed` as the collection's module does: by
//! comparing the members' checksums of the old and the new archive.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::common::{self as c, FileArgs};
use super::file::file_common_args;
use crate::args::{ArgDef, ArgDefault, ArgSpec, ArgType, Args};
use crate::fsutil::StagedFile;
use crate::modules::commands::expand_vars_with;
use crate::modules::{action, Capabilities, Check, CheckSupport, Context, Module, ModuleError};
use crate::result::ModuleResult;

pub struct Archive;

const COMMON: [ArgDef; 8] = file_common_args!();

static ARGS: [ArgDef; 15] = [
    ArgDef::new("path", ArgType::List)
        .required()
        .doc("Files, directories or globs (`*`, `?`) to archive."),
    ArgDef::new("format", ArgType::Str)
        .default(ArgDefault::Str("gz"))
        .choices(&["bz2", "gz", "tar", "xz", "zip"])
        .doc("Archive type; gz/bz2/xz make a compressed tar, or compress a single file."),
    ArgDef::new("dest", ArgType::Path)
        .doc("The archive; required with several paths, a glob or a directory."),
    ArgDef::new("exclude_path", ArgType::List)
        .doc("Paths or globs to leave out of `path`'s expansion."),
    ArgDef::new("exclusion_patterns", ArgType::List)
        .doc("fnmatch patterns of entries to leave out (tar: archive names; zip: paths)."),
    ArgDef::new("force_archive", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Make an archive even of a single file."),
    ArgDef::new("remove", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Remove the sources once archived."),
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

const NOTES: &str = r#"
`path` entries with `*` or `?` are globs (hidden files only match a
leading `.`); `exclude_path` entries are removed from the expansion. One
existing file without `force_archive`, globs or `dest` is compressed on
its own (gz, bz2, xz: `dest` defaults to `PATH.FORMAT`, `dest_state:
compress`; tar and zip hold the one file). Otherwise every path is
archived under its name relative to the paths' common directory
(`arcroot`); a directory contributes what is inside it (not itself, as
the module's `os.walk`). tar entries keep symlinks as links; zip follows
them. `exclusion_patterns` are matched against the archive name for tar
formats and against the full path for zip, as the module does.

Idempotence: the new archive is built in memory (so the archive's size
is bounded by memory) and compared with the existing one by member names and checksums (tar
header checksums, zip CRCs; for a compressed single file, the CRC-32 of
its content); when they are equal, `dest` is left untouched and
`changed` is false; otherwise it replaces `dest` atomically. Ansible
rewrites `dest` even when unchanged (same report, new file); Rustle does
not.

Results: `archived` (sources that went in; for zip, files only, as the
module's `getinfo` check), `missing`, `expanded_paths`,
`expanded_exclude_paths`, `arcroot`, `dest`, `dest_state` (`archive`,
`compress`, `incomplete` when sources were missing, `absent`), `changed`,
and the path information of `dest` (`state: file`, mode, owner, ...).
Failures: `Error, no source paths were found`, `Error, must specify
"dest" when archiving multiple files or trees`, `Error, created archive
can not be contained in source paths when remove=true`, `Errors when
writing archive at DEST: ...`, `Error deleting some source files: `.
`remove` deletes the sources after archiving. mode/owner/group apply to
`dest`.

Check mode: as the module, a multi-path archive is predicted changed
whenever a source exists, a single compressed file only when `dest` is
missing (plus attribute changes). Diff: no (the module returns none).

Differences: directory entries are visited in name order (the module
uses `os.listdir` order) and glob expansions are sorted; hard links are
stored as separate files; archives Rustle writes are byte-different from
Python's (ustar headers rather than pax, other compressor settings), so
an archive made by Ansible is rewritten once. Tested for real
(conformance cases and differential cases against Ansible).
"#;

impl Module for Archive {
    fn name(&self) -> &'static str {
        "archive"
    }
    fn description(&self) -> &'static str {
        "Creates a compressed archive of one or more files or trees"
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
            diff: false,
        }
    }
    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }
    fn check(&self, ctx: &Context<'_>) -> Result<Check, ModuleError> {
        let job = Job::new(ctx)?;
        job.check()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Gz,
    Bz2,
    Xz,
    Tar,
    Zip,
}

impl Format {
    fn parse(s: &str) -> Format {
        match s {
            "bz2" => Format::Bz2,
            "xz" => Format::Xz,
            "tar" => Format::Tar,
            "zip" => Format::Zip,
            _ => Format::Gz,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Format::Gz => "gz",
            Format::Bz2 => "bz2",
            Format::Xz => "xz",
            Format::Tar => "tar",
            Format::Zip => "zip",
        }
    }
}

/// Ansible's `type='path'` conversion: `expandvars`, then `expanduser`.
fn path_arg(s: &str, env: &BTreeMap<String, String>) -> String {
    crate::fsutil::expand_user(&expand_vars_with(s, env))
        .to_string_lossy()
        .into_owned()
}

/// `expand_paths`: globs where `*` or `?` appear.
fn expand_paths(paths: &[String]) -> (Vec<String>, bool) {
    let mut out = Vec::new();
    let mut globby = false;
    let opts = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: true,
    };
    for p in paths {
        if p.contains('*') || p.contains('?') {
            globby = true;
            if let Ok(g) = glob::glob_with(p, opts) {
                out.extend(
                    g.filter_map(Result::ok)
                        .map(|x| x.to_string_lossy().into_owned()),
                );
            }
        } else {
            out.push(p.clone());
        }
    }
    (out, globby)
}

/// `common_path`: the common directory of the paths, with a trailing
/// slash (`os.path.commonprefix` works on characters).
fn common_path(paths: &[String]) -> String {
    let dirs: Vec<String> = paths.iter().map(|p| c::join(&c::dirname(p), "")).collect();
    let mut prefix: &str = dirs.first().map(String::as_str).unwrap_or("");
    for d in &dirs[1..] {
        let n = prefix
            .char_indices()
            .zip(d.chars())
            .take_while(|((_, a), b)| a == b)
            .last()
            .map_or(0, |((i, a), _)| i + a.len_utf8());
        prefix = &prefix[..n];
    }
    c::join(&c::dirname(prefix), "")
}

/// Python's `fnmatch.fnmatch` (on POSIX: case-sensitive, `*` crosses `/`).
fn fnmatch(name: &str, pat: &str) -> bool {
    let opts = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: false,
        require_literal_leading_dot: false,
    };
    match glob::Pattern::new(pat) {
        Ok(p) => p.matches_with(name, opts),
        Err(_) => name == pat,
    }
}

fn is_archive_name(p: &str) -> bool {
    let b = c::basename(p).to_ascii_lowercase();
    [
        ".tar", ".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".tbz2", ".zip",
    ]
    .iter()
    .any(|s| b.ends_with(s))
}

struct Job {
    format: Format,
    dest: Option<String>,
    exclusion_patterns: Vec<String>,
    must_archive: bool,
    remove: bool,
    expanded_paths: Vec<String>,
    expanded_exclude_paths: Vec<String>,
    paths: Vec<String>,
    root: String,
    targets: Vec<String>,
    not_found: Vec<String>,
    fa_mode: Option<Value>,
    fa_owner: Option<String>,
    fa_group: Option<String>,
}

impl Job {
    fn new(ctx: &Context<'_>) -> Result<Job, ModuleError> {
        let a: &Args = &ctx.args;
        let env = ctx.environment;
        let conv =
            |name: &str| -> Vec<String> { a.list(name).iter().map(|p| path_arg(p, env)).collect() };
        let path_args = conv("path");
        let format = Format::parse(a.str("format").unwrap_or("gz"));
        let mut dest = a.str("dest").map(|d| path_arg(d, env));
        let (expanded_paths, globby) = expand_paths(&path_args);
        let (expanded_exclude_paths, _) = expand_paths(&conv("exclude_path"));
        let excl: BTreeSet<&String> = expanded_exclude_paths.iter().collect();
        let paths: Vec<String> = expanded_paths
            .iter()
            .filter(|p| !excl.contains(p))
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if paths.is_empty() {
            return Err(c::fail_json(
                "Error, no source paths were found",
                c::kv([
                    ("path", path_args.join(", ").into()),
                    ("expanded_paths", expanded_paths.join(", ").into()),
                    (
                        "expanded_exclude_paths",
                        expanded_exclude_paths.join(", ").into(),
                    ),
                ]),
            ));
        }
        let root = common_path(&paths);
        let must_archive =
            a.bool("force_archive") || globby || Path::new(&paths[0]).is_dir() || paths.len() > 1;
        if dest.is_none() && !must_archive {
            dest = Some(format!("{}.{}", paths[0], format.name()));
        }
        let Some(dest_s) = dest.clone() else {
            return Err(c::fail_json(
                "Error, must specify \"dest\" when archiving multiple files or trees",
                // `_to_native(None)`: the text "None".
                c::kv([
                    ("dest", "None".into()),
                    ("path", path_args.join(", ").into()),
                ]),
            ));
        };
        let remove = a.bool("remove");
        if remove {
            for p in &paths {
                if Path::new(p).is_dir() && dest_s.starts_with(&c::join(p, "")) {
                    return Err(c::fail_json(
                        "Error, created archive can not be contained in source paths when remove=true",
                        c::kv([("path", paths.join(", ").into())]),
                    ));
                }
            }
        }
        let (targets, not_found): (Vec<String>, Vec<String>) = paths
            .iter()
            .cloned()
            .partition(|p| c::lexists(Path::new(p)));
        Ok(Job {
            format,
            dest,
            exclusion_patterns: conv("exclusion_patterns"),
            must_archive,
            remove,
            expanded_paths,
            expanded_exclude_paths,
            paths,
            root,
            targets,
            not_found,
            fa_mode: a.get("mode").cloned(),
            fa_owner: a.str("owner").map(str::to_owned),
            fa_group: a.str("group").map(str::to_owned),
        })
    }

    fn dest(&self) -> &str {
        self.dest.as_deref().unwrap_or_default()
    }

    fn file_args(&self) -> FileArgs {
        FileArgs {
            path: PathBuf::from(self.dest()),
            mode: self.fa_mode.clone(),
            owner: self.fa_owner.clone(),
            group: self.fa_group.clone(),
        }
    }

    fn result(&self, changed: bool, state: &str, archived: &[String]) -> ModuleResult {
        let mut m = c::kv([
            ("archived", Value::from(archived.to_vec())),
            ("dest", self.dest().into()),
            ("dest_state", state.into()),
            ("arcroot", self.root.clone().into()),
            ("missing", Value::from(self.not_found.clone())),
            ("expanded_paths", Value::from(self.expanded_paths.clone())),
            (
                "expanded_exclude_paths",
                Value::from(self.expanded_exclude_paths.clone()),
            ),
        ]);
        c::add_path_info(&mut m);
        let mut r = ModuleResult::ok();
        r.changed = changed;
        r.extra = m;
        r
    }

    /// Attribute changes `dest` would get (`update_permissions`).
    fn perms(&self, changed: bool, dry: bool) -> Result<bool, ModuleError> {
        if !c::exists(Path::new(self.dest())) {
            return Ok(changed);
        }
        c::set_fs_attributes_if_different(&self.file_args(), changed, None, dry)
    }

    fn check(self) -> Result<Check, ModuleError> {
        let dest_exists = c::exists(Path::new(self.dest()));
        if self.targets.is_empty() {
            let state = if !dest_exists {
                "absent"
            } else if is_archive_name(self.dest()) {
                "archive"
            } else {
                "compress"
            };
            let changed = self.perms(false, true)?;
            if !changed {
                return Ok(Check::Done(self.result(false, state, &[])));
            }
            let predicted = self.result(true, state, &[]);
            let state = state.to_owned();
            return Ok(Check::Change {
                predicted,
                action: action(move |_ctx: &Context<'_>| {
                    let changed = self.perms(false, false)?;
                    Ok(self.result(changed, &state, &[]))
                }),
            });
        }
        let predicted_changed = self.must_archive || !dest_exists;
        let predicted_changed = self.perms(predicted_changed, true)?;
        let predicted = self.result(predicted_changed, "absent", &[]);
        Ok(Check::Change {
            predicted,
            action: action(move |_ctx: &Context<'_>| self.apply()),
        })
    }

    fn apply(self) -> Result<ModuleResult, ModuleError> {
        let dest = PathBuf::from(self.dest());
        let existing = fs::metadata(&dest).ok();
        let perm = existing
            .as_ref()
            .map_or(0o666 & !crate::fsutil::current_umask(), |m| {
                m.mode() & 0o7777
            });
        let mut archived = Vec::new();
        let mut errors = Vec::new();
        let single = !self.must_archive;
        let compress_only = single && !matches!(self.format, Format::Tar | Format::Zip);
        // Built in memory, so that an unchanged archive leaves `dest` and
        // its directory untouched.
        let mut buf = io::Cursor::new(Vec::new());
        let built = (|| -> io::Result<()> {
            let f = &mut buf;
            if compress_only {
                let src = &self.paths[0];
                let mut input = fs::File::open(src)?;
                compress_stream(self.format, &mut input, f)?;
                archived.push(src.clone());
                Ok(())
            } else {
                let list = if single {
                    vec![self.paths[0].clone()]
                } else {
                    self.targets.clone()
                };
                let mut w = Writer::new(self.format, f)?;
                for t in &list {
                    let tp = Path::new(t);
                    if single || !tp.is_dir() {
                        self.add(&mut w, t, &mut archived, &mut errors);
                        continue;
                    }
                    for p in walk(tp) {
                        self.add(&mut w, &p, &mut archived, &mut errors);
                    }
                }
                w.finish()
            }
        })();
        match built {
            Ok(()) => {}
            Err(e) if compress_only => {
                return Err(c::fail_json(
                    format!(
                        "Unable to write to compressed file: {}",
                        c::py_oserror(&e, Some(Path::new(&self.paths[0])), None)
                    ),
                    c::kv([
                        ("path", self.paths[0].clone().into()),
                        ("dest", self.dest().into()),
                    ]),
                ))
            }
            Err(e) => {
                let fmt = match self.format {
                    Format::Tar | Format::Zip => self.format.name().to_owned(),
                    f => format!("tar.{}", f.name()),
                };
                return Err(ModuleError::failed(format!(
                    "Error when writing {fmt} archive at {}: {}",
                    self.dest(),
                    c::strerror(&e)
                )));
            }
        };
        if !errors.is_empty() {
            return Err(ModuleError::failed(format!(
                "Errors when writing archive at {}: {}",
                self.dest(),
                errors.join("; ")
            )));
        }
        let data = buf.into_inner();
        let changed = match fs::read(&dest) {
            Err(_) => true,
            Ok(old) => signature(&old, self.format) != signature(&data, self.format),
        };
        if changed {
            let write = || -> io::Result<()> {
                let staged = StagedFile::create(&dest, &data, perm)?;
                if let Some(md) = &existing {
                    staged.chown(Some(md.uid()), Some(md.gid()));
                }
                staged.commit()
            };
            write().map_err(|e| ModuleError::io("failed to write", self.dest(), e))?;
        }
        let state = if compress_only {
            "compress"
        } else if !single && !self.not_found.is_empty() {
            "incomplete"
        } else {
            "archive"
        };
        if self.remove {
            self.remove_sources(&archived, single)?;
        }
        let changed = self.perms(changed, false)?;
        Ok(self.result(changed, state, &archived))
    }

    /// `Archive.add`: one entry, unless an exclusion pattern matches;
    /// failures are collected as the module does.
    fn add(
        &self,
        w: &mut Writer<'_>,
        path: &str,
        archived: &mut Vec<String>,
        errors: &mut Vec<String>,
    ) {
        let name = path.strip_prefix(self.root.as_str()).unwrap_or(path);
        let name = name.trim_start_matches('/');
        // tar matches the archive name, zip the path (the module's filters).
        let probe = if self.format == Format::Zip {
            path
        } else {
            name
        };
        if self.exclusion_patterns.iter().any(|p| fnmatch(probe, p)) {
            return;
        }
        match w.add(Path::new(path), name) {
            Ok(listed) => {
                if listed {
                    archived.push(path.to_owned());
                }
            }
            Err(e) => errors.push(format!("{path}: {}", c::py_oserror(&e, None, None))),
        }
    }

    fn remove_sources(&self, archived: &[String], single: bool) -> Result<(), ModuleError> {
        if single {
            let p = &self.paths[0];
            return fs::remove_file(p).map_err(|e| {
                c::fail_json(
                    format!(
                        "Unable to remove source file: {}",
                        c::py_oserror(&e, Some(Path::new(p)), None)
                    ),
                    c::kv([("path", p.clone().into())]),
                )
            });
        }
        let mut errors: Vec<String> = Vec::new();
        let rm = |p: &str, errors: &mut Vec<String>| {
            let path = Path::new(p);
            let r = if path.is_dir() {
                fs::remove_dir_all(path)
            } else {
                fs::remove_file(path)
            };
            if r.is_err() {
                errors.push(p.to_owned());
            }
        };
        for p in archived {
            if c::exists(Path::new(p)) {
                rm(p, &mut errors);
            }
        }
        for p in &self.paths {
            if Path::new(p).is_dir() {
                rm(p, &mut errors);
            }
        }
        if !errors.is_empty() {
            return Err(ModuleError::Failed {
                msg: "Error deleting some source files: ".into(),
                extra: c::kv([("dest", self.dest().into()), ("files", Value::from(errors))]),
            });
        }
        Ok(())
    }
}

/// `os.walk(top)` (top-down, no symlinked directories entered): per
/// directory, its subdirectories, then its other entries, then each
/// subdirectory's walk. Names are sorted.
fn walk(top: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(rd) = fs::read_dir(top) else {
        return out;
    };
    let mut names: Vec<(String, bool)> = rd
        .filter_map(Result::ok)
        .map(|e| {
            let p = e.path();
            (p.to_string_lossy().into_owned(), p.is_dir())
        })
        .collect();
    names.sort();
    let dirs: Vec<&String> = names.iter().filter(|(_, d)| *d).map(|(n, _)| n).collect();
    out.extend(dirs.iter().map(|d| (*d).clone()));
    out.extend(names.iter().filter(|(_, d)| !*d).map(|(n, _)| n.clone()));
    for d in dirs {
        if !c::is_link(Path::new(d)) {
            out.extend(walk(Path::new(d)));
        }
    }
    out
}

type Out = io::Cursor<Vec<u8>>;

fn compress_stream(format: Format, input: &mut dyn Read, out: &mut Out) -> io::Result<()> {
    match format {
        Format::Gz => {
            let mut e = flate2::write::GzEncoder::new(out, flate2::Compression::new(9));
            io::copy(input, &mut e)?;
            e.finish()?;
        }
        Format::Bz2 => {
            let mut e = bzip2::write::BzEncoder::new(out, bzip2::Compression::best());
            io::copy(input, &mut e)?;
            e.finish()?;
        }
        Format::Xz => {
            let mut r = io::BufReader::new(input);
            lzma_rs::xz_compress(&mut r, out)?;
        }
        Format::Tar | Format::Zip => {
            io::copy(input, out)?;
        }
    }
    Ok(())
}

/// An archive being written.
enum Writer<'f> {
    /// tar into memory (compressed at the end, as the module's xz path).
    Tar(tar::Builder<Vec<u8>>, Format, &'f mut Out),
    Zip(Box<zip::ZipWriter<&'f mut Out>>),
}

fn zip_err(e: zip::result::ZipError) -> io::Error {
    match e {
        zip::result::ZipError::Io(e) => e,
        other => io::Error::other(other.to_string()),
    }
}

impl<'f> Writer<'f> {
    fn new(format: Format, f: &'f mut Out) -> io::Result<Self> {
        Ok(match format {
            Format::Zip => Writer::Zip(Box::new(zip::ZipWriter::new(f))),
            other => {
                let mut b = tar::Builder::new(Vec::new());
                b.mode(tar::HeaderMode::Complete);
                b.follow_symlinks(false);
                Writer::Tar(b, other, f)
            }
        })
    }

    /// Adds `path` as `name`; whether it is listed among the members
    /// afterwards (zip's `getinfo` misses directories, stored as `name/`).
    fn add(&mut self, path: &Path, name: &str) -> io::Result<bool> {
        match self {
            Writer::Tar(b, _, _) => {
                let md = fs::symlink_metadata(path)?;
                let mut h = tar::Header::new_ustar();
                h.set_metadata_in_mode(&md, tar::HeaderMode::Complete);
                if let Some(u) = crate::fsutil::user_name(md.uid()) {
                    let _ = h.set_username(&u);
                }
                if let Some(g) = crate::fsutil::group_name(md.gid()) {
                    let _ = h.set_groupname(&g);
                }
                let ft = md.file_type();
                if ft.is_symlink() {
                    let target = fs::read_link(path)?;
                    b.append_link(&mut h, name, target)?;
                } else if ft.is_file() {
                    let f = fs::File::open(path)?;
                    b.append_data(&mut h, name, f)?;
                } else {
                    h.set_size(0);
                    // tarfile names directories `name/`; the tar crate's
                    // path setter drops the slash, so short names are
                    // written directly.
                    let dir_name = format!("{name}/");
                    if ft.is_dir() && dir_name.len() < 100 {
                        let field = &mut h.as_old_mut().name;
                        field.fill(0);
                        field[..dir_name.len()].copy_from_slice(dir_name.as_bytes());
                        h.set_cksum();
                        b.append(&h, io::empty())?;
                    } else {
                        b.append_data(&mut h, name, io::empty())?;
                    }
                }
                Ok(true)
            }
            Writer::Zip(z) => {
                let md = fs::metadata(path)?;
                let t = chrono::DateTime::from_timestamp(md.mtime(), 0)
                    .map(|t| t.with_timezone(&chrono::Local).naive_local());
                let dt = t
                    .and_then(|t| {
                        use chrono::{Datelike, Timelike};
                        zip::DateTime::from_date_and_time(
                            u16::try_from(t.year()).ok()?,
                            t.month() as u8,
                            t.day() as u8,
                            t.hour() as u8,
                            t.minute() as u8,
                            t.second() as u8,
                        )
                        .ok()
                    })
                    .unwrap_or_default();
                let opts = zip::write::SimpleFileOptions::default()
                    .compression_method(zip::CompressionMethod::Deflated)
                    .unix_permissions(md.mode() & 0o7777)
                    .last_modified_time(dt);
                if md.is_dir() {
                    z.add_directory(format!("{name}/"), opts).map_err(zip_err)?;
                    Ok(false)
                } else {
                    let mut f = fs::File::open(path)?;
                    z.start_file(name, opts).map_err(zip_err)?;
                    io::copy(&mut f, &mut **z)?;
                    Ok(true)
                }
            }
        }
    }

    fn finish(self) -> io::Result<()> {
        match self {
            Writer::Tar(b, format, f) => {
                let data = b.into_inner()?;
                compress_stream(format, &mut io::Cursor::new(data), f)
            }
            Writer::Zip(z) => z.finish().map(|_| ()).map_err(zip_err),
        }
    }
}

/// What the module compares (`_get_checksums`): member names with tar
/// header checksums or zip CRCs; for a compressed non-tar file, the CRC-32
/// of its content under an empty name; an empty set when `data` cannot be
/// read as the format.
fn signature(data: &[u8], format: Format) -> BTreeSet<(Vec<u8>, u64)> {
    let mut set = BTreeSet::new();
    if format == Format::Zip {
        if let Ok(mut z) = zip::ZipArchive::new(io::Cursor::new(data)) {
            for i in 0..z.len() {
                if let Ok(f) = z.by_index_raw(i) {
                    set.insert((f.name_raw().to_vec(), u64::from(f.crc32())));
                }
            }
        }
        return set;
    }
    let plain = match format {
        Format::Gz => {
            let mut out = Vec::new();
            flate2::read::MultiGzDecoder::new(data)
                .read_to_end(&mut out)
                .ok()
                .map(|_| out)
        }
        Format::Bz2 => {
            let mut out = Vec::new();
            bzip2::read::MultiBzDecoder::new(data)
                .read_to_end(&mut out)
                .ok()
                .map(|_| out)
        }
        Format::Xz => {
            let mut out = Vec::new();
            lzma_rs::xz_decompress(&mut io::Cursor::new(data), &mut out)
                .ok()
                .map(|_| out)
        }
        _ => Some(data.to_vec()),
    };
    let Some(plain) = plain else {
        return set;
    };
    if let Some(members) = tar_members(&plain) {
        return members;
    }
    if format == Format::Tar {
        return set;
    }
    let mut h = crc32();
    h.update(&plain);
    set.insert((Vec::new(), u64::from(h.sum())));
    set
}

fn crc32() -> flate2::Crc {
    flate2::Crc::new()
}

/// Member names and header checksums, or `None` when `data` is not a tar
/// stream (Python's `ReadError`: shorter than a block, or a bad header).
fn tar_members(data: &[u8]) -> Option<BTreeSet<(Vec<u8>, u64)>> {
    if data.len() < 512 || data[..512].iter().all(|&b| b == 0) {
        return None;
    }
    let mut ar = tar::Archive::new(data);
    let mut set = BTreeSet::new();
    for e in ar.entries().ok()? {
        let e = e.ok()?;
        let ck = e.header().cksum().ok()?;
        set.insert((e.path_bytes().into_owned(), u64::from(ck)));
    }
    Some(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_path_is_by_characters() {
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(common_path(&v(&["/tmp/a/x", "/tmp/a/y"])), "/tmp/a/");
        assert_eq!(common_path(&v(&["/tmp/ab/x", "/tmp/ac/y"])), "/tmp/");
        assert_eq!(common_path(&v(&["/tmp/d"])), "/tmp/");
        assert_eq!(
            common_path(&v(&["/tmp/h7/missing", "/tmp/h7/src/a.txt"])),
            "/tmp/h7/"
        );
    }

    #[test]
    fn fnmatch_crosses_slashes() {
        assert!(fnmatch("src/sub/b.txt", "*.txt"));
        assert!(fnmatch("src/a.log", "src/*"));
        assert!(!fnmatch("src/a.log", "*.txt"));
    }
}
