//! `stat`: file facts.

use std::fs;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use serde_json::{Map, Value};
use sha1::Digest;

use crate::args::{ArgDef, ArgDefault, ArgSpec, ArgType};
use crate::fsutil;
use crate::modules::{Capabilities, Check, CheckSupport, Context, Module, ModuleError};
use crate::result::ModuleResult;

pub struct Stat;

static SPEC: ArgSpec = ArgSpec::new(&[
    ArgDef::new("path", ArgType::Path)
        .aliases(&["dest", "name"])
        .required()
        .doc("The full path of the file/object to get the facts of."),
    ArgDef::new("follow", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Whether to follow symlinks."),
    ArgDef::new("get_checksum", ArgType::Bool)
        .default(ArgDefault::Bool(true))
        .doc("Whether to return a checksum of the file."),
    ArgDef::new("checksum_algorithm", ArgType::Str)
        .aliases(&["checksum", "checksum_algo"])
        .default(ArgDefault::Str("sha1"))
        .choices(&["md5", "sha1", "sha224", "sha256", "sha384", "sha512"])
        .doc("Algorithm to determine the checksum of the file."),
    ArgDef::new("get_mime", ArgType::Bool)
        .aliases(&["mime", "mime_type", "mime-type"])
        .default(ArgDefault::Bool(true))
        .doc("Return mimetype and charset (from the `file` program; `unknown` without it)."),
    ArgDef::new("get_attributes", ArgType::Bool)
        .aliases(&["attr", "attributes"])
        .default(ArgDefault::Bool(true))
        .doc("Return file attributes, as lsattr reports them."),
]);

const NOTES: &str = r#"
Returns `stat` with Ansible's keys: `exists`, `path`, `mode`, `isdir`,
`isreg`, `islnk`, `isblk`, `ischr`, `isfifo`, `issock`, `uid`, `gid`,
`pw_name`, `gr_name`, `size`, `inode`, `dev`, `nlink`, `atime`, `mtime`,
`ctime`, `wusr`/`rusr`/`xusr` and the group/other bits, `isuid`, `isgid`,
`readable`, `writeable`, `executable`, `lnk_source`, `lnk_target`,
`blocks`, `block_size`, `device_type`, `version`, `attributes`,
`checksum` (sha1 by default; `checksum_algorithm` md5, sha1, sha224,
sha256, sha384, sha512), `mimetype` and `charset` (`get_mime`, on by
default as in Ansible 2.18, using the host's `file` command as Ansible
does). Reads only; check mode: full. Diff: no.
"#;

impl Module for Stat {
    fn name(&self) -> &'static str {
        "stat"
    }
    fn description(&self) -> &'static str {
        "Retrieve file or file system status"
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
        let a = &ctx.args;
        let raw = a.str("path").unwrap_or_default();
        let path = ctx.expand_path(raw);
        let md = if a.bool("follow") {
            fs::metadata(&path)
        } else {
            fs::symlink_metadata(&path)
        };
        let md = match md {
            Ok(md) => md,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut st = Map::new();
                st.insert("exists".into(), Value::Bool(false));
                return Ok(Check::Done(ModuleResult::ok().with("stat", st)));
            }
            Err(e) => return Err(ModuleError::io("Unable to stat", raw, e)),
        };
        let algo = a.str("checksum_algorithm").unwrap_or("sha1");
        let st = stat_map(&path, &md, a.bool("get_checksum"), algo, a.bool("get_mime"));
        Ok(Check::Done(ModuleResult::ok().with("stat", st)))
    }
}

/// Hex digest of a file's contents with one of Ansible's algorithms.
pub fn file_checksum(path: &Path, algo: &str) -> std::io::Result<String> {
    fn digest<D: Digest>(mut f: fs::File) -> std::io::Result<String> {
        let mut h = D::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
        Ok(hex::encode(h.finalize()))
    }
    let f = fs::File::open(path)?;
    match algo {
        "md5" => digest::<md5::Md5>(f),
        "sha224" => digest::<sha2::Sha224>(f),
        "sha256" => digest::<sha2::Sha256>(f),
        "sha384" => digest::<sha2::Sha384>(f),
        "sha512" => digest::<sha2::Sha512>(f),
        _ => digest::<sha1::Sha1>(f),
    }
}

fn access_ok(path: &Path, mode: i32) -> bool {
    // access(2) answers for the real uid, as os.access does; without libc we
    // approximate with the owner/group/other bits for the effective ids.
    let Ok(md) = fs::metadata(path) else {
        return false;
    };
    let uid = effective_uid();
    if uid == 0 {
        return mode != 1 || md.mode() & 0o111 != 0 || md.is_dir();
    }
    let m = md.mode();
    let shift = if md.uid() == uid {
        6
    } else if user_in_group(md.gid()) {
        3
    } else {
        0
    };
    (m >> shift) & (mode as u32) == mode as u32
}

/// The effective uid, from /proc (the runner links no libc wrapper).
pub fn effective_uid() -> u32 {
    proc_status_ids("Uid:").map_or(u32::MAX, |v| v[1])
}

fn proc_status_ids(key: &str) -> Option<Vec<u32>> {
    let s = fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(key))?;
    Some(
        line[key.len()..]
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect(),
    )
}

fn user_in_group(gid: u32) -> bool {
    proc_status_ids("Gid:").is_some_and(|v| v.get(1) == Some(&gid))
        || proc_status_ids("Groups:").is_some_and(|v| v.contains(&gid))
}

fn ts(secs: i64, nsecs: i64) -> Value {
    Value::from(secs as f64 + nsecs as f64 / 1e9)
}

pub(crate) fn stat_map(
    path: &Path,
    md: &fs::Metadata,
    get_checksum: bool,
    algo: &str,
    get_mime: bool,
) -> Map<String, Value> {
    let ft = md.file_type();
    let mode = md.mode();
    let mut st = Map::new();
    let mut put = |k: &str, v: Value| {
        st.insert(k.to_owned(), v);
    };
    put("exists", true.into());
    put("path", path.display().to_string().into());
    put("mode", fsutil::mode_string(mode).into());
    put("isdir", ft.is_dir().into());
    put("ischr", ft.is_char_device().into());
    put("isblk", ft.is_block_device().into());
    put("isreg", ft.is_file().into());
    put("isfifo", ft.is_fifo().into());
    put("islnk", ft.is_symlink().into());
    put("issock", ft.is_socket().into());
    put("uid", md.uid().into());
    put("gid", md.gid().into());
    put("size", md.size().into());
    put("inode", md.ino().into());
    put("dev", md.dev().into());
    put("nlink", md.nlink().into());
    put("atime", ts(md.atime(), md.atime_nsec()));
    put("mtime", ts(md.mtime(), md.mtime_nsec()));
    put("ctime", ts(md.ctime(), md.ctime_nsec()));
    let bits = [
        ("wusr", 0o200),
        ("rusr", 0o400),
        ("xusr", 0o100),
        ("wgrp", 0o020),
        ("rgrp", 0o040),
        ("xgrp", 0o010),
        ("woth", 0o002),
        ("roth", 0o004),
        ("xoth", 0o001),
        ("isuid", 0o4000),
        ("isgid", 0o2000),
    ];
    for (k, b) in bits {
        put(k, (mode & b != 0).into());
    }
    put("blocks", md.blocks().into());
    put("block_size", md.blksize().into());
    put("device_type", md.rdev().into());
    put("readable", access_ok(path, 4).into());
    put("writeable", access_ok(path, 2).into());
    put("executable", access_ok(path, 1).into());
    put(
        "pw_name",
        fsutil::user_name(md.uid()).map_or(Value::Null, Value::from),
    );
    put(
        "gr_name",
        fsutil::group_name(md.gid()).map_or(Value::Null, Value::from),
    );
    if ft.is_symlink() {
        if let Ok(t) = fs::read_link(path) {
            put("lnk_target", t.display().to_string().into());
        }
        if let Ok(s) = fs::canonicalize(path) {
            put("lnk_source", s.display().to_string().into());
        }
    }
    if ft.is_file() && get_checksum && access_ok(path, 4) {
        if let Ok(c) = file_checksum(path, algo) {
            put("checksum", c.into());
        }
    }
    if get_mime {
        // As the module: `unknown` unless `file` says otherwise.
        let (mut mime, mut charset) = ("unknown".to_owned(), "unknown".to_owned());
        if let Ok(out) = std::process::Command::new("file")
            .args(["--mime-type", "--mime-encoding"])
            .arg(path)
            .output()
        {
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            let parsed = text
                .rsplit_once(':')
                .and_then(|(_, rest)| rest.split_once(';'))
                .and_then(|(m, c)| {
                    Some((m.trim().to_owned(), c.split_once('=')?.1.trim().to_owned()))
                });
            if let (true, Some((m, c))) = (out.status.success(), parsed) {
                mime = m;
                charset = c;
            }
        }
        put("mimetype", mime.into());
        put("charset", charset.into());
    }
    st
}
