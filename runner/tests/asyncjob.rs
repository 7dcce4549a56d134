//! Async jobs run by the runner binary: a job writes the task's result to
//! its results file; a job past its time limit is killed with everything
//! it started and leaves `Timeout exceeded`.

use std::path::Path;
use std::time::{Duration, Instant};

use rustle_bundle::Task;
use rustle_runner::engine::RunOptions;
use serde_json::{json, Value};

fn command_task(argv: &[&str], async_dir: &Path) -> Task {
    let mut t = Task::new("job", "command");
    t.args.insert("argv".into(), json!(argv));
    t.environment
        .insert("ANSIBLE_ASYNC_DIR".into(), async_dir.display().to_string());
    t
}

fn wait_finished(path: &Path) -> Value {
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if let Ok(v) = serde_json::from_str::<Value>(&text) {
            if v.get("started").is_none() {
                return v;
            }
        }
        assert!(Instant::now() < until, "job never finished: {text}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn start(task: &Task, limit: u64) -> Value {
    let exe = Path::new(env!("CARGO_BIN_EXE_rustle-runner"));
    let opts = RunOptions {
        check: false,
        diff: false,
        verbosity: 0,
    };
    rustle_runner::asyncjob::start(task, Vec::new(), &opts, limit, exe, &["async-job"])
        .expect("start job")
}

#[test]
fn a_job_writes_the_task_result() {
    let dir = tempfile::tempdir().expect("tempdir");
    let started = start(&command_task(&["echo", "hello"], dir.path()), 30);
    assert_eq!(started["started"], 1);
    assert_eq!(started["finished"], 0);
    let jid = started["ansible_job_id"].as_str().expect("jid");
    assert!(jid.starts_with('j') && jid.contains('.'), "{jid}");
    let path = dir.path().join(jid);
    assert_eq!(started["results_file"], path.display().to_string());
    let done = wait_finished(&path);
    assert_eq!(done["stdout"], "hello");
    assert_eq!(done["rc"], 0);
    assert_eq!(done["changed"], true);
}

#[test]
fn a_job_past_its_limit_is_killed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let marker = dir.path().join("still-running");
    let script = format!("sleep 3; touch {}", marker.display());
    let started = start(&command_task(&["sh", "-c", &script], dir.path()), 1);
    let jid = started["ansible_job_id"].as_str().expect("jid");
    let done = wait_finished(&dir.path().join(jid));
    assert_eq!(done["msg"], "Timeout exceeded");
    assert_eq!(done["failed"], true);
    assert!(done["child_pid"].as_u64().is_some());
    // The shell the task started died with the job's process group.
    std::thread::sleep(Duration::from_secs(3));
    assert!(!marker.exists(), "the task's process outlived the timeout");
}
