//! `unarchive`: unpacks a tar (plain, gzip, bzip2, xz, zstd) or zip
//! archive into a directory, natively (no `tar`/`unzip` commands), with
//! Ansible's results and an idempotence check by comparing every member
//! with what is on disk.

use std::fs;
use std::io::{Cursor, Read};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::common::{self as c, FileArgs};
use super::file::file_common_args;
use super::find::fnmatch;
use crate::args::{ArgDef, ArgDefault, ArgSpec, ArgType};
use crate::modules::{action, Capabilities, Check, CheckSupport, Context, Module, ModuleError};
use crate::result::ModuleResult;

pub struct Unarchive;

const COMMON: [ArgDef; 8] = file_common_args!();

static ARGS: [ArgDef; 23] = [
    ArgDef::new("src", ArgType::Path).required().doc(
        "The archive: on the controller (shipped with the task), or on the host with `remote_src`.",
    ),
    ArgDef::new("dest", ArgType::Path)
        .required()
        .doc("Existing directory to unpack into."),
    ArgDef::new("remote_src", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("`src` is already on the host."),
    ArgDef::new("copy", ArgType::Bool)
        .default(ArgDefault::Bool(true))
        .doc("Deprecated opposite of `remote_src`."),
    ArgDef::new("creates", ArgType::Path).doc("Do nothing when this path exists."),
    ArgDef::new("list_files", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Return the archive's member names as `files`."),
    ArgDef::new("exclude", ArgType::List).doc("Member names or globs not to extract."),
    ArgDef::new("include", ArgType::List)
        .doc("Only extract members matching these names or globs."),
    ArgDef::new("keep_newer", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Do not replace files that are newer than the archive's."),
    ArgDef::new("extra_opts", ArgType::List)
        .doc("Options for tar/unzip; not supported (must be empty)."),
    ArgDef::new("io_buffer_size", ArgType::Int)
        .default(ArgDefault::Int(65536))
        .doc("Accepted and ignored."),
    ArgDef::new("decrypt", ArgType::Bool)
        .default(ArgDefault::Bool(true))
        .doc("Accepted; vaulted archives are not decrypted."),
    ArgDef::new("validate_certs", ArgType::Bool)
        .default(ArgDefault::Bool(true))
        .doc("Accepted; URLs as `src` are not supported."),
    ArgDef::new("attributes", ArgType::Str)
        .aliases(&["attr"])
        .doc("File attributes (ignored)."),
    COMMON[0],
    COMMON[1],
    COMMON[2],
    COMMON[3],
    COMMON[4],
    COMMON[5],
    COMMON[6],
    COMMON[7],
    ArgDef::new("_original_basename", ArgType::Str).internal(),
];

static SPEC: ArgSpec = ArgSpec::new(&ARGS).mutually_exclusive(&[&["include", "exclude"]]);

const NOTES: &str = r#"Formats: tar (plain, gzip, bzip2, xz, zstd) and zip, recognised by
their content (`handler`: `TarArchive`, `TgzArchive`, `TarBzipArchive`,
`TarXzArchive`, `TarZstdArchive`, `ZipArchive`). Extraction is native:
no `tar` or `unzip` on the host is needed.

Results: `dest`, `src`, `handler`, `files` (member names, with
`list_files`), `changed`, and the path information of `dest`. With a
controller `src` (`remote_src: false`) the controller ships the archive
with the task. `creates` skips the task (`skipped, since X exists`).

Idempotence: the task is unchanged when every member (after
`include`/`exclude`) is on disk already — directories as directories,
regular files with the same size, content and permission bits, symlinks
with the same target — and the requested `mode`/`owner`/`group` hold.
Members are written with the archive's permissions and mtimes (and, as
root, owners for tar); `mode`/`owner`/`group` then apply to every
extracted path, as in Ansible.

Failures: `Source 'X' does not exist`, `dest 'X' must be an existing
dir` (as the action plugin, with its `exception`), `Failed to find handler for "X". Make sure the required
command to extract the file is installed.`, `extra_opts is not
supported`.

Check mode: for zip archives, reports whether extraction would change
anything; tar archives are skipped with `remote module
(ansible.legacy.unarchive) does not support check mode when using gtar`,
as Ansible does. Diff: no.

Differences from Ansible: no `extract_results` (no command is run);
`extra_opts` is refused; URLs as `src` are not supported; the archive is
decompressed in memory; member names with `..` are refused. Tested for
real with archives built in the conformance cases and in the
`mod_unarchive_*` differential case."#;

impl Module for Unarchive {
    fn name(&self) -> &'static str {
        "unarchive"
    }
    fn description(&self) -> &'static str {
        "Unpacks an archive after (optionally) copying it from the local machine"
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
        check(ctx)
    }
}

/// One archive member, independent of the format.
#[derive(Debug, Clone)]
pub struct Member {
    pub name: String,
    pub kind: Kind,
    pub mode: u32,
    pub mtime: i64,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink(String),
    Hardlink(String),
}

/// Which handler reads an archive, by its first bytes.
fn handler_for(data: &[u8]) -> Option<&'static str> {
    if data.starts_with(b"PK\x03\x04") || data.starts_with(b"PK\x05\x06") {
        Some("ZipArchive")
    } else if data.starts_with(&[0x1f, 0x8b]) {
        Some("TgzArchive")
    } else if data.starts_with(b"BZh") {
        Some("TarBzipArchive")
    } else if data.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Some("TarXzArchive")
    } else if data.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some("TarZstdArchive")
    } else if data.len() >= 262 && &data[257..262] == b"ustar" {
        Some("TarArchive")
    } else {
        None
    }
}

fn decompress(handler: &str, data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    match handler {
        "TgzArchive" => {
            flate2::read::MultiGzDecoder::new(data).read_to_end(&mut out)?;
        }
        "TarBzipArchive" => {
            bzip2::read::MultiBzDecoder::new(data).read_to_end(&mut out)?;
        }
        "TarXzArchive" => {
            lzma_rs::xz_decompress(&mut Cursor::new(data), &mut out)
                .map_err(|e| std::io::Error::other(format!("{e:?}")))?;
        }
        "TarZstdArchive" => {
            zstd::stream::read::Decoder::new(data)?.read_to_end(&mut out)?;
        }
        _ => out = data.to_vec(),
    }
    Ok(out)
}

fn read_tar(data: &[u8]) -> std::io::Result<Vec<Member>> {
    let mut out = Vec::new();
    let mut ar = tar::Archive::new(Cursor::new(data));
    for e in ar.entries()? {
        let mut e = e?;
        let h = e.header().clone();
        let name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
        let link = || {
            e.link_name_bytes()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default()
        };
        let kind = match h.entry_type() {
            tar::EntryType::Directory => Kind::Dir,
            tar::EntryType::Symlink => Kind::Symlink(link()),
            tar::EntryType::Link => Kind::Hardlink(link()),
            tar::EntryType::Regular | tar::EntryType::Continuous => Kind::File,
            // pax/GNU extension headers are consumed by the reader;
            // devices and fifos are not unpacked.
            _ => continue,
        };
        let mut body = Vec::new();
        if kind == Kind::File {
            e.read_to_end(&mut body)?;
        }
        out.push(Member {
            name,
            kind,
            mode: h.mode().unwrap_or(0o644) & 0o7777,
            mtime: h.mtime().unwrap_or(0) as i64,
            uid: h.uid().ok().map(|u| u as u32),
            gid: h.gid().ok().map(|g| g as u32),
            data: body,
        });
    }
    Ok(out)
}

fn read_zip(data: &[u8]) -> Result<Vec<Member>, String> {
    let mut z = zip::ZipArchive::new(Cursor::new(data)).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for i in 0..z.len() {
        let mut f = z.by_index(i).map_err(|e| e.to_string())?;
        let name = f.name().to_owned();
        let unix = f.unix_mode();
        let is_link = unix.is_some_and(|m| m & 0o170000 == 0o120000);
        let mut body = Vec::new();
        f.read_to_end(&mut body).map_err(|e| e.to_string())?;
        let kind = if f.is_dir() {
            Kind::Dir
        } else if is_link {
            Kind::Symlink(String::from_utf8_lossy(&body).into_owned())
        } else {
            Kind::File
        };
        let default_mode = if kind == Kind::Dir { 0o755 } else { 0o644 };
        let mtime = f
            .last_modified()
            .and_then(|t| {
                chrono::NaiveDate::from_ymd_opt(t.year().into(), t.month().into(), t.day().into())
                    .and_then(|d| {
                        d.and_hms_opt(t.hour().into(), t.minute().into(), t.second().into())
                    })
            })
            .and_then(|n| {
                use chrono::TimeZone;
                chrono::Local.from_local_datetime(&n).earliest()
            })
            .map_or(0, |d| d.timestamp());
        out.push(Member {
            name,
            kind,
            mode: unix.map_or(default_mode, |m| m & 0o7777),
            mtime,
            uid: None,
            gid: None,
            data: if is_link { Vec::new() } else { body },
        });
    }
    Ok(out)
}

/// Whether a member is selected by `include`/`exclude`.
fn selected(name: &str, include: &[String], exclude: &[String]) -> bool {
    let trimmed = name.trim_end_matches('/');
    let hit = |pats: &[String]| {
        pats.iter()
            .any(|p| fnmatch(name, p) || fnmatch(trimmed, p.trim_end_matches('/')))
    };
    if !include.is_empty() && !hit(include) {
        return false;
    }
    !hit(exclude)
}

/// The member's path under dest, refusing names that escape it.
fn member_path(dest: &Path, name: &str) -> Result<PathBuf, ModuleError> {
    let rel = name.trim_start_matches("./").trim_start_matches('/');
    if rel.split('/').any(|seg| seg == "..") {
        return Err(ModuleError::failed(format!(
            "Unable to extract member '{name}': path escapes the destination"
        )));
    }
    Ok(dest.join(rel.trim_end_matches('/')))
}

/// Whether a member is already on disk as the archive has it.
/// With `mode` requested, permissions are compared with it (through the
/// attribute check) rather than with the archive's.
fn member_current(
    dest: &Path,
    m: &Member,
    keep_newer: bool,
    ignore_mode: bool,
) -> Result<bool, ModuleError> {
    let p = member_path(dest, &m.name)?;
    if m.name
        .trim_start_matches("./")
        .trim_end_matches('/')
        .is_empty()
    {
        return Ok(true);
    }
    let Ok(md) = fs::symlink_metadata(&p) else {
        return Ok(false);
    };
    Ok(match &m.kind {
        Kind::Dir => md.is_dir(),
        Kind::Symlink(t) => {
            md.file_type().is_symlink()
                && fs::read_link(&p).is_ok_and(|x| x.to_string_lossy() == t.as_str())
        }
        Kind::Hardlink(_) | Kind::File => {
            if !md.is_file() {
                false
            } else if (keep_newer && md.mtime() > m.mtime) || matches!(m.kind, Kind::Hardlink(_)) {
                true
            } else {
                md.len() == m.data.len() as u64
                    && (ignore_mode || md.mode() & 0o7777 == m.mode)
                    && fs::read(&p).is_ok_and(|d| d == m.data)
            }
        }
    })
}

fn set_mtime(p: &Path, secs: i64) {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs.max(0) as u64);
    if let Ok(f) = fs::File::options().write(true).open(p) {
        let _ = f.set_times(fs::FileTimes::new().set_modified(t).set_accessed(t));
    }
}

fn extract(
    dest: &Path,
    members: &[Member],
    keep_newer: bool,
    tar_owners: bool,
) -> Result<(), ModuleError> {
    let io = |p: &Path, e: std::io::Error| {
        ModuleError::failed(format!(
            "failed to unpack {} to {}: {}",
            c::ps(p),
            c::ps(dest),
            c::py_oserror(&e, Some(p), None)
        ))
    };
    let mut dir_modes: Vec<(PathBuf, u32, i64)> = Vec::new();
    for m in members {
        let p = member_path(dest, &m.name)?;
        if p == dest {
            continue;
        }
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        }
        match &m.kind {
            Kind::Dir => {
                if !p.is_dir() {
                    if c::lexists(&p) {
                        fs::remove_file(&p).map_err(|e| io(&p, e))?;
                    }
                    fs::create_dir(&p).map_err(|e| io(&p, e))?;
                }
                dir_modes.push((p.clone(), m.mode, m.mtime));
            }
            Kind::Symlink(t) => {
                if c::lexists(&p) {
                    if fs::read_link(&p).is_ok_and(|x| x.to_string_lossy() == t.as_str()) {
                        continue;
                    }
                    let _ = fs::remove_file(&p);
                }
                std::os::unix::fs::symlink(t, &p).map_err(|e| io(&p, e))?;
            }
            Kind::Hardlink(t) => {
                let target = member_path(dest, t)?;
                if c::lexists(&p) {
                    let _ = fs::remove_file(&p);
                }
                fs::hard_link(&target, &p).map_err(|e| io(&p, e))?;
            }
            Kind::File => {
                if keep_newer && fs::metadata(&p).is_ok_and(|md| md.mtime() > m.mtime) {
                    continue;
                }
                if fs::read(&p).is_ok_and(|d| d == m.data) {
                    fs::set_permissions(&p, fs::Permissions::from_mode(m.mode))
                        .map_err(|e| io(&p, e))?;
                } else {
                    if c::is_link(&p) {
                        let _ = fs::remove_file(&p);
                    }
                    crate::fsutil::atomic_write(&p, &m.data, Some(m.mode))?;
                    fs::set_permissions(&p, fs::Permissions::from_mode(m.mode))
                        .map_err(|e| io(&p, e))?;
                }
                if tar_owners {
                    let _ = rustix::fs::chown(
                        &p,
                        m.uid.map(rustix::fs::Uid::from_raw),
                        m.gid.map(rustix::fs::Gid::from_raw),
                    );
                }
                set_mtime(&p, m.mtime);
            }
        }
    }
    // Directory modes and times last, as tar does (children change them).
    for (p, mode, mtime) in dir_modes.into_iter().rev() {
        fs::set_permissions(&p, fs::Permissions::from_mode(mode)).map_err(|e| io(&p, e))?;
        set_mtime(&p, mtime);
    }
    Ok(())
}

struct Plan {
    src_display: String,
    dest: PathBuf,
    dest_raw: String,
    handler: &'static str,
    members: Vec<Member>,
    list_files: bool,
    keep_newer: bool,
    fa: FileArgs,
}

fn result_for(p: &Plan, changed: bool) -> ModuleResult {
    let mut extra = Map::new();
    extra.insert("dest".into(), p.dest_raw.clone().into());
    extra.insert("src".into(), p.src_display.clone().into());
    extra.insert("handler".into(), p.handler.into());
    if p.list_files {
        extra.insert(
            "files".into(),
            Value::Array(
                p.members
                    .iter()
                    .map(|m| Value::from(m.name.clone()))
                    .collect(),
            ),
        );
    }
    c::add_path_info(&mut extra);
    ModuleResult {
        changed,
        extra,
        ..Default::default()
    }
}

fn attrs_change(p: &Plan, dry: bool) -> Result<bool, ModuleError> {
    if p.fa.mode.is_none() && p.fa.owner.is_none() && p.fa.group.is_none() {
        return Ok(false);
    }
    let mut changed = false;
    for m in &p.members {
        let path = member_path(&p.dest, &m.name)?;
        if matches!(m.kind, Kind::Symlink(_)) {
            continue;
        }
        changed = c::set_fs_attributes_if_different(&p.fa.with_path(&path), changed, None, dry)?;
    }
    Ok(changed)
}

fn check(ctx: &Context<'_>) -> Result<Check, ModuleError> {
    let a = &ctx.args;
    let src_raw = a.str("src").unwrap_or_default().to_owned();
    let dest_raw = a.str("dest").unwrap_or_default().to_owned();
    let dest = ctx.expand_path(&dest_raw);
    if let Some(cr) = a.str("creates") {
        if c::exists(&ctx.expand_path(cr)) {
            return Ok(Check::Done(ModuleResult {
                skipped: true,
                msg: Some(format!("skipped, since {cr} exists")),
                ..Default::default()
            }));
        }
    }
    if !a.list("extra_opts").is_empty() {
        return Err(ModuleError::failed(
            "extra_opts is not supported by this runner's unarchive",
        ));
    }
    if !dest.is_dir() {
        // The action plugin's check, before the module runs.
        return Err(ModuleError::Failed {
            msg: format!("dest '{}' must be an existing dir", c::ps(&dest)),
            extra: c::kv([("exception", "NoneType: None\n".into())]),
        });
    }
    let (data, src_display) = match ctx.asset("src")? {
        Some(d) => (d, src_raw.clone()),
        None => {
            let p = ctx.expand_path(&src_raw);
            match fs::read(&p) {
                Ok(d) => (d, c::ps(&p)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(ModuleError::failed(format!(
                        "Source '{src_raw}' does not exist"
                    )))
                }
                Err(e) => {
                    return Err(ModuleError::failed(format!(
                        "Source '{src_raw}' not readable, {}",
                        c::py_oserror(&e, None, None)
                    )))
                }
            }
        }
    };
    let no_handler = || {
        ModuleError::failed(format!(
            "Failed to find handler for \"{src_display}\". Make sure the required command to extract the file is installed.\nCommand \"unzip\" could not handle archive: the file is not a zip archive\nCommand \"tar\" could not handle archive: the file is not a tar archive"
        ))
    };
    let handler = handler_for(&data).ok_or_else(no_handler)?;
    if ctx.check_mode && handler != "ZipArchive" {
        // Ansible's tar handlers refuse check mode.
        return Ok(Check::Done(ModuleResult {
            skipped: true,
            msg: Some(
                "remote module (ansible.legacy.unarchive) does not support check mode when using gtar"
                    .into(),
            ),
            ..Default::default()
        }));
    }
    let members = if handler == "ZipArchive" {
        read_zip(&data).map_err(|_| no_handler())?
    } else {
        let tar = decompress(handler, &data).map_err(|_| no_handler())?;
        if tar.len() < 262 || &tar[257..262] != b"ustar" {
            return Err(no_handler());
        }
        read_tar(&tar).map_err(|_| no_handler())?
    };
    let include = a.list("include");
    let exclude = a.list("exclude");
    let members: Vec<Member> = members
        .into_iter()
        .filter(|m| selected(&m.name, &include, &exclude))
        .collect();
    let keep_newer = a.bool("keep_newer");
    let plan = Plan {
        src_display,
        dest: dest.clone(),
        dest_raw,
        handler,
        members,
        list_files: a.bool("list_files"),
        keep_newer,
        fa: FileArgs::load(
            &dest,
            false,
            a.get("mode").cloned(),
            a.str("owner").map(str::to_owned),
            a.str("group").map(str::to_owned),
        ),
    };
    let mut current = true;
    for m in &plan.members {
        if !member_current(&dest, m, keep_newer, plan.fa.mode.is_some())? {
            current = false;
            break;
        }
    }
    if current && !attrs_change(&plan, true)? {
        return Ok(Check::Done(result_for(&plan, false)));
    }
    let predicted = result_for(&plan, true);
    let tar_owners = plan.handler != "ZipArchive" && rustix::process::geteuid().is_root();
    Ok(Check::Change {
        predicted,
        action: action(move |_ctx| {
            if !current {
                extract(&plan.dest, &plan.members, plan.keep_newer, tar_owners)?;
            }
            attrs_change(&plan, false)?;
            Ok(result_for(&plan, true))
        }),
    })
}
