//! `rustle doc`: module documentation generated from the runner's
//! registry and the controller's actions (`docs/modules.md` is this
//! output, kept in sync by a test).

use std::process::ExitCode;

use clap::Args;
use rustle_runner::args::{ArgDef, ArgSpec, ArgType};
use rustle_runner::docs::{ModuleDoc, RunsOn};
use rustle_runner::modules::CheckSupport;

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

static RAW_SPEC: ArgSpec = ArgSpec::new(&[
    ArgDef::new("free_form", ArgType::Str)
        .required()
        .doc("The command line, run as is by the host's shell."),
    ArgDef::new("executable", ArgType::Path)
        .doc("The shell to run the command line with (`executable -c`)."),
]);

/// Actions the controller carries out itself.
fn actions() -> Vec<ModuleDoc> {
    vec![ModuleDoc {
        name: "raw",
        collection: "ansible.builtin",
        description: "Executes a low-down and dirty command",
        spec: &RAW_SPEC,
        check_mode: CheckSupport::None,
        diff: false,
        runs_on: RunsOn::Controller,
        notes: "Runs the free-form command line as is, with no module on the host (so it \
works where no runner is installed): through `executable -c` when `executable` is given, else \
through `/bin/sh -c` as the local connection does, from the playbook's directory. Returns `rc`, \
`stdout`, `stdout_lines`, `stderr`, `stderr_lines`, always `changed: true`; a non-zero `rc` \
fails the task with `non-zero return code`. Check mode skips it; the `environment` keyword is \
not applied (Ansible's warning is shown). Runs on the controller for `connection: local` hosts; \
over SSH it is sent to the host's shell directly.",
    }]
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
