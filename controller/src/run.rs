//! `rustle playbook`: load, check, and run playbooks.

use std::io::{IsTerminal, Write};
use std::path::Path;

use crate::cli::PlaybookArgs;
use crate::config::Config;
use crate::display::Style;
use crate::exec::callback::Callback;
use crate::exec::{RunConfig, Runner};
use crate::playbook::{LoadOptions, Loader, ParseError};

fn print_warnings(loader: &mut Loader, style: &Style, verbosity: u8) {
    let notes: Vec<String> = loader.notes.drain(..).collect();
    if verbosity >= 2 && !notes.is_empty() {
        let mut out = std::io::stdout().lock();
        for n in notes {
            let _ = out.write_all(style.verbose_line(&n).as_bytes());
        }
        let _ = out.flush();
    }
    let mut err = std::io::stderr().lock();
    for w in loader.warnings.drain(..) {
        let _ = writeln!(err, "{}", style.warning(&w.0));
    }
}

fn fail(e: &ParseError, style: &Style) -> u8 {
    eprintln!("{}", style.error(e.render().trim_end_matches('\n')));
    e.exit_code()
}

/// Runs `rustle playbook` and returns the process exit code.
pub fn playbook(args: &PlaybookArgs) -> u8 {
    // Settings first: Ansible resolves them all before anything else, and
    // a bad one ends the run (exit 5).
    let mut config = match Config::load() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ERROR: {e}");
            return e.exit_code();
        }
    };
    let lookup_config = config.lookup_values();
    config.apply_cli(args);
    if args.version {
        println!("{}", version_block(&config));
        return 0;
    }
    // Option checks of the CLI's post_process_args: forks (from -f or the
    // settings) must be >= 1, a usage error (exit 2).
    if config.forks < 1 {
        eprintln!("rustle playbook: error: The number of processes (--forks) must be >= 1");
        return 2;
    }
    let color = config.color_enabled(std::io::stdout().is_terminal());
    let style = Style::new(color, &config.colors);
    // Warnings from finding the config file come first (constants.py).
    for w in &config.warnings {
        eprintln!("{}", style.warning(w));
    }
    // CLI.run(): the version block (-vv) and the config file (-v).
    let mut head = String::new();
    if args.verbose >= 2 {
        head.push_str(&style.verbose_line(&version_block(&config)));
    }
    if args.verbose >= 1 {
        let line = match &config.file {
            Some(f) => format!("Using {} as config file", f.display()),
            None => "No config file found; using defaults".to_owned(),
        };
        head.push_str(&style.verbose_line(&line));
    }
    if !head.is_empty() {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(head.as_bytes());
        let _ = out.flush();
    }
    if config.hash_behaviour == crate::config::HashBehaviour::Merge {
        eprintln!(
            "{}",
            style.warning("rustle does not implement hash_behaviour=merge yet: variables defined at several levels replace each other")
        );
    }
    if !matches!(
        config.stdout_callback.as_str(),
        "default" | "ansible.builtin.default" | "json" | "ansible.posix.json"
    ) {
        eprintln!(
            "{}",
            style.warning(&format!(
                "rustle implements the 'default' and 'json' stdout callbacks only; stdout_callback '{}' is ignored",
                config.stdout_callback
            ))
        );
    }
    // Missing playbooks are refused before anything is loaded.
    for p in &args.playbooks {
        if !p.exists() {
            eprintln!(
                "{}",
                style.error(&format!("the playbook: {} could not be found", p.display()))
            );
            return 1;
        }
        if !p.is_file() {
            eprintln!(
                "{}",
                style.error(&format!(
                    "the playbook: {} does not appear to be a file",
                    p.display()
                ))
            );
            return 1;
        }
    }
    // Vault secrets before anything is loaded (any file may be vaulted).
    let mut password_files = args.vault_password_file.clone();
    password_files.extend(config.vault_password_file.iter().cloned());
    match crate::vault_secrets::load(&crate::vault_secrets::Sources {
        identity_list: &config.vault_identity_list,
        vault_ids: &args.vault_id,
        password_files,
        ask: args.ask_vault_password,
        default_id: &config.vault_identity,
        new_password: false,
    }) {
        Ok((secrets, warnings)) => {
            for w in warnings {
                eprintln!("{}", style.warning(&w));
            }
            rustle_vault::keyring::install(secrets);
        }
        Err(e) => {
            eprintln!("{}", style.error(&e));
            return 1;
        }
    }
    // Inventory first, as Ansible: its warnings precede any playbook error.
    let pattern_mismatch = config.host_pattern_mismatch;
    let cwd = std::env::current_dir().unwrap_or_default();
    let mut sources: Vec<String> = args.inventory.clone();
    if sources.is_empty() {
        // The configured default (a missing /etc/ansible/hosts is passed
        // over quietly by the inventory loader, as Ansible's).
        sources.extend(config.inventory.iter().cloned());
    }
    let inventory = rustle_inventory::Inventory::load(
        &sources,
        &rustle_inventory::LoadOptions {
            cwd: cwd.clone(),
            python_interpreter: crate::inventory_cmd::local_python(),
            pattern_mismatch,
        },
    );
    if args.verbose >= 3 {
        let mut out = std::io::stdout().lock();
        for line in inventory.load_trace() {
            let _ = out.write_all(style.verbose_line(line).as_bytes());
        }
        let _ = out.flush();
    }
    for w in inventory.warnings().iter() {
        eprintln!("{}", style.warning(w));
    }
    // Then, as Ansible's CLI: extra vars, the empty-inventory warning, and
    // the --limit subset, before any playbook is read.
    let extra_vars = match parse_extra_vars(&args.extra_vars, &cwd) {
        Ok(v) => v,
        Err(e) => return fail(&e, &style),
    };
    let no_hosts = inventory.data.hosts.iter().all(|h| h.implicit);
    if no_hosts {
        eprintln!(
            "{}",
            style.warning("provided hosts list is empty, only localhost is available. Note that the implicit localhost does not match 'all'")
        );
    }
    let limit = if args.limit.is_empty() {
        None
    } else {
        match rustle_inventory::Limit::parse(&args.limit.join(","), &cwd) {
            Ok(l) => Some(l),
            Err(e) => {
                eprintln!("{}", style.error(&e.to_string()));
                return 1;
            }
        }
    };
    match inventory.get_hosts(&["all"], limit.as_ref(), Default::default()) {
        Ok(sel) => {
            for w in sel.warnings.iter() {
                eprintln!("{}", style.warning(w));
            }
            if sel.hosts.is_empty() && !no_hosts {
                eprintln!(
                    "{}",
                    style.error("Specified inventory, host pattern and/or --limit leaves us with no hosts to target.")
                );
                return 1;
            }
        }
        Err(e) => {
            eprintln!("{}", style.error(&e.to_string()));
            return 1;
        }
    }
    let mut loader = Loader::new(LoadOptions {
        roles_path: config.roles_path.clone(),
    });
    loader.extra_vars = extra_vars.clone();
    let render_templar = rustle_template::Templar::new(rustle_template::TemplarOptions::default());
    loader.renderer = Some(Box::new(move |s, vars| {
        let vars: std::sync::Arc<dyn rustle_template::Vars> = std::sync::Arc::new(vars.clone());
        render_templar
            .template_str(s, &vars)
            .map(|v| crate::exec::value_to_string(&v))
            .map_err(|e| e.to_string())
    }));
    let mut books = Vec::new();
    for p in &args.playbooks {
        match loader.load_playbook(p) {
            Ok(pb) => books.push(pb),
            Err(e) => {
                print_warnings(&mut loader, &style, args.verbose);
                return fail(&e, &style);
            }
        }
    }
    print_warnings(&mut loader, &style, args.verbose);
    // Listing and --syntax-check run no callbacks, but the executor still
    // counts each playbook's plays (-vv) before anything is shown.
    if args.syntax_check || args.list_hosts || args.list_tasks || args.list_tags {
        for (book, shown) in books.iter().zip(&args.playbooks) {
            let line = format!("{} plays in {}", book.plays.len(), display_path(shown));
            if args.verbose >= 2 {
                print!("{}", style.verbose_line(&line));
            }
        }
    }
    if args.syntax_check {
        return syntax_check(args, &books, &inventory);
    }
    let ssh = match ssh_options(args, &config) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{}", style.error(&e.to_string()));
            return crate::exec::RUN_ERROR;
        }
    };
    let cfg = RunConfig {
        ssh,
        check: args.check,
        diff: args.diff,
        verbosity: args.verbose,
        extra_vars,
        limit,
        tags: args.tags.clone(),
        skip_tags: args.skip_tags.clone(),
        force_handlers: args.force_handlers,
        start_at_task: args.start_at_task.clone(),
        forks: usize::try_from(config.forks).unwrap_or(1).max(1),
        gathering: config.gathering,
        timeout: config.timeout,
        config_file: config.file.clone(),
        lookup_config,
        fact_cache: crate::exec::factcache::CacheSettings {
            plugin: config.fact_caching.clone(),
            dir: config.fact_caching_dir.clone(),
            prefix: config.fact_caching_file_prefix.clone(),
            timeout: u64::try_from(config.fact_caching_timeout).unwrap_or(0),
        },
        connection: args.connection.clone(),
        step: args.step,
        // Paths made absolute, host lists (with a comma) kept, as Ansible's
        // CLI does; without -i, the configured default.
        inventory_sources: if sources.is_empty() {
            config.inventory.clone()
        } else {
            sources
                .iter()
                .map(|s| {
                    if s.contains(',') || Path::new(s).is_absolute() {
                        s.clone()
                    } else {
                        cwd.join(s).display().to_string()
                    }
                })
                .collect()
        },
        limit_text: (!args.limit.is_empty()).then(|| args.limit.join(",")),
        flush_cache: args.flush_cache,
    };
    let playbook_dir = books
        .first()
        .and_then(|b| b.path.parent().map(std::path::Path::to_path_buf))
        .unwrap_or_else(|| cwd.clone());
    let mut cb = Callback::new(
        Box::new(std::io::stdout()),
        Box::new(std::io::stderr()),
        args.verbose,
        args.diff,
    )
    .with_progress(crate::exec::progress::Progress::detect());
    cb.set_style(style);
    cb.display_ok_hosts = config.display_ok_hosts;
    cb.display_skipped_hosts = config.display_skipped_hosts;
    cb.display_args_to_stdout = config.display_args_to_stdout;
    cb.cwd = cwd.clone();
    if args
        .output
        .unwrap_or_else(|| crate::settings::stdout_callback(&config.stdout_callback))
        == crate::settings::OutputFormat::Json
    {
        cb = cb.with_json(crate::settings::json_indent(), config.show_custom_stats);
    }
    let mut runner = Runner::new(cfg, inventory, cb, &mut loader, playbook_dir);
    let what = crate::exec::listing::ListWhat {
        hosts: args.list_hosts,
        tasks: args.list_tasks,
        tags: args.list_tags,
    };
    let shown: Vec<String> = args.playbooks.iter().map(|p| display_path(p)).collect();
    if what.any() {
        return runner.list(&books, &shown, what);
    }
    runner.run(&books, &shown)
}

/// `-e` values: `k=v` pairs, YAML/JSON documents, or `@file` (relative to
/// `cwd`, as Ansible's loader resolves it); errors as Ansible reports them.
pub fn parse_extra_vars(
    items: &[String],
    cwd: &Path,
) -> Result<serde_json::Map<String, serde_json::Value>, ParseError> {
    let mut out = serde_json::Map::new();
    for raw in items {
        let (text, name) = if let Some(path) = raw.strip_prefix('@') {
            let full = cwd.join(path);
            let shown = full.display().to_string();
            let t = crate::vault_secrets::read_maybe_vaulted(&full)
                .map_err(|_| {
                    ParseError::general(
                        format!("Unable to retrieve file contents\nCould not find or access '{shown}' on the Ansible Controller.\nIf you are using a module and expect the file to exist on the remote, see the remote_src option"),
                        None,
                    )
                })?
                .map_err(|e| ParseError::general(e, None))?;
            let t = String::from_utf8_lossy(&t).into_owned();
            (t, shown)
        } else {
            (raw.clone(), "<string>".to_owned())
        };
        let value = if raw.starts_with('@') || raw.starts_with('{') || raw.starts_with('[') {
            let (node, _) = rustle_yaml::load(&text, &name).map_err(|e| {
                ParseError::parser(
                    e.ansible_message(&text),
                    Some(crate::playbook::SrcPos {
                        file: name.as_str().into(),
                        line: e.line,
                        col: e.col,
                    }),
                )
            })?;
            node.to_ansible_json()
        } else {
            serde_json::Value::Object(
                crate::playbook::splitter::parse_kv(&text, false)
                    .map_err(|e| ParseError::general(e, None))?
                    .into_iter()
                    .filter(|(k, _)| k != "_raw_params")
                    .collect(),
            )
        };
        match value {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    out.insert(k, v);
                }
            }
            serde_json::Value::Null => {}
            _ => {
                return Err(ParseError::general(
                    format!(
                    "Invalid extra vars data supplied. '{raw}' could not be made into a dictionary"
                ),
                    None,
                ))
            }
        }
    }
    Ok(out)
}

/// `--syntax-check`: everything is loaded; like Ansible, each play's host
/// pattern is still evaluated (an unmatched one warns, or fails under
/// `HOST_PATTERN_MISMATCH=error`), but nothing runs.
fn syntax_check(
    args: &PlaybookArgs,
    books: &[crate::playbook::Playbook],
    inventory: &rustle_inventory::Inventory,
) -> u8 {
    for play in books.iter().flat_map(|b| &b.plays) {
        let patterns: Vec<String> = match play.attrs.get("hosts") {
            Some(serde_json::Value::Array(a)) => {
                a.iter().map(crate::exec::value_to_string).collect()
            }
            Some(v) => vec![crate::exec::value_to_string(v)],
            None => continue,
        };
        // A templated pattern is not known yet: Ansible uses `all` here.
        if patterns
            .iter()
            .any(|p| p.contains("{{") || p.contains("{%"))
        {
            continue;
        }
        match inventory.get_hosts(&patterns, None, Default::default()) {
            Ok(sel) => {
                for w in sel.warnings.iter() {
                    eprintln!("[WARNING]: {w}");
                }
            }
            Err(e) => {
                eprintln!("ERROR! {e}");
                return 1;
            }
        }
    }
    for p in &args.playbooks {
        println!("\nplaybook: {}", display_path(p));
    }
    0
}

fn display_path(p: &Path) -> String {
    p.display().to_string()
}

/// Rustle's counterpart of Ansible's `-vv` version block: what this
/// program is and where it looks for things.
fn version_block(config: &Config) -> String {
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "unknown".into());
    let file = config
        .file
        .as_ref()
        .map_or_else(|| "None".to_owned(), |f| f.display().to_string());
    let rustle_file = config
        .rustle_file
        .as_ref()
        .map_or_else(|| "None".to_owned(), |f| f.display().to_string());
    let roles: Vec<String> = config
        .roles_path
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    format!(
        "rustle-playbook [rustle {}, ansible-core 2.18.19 compatible]\n  config file = {file}\n  rustle settings file = {rustle_file}\n  modules = native, built into rustle-runner (module search path unused)\n  roles path = {}\n  executable location = {exe}\n",
        env!("CARGO_PKG_VERSION"),
        roles.join(":"),
    )
    .trim_end()
    .to_owned()
}

/// How SSH hosts are reached: the command line over ansible.cfg
/// (`remote_user`, `private_key_file`, `timeout`, `[ssh_connection]`
/// `retries`/`ssh_args`, `host_key_checking`) and rustle.toml's runners.
/// `-k` asks for the connection password here, before the run, as
/// ansible-playbook does.
fn ssh_options(
    args: &crate::cli::PlaybookArgs,
    config: &crate::config::Config,
) -> Result<crate::exec::SshOptions, anyhow::Error> {
    let password = if let Some(f) = &args.connection_password_file {
        let text = std::fs::read_to_string(f).map_err(|e| {
            anyhow::anyhow!(
                "The connection password file {} could not be read: {e}",
                f.display()
            )
        })?;
        Some(text.lines().next().unwrap_or_default().to_owned())
    } else if args.ask_pass {
        Some(rpassword::prompt_password("SSH password: ")?)
    } else {
        None
    };
    let defaults = crate::connect_cmd::ssh_defaults(
        config,
        args.user.as_deref(),
        args.private_key.as_deref(),
        args.timeout,
        password,
    );
    Ok(crate::exec::SshOptions {
        defaults,
        auth: rustle_transport::AuthOptions::default(),
        common_args: args.ssh_common_args.clone(),
        extra_args: args.ssh_extra_args.clone(),
        runners: config.rustle.runners.clone(),
    })
}
