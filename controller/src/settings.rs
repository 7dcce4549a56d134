//! Settings the executor reads from Ansible's `ANSIBLE_*` environment
//! variables, one function each, so that they can be routed through the
//! configuration (`ansible.cfg`) in one place.

use std::path::PathBuf;

/// The stdout callback (`ANSIBLE_STDOUT_CALLBACK`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    /// Ansible's default callback: banners and one line per result.
    #[default]
    Default,
    /// `ansible.posix.json`: one JSON document at the end of the run.
    Json,
}

/// `ANSIBLE_STDOUT_CALLBACK`: `json` and `ansible.posix.json` select the
/// JSON document; anything else the default callback.
pub fn stdout_callback() -> OutputFormat {
    match std::env::var("ANSIBLE_STDOUT_CALLBACK").as_deref() {
        Ok("json" | "ansible.posix.json") => OutputFormat::Json,
        _ => OutputFormat::Default,
    }
}

/// Python's `boolean()` over a setting's text (unknown values are false).
fn env_bool(name: &str) -> Option<bool> {
    let v = std::env::var(name).ok()?;
    Some(matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "1" | "y" | "yes" | "on" | "true" | "t"
    ))
}

/// The json callback's `show_custom_stats` (`ANSIBLE_SHOW_CUSTOM_STATS`).
pub fn show_custom_stats() -> bool {
    env_bool("ANSIBLE_SHOW_CUSTOM_STATS").unwrap_or(false)
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

/// `ANSIBLE_GATHERING` (`implicit`, `explicit`, `smart`).
pub fn gathering() -> Gathering {
    match std::env::var("ANSIBLE_GATHERING").as_deref() {
        Ok("explicit") => Gathering::Explicit,
        Ok("smart") => Gathering::Smart,
        _ => Gathering::Implicit,
    }
}

/// `ANSIBLE_CACHE_PLUGIN` (`fact_caching`): `memory` (default) or
/// `jsonfile` (`ansible.builtin.` prefixed or not).
pub fn fact_caching() -> String {
    std::env::var("ANSIBLE_CACHE_PLUGIN")
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .map(|v| {
            v.strip_prefix("ansible.builtin.")
                .map(str::to_owned)
                .unwrap_or(v)
        })
        .unwrap_or_else(|| "memory".into())
}

/// `ANSIBLE_CACHE_PLUGIN_CONNECTION` (`fact_caching_connection`), with
/// `~` expanded as Ansible's path settings do.
pub fn fact_caching_connection() -> Option<PathBuf> {
    let raw = std::env::var("ANSIBLE_CACHE_PLUGIN_CONNECTION").ok()?;
    if raw.is_empty() {
        return None;
    }
    let home = std::env::var("HOME").unwrap_or_default();
    Some(match raw.strip_prefix('~') {
        Some(rest) if !home.is_empty() && (rest.is_empty() || rest.starts_with('/')) => {
            PathBuf::from(format!("{home}{rest}"))
        }
        _ => PathBuf::from(raw),
    })
}

/// `ANSIBLE_CACHE_PLUGIN_PREFIX` (`fact_caching_prefix`, default none).
pub fn fact_caching_prefix() -> String {
    std::env::var("ANSIBLE_CACHE_PLUGIN_PREFIX").unwrap_or_default()
}

/// `ANSIBLE_CACHE_PLUGIN_TIMEOUT` (`fact_caching_timeout`, seconds,
/// default 86400; 0 never expires).
pub fn fact_caching_timeout() -> u64 {
    std::env::var("ANSIBLE_CACHE_PLUGIN_TIMEOUT")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(86400)
}
