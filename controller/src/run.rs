//! `rustle playbook`: load, check, and run playbooks.

use std::io::Write;
use std::path::Path;

use crate::cli::PlaybookArgs;
use crate::exec::callback::Callback;
use crate::exec::{RunConfig, Runner};
use crate::playbook::{LoadOptions, Loader, ParseError};

/// Roles path from `ANSIBLE_ROLES_PATH` (colon-separated), else Ansible's
/// default `DEFAULT_ROLES_PATH` (`~` expanded as Python's `expanduser`).
fn roles_path() -> Vec<std::path::PathBuf> {
    let raw = std::env::var("ANSIBLE_ROLES_PATH")
        .unwrap_or_else(|_| "~/.ansible/roles:/usr/share/ansible/roles:/etc/ansible/roles".into());
    let home = std::env::var("HOME").unwrap_or_default();
    raw.split(':')
        .filter(|p| !p.is_empty())
        .map(|p| match p.strip_prefix('~') {
            Some(rest) if !home.is_empty() && (rest.is_empty() || rest.starts_with('/')) => {
                std::path::PathBuf::from(format!("{home}{rest}"))
            }
            _ => std::path::PathBuf::from(p),
        })
        .collect()
}

fn print_warnings(loader: &mut Loader) {
    let mut err = std::io::stderr().lock();
    for w in loader.warnings.drain(..) {
        let _ = writeln!(err, "{}", crate::display::warning_text(&w.0));
    }
}

fn fail(e: &ParseError) -> u8 {
    eprintln!("ERROR! {}", e.render().trim_end_matches('\n'));
    e.exit_code()
}

/// Runs `rustle playbook` and returns the process exit code.
pub fn playbook(args: &PlaybookArgs) -> u8 {
    // Option checks of the CLI's post_process_args: usage errors (exit 2).
    if args.forks == Some(0) {
        eprintln!("rustle playbook: error: The number of processes (--forks) must be >= 1");
        return 2;
    }
    // Missing playbooks are refused before anything is loaded.
    for p in &args.playbooks {
        if !p.exists() {
            eprintln!("ERROR! the playbook: {} could not be found", p.display());
            return 1;
        }
        if !p.is_file() {
            eprintln!(
                "ERROR! the playbook: {} does not appear to be a file",
                p.display()
            );
            return 1;
        }
    }
    // Inventory first, as Ansible: its warnings precede any playbook error.
    let pattern_mismatch = match std::env::var("ANSIBLE_HOST_PATTERN_MISMATCH") {
        Ok(v) => match v.parse() {
            Ok(p) => p,
            Err(e) => {
                eprintln!("ERROR! {e}");
                return 1;
            }
        },
        Err(_) => rustle_inventory::PatternMismatch::default(),
    };
    let cwd = std::env::current_dir().unwrap_or_default();
    let mut sources: Vec<String> = args.inventory.clone();
    if sources.is_empty() {
        if let Ok(inv) = std::env::var("ANSIBLE_INVENTORY") {
            sources.extend(inv.split(',').filter(|s| !s.is_empty()).map(str::to_owned));
        } else if std::path::Path::new("/etc/ansible/hosts").exists() {
            sources.push("/etc/ansible/hosts".into());
        }
    }
    let inventory = rustle_inventory::Inventory::load(
        &sources,
        &rustle_inventory::LoadOptions {
            cwd: cwd.clone(),
            python_interpreter: "/usr/bin/python3".into(),
            pattern_mismatch,
        },
    );
    for w in inventory.warnings().iter() {
        eprintln!("{}", crate::display::warning_text(w));
    }
    // Then, as Ansible's CLI: extra vars, the empty-inventory warning, and
    // the --limit subset, before any playbook is read.
    let extra_vars = match parse_extra_vars(&args.extra_vars, &cwd) {
        Ok(v) => v,
        Err(e) => return fail(&e),
    };
    let no_hosts = inventory.data.hosts.iter().all(|h| h.implicit);
    if no_hosts {
        eprintln!("[WARNING]: provided hosts list is empty, only localhost is available. Note that\nthe implicit localhost does not match 'all'");
    }
    let limit = if args.limit.is_empty() {
        None
    } else {
        match rustle_inventory::Limit::parse(&args.limit.join(","), &cwd) {
            Ok(l) => Some(l),
            Err(e) => {
                eprintln!("ERROR! {e}");
                return 1;
            }
        }
    };
    match inventory.get_hosts(&["all"], limit.as_ref(), Default::default()) {
        Ok(sel) => {
            for w in sel.warnings.iter() {
                eprintln!("{}", crate::display::warning_text(w));
            }
            if sel.hosts.is_empty() && !no_hosts {
                eprintln!("ERROR! Specified inventory, host pattern and/or --limit leaves us with no hosts to target.");
                return 1;
            }
        }
        Err(e) => {
            eprintln!("ERROR! {e}");
            return 1;
        }
    }
    let mut loader = Loader::new(LoadOptions {
        roles_path: roles_path(),
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
                print_warnings(&mut loader);
                return fail(&e);
            }
        }
    }
    print_warnings(&mut loader);
    if args.syntax_check {
        return syntax_check(args, &books, &inventory);
    }
    let cfg = RunConfig {
        check: args.check,
        diff: args.diff,
        verbosity: args.verbose,
        extra_vars,
        limit,
        tags: args.tags.clone(),
        skip_tags: args.skip_tags.clone(),
        force_handlers: args.force_handlers,
        start_at_task: args.start_at_task.clone(),
        forks: args.forks.unwrap_or(5),
        connection: args.connection.clone(),
        step: args.step,
        // Paths made absolute, host lists (with a comma) kept, as Ansible's
        // CLI does; without -i, the configured default.
        inventory_sources: if sources.is_empty() {
            vec!["/etc/ansible/hosts".to_owned()]
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
        .unwrap_or(cwd);
    let mut cb = Callback::new(
        Box::new(std::io::stdout()),
        Box::new(std::io::stderr()),
        args.verbose,
        args.diff,
    )
    .with_progress(crate::exec::progress::Progress::detect());
    if args.output.unwrap_or_else(crate::settings::stdout_callback)
        == crate::settings::OutputFormat::Json
    {
        cb = cb.with_json(
            crate::settings::json_indent(),
            crate::settings::show_custom_stats(),
        );
    }
    let mut runner = Runner::new(cfg, inventory, cb, &mut loader, playbook_dir);
    let what = crate::exec::listing::ListWhat {
        hosts: args.list_hosts,
        tasks: args.list_tasks,
        tags: args.list_tags,
    };
    if what.any() {
        let shown: Vec<String> = args.playbooks.iter().map(|p| display_path(p)).collect();
        return runner.list(&books, &shown, what);
    }
    runner.run(&books)
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
            let t = std::fs::read_to_string(&full).map_err(|_| {
                ParseError::general(
                    format!("Unable to retrieve file contents\nCould not find or access '{shown}' on the Ansible Controller.\nIf you are using a module and expect the file to exist on the remote, see the remote_src option"),
                    None,
                )
            })?;
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
