//! Module documentation rendered from what modules declare about
//! themselves (argument specs, capabilities, notes): the source of
//! `docs/modules.md` and `rustle doc`, so the two never drift from the
//! code.

use std::fmt::Write;

use crate::args::{ArgDefault, ArgSpec, ArgType};
use crate::modules::{CheckSupport, Module};

/// Where a module's work happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunsOn {
    /// A native module executed by the runner on the host.
    Host,
    /// An action executed by the controller (it may call host modules).
    Controller,
}

/// Everything the documentation shows of one module or action.
#[derive(Debug, Clone, Copy)]
pub struct ModuleDoc {
    pub name: &'static str,
    pub collection: &'static str,
    pub description: &'static str,
    pub spec: &'static ArgSpec,
    pub check_mode: CheckSupport,
    pub diff: bool,
    pub runs_on: RunsOn,
    pub notes: &'static str,
}

impl ModuleDoc {
    /// The documentation of a runner module.
    pub fn of(m: &dyn Module) -> Self {
        let caps = m.capabilities();
        ModuleDoc {
            name: m.name(),
            collection: m.collection(),
            description: m.description(),
            spec: m.spec(),
            check_mode: caps.check_mode,
            diff: caps.diff,
            runs_on: RunsOn::Host,
            notes: m.notes(),
        }
    }

    /// The fully qualified collection name (`ansible.builtin.copy`).
    pub fn fqcn(&self) -> String {
        format!("{}.{}", self.collection, self.name)
    }

    /// The Markdown section for this module (a `##` heading, the argument
    /// table, the argument rules, capabilities, then the notes).
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "## {} (`{}`)\n", self.name, self.fqcn());
        let _ = writeln!(out, "{}.\n", self.description.trim_end_matches('.'));
        let args: Vec<_> = self.spec.args.iter().filter(|a| !a.internal).collect();
        if args.is_empty() {
            out.push_str("Arguments: none.\n\n");
        } else {
            out.push_str("| Argument | Type | Default | Choices | Aliases | Description |\n");
            out.push_str("|---|---|---|---|---|---|\n");
            let mut sorted = args;
            sorted.sort_by_key(|a| a.name);
            for a in sorted {
                let name = if a.required {
                    format!("`{}` (required)", a.name)
                } else {
                    format!("`{}`", a.name)
                };
                let default = match a.default {
                    ArgDefault::None => String::new(),
                    ArgDefault::Str(s) => format!("`{}`", cell(s)),
                    ArgDefault::Bool(b) => format!("`{b}`"),
                    ArgDefault::Int(i) => format!("`{i}`"),
                };
                let list = |items: &[&str]| {
                    items
                        .iter()
                        .map(|c| format!("`{}`", cell(c)))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} |",
                    name,
                    type_name(a.ty),
                    default,
                    list(a.choices),
                    list(a.aliases),
                    cell(a.doc)
                );
            }
            out.push('\n');
        }
        let rules = rules(self.spec);
        if !rules.is_empty() {
            for r in rules {
                let _ = writeln!(out, "- {r}");
            }
            out.push('\n');
        }
        let check = match self.check_mode {
            CheckSupport::Full => "full",
            CheckSupport::Partial => "partial",
            CheckSupport::None => "none (the task is skipped)",
        };
        let runs = match self.runs_on {
            RunsOn::Host => "the host (native runner module)",
            RunsOn::Controller => "the controller (action)",
        };
        let _ = writeln!(
            out,
            "Check mode: {check}. Diff: {}. Runs on: {runs}.\n",
            if self.diff { "yes" } else { "no" }
        );
        let notes = self.notes.trim();
        if !notes.is_empty() {
            out.push_str(notes);
            out.push_str("\n\n");
        }
        out
    }
}

fn type_name(t: ArgType) -> &'static str {
    t.as_str()
}

/// A table cell: pipes escaped, line breaks folded.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The spec's cross-argument rules, worded for readers.
fn rules(spec: &ArgSpec) -> Vec<String> {
    let names = |g: &[&str]| {
        g.iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = Vec::new();
    for g in spec.mutually_exclusive {
        out.push(format!("Mutually exclusive: {}.", names(g)));
    }
    for g in spec.required_one_of {
        out.push(format!("One of {} is required.", names(g)));
    }
    for g in spec.required_together {
        out.push(format!("Required together: {}.", names(g)));
    }
    for (arg, value, reqs) in spec.required_if {
        out.push(format!(
            "When `{arg}` is `{value}`: {} required.",
            names(reqs)
        ));
    }
    out
}

/// The documentation of every runner module, in registry order.
pub fn registry() -> Vec<ModuleDoc> {
    crate::modules::REGISTRY
        .iter()
        .map(|m| ModuleDoc::of(*m))
        .collect()
}
