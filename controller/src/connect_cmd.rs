//! `rustle connect -i INVENTORY PATTERN`: connects to each selected host
//! over SSH (rustle-transport), runs `true`, and prints per-host status and
//! latency. A debugging aid for the SSH transport (docs/transport.md).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use rustle_inventory::{Inventory, Limit, LoadOptions};
use rustle_transport::{AuthOptions, Defaults, SshConfigs};

/// Options of `rustle connect`.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// Inventory source: a file, a directory or a comma-separated host list
    /// (repeatable).
    #[arg(short = 'i', long = "inventory", value_name = "INVENTORY")]
    pub inventory: Vec<String>,
    /// Host pattern (as ansible's).
    #[arg(value_name = "PATTERN", default_value = "all")]
    pub pattern: String,
    /// Further limit selected hosts to an additional pattern.
    #[arg(short = 'l', long = "limit", value_name = "SUBSET")]
    pub limit: Option<String>,
    /// Hosts connected to at the same time (default: `forks` from
    /// ansible.cfg, 5).
    #[arg(short = 'f', long = "forks", value_name = "FORKS")]
    pub forks: Option<usize>,
    /// Connect as this user (ansible's -u).
    #[arg(short = 'u', long = "user", value_name = "REMOTE_USER")]
    pub user: Option<String>,
    /// Use this file to authenticate the connection.
    #[arg(
        long = "private-key",
        alias = "key-file",
        value_name = "PRIVATE_KEY_FILE"
    )]
    pub private_key: Option<PathBuf>,
    /// Connection timeout in seconds (default: `timeout` from ansible.cfg, 10).
    #[arg(short = 'T', long = "timeout", value_name = "TIMEOUT")]
    pub timeout: Option<u64>,
    /// Ask for the connection password.
    #[arg(short = 'k', long = "ask-pass")]
    pub ask_pass: bool,
    /// Ask for the passphrase of encrypted private keys.
    #[arg(long = "ask-key-passphrase")]
    pub ask_key_passphrase: bool,
    /// Extra ssh arguments for every host (as ansible's --ssh-common-args).
    #[arg(long = "ssh-common-args", value_name = "SSH_COMMON_ARGS")]
    pub ssh_common_args: Option<String>,
    /// More ssh arguments for every host (as ansible's --ssh-extra-args).
    #[arg(long = "ssh-extra-args", value_name = "SSH_EXTRA_ARGS")]
    pub ssh_extra_args: Option<String>,
}

/// The SSH defaults of a run: command-line values (`-u`,
/// `--private-key`, `-T`, the password) over ansible.cfg's.
pub(crate) fn ssh_defaults(
    config: &crate::config::Config,
    user: Option<&str>,
    private_key: Option<&std::path::Path>,
    timeout: Option<u64>,
    password: Option<String>,
) -> Defaults {
    Defaults {
        remote_user: user.map(str::to_owned).or(config.remote_user.clone()),
        private_key_file: private_key
            .or(config.private_key_file.as_deref())
            .map(|p| p.display().to_string()),
        timeout: Some(timeout.unwrap_or_else(|| u64::try_from(config.timeout).unwrap_or(10))),
        retries: u32::try_from(config.ssh_retries).ok(),
        host_key_checking: config.host_key_checking,
        ssh_args: config.ssh_args.clone(),
        password,
        ..Defaults::default()
    }
}

/// A host variable as the string a setting needs.
fn var_string(v: &serde_json::Value) -> String {
    crate::exec::value_to_string(v)
}

fn warn(msg: &str) {
    eprintln!("{}", crate::display::wrap(&format!("[WARNING]: {msg}"), 79));
}

/// Runs the command: exit 0 when every host answered, 4 (ansible's
/// "unreachable") otherwise, 1 on errors before connecting, 5 on bad
/// settings.
pub fn run(args: ConnectArgs) -> ExitCode {
    let config = match crate::config::Config::load() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ERROR: {e}");
            return ExitCode::from(e.exit_code());
        }
    };
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
            python_interpreter: crate::inventory_cmd::local_python(),
            pattern_mismatch: config.host_pattern_mismatch,
        },
    );
    for w in inv.warnings().iter() {
        warn(w);
    }
    let limit = match args.limit.as_deref().map(|l| Limit::parse(l, &cwd)) {
        Some(Ok(l)) => Some(l),
        Some(Err(e)) => {
            eprintln!("ERROR! {e}");
            return ExitCode::from(1);
        }
        None => None,
    };
    let sel = match inv.list_hosts(&args.pattern, limit.as_ref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ERROR! {e}");
            return ExitCode::from(1);
        }
    };
    for w in sel.warnings.iter() {
        warn(w);
    }
    if sel.hosts.is_empty() {
        warn("No hosts matched, nothing to do");
        return ExitCode::SUCCESS;
    }

    let password = if args.ask_pass {
        match rpassword::prompt_password("SSH password: ") {
            Ok(p) => Some(p),
            Err(e) => {
                eprintln!("ERROR! {e}");
                return ExitCode::from(1);
            }
        }
    } else {
        None
    };
    let passphrase = if args.ask_key_passphrase {
        match rpassword::prompt_password("Private key passphrase: ") {
            Ok(p) => Some(p),
            Err(e) => {
                eprintln!("ERROR! {e}");
                return ExitCode::from(1);
            }
        }
    } else {
        None
    };
    let defaults = ssh_defaults(
        &config,
        args.user.as_deref(),
        args.private_key.as_deref(),
        args.timeout,
        password,
    );
    let configs = match SshConfigs::load_default(defaults.home.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ERROR! Can't read ~/.ssh/config: {e}");
            return ExitCode::from(1);
        }
    };

    // Hosts to probe, and the lines for hosts that need no SSH.
    let mut lines: BTreeMap<usize, String> = BTreeMap::new();
    let mut unreachable = 0usize;
    let mut targets = Vec::new();
    let mut index = Vec::new();
    for (i, host) in sel.hosts.iter().enumerate() {
        if inv.resolve_host(host).is_none() {
            // The implicit localhost connects locally, as in Ansible.
            lines.insert(
                i,
                format!("{host} | OK | connection: local, nothing to connect to"),
            );
            continue;
        }
        let vars = match inv.host_vars(host, &[]) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("ERROR! {e}");
                return ExitCode::from(1);
            }
        };
        let mut strings: BTreeMap<String, String> = vars
            .iter()
            .filter(|(k, _)| k.starts_with("ansible_"))
            .map(|(k, v)| (k.clone(), var_string(v)))
            .collect();
        if let Some(a) = &args.ssh_common_args {
            strings.insert("ansible_ssh_common_args".into(), a.clone());
        }
        if let Some(a) = &args.ssh_extra_args {
            strings.insert("ansible_ssh_extra_args".into(), a.clone());
        }
        let conn = strings
            .get("ansible_connection")
            .cloned()
            .unwrap_or_else(|| config.transport.clone());
        let plugin = conn.rsplit('.').next().unwrap_or(&conn).to_string();
        match plugin.as_str() {
            "ssh" | "smart" | "paramiko" | "paramiko_ssh" => {}
            "local" => {
                lines.insert(
                    i,
                    format!("{host} | OK | connection: local, nothing to connect to"),
                );
                continue;
            }
            other => {
                unreachable += 1;
                lines.insert(
                    i,
                    format!("{host} | UNREACHABLE | the connection plugin '{other}' is not supported by rustle connect"),
                );
                continue;
            }
        }
        match rustle_transport::resolve(host, &strings, &defaults, &configs) {
            Ok(s) => {
                for w in &s.warnings {
                    warn(&format!("{host}: {w}"));
                }
                index.push(i);
                targets.push(s);
            }
            Err(e) => {
                unreachable += 1;
                lines.insert(i, format!("{host} | UNREACHABLE | {e}"));
            }
        }
    }
    let forks = args
        .forks
        .unwrap_or_else(|| usize::try_from(config.forks).unwrap_or(5))
        .max(1);
    let auth = AuthOptions {
        passphrase,
        ..AuthOptions::default()
    };
    let results = match rustle_transport::probe_all(targets, &auth, forks) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ERROR! {e}");
            return ExitCode::from(1);
        }
    };
    for (i, (s, r)) in index.into_iter().zip(results) {
        let via = if s.proxy_jump.is_empty() {
            String::new()
        } else {
            let hops: Vec<&str> = s.proxy_jump.iter().map(|h| h.name.as_str()).collect();
            format!(" via {}", hops.join(","))
        };
        let line = match r {
            Ok(ok) => {
                let mut l = format!(
                    "{} | OK | {}@{}:{}{via} | connect {:.3}s, exec {:.3}s",
                    s.inventory_name,
                    s.user,
                    s.host,
                    s.port,
                    ok.connect.as_secs_f64(),
                    ok.exec.as_secs_f64()
                );
                if ok.attempts > 1 {
                    l.push_str(&format!(" ({} attempts)", ok.attempts));
                }
                for n in ok.notes {
                    l.push_str(&format!("\n  {n}"));
                }
                l
            }
            Err(e) => {
                unreachable += 1;
                format!(
                    "{} | UNREACHABLE | {}@{}:{}{via} | Failed to connect to the host via ssh: {e}",
                    s.inventory_name, s.user, s.host, s.port
                )
            }
        };
        lines.insert(i, line);
    }
    for l in lines.values() {
        println!("{l}");
    }
    if unreachable > 0 {
        ExitCode::from(4)
    } else {
        ExitCode::SUCCESS
    }
}
