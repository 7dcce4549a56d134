//! `rustle-runner` command line.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use rustle_bundle::{AssetId, PlayPlan, Verification, MAGIC, TRAILER_LEN};
use rustle_runner::engine::{self, Event, EventSink, HostStats, RunOptions, Status};
use rustle_runner::modules::{AssetSource, ModuleError};
use rustle_runner::output::Renderer;
use rustle_runner::protocol::{self, InlineAsset, Request, Response, PROTOCOL_VERSION};
use rustle_runner::session::{self, SessionError};
use serde_json::{json, Value};

/// ansible-playbook's exit codes (TaskQueueManager RUN_* and the CLI's).
const EXIT_OK: u8 = 0;
const EXIT_ERROR: u8 = 1;
const EXIT_FAILED_HOSTS: u8 = 2;
const EXIT_BAD_OPTIONS: u8 = 5;

#[derive(Parser)]
#[command(
    name = "rustle-runner",
    version,
    about = "Applies signed Rustle bundles on this host"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Verify a bundle and apply it to this host.
    Apply {
        /// The bundle file (`.rsl`, or a runner with a bundle appended).
        bundle: PathBuf,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Serve framed MessagePack requests on stdin/stdout (driven by the controller).
    Serve {
        #[command(flatten)]
        trust: TrustArgs,
    },
    /// Check a bundle's layout, signature and assets without applying it.
    Verify {
        bundle: PathBuf,
        #[command(flatten)]
        trust: TrustArgs,
    },
    /// Print a bundle's plan and asset list as JSON (no signature check).
    Inspect { bundle: PathBuf },
    /// Run one asynchronous task handed over on stdin (started by the
    /// runner or controller for `async:` tasks).
    #[command(hide = true)]
    AsyncJob {
        jid: String,
        time_limit: u64,
        job_path: PathBuf,
    },
}

#[derive(Args, Clone)]
struct TrustArgs {
    /// A public key to trust (repeatable).
    #[arg(long = "trust", value_name = "KEY.pub")]
    trust: Vec<PathBuf>,
    /// A file of trusted public keys, one per line (repeatable).
    #[arg(long = "trust-file", value_name = "FILE")]
    trust_file: Vec<PathBuf>,
    /// Apply bundles without checking any signature. Dangerous.
    #[arg(long)]
    insecure_skip_verify: bool,
}

#[derive(Args, Clone)]
struct RunArgs {
    /// Predict changes without making them.
    #[arg(short = 'C', long)]
    check: bool,
    /// Show before/after differences of changed files.
    #[arg(short = 'D', long)]
    diff: bool,
    /// Which of the bundle's hosts this host is.
    #[arg(long)]
    host: Option<String>,
    /// Write all results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    report_file: Option<PathBuf>,
    /// More output (-v, -vv, -vvv).
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(flatten)]
    trust: TrustArgs,
}

/// `./app [OPTIONS]` for a runner with its own bundle appended.
#[derive(Parser)]
#[command(
    name = "rustle-runner",
    version,
    about = "Applies the bundle appended to this executable"
)]
struct SelfCli {
    #[command(flatten)]
    run: RunArgs,
}

fn verification(t: &TrustArgs) -> Verification {
    if t.insecure_skip_verify {
        Verification::InsecureSkip
    } else {
        Verification::Required
    }
}

fn has_own_bundle(exe: &Path) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut f) = std::fs::File::open(exe) else {
        return false;
    };
    let Ok(len) = f.seek(SeekFrom::End(0)) else {
        return false;
    };
    if len < TRAILER_LEN as u64 {
        return false;
    }
    let mut magic = [0u8; 8];
    f.seek(SeekFrom::End(-8)).is_ok() && f.read_exact(&mut magic).is_ok() && magic == MAGIC.0
}

fn main() -> ExitCode {
    let exe = std::env::current_exe().ok();
    if let Some(exe) = exe.filter(|e| has_own_bundle(e)) {
        return match SelfCli::try_parse() {
            Ok(cli) => finish(apply(&exe, &cli.run)),
            Err(e) => usage(e),
        };
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => return usage(e),
    };
    finish(match cli.cmd {
        Cmd::Apply { bundle, run } => apply(&bundle, &run),
        Cmd::Serve { trust } => serve(&trust),
        Cmd::Verify { bundle, trust } => verify(&bundle, &trust),
        Cmd::Inspect { bundle } => inspect(&bundle),
        Cmd::AsyncJob {
            jid,
            time_limit,
            job_path,
        } => Ok(u8::from(
            rustle_runner::asyncjob::job_main(&jid, time_limit, &job_path) != 0,
        )),
    })
}

fn usage(e: clap::Error) -> ExitCode {
    let _ = e.print();
    if e.use_stderr() {
        ExitCode::from(EXIT_BAD_OPTIONS)
    } else {
        ExitCode::from(EXIT_OK)
    }
}

fn finish(r: Result<u8, SessionError>) -> ExitCode {
    match r {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("ERROR! {e}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// Renders events to stdout and keeps them for the report file.
struct ConsoleSink {
    renderer: Renderer,
    out: std::io::Stdout,
    tasks: Vec<Value>,
    play: String,
}

impl EventSink for ConsoleSink {
    fn event(&mut self, ev: &Event) {
        let text = self.renderer.render(ev);
        if !text.is_empty() {
            let mut lock = self.out.lock();
            let _ = lock.write_all(text.as_bytes());
            let _ = lock.flush();
        }
        match ev {
            Event::PlayStart { name } => self.play = name.clone(),
            Event::TaskDone {
                name,
                module,
                handler,
                status,
                result,
                ..
            } => self.tasks.push(json!({
                "play": self.play,
                "task": name,
                "module": module,
                "handler": handler,
                "status": status,
                "result": result,
            })),
            _ => {}
        }
    }
}

fn apply(path: &Path, run: &RunArgs) -> Result<u8, SessionError> {
    let data = session::read_file(path)?;
    let trust = session::trust_store(&run.trust.trust, &run.trust.trust_file)?;
    let loaded = session::load(&data, &trust, verification(&run.trust))?;
    let host = loaded.host(run.host.as_deref())?;
    let opts = RunOptions {
        check: run.check,
        diff: run.diff,
        verbosity: run.verbose,
    };
    let mut sink = ConsoleSink {
        renderer: Renderer::new(run.verbose, run.diff),
        out: std::io::stdout(),
        tasks: Vec::new(),
        play: String::new(),
    };
    let stats = loaded.run(host, &opts, &mut sink);
    print!("{}", sink.renderer.recap(&[(host.name.clone(), stats)]));
    if let Some(report) = &run.report_file {
        let doc = json!({
            "format_version": 1,
            "host": host.name,
            "source": loaded.plan.source,
            "check_mode": run.check,
            "tasks": sink.tasks,
            "stats": stats,
        });
        let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        write_report(report, text.as_bytes()).map_err(|source| SessionError::Read {
            path: report.display().to_string(),
            source,
        })?;
    }
    Ok(exit_code(&stats))
}

fn write_report(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp-rustle");
    std::fs::write(&tmp, data)?;
    std::fs::rename(&tmp, path)
}

fn exit_code(stats: &HostStats) -> u8 {
    if stats.failed > 0 {
        EXIT_FAILED_HOSTS
    } else if stats.unreachable > 0 {
        4
    } else {
        EXIT_OK
    }
}

fn verify(path: &Path, t: &TrustArgs) -> Result<u8, SessionError> {
    let data = session::read_file(path)?;
    let trust = session::trust_store(&t.trust, &t.trust_file)?;
    let loaded = session::load(&data, &trust, verification(t))?;
    let signer = loaded
        .verified
        .signer()
        .map_or_else(|| "not checked".to_owned(), |k| k.to_string());
    println!(
        "OK: {} host(s), {} asset(s), signed by {signer}",
        loaded.plan.hosts.len(),
        loaded.verified.assets().len()
    );
    Ok(EXIT_OK)
}

fn inspect(path: &Path) -> Result<u8, SessionError> {
    let data = session::read_file(path)?;
    let loaded = session::load(
        &data,
        &rustle_bundle::TrustStore::new(),
        Verification::InsecureSkip,
    )?;
    let t = loaded.verified.trailer();
    let assets: Vec<Value> = loaded
        .verified
        .assets()
        .iter()
        .map(|a| json!({"id": a.id.to_hex(), "size": a.raw_len, "compressed": a.len}))
        .collect();
    let doc = json!({
        "format_version": t.version,
        "signed_by": if t.is_signed() { Value::from(hex::encode(t.key_id)) } else { Value::Null },
        "plan": loaded.plan,
        "assets": assets,
    });
    println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    Ok(EXIT_OK)
}

/// Writes each event as a frame.
struct FrameSink<'w, W: Write> {
    w: &'w mut W,
    error: Option<protocol::ProtocolError>,
}

impl<W: Write> EventSink for FrameSink<'_, W> {
    fn event(&mut self, ev: &Event) {
        if self.error.is_none() {
            if let Err(e) = protocol::write_frame(self.w, &Response::Event(ev.clone())) {
                self.error = Some(e);
            }
        }
    }
}

struct Inline(Vec<InlineAsset>);

impl AssetSource for Inline {
    fn asset(&self, id: &AssetId) -> Result<Vec<u8>, ModuleError> {
        self.0
            .iter()
            .find(|a| a.id == *id && AssetId::of(&a.data) == *id)
            .map(|a| a.data.clone())
            .ok_or_else(|| ModuleError::Asset(format!("asset {id} was not sent")))
    }
}

fn serve(t: &TrustArgs) -> Result<u8, SessionError> {
    let trust = session::trust_store(&t.trust, &t.trust_file)?;
    let mut input = std::io::stdin().lock();
    let mut output = std::io::stdout().lock();
    if output.is_terminal() {
        eprintln!(
            "rustle-runner serve speaks a binary protocol on stdin/stdout; it is driven by rustle."
        );
    }
    loop {
        let req: Request = match protocol::read_frame(&mut input) {
            Ok(Some(r)) => r,
            Ok(None) => return Ok(EXIT_OK),
            Err(e) => {
                eprintln!("ERROR! {e}");
                return Ok(EXIT_ERROR);
            }
        };
        let resp = match req {
            Request::Hello { .. } => Response::Hello {
                protocol: PROTOCOL_VERSION,
                version: env!("CARGO_PKG_VERSION").to_owned(),
                target: rustle_runner::TARGET.to_owned(),
            },
            Request::Shutdown => return Ok(EXIT_OK),
            Request::GatherFacts { options } => {
                match rustle_runner::facts::gather_checked(&options) {
                    Ok((facts, warnings)) => Response::Facts { facts, warnings },
                    Err(e) => Response::Error {
                        message: e.to_string(),
                    },
                }
            }
            Request::RunBundle {
                bundle,
                host,
                options,
            } => match session::load(&bundle, &trust, verification(t)) {
                Err(e) => Response::Error {
                    message: e.to_string(),
                },
                Ok(loaded) => match loaded.host(host.as_deref()) {
                    Err(e) => Response::Error {
                        message: e.to_string(),
                    },
                    Ok(hp) => {
                        let mut sink = FrameSink {
                            w: &mut output,
                            error: None,
                        };
                        let stats = loaded.run(hp, &options, &mut sink);
                        if let Some(e) = sink.error {
                            eprintln!("ERROR! {e}");
                            return Ok(EXIT_ERROR);
                        }
                        Response::SegmentDone {
                            host: hp.name.clone(),
                            stats,
                        }
                    }
                },
            },
            Request::RunTask {
                task,
                assets,
                options,
                ..
            } => {
                let play = PlayPlan {
                    name: String::new(),
                    tasks: Vec::new(),
                    handlers: Vec::new(),
                    check_mode: None,
                    diff: None,
                };
                let (status, result) = engine::run_task(
                    &task,
                    &play,
                    &Inline(assets),
                    &options,
                    &serde_json::Map::new(),
                );
                Response::TaskResult { status, result }
            }
        };
        if let Err(e) = protocol::write_frame(&mut output, &resp) {
            eprintln!("ERROR! {e}");
            return Ok(EXIT_ERROR);
        }
    }
}

#[allow(dead_code)]
fn status_word(s: Status) -> &'static str {
    match s {
        Status::Ok => "ok",
        Status::Changed => "changed",
        Status::Skipped => "skipped",
        Status::Failed => "failed",
        Status::Ignored => "ignored",
    }
}
