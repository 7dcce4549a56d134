//! A full fact gathering (`gather_subset: all`), timed natively, beside
//! `ansible localhost -m setup -c local` when the Ansible venv is there
//! (`RUSTLE_ANSIBLE_VENV`, else `.venv` at the workspace root).
//! Run with `cargo bench -p rustle-runner --bench facts`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let opts = rustle_runner::facts::Options::default();
    // The first gathering of a process starts Python once (the `python`
    // facts); later ones reuse its answer.
    let t = Instant::now();
    let facts = rustle_runner::facts::gather(&opts);
    println!(
        "rustle facts::gather (all, first in process, runs python): {:.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    let runs = 20;
    let times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            let f = rustle_runner::facts::gather(&opts);
            let d = t.elapsed();
            assert!(!f.is_empty());
            d
        })
        .collect();
    let no_python = rustle_runner::facts::Options {
        gather_subset: vec!["all".into(), "!python".into()],
        ..Default::default()
    };
    let times_np: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            let _ = rustle_runner::facts::gather(&no_python);
            t.elapsed()
        })
        .collect();
    println!(
        "rustle facts::gather (all, {} facts, steady): median {:.1} ms, min {:.1} ms over {runs} runs",
        facts.len(),
        median(times.clone()).as_secs_f64() * 1e3,
        times.iter().min().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
    println!(
        "rustle facts::gather (all but python): median {:.1} ms",
        median(times_np).as_secs_f64() * 1e3,
    );
    if std::env::var_os("FACTS_BENCH_EACH").is_some() {
        for c in [
            "platform",
            "distribution",
            "lsb",
            "selinux",
            "chroot",
            "pkg_mgr",
            "service_mgr",
            "cmdline",
            "date_time",
            "env",
            "user",
            "virtual",
            "hardware",
            "dns",
            "network",
            "local",
            "python",
        ] {
            let o = rustle_runner::facts::Options {
                gather_subset: vec!["!all".into(), "!min".into(), c.into()],
                ..Default::default()
            };
            let t = Instant::now();
            let _ = rustle_runner::facts::gather(&o);
            println!("  {c}: {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
        }
    }
    let venv = std::env::var_os("RUSTLE_ANSIBLE_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv"));
    let ansible = venv.join("bin/ansible");
    if !ansible.exists() {
        println!(
            "ansible: no venv at {} (set RUSTLE_ANSIBLE_VENV)",
            venv.display()
        );
        return;
    }
    let mut at = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let out = std::process::Command::new(&ansible)
            .args(["localhost", "-m", "setup", "-c", "local"])
            .output();
        let d = t.elapsed();
        match out {
            Ok(o) if o.status.success() => at.push(d),
            Ok(o) => {
                println!(
                    "ansible setup failed: {}",
                    String::from_utf8_lossy(&o.stderr)
                );
                return;
            }
            Err(e) => {
                println!("ansible: {e}");
                return;
            }
        }
    }
    println!(
        "ansible localhost -m setup -c local: median {:.0} ms over {} runs",
        median(at).as_secs_f64() * 1e3,
        3
    );
}
