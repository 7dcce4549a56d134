//! Rustle's SSH transport: `ssh_config` parsing, connection settings
//! resolved as Ansible's `ssh` connection plugin resolves them, host key
//! verification against `known_hosts`, and authenticated connections on
//! russh (keys, ssh-agent, password; ProxyJump hops; keepalives; retries)
//! with `exec` and sftp upload. See docs/transport.md.

pub mod connection;
pub mod known_hosts;
pub mod settings;
pub mod ssh_config;
pub mod testing;

pub use connection::{
    AuthOptions, ConnectError, Connection, ExecOutput, RemoteStream, SessionError,
};
pub use settings::{resolve, Defaults, Settings, SettingsError, SshConfigs, CONNECTION_VARS};

use std::sync::Arc;
use std::time::{Duration, Instant};

/// A reachable host's timings.
#[derive(Debug, Clone)]
pub struct ProbeOk {
    /// TCP + key exchange + authentication (with any retries).
    pub connect: Duration,
    /// Running `true` on the open connection.
    pub exec: Duration,
    pub attempts: u32,
    /// Host key notes (accepted and recorded keys).
    pub notes: Vec<String>,
}

/// Connects, runs `true` and closes: what `rustle connect` reports.
pub async fn probe(settings: &Settings, auth: &AuthOptions) -> Result<ProbeOk, String> {
    let conn = Connection::connect(settings, auth)
        .await
        .map_err(|e| e.to_string())?;
    let start = Instant::now();
    let out = conn.exec("true", &[]).await.map_err(|e| e.to_string())?;
    let exec = start.elapsed();
    let ok = ProbeOk {
        connect: conn.connect_time,
        exec,
        attempts: conn.attempts,
        notes: conn.notes.clone(),
    };
    conn.close().await;
    match (out.status, out.signal) {
        (Some(0), _) => Ok(ok),
        (Some(rc), _) => Err(format!(
            "`true` exited with status {rc}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        (None, Some(sig)) => Err(format!("`true` was killed by signal {sig}")),
        (None, None) => Err("`true` returned no exit status".into()),
    }
}

/// Probes every host concurrently, at most `forks` at a time, on a tokio
/// runtime of its own. Results come back in the input order.
pub fn probe_all(
    hosts: Vec<Settings>,
    auth: &AuthOptions,
    forks: usize,
) -> std::io::Result<Vec<(Settings, Result<ProbeOk, String>)>> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let r = rt.block_on(async {
        let sem = Arc::new(tokio::sync::Semaphore::new(forks.max(1)));
        let mut tasks = Vec::new();
        for s in hosts {
            let sem = sem.clone();
            let auth = auth.clone();
            tasks.push(tokio::spawn(async move {
                let _permit = sem.acquire_owned().await;
                let r = probe(&s, &auth).await;
                (s, r)
            }));
        }
        let mut out = Vec::new();
        for t in tasks {
            match t.await {
                Ok(r) => out.push(r),
                // A panicking task: nothing to report for it but the panic.
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    });
    r.map_err(|e| std::io::Error::other(e.to_string()))
}
