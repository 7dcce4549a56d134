//! File-system helpers shared by the file modules: atomic writes, modes,
//! owners and groups (read from `/etc/passwd` and `/etc/group`, so that a
//! statically linked runner needs no NSS).

use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::modules::ModuleError;

/// Expands a leading `~` or `~user`.
pub fn expand_user(p: &str) -> PathBuf {
    if p == "~" || p.starts_with("~/") {
        if let Some(home) = std::env::var_os("HOME") {
            let mut h = PathBuf::from(home);
            if p.len() > 2 {
                h.push(&p[2..]);
            }
            return h;
        }
    } else if let Some(rest) = p.strip_prefix('~') {
        let (user, tail) = rest.split_once('/').unwrap_or((rest, ""));
        if let Some(u) = passwd_entries().into_iter().find(|e| e.name == user) {
            let mut h = PathBuf::from(u.home);
            if !tail.is_empty() {
                h.push(tail);
            }
            return h;
        }
    }
    PathBuf::from(p)
}

#[derive(Debug, Clone)]
pub struct PasswdEntry {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
    pub shell: String,
}

pub fn passwd_entries() -> Vec<PasswdEntry> {
    let text = fs::read_to_string("/etc/passwd").unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 7 {
                return None;
            }
            Some(PasswdEntry {
                name: f[0].to_owned(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                home: f[5].to_owned(),
                shell: f[6].to_owned(),
            })
        })
        .collect()
}

fn group_entries() -> Vec<(String, u32)> {
    let text = fs::read_to_string("/etc/group").unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some((f.first()?.to_string(), f.get(2)?.parse().ok()?))
        })
        .collect()
}

pub fn user_name(uid: u32) -> Option<String> {
    passwd_entries()
        .into_iter()
        .find(|e| e.uid == uid)
        .map(|e| e.name)
}

pub fn group_name(gid: u32) -> Option<String> {
    group_entries()
        .into_iter()
        .find(|(_, g)| *g == gid)
        .map(|(n, _)| n)
}

/// Resolves a user name or numeric id.
pub fn resolve_uid(owner: &str) -> Result<u32, ModuleError> {
    if let Some(e) = passwd_entries().into_iter().find(|e| e.name == owner) {
        return Ok(e.uid);
    }
    owner
        .parse()
        .map_err(|_| ModuleError::failed(format!("chown failed: failed to look up user {owner}")))
}

/// Resolves a group name or numeric id.
pub fn resolve_gid(group: &str) -> Result<u32, ModuleError> {
    if let Some((_, g)) = group_entries().into_iter().find(|(n, _)| n == group) {
        return Ok(g);
    }
    group
        .parse()
        .map_err(|_| ModuleError::failed(format!("chgrp failed: failed to look up group {group}")))
}

/// Parses a `mode` argument against the current mode (for symbolic modes).
/// Integers are the mode itself (YAML `0644` is already 420); digit strings
/// are octal; anything else is symbolic (`u=rw,g=r,o=`).
pub fn parse_mode(v: &Value, current: u32, is_dir: bool) -> Result<u32, ModuleError> {
    let bad = |s: &str| {
        ModuleError::failed(format!(
            "mode must be in octal or symbolic form: '{s}' is not a valid mode"
        ))
    };
    match v {
        Value::Number(n) => n
            .as_u64()
            .filter(|m| *m <= 0o7777)
            .map(|m| m as u32)
            .ok_or_else(|| bad(&n.to_string())),
        Value::String(s) => {
            if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
                u32::from_str_radix(s, 8)
                    .ok()
                    .filter(|m| *m <= 0o7777)
                    .ok_or_else(|| bad(s))
            } else {
                symbolic_mode(s, current, is_dir).ok_or_else(|| bad(s))
            }
        }
        other => Err(bad(&other.to_string())),
    }
}

fn symbolic_mode(spec: &str, current: u32, is_dir: bool) -> Option<u32> {
    let mut mode = current & 0o7777;
    for clause in spec.split(',') {
        let ops_at = clause.find(['=', '+', '-'])?;
        let who = &clause[..ops_at];
        let mut mask = 0u32;
        for c in who.chars() {
            mask |= match c {
                'u' => 0o4700,
                'g' => 0o2070,
                'o' => 0o1007,
                'a' => 0o7777,
                _ => return None,
            };
        }
        if who.is_empty() {
            mask = 0o7777;
        }
        let mut rest = &clause[ops_at..];
        while !rest.is_empty() {
            let op = rest.chars().next()?;
            rest = &rest[1..];
            let end = rest.find(['=', '+', '-']).unwrap_or(rest.len());
            let perms = &rest[..end];
            rest = &rest[end..];
            let mut bits = 0u32;
            for p in perms.chars() {
                bits |= match p {
                    'r' => 0o444,
                    'w' => 0o222,
                    'x' => 0o111,
                    'X' => {
                        if is_dir || mode & 0o111 != 0 {
                            0o111
                        } else {
                            0
                        }
                    }
                    's' => 0o6000,
                    't' => 0o1000,
                    'u' => {
                        let u = (mode >> 6) & 7;
                        u * 0o111
                    }
                    'g' => {
                        let g = (mode >> 3) & 7;
                        g * 0o111
                    }
                    'o' => (mode & 7) * 0o111,
                    _ => return None,
                };
            }
            let bits = bits & mask;
            match op {
                '=' => mode = (mode & !mask) | bits,
                '+' => mode |= bits,
                '-' => mode &= !bits,
                _ => return None,
            }
        }
    }
    Some(mode)
}

/// Writes `data` to `dest` atomically: a temporary file in the same
/// directory, fsync, then rename over `dest`. An existing file's mode and
/// ownership carry over to the new one.
pub fn atomic_write(dest: &Path, data: &[u8], mode: Option<u32>) -> Result<(), ModuleError> {
    let existing = fs::metadata(dest).ok();
    let perm = match (&existing, mode) {
        (_, Some(m)) => m,
        (Some(md), None) => md.mode() & 0o7777,
        (None, None) => 0o666 & !current_umask(),
    };
    let staged = StagedFile::create(dest, data, perm)
        .map_err(|e| ModuleError::io("failed to write", dest.display().to_string(), e))?;
    if let Some(md) = &existing {
        // Best effort, as Ansible: only root can give files away.
        staged.chown(Some(md.uid()), Some(md.gid()));
    }
    staged
        .commit()
        .map_err(|e| ModuleError::io("failed to write", dest.display().to_string(), e))
}

/// A file written next to its destination, not yet in place: the first
/// half of an atomic write. Dropping it without [`StagedFile::commit`]
/// removes the temporary file.
#[derive(Debug)]
pub struct StagedFile {
    tmp: PathBuf,
    dest: PathBuf,
    done: bool,
}

impl StagedFile {
    /// Writes `data` (fsynced, with permissions `perm`) to a new temporary
    /// file in `dest`'s directory.
    pub fn create(dest: &Path, data: &[u8], perm: u32) -> std::io::Result<Self> {
        Self::create_with(dest, perm, |f| f.write_all(data))
    }

    /// Like [`StagedFile::create`], with the content written by `fill`.
    pub fn create_with(
        dest: &Path,
        perm: u32,
        fill: impl FnOnce(&mut fs::File) -> std::io::Result<()>,
    ) -> std::io::Result<Self> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let dir = dest
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        loop {
            let n = SEQ.fetch_add(1, Ordering::Relaxed);
            let tmp = dir.join(format!(".{name}.rustle-{}-{n}.tmp", std::process::id()));
            let f = match fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)
            {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            };
            let staged = StagedFile {
                tmp,
                dest: dest.to_path_buf(),
                done: false,
            };
            let mut f = f;
            fill(&mut f)?;
            f.set_permissions(fs::Permissions::from_mode(perm))?;
            f.sync_all()?;
            return Ok(staged);
        }
    }

    /// The temporary file's path (what `validate` commands check).
    pub fn path(&self) -> &Path {
        &self.tmp
    }

    /// Sets the temporary file's permissions.
    pub fn set_mode(&self, perm: u32) -> std::io::Result<()> {
        fs::set_permissions(&self.tmp, fs::Permissions::from_mode(perm))
    }

    /// Best-effort ownership change (only root can give files away).
    pub fn chown(&self, uid: Option<u32>, gid: Option<u32>) {
        let _ = std::os::unix::fs::chown(&self.tmp, uid, gid);
    }

    /// Renames the file over the destination and syncs the directory.
    pub fn commit(mut self) -> std::io::Result<()> {
        fs::rename(&self.tmp, &self.dest)?;
        self.done = true;
        if let Some(dir) = self.dest.parent().filter(|p| !p.as_os_str().is_empty()) {
            if let Ok(d) = fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// The process umask (read without changing it, from /proc when possible).
pub fn current_umask() -> u32 {
    if let Ok(s) = fs::read_to_string("/proc/self/status") {
        for l in s.lines() {
            if let Some(v) = l.strip_prefix("Umask:") {
                if let Ok(m) = u32::from_str_radix(v.trim(), 8) {
                    return m;
                }
            }
        }
    }
    0o022
}

/// Ansible's backup name: `<path>.<pid>.<YYYY-mm-dd@HH:MM:SS~>`; the copy
/// keeps the original's mode, times and (best effort) ownership, as
/// Ansible's `preserved_copy`.
pub fn backup_file(path: &Path) -> Result<PathBuf, ModuleError> {
    let stamp = chrono::Local::now().format("%Y-%m-%d@%H:%M:%S~");
    let backup = PathBuf::from(format!(
        "{}.{}.{}",
        path.display(),
        std::process::id(),
        stamp
    ));
    let fail = |e: std::io::Error| {
        ModuleError::failed(format!(
            "Could not make backup of {} to {}: {}",
            path.display(),
            backup.display(),
            e
        ))
    };
    fs::copy(path, &backup).map_err(fail)?;
    if let Ok(md) = fs::metadata(path) {
        let _ = fs::set_permissions(&backup, fs::Permissions::from_mode(md.mode() & 0o7777));
        if let (Ok(a), Ok(m)) = (md.accessed(), md.modified()) {
            if let Ok(f) = fs::File::options().write(true).open(&backup) {
                let _ = f.set_times(fs::FileTimes::new().set_accessed(a).set_modified(m));
            }
        }
        let _ = std::os::unix::fs::chown(&backup, Some(md.uid()), Some(md.gid()));
    }
    Ok(backup)
}

/// Octal mode string as Ansible returns it (`"0644"`).
pub fn mode_string(mode: u32) -> String {
    format!("{:04o}", mode & 0o7777)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes() {
        assert_eq!(parse_mode(&Value::from(420), 0, false).ok(), Some(0o644));
        assert_eq!(parse_mode(&Value::from("0755"), 0, false).ok(), Some(0o755));
        assert_eq!(parse_mode(&Value::from("644"), 0, false).ok(), Some(0o644));
        assert_eq!(
            parse_mode(&Value::from("u=rw,g=r,o="), 0o777, false).ok(),
            Some(0o640)
        );
        assert_eq!(
            parse_mode(&Value::from("u+x"), 0o644, false).ok(),
            Some(0o744)
        );
        assert_eq!(
            parse_mode(&Value::from("a-w"), 0o666, false).ok(),
            Some(0o444)
        );
        assert_eq!(
            parse_mode(&Value::from("go-rwx"), 0o755, false).ok(),
            Some(0o700)
        );
        assert_eq!(
            parse_mode(&Value::from("a+X"), 0o644, true).ok(),
            Some(0o755)
        );
        assert_eq!(
            parse_mode(&Value::from("a+X"), 0o644, false).ok(),
            Some(0o644)
        );
        assert!(parse_mode(&Value::from("u=q"), 0, false).is_err());
        assert!(parse_mode(&Value::from("99999"), 0, false).is_err());
    }
}
