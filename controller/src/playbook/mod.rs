//! The playbook language: loading playbooks, task files and roles.

pub mod error;
pub mod keywords;
pub mod load;
pub mod model;
pub use rustle_template::splitter;

pub use error::{ErrorKind, ParseError, SrcPos};
pub use load::{LoadOptions, Loader, Warning};
pub use model::*;
