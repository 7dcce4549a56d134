//! Building bundles.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::BundleError;
use crate::keys::SecretKey;
use crate::reader::{signed_message, IndexEntryWire};
use crate::trailer::{Trailer, FLAG_SIGNED, FORMAT_VERSION, MAGIC, TRAILER_LEN};
use crate::{AssetId, Plan};

/// zstd level for plan and assets: level 3 is zstd's default and compresses
/// a 10 MB text asset in tens of milliseconds; higher levels buy little for
/// bundles that are built on every run.
const ZSTD_LEVEL: i32 = 3;

/// Collects a plan and its assets, then writes a (signed) bundle.
///
/// Assets are deduplicated by content: adding the same bytes twice returns
/// the same [`AssetId`] and stores them once.
#[derive(Debug, Clone)]
pub struct BundleBuilder {
    plan: Plan,
    assets: BTreeMap<AssetId, Vec<u8>>,
}

impl BundleBuilder {
    pub fn new(plan: Plan) -> Self {
        BundleBuilder {
            plan,
            assets: BTreeMap::new(),
        }
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    pub fn plan_mut(&mut self) -> &mut Plan {
        &mut self.plan
    }

    /// Adds an asset and returns its content address.
    pub fn add_asset(&mut self, data: impl Into<Vec<u8>>) -> AssetId {
        let data = data.into();
        let id = AssetId::of(&data);
        self.assets.entry(id).or_insert(data);
        id
    }

    /// Reads a file and adds it as an asset.
    pub fn add_asset_file(&mut self, path: &Path) -> Result<AssetId, BundleError> {
        let data = std::fs::read(path).map_err(|source| BundleError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Ok(self.add_asset(data))
    }

    pub fn asset_count(&self) -> usize {
        self.assets.len()
    }

    /// Encodes the bundle (body + trailer). With `key`, the bundle is signed.
    pub fn build(&self, key: Option<&SecretKey>) -> Result<Vec<u8>, BundleError> {
        // Every asset the plan names must be present.
        for host in &self.plan.hosts {
            for play in &host.plays {
                for task in play.tasks.iter().chain(&play.handlers) {
                    for id in task.assets.values() {
                        if !self.assets.contains_key(id) {
                            return Err(BundleError::MissingAsset(id.to_hex()));
                        }
                    }
                }
            }
        }
        let plan_raw = rmp_serde::to_vec_named(&self.plan)
            .map_err(|e| BundleError::PlanEncode(e.to_string()))?;
        let plan_z = compress(&plan_raw)?;

        let mut assets_section = Vec::new();
        let mut index = Vec::with_capacity(self.assets.len());
        let mut raw_total = 0u64;
        for (id, data) in &self.assets {
            let z = compress(data)?;
            index.push(IndexEntryWire {
                id: *id,
                offset: assets_section.len() as u64,
                len: z.len() as u64,
                raw_len: data.len() as u64,
            });
            raw_total += data.len() as u64;
            assets_section.extend_from_slice(&z);
        }
        let index_raw =
            rmp_serde::to_vec_named(&index).map_err(|e| BundleError::PlanEncode(e.to_string()))?;

        let mut body = Vec::with_capacity(plan_z.len() + index_raw.len() + assets_section.len());
        body.extend_from_slice(&plan_z);
        body.extend_from_slice(&index_raw);
        body.extend_from_slice(&assets_section);

        let mut trailer = Trailer {
            body_len: body.len() as u64,
            plan_offset: 0,
            plan_len: plan_z.len() as u64,
            plan_raw_len: plan_raw.len() as u64,
            index_offset: plan_z.len() as u64,
            index_len: index_raw.len() as u64,
            assets_offset: (plan_z.len() + index_raw.len()) as u64,
            assets_len: assets_section.len() as u64,
            assets_raw_len: raw_total,
            key_id: [0; 8],
            signature: [0; 64],
            trailer_len: TRAILER_LEN as u32,
            version: FORMAT_VERSION,
            flags: 0,
            magic: MAGIC,
        };
        if let Some(key) = key {
            trailer.flags |= FLAG_SIGNED;
            trailer.key_id = key.public().id.0;
            let digest: [u8; 32] = Sha256::digest(&body).into();
            let msg = signed_message(&trailer.encode(), &digest);
            trailer.signature = key.sign(&msg);
        }
        body.extend_from_slice(&trailer.encode());
        Ok(body)
    }

    /// Writes the bundle to `path` atomically (temporary file in the same
    /// directory, fsync, rename), optionally after `prefix` (a runner
    /// executable, making `path` a self-contained program).
    pub fn write_to(
        &self,
        path: &Path,
        key: Option<&SecretKey>,
        prefix: Option<&[u8]>,
    ) -> Result<(), BundleError> {
        let bytes = self.build(key)?;
        write_atomic(path, prefix.unwrap_or(&[]), &bytes)
    }
}

fn compress(data: &[u8]) -> Result<Vec<u8>, BundleError> {
    zstd::bulk::compress(data, ZSTD_LEVEL).map_err(|e| BundleError::Io {
        path: "<zstd>".into(),
        source: e,
    })
}

/// Writes `prefix ++ data` to `path` via a temporary file and rename, so a
/// reader never sees a half-written bundle.
pub(crate) fn write_atomic(path: &Path, prefix: &[u8], data: &[u8]) -> Result<(), BundleError> {
    let io = |source| BundleError::Io {
        path: path.display().to_string(),
        source,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.unwrap_or_else(|| "bundle".into()),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(prefix)?;
        f.write_all(data)?;
        if !prefix.is_empty() {
            // A runner with its bundle appended is a program.
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(std::fs::Permissions::from_mode(0o755))?;
        }
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}
