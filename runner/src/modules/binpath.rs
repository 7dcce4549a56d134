//! Finding programs as Ansible's `get_bin_path` does: the task
//! environment's `PATH` (so tests can put fake programs first), else the
//! runner's, then the sbin directories Ansible adds.

use std::path::{Path, PathBuf};

use crate::modules::{Context, ModuleError};

/// Directories `get_bin_path` adds after `PATH`.
const SBIN: [&str; 3] = ["/sbin", "/usr/sbin", "/usr/local/sbin"];

/// The directories searched, in order.
pub fn search_dirs(ctx: &Context<'_>) -> Vec<PathBuf> {
    let path = ctx
        .environment
        .get("PATH")
        .cloned()
        .or_else(|| std::env::var("PATH").ok())
        .unwrap_or_default();
    let mut dirs: Vec<PathBuf> = path
        .split(':')
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .collect();
    for s in SBIN {
        let p = PathBuf::from(s);
        if !dirs.contains(&p) {
            dirs.push(p);
        }
    }
    dirs
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `get_bin_path(name)`: the executable's full path, if found (a name
/// with a `/` is taken as a path).
pub fn find_bin(ctx: &Context<'_>, name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        let p = PathBuf::from(name);
        return is_executable(&p).then_some(p);
    }
    search_dirs(ctx)
        .into_iter()
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

/// `get_bin_path(name, required=True)`: the executable, or Ansible's error.
pub fn require_bin(ctx: &Context<'_>, name: &str) -> Result<PathBuf, ModuleError> {
    find_bin(ctx, name).ok_or_else(|| {
        let dirs: Vec<String> = search_dirs(ctx)
            .iter()
            .map(|d| d.display().to_string())
            .collect();
        ModuleError::failed(format!(
            "Failed to find required executable \"{name}\" in paths: {}",
            dirs.join(":")
        ))
    })
}
