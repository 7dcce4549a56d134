//! `setup` facts against Ansible's on this machine: when the Ansible venv
//! is there (`RUSTLE_ANSIBLE_VENV` or `.venv`), one playbook dumps
//! `ansible_facts` (and the fact names of a few `gather_subset` choices)
//! under `ansible-playbook` and under `rustle playbook`; every fact must be
//! equal, time-varying values masked (only their type is compared).

use std::path::Path;

use rustle_e2e::differential::ansible_venv;
use serde_json::{Map, Value};

const PLAYBOOK: &str = r#"
- hosts: localhost
  connection: local
  gather_facts: true
  tasks:
    - copy:
        content: "{{ ansible_facts | to_nice_json }}"
        dest: "{{ out }}/facts.json"
    - setup:
        gather_subset: ["!all", "!min", "network"]
      register: net
    - setup:
        gather_subset: ["!all"]
      register: min
    - setup:
        gather_subset: ["!hardware", "!network"]
        filter: ["ansible_distribution*", "ansible_processor*", "ansible_eth*", "ansible_user_id"]
      register: filtered
    - copy:
        content: "{{ {'net': net.ansible_facts.keys() | sort, 'min': min.ansible_facts.keys() | sort, 'filtered': filtered.ansible_facts.keys() | sort} | to_nice_json }}"
        dest: "{{ out }}/subsets.json"
"#;

/// Facts Rustle does not gather (see docs/facts.md) and facts only it has.
const NOT_GATHERED: [&str; 3] = [
    "system_capabilities",
    "system_capabilities_enforced",
    "_ansible_facts_gathered",
];
const ONLY_OURS: [&str; 1] = ["discovered_interpreter_python"];

/// Facts whose values change between two gatherings: only their type
/// (and, for objects, their keys) is compared.
const TIME_VARYING: [&str; 4] = ["uptime_seconds", "memfree_mb", "loadavg", "date_time"];

/// Mount fields that move with disk use.
const MOUNT_VARYING: [&str; 5] = [
    "block_available",
    "block_used",
    "size_available",
    "inode_available",
    "inode_used",
];

fn shape(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        Value::Array(a) => Value::Array(a.iter().map(shape).collect()),
        Value::Number(n) if n.is_f64() => Value::from("float"),
        Value::Number(_) => Value::from("int"),
        Value::String(_) => Value::from("str"),
        other => other.clone(),
    }
}

fn sorted(v: &Value) -> Value {
    let mut a: Vec<Value> = v.as_array().cloned().unwrap_or_default();
    a.sort_by_key(|x| x.to_string());
    Value::Array(a)
}

/// A fact's value with what may legitimately differ masked.
fn normalise(key: &str, v: &Value) -> Value {
    match key {
        k if TIME_VARYING.contains(&k) => {
            let mut s = shape(v);
            if k == "date_time" {
                // The time zone does not vary.
                for tz in ["tz", "tz_dst", "tz_offset"] {
                    if let (Some(o), Some(x)) = (s.as_object_mut(), v.get(tz)) {
                        o.insert(tz.into(), x.clone());
                    }
                }
            }
            s
        }
        "memory_mb" => {
            let mut s = shape(v);
            for p in ["/real/total", "/swap/total"] {
                if let (Some(slot), Some(x)) = (s.pointer_mut(p), v.pointer(p)) {
                    *slot = x.clone();
                }
            }
            s
        }
        // The environment differs in `_`, the program that was started.
        "env" => {
            let mut e = v.clone();
            if let Some(o) = e.as_object_mut() {
                o.remove("_");
            }
            e
        }
        // Python sets, whose order varies from run to run in Ansible.
        "interfaces" | "virtualization_tech_guest" | "virtualization_tech_host" => sorted(v),
        "mounts" => Value::Array(
            v.as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|mut m| {
                    if let Some(o) = m.as_object_mut() {
                        for k in MOUNT_VARYING {
                            if let Some(x) = o.get_mut(k) {
                                *x = shape(x);
                            }
                        }
                    }
                    m
                })
                .collect(),
        ),
        _ => v.clone(),
    }
}

fn load(p: &Path) -> Map<String, Value> {
    let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn run(program: &Path, args: &[&str], dir: &Path, out: &Path, python: &Path) {
    let o = std::process::Command::new(program)
        .args(args)
        .arg("site.yml")
        .arg("-e")
        .arg(format!("out={}", out.display()))
        .arg("-e")
        .arg(format!("ansible_python_interpreter={}", python.display()))
        .current_dir(dir)
        .env("ANSIBLE_NOCOLOR", "1")
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", program.display()));
    assert!(
        o.status.success(),
        "{} failed:\n{}\n{}",
        program.display(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn setup_facts_equal_ansibles() {
    let Some(venv) = ansible_venv() else {
        eprintln!("no Ansible venv (RUSTLE_ANSIBLE_VENV or .venv): facts parity not checked");
        return;
    };
    let rustle = rustle_e2e::bin("rustle");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("site.yml"), PLAYBOOK).expect("write playbook");
    let (theirs, ours) = (dir.path().join("ansible"), dir.path().join("rustle"));
    std::fs::create_dir_all(&theirs).expect("mkdir");
    std::fs::create_dir_all(&ours).expect("mkdir");
    let python = venv.join("bin/python3");
    run(
        &venv.join("bin/ansible-playbook"),
        &[],
        dir.path(),
        &theirs,
        &python,
    );
    run(&rustle, &["playbook"], dir.path(), &ours, &python);

    let want = load(&theirs.join("facts.json"));
    let got = load(&ours.join("facts.json"));
    let mut diffs = Vec::new();
    for (k, v) in &want {
        if NOT_GATHERED.contains(&k.as_str()) {
            continue;
        }
        match got.get(k) {
            None => diffs.push(format!("missing {k}: {v}")),
            Some(g) => {
                let (a, b) = (normalise(k, v), normalise(k, g));
                if a != b {
                    diffs.push(format!("{k}:\n  ansible: {a}\n  rustle:  {b}"));
                }
            }
        }
    }
    for k in got.keys() {
        if !want.contains_key(k) && !ONLY_OURS.contains(&k.as_str()) {
            diffs.push(format!("extra {k}: {}", got[k]));
        }
    }
    // The facts this project promises are all there (a gathering that
    // returned nothing must not pass).
    for k in [
        "hostname",
        "nodename",
        "fqdn",
        "domain",
        "system",
        "kernel",
        "kernel_version",
        "machine",
        "architecture",
        "distribution",
        "distribution_version",
        "distribution_major_version",
        "distribution_release",
        "os_family",
        "pkg_mgr",
        "service_mgr",
        "user_id",
        "user_uid",
        "user_gid",
        "user_dir",
        "user_shell",
        "env",
        "date_time",
        "processor",
        "processor_count",
        "processor_cores",
        "processor_vcpus",
        "memtotal_mb",
        "memfree_mb",
        "memory_mb",
        "swaptotal_mb",
        "lsb",
        "selinux",
        "apparmor",
        "uptime_seconds",
        "ansible_local",
        "mounts",
        "devices",
        "interfaces",
        "all_ipv4_addresses",
    ] {
        if !want.contains_key(k) && !got.contains_key(k) {
            diffs.push(format!("neither gathered {k}"));
        }
    }
    let (ws, gs) = (
        load(&theirs.join("subsets.json")),
        load(&ours.join("subsets.json")),
    );
    for k in ["net", "min", "filtered"] {
        let strip = |v: Option<&Value>| {
            let mut a = v.and_then(Value::as_array).cloned().unwrap_or_default();
            a.retain(|x| {
                let s = x.as_str().unwrap_or("");
                !NOT_GATHERED.iter().any(|n| s == format!("ansible_{n}")) && !ONLY_OURS.contains(&s)
            });
            a
        };
        let (a, b) = (strip(ws.get(k)), strip(gs.get(k)));
        if a != b {
            diffs.push(format!(
                "gather_subset {k} fact names:\n  ansible: {a:?}\n  rustle:  {b:?}"
            ));
        }
    }
    assert!(
        diffs.is_empty(),
        "{} fact(s) differ from Ansible's:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}
