//! `rustle playbook` against real sshd hosts (rustle-transport's test
//! helper: OpenSSH on loopback ports, key-only auth, host key checking on),
//! compared with `ansible-playbook` against the same hosts: same output,
//! same exit code, same files left on the hosts (and a third host that is
//! down: unreachable on both sides). Cases live in
//! `tests/data/ssh/<case>/` (a `site.yml` for the group `web`; `work` and
//! `fetched` are passed as extra vars naming per-run directories).

use std::path::{Path, PathBuf};
use std::process::Command;

use rustle_e2e::differential::ansible_venv;
use rustle_e2e::{bin, tree, workspace_root, Run};
use rustle_transport::testing::{self, keygen, pub_of, Sshd};

/// A few sshd hosts and a controller home that knows their host keys.
struct Lab {
    tmp: tempfile::TempDir,
    key: PathBuf,
    hosts: Vec<Sshd>,
    /// A port nobody listens on (an unreachable host).
    down: u16,
}

impl Lab {
    fn start(n: usize) -> Lab {
        let tmp = tempfile::tempdir().expect("tmp");
        let key = tmp.path().join("id_ed25519");
        keygen(&key, "ed25519", "");
        let hosts: Vec<Sshd> = (0..n)
            .map(|_| Sshd::start("ed25519", &[pub_of(&key)], ""))
            .collect();
        let known: Vec<String> = hosts.iter().map(Sshd::known_hosts_line).collect();
        std::fs::write(tmp.path().join("known_hosts"), known.join("\n") + "\n")
            .expect("known_hosts");
        let down = testing::free_port();
        Lab {
            tmp,
            key,
            hosts,
            down,
        }
    }

    /// An inventory with the hosts as `web1..n` in group `web`. The ssh
    /// client reads `~/.ssh` from the passwd home, not `$HOME`: the known
    /// hosts file is named explicitly for both programs.
    fn inventory(&self) -> String {
        let mut s = String::from("[web]\n");
        for (i, h) in self.hosts.iter().enumerate() {
            s += &format!(
                "web{} ansible_host=127.0.0.1 ansible_port={}\n",
                i + 1,
                h.port
            );
        }
        s += &format!(
            "web{} ansible_host=127.0.0.1 ansible_port={}\n",
            self.hosts.len() + 1,
            self.down
        );
        s += &format!(
            "[web:vars]\nansible_user={}\nansible_ssh_private_key_file={}\nansible_ssh_common_args='-o UserKnownHostsFile={}'\n",
            testing::current_user(),
            self.key.display(),
            self.tmp.path().join("known_hosts").display()
        );
        s
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read case") {
        let e = e.expect("entry");
        let t = to.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), t).expect("copy");
        }
    }
}

/// Runs `case` with `program` (`prefix` args first) in its own copy, and
/// returns the normalised run and the run directory.
fn run_case(lab: &Lab, case: &str, label: &str, program: &Path, prefix: &[&str]) -> (Run, PathBuf) {
    let dir = lab.tmp.path().join(label);
    copy_dir(&workspace_root().join("tests/data/ssh").join(case), &dir);
    std::fs::write(dir.join("inventory"), lab.inventory()).expect("inventory");
    let home = dir.join("home");
    std::fs::create_dir_all(&home).expect("home");
    let mut cmd = Command::new(program);
    cmd.args(prefix)
        .args(["-i", "inventory", "site.yml"])
        .arg("-e")
        .arg(format!("work={}", dir.join("work").display()))
        .arg("-e")
        .arg(format!("fetched={}", dir.join("fetched").display()))
        .current_dir(&dir)
        .env("HOME", &home)
        .env_remove("ANSIBLE_CONFIG")
        .env_remove("SSH_AUTH_SOCK")
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_FORCE_COLOR", "0")
        .env("ANSIBLE_RETRY_FILES_ENABLED", "false")
        .env("ANSIBLE_DEPRECATION_WARNINGS", "false");
    cmd.env("RUSTLE_RUNNER_DIR", runner_dir(lab));
    if let Some(venv) = ansible_venv() {
        cmd.env(
            "ANSIBLE_COLLECTIONS_PATH",
            venv.join("collections").display().to_string(),
        );
    }
    let mut run: Run = cmd.output().expect("run").into();
    let d = dir.display().to_string();
    run.stdout = run.stdout.replace(&d, "$RUN");
    for (i, h) in lab.hosts.iter().enumerate() {
        run.stdout = run
            .stdout
            .replace(&h.port.to_string(), &format!("$PORT{}", i + 1));
    }
    run.stdout = run.stdout.replace(&lab.down.to_string(), "$DOWN");
    run.stdout = normalise(&run.stdout);
    (run, dir)
}

/// The runners the test deploys: the static ones when built
/// (`RUSTLE_STATIC_RUNNERS`, set by tests/run.sh), else the workspace's
/// own `rustle-runner` (same machine, same libc) under the musl triple's
/// name.
fn runner_dir(lab: &Lab) -> PathBuf {
    if let Some(d) = std::env::var_os("RUSTLE_STATIC_RUNNERS") {
        return PathBuf::from(d);
    }
    let dir = lab.tmp.path().join("runners");
    let triple = dir.join(format!("{}-unknown-linux-musl", std::env::consts::ARCH));
    if !triple.exists() {
        std::fs::create_dir_all(&triple).expect("runner dir");
        std::os::unix::fs::symlink(bin("rustle-runner"), triple.join("rustle-runner"))
            .expect("runner link");
    }
    dir
}

/// What differs from run to run: the order of the hosts' results within
/// a task (forks finish in any order) and the command times.
fn normalise(out: &str) -> String {
    let mut masked = String::new();
    for line in out.split_inclusive('\n') {
        let mut l = line.to_owned();
        for key in ["\"delta\": \"", "\"end\": \"", "\"start\": \""] {
            let mut from = 0;
            while let Some(i) = l[from..].find(key) {
                let at = from + i + key.len();
                let Some(j) = l[at..].find('"') else { break };
                l.replace_range(at..at + j, "<T>");
                from = at + 3;
            }
        }
        masked.push_str(&l);
    }
    // Sort the result chunks of each task: a chunk opens with a status
    // line (`ok: [h]`, `changed: [h]`, ...) and takes the lines after it.
    let mut out = String::new();
    let mut chunks: Vec<String> = Vec::new();
    let flush = |chunks: &mut Vec<String>, out: &mut String| {
        chunks.sort();
        for c in chunks.drain(..) {
            out.push_str(&c);
        }
    };
    for line in masked.split_inclusive('\n') {
        let status = [
            "ok: [",
            "changed: [",
            "fatal: [",
            "skipping: [",
            "failed: [",
        ]
        .iter()
        .any(|p| line.starts_with(p));
        if status {
            chunks.push(line.to_owned());
        } else if line.trim().is_empty() || line.starts_with("TASK [") || line.starts_with("PLAY") {
            flush(&mut chunks, &mut out);
            out.push_str(line);
        } else if let Some(last) = chunks.last_mut() {
            last.push_str(line);
        } else {
            out.push_str(line);
        }
    }
    flush(&mut chunks, &mut out);
    out
}

#[test]
fn basic_playbook_over_ssh_matches_ansible() {
    if !testing::available() {
        eprintln!("skipped: sshd not installed");
        return;
    }
    let lab = Lab::start(2);
    let (ours, our_dir) = run_case(&lab, "basic", "rustle", &bin("rustle"), &["playbook"]);
    // web2 fails, web3 is unreachable: Ansible's exit code 4.
    assert_eq!(ours.code, 4, "{}\n{}", ours.stdout, ours.stderr);
    let Some(venv) = ansible_venv() else {
        eprintln!("no ansible venv: rustle's run not compared with ansible-playbook");
        return;
    };
    let (theirs, their_dir) = run_case(
        &lab,
        "basic",
        "ansible",
        &venv.join("bin/ansible-playbook"),
        &[],
    );
    assert_eq!(
        ours.code, theirs.code,
        "ours:\n{}\nansible:\n{}",
        ours.stdout, theirs.stdout
    );
    assert_eq!(ours.stdout, theirs.stdout);
    for sub in ["work", "fetched"] {
        assert_eq!(
            tree(&our_dir.join(sub)),
            tree(&their_dir.join(sub)),
            "{sub}"
        );
    }
}

#[test]
fn a_host_where_no_runner_starts_still_runs_raw() {
    if !testing::available() {
        eprintln!("skipped: sshd not installed");
        return;
    }
    let lab = Lab::start(1);
    let (run, _) = run_case(&lab, "norunner", "rustle", &bin("rustle"), &["playbook"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("\"msg\": \"hi\""), "{}", run.stdout);
    assert!(
        run.stdout.contains(
            "does not start on the host (a noexec home directory?); only raw tasks can run here"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "web1                       : ok=2    changed=1    unreachable=0    failed=1"
        ),
        "{}",
        run.stdout
    );
}
