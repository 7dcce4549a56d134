//! Finding the prebuilt `rustle-runner` for a host's target triple.
//!
//! Searched in order: `$RUSTLE_RUNNER_DIR/<triple>/rustle-runner`, then
//! next to the `rustle` executable: `runners/<triple>/rustle-runner` and
//! `rustle-runner-<triple>`, then the `dist/runners/<triple>/` directory that
//! `release/build.sh` fills (found from a cargo `target/<profile>/` binary).

use std::path::{Path, PathBuf};

/// Candidate paths for `triple`, in search order.
pub fn candidates(triple: &str, runner_dir: Option<&Path>, exe: Option<&Path>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(d) = runner_dir {
        out.push(d.join(triple).join("rustle-runner"));
    }
    if let Some(dir) = exe.and_then(Path::parent) {
        out.push(dir.join("runners").join(triple).join("rustle-runner"));
        out.push(dir.join(format!("rustle-runner-{triple}")));
        // target/<profile>/rustle -> <workspace>/dist/runners/<triple>/
        if let Some(ws) = dir.parent().and_then(Path::parent) {
            out.push(ws.join("dist/runners").join(triple).join("rustle-runner"));
        }
    }
    out
}

/// The runner for `triple`: the one `rustle.toml` names under `[runners]`,
/// else the first found by [`find`].
pub fn find_configured(
    triple: &str,
    configured: &std::collections::BTreeMap<String, PathBuf>,
) -> Option<PathBuf> {
    match configured.get(triple) {
        Some(p) => Some(p.clone()),
        None => find(triple),
    }
}

/// The runner to deploy to a host of `triple`: the configured or an
/// installed one ([`find_configured`]), else, when `triple` is the
/// controller's own target, the `rustle-runner` built next to `rustle`
/// (a development build: it needs the same libc as the controller's).
pub fn find_for_host(
    triple: &str,
    configured: &std::collections::BTreeMap<String, PathBuf>,
) -> Option<PathBuf> {
    find_configured(triple, configured).or_else(|| {
        if triple != rustle_runner::TARGET {
            return None;
        }
        let exe = std::env::current_exe().ok()?;
        let sibling = exe.parent()?.join("rustle-runner");
        sibling.is_file().then_some(sibling)
    })
}

/// The runner for `triple`, if one is installed.
pub fn find(triple: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("RUSTLE_RUNNER_DIR").map(PathBuf::from);
    let exe = std::env::current_exe().ok();
    candidates(triple, dir.as_deref(), exe.as_deref())
        .into_iter()
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_order() {
        let c = candidates(
            "x86_64-unknown-linux-musl",
            Some(Path::new("/opt/r")),
            Some(Path::new("/ws/target/release/rustle")),
        );
        assert_eq!(
            c[0],
            Path::new("/opt/r/x86_64-unknown-linux-musl/rustle-runner")
        );
        assert_eq!(
            c[1],
            Path::new("/ws/target/release/runners/x86_64-unknown-linux-musl/rustle-runner")
        );
        assert_eq!(
            c[3],
            Path::new("/ws/dist/runners/x86_64-unknown-linux-musl/rustle-runner")
        );
    }

    #[test]
    fn configured_runner_first() {
        let mut m = std::collections::BTreeMap::new();
        m.insert(
            "riscv64gc-unknown-linux-gnu".to_owned(),
            PathBuf::from("/opt/r"),
        );
        assert_eq!(
            find_configured("riscv64gc-unknown-linux-gnu", &m),
            Some(PathBuf::from("/opt/r"))
        );
    }

    #[test]
    fn finds_an_installed_runner() {
        let d = tempfile::tempdir().expect("tmp");
        let p = d.path().join("aarch64-unknown-linux-musl");
        std::fs::create_dir(&p).expect("mkdir");
        std::fs::write(p.join("rustle-runner"), b"x").expect("write");
        let found = candidates("aarch64-unknown-linux-musl", Some(d.path()), None)
            .into_iter()
            .find(|c| c.is_file());
        assert_eq!(found, Some(p.join("rustle-runner")));
        let none = candidates("riscv64gc-unknown-linux-gnu", Some(d.path()), None)
            .into_iter()
            .find(|c| c.is_file());
        assert!(none.is_none());
    }
}
