//! A signed bundle built through the public `rustle-bundle` API, applied by
//! the real `rustle-runner` binary: files on disk, idempotence, check mode,
//! and the self-contained executable.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::path::Path;

use rustle_bundle::{BundleBuilder, HostPlan, Plan, PlayPlan, Task};
use rustle_e2e::{bin, recap_line, run, test_key, tree, write_test_pub};

fn build_plan(root: &Path, builder: &mut BundleBuilder) -> Plan {
    let shared = builder.add_asset(b"shared content\n".to_vec());
    let other = builder.add_asset(b"other\n".to_vec());
    let again = builder.add_asset(b"shared content\n".to_vec());
    assert_eq!(shared, again, "same bytes, same asset");
    let p = |rel: &str| root.join(rel).display().to_string();
    let tasks = vec![
        Task::new("make a directory", "file")
            .arg("path", p("srv/app"))
            .arg("state", "directory")
            .arg("mode", "0755"),
        Task::new("copy the shared file", "ansible.builtin.copy")
            .arg("dest", p("srv/app/a.txt"))
            .arg("mode", "0644")
            .asset("src", shared),
        Task::new("copy the shared file again", "copy")
            .arg("dest", p("srv/app/b.txt"))
            .asset("src", shared),
        Task::new("copy another file", "copy")
            .arg("dest", p("srv/app/c.txt"))
            .arg("mode", "0600")
            .asset("src", other),
        Task::new("inline content", "copy")
            .arg("dest", p("srv/app/d.conf"))
            .arg("content", "key = value\n"),
        Task::new("a marker, once", "command")
            .arg("_raw_params", format!("touch {}", p("srv/marker")))
            .arg("creates", p("srv/marker")),
        Task::new("look at it", "stat").arg("path", p("srv/app/a.txt")),
        Task::new("say hello", "debug").arg("msg", "hello"),
    ];
    let mut plan = Plan::new("e2e");
    plan.hosts.push(HostPlan {
        name: "localhost".into(),
        plays: vec![PlayPlan {
            name: "e2e".into(),
            tasks,
            handlers: vec![],
            check_mode: None,
            diff: None,
        }],
    });
    plan
}

fn make_bundle(dir: &Path, root: &Path) -> std::path::PathBuf {
    let mut b = BundleBuilder::new(Plan::new("e2e"));
    let plan = build_plan(root, &mut b);
    *b.plan_mut() = plan;
    assert_eq!(b.asset_count(), 2);
    let path = dir.join("site.rsl");
    b.write_to(&path, Some(&test_key()), None)
        .expect("write bundle");
    path
}

#[test]
fn apply_then_idempotent_then_check() {
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let bundle = make_bundle(work.path(), &root);
    let key = write_test_pub(work.path());
    let runner = bin("rustle-runner");
    let b = bundle.to_str().unwrap();
    let k = key.to_str().unwrap();

    // --check on a fresh host predicts changes and changes nothing.
    let before = tree(&root);
    let r = run(&runner, &["apply", b, "--trust", k, "--check"], work.path());
    assert_eq!(r.code, 0, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    assert_eq!(tree(&root), before, "check mode changed the file system");
    assert!(r.stdout.contains("changed: [localhost]"), "{}", r.stdout);

    // First real run: everything changes.
    let r = run(&runner, &["apply", b, "--trust", k], work.path());
    assert_eq!(r.code, 0, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    assert_eq!(
        recap_line(&r.stdout, "localhost").as_deref(),
        Some("ok=8 changed=6 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"),
        "{}",
        r.stdout
    );
    let t = tree(&root);
    let get = |rel: &str| {
        t.iter()
            .find(|(p, _)| p == rel)
            .map(|(_, d)| d.clone())
            .unwrap_or_else(|| panic!("{rel} missing in {t:?}"))
    };
    assert_eq!(get("srv/app"), "dir 755");
    assert_eq!(get("srv/app/a.txt"), "file 644 shared content\n");
    assert!(get("srv/app/b.txt").ends_with(" shared content\n"));
    assert_eq!(get("srv/app/c.txt"), "file 600 other\n");
    assert!(get("srv/app/d.conf").ends_with(" key = value\n"));
    assert!(get("srv/marker").starts_with("file "));

    // Second run: nothing changes.
    let r = run(&runner, &["apply", b, "--trust", k], work.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        recap_line(&r.stdout, "localhost").as_deref(),
        Some("ok=8 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"),
        "{}",
        r.stdout
    );
    assert_eq!(tree(&root), t);

    // Check mode after convergence predicts no change.
    let r = run(&runner, &["apply", b, "--trust", k, "--check"], work.path());
    assert_eq!(r.code, 0);
    assert!(!r.stdout.contains("changed: ["), "{}", r.stdout);
}

#[test]
fn untrusted_and_unsigned_bundles_are_refused_and_change_nothing() {
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let bundle = make_bundle(work.path(), &root);
    let runner = bin("rustle-runner");
    let other = rustle_bundle::SecretKey::from_seed([9u8; 32]);
    let other_pub = work.path().join("other.pub");
    std::fs::write(&other_pub, other.public().to_line("other")).unwrap();

    let r = run(
        &runner,
        &[
            "apply",
            bundle.to_str().unwrap(),
            "--trust",
            other_pub.to_str().unwrap(),
        ],
        work.path(),
    );
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("not trusted"), "{}", r.stderr);
    assert!(tree(&root).is_empty());

    // Unsigned: refused unless --insecure-skip-verify.
    let mut b = BundleBuilder::new(Plan::new("e2e"));
    let plan = build_plan(&root, &mut b);
    *b.plan_mut() = plan;
    let unsigned = work.path().join("unsigned.rsl");
    b.write_to(&unsigned, None, None).unwrap();
    let key = write_test_pub(work.path());
    let u = unsigned.to_str().unwrap();
    let r = run(
        &runner,
        &["apply", u, "--trust", key.to_str().unwrap()],
        work.path(),
    );
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("not signed"), "{}", r.stderr);
    assert!(tree(&root).is_empty());
    let r = run(
        &runner,
        &["apply", u, "--insecure-skip-verify"],
        work.path(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!tree(&root).is_empty());
}

#[test]
fn self_contained_executable_runs_its_own_bundle() {
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let bundle = make_bundle(work.path(), &root);
    let key = write_test_pub(work.path());
    let runner = bin("rustle-runner");

    // cat rustle-runner bundle.rsl > app
    let mut app_bytes = std::fs::read(&runner).unwrap();
    app_bytes.extend(std::fs::read(&bundle).unwrap());
    let app = work.path().join("app");
    std::fs::write(&app, app_bytes).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&app, std::fs::Permissions::from_mode(0o755)).unwrap();

    let report = work.path().join("results.json");
    let r = run(
        &app,
        &[
            "--trust",
            key.to_str().unwrap(),
            "--report-file",
            report.to_str().unwrap(),
        ],
        work.path(),
    );
    assert_eq!(r.code, 0, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    assert!(root.join("srv/app/a.txt").exists());
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(doc["stats"]["changed"], 6);
    assert_eq!(doc["tasks"].as_array().map(Vec::len), Some(8));

    // And the same bytes through `apply` on the combined file.
    let r = run(
        &runner,
        &[
            "apply",
            app.to_str().unwrap(),
            "--trust",
            key.to_str().unwrap(),
        ],
        work.path(),
    );
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("changed=0"), "{}", r.stdout);
}

#[test]
fn failing_task_exits_2_and_stops_the_host() {
    let work = tempfile::tempdir().unwrap();
    let mut plan = Plan::new("fail");
    plan.hosts.push(HostPlan {
        name: "h1".into(),
        plays: vec![PlayPlan {
            name: "p".into(),
            tasks: vec![
                Task::new("boom", "command").arg("_raw_params", "false"),
                Task::new("never", "command").arg(
                    "_raw_params",
                    format!("touch {}/never", work.path().display()),
                ),
            ],
            handlers: vec![],
            check_mode: None,
            diff: None,
        }],
    });
    let path = work.path().join("f.rsl");
    BundleBuilder::new(plan)
        .write_to(&path, Some(&test_key()), None)
        .unwrap();
    let key = write_test_pub(work.path());
    let r = run(
        &bin("rustle-runner"),
        &[
            "apply",
            path.to_str().unwrap(),
            "--trust",
            key.to_str().unwrap(),
        ],
        work.path(),
    );
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(
        r.stdout
            .contains("fatal: [h1]: FAILED! => {\"changed\": true, \"cmd\": [\"false\"]"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("\"msg\": \"non-zero return code\", \"rc\": 1"),
        "{}",
        r.stdout
    );
    assert!(!work.path().join("never").exists());
    assert_eq!(
        recap_line(&r.stdout, "h1").as_deref(),
        Some("ok=0 changed=0 unreachable=0 failed=1 skipped=0 rescued=0 ignored=0")
    );
}
