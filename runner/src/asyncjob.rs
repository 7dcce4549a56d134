//! Asynchronous tasks (`async:` / `poll:`), as Ansible's `async_wrapper`
//! runs them: the task runs in a detached process (its own process group,
//! so it outlives the run that started it), which writes its result as
//! JSON to `<async_dir>/<jid>`; `async_status` reads that file. A job that
//! outlives its time limit is killed with its whole process group and
//! leaves `{"msg": "Timeout exceeded", "failed": true, "child_pid": N}`.
//!
//! The job process is the starting binary itself (`rustle-runner` on a
//! host, `rustle` for local connections) re-run with a job sub-command
//! that calls [`job_main`]; the task travels over its stdin, so module
//! arguments never touch the disk or a command line.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use rustle_bundle::{AssetId, PlayPlan, Task};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use thiserror::Error;

use crate::engine::{run_task, RunOptions};
use crate::modules::{AssetSource, ModuleError};

#[derive(Debug, Error)]
pub enum AsyncError {
    #[error("could not create the async directory {path}: {source}")]
    Dir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("could not start the async job: {0}")]
    Spawn(#[source] std::io::Error),
    #[error("could not hand the task to the async job: {0}")]
    Handoff(String),
}

/// What the job process receives on stdin.
#[derive(Serialize, Deserialize)]
struct JobSpec {
    task: Task,
    assets: Vec<(AssetId, serde_bytes::ByteBuf)>,
    check: bool,
    diff: bool,
    verbosity: u8,
}

/// The async directory: `ANSIBLE_ASYNC_DIR` from the task's environment
/// or ours, else `~/.ansible_async` (Ansible's `async_dir` default).
pub fn async_dir(environment: &std::collections::BTreeMap<String, String>) -> PathBuf {
    let dir = environment
        .get("ANSIBLE_ASYNC_DIR")
        .cloned()
        .or_else(|| std::env::var("ANSIBLE_ASYNC_DIR").ok())
        .unwrap_or_else(|| "~/.ansible_async".to_owned());
    crate::fsutil::expand_user(&dir)
}

/// A job id as Ansible makes them: `j<random up to 12 digits>.<pid>`.
fn new_jid() -> String {
    let mut buf = [0u8; 8];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = f.read_exact(&mut buf);
    }
    let n = u64::from_le_bytes(buf) % 999_999_999_999;
    format!("j{n}.{}", std::process::id())
}

/// Writes a job file atomically (`<path>.tmp`, then rename), as
/// `async_wrapper`'s `jwrite` does, so readers never see half a result.
fn jwrite(path: &Path, v: &Value) -> std::io::Result<()> {
    let tmp = path.with_extension(format!(
        "{}tmp",
        path.extension()
            .map(|e| format!("{}.", e.to_string_lossy()))
            .unwrap_or_default()
    ));
    std::fs::write(&tmp, serde_json::to_vec(v).unwrap_or_default())?;
    std::fs::rename(&tmp, path)
}

/// Starts `task` as a detached job with a time limit in seconds; returns
/// the start result Ansible returns (`ansible_job_id`, `results_file`,
/// `started: 1`, `finished: 0`). `exe` + `exe_args` is the command that
/// runs [`job_main`] (the job id and limit are appended).
pub fn start(
    task: &Task,
    assets: Vec<(AssetId, Vec<u8>)>,
    opts: &RunOptions,
    time_limit: u64,
    exe: &Path,
    exe_args: &[&str],
) -> Result<Value, AsyncError> {
    let dir = async_dir(&task.environment);
    std::fs::create_dir_all(&dir).map_err(|source| AsyncError::Dir {
        path: dir.display().to_string(),
        source,
    })?;
    let jid = new_jid();
    let job_path = dir.join(&jid);
    // Written before the job starts, so that a status check right after
    // the start finds a running job rather than no job.
    jwrite(
        &job_path,
        &json!({"started": 1, "finished": 0, "ansible_job_id": jid}),
    )
    .map_err(|source| AsyncError::Dir {
        path: job_path.display().to_string(),
        source,
    })?;
    let spec = JobSpec {
        task: task.clone(),
        assets: assets
            .into_iter()
            .map(|(id, d)| (id, serde_bytes::ByteBuf::from(d)))
            .collect(),
        check: opts.check,
        diff: opts.diff,
        verbosity: opts.verbosity,
    };
    let payload = rmp_serde::to_vec_named(&spec).map_err(|e| AsyncError::Handoff(e.to_string()))?;
    let mut child = {
        use std::os::unix::process::CommandExt;
        Command::new(exe)
            .args(exe_args)
            .arg(&jid)
            .arg(time_limit.to_string())
            .arg(&job_path)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group: the job survives the end of the run
            // and a timeout kills everything it started.
            .process_group(0)
            .spawn()
            .map_err(AsyncError::Spawn)?
    };
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(&payload)
            .map_err(|e| AsyncError::Handoff(e.to_string()))?;
    }
    // Reaped by nobody on purpose: the job is detached from this run.
    drop(child);
    Ok(json!({
        "failed": 0,
        "started": 1,
        "finished": 0,
        "ansible_job_id": jid,
        "results_file": job_path.display().to_string(),
        "changed": true,
    }))
}

struct Inline(Vec<(AssetId, serde_bytes::ByteBuf)>);

impl AssetSource for Inline {
    fn asset(&self, id: &AssetId) -> Result<Vec<u8>, ModuleError> {
        self.0
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, d)| d.to_vec())
            .ok_or_else(|| ModuleError::Asset(format!("asset {id} missing")))
    }
}

/// The job process: reads the task from stdin, runs it, writes the result
/// to `job_path`; kills its process group after `time_limit` seconds (0:
/// no limit). Returns the process exit code.
pub fn job_main(jid: &str, time_limit: u64, job_path: &Path) -> i32 {
    let mut input = Vec::new();
    if std::io::stdin().read_to_end(&mut input).is_err() {
        return 1;
    }
    let spec: JobSpec = match rmp_serde::from_slice(&input) {
        Ok(s) => s,
        Err(e) => {
            let _ = jwrite(
                job_path,
                &json!({"failed": 1, "msg": format!("could not read the async task: {e}"), "ansible_job_id": jid}),
            );
            return 1;
        }
    };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let play = PlayPlan {
            name: String::new(),
            tasks: Vec::new(),
            handlers: Vec::new(),
            check_mode: None,
            diff: None,
        };
        let opts = RunOptions {
            check: spec.check,
            diff: spec.diff,
            verbosity: spec.verbosity,
        };
        let (_, result) = run_task(&spec.task, &play, &Inline(spec.assets), &opts, &Map::new());
        let _ = tx.send(result.to_json());
    });
    let outcome = if time_limit == 0 {
        rx.recv().ok()
    } else {
        rx.recv_timeout(Duration::from_secs(time_limit)).ok()
    };
    match outcome {
        Some(result) => {
            let _ = jwrite(job_path, &result);
            0
        }
        None => {
            let pid = std::process::id();
            let _ = jwrite(
                job_path,
                &json!({"msg": "Timeout exceeded", "failed": true, "child_pid": pid}),
            );
            // Everything the task started is in our process group.
            if let Some(pgid) = rustix::process::Pid::from_raw(pid as i32) {
                let _ = rustix::process::kill_process_group(pgid, rustix::process::Signal::KILL);
            }
            1
        }
    }
}
