//! Differential tests against `ansible-inventory` (ansible-core 2.18):
//! every case under `tests/data/<case>/` is loaded and its `--list`,
//! `--graph [--vars]` and `--host` outputs are compared with what Ansible
//! printed, recorded in `expected.json` by `tests/gen_expected.py`. When a
//! venv with ansible-core is available (`RUSTLE_ANSIBLE_VENV`, or `.venv`
//! at the workspace root), the recordings are also checked to be current.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;

use std::path::Path;

use rustle_inventory::output::{self, OutputOptions};
use rustle_inventory::pyfmt::json_dumps;
use rustle_inventory::{Inventory, Limit, LoadOptions};
use serde_json::Value as Json;

use common::{data_dir, read_json, venv};

fn cases() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(data_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| data_dir().join(n).join("case.json").exists())
        .collect();
    v.sort();
    v
}

fn check_case(name: &str) -> Vec<String> {
    let dir = data_dir().join(name);
    let case = read_json(&dir.join("case.json"));
    let expected = read_json(&dir.join("expected.json"));
    let sources: Vec<String> = case["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect();
    let inv = Inventory::load(
        &sources,
        &LoadOptions {
            cwd: dir.clone(),
            python_interpreter: "/usr/bin/python3".into(),
            ..Default::default()
        },
    );
    let opts = OutputOptions {
        playbook_dir: None,
        cwd: dir.clone(),
        export: false,
    };
    let mut failures = Vec::new();
    let limit = case["limit"]
        .as_str()
        .map(|l| Limit::parse(l, Path::new(&dir)).unwrap());

    // --list: compare parsed JSON (and the text re-parses to the same)
    let (list, _) = output::list(&inv, limit.as_ref(), &opts).unwrap();
    let reparsed: Json = serde_json::from_str(&json_dumps(&list)).unwrap();
    if reparsed != expected["list"] {
        failures.push(format!(
            "{name} --list\n  ours: {}\n  ansible: {}",
            list, expected["list"]
        ));
    }
    for (g, want) in expected["graph"].as_object().unwrap() {
        for (vars, want) in [(false, want), (true, &expected["graph_vars"][g])] {
            let ours = output::graph(&inv, g, vars, &opts)
                .map(|s| Json::String(s + "\n"))
                .unwrap_or_else(|e| Json::String(format!("error: {e}")));
            if &ours != want {
                failures.push(format!(
                    "{name} --graph {g} vars={vars}\n--- ours\n{}\n--- ansible\n{}",
                    ours.as_str().unwrap_or_default(),
                    want.as_str().unwrap_or(&want.to_string())
                ));
            }
        }
    }
    for (h, want) in expected["host"].as_object().unwrap() {
        let ours = match output::host(&inv, h, &opts) {
            Ok((v, _)) => v,
            Err(e) => Json::String(format!("error: {e}")),
        };
        if &ours != want {
            failures.push(format!(
                "{name} --host {h}\n  ours: {ours}\n  ansible: {want}"
            ));
        }
    }
    failures
}

#[test]
fn cases_match_ansible_inventory() {
    let cases = cases();
    assert!(cases.len() >= 15, "only {} cases", cases.len());
    let failures: Vec<String> = cases.iter().flat_map(|c| check_case(c)).collect();
    assert!(
        failures.is_empty(),
        "{} mismatches:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn recordings_are_current() {
    let Some(venv) = venv() else {
        eprintln!("no ansible venv: recordings not re-checked");
        return;
    };
    if std::env::var_os("RUSTLE_SKIP_RECORDING_CHECK").is_some() {
        return;
    }
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new(venv.join("bin/python"))
        .arg(here.join("tests/gen_expected.py"))
        .arg(data_dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fresh: Json = serde_json::from_slice(&out.stdout).unwrap();
    for (name, want) in fresh.as_object().unwrap() {
        let recorded = read_json(&data_dir().join(name).join("expected.json"));
        assert_eq!(
            &recorded, want,
            "tests/data/{name}/expected.json is stale: regenerate with tests/gen_expected.py --write"
        );
    }
}
