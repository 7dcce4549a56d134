//! Compares the Templar with results recorded from real ansible-core 2.18
//! (`tests/recorded.json`, produced by `tests/record.py`).
//!
//! When an Ansible venv is available (`RUSTLE_ANSIBLE_VENV`, else the
//! workspace's `.venv`), `recording_is_current` re-records and checks the
//! committed file is up to date.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustle_template::{strip_unsafe, Templar, TemplarOptions, Vars};
use serde_json::{Map, Value};

/// Inputs whose result is known to differ from Ansible (see the crate docs).
const KNOWN_GAPS: &[&str] = &[
    // Ansible reports YAML strings as AnsibleUnicode
    "{{ s | type_debug }}",
    // PyYAML indents continuation lines of multi-line quoted scalars
    "{{ {'k': 'multi\nline', 'q': \"it's\"} | to_yaml }}",
];

fn here() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests")
}

fn load() -> Value {
    let text = std::fs::read_to_string(here().join("recorded.json")).expect("recorded.json");
    serde_json::from_str(&text).expect("valid json")
}

fn templar() -> Templar {
    Templar::new(TemplarOptions {
        playbook_dir: Some(here().join("fixtures")),
        ..Default::default()
    })
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(p), Some(q)) => {
                (p - q).abs() <= 1e-9 * p.abs().max(1.0) && x.is_f64() == y.is_f64()
            }
            _ => x == y,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((k1, v1), (k2, v2))| k1 == k2 && same(v1, v2))
        }
        _ => a == b,
    }
}

struct Outcome {
    total: usize,
    failures: Vec<String>,
    gap_hits: usize,
}

fn run_cases(rec: &Value) -> Outcome {
    // the recording ran with RUSTLE_TEST_ENV=hello and cwd = fixtures
    std::env::set_var("RUSTLE_TEST_ENV", "hello");
    std::env::set_current_dir(here().join("fixtures")).expect("cwd");
    let vars: Map<String, Value> = rec["vars"].as_object().cloned().unwrap_or_default();
    let vars: Arc<dyn Vars> = Arc::new(vars);
    let t = templar();
    let mut failures = Vec::new();
    let mut gap_hits = 0;
    let cases = rec["cases"].as_array().cloned().unwrap_or_default();
    for c in &cases {
        let kind = c["kind"].as_str().unwrap_or_default();
        let input = &c["input"];
        let flags = c["flags"].as_str().unwrap_or_default();
        let got: Result<Value, String> = if kind == "template" {
            t.template(input, &vars)
                .map(|v| strip_unsafe(&v))
                .map_err(|e| e.message)
        } else {
            t.evaluate_conditional(input, &vars)
                .map(Value::Bool)
                .map_err(|e| e.message)
        };
        let ok = match (c.get("result"), c.get("error"), &got) {
            (Some(want), _, Ok(v)) => {
                if flags.contains("nondet") {
                    std::mem::discriminant(want) == std::mem::discriminant(v)
                } else {
                    same(want, v)
                }
            }
            (_, Some(want), Err(msg)) => {
                !flags.contains("msg") || want.as_str() == Some(msg.as_str())
            }
            _ => false,
        };
        if !ok {
            let shown = input.to_string();
            if KNOWN_GAPS.iter().any(|g| input.as_str() == Some(g)) {
                gap_hits += 1;
                continue;
            }
            failures.push(format!(
                "{kind} {shown}\n    ansible: {}\n    rustle:  {:?}",
                c.get("result")
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| format!("ERROR {}", c["error"])),
                got
            ));
        }
    }
    Outcome {
        total: cases.len(),
        failures,
        gap_hits,
    }
}

#[test]
fn matches_recorded_ansible() {
    let rec = load();
    let out = run_cases(&rec);
    let passed = out.total - out.failures.len() - out.gap_hits;
    println!(
        "ansible parity: {passed}/{} passed, {} known gaps, {} failed",
        out.total,
        out.gap_hits,
        out.failures.len()
    );
    assert!(out.total >= 200, "too few recorded cases");
    assert!(
        out.failures.is_empty(),
        "{} mismatches:\n{}",
        out.failures.len(),
        out.failures.join("\n")
    );
}

fn venv() -> Option<PathBuf> {
    let p = std::env::var_os("RUSTLE_ANSIBLE_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| here().join("../../.venv"));
    p.join("bin/ansible-playbook").exists().then_some(p)
}

#[test]
fn recording_is_current() {
    let Some(venv) = venv() else {
        println!("no Ansible venv: skipping the re-recording check");
        return;
    };
    let out = tempfile::NamedTempFile::new().expect("tmp");
    let py = venv.join("bin/python");
    let status = std::process::Command::new(if py.exists() {
        py.as_path()
    } else {
        Path::new("python3")
    })
    .arg(here().join("record.py"))
    .arg("--out")
    .arg(out.path())
    .env("RUSTLE_ANSIBLE_VENV", &venv)
    .status()
    .expect("run record.py");
    assert!(status.success(), "record.py failed");
    let fresh: Value =
        serde_json::from_str(&std::fs::read_to_string(out.path()).expect("read")).expect("json");
    let committed = load();
    let strip = |v: &Value| -> Vec<Value> {
        v["cases"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|c| !c["flags"].as_str().unwrap_or_default().contains("nondet"))
            .collect()
    };
    assert_eq!(
        fresh["vars"], committed["vars"],
        "recorded vars are stale: re-run tests/record.py"
    );
    assert_eq!(
        strip(&fresh),
        strip(&committed),
        "recorded.json is stale: re-run tests/record.py"
    );
}
