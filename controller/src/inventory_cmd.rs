//! `rustle inventory`: `ansible-inventory` (`--list`, `--graph`, `--host`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use rustle_inventory::output::{self, OutputError, OutputOptions};
use rustle_inventory::pyfmt::json_dumps;
use rustle_inventory::{Inventory, Limit, LoadOptions, Warnings};

/// Options of `rustle inventory`, as `ansible-inventory`'s.
#[derive(Debug, Args)]
pub struct InventoryArgs {
    /// Inventory source: a file, a directory or a comma-separated host list
    /// (repeatable).
    #[arg(short = 'i', long = "inventory", value_name = "INVENTORY")]
    pub inventory: Vec<String>,
    /// Output all hosts info, works as inventory script.
    #[arg(long)]
    pub list: bool,
    /// Output specific host info, works as inventory script.
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
    /// Create inventory graph; a GROUP argument must be a group name.
    #[arg(long)]
    pub graph: bool,
    /// Add vars to graph display, ignored unless used with --graph.
    #[arg(long)]
    pub vars: bool,
    /// Represent in a way that is optimized for export (with --list).
    #[arg(long)]
    pub export: bool,
    /// Further limit selected hosts to an additional pattern.
    #[arg(short = 'l', long = "limit", value_name = "SUBSET")]
    pub limit: Option<String>,
    /// Substitute playbook directory (for its group_vars/ and host_vars/).
    #[arg(long = "playbook-dir", value_name = "BASEDIR")]
    pub playbook_dir: Option<PathBuf>,
    /// The group to start --graph at.
    #[arg(value_name = "group")]
    pub group: Option<String>,
}

/// `ansible_python_interpreter` for the implicit localhost: the first
/// `python3` on PATH: what ansible-playbook would run with (its own
/// `sys.executable`, `ansible_playbook_python`), e.g. an activated venv's.
pub(crate) fn local_python() -> String {
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let p = dir.join("python3");
            if p.is_file() {
                return p.to_string_lossy().into_owned();
            }
        }
    }
    "/usr/bin/python3".into()
}

fn print_warnings(w: &Warnings) {
    for m in w.iter() {
        eprintln!("{}", crate::display::wrap(&format!("[WARNING]: {m}"), 79));
    }
}

/// Runs the command; exit codes as `ansible-inventory` (5 for bad options).
pub fn run(args: InventoryArgs) -> ExitCode {
    // Settings first, as every Ansible command (a bad one exits 5).
    let config = match crate::config::Config::load() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ERROR: {e}");
            return ExitCode::from(e.exit_code());
        }
    };
    let used = [args.list, args.host.is_some(), args.graph]
        .iter()
        .filter(|&&x| x)
        .count();
    if used == 0 {
        eprintln!("ERROR! No action selected, at least one of --host, --graph or --list needs to be specified.");
        return ExitCode::from(5);
    }
    if used > 1 {
        eprintln!("ERROR! Conflicting options used, only one of --host, --graph or --list can be used at the same time.");
        return ExitCode::from(5);
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let sources = if args.inventory.is_empty() {
        config.inventory.clone()
    } else {
        args.inventory.clone()
    };
    let inv = Inventory::load(
        &sources,
        &LoadOptions {
            cwd: cwd.clone(),
            python_interpreter: local_python(),
            pattern_mismatch: config.host_pattern_mismatch,
        },
    );
    print_warnings(inv.warnings());
    let playbook_dir = args.playbook_dir.as_deref().map(|p| abs(p, &cwd));
    let opts = OutputOptions {
        playbook_dir,
        cwd: cwd.clone(),
        export: args.export,
    };
    let result: Result<(String, Warnings), OutputError> = if let Some(h) = &args.host {
        output::host(&inv, h, &opts).map(|(v, w)| (json_dumps(&v), w))
    } else {
        let limit = match args.limit.as_deref().map(|l| Limit::parse(l, &cwd)) {
            Some(Ok(l)) => Some(l),
            Some(Err(e)) => {
                eprintln!("ERROR! {e}");
                return ExitCode::from(1);
            }
            None => None,
        };
        if args.graph {
            let group = args.group.as_deref().unwrap_or("all");
            output::graph(&inv, group, args.vars, &opts).map(|s| (s, Warnings::default()))
        } else {
            output::list(&inv, limit.as_ref(), &opts)
                .map(|(v, w)| (json_dumps(&v), w))
                .map_err(Into::into)
        }
    };
    match result {
        Ok((text, warnings)) => {
            print_warnings(&warnings);
            print_warnings(&inv.take_vars_warnings());
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e @ OutputError::HostCount { .. }) => {
            if let OutputError::HostCount { warnings, .. } = &e {
                print_warnings(warnings);
            }
            eprintln!("ERROR! {e}");
            ExitCode::from(5)
        }
        Err(OutputError::Options(m)) => {
            eprintln!("ERROR! {m}");
            ExitCode::from(5)
        }
        Err(e) => {
            eprintln!("ERROR! {e}");
            ExitCode::from(1)
        }
    }
}

fn abs(p: &Path, cwd: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        cwd.join(p)
    }
}
