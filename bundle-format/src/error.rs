use thiserror::Error;

fn show_magic(m: &[u8; 8]) -> String {
    m.iter()
        .map(|&b| {
            if b.is_ascii_graphic() {
                (b as char).to_string()
            } else {
                format!("\\x{b:02x}")
            }
        })
        .collect()
}

/// Why a bundle was refused (or could not be written). Each check of the
/// reader has its own variant, with what it got and what it expected.
#[derive(Debug, Error)]
pub enum BundleError {
    #[error("bundle truncated: file is {got} bytes, need at least {need}")]
    Truncated { got: u64, need: u64 },

    #[error("not a rustle bundle: trailer magic is \"{}\", expected \"{}\"", show_magic(.got), show_magic(.expected))]
    BadMagic { got: [u8; 8], expected: [u8; 8] },

    #[error("unsupported bundle format version {got} (this reader supports version {supported})")]
    UnsupportedVersion { got: u16, supported: u16 },

    #[error("bad trailer length {got}, expected {expected} for format version 1")]
    BadTrailerLength { got: u32, expected: u32 },

    #[error("unknown trailer flags {got:#06x} (known: {known:#06x})")]
    UnknownFlags { got: u16, known: u16 },

    #[error("bundle body of {body_len} bytes does not fit in a file of {file_len} bytes (trailer is {trailer_len})")]
    BodyPastEnd {
        body_len: u64,
        file_len: u64,
        trailer_len: u64,
    },

    #[error(
        "{section} section at offset {got_offset} is misplaced: expected offset {expected_offset}"
    )]
    SectionMisplaced {
        section: &'static str,
        got_offset: u64,
        expected_offset: u64,
    },

    #[error("sections end at body offset {got}, but the body is {expected} bytes")]
    SectionsLengthMismatch { got: u64, expected: u64 },

    #[error("{what} of {got} bytes exceeds the limit of {limit} bytes")]
    LimitExceeded {
        what: &'static str,
        got: u64,
        limit: u64,
    },

    #[error("bundle is not signed (refused; pass --insecure-skip-verify to run it anyway)")]
    Unsigned,

    #[error("bundle is signed by key {key_id}, which is not trusted (trusted: {trusted})")]
    UntrustedKey { key_id: String, trusted: String },

    #[error("bad signature: bundle signed by key {key_id} does not verify (the bundle was modified after signing)")]
    BadSignature { key_id: String },

    #[error("{what}: decompressed data exceeds its declared size of {declared} bytes")]
    DecompressedTooLarge { what: String, declared: u64 },

    #[error("{what}: decompressed to {got} bytes, declared {declared}")]
    DecompressedSizeMismatch {
        what: String,
        got: u64,
        declared: u64,
    },

    #[error("{what}: corrupt compressed data: {reason}")]
    Decompress { what: String, reason: String },

    #[error("asset index: {0}")]
    BadIndex(String),

    #[error("asset index lists asset {id} twice (entries {first} and {second})")]
    DuplicateAsset {
        id: String,
        first: usize,
        second: usize,
    },

    #[error("asset index is not sorted: entry {index} ({id}) comes after a larger id")]
    IndexNotSorted { index: usize, id: String },

    #[error("asset {id}: range {offset}+{len} lies outside the {section_len}-byte asset section")]
    AssetOutOfBounds {
        id: String,
        offset: u64,
        len: u64,
        section_len: u64,
    },

    #[error("asset {id}: starts at offset {got}, expected {expected} (assets must tile the section in index order)")]
    AssetMisplaced { id: String, got: u64, expected: u64 },

    #[error("asset sizes add up to {got} raw bytes, trailer declares {declared}")]
    AssetsRawLenMismatch { got: u64, declared: u64 },

    #[error("asset content hash mismatch: got {got}, expected {expected}")]
    AssetHashMismatch { got: String, expected: String },

    #[error("plan references asset {0}, which the bundle does not contain")]
    MissingAsset(String),

    #[error("asset {0} is not in this bundle")]
    UnknownAsset(String),

    #[error("plan: cannot decode MessagePack: {0}")]
    PlanDecode(String),

    #[error("plan: unsupported schema version {got} (this reader supports {supported})")]
    PlanSchemaVersion { got: u32, supported: u32 },

    #[error("plan: cannot encode: {0}")]
    PlanEncode(String),

    #[error("I/O error on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}
