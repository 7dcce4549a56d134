//! Host patterns against Ansible: `tests/data/patterns/expected.json`
//! holds what `ansible -i hosts PATTERN --list-hosts [-l LIMIT]` listed
//! (and, for the `order:` keyword, the order a `serial: 1` play ran the
//! hosts in), recorded by `tests/gen_expected.py` (checked to be current by
//! `tests/parity.rs`).

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;

use rustle_inventory::{HostOrder, Inventory, Limit, LoadOptions};
use serde_json::{json, Value as Json};

use common::{data_dir, read_json};

#[test]
fn patterns_match_ansible() {
    let dir = data_dir().join("patterns");
    let items = read_json(&dir.join("patterns.json"));
    let expected = read_json(&dir.join("expected.json"));
    let inv = Inventory::load(
        &["hosts"],
        &LoadOptions {
            cwd: dir.clone(),
            python_interpreter: "/usr/bin/python3".into(),
            ..Default::default()
        },
    );
    let mut failures = Vec::new();
    let items = items.as_array().unwrap();
    assert!(items.len() >= 25);
    // the recording keeps Ansible's "Could not match" warnings only
    let recorded = |w: &rustle_inventory::Warnings| -> Vec<String> {
        w.iter()
            .filter(|m| m.starts_with("Could not match supplied host pattern"))
            .cloned()
            .collect()
    };
    for it in items {
        let pattern = it["pattern"].as_str().unwrap();
        let limit = it["limit"].as_str();
        let order = it["order"].as_str();
        let key = format!(
            "{pattern}{}{}",
            limit.map(|l| format!("  -l {l}")).unwrap_or_default(),
            order.map(|o| format!("  order={o}")).unwrap_or_default()
        );
        let want = &expected[&key];
        let limit = limit.map(|l| Limit::parse(l, &dir).unwrap());
        let got: Json = match order {
            Some(o) => {
                let order: HostOrder = o.parse().unwrap();
                let sel = inv.get_hosts(&[pattern], limit.as_ref(), order).unwrap();
                json!({"hosts": sel.hosts, "warnings": recorded(&sel.warnings)})
            }
            None => match inv.list_hosts(pattern, limit.as_ref()) {
                Ok(sel) => json!({"hosts": sel.hosts, "warnings": recorded(&sel.warnings)}),
                // ad-hoc turns a pattern error into "No hosts matched"
                Err(_) if limit.is_none() => json!({"hosts": [], "warnings": []}),
                Err(e) => json!({"error": e.to_string()}),
            },
        };
        let got = match order {
            // the play output shows the order; warnings are not recorded
            Some(_) => json!({"hosts": got["hosts"], "warnings": want["warnings"]}),
            None => got,
        };
        if &got != want {
            failures.push(format!("{key}\n  ours: {got}\n  ansible: {want}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn shuffle_keeps_the_hosts() {
    let dir = data_dir().join("patterns");
    let inv = Inventory::load(
        &["hosts"],
        &LoadOptions {
            cwd: dir,
            python_interpreter: "/usr/bin/python3".into(),
            ..Default::default()
        },
    );
    let mut a = inv
        .get_hosts(&["all"], None, HostOrder::Shuffle)
        .unwrap()
        .hosts;
    let mut b = inv
        .get_hosts(&["all"], None, HostOrder::Inventory)
        .unwrap()
        .hosts;
    a.sort();
    b.sort();
    assert_eq!(a, b);
    assert!("bogus".parse::<HostOrder>().is_err());
}
