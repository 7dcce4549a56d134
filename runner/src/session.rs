//! Loading a bundle and running it for one host: shared by `apply`, the
//! self-contained executable and `serve`.

use std::path::Path;

use rustle_bundle::{
    AssetId, BundleError, HostPlan, KeyError, Limits, ParsedBundle, Plan, TrustStore, Verification,
    VerifiedBundle,
};
use thiserror::Error;

use crate::engine::{self, EventSink, HostStats, RunOptions};
use crate::modules::{AssetSource, ModuleError};

#[derive(Debug, Error)]
pub enum SessionError {
    #[error("bundle refused: {0}")]
    Bundle(#[from] BundleError),
    #[error("{0}")]
    Key(#[from] KeyError),
    #[error("no trusted keys: pass --trust KEY.pub or --trust-file FILE, or install {0} (or --insecure-skip-verify to run unverified bundles)")]
    NoTrust(String),
    #[error("the bundle has no plan for host {wanted:?} (it has: {have})")]
    UnknownHost { wanted: String, have: String },
    #[error("the bundle has plans for several hosts ({0}); choose one with --host")]
    AmbiguousHost(String),
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Default trust files, read when no `--trust`/`--trust-file` is given.
pub fn default_trust_files() -> Vec<std::path::PathBuf> {
    let mut v = vec![std::path::PathBuf::from("/etc/rustle/trusted-keys")];
    if let Some(home) = std::env::var_os("HOME") {
        v.push(Path::new(&home).join(".rustle/trusted-keys"));
    }
    v
}

/// Builds the trust store from explicit keys/files, or the default files.
pub fn trust_store(
    keys: &[std::path::PathBuf],
    files: &[std::path::PathBuf],
) -> Result<TrustStore, SessionError> {
    let mut store = TrustStore::new();
    for p in keys.iter().chain(files) {
        store.load_file(p)?;
    }
    if keys.is_empty() && files.is_empty() {
        for p in default_trust_files() {
            if p.exists() {
                store.load_file(&p)?;
            }
        }
    }
    Ok(store)
}

/// A verified bundle with its decoded plan.
pub struct LoadedBundle<'a> {
    pub verified: VerifiedBundle<'a>,
    pub plan: Plan,
}

/// Checks a bundle completely before anything runs: layout, signature,
/// plan, and every asset (decompressed with caps, hashes checked), so a bad
/// bundle changes nothing on the host.
pub fn load<'a>(
    data: &'a [u8],
    trust: &TrustStore,
    verification: Verification,
) -> Result<LoadedBundle<'a>, SessionError> {
    if verification == Verification::Required && trust.is_empty() {
        // Layout errors are still reported first: they say more.
        ParsedBundle::parse(data, Limits::default())?;
        return Err(SessionError::NoTrust(
            default_trust_files()
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(" or "),
        ));
    }
    let parsed = ParsedBundle::parse(data, Limits::default())?;
    let verified = parsed.verify(trust, verification)?;
    let plan = verified.plan()?;
    verified.validate_assets()?;
    Ok(LoadedBundle { verified, plan })
}

impl LoadedBundle<'_> {
    /// Picks the host plan: by name, or the only one.
    pub fn host(&self, wanted: Option<&str>) -> Result<&HostPlan, SessionError> {
        let names = || {
            self.plan
                .hosts
                .iter()
                .map(|h| h.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match wanted {
            Some(w) => self.plan.host(w).ok_or_else(|| SessionError::UnknownHost {
                wanted: w.to_owned(),
                have: names(),
            }),
            None if self.plan.hosts.len() == 1 => Ok(&self.plan.hosts[0]),
            None => Err(SessionError::AmbiguousHost(names())),
        }
    }

    pub fn run(&self, host: &HostPlan, opts: &RunOptions, sink: &mut dyn EventSink) -> HostStats {
        engine::run_host(host, self, opts, sink)
    }
}

impl AssetSource for LoadedBundle<'_> {
    fn asset(&self, id: &AssetId) -> Result<Vec<u8>, ModuleError> {
        self.verified
            .asset(id)
            .map_err(|e| ModuleError::Asset(e.to_string()))
    }
}

/// Reads a whole file (bundles are held in memory).
pub fn read_file(path: &Path) -> Result<Vec<u8>, SessionError> {
    std::fs::read(path).map_err(|source| SessionError::Read {
        path: path.display().to_string(),
        source,
    })
}
