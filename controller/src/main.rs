//! `rustle` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use rustle::cli::PlaybookArgs;

#[derive(Parser)]
#[command(name = "rustle", version, about = "Runs Ansible playbooks, fast")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run playbooks, as ansible-playbook does.
    Playbook(Box<PlaybookArgs>),
    /// Generate an ed25519 key pair for signing bundles.
    Keygen {
        /// Base path: writes BASE.key (mode 0600) and BASE.pub.
        #[arg(short = 'o', long, default_value = "rustle")]
        output: PathBuf,
    },
    /// Show the inventory as ansible-inventory does (--list, --graph, --host).
    Inventory(rustle::inventory_cmd::InventoryArgs),
    /// Connect to hosts over SSH, run `true`, print status and latency.
    Connect(rustle::connect_cmd::ConnectArgs),
    /// Encrypt, decrypt, view, edit and rekey Ansible Vault data, as
    /// ansible-vault does.
    Vault(rustle::vault_cmd::VaultArgs),
    /// Show module documentation, as ansible-doc does (docs/modules.md).
    Doc(rustle::doc::DocArgs),
    /// Run one asynchronous task handed over on stdin (started by
    /// `rustle playbook` for `async:` tasks on local hosts).
    #[command(hide = true, name = "__async-job")]
    AsyncJob {
        jid: String,
        time_limit: u64,
        job_path: PathBuf,
    },
}

/// Parses arguments; a binary invoked as `ansible-playbook` or
/// `rustle-playbook` behaves as `rustle playbook`, one invoked as
/// `ansible-vault` or `rustle-vault` as `rustle vault`.
fn parse() -> Result<Cli, clap::Error> {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let argv0 = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if argv0 == "ansible-playbook" || argv0 == "rustle-playbook" {
        args.insert(1, "playbook".into());
    }
    if argv0 == "ansible-vault" || argv0 == "rustle-vault" {
        args.insert(1, "vault".into());
    }
    Cli::try_parse_from(args)
}

fn main() -> ExitCode {
    // A bug is reported as ansible-playbook reports an unexpected
    // exception (exit 250), not as a Rust panic.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let at = info
            .location()
            .map(|l| format!(" (at {}:{})", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("ERROR! Unexpected Exception, this is probably a bug: {msg}{at}");
        std::process::exit(250);
    }));
    let cli = match parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            // Unknown or malformed options: argparse's usage error, exit 2.
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match cli.cmd {
        Cmd::Playbook(args) => {
            // Ctrl-C stops the run as ansible-playbook's KeyboardInterrupt
            // does: no recap, the error, exit 99.
            let _ = ctrlc::set_handler(|| {
                use std::io::Write;
                let _ = std::io::stdout().flush();
                let mut err = std::io::stderr();
                let _ = writeln!(
                    err,
                    "{}",
                    rustle::display::error_text("User interrupted execution")
                );
                let _ = err.flush();
                std::process::exit(99);
            });
            ExitCode::from(rustle::run::playbook(&args))
        }
        Cmd::Inventory(args) => rustle::inventory_cmd::run(args),
        Cmd::Vault(args) => rustle::vault_cmd::run(args),
        Cmd::Doc(args) => rustle::doc::run(&args),
        Cmd::Connect(args) => rustle::connect_cmd::run(args),
        Cmd::AsyncJob {
            jid,
            time_limit,
            job_path,
        } => ExitCode::from(u8::from(
            rustle_runner::asyncjob::job_main(&jid, time_limit, &job_path) != 0,
        )),

        Cmd::Keygen { output } => match rustle::keygen::generate(&output) {
            Ok((sk, pk, id)) => {
                println!(
                    "Wrote secret key {} (mode 0600) and public key {} (key id {id})",
                    sk.display(),
                    pk.display()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("ERROR! {e}");
                ExitCode::from(1)
            }
        },
    }
}
