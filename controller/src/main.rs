//! `rustle` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "rustle", version, about = "Runs Ansible playbooks, fast")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Generate an ed25519 key pair for signing bundles.
    Keygen {
        /// Base path: writes BASE.key (mode 0600) and BASE.pub.
        #[arg(short = 'o', long, default_value = "rustle")]
        output: PathBuf,
    },
    /// Show the inventory as ansible-inventory does (--list, --graph, --host).
    Inventory(rustle::inventory_cmd::InventoryArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            // ansible-playbook exits 5 on bad options.
            return ExitCode::from(if e.use_stderr() { 5 } else { 0 });
        }
    };
    let result: anyhow::Result<()> = match cli.cmd {
        Cmd::Inventory(args) => return rustle::inventory_cmd::run(args),
        Cmd::Keygen { output } => rustle::keygen::generate(&output)
            .map(|(sk, pk, id)| {
                println!(
                    "Wrote secret key {} (mode 0600) and public key {} (key id {id})",
                    sk.display(),
                    pk.display()
                );
            })
            .map_err(Into::into),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ERROR! {e:#}");
            ExitCode::from(1)
        }
    }
}
