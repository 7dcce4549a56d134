//! `docs/modules.md` is generated from the module registry: it must equal
//! `rustle doc --markdown` (regenerate with `RUSTLE_RECORD=1`), and
//! `rustle doc MODULE` prints that module's section.

use std::path::PathBuf;
use std::process::Command;

fn docs_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/modules.md")
}

#[test]
fn modules_md_is_generated_from_the_registry() {
    let generated = rustle::doc::markdown();
    if std::env::var_os("RUSTLE_RECORD").is_some() {
        std::fs::write(docs_path(), &generated).expect("write docs/modules.md");
        return;
    }
    let on_disk = std::fs::read_to_string(docs_path()).expect("read docs/modules.md");
    assert!(
        on_disk == generated,
        "docs/modules.md is out of date: regenerate it with \
         `RUSTLE_RECORD=1 cargo test -p rustle --test module_docs`"
    );
}

#[test]
fn every_module_documents_every_argument() {
    for d in rustle::doc::all() {
        assert!(!d.description.is_empty(), "{} has no description", d.name);
        for a in d.spec.args.iter().filter(|a| !a.internal) {
            assert!(
                !a.doc.is_empty(),
                "{}: argument {} has no doc",
                d.name,
                a.name
            );
        }
    }
}

#[test]
fn rustle_doc_prints_a_modules_section() {
    let bin = env!("CARGO_BIN_EXE_rustle");
    let out = Command::new(bin)
        .args(["doc", "ansible.builtin.slurp"])
        .output()
        .expect("run rustle doc");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(text.starts_with("## slurp (`ansible.builtin.slurp`)\n"));
    assert!(rustle::doc::markdown().contains(&text));

    let out = Command::new(bin)
        .args(["doc", "no_such_module"])
        .output()
        .expect("run rustle doc");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no_such_module not found"));
}

/// Every module issue 5 names is documented (and so implemented: the
/// documentation is generated from what is compiled in).
#[test]
fn the_module_set_is_complete() {
    const NAMED: &[&str] = &[
        // commands
        "command",
        "shell",
        "raw",
        "script",
        // files
        "file",
        "copy",
        "template",
        "lineinfile",
        "blockinfile",
        "replace",
        "stat",
        "find",
        "slurp",
        "fetch",
        "assemble",
        "tempfile",
        "unarchive",
        "get_url",
        "uri",
        "ini_file",
        "synchronize",
        // control
        "debug",
        "set_fact",
        "assert",
        "fail",
        "pause",
        "wait_for",
        "wait_for_connection",
        "ping",
        "include_vars",
        "add_host",
        "group_by",
        "meta",
        "set_stats",
        "validate_argument_spec",
        // system
        "service",
        "systemd",
        "systemd_service",
        "sysvinit",
        "user",
        "group",
        "cron",
        "hostname",
        "sysctl",
        "mount",
        "authorized_key",
        "known_hosts",
        "getent",
        "reboot",
        "timezone",
        "locale_gen",
        "modprobe",
        "pam_limits",
        // packages
        "package",
        "apt",
        "apt_repository",
        "deb822_repository",
        "apt_key",
        "dnf",
        "yum",
        "rpm_key",
        "pip",
        "git",
        // facts
        "setup",
        "package_facts",
        "service_facts",
    ];
    // Named by the issue but not written yet: none since session 5; a
    // module named by a later issue goes here until it lands.
    const NOT_YET: &[&str] = &[];
    let docs = rustle::doc::all();
    let missing: Vec<&str> = NAMED
        .iter()
        .copied()
        .filter(|n| !docs.iter().any(|d| d.name == *n))
        .collect();
    assert_eq!(
        missing, NOT_YET,
        "modules not documented (vs the known gaps)"
    );
}
