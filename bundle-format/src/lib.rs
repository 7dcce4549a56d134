//! Rustle bundle format v1.
//!
//! A bundle is a signed, compressed execution plan plus content-addressed
//! assets. It is either a stand-alone `.rsl` file or appended to a
//! `rustle-runner` executable; a fixed-size trailer at the end of the file
//! (magic `RUSTLE01`) locates everything. The byte layout is specified in
//! `docs/bundle-format.md`; this crate is the reference implementation and
//! holds the plan types that both the controller and the runner use.

mod asset;
mod error;
mod keys;
mod plan;
mod reader;
mod trailer;
mod writer;

pub use asset::AssetId;
pub use error::BundleError;
pub use keys::{KeyError, KeyId, PublicKey, SecretKey, TrustStore};
pub use plan::{HostPlan, Plan, PlayPlan, Task, PLAN_SCHEMA_VERSION};
pub use reader::{AssetEntry, Limits, ParsedBundle, Verification, VerifiedBundle};
pub use trailer::{Magic, Trailer, FORMAT_VERSION, MAGIC, TRAILER_LEN};
pub use writer::BundleBuilder;
