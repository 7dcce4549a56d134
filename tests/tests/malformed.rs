//! The malformed-input suite: `tests/data/malformed/*` are broken
//! playbooks, inventories and expressions; rustle must print the same
//! error (file, line, column, excerpt) and exit with the same code as
//! `ansible-playbook`, and never panic. See `rustle_e2e::differential`.

use rustle_e2e::bin;
use rustle_e2e::differential::{check_recordings, check_suite, Streams};

const SUITE: &str = "malformed";

#[test]
fn rustle_matches_ansible() {
    check_suite(SUITE, Streams::All, &bin("rustle"), 40);
}

#[test]
fn recordings_are_current() {
    check_recordings(SUITE, Streams::All);
}
