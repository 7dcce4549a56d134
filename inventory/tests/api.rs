//! Library behaviours the recordings do not show: positions in parse
//! failures, the precedence layers, the implicit localhost.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::fs;
use std::path::Path;

use rustle_inventory::{Inventory, LoadOptions, VarsLayer};
use serde_json::json;

fn load(dir: &Path, sources: &[&str]) -> Inventory {
    Inventory::load(
        sources,
        &LoadOptions {
            cwd: dir.to_path_buf(),
            python_interpreter: "/opt/py/bin/python3".into(),
            ..Default::default()
        },
    )
}

#[test]
fn bad_range_is_a_warning_naming_the_file() {
    let t = tempfile::tempdir().unwrap();
    fs::write(t.path().join("hosts"), "[web]\nok1\nweb[01:3]\n").unwrap();
    fs::write(t.path().join("good.ini"), "[db]\ndb1\n").unwrap();
    let inv = load(t.path(), &["hosts", "good.ini"]);
    let w: Vec<&String> = inv.warnings().iter().collect();
    let path = t.path().join("hosts").display().to_string();
    assert!(
        w.iter().any(|m| m.contains(&format!(
            "Failed to parse {path} with ini plugin: host range must specify equal-length begin and end formats"
        ))),
        "{w:?}"
    );
    assert!(w
        .iter()
        .any(|m| *m == &format!("Unable to parse {path} as an inventory source")));
    // what the failed plugin added stays (as in Ansible), the run goes on
    let hosts = inv.get_hosts(&["all"], None, Default::default()).unwrap();
    assert_eq!(hosts.hosts, ["ok1", "db1"]);
}

#[test]
fn layers_in_precedence_order() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    fs::create_dir_all(d.join("inv/group_vars")).unwrap();
    fs::create_dir_all(d.join("inv/host_vars")).unwrap();
    fs::create_dir_all(d.join("play/group_vars")).unwrap();
    fs::create_dir_all(d.join("play/host_vars")).unwrap();
    fs::write(
        d.join("inv/hosts"),
        "[g]\nh1 v=host_file\n[g:vars]\nv=group_file\n[all:vars]\nv=all_file\n",
    )
    .unwrap();
    fs::write(d.join("inv/group_vars/all.yml"), "v: inv_all\n").unwrap();
    fs::write(d.join("inv/group_vars/g.yml"), "v: inv_g\n").unwrap();
    fs::write(d.join("inv/host_vars/h1.yml"), "v: inv_h1\n").unwrap();
    fs::write(d.join("play/group_vars/all.yml"), "v: play_all\n").unwrap();
    fs::write(d.join("play/group_vars/g.yml"), "v: play_g\n").unwrap();
    fs::write(d.join("play/host_vars/h1.yml"), "v: play_h1\n").unwrap();
    let inv = load(d, &["inv/hosts"]);
    let layers = inv.host_vars_layers("h1", &[d.join("play")]).unwrap();
    let got: Vec<(VarsLayer, serde_json::Value)> = layers
        .into_iter()
        .map(|(l, v)| (l, v.get("v").cloned().unwrap_or_default()))
        .collect();
    assert_eq!(
        got,
        [
            (VarsLayer::InventoryFileAll, json!("all_file")),
            (VarsLayer::InventoryFileGroups, json!("group_file")),
            (VarsLayer::InventoryGroupVarsAll, json!("inv_all")),
            (VarsLayer::PlaybookGroupVarsAll, json!("play_all")),
            (VarsLayer::InventoryGroupVars, json!("inv_g")),
            (VarsLayer::PlaybookGroupVars, json!("play_g")),
            (VarsLayer::InventoryFileHost, json!("host_file")),
            (VarsLayer::InventoryHostVars, json!("inv_h1")),
            (VarsLayer::PlaybookHostVars, json!("play_h1")),
        ]
    );
    let all = inv.host_vars("h1", &[d.join("play")]).unwrap();
    assert_eq!(all["v"], "play_h1");
    assert_eq!(all["inventory_hostname"], "h1");
    assert_eq!(all["group_names"], json!(["g"]));
    assert_eq!(
        all["inventory_file"],
        json!(d.join("inv/hosts").display().to_string())
    );
}

#[test]
fn implicit_localhost() {
    let t = tempfile::tempdir().unwrap();
    fs::write(t.path().join("hosts"), "[all:vars]\na=1\n[g]\nh1\n").unwrap();
    let inv = load(t.path(), &["hosts"]);
    // not in `all`
    let all = inv.get_hosts(&["all"], None, Default::default()).unwrap();
    assert_eq!(all.hosts, ["h1"]);
    let lh = inv
        .get_hosts(&["localhost"], None, Default::default())
        .unwrap();
    assert_eq!(lh.hosts, ["localhost"]);
    let v = inv.host_vars("localhost", &[]).unwrap();
    assert_eq!(v["ansible_connection"], "local");
    assert_eq!(v["ansible_python_interpreter"], "/opt/py/bin/python3");
    assert_eq!(v["a"], 1);
    assert_eq!(v["group_names"], json!([]));
    assert!(inv.host_vars("nosuch", &[]).is_err());
}

#[test]
fn bad_vars_file_is_an_error() {
    let t = tempfile::tempdir().unwrap();
    fs::create_dir_all(t.path().join("group_vars")).unwrap();
    fs::write(t.path().join("hosts"), "h1\n").unwrap();
    fs::write(t.path().join("group_vars/all.yml"), "- a\n- b\n").unwrap();
    let inv = load(t.path(), &["hosts"]);
    let e = inv.host_vars("h1", &[]).unwrap_err().to_string();
    assert!(e.contains("group_vars/all.yml"), "{e}");
    assert!(
        e.contains("expected dicts but got a 'dict' and a 'list'"),
        "{e}"
    );
}
