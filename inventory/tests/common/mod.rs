//! Shared helpers of the recording-based tests.

#![allow(dead_code, clippy::unwrap_used)] // tests: a panic is the failure report

use std::path::{Path, PathBuf};

use serde_json::Value as Json;

pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

pub fn read_json(p: &Path) -> Json {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The ansible venv (`RUSTLE_ANSIBLE_VENV`, else `.venv` at the workspace
/// root), if it has Python.
pub fn venv() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    let venv = std::env::var_os("RUSTLE_ANSIBLE_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".venv"));
    venv.join("bin/python").exists().then_some(venv)
}
