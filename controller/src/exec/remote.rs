//! Running tasks on SSH hosts (per-task mode).
//!
//! Each host gets one SSH connection for the whole run and one long-lived
//! `rustle-runner serve` process on one channel of it: every module task,
//! fact gathering and action helper (`stat`/`slurp` of `fetch`, the copy
//! behind `template`, ...) is one request frame and one answer on that
//! channel, so a task costs one round trip and no process start-up on the
//! host. `raw` runs on its own channel with the user's shell and needs no
//! runner.
//!
//! Deployment: the host's architecture comes from `uname -sm`; the
//! prebuilt runner for it (musl first, then static glibc; see
//! [`crate::runners`]) is uploaded once over sftp to the content-addressed
//! path `~/.rustle/runner-<sha256>` (mode 0700, written under a temporary
//! name, checked with `sha256sum`, then renamed) and reused by later runs.
//! A host where no runner can run keeps working for `raw`; every other
//! task fails with the reason.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use rustle_bundle::{AssetId, Task as PlanTask};
use rustle_runner::engine::{RunOptions, Status};
use rustle_runner::protocol::{self, InlineAsset, Request, Response, PROTOCOL_VERSION};
use rustle_runner::result::ModuleResult;
use rustle_transport::{
    AuthOptions, ConnectError, Connection, Defaults, RemoteStream, Settings, SshConfigs,
};
use serde_json::{json, Map, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// SSH settings of the run (command line and ansible.cfg).
#[derive(Debug, Clone, Default)]
pub struct SshOptions {
    pub defaults: Defaults,
    pub auth: AuthOptions,
    /// `--ssh-common-args` / `--ssh-extra-args`: override the host vars.
    pub common_args: Option<String>,
    pub extra_args: Option<String>,
    /// `[runners]` of rustle.toml: triple -> runner executable.
    pub runners: std::collections::BTreeMap<String, PathBuf>,
}

/// The runner process on a host.
struct Serve {
    stream: RemoteStream,
}

/// One host's connection.
struct RemoteHost {
    conn: Connection,
    /// The runner, or why there is none (module tasks fail with it).
    serve: Result<Serve, String>,
}

/// The run's SSH hosts. Built lazily: a run with only local hosts starts
/// no tokio runtime.
#[derive(Default)]
pub(crate) struct Remotes {
    rt: OnceLock<tokio::runtime::Runtime>,
    configs: OnceLock<Result<SshConfigs, String>>,
    hosts: Mutex<HashMap<String, Arc<Mutex<RemoteHost>>>>,
    digests: Mutex<HashMap<PathBuf, String>>,
}

/// Ansible's result for a host it cannot reach.
fn unreachable(msg: String) -> Value {
    json!({"changed": false, "msg": msg, "unreachable": true})
}

fn failed(msg: impl Into<String>) -> Value {
    json!({"failed": true, "msg": msg.into()})
}

fn unexpected(r: &Response) -> Value {
    failed(format!("unexpected answer from the runner: {r:?}"))
}

/// The reason as Ansible's ssh plugin shows OpenSSH's stderr: network
/// errors carry ssh's `ssh: ` prefix, authentication and host key
/// refusals do not.
fn connect_reason(e: &ConnectError) -> String {
    match e {
        ConnectError::Resolve { .. } | ConnectError::Tcp { .. } | ConnectError::Timeout { .. } => {
            format!("ssh: {e}")
        }
        _ => e.to_string(),
    }
}

/// Reads and writes a channel from the (synchronous) executor.
struct Blocking<'a> {
    rt: &'a tokio::runtime::Runtime,
    s: &'a mut RemoteStream,
}

impl Read for Blocking<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.rt.block_on(self.s.read(buf))
    }
}

impl Write for Blocking<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.rt.block_on(self.s.write(buf))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.rt.block_on(self.s.flush())
    }
}

impl Remotes {
    fn rt(&self) -> Result<&tokio::runtime::Runtime, String> {
        if let Some(rt) = self.rt.get() {
            return Ok(rt);
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the SSH runtime: {e}"))?;
        Ok(self.rt.get_or_init(|| rt))
    }

    fn configs(&self, defaults: &Defaults) -> Result<&SshConfigs, String> {
        self.configs
            .get_or_init(|| {
                SshConfigs::load_default(defaults.home.as_deref())
                    .map_err(|e| format!("Can't read ~/.ssh/config: {e}"))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The connection settings of `host`; `get` reads (templated) host
    /// variables.
    fn settings(
        &self,
        host: &str,
        get: &dyn Fn(&str) -> Option<String>,
        opts: &SshOptions,
    ) -> Result<Settings, String> {
        let mut vars = std::collections::BTreeMap::new();
        for k in rustle_transport::CONNECTION_VARS {
            if let Some(v) = get(k) {
                vars.insert((*k).to_owned(), v);
            }
        }
        if let Some(a) = &opts.common_args {
            vars.insert("ansible_ssh_common_args".into(), a.clone());
        }
        if let Some(a) = &opts.extra_args {
            vars.insert("ansible_ssh_extra_args".into(), a.clone());
        }
        let configs = self.configs(&opts.defaults)?;
        rustle_transport::resolve(host, &vars, &opts.defaults, configs).map_err(|e| e.to_string())
    }

    /// Connects to `host` (once per run) and deploys its runner. The
    /// unreachable result when the host cannot be reached.
    pub(crate) fn ensure(
        &self,
        host: &str,
        get: &dyn Fn(&str) -> Option<String>,
        opts: &SshOptions,
    ) -> Result<(), Value> {
        let rt = self.rt().map_err(unreachable)?;
        // russh's channel streams need the runtime's context, also when
        // dropped.
        let _ctx = rt.enter();
        if let Some(h) = self.lock_hosts().get(host) {
            let closed = h.lock().map(|h| h.conn.is_closed()).unwrap_or(true);
            if !closed {
                return Ok(());
            }
        }
        self.lock_hosts().remove(host);
        let settings = self
            .settings(host, get, opts)
            .map_err(|e| unreachable(format!("Failed to connect to the host via ssh: {e}")))?;
        let conn = rt
            .block_on(Connection::connect(&settings, &opts.auth))
            .map_err(|e| {
                unreachable(format!(
                    "Failed to connect to the host via ssh: {}",
                    connect_reason(&e)
                ))
            })?;
        let serve = self.deploy(rt, &conn, opts);
        let h = Arc::new(Mutex::new(RemoteHost { conn, serve }));
        self.lock_hosts().insert(host.to_owned(), h);
        Ok(())
    }

    fn lock_hosts(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Mutex<RemoteHost>>>> {
        self.hosts.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn digest(&self, path: &PathBuf) -> Result<String, String> {
        if let Some(d) = self
            .digests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(path)
        {
            return Ok(d.clone());
        }
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let d = AssetId::of(&bytes).to_hex();
        self.digests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(path.clone(), d.clone());
        Ok(d)
    }

    /// Finds the host's runner, uploads it when the host lacks it, and
    /// starts `serve`.
    fn deploy(
        &self,
        rt: &tokio::runtime::Runtime,
        conn: &Connection,
        opts: &SshOptions,
    ) -> Result<Serve, String> {
        let out = rt
            .block_on(conn.exec("uname -sm; printf '%s\\n' \"$HOME\"", b""))
            .map_err(|e| format!("cannot detect the host's system: {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut lines = text.lines();
        let uname = lines.next().unwrap_or_default().trim().to_owned();
        // sftp starts in the passwd home, which need not be `$HOME`.
        let home = lines.next().unwrap_or_default().trim().to_owned();
        let (os, arch) = uname.split_once(' ').unwrap_or((uname.as_str(), ""));
        let arch = match arch {
            "arm64" => "aarch64",
            a => a,
        };
        if os != "Linux" || !matches!(arch, "x86_64" | "aarch64") {
            return Err(format!(
                "rustle has no runner for this host's system ({uname:?}; runners exist for Linux on x86_64 and aarch64); only raw tasks can run here"
            ));
        }
        let triples = [
            format!("{arch}-unknown-linux-musl"),
            format!("{arch}-unknown-linux-gnu"),
        ];
        let local = triples
            .iter()
            .find_map(|t| crate::runners::find_for_host(t, &opts.runners))
            .ok_or_else(|| {
                format!(
                    "no rustle-runner for {} on the controller (build it with release/build.sh or set RUSTLE_RUNNER_DIR); only raw tasks can run here",
                    triples[0]
                )
            })?;
        let sha = self.digest(&local)?;
        let name = format!("runner-{sha}");
        let start = |rt: &tokio::runtime::Runtime| -> Result<Option<Serve>, String> {
            let cmd = format!("exec \"$HOME/.rustle/{name}\" serve 2>/dev/null");
            let mut stream = rt
                .block_on(conn.start(&cmd))
                .map_err(|e| format!("cannot start the runner: {e}"))?;
            let mut io = Blocking { rt, s: &mut stream };
            protocol::write_frame(
                &mut io,
                &Request::Hello {
                    protocol: PROTOCOL_VERSION,
                },
            )
            .map_err(|e| e.to_string())?;
            match protocol::read_frame::<_, Response>(&mut io) {
                // Not there (or not runnable): the shell exits.
                Ok(None) | Err(_) => Ok(None),
                Ok(Some(Response::Hello { protocol, .. })) if protocol == PROTOCOL_VERSION => {
                    Ok(Some(Serve { stream }))
                }
                Ok(Some(other)) => Err(format!(
                    "the host's runner speaks another protocol (got {other:?}, expected a hello for protocol {PROTOCOL_VERSION})"
                )),
            }
        };
        if let Some(s) = start(rt)? {
            return Ok(s);
        }
        // Upload under a temporary name, check, then rename: a cut
        // connection never leaves a half-written runner under its name.
        if !home.starts_with('/') {
            return Err(format!(
                "the host's $HOME ({home:?}) is not an absolute path; cannot install the runner"
            ));
        }
        let tmp = format!("{home}/.rustle/{name}.part{}", std::process::id());
        let prep = rt
            .block_on(conn.exec("umask 077 && mkdir -p \"$HOME/.rustle\"", b""))
            .map_err(|e| format!("cannot create ~/.rustle on the host: {e}"))?;
        if prep.status != Some(0) {
            return Err(format!(
                "cannot create ~/.rustle on the host: {}",
                String::from_utf8_lossy(&prep.stderr).trim()
            ));
        }
        rt.block_on(conn.upload(&local, &tmp, Some(0o700)))
            .map_err(|e| format!("cannot upload the runner: {e}"))?;
        let (qt, qd) = (sh_quote(&tmp), sh_quote(&format!("{home}/.rustle/{name}")));
        let check = format!(
            "printf '%s  %s\\n' {sha} {qt} | sha256sum -c --status && mv -f {qt} {qd} || {{ rm -f {qt}; exit 1; }}"
        );
        let done = rt
            .block_on(conn.exec(&check, b""))
            .map_err(|e| format!("cannot install the runner: {e}"))?;
        if done.status != Some(0) {
            return Err(format!(
                "the uploaded runner failed its sha256 check on the host: {}",
                String::from_utf8_lossy(&done.stderr).trim()
            ));
        }
        start(rt)?.ok_or_else(|| {
            format!("the runner uploaded to ~/.rustle/{name} does not start on the host (a noexec home directory?); only raw tasks can run here")
        })
    }

    /// Sends one request to `host`'s runner and returns its answer
    /// (events are skipped). An `Err` is the task's result: failed when the
    /// host has no runner, unreachable when the channel broke.
    fn request(&self, host: &str, req: &Request) -> Result<Response, Value> {
        let h = self
            .lock_hosts()
            .get(host)
            .cloned()
            .ok_or_else(|| unreachable(format!("{host}: not connected")))?;
        let rt = self.rt().map_err(failed)?;
        let _ctx = rt.enter();
        let mut guard = h.lock().unwrap_or_else(|e| e.into_inner());
        let serve = match &mut guard.serve {
            Ok(s) => s,
            Err(why) => return Err(failed(why.clone())),
        };
        let mut io = Blocking {
            rt,
            s: &mut serve.stream,
        };
        let broke = |e: String| {
            unreachable(format!(
                "Data could not be sent to remote host \"{host}\". Make sure this host can be reached over ssh: the runner's channel broke: {e}"
            ))
        };
        let r = (|| {
            protocol::write_frame(&mut io, req).map_err(|e| broke(e.to_string()))?;
            loop {
                match protocol::read_frame::<_, Response>(&mut io) {
                    Ok(Some(Response::Event(_))) => continue,
                    Ok(Some(Response::Error { message })) => return Err(failed(message)),
                    Ok(Some(resp)) => return Ok(resp),
                    Ok(None) => return Err(broke("the runner exited".into())),
                    Err(e) => return Err(broke(e.to_string())),
                }
            }
        })();
        drop(guard);
        if let Err(e) = &r {
            if e.get("unreachable").is_some() {
                self.lock_hosts().remove(host);
            }
        }
        r
    }

    /// Runs one module task on `host`.
    pub(crate) fn run_task(
        &self,
        host: &str,
        task: &PlanTask,
        assets: Vec<(AssetId, Vec<u8>)>,
        options: &RunOptions,
    ) -> Result<(Status, ModuleResult), Value> {
        let req = Request::RunTask {
            host: host.to_owned(),
            task: Box::new(task.clone()),
            assets: assets
                .into_iter()
                .map(|(id, data)| InlineAsset { id, data })
                .collect(),
            options: *options,
        };
        match self.request(host, &req)? {
            Response::TaskResult { status, result } => Ok((status, result)),
            other => Err(unexpected(&other)),
        }
    }

    /// Gathers `host`'s facts.
    pub(crate) fn gather_facts(
        &self,
        host: &str,
        options: &rustle_runner::facts::Options,
    ) -> Result<(Map<String, Value>, Vec<String>), Value> {
        let req = Request::GatherFacts {
            options: options.clone(),
        };
        match self.request(host, &req)? {
            Response::Facts { facts, warnings } => Ok((facts, warnings)),
            other => Err(unexpected(&other)),
        }
    }

    /// Runs `command` with `shell -c` on its own channel (`raw`): exit
    /// status, stdout, stderr.
    pub(crate) fn raw(
        &self,
        host: &str,
        shell: &str,
        command: &str,
    ) -> Result<(i32, Vec<u8>, Vec<u8>), Value> {
        let h = self
            .lock_hosts()
            .get(host)
            .cloned()
            .ok_or_else(|| unreachable(format!("{host}: not connected")))?;
        let rt = self.rt().map_err(failed)?;
        let _ctx = rt.enter();
        let guard = h.lock().unwrap_or_else(|e| e.into_inner());
        let line = format!("{} -c {}", sh_quote(shell), sh_quote(command));
        let out = rt
            .block_on(guard.conn.exec(&line, b""))
            .map_err(|e| unreachable(format!("Failed to connect to the host via ssh: {e}")))?;
        let rc = out.status.and_then(|s| i32::try_from(s).ok()).unwrap_or(-1);
        Ok((rc, out.stdout, out.stderr))
    }

    /// Closes `host`'s connection (`meta: reset_connection`); the next task
    /// connects again and starts a new runner process.
    pub(crate) fn reset(&self, host: &str) {
        let Some(rt) = self.rt.get() else { return };
        let _ctx = rt.enter();
        let h = self.lock_hosts().remove(host);
        if let Some(Ok(h)) = h.map(Arc::try_unwrap) {
            let h = h.into_inner().unwrap_or_else(|e| e.into_inner());
            drop(h.serve);
            rt.block_on(h.conn.close());
        }
    }

    /// Closes every connection (the runners exit when their channel
    /// closes).
    pub(crate) fn close_all(&self) {
        let Some(rt) = self.rt.get() else { return };
        let _ctx = rt.enter();
        let hosts: Vec<_> = self.lock_hosts().drain().collect();
        for (_, h) in hosts {
            if let Ok(h) = Arc::try_unwrap(h) {
                let h = h.into_inner().unwrap_or_else(|e| e.into_inner());
                drop(h.serve);
                rt.block_on(h.conn.close());
            }
        }
    }
}

impl Drop for Remotes {
    fn drop(&mut self) {
        // Channel streams are dropped inside the runtime's context.
        if let Some(rt) = self.rt.get() {
            let _ctx = rt.enter();
            self.lock_hosts().clear();
        }
    }
}

/// Single-quotes `s` for a POSIX shell.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}
