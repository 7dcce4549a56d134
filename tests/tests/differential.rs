//! The language differential suite: `tests/data/differential/*` run
//! through `ansible-playbook` (recorded) and `rustle playbook`; exit code
//! and stdout must be identical. See `rustle_e2e::differential`.

use rustle_e2e::bin;
use rustle_e2e::differential::{check_recordings, check_suite, Streams};

const SUITE: &str = "differential";

#[test]
fn rustle_matches_ansible() {
    check_suite(SUITE, Streams::Stdout, &bin("rustle"), 60);
}

#[test]
fn recordings_are_current() {
    check_recordings(SUITE, Streams::Stdout);
}
