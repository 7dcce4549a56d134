//! Loads every file of `tests/corpus/` and compares the typed tree with
//! what Ansible's own loader (ansible-core on PyYAML) produced, recorded in
//! `tests/expected.json` by `tests/gen_expected.py`. When a venv with
//! ansible-core is available (`RUSTLE_ANSIBLE_VENV`, or `.venv` at the
//! workspace root), the recording is also checked to be current.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::path::{Path, PathBuf};

use rustle_yaml::{load_all, Node, Value};
use serde_json::{json, Value as Json};

fn py_float(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    if f == f.trunc() && f.abs() < 1e16 {
        return format!("{f:.1}");
    }
    format!("{f:?}")
}

fn typed(n: &Node) -> Json {
    match &n.value {
        Value::Null => json!({"t": "null"}),
        Value::Bool(b) => json!({"t": "bool", "v": b}),
        Value::Int(i) => json!({"t": "int", "v": i.to_string()}),
        Value::BigInt(s) => json!({"t": "int", "v": s}),
        Value::Float(f) => json!({"t": "float", "v": py_float(*f)}),
        Value::Str(s) => json!({"t": "str", "v": s}),
        Value::Unsafe(s) => json!({"t": "unsafe", "v": s}),
        Value::Vault(s) => json!({"t": "vault", "v": s}),
        Value::Timestamp(_) => json!({"t": "timestamp"}),
        Value::Binary(b) => {
            json!({"t": "binary", "v": b.iter().map(|&c| c as char).collect::<String>()})
        }
        Value::Seq(items) => json!({"t": "seq", "v": items.iter().map(typed).collect::<Vec<_>>()}),
        Value::Map(entries) => json!({
            "t": "map",
            "v": entries.iter().map(|(k, v)| json!([typed(k), typed(v)])).collect::<Vec<_>>()
        }),
    }
}

fn here() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn ours(corpus: &Path) -> Json {
    let mut out = serde_json::Map::new();
    let mut names: Vec<_> = std::fs::read_dir(corpus)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    for name in names {
        let text = std::fs::read_to_string(corpus.join(&name)).unwrap();
        let entry = match load_all(&text, &name) {
            Ok(l) => json!({
                "docs": l.documents.iter().map(typed).collect::<Vec<_>>(),
                "warnings": l.warnings.len(),
            }),
            Err(e) => json!({"error": "error", "detail": e.to_string()}),
        };
        out.insert(name, entry);
    }
    Json::Object(out)
}

#[test]
fn corpus_matches_ansible_loader() {
    let expected: Json =
        serde_json::from_str(&std::fs::read_to_string(here().join("tests/expected.json")).unwrap())
            .unwrap();
    let got = ours(&here().join("tests/corpus"));
    let (e, g) = (expected.as_object().unwrap(), got.as_object().unwrap());
    assert_eq!(e.keys().collect::<Vec<_>>(), g.keys().collect::<Vec<_>>());
    for (name, want) in e {
        let have = &g[name];
        if want.get("error").is_some() {
            assert!(
                have.get("error").is_some(),
                "{name}: Ansible fails, we loaded {have}"
            );
            continue;
        }
        assert_eq!(
            have.get("warnings"),
            want.get("warnings"),
            "{name}: warning count"
        );
        let (wd, hd) = (want["docs"].as_array().unwrap(), have["docs"].as_array());
        let hd = hd.unwrap_or_else(|| panic!("{name}: we failed: {have}"));
        assert_eq!(wd.len(), hd.len(), "{name}: document count");
        for (i, (w, h)) in wd.iter().zip(hd).enumerate() {
            if let (Some(wi), Some(hi)) = (w["v"].as_array(), h["v"].as_array()) {
                // Compare element by element for a readable failure.
                for (j, (a, b)) in wi.iter().zip(hi).enumerate() {
                    assert_eq!(b, a, "{name}: doc {i} item {j}");
                }
            }
            assert_eq!(h, w, "{name}: doc {i}");
        }
    }
}

#[test]
fn recording_is_current() {
    let root = here().parent().unwrap().to_path_buf();
    let venv = std::env::var_os("RUSTLE_ANSIBLE_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".venv"));
    let py = venv.join("bin/python");
    if !py.exists() {
        eprintln!(
            "no ansible venv at {}: recording not re-checked",
            venv.display()
        );
        return;
    }
    let out = std::process::Command::new(&py)
        .arg(here().join("tests/gen_expected.py"))
        .arg(here().join("tests/corpus"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fresh: Json = serde_json::from_slice(&out.stdout).unwrap();
    let recorded: Json =
        serde_json::from_str(&std::fs::read_to_string(here().join("tests/expected.json")).unwrap())
            .unwrap();
    assert_eq!(
        fresh, recorded,
        "tests/expected.json is stale: regenerate it"
    );
}
