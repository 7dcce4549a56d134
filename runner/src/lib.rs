//! `rustle-runner`: executes Rustle plans on a host.
//!
//! The same engine serves `connection: local` runs in the controller, the
//! `serve` channel the controller drives over SSH, and offline bundles
//! applied with `rustle-runner apply`.

pub mod args;
pub mod asyncjob;
pub mod docs;
pub mod engine;
pub mod facts;
pub mod fsutil;
pub mod local_facts;
pub mod modules;
pub mod output;
pub mod protocol;
pub mod pyjson;
pub mod result;
pub mod session;

/// The target triple this runner was built for.
pub const TARGET: &str = env!("RUSTLE_TARGET");
