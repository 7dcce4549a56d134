//! Reading and verifying bundles.
//!
//! Checks run in a fixed order, each with its own error: magic, version,
//! sizes and offsets against the file length, signature, then (lazily)
//! decompression with hard caps.

use std::io::Read;

use ed25519_dalek::Signature;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::BundleError;
use crate::keys::{KeyId, TrustStore};
use crate::trailer::{Trailer, FLAG_SIGNED, TRAILER_LEN};
use crate::{AssetId, Plan, PLAN_SCHEMA_VERSION};

/// Domain separation for the signed message.
const SIG_DOMAIN: &[u8] = b"rustle-bundle-v1-signature\0";

/// MessagePack nesting limit of a plan, as rmp-serde counts it: at most 127
/// nested containers are accepted (the plan's own structure takes 8 levels
/// down to a task's `args` map, leaving 119 for argument values; serde_json's
/// recursion limit is 128 too). Decoding recurses once per level: rmp-serde's
/// own default of 1024 overflows a 2 MiB thread stack in a debug build.
const MAX_PLAN_DEPTH: usize = 128;

/// Largest zstd window a frame may ask for: 2^27 bytes (128 MiB), zstd's
/// default decoder limit, pinned here so that it is part of the format.
const ZSTD_WINDOW_LOG_MAX: u32 = 27;

/// Hard caps applied before anything is allocated or decompressed.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Declared uncompressed plan size.
    pub max_plan_raw: u64,
    /// Asset index size (it is not compressed).
    pub max_index: u64,
    /// Declared uncompressed size of one asset.
    pub max_asset_raw: u64,
    /// Declared uncompressed size of all assets together.
    pub max_assets_raw: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_plan_raw: 64 << 20,
            max_index: 16 << 20,
            max_asset_raw: 4 << 30,
            max_assets_raw: 16 << 30,
        }
    }
}

/// Whether the signature must be checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// Refuse unsigned bundles and bundles not signed by a trusted key.
    Required,
    /// `--insecure-skip-verify`: accept without checking any signature.
    InsecureSkip,
}

/// One entry of the asset index, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct IndexEntryWire {
    pub id: AssetId,
    pub offset: u64,
    pub len: u64,
    pub raw_len: u64,
}

/// One asset of a verified bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssetEntry {
    pub id: AssetId,
    /// Offset inside the asset section.
    pub offset: u64,
    /// Compressed length.
    pub len: u64,
    /// Uncompressed length.
    pub raw_len: u64,
}

pub(crate) fn signed_message(trailer: &[u8; TRAILER_LEN], body_sha256: &[u8; 32]) -> Vec<u8> {
    let mut msg = Vec::with_capacity(SIG_DOMAIN.len() + 96 + 32);
    msg.extend_from_slice(SIG_DOMAIN);
    for part in Trailer::signed_bytes(trailer) {
        msg.extend_from_slice(part);
    }
    msg.extend_from_slice(body_sha256);
    msg
}

/// A bundle whose trailer and layout have been checked, not yet its
/// signature.
#[derive(Debug, Clone)]
pub struct ParsedBundle<'a> {
    trailer: Trailer,
    trailer_bytes: [u8; TRAILER_LEN],
    body: &'a [u8],
    body_start: usize,
    limits: Limits,
}

impl<'a> ParsedBundle<'a> {
    /// Checks magic, version, trailer length, flags, then every size and
    /// offset against the file length and the limits.
    pub fn parse(file: &'a [u8], limits: Limits) -> Result<Self, BundleError> {
        let trailer = Trailer::decode(file)?;
        let known = FLAG_SIGNED;
        if trailer.flags & !known != 0 {
            return Err(BundleError::UnknownFlags {
                got: trailer.flags,
                known,
            });
        }
        let file_len = file.len() as u64;
        let room = file_len - TRAILER_LEN as u64;
        if trailer.body_len > room {
            return Err(BundleError::BodyPastEnd {
                body_len: trailer.body_len,
                file_len,
                trailer_len: TRAILER_LEN as u64,
            });
        }
        // Sections are contiguous, in order plan, index, assets, and fill
        // the body exactly: no gaps where unsigned-looking data could hide.
        let t = &trailer;
        let expect = [
            ("plan", t.plan_offset, 0u64, t.plan_len),
            (
                "index",
                t.index_offset,
                t.plan_offset.wrapping_add(t.plan_len),
                t.index_len,
            ),
            (
                "assets",
                t.assets_offset,
                t.index_offset.wrapping_add(t.index_len),
                t.assets_len,
            ),
        ];
        let mut end = 0u64;
        for (section, got_offset, expected_offset, len) in expect {
            if got_offset != expected_offset {
                return Err(BundleError::SectionMisplaced {
                    section,
                    got_offset,
                    expected_offset,
                });
            }
            end = got_offset
                .checked_add(len)
                .filter(|e| *e <= t.body_len)
                .ok_or(BundleError::SectionsLengthMismatch {
                    got: got_offset.saturating_add(len),
                    expected: t.body_len,
                })?;
        }
        if end != t.body_len {
            return Err(BundleError::SectionsLengthMismatch {
                got: end,
                expected: t.body_len,
            });
        }
        let caps = [
            ("declared plan size", t.plan_raw_len, limits.max_plan_raw),
            ("asset index", t.index_len, limits.max_index),
            (
                "declared total asset size",
                t.assets_raw_len,
                limits.max_assets_raw,
            ),
        ];
        for (what, got, limit) in caps {
            if got > limit {
                return Err(BundleError::LimitExceeded { what, got, limit });
            }
        }
        let body_start = (room - t.body_len) as usize;
        let body = &file[body_start..body_start + t.body_len as usize];
        let mut trailer_bytes = [0u8; TRAILER_LEN];
        trailer_bytes.copy_from_slice(&file[file.len() - TRAILER_LEN..]);
        Ok(ParsedBundle {
            trailer,
            trailer_bytes,
            body,
            body_start,
            limits,
        })
    }

    pub fn trailer(&self) -> &Trailer {
        &self.trailer
    }

    /// Where the bundle begins in the file: for a runner with an appended
    /// bundle, the length of the runner executable.
    pub fn body_start(&self) -> usize {
        self.body_start
    }

    /// The signing key id, if the bundle is signed.
    pub fn key_id(&self) -> Option<KeyId> {
        self.trailer
            .is_signed()
            .then_some(KeyId(self.trailer.key_id))
    }

    /// Checks the signature against `trust`, then the asset index.
    pub fn verify(
        self,
        trust: &TrustStore,
        mode: Verification,
    ) -> Result<VerifiedBundle<'a>, BundleError> {
        let signer = match mode {
            Verification::InsecureSkip => None,
            Verification::Required => Some(self.check_signature(trust)?),
        };
        let index = self.parse_index()?;
        Ok(VerifiedBundle {
            parsed: self,
            signer,
            index,
        })
    }

    fn check_signature(&self, trust: &TrustStore) -> Result<KeyId, BundleError> {
        if !self.trailer.is_signed() {
            return Err(BundleError::Unsigned);
        }
        let id = KeyId(self.trailer.key_id);
        let candidates: Vec<_> = trust.find(&id.0).collect();
        if candidates.is_empty() {
            return Err(BundleError::UntrustedKey {
                key_id: id.to_string(),
                trusted: trust.describe(),
            });
        }
        let digest: [u8; 32] = Sha256::digest(self.body).into();
        let msg = signed_message(&self.trailer_bytes, &digest);
        let sig = Signature::from_bytes(&self.trailer.signature);
        if candidates
            .iter()
            .any(|k| k.key.verify_strict(&msg, &sig).is_ok())
        {
            Ok(id)
        } else {
            Err(BundleError::BadSignature {
                key_id: id.to_string(),
            })
        }
    }

    fn section(&self, offset: u64, len: u64) -> &'a [u8] {
        &self.body[offset as usize..(offset + len) as usize]
    }

    fn parse_index(&self) -> Result<Vec<AssetEntry>, BundleError> {
        let t = &self.trailer;
        let raw = self.section(t.index_offset, t.index_len);
        let wire: Vec<IndexEntryWire> =
            rmp_serde::from_slice(raw).map_err(|e| BundleError::BadIndex(e.to_string()))?;
        let mut out: Vec<AssetEntry> = Vec::with_capacity(wire.len());
        let mut expected_offset = 0u64;
        let mut raw_total = 0u64;
        for (i, e) in wire.iter().enumerate() {
            if let Some(prev) = out.last() {
                if prev.id == e.id {
                    return Err(BundleError::DuplicateAsset {
                        id: e.id.to_hex(),
                        first: i - 1,
                        second: i,
                    });
                }
                if prev.id > e.id {
                    // A duplicate further back shows up as disorder first;
                    // name it as a duplicate when it is one.
                    if let Some(first) = out.iter().position(|x| x.id == e.id) {
                        return Err(BundleError::DuplicateAsset {
                            id: e.id.to_hex(),
                            first,
                            second: i,
                        });
                    }
                    return Err(BundleError::IndexNotSorted {
                        index: i,
                        id: e.id.to_hex(),
                    });
                }
            }
            let end = e
                .offset
                .checked_add(e.len)
                .filter(|end| *end <= t.assets_len);
            if end.is_none() {
                return Err(BundleError::AssetOutOfBounds {
                    id: e.id.to_hex(),
                    offset: e.offset,
                    len: e.len,
                    section_len: t.assets_len,
                });
            }
            if e.offset != expected_offset {
                return Err(BundleError::AssetMisplaced {
                    id: e.id.to_hex(),
                    got: e.offset,
                    expected: expected_offset,
                });
            }
            if e.raw_len > self.limits.max_asset_raw {
                return Err(BundleError::LimitExceeded {
                    what: "declared asset size",
                    got: e.raw_len,
                    limit: self.limits.max_asset_raw,
                });
            }
            expected_offset += e.len;
            raw_total = raw_total.saturating_add(e.raw_len);
            out.push(AssetEntry {
                id: e.id,
                offset: e.offset,
                len: e.len,
                raw_len: e.raw_len,
            });
        }
        if expected_offset != t.assets_len {
            return Err(BundleError::SectionsLengthMismatch {
                got: t.assets_offset + expected_offset,
                expected: t.assets_offset + t.assets_len,
            });
        }
        if raw_total != t.assets_raw_len {
            return Err(BundleError::AssetsRawLenMismatch {
                got: raw_total,
                declared: t.assets_raw_len,
            });
        }
        Ok(out)
    }
}

/// A bundle whose signature (unless skipped) and index have been checked.
#[derive(Debug, Clone)]
pub struct VerifiedBundle<'a> {
    parsed: ParsedBundle<'a>,
    signer: Option<KeyId>,
    index: Vec<AssetEntry>,
}

impl<'a> VerifiedBundle<'a> {
    /// The key that signed it, or `None` when verification was skipped.
    pub fn signer(&self) -> Option<KeyId> {
        self.signer
    }

    pub fn trailer(&self) -> &Trailer {
        &self.parsed.trailer
    }

    pub fn body_start(&self) -> usize {
        self.parsed.body_start
    }

    pub fn assets(&self) -> &[AssetEntry] {
        &self.index
    }

    /// Decompresses (capped at the declared size) and decodes the plan.
    pub fn plan(&self) -> Result<Plan, BundleError> {
        let t = &self.parsed.trailer;
        let z = self.parsed.section(t.plan_offset, t.plan_len);
        let raw = decompress_capped(z, t.plan_raw_len, "plan")?;
        // The schema version first, on its own: a plan of another schema
        // is refused as such even when it would not decode as this one.
        let probe: SchemaProbe = decode_plan_part(&raw)?;
        if probe.schema_version != PLAN_SCHEMA_VERSION {
            return Err(BundleError::PlanSchemaVersion {
                got: probe.schema_version,
                supported: PLAN_SCHEMA_VERSION,
            });
        }
        let plan: Plan = decode_plan_part(&raw)?;
        for host in &plan.hosts {
            for play in &host.plays {
                for task in play.tasks.iter().chain(&play.handlers) {
                    for id in task.assets.values() {
                        if self.entry(id).is_none() {
                            return Err(BundleError::MissingAsset(id.to_hex()));
                        }
                    }
                }
            }
        }
        Ok(plan)
    }

    fn entry(&self, id: &AssetId) -> Option<&AssetEntry> {
        self.index
            .binary_search_by(|e| e.id.cmp(id))
            .ok()
            .map(|i| &self.index[i])
    }

    fn asset_stream(&self, e: &AssetEntry) -> &'a [u8] {
        let t = &self.parsed.trailer;
        self.parsed.section(t.assets_offset + e.offset, e.len)
    }

    /// Decompresses one asset (capped at its declared size) and checks its
    /// content hash.
    pub fn asset(&self, id: &AssetId) -> Result<Vec<u8>, BundleError> {
        let e = self
            .entry(id)
            .ok_or_else(|| BundleError::UnknownAsset(id.to_hex()))?;
        let data = decompress_capped(self.asset_stream(e), e.raw_len, &format!("asset {id}"))?;
        let got = AssetId::of(&data);
        if got != *id {
            return Err(BundleError::AssetHashMismatch {
                got: got.to_hex(),
                expected: id.to_hex(),
            });
        }
        Ok(data)
    }

    /// Decompresses every asset into a hasher (without keeping it) so that a
    /// bundle with any bad asset is refused before anything is applied.
    pub fn validate_assets(&self) -> Result<(), BundleError> {
        for e in &self.index {
            let what = format!("asset {}", e.id);
            let mut hasher = Sha256::new();
            let n = stream_capped(self.asset_stream(e), e.raw_len, &what, |chunk| {
                hasher.update(chunk)
            })?;
            if n != e.raw_len {
                return Err(BundleError::DecompressedSizeMismatch {
                    what,
                    got: n,
                    declared: e.raw_len,
                });
            }
            let got = AssetId(hasher.finalize().into());
            if got != e.id {
                return Err(BundleError::AssetHashMismatch {
                    got: got.to_hex(),
                    expected: e.id.to_hex(),
                });
            }
        }
        Ok(())
    }
}

/// Just the schema version of a plan (every other field is skipped).
#[derive(Deserialize)]
struct SchemaProbe {
    schema_version: u32,
}

/// Decodes the plan's MessagePack as `T` under the `MAX_PLAN_DEPTH` nesting limit.
fn decode_plan_part<'de, T: Deserialize<'de>>(raw: &'de [u8]) -> Result<T, BundleError> {
    let mut de = rmp_serde::Deserializer::from_read_ref(raw);
    de.set_max_depth(MAX_PLAN_DEPTH);
    T::deserialize(&mut de).map_err(|e| BundleError::PlanDecode(e.to_string()))
}

/// Streams the decompression of `z` into `sink`, failing as soon as the
/// output would exceed `declared` bytes. Returns the byte count.
fn stream_capped(
    z: &[u8],
    declared: u64,
    what: &str,
    mut sink: impl FnMut(&[u8]),
) -> Result<u64, BundleError> {
    let derr = |e: std::io::Error| BundleError::Decompress {
        what: what.to_owned(),
        reason: e.to_string(),
    };
    let mut dec = zstd::stream::read::Decoder::with_buffer(z).map_err(derr)?;
    dec.window_log_max(ZSTD_WINDOW_LOG_MAX).map_err(derr)?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = dec.read(&mut buf).map_err(derr)?;
        if n == 0 {
            return Ok(total);
        }
        total += n as u64;
        if total > declared {
            return Err(BundleError::DecompressedTooLarge {
                what: what.to_owned(),
                declared,
            });
        }
        sink(&buf[..n]);
    }
}

fn decompress_capped(z: &[u8], declared: u64, what: &str) -> Result<Vec<u8>, BundleError> {
    // Never pre-allocate more than a modest amount on the word of the file.
    let mut out = Vec::with_capacity(declared.min(16 << 20) as usize);
    let n = stream_capped(z, declared, what, |c| out.extend_from_slice(c))?;
    if n != declared {
        return Err(BundleError::DecompressedSizeMismatch {
            what: what.to_owned(),
            got: n,
            declared,
        });
    }
    Ok(out)
}
