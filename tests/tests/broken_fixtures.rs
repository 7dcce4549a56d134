//! Every deliberately broken bundle under `tests/data/bundles/` is refused
//! by the real `rustle-runner apply` with exit code 1 and a message, and
//! nothing is written in its working directory; the good ones apply.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use rustle_e2e::{bin, run, workspace_root};

#[test]
fn broken_bundles_are_refused_and_change_nothing() {
    let dir = workspace_root().join("tests/data/bundles");
    let key = dir.join("test-key.pub");
    let runner = bin("rustle-runner");
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rsl"))
        .collect();
    entries.sort();
    let mut broken = 0;
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("good") {
            continue;
        }
        broken += 1;
        let cwd = tempfile::tempdir().unwrap();
        let r = run(
            &runner,
            &[
                "apply",
                path.to_str().unwrap(),
                "--trust",
                key.to_str().unwrap(),
            ],
            cwd.path(),
        );
        assert_eq!(r.code, 1, "{name}: {}{}", r.stdout, r.stderr);
        assert!(r.stderr.starts_with("ERROR! "), "{name}: {}", r.stderr);
        assert!(r.stdout.is_empty(), "{name}: ran something:\n{}", r.stdout);
        let left: Vec<_> = std::fs::read_dir(cwd.path()).unwrap().collect();
        assert!(left.is_empty(), "{name}: wrote {left:?}");
    }
    assert!(broken >= 12, "only {broken} broken fixtures");
}
