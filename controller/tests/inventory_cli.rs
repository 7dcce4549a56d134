//! `rustle inventory` against the `ansible-inventory` recordings of
//! `inventory/tests/data/` (see `inventory/tests/gen_expected.py`): stdout
//! and exit codes.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value as Json;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../inventory/tests/data")
}

fn rustle(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rustle"))
        .arg("inventory")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn json_file(p: &Path) -> Json {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn list_graph_host_match_recordings() {
    for case in [
        "ini_children",
        "group_vars_dirs",
        "multi_source",
        "yaml_basic",
    ] {
        let dir = data().join(case);
        let spec = json_file(&dir.join("case.json"));
        let expected = json_file(&dir.join("expected.json"));
        let mut inv: Vec<&str> = Vec::new();
        for s in spec["sources"].as_array().unwrap() {
            inv.push("-i");
            inv.push(s.as_str().unwrap());
        }
        let (rc, out, err) = rustle(&dir, &[&inv[..], &["--list"]].concat());
        assert_eq!(rc, 0, "{case}: {err}");
        let got: Json = serde_json::from_str(&out).unwrap();
        assert_eq!(got, expected["list"], "{case} --list");
        for (g, want) in expected["graph_vars"].as_object().unwrap() {
            let (rc, out, _) = rustle(&dir, &[&inv[..], &["--graph", g, "--vars"]].concat());
            assert_eq!(rc, 0);
            assert_eq!(out, want.as_str().unwrap(), "{case} --graph {g} --vars");
        }
        for (h, want) in expected["host"].as_object().unwrap() {
            let (rc, out, _) = rustle(&dir, &[&inv[..], &["--host", h]].concat());
            assert_eq!(rc, 0);
            let got: Json = serde_json::from_str(&out).unwrap();
            assert_eq!(&got, want, "{case} --host {h}");
        }
    }
}

#[test]
fn exit_codes_as_ansible_inventory() {
    let dir = data().join("ini_basic");
    let (rc, _, err) = rustle(&dir, &["-i", "hosts"]);
    assert_eq!(rc, 5);
    assert!(err.contains("No action selected"), "{err}");
    let (rc, _, err) = rustle(&dir, &["-i", "hosts", "--graph", "nosuch"]);
    assert_eq!(rc, 5);
    assert!(err.contains("Pattern must be valid group name"), "{err}");
    let (rc, _, err) = rustle(&dir, &["-i", "hosts", "--host", "nosuch"]);
    assert_eq!(rc, 5);
    assert!(err.contains("single valid host"), "{err}");
    assert!(err.contains("Could not match supplied host pattern, ignoring: nosuch"));
    // an unparseable source is a warning, and the run goes on
    let (rc, out, err) = rustle(&dir, &["-i", "does-not-exist", "--list"]);
    assert_eq!(rc, 0);
    assert!(err.contains("Unable to parse"), "{err}");
    assert!(err.contains("No inventory was parsed"), "{err}");
    let got: Json = serde_json::from_str(&out).unwrap();
    assert_eq!(got["all"]["children"][0], "ungrouped");
}
