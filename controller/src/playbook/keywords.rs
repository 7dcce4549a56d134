//! Which keywords each playbook object accepts (ansible-core 2.18's
//! `fattributes`), and which action names are known.

pub const BASE: &[&str] = &[
    "any_errors_fatal",
    "become",
    "become_exe",
    "become_flags",
    "become_method",
    "become_user",
    "check_mode",
    "collections",
    "connection",
    "debugger",
    "diff",
    "environment",
    "ignore_errors",
    "ignore_unreachable",
    "module_defaults",
    "name",
    "no_log",
    "port",
    "remote_user",
    "run_once",
    "tags",
    "throttle",
    "timeout",
    "vars",
];

pub const PLAY: &[&str] = &[
    "fact_path",
    "force_handlers",
    "gather_facts",
    "gather_subset",
    "gather_timeout",
    "handlers",
    "hosts",
    "max_fail_percentage",
    "order",
    "post_tasks",
    "pre_tasks",
    "roles",
    "serial",
    "strategy",
    "tasks",
    "vars_files",
    "vars_prompt",
];

pub const TASK: &[&str] = &[
    "action",
    "args",
    "async",
    "changed_when",
    "delay",
    "delegate_facts",
    "delegate_to",
    "failed_when",
    "local_action",
    "loop",
    "loop_control",
    "notify",
    "poll",
    "register",
    "retries",
    "until",
    "when",
];

pub const BLOCK: &[&str] = &[
    "always",
    "block",
    "delegate_facts",
    "delegate_to",
    "notify",
    "rescue",
    "when",
];

pub const ROLE_DEF: &[&str] = &["role", "when"];

pub const IMPORT_PLAYBOOK: &[&str] = &["import_playbook", "vars_val", "when"];

pub fn is_play_kw(k: &str) -> bool {
    BASE.contains(&k) || PLAY.contains(&k)
}

pub fn is_task_kw(k: &str, handler: bool) -> bool {
    BASE.contains(&k) || TASK.contains(&k) || (handler && k == "listen")
}

pub fn is_block_kw(k: &str) -> bool {
    BASE.contains(&k) || BLOCK.contains(&k)
}

pub fn is_role_kw(k: &str) -> bool {
    BASE.contains(&k) || ROLE_DEF.contains(&k)
}

/// Modules and actions of ansible-core 2.18 (`ansible.builtin`), the names
/// a playbook may use. Whether Rustle implements one natively is a
/// separate question the executor answers.
pub const BUILTIN_ACTIONS: &[&str] = &[
    "add_host",
    "apt",
    "apt_key",
    "apt_repository",
    "assemble",
    "assert",
    "async_status",
    "blockinfile",
    "command",
    "copy",
    "cron",
    "deb822_repository",
    "debconf",
    "debug",
    "dnf",
    "dnf5",
    "dpkg_selections",
    "expect",
    "fail",
    "fetch",
    "file",
    "find",
    "gather_facts",
    "get_url",
    "getent",
    "git",
    "group",
    "group_by",
    "hostname",
    "import_playbook",
    "import_role",
    "import_tasks",
    "include_role",
    "include_tasks",
    "include_vars",
    "iptables",
    "known_hosts",
    "lineinfile",
    "meta",
    "mount_facts",
    "package",
    "package_facts",
    "pause",
    "ping",
    "pip",
    "raw",
    "reboot",
    "replace",
    "rpm_key",
    "script",
    "service",
    "service_facts",
    "set_fact",
    "set_stats",
    "setup",
    "shell",
    "slurp",
    "stat",
    "subversion",
    "systemd",
    "systemd_service",
    "sysvinit",
    "tempfile",
    "template",
    "unarchive",
    "uri",
    "user",
    "validate_argument_spec",
    "wait_for",
    "wait_for_connection",
    "yum_repository",
];

/// Collections whose modules Rustle maps onto its own implementations.
const MAPPED_COLLECTIONS: &[&str] = &["ansible.posix.", "community.general."];

/// The canonical short name of an action, if it is one Rustle knows.
pub fn resolve_action(name: &str) -> Option<&str> {
    let short = name
        .strip_prefix("ansible.builtin.")
        .or_else(|| name.strip_prefix("ansible.legacy."))
        .unwrap_or(name);
    if BUILTIN_ACTIONS.contains(&short) {
        return Some(short);
    }
    for c in MAPPED_COLLECTIONS {
        if let Some(rest) = name.strip_prefix(c) {
            if rustle_runner::modules::lookup(rest).is_some() {
                return Some(rest);
            }
        }
    }
    if rustle_runner::modules::lookup(short).is_some() {
        return Some(short);
    }
    None
}

/// Actions whose free-form text is kept as `_raw_params`.
pub const FREEFORM: &[&str] = &[
    "command",
    "raw",
    "script",
    "shell",
    "win_command",
    "win_shell",
];

/// Actions that accept free-form text at all (RAW_PARAM_MODULES).
pub const RAW_PARAM: &[&str] = &[
    "command",
    "raw",
    "script",
    "shell",
    "win_command",
    "win_shell",
    "include_vars",
    "include_tasks",
    "include_role",
    "import_tasks",
    "import_role",
    "add_host",
    "group_by",
    "set_fact",
    "meta",
];
