//! What the file-handling modules share, with the semantics of Ansible's
//! `AnsibleModule` helpers: file states, `add_path_info`, the
//! `set_*_if_different` family (each taking a `dry` flag that plays the role
//! of Ansible's check mode), modes, Python-style error text and path
//! string helpers (`os.path.join`, `dirname`, `basename`).

use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use serde_json::{Map, Value};

use crate::fsutil;
use crate::modules::ModuleError;

/// Ansible's `get_state`: `absent`, `link`, `directory`, `hard` or `file`.
pub fn get_state(p: &Path) -> &'static str {
    match fs::symlink_metadata(p) {
        Err(_) => "absent",
        Ok(md) if md.file_type().is_symlink() => "link",
        Ok(md) if md.is_dir() => "directory",
        Ok(md) if md.nlink() > 1 => "hard",
        Ok(_) => "file",
    }
}

/// `os.path.exists`: follows symlinks.
pub fn exists(p: &Path) -> bool {
    fs::metadata(p).is_ok()
}

/// `os.path.lexists`.
pub fn lexists(p: &Path) -> bool {
    fs::symlink_metadata(p).is_ok()
}

/// `os.path.islink`.
pub fn is_link(p: &Path) -> bool {
    fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink())
}

/// Mode text as Ansible's modules return it (`'0%03o'`: `0644`, `01777`).
pub fn mode_str(mode: u32) -> String {
    format!("0{:03o}", mode & 0o7777)
}

/// A user name for `uid`, or the number as text (as `add_path_info`).
pub fn owner_name(uid: u32) -> String {
    fsutil::user_name(uid).unwrap_or_else(|| uid.to_string())
}

/// A group name for `gid`, or the number as text.
pub fn group_name(gid: u32) -> String {
    fsutil::group_name(gid).unwrap_or_else(|| gid.to_string())
}

/// Ansible's `add_path_info`: when the result's `path` (or `dest`) exists,
/// adds uid, gid, owner, group, mode, state and size.
pub fn add_path_info(m: &mut Map<String, Value>) {
    let key = if m.contains_key("path") {
        "path"
    } else {
        "dest"
    };
    let Some(p) = m.get(key).and_then(Value::as_str).map(PathBuf::from) else {
        return;
    };
    if !exists(&p) {
        return;
    }
    let Ok(st) = fs::symlink_metadata(&p) else {
        return;
    };
    m.insert("uid".into(), st.uid().into());
    m.insert("gid".into(), st.gid().into());
    m.insert("owner".into(), owner_name(st.uid()).into());
    m.insert("group".into(), group_name(st.gid()).into());
    m.insert("mode".into(), mode_str(st.mode()).into());
    let state = if st.file_type().is_symlink() {
        "link"
    } else if st.is_dir() {
        "directory"
    } else if fs::metadata(&p).is_ok_and(|m| m.nlink() > 1) {
        "hard"
    } else {
        "file"
    };
    m.insert("state".into(), state.into());
    m.insert("size".into(), st.size().into());
}

/// A module failure as Ansible's `fail_json` reports it: `extra` plus the
/// path information of `path`/`dest` when it exists.
pub fn fail_json(msg: impl Into<String>, mut extra: Map<String, Value>) -> ModuleError {
    add_path_info(&mut extra);
    ModuleError::Failed {
        msg: msg.into(),
        extra,
    }
}

/// Builds a result map from key/value pairs.
pub fn kv<const N: usize>(pairs: [(&str, Value); N]) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// Python's `repr(bytes)` of a path (`b'/tmp/x'`).
pub fn py_bytes_repr(p: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    py_bytes_literal(p.as_os_str().as_bytes())
}

/// Python's `repr(bytes)` (`b'a\r\n'`).
pub fn py_bytes_literal(b: &[u8]) -> String {
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') {
        '"'
    } else {
        '\''
    };
    let mut s = String::from("b");
    s.push(quote);
    for &c in b {
        match c {
            b'\\' => s.push_str("\\\\"),
            b'\t' => s.push_str("\\t"),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            c if c as char == quote => {
                s.push('\\');
                s.push(quote);
            }
            0x20..=0x7e => s.push(c as char),
            c => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push(quote);
    s
}

/// `strerror` text of an I/O error, without Rust's `(os error N)` suffix.
pub fn strerror(e: &io::Error) -> String {
    let s = e.to_string();
    match s.rfind(" (os error ") {
        Some(i) => s[..i].to_owned(),
        None => s,
    }
}

/// Python's `str(OSError)`: `[Errno 2] No such file or directory: b'/x'`
/// (with ` -> b'/y'` for two-path errors).
pub fn py_oserror(e: &io::Error, p1: Option<&Path>, p2: Option<&Path>) -> String {
    let Some(n) = e.raw_os_error() else {
        return e.to_string();
    };
    let mut s = format!("[Errno {n}] {}", strerror(e));
    if let Some(p) = p1 {
        s.push_str(": ");
        s.push_str(&py_bytes_repr(p));
        if let Some(q) = p2 {
            s.push_str(" -> ");
            s.push_str(&py_bytes_repr(q));
        }
    }
    s
}

/// `os.path.join(a, b)` on strings.
pub fn join(a: &str, b: &str) -> String {
    if b.starts_with('/') || a.is_empty() {
        b.to_owned()
    } else if a.ends_with('/') {
        format!("{a}{b}")
    } else {
        format!("{a}/{b}")
    }
}

/// `os.path.basename`.
pub fn basename(p: &str) -> &str {
    match p.rfind('/') {
        Some(i) => &p[i + 1..],
        None => p,
    }
}

/// `os.path.dirname`.
pub fn dirname(p: &str) -> String {
    let head = match p.rfind('/') {
        Some(i) => &p[..=i],
        None => "",
    };
    if !head.is_empty() && !head.chars().all(|c| c == '/') {
        head.trim_end_matches('/').to_owned()
    } else {
        head.to_owned()
    }
}

/// `os.path.realpath` (non-strict): resolves symlinks where they exist and
/// keeps the rest of the path as written.
pub fn realpath(p: &Path) -> PathBuf {
    let start = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(p)
    };
    let mut out = PathBuf::from("/");
    let mut pending: Vec<std::ffi::OsString> = start
        .components()
        .rev()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_owned()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect();
    let mut hops = 0;
    while let Some(c) = pending.pop() {
        if c == ".." {
            out.pop();
            continue;
        }
        let next = out.join(&c);
        match fs::read_link(&next) {
            Ok(target) if hops < 40 => {
                hops += 1;
                if target.is_absolute() {
                    out = PathBuf::from("/");
                }
                for comp in target.components().rev() {
                    match comp {
                        Component::Normal(s) => pending.push(s.to_owned()),
                        Component::ParentDir => pending.push("..".into()),
                        _ => {}
                    }
                }
            }
            _ => out = next,
        }
    }
    out
}

/// The path as a display string.
pub fn ps(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// `before`/`after` of a file module's diff.
#[derive(Debug, Clone, Default)]
pub struct Diff {
    pub before: Map<String, Value>,
    pub after: Map<String, Value>,
}

impl Diff {
    pub fn set(&mut self, key: &str, before: impl Into<Value>, after: impl Into<Value>) {
        self.before.insert(key.to_owned(), before.into());
        self.after.insert(key.to_owned(), after.into());
    }

    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("before".into(), Value::Object(self.before.clone()));
        m.insert("after".into(), Value::Object(self.after.clone()));
        Value::Object(m)
    }
}

/// Ansible's `load_file_common_arguments` result: where attributes go and
/// what they should be.
#[derive(Debug, Clone, Default)]
pub struct FileArgs {
    pub path: PathBuf,
    pub mode: Option<Value>,
    pub owner: Option<String>,
    pub group: Option<String>,
}

impl FileArgs {
    /// With `follow`, a symlink `path` is replaced by its target.
    pub fn load(
        path: &Path,
        follow: bool,
        mode: Option<Value>,
        owner: Option<String>,
        group: Option<String>,
    ) -> Self {
        let path = if follow && is_link(path) {
            realpath(path)
        } else {
            path.to_path_buf()
        };
        FileArgs {
            path,
            mode,
            owner,
            group,
        }
    }

    pub fn with_path(&self, path: &Path) -> Self {
        FileArgs {
            path: path.to_path_buf(),
            ..self.clone()
        }
    }
}

fn path_extra(p: &Path) -> Map<String, Value> {
    kv([("path", ps(p).into())])
}

/// `check_file_absent_if_check_mode`.
fn absent_in_dry_run(p: &Path, dry: bool) -> bool {
    dry && !exists(p)
}

fn lookup_uid(owner: &str) -> Option<u32> {
    match owner.parse::<u32>() {
        Ok(u) => Some(u),
        Err(_) => fsutil::passwd_entries()
            .into_iter()
            .find(|e| e.name == owner)
            .map(|e| e.uid),
    }
}

fn lookup_gid(group: &str) -> Option<u32> {
    match group.parse::<u32>() {
        Ok(g) => Some(g),
        Err(_) => fsutil::resolve_gid(group).ok(),
    }
}

/// Whether `owner` names a known user (for check-mode warnings).
pub fn user_exists(owner: &str) -> bool {
    match owner.parse::<u32>() {
        Ok(u) => fsutil::user_name(u).is_some(),
        Err(_) => fsutil::passwd_entries().iter().any(|e| e.name == owner),
    }
}

/// Whether `group` names a known group.
pub fn group_exists(group: &str) -> bool {
    match group.parse::<u32>() {
        Ok(g) => fsutil::group_name(g).is_some(),
        Err(_) => fsutil::resolve_gid(group).is_ok(),
    }
}

fn lstat(p: &Path) -> Result<fs::Metadata, ModuleError> {
    fs::symlink_metadata(p).map_err(|e| fail_json(py_oserror(&e, Some(p), None), path_extra(p)))
}

pub fn set_owner_if_different(
    path: &Path,
    owner: Option<&str>,
    changed: bool,
    diff: Option<&mut Diff>,
    dry: bool,
) -> Result<bool, ModuleError> {
    let Some(owner) = owner else {
        return Ok(changed);
    };
    if absent_in_dry_run(path, dry) {
        return Ok(true);
    }
    let st = lstat(path)?;
    let Some(uid) = lookup_uid(owner) else {
        return Err(fail_json(
            format!("chown failed: failed to look up user {owner}"),
            path_extra(path),
        ));
    };
    if st.uid() == uid {
        return Ok(changed);
    }
    if let Some(d) = diff {
        d.set("owner", st.uid(), uid);
    }
    if dry {
        return Ok(true);
    }
    std::os::unix::fs::lchown(path, Some(uid), None).map_err(|e| {
        fail_json(
            format!("chown failed: {}", py_oserror(&e, Some(path), None)),
            path_extra(path),
        )
    })?;
    Ok(true)
}

pub fn set_group_if_different(
    path: &Path,
    group: Option<&str>,
    changed: bool,
    diff: Option<&mut Diff>,
    dry: bool,
) -> Result<bool, ModuleError> {
    let Some(group) = group else {
        return Ok(changed);
    };
    if absent_in_dry_run(path, dry) {
        return Ok(true);
    }
    let st = lstat(path)?;
    let Some(gid) = lookup_gid(group) else {
        return Err(fail_json(
            format!("chgrp failed: failed to look up group {group}"),
            path_extra(path),
        ));
    };
    if st.gid() == gid {
        return Ok(changed);
    }
    if let Some(d) = diff {
        d.set("group", st.gid(), gid);
    }
    if dry {
        return Ok(true);
    }
    std::os::unix::fs::lchown(path, None, Some(gid))
        .map_err(|_| fail_json("chgrp failed", path_extra(path)))?;
    Ok(true)
}

/// Ansible's mode conversion: an int is the mode; a string is octal if it
/// parses as octal, otherwise symbolic (applied to `st`'s current mode).
pub fn mode_to_octal(mode: &Value, st: &fs::Metadata) -> Result<u32, String> {
    match mode {
        Value::Number(n) => n
            .as_u64()
            .map(|m| m as u32)
            .ok_or_else(|| format!("bad symbolic permission for mode: {n}")),
        Value::String(s) => {
            let t = s.trim();
            let digits = t
                .strip_prefix("0o")
                .or_else(|| t.strip_prefix("0O"))
                .unwrap_or(t);
            if !digits.is_empty() && digits.chars().all(|c| c.is_digit(8)) {
                return u32::from_str_radix(digits, 8)
                    .map_err(|_| format!("bad symbolic permission for mode: {s}"));
            }
            symbolic_mode(st, s)
        }
        other => Err(format!("bad symbolic permission for mode: {other}")),
    }
}

/// `_symbolic_mode_to_octal`.
fn symbolic_mode(st: &fs::Metadata, spec: &str) -> Result<u32, String> {
    let bad = || format!("bad symbolic permission for mode: {spec}");
    let is_dir = st.is_dir();
    let mut new_mode = st.mode() & 0o7777;
    for clause in spec.split(',') {
        let bad_clause = || format!("bad symbolic permission for mode: {clause}");
        let first_op = clause.find(['+', '-', '=']).ok_or_else(bad_clause)?;
        let users = &clause[..first_op];
        let use_umask = users.is_empty();
        let users = if users.is_empty() || users == "a" {
            "ugo"
        } else {
            users
        };
        if !users.chars().all(|c| matches!(c, 'u' | 'g' | 'o')) {
            return Err(bad_clause());
        }
        // Operators and the permissions after each.
        let rest = &clause[first_op..];
        let mut ops: Vec<(char, &str)> = Vec::new();
        let mut i = 0;
        let b = rest.as_bytes();
        while i < b.len() {
            let op = b[i] as char;
            let start = i + 1;
            let mut j = start;
            while j < b.len() && !matches!(b[j], b'+' | b'-' | b'=') {
                j += 1;
            }
            ops.push((op, &rest[start..j]));
            i = j;
        }
        for (op, perms) in ops {
            if !perms
                .chars()
                .all(|c| matches!(c, 'r' | 'w' | 'x' | 'X' | 's' | 't' | 'u' | 'g' | 'o'))
            {
                return Err(bad_clause());
            }
            for user in users.chars() {
                let apply = perms_for(user, perms, use_umask, new_mode, is_dir);
                new_mode = match op {
                    '=' => {
                        let mask = match user {
                            'u' => 0o4700,
                            'g' => 0o2070,
                            _ => 0o1007,
                        };
                        (new_mode & (mask ^ 0o7777)) | apply
                    }
                    '+' => new_mode | apply,
                    '-' => new_mode - (new_mode & apply),
                    _ => return Err(bad()),
                };
            }
        }
    }
    Ok(new_mode)
}

fn perms_for(user: char, perms: &str, use_umask: bool, prev: u32, is_dir: bool) -> u32 {
    let rev_umask = fsutil::current_umask() ^ 0o7777;
    let x_any = is_dir || prev & 0o111 != 0;
    let (shift, s_bit, t_bit) = match user {
        'u' => (6, 0o4000, 0),
        'g' => (3, 0o2000, 0),
        _ => (0, 0, 0o1000),
    };
    let rwx = |bit: u32| {
        let b = bit << shift;
        if use_umask {
            rev_umask & b
        } else {
            b
        }
    };
    let copy = |from_shift: u32| ((prev >> from_shift) & 7) << shift;
    perms.chars().fold(0, |acc, p| {
        acc | match p {
            'r' => rwx(4),
            'w' => rwx(2),
            'x' => rwx(1),
            'X' if x_any => 1 << shift,
            'X' => 0,
            's' => s_bit,
            't' => t_bit,
            'u' => copy(6),
            'g' => copy(3),
            'o' => copy(0),
            _ => 0,
        }
    })
}

pub fn set_mode_if_different(
    path: &Path,
    mode: Option<&Value>,
    changed: bool,
    diff: Option<&mut Diff>,
    dry: bool,
) -> Result<bool, ModuleError> {
    let Some(mode) = mode else {
        return Ok(changed);
    };
    if absent_in_dry_run(path, dry) {
        return Ok(true);
    }
    let st = lstat(path)?;
    let mode = mode_to_octal(mode, &st).map_err(|details| {
        let mut extra = path_extra(path);
        extra.insert("details".into(), details.into());
        fail_json("mode must be in octal or symbolic form", extra)
    })?;
    let prev = st.mode() & 0o7777;
    if prev == mode {
        return Ok(changed);
    }
    if let Some(d) = diff {
        d.set("mode", mode_str(prev), mode_str(mode));
    }
    if dry {
        return Ok(true);
    }
    if st.file_type().is_symlink() {
        // Linux has no lchmod: Ansible changes the target and restores it,
        // which leaves everything as it was.
        return Ok(changed);
    }
    if let Err(e) = fs::set_permissions(path, fs::Permissions::from_mode(mode)) {
        if !matches!(e.raw_os_error(), Some(2) | Some(40)) {
            let mut extra = path_extra(path);
            extra.insert("details".into(), py_oserror(&e, Some(path), None).into());
            return Err(fail_json("chmod failed", extra));
        }
    }
    let now = fs::symlink_metadata(path).map(|m| m.mode() & 0o7777);
    Ok(changed || now.is_ok_and(|m| m != prev))
}

/// `set_fs_attributes_if_different` (owner, group, mode; SELinux contexts
/// and file attributes are not handled).
pub fn set_fs_attributes_if_different(
    fa: &FileArgs,
    changed: bool,
    mut diff: Option<&mut Diff>,
    dry: bool,
) -> Result<bool, ModuleError> {
    let changed = set_owner_if_different(
        &fa.path,
        fa.owner.as_deref(),
        changed,
        diff.as_deref_mut(),
        dry,
    )?;
    let changed = set_group_if_different(
        &fa.path,
        fa.group.as_deref(),
        changed,
        diff.as_deref_mut(),
        dry,
    )?;
    set_mode_if_different(&fa.path, fa.mode.as_ref(), changed, diff, dry)
}

/// SHA-1 of a file (hex), as `module.sha1`.
pub fn sha1_file(p: &Path) -> io::Result<String> {
    crate::modules::files::stat::file_checksum(p, "sha1")
}

/// MD5 of a file (hex), as `module.md5`.
pub fn md5_file(p: &Path) -> io::Result<String> {
    crate::modules::files::stat::file_checksum(p, "md5")
}

/// SHA-1 of bytes (hex).
pub fn sha1_bytes(b: &[u8]) -> String {
    use sha1::Digest;
    hex::encode(sha1::Sha1::digest(b))
}

/// MD5 of bytes (hex).
pub fn md5_bytes(b: &[u8]) -> String {
    use md5::Digest;
    hex::encode(md5::Md5::digest(b))
}

/// `os.access(p, W_OK)` approximated from the mode bits for the effective
/// user (root may write anywhere).
pub fn writable(p: &Path) -> bool {
    let Ok(md) = fs::metadata(p) else {
        return false;
    };
    let uid = crate::modules::files::stat::effective_uid();
    if uid == 0 {
        return true;
    }
    let m = md.mode();
    if md.uid() == uid {
        m & 0o200 != 0
    } else if in_group(md.gid()) {
        m & 0o020 != 0
    } else {
        m & 0o002 != 0
    }
}

/// `os.access(p, R_OK)` approximated the same way.
pub fn readable(p: &Path) -> bool {
    let Ok(md) = fs::metadata(p) else {
        return false;
    };
    let uid = crate::modules::files::stat::effective_uid();
    if uid == 0 {
        return true;
    }
    let m = md.mode();
    if md.uid() == uid {
        m & 0o400 != 0
    } else if in_group(md.gid()) {
        m & 0o040 != 0
    } else {
        m & 0o004 != 0
    }
}

fn in_group(gid: u32) -> bool {
    let Ok(s) = fs::read_to_string("/proc/self/status") else {
        return false;
    };
    s.lines()
        .filter(|l| l.starts_with("Gid:") || l.starts_with("Groups:"))
        .flat_map(|l| l.split_whitespace().skip(1))
        .filter_map(|x| x.parse::<u32>().ok())
        .any(|g| g == gid)
}

/// Python's float `st_mtime`/`st_atime`.
pub fn ftime(secs: i64, nsecs: i64) -> f64 {
    secs as f64 + nsecs as f64 / 1e9
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_strings() {
        assert_eq!(join("/a", "b"), "/a/b");
        assert_eq!(join("/a/", "b"), "/a/b");
        assert_eq!(join("/a", "/b"), "/b");
        assert_eq!(join("", "b"), "b");
        assert_eq!(dirname("/a/b"), "/a");
        assert_eq!(dirname("/a"), "/");
        assert_eq!(dirname("a"), "");
        assert_eq!(dirname("/a/b/"), "/a/b");
        assert_eq!(basename("/a/b"), "b");
        assert_eq!(basename("/a/b/"), "");
    }

    #[test]
    fn bytes_repr() {
        assert_eq!(py_bytes_repr(Path::new("/tmp/x")), "b'/tmp/x'");
        assert_eq!(py_bytes_repr(Path::new("it's")), "b\"it's\"");
        assert_eq!(py_bytes_repr(Path::new("a\nb")), "b'a\\nb'");
    }

    #[test]
    fn oserror_text() {
        let e = io::Error::from_raw_os_error(2);
        assert_eq!(
            py_oserror(&e, Some(Path::new("/a")), Some(Path::new("/b"))),
            "[Errno 2] No such file or directory: b'/a' -> b'/b'"
        );
    }

    #[test]
    fn symbolic_modes() -> Result<(), String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let f = dir.path().join("f");
        fs::write(&f, b"").map_err(|e| e.to_string())?;
        fs::set_permissions(&f, fs::Permissions::from_mode(0o600)).map_err(|e| e.to_string())?;
        let st = fs::metadata(&f).map_err(|e| e.to_string())?;
        let m = |s: &str| mode_to_octal(&Value::from(s), &st);
        assert_eq!(m("u=rwX,g=rX,o=")?, 0o640);
        assert_eq!(m("u+x")?, 0o700);
        assert_eq!(m("a+r")?, 0o644);
        assert_eq!(m("go=u")?, 0o666);
        assert_eq!(m("u=rw,g=r,o=r")?, 0o644);
        assert_eq!(m("0755")?, 0o755);
        assert_eq!(m("755")?, 0o755);
        assert_eq!(m("u+s,o+t")?, 0o5600);
        assert_eq!(
            m("u=q").err().as_deref(),
            Some("bad symbolic permission for mode: u=q")
        );
        assert_eq!(
            m("999").err().as_deref(),
            Some("bad symbolic permission for mode: 999")
        );
        assert_eq!(mode_to_octal(&Value::from(420), &st)?, 0o644);
        Ok(())
    }

    #[test]
    fn realpath_resolves_links() -> Result<(), io::Error> {
        let dir = tempfile::tempdir()?;
        let base = fs::canonicalize(dir.path())?;
        fs::create_dir(base.join("d"))?;
        std::os::unix::fs::symlink("d", base.join("l"))?;
        assert_eq!(realpath(&base.join("l/x")), base.join("d/x"));
        assert_eq!(realpath(&base.join("d/../l")), base.join("d"));
        Ok(())
    }
}
