pub mod common;
pub mod copy;
pub mod file;
pub mod stat;
pub mod tempfile;
