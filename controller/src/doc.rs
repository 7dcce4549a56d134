//! `rustle doc`: module documentation generated from the runner's
//! registry and the controller's actions (`docs/modules.md` is this
//! output, kept in sync by a test).

use std::process::ExitCode;

use clap::Args;
use rustle_runner::docs::{ModuleDoc, RunsOn};

/// The introduction of `docs/modules.md`.
const HEADER: &str = include_str!("doc_header.md");

#[derive(Args, Debug, Clone)]
pub struct DocArgs {
    /// Modules to document (short names or FQCNs).
    #[arg(value_name = "MODULE")]
    pub modules: Vec<String>,
    /// List the modules, one per line with its description.
    #[arg(short = 'l', long = "list")]
    pub list: bool,
    /// Print the whole of docs/modules.md.
    #[arg(long = "markdown")]
    pub markdown: bool,
}

/// Actions the controller carries out itself (`exec::action_docs`).
fn actions() -> Vec<ModuleDoc> {
    crate::exec::action_docs::ACTIONS
        .iter()
        .map(|a| ModuleDoc {
            name: a.name,
            collection: match a.name {
                "synchronize" => "ansible.posix",
                _ => "ansible.builtin",
            },
            description: a.description,
            spec: a.spec,
            check_mode: a.check_mode,
            diff: a.diff,
            runs_on: RunsOn::Controller,
            notes: a.notes,
        })
        .collect()
}

/// Every documented module and action, sorted by name. Where a controller
/// action and a runner module share a name, the action is what a task
/// calls, so its documentation wins.
pub fn all() -> Vec<ModuleDoc> {
    let actions = actions();
    let mut out: Vec<ModuleDoc> = rustle_runner::docs::registry()
        .into_iter()
        .filter(|m| !actions.iter().any(|a| a.name == m.name))
        .collect();
    out.extend(actions);
    out.sort_by_key(|d| d.name);
    out
}

/// Finds a module by short name or FQCN.
pub fn find(name: &str) -> Option<ModuleDoc> {
    let short = rustle_runner::modules::canonical_name(name);
    all()
        .into_iter()
        .find(|d| d.name == short || d.fqcn() == name)
}

/// The whole of `docs/modules.md`.
pub fn markdown() -> String {
    let docs = all();
    let mut out = String::from(HEADER.trim_end());
    out.push_str("\n\n");
    for d in &docs {
        out.push_str(&format!(
            "- [{}](#{}) — {}\n",
            d.name,
            anchor(&format!("{} ({})", d.name, d.fqcn())),
            d.description.trim_end_matches('.')
        ));
    }
    out.push('\n');
    for d in &docs {
        out.push_str(&d.markdown());
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// The heading anchor GitHub-flavoured Markdown gives a heading text.
fn anchor(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

pub fn run(args: &DocArgs) -> ExitCode {
    if args.markdown {
        print!("{}", markdown());
        return ExitCode::SUCCESS;
    }
    if args.list || args.modules.is_empty() {
        let docs = all();
        let width = docs.iter().map(|d| d.name.len()).max().unwrap_or(0);
        for d in docs {
            println!("{:width$} {}", d.name, d.description);
        }
        return ExitCode::SUCCESS;
    }
    let mut code = ExitCode::SUCCESS;
    for name in &args.modules {
        match find(name) {
            Some(d) => print!("{}", d.markdown()),
            None => {
                eprintln!("[WARNING]: module {name} not found in rustle's modules");
                code = ExitCode::from(1);
            }
        }
    }
    code
}
