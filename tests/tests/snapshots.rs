//! Output formats pinned as snapshots (insta): the default callback, `-v`,
//! `--diff`, the json callback, failures, unreachable hosts, handlers,
//! loops and includes. Each case under `tests/data/snapshots/` runs as a
//! differential case does (private copy, `$CASE` for its path, ids and
//! times masked for json); its exit code, stdout and stderr make the
//! snapshot. The cases were checked against ansible-playbook when written
//! (the differential suite keeps checking the same behaviours); a snapshot
//! change means rustle's output changed: review it with `cargo insta review`.

use rustle_e2e::bin;
use rustle_e2e::differential::{cases, run_case, Streams};

#[test]
fn output_formats() {
    let rustle = bin("rustle");
    let all = cases("snapshots");
    assert!(all.len() >= 9, "snapshot cases missing: {}", all.len());
    for case in all {
        let out = run_case(&case, &rustle, &["playbook"], Streams::All);
        let text = format!(
            "exit code: {}\n--- stdout\n{}--- stderr\n{}",
            out["rc"],
            out["stdout"].as_str().unwrap_or_default(),
            out["stderr"].as_str().unwrap_or_default()
        );
        insta::assert_snapshot!(case.name.clone(), text);
    }
}
