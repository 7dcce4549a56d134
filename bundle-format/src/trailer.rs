//! The fixed-size trailer at the very end of a bundle file.
//!
//! All integers are little-endian. Offsets are relative to the start of the
//! bundle body, never absolute, so that a bundle stays valid (and its
//! signature too) when it is appended to a runner executable.

use crate::error::BundleError;

/// The 8 magic bytes that end every bundle file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Magic(pub [u8; 8]);

/// `RUSTLE01`.
pub const MAGIC: Magic = Magic(*b"RUSTLE01");

/// The container format version this crate reads and writes.
pub const FORMAT_VERSION: u16 = 1;

/// Trailer length in bytes for format version 1.
pub const TRAILER_LEN: usize = 160;

/// Flag bit: the bundle carries an ed25519 signature.
pub const FLAG_SIGNED: u16 = 1;

/// Bytes of the trailer that the signature covers: everything but the
/// signature itself (bytes 0..80 and 144..160).
pub(crate) const SIGNED_HEAD: std::ops::Range<usize> = 0..80;
pub(crate) const SIGNED_TAIL: std::ops::Range<usize> = 144..160;

/// The decoded trailer. Field meanings are in `docs/bundle-format.md`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trailer {
    pub body_len: u64,
    pub plan_offset: u64,
    pub plan_len: u64,
    pub plan_raw_len: u64,
    pub index_offset: u64,
    pub index_len: u64,
    pub assets_offset: u64,
    pub assets_len: u64,
    pub assets_raw_len: u64,
    pub key_id: [u8; 8],
    pub signature: [u8; 64],
    pub trailer_len: u32,
    pub version: u16,
    pub flags: u16,
    pub magic: Magic,
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

impl Trailer {
    pub fn is_signed(&self) -> bool {
        self.flags & FLAG_SIGNED != 0
    }

    /// Encodes the trailer into its 160 bytes.
    pub fn encode(&self) -> [u8; TRAILER_LEN] {
        let mut b = [0u8; TRAILER_LEN];
        let fields = [
            self.body_len,
            self.plan_offset,
            self.plan_len,
            self.plan_raw_len,
            self.index_offset,
            self.index_len,
            self.assets_offset,
            self.assets_len,
            self.assets_raw_len,
        ];
        for (i, v) in fields.iter().enumerate() {
            b[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
        }
        b[72..80].copy_from_slice(&self.key_id);
        b[80..144].copy_from_slice(&self.signature);
        b[144..148].copy_from_slice(&self.trailer_len.to_le_bytes());
        b[148..150].copy_from_slice(&self.version.to_le_bytes());
        b[150..152].copy_from_slice(&self.flags.to_le_bytes());
        b[152..160].copy_from_slice(&self.magic.0);
        b
    }

    /// Decodes the trailer at the end of `file`, checking (in this order)
    /// the file is long enough, the magic, and the version.
    pub fn decode(file: &[u8]) -> Result<Trailer, BundleError> {
        if file.len() < 16 {
            return Err(BundleError::Truncated {
                got: file.len() as u64,
                need: TRAILER_LEN as u64,
            });
        }
        let tail = &file[file.len() - 16..];
        let mut magic = [0u8; 8];
        magic.copy_from_slice(&tail[8..16]);
        if Magic(magic) != MAGIC {
            return Err(BundleError::BadMagic {
                got: magic,
                expected: MAGIC.0,
            });
        }
        let version = u16::from_le_bytes([tail[4], tail[5]]);
        if version != FORMAT_VERSION {
            return Err(BundleError::UnsupportedVersion {
                got: version,
                supported: FORMAT_VERSION,
            });
        }
        let trailer_len = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]);
        if trailer_len as usize != TRAILER_LEN {
            return Err(BundleError::BadTrailerLength {
                got: trailer_len,
                expected: TRAILER_LEN as u32,
            });
        }
        if file.len() < TRAILER_LEN {
            return Err(BundleError::Truncated {
                got: file.len() as u64,
                need: TRAILER_LEN as u64,
            });
        }
        let b = &file[file.len() - TRAILER_LEN..];
        let mut key_id = [0u8; 8];
        key_id.copy_from_slice(&b[72..80]);
        let mut signature = [0u8; 64];
        signature.copy_from_slice(&b[80..144]);
        Ok(Trailer {
            body_len: u64_at(b, 0),
            plan_offset: u64_at(b, 8),
            plan_len: u64_at(b, 16),
            plan_raw_len: u64_at(b, 24),
            index_offset: u64_at(b, 32),
            index_len: u64_at(b, 40),
            assets_offset: u64_at(b, 48),
            assets_len: u64_at(b, 56),
            assets_raw_len: u64_at(b, 64),
            key_id,
            signature,
            trailer_len,
            version,
            flags: u16::from_le_bytes([tail[6], tail[7]]),
            magic: Magic(magic),
        })
    }

    /// The trailer bytes covered by the signature.
    pub(crate) fn signed_bytes(encoded: &[u8; TRAILER_LEN]) -> impl Iterator<Item = &[u8]> {
        [&encoded[SIGNED_HEAD], &encoded[SIGNED_TAIL]].into_iter()
    }
}
