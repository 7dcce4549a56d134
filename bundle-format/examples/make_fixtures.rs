//! Writes the bundle fixtures of `tests/data/bundles/`:
//!
//!     cargo run -p rustle-bundle --example make_fixtures -- tests/data/bundles
//!
//! The output is deterministic (fixed seed keys, fixed zstd level); the
//! tests check that the committed files equal what this produces.

#[path = "../tests/support/fixtures.rs"]
mod fixtures;

use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "tests/data/bundles".to_owned()),
    );
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("cannot create {}: {e}", dir.display());
        std::process::exit(1);
    }
    let files = fixtures::all_files();
    // Remove fixtures that the generator no longer makes.
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".rsl") && !files.iter().any(|(n, _)| *n == name) {
                println!("removing stale {name}");
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    for (name, bytes) in &files {
        let path = dir.join(name);
        if let Err(e) = std::fs::write(&path, bytes) {
            eprintln!("cannot write {}: {e}", path.display());
            std::process::exit(1);
        }
        println!("{:>9} bytes  {}", bytes.len(), path.display());
    }
}
