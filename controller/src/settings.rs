//! Types of settings the executor uses, and the json callback's own
//! options. Values come from `crate::config::Config` (ansible.cfg,
//! `ANSIBLE_*`, the command line).

/// The stdout callback (`ANSIBLE_STDOUT_CALLBACK`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    /// Ansible's default callback: banners and one line per result.
    #[default]
    Default,
    /// `ansible.posix.json`: one JSON document at the end of the run.
    Json,
}

/// `stdout_callback` (resolved by `crate::config::Config`): `json` and
/// `ansible.posix.json` select the JSON document; anything else the
/// default callback.
pub fn stdout_callback(name: &str) -> OutputFormat {
    match name {
        "json" | "ansible.posix.json" => OutputFormat::Json,
        _ => OutputFormat::Default,
    }
}

/// The json callback's `json_indent` (`ANSIBLE_JSON_INDENT`, default 4);
/// `None` (one line) when it is 0 or less.
pub fn json_indent() -> Option<usize> {
    let n: i64 = std::env::var("ANSIBLE_JSON_INDENT")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(4);
    usize::try_from(n).ok().filter(|n| *n > 0)
}

/// When plays gather facts (`ANSIBLE_GATHERING`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Gathering {
    /// Every play gathers unless it says `gather_facts: false`.
    #[default]
    Implicit,
    /// Only plays saying `gather_facts: true` gather.
    Explicit,
    /// As implicit, but only for hosts with no facts yet (gathered in
    /// this run or cached).
    Smart,
}
