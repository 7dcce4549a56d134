//! The controller-side actions (Ansible's action plugins) as data: name,
//! description, arguments (the runner's [`ArgSpec`]), check/diff support
//! and notes. `docs/modules.md` is generated from this table next to the
//! runner's module registry, and the actions that Ansible validates
//! validate their arguments with these specs ([`validate`]).

use rustle_runner::args::{ArgDef, ArgDefault, ArgSpec, ArgType, Args};
pub use rustle_runner::modules::CheckSupport;
use serde_json::{Map, Value};

/// One controller-side action.
pub struct ActionDoc {
    pub name: &'static str,
    pub description: &'static str,
    pub spec: &'static ArgSpec,
    pub check_mode: CheckSupport,
    pub diff: bool,
    /// Markdown: results, messages, differences from Ansible, tests.
    pub notes: &'static str,
}

/// The action named `name` (short or collection-qualified).
pub fn lookup(name: &str) -> Option<&'static ActionDoc> {
    let short = rustle_runner::modules::canonical_name(name);
    ACTIONS.iter().find(|a| a.name == short)
}

/// Validates `args` with the action's spec, as an action plugin's
/// `validate_argument_spec` does; the failure message is Ansible's.
pub fn validate(name: &str, args: &Map<String, Value>) -> Result<Args, String> {
    let Some(doc) = lookup(name) else {
        return Err(format!("no argument spec for action {name}"));
    };
    doc.spec.validate(doc.name, args).map_err(|e| e.to_string())
}

const fn s(name: &'static str) -> ArgDef {
    ArgDef::new(name, ArgType::Str)
}
const fn b(name: &'static str, d: bool) -> ArgDef {
    ArgDef::new(name, ArgType::Bool).default(ArgDefault::Bool(d))
}
const fn i(name: &'static str) -> ArgDef {
    ArgDef::new(name, ArgType::Int)
}
const fn raw(name: &'static str) -> ArgDef {
    ArgDef::new(name, ArgType::Raw)
}

static DEBUG: ArgSpec = ArgSpec::new(&[
    raw("msg").doc("The message to print (default `Hello world!`)."),
    s("var").doc("A variable name (or expression) to print; mutually exclusive with `msg`."),
    i("verbosity")
        .default(ArgDefault::Int(0))
        .doc("Print only at this `-v` level or above."),
])
.mutually_exclusive(&[&["msg", "var"]]);

static SET_FACT: ArgSpec = ArgSpec::new(&[
    b("cacheable", false).doc("Also store the facts in the fact cache."),
    raw("key_value")
        .internal()
        .doc("Any `name: value` pairs: the facts to set."),
]);

static ASSERT: ArgSpec = ArgSpec::new(&[
    raw("that")
        .required()
        .doc("A condition or list of conditions (raw Jinja2 expressions)."),
    raw("fail_msg")
        .aliases(&["msg"])
        .doc("Message of the failure."),
    raw("success_msg").doc("Message when every condition holds."),
    b("quiet", false).doc("Do not show the success message."),
]);

static FAIL: ArgSpec = ArgSpec::new(&[
    raw("msg").doc("The failure message (default `Failed as requested from task`).")
]);

static PAUSE: ArgSpec = ArgSpec::new(&[
    b("echo", true).doc("Show what is typed at the prompt."),
    i("minutes").doc("Minutes to pause for."),
    i("seconds").doc("Seconds to pause for."),
    s("prompt").doc("Text shown while waiting for input."),
])
.mutually_exclusive(&[&["minutes", "seconds"]]);

static INCLUDE_VARS: ArgSpec = ArgSpec::new(&[
    s("file").doc("The variables file (also the free form)."),
    s("dir").doc("A directory of variable files."),
    s("name").doc("Put the variables under this key."),
    i("depth")
        .default(ArgDefault::Int(0))
        .doc("How deep to descend into `dir` (0: all)."),
    ArgDef::new("files_matching", ArgType::Str).doc("Only files matching this regex."),
    ArgDef::new("ignore_files", ArgType::List).doc("Files (regexes) to skip."),
    ArgDef::new("extensions", ArgType::List).doc("File extensions read (`yaml`, `yml`, `json`)."),
    b("ignore_unknown_extensions", false)
        .doc("Skip files with other extensions instead of failing."),
    s("hash_behaviour")
        .choices(&["replace", "merge"])
        .doc("Merge with existing values (`merge`) or replace."),
]);

static ADD_HOST: ArgSpec = ArgSpec::new(&[
    s("name")
        .aliases(&["host", "hostname"])
        .required()
        .doc("The host to add (with an optional `:port`)."),
    ArgDef::new("groups", ArgType::List)
        .aliases(&["group", "groupname"])
        .doc("Groups to put the host in."),
]);

static GROUP_BY: ArgSpec = ArgSpec::new(&[
    s("key").required().doc("The group to put the host in."),
    ArgDef::new("parents", ArgType::List).doc("Parent groups of that group (default `all`)."),
]);

static SET_STATS: ArgSpec = ArgSpec::new(&[
    ArgDef::new("data", ArgType::Dict)
        .required()
        .doc("The stats to set."),
    b("per_host", false).doc("Keep the stats per host."),
    b("aggregate", true).doc("Add to existing stats instead of replacing them."),
]);

static META: ArgSpec = ArgSpec::new(&[s("_raw_params").required().doc(
    "The meta action: `flush_handlers`, `refresh_inventory`, `noop`, `clear_facts`, `clear_host_errors`, `end_play`, `end_host`, `end_batch`, `end_role`, `reset_connection`.",
)]);

static PING: ArgSpec = ArgSpec::new(&[s("data")
    .default(ArgDefault::Str("pong"))
    .doc("Returned as `ping` (`crash` raises in Ansible).")]);

static SETUP: ArgSpec = ArgSpec::new(&[
    ArgDef::new("gather_subset", ArgType::List)
        .doc("Fact subsets to gather (`all`, `min`, `!hardware`, ...)."),
    i("gather_timeout")
        .default(ArgDefault::Int(10))
        .doc("Timeout for each fact collector."),
    ArgDef::new("filter", ArgType::List).doc("Only facts whose names match these shell patterns."),
    ArgDef::new("fact_path", ArgType::Path).doc("Directory of local facts (`*.fact`)."),
]);

static RAW: ArgSpec = ArgSpec::new(&[
    s("_raw_params")
        .required()
        .doc("The command line, run as is by the connection."),
    s("executable").doc("Shell used to run it (default `/bin/sh`)."),
]);

static TEMPLATE: ArgSpec = ArgSpec::new(&[
    ArgDef::new("src", ArgType::Path)
        .required()
        .doc("The Jinja2 template, searched in `templates/`."),
    ArgDef::new("dest", ArgType::Path)
        .required()
        .doc("Where to write the result on the host (a directory takes the template's name)."),
    s("newline_sequence")
        .default(ArgDefault::Str("\\n"))
        .choices(&["\\n", "\\r", "\\r\\n"])
        .doc("Line ending of the result."),
    b("trim_blocks", true).doc("Remove the first newline after a block tag."),
    b("lstrip_blocks", false).doc("Strip whitespace before a block tag at the start of a line."),
    s("block_start_string")
        .default(ArgDefault::Str("{%"))
        .doc("Marks the start of a block."),
    s("block_end_string")
        .default(ArgDefault::Str("%}"))
        .doc("Marks the end of a block."),
    s("variable_start_string")
        .default(ArgDefault::Str("{{"))
        .doc("Marks the start of a print statement."),
    s("variable_end_string")
        .default(ArgDefault::Str("}}"))
        .doc("Marks the end of a print statement."),
    s("comment_start_string")
        .default(ArgDefault::Str("{#"))
        .doc("Marks the start of a comment."),
    s("comment_end_string")
        .default(ArgDefault::Str("#}"))
        .doc("Marks the end of a comment."),
    s("output_encoding")
        .default(ArgDefault::Str("utf-8"))
        .doc("Encoding of the written file."),
    b("force", true).doc("Replace a file whose content differs (false: only create)."),
    b("follow", false).doc("Follow a symlink at `dest`."),
    b("backup", false).doc("Keep a timestamped copy of the file it replaces."),
    s("validate")
        .doc("Command checking the new file before it is moved in place (`%s` is its path)."),
    raw("mode")
        .doc("Permissions of the file (octal or symbolic, `preserve` takes the template's)."),
    s("owner").doc("Owner of the file."),
    s("group").doc("Group of the file."),
    s("seuser").doc("SELinux user."),
    s("serole").doc("SELinux role."),
    s("setype").doc("SELinux type."),
    s("selevel").doc("SELinux level."),
    b("unsafe_writes", false).doc("Allow non-atomic writes."),
    s("attributes")
        .aliases(&["attr"])
        .doc("File attributes (chattr)."),
]);

static ASSEMBLE: ArgSpec = ArgSpec::new(&[
    ArgDef::new("src", ArgType::Path).required().doc(
        "Directory of fragments (on the host, or on the controller with `remote_src: false`).",
    ),
    ArgDef::new("dest", ArgType::Path)
        .required()
        .doc("The file assembled on the host."),
    b("remote_src", true)
        .doc("Fragments are on the host (false: on the controller, searched in `files/`)."),
    s("regexp").doc("Only fragments whose names match."),
    s("delimiter").doc("Inserted between fragments."),
    b("ignore_hidden", false).doc("Skip fragments whose names start with a dot."),
    b("decrypt", true).doc("Decrypt vaulted fragments (controller side)."),
    b("backup", false).doc("Keep a timestamped copy of the file it replaces."),
    s("validate").doc("Command checking the result before it is moved in place."),
    raw("mode").doc("Permissions of the file."),
    s("owner").doc("Owner of the file."),
    s("group").doc("Group of the file."),
]);

static VALIDATE_ARGUMENT_SPEC: ArgSpec = ArgSpec::new(&[
    ArgDef::new("argument_spec", ArgType::Dict).required().doc("The spec: option names to `type`, `required`, `default`, `choices`, `elements`, `aliases`, `options`."),
    ArgDef::new("provided_arguments", ArgType::Dict).doc("The values to check (default: the task's variables)."),
    raw("validate_args_context").internal().doc("Where the spec comes from (role entry points)."),
]);

static WAIT_FOR_CONNECTION: ArgSpec = ArgSpec::new(&[
    i("connect_timeout")
        .default(ArgDefault::Int(5))
        .doc("Seconds to wait for one connection attempt."),
    i("delay")
        .default(ArgDefault::Int(0))
        .doc("Seconds to wait before the first attempt."),
    i("sleep")
        .default(ArgDefault::Int(1))
        .doc("Seconds between attempts."),
    i("timeout")
        .default(ArgDefault::Int(600))
        .doc("Give up after this many seconds."),
]);

static REBOOT: ArgSpec = ArgSpec::new(&[
    s("boot_time_command").doc("Command whose output changes across a reboot."),
    i("connect_timeout").doc("Seconds to wait for one connection attempt."),
    s("msg").doc("Message shown to users before the reboot."),
    i("post_reboot_delay").doc("Seconds to wait after the host is back."),
    i("pre_reboot_delay").doc("Seconds to wait before rebooting."),
    s("reboot_command").doc("Command that reboots the host."),
    i("reboot_timeout").doc("Seconds to wait for the host to come back."),
    ArgDef::new("search_paths", ArgType::List).doc("Where to look for `shutdown`."),
    s("test_command").doc("Command that must succeed once the host is back."),
]);

static FETCH: ArgSpec = ArgSpec::new(&[
    s("src").required().doc("The file on the host (directories are refused)."),
    s("dest").required().doc("Directory on the controller; the file lands in `dest/<inventory_hostname>/<src>` unless `flat`."),
    b("flat", false).doc("Put the file at `dest` itself (or in `dest/` when it ends with a slash)."),
    b("fail_on_missing", true).doc("Fail when `src` is missing or a directory (false: report and go on)."),
    b("validate_checksum", true).doc("Check the written file's checksum against the host's."),
]);

static SCRIPT: ArgSpec = ArgSpec::new(&[
    raw("_raw_params")
        .doc("The free form: script path then arguments (Ansible lists it among the supported parameters)."),
    s("cmd").doc("The script path and its arguments (instead of the free form)."),
    s("creates").doc("Do not run when this path exists on the host."),
    s("removes").doc("Run only when this path exists on the host."),
    s("chdir").doc("Absolute directory on the host to run the script in."),
    s("executable").doc("Program the script is given to (`python3`, `/bin/bash`)."),
])
.required_one_of(&[&["_raw_params", "cmd"]]);

static SYNCHRONIZE: ArgSpec = ArgSpec::new(&[
    ArgDef::new("src", ArgType::Path).required().doc("Source tree (on the controller for `push`, on the host for `pull`); `dir/` copies the contents, `dir` the directory."),
    ArgDef::new("dest", ArgType::Path).required().doc("Destination (on the host for `push`, on the controller for `pull`)."),
    s("mode").default(ArgDefault::Str("push")).choices(&["push", "pull"]).doc("Direction of the copy."),
    b("archive", true).doc("Recursive, with links, permissions, times, owner and group (rsync `-a`)."),
    ArgDef::new("recursive", ArgType::Bool).doc("Descend into directories (default: `archive`)."),
    ArgDef::new("links", ArgType::Bool).doc("Copy symlinks as symlinks (default: `archive`)."),
    b("copy_links", false).doc("Copy what symlinks point to instead."),
    ArgDef::new("perms", ArgType::Bool).doc("Copy permissions (default: `archive`)."),
    ArgDef::new("times", ArgType::Bool).doc("Copy modification times (default: `archive`)."),
    ArgDef::new("owner", ArgType::Bool).doc("Copy the owner, as root (default: `archive`)."),
    ArgDef::new("group", ArgType::Bool).doc("Copy the group, as root (default: `archive`)."),
    b("checksum", false).doc("Compare contents instead of size and time."),
    b("delete", false).doc("Delete files in `dest` that are not in `src` (with `recursive`)."),
    b("existing_only", false).doc("Only update what already exists at `dest`."),
    b("compress", true).doc("Accepted and ignored (shown in `cmd`): nothing crosses a network here."),
    b("dirs", false).doc("Accepted; shown in `cmd`."),
    b("delay_updates", true).doc("Files are always written aside and renamed in place."),
    b("partial", false).doc("Accepted and ignored."),
    i("rsync_timeout").default(ArgDefault::Int(0)).doc("Accepted and ignored."),
    ArgDef::new("rsync_opts", ArgType::List).doc("Extra rsync options; only `--exclude=PATTERN` (or `--exclude PATTERN`), `--delete` and `--checksum` are understood, others fail the task."),
    b("set_remote_user", true).doc("Accepted and ignored (no SSH transfer)."),
    b("use_ssh_args", false).doc("Accepted and ignored (no SSH transfer)."),
    b("ssh_connection_multiplexing", false).doc("Accepted and ignored (no SSH transfer)."),
    b("verify_host", false).doc("Accepted and ignored (no SSH transfer)."),
    i("dest_port").doc("Not supported (fails the task when set)."),
    ArgDef::new("private_key", ArgType::Path).doc("Not supported (fails the task when set)."),
    s("rsync_path").doc("Not supported (fails the task when set)."),
    ArgDef::new("link_dest", ArgType::List).doc("Not supported (fails the task when set)."),
]);

/// Every controller-side action, in name order.
pub static ACTIONS: &[ActionDoc] = &[
    ActionDoc {
        name: "add_host",
        description: "Add a host (and alternatively a group) to the ansible-playbook in-memory inventory",
        spec: &ADD_HOST,
        check_mode: CheckSupport::Full,
        diff: false,
        notes: "Runs once on the controller (Ansible's BYPASS_HOST_LOOP); any other argument becomes a host variable. Results: `add_host` with `host_name`, `groups`, `host_vars`; `changed` when the host or a group membership is new.",
    },
    ActionDoc {
        name: "assemble",
        description: "Assemble configuration files from fragments",
        spec: &ASSEMBLE,
        check_mode: CheckSupport::Full,
        diff: true,
        notes: "With `remote_src: true` (the default) the runner's `assemble` module does everything on the host. With `remote_src: false` the action finds the directory on the controller (`files/` search), assembles the fragments there (`regexp`, `delimiter`, `ignore_hidden`) and ships the result to the module; failures are raised as Ansible's action does (`Source (...) is not a directory`, `Could not find or access '...' on the Ansible Controller.`). Vault decryption of fragments (`decrypt`) is not done.",
    },
    ActionDoc {
        name: "assert",
        description: "Asserts given expressions are true",
        spec: &ASSERT,
        check_mode: CheckSupport::Full,
        diff: false,
        notes: "Each `that` condition is evaluated untemplated, as a conditional. Results: `assertion` and `evaluated_to` on failure, `msg` (`All assertions passed` or `success_msg`/`fail_msg`).",
    },
    ActionDoc {
        name: "debug",
        description: "Print statements during execution",
        spec: &DEBUG,
        check_mode: CheckSupport::Full,
        diff: false,
        notes: "`var` prints the value under the variable's name (`VARIABLE IS NOT DEFINED!` when undefined); `verbosity` hides the task below that `-v` level (shown as skipped).",
    },
    ActionDoc {
        name: "fail",
        description: "Fail with custom message",
        spec: &FAIL,
        check_mode: CheckSupport::Full,
        diff: false,
        notes: "Always fails with `msg`.",
    },
    ActionDoc {
        name: "fetch",
        description: "Fetch files from remote nodes",
        spec: &FETCH,
        check_mode: CheckSupport::None,
        diff: false,
        notes: "The host side goes through the runner: `stat` (SHA-1 checksum, following links) and, when the local copy differs, `slurp`; the file is then written on the controller. Arguments are not validated (Ansible's action does not either; unknown ones are ignored). The destination is `dest/<inventory_hostname>/<src>` (relative `dest` from the playbook's directory), or with `flat` `dest` itself (`dest/` + the file's name when `dest` ends with `/`).\n\nResults: `changed`, `checksum`, `dest`, `md5sum`, `remote_checksum`, `remote_md5sum` (always null, as Ansible) when written; `changed: false`, `checksum`, `dest`, `file`, `md5sum` when the local copy is already the same. Failures, with Ansible's messages: `src and dest are required`, `the remote file does not exist, not transferring, ignored`, `remote file is a directory, fetch cannot work on directories` (with `fail_on_missing: false` these are not failures and the message gets `, not transferring, ignored` or the `file` key), `dest is an existing directory, use a trailing slash if you want to fetch src into that directory`, `checksum mismatch`. Check mode skips the task with `check mode not (yet) supported for this module`.\n\nTested by the differential cases `ctl_fetch_*`, for real against `connection: local`.",
    },
    ActionDoc {
        name: "gather_facts",
        description: "Gathers facts about remote hosts",
        spec: &SETUP,
        check_mode: CheckSupport::Full,
        diff: false,
        notes: "Runs the native fact gathering (the `setup` module's); `_ansible_facts_gathered` is cached as Ansible does.",
    },
    ActionDoc {
        name: "group_by",
        description: "Create Ansible groups based on facts",
        spec: &GROUP_BY,
        check_mode: CheckSupport::Full,
        diff: false,
        notes: "Results: `add_group`, `parent_groups`, `changed` when the host is new in the group.",
    },
    ActionDoc {
        name: "include_vars",
        description: "Load variables from files, dynamically within a task",
        spec: &INCLUDE_VARS,
        check_mode: CheckSupport::Full,
        diff: false,
        notes: "Files are searched in the role's `vars/` and the task's directory. Results: `ansible_facts` (the variables, under `name` when given) and `ansible_included_var_files`.",
    },
    ActionDoc {
        name: "meta",
        description: "Execute Ansible 'actions'",
        spec: &META,
        check_mode: CheckSupport::Full,
        diff: false,
        notes: "Run by the strategy as the linear strategy runs them; `reset_connection` does nothing for local connections.",
    },
    ActionDoc {
        name: "pause",
        description: "Pause playbook execution",
        spec: &PAUSE,
        check_mode: CheckSupport::Full,
        diff: false,
        notes: "Arguments are validated as Ansible's action does (unknown ones, `minutes`/`seconds` mutually exclusive, integers read with Python's `int`). Like Ansible's BYPASS_HOST_LOOP, the pause runs once, for the first host of the batch, and only that host gets the result (linear strategy). With a duration it prints `Pausing for N seconds` (and the `(ctrl+C then 'C' = continue early, ctrl+C then 'A' = abort)` line when there is a prompt) and sleeps (at least one second, as Ansible). Without one it asks on a terminal (`[task name]\\nprompt:`; hidden input when `echo: false`) and otherwise warns `Not waiting for response to prompt as stdin is not interactive`. Results: `changed`, `delta` (whole seconds), `echo`, `rc`, `start`, `stop` (local times as Python prints them), `stderr`, `stdout` (`Paused for X seconds|minutes`), `user_input`.\n\nDifferences: ctrl+C then C/A (continue early/abort) is not handled (ctrl+C stops rustle); the terminal prompt is not covered by automated tests (the differential cases `ctl_pause`, `ctl_pause_hosts` run without a terminal).",
    },
    ActionDoc {
        name: "ping",
        description: "Try to connect to host, verify a usable python and return pong on success",
        spec: &PING,
        check_mode: CheckSupport::Full,
        diff: false,
        notes: "Returns `ping` set to `data`.",
    },
    ActionDoc {
        name: "raw",
        description: "Executes a low-down and dirty command",
        spec: &RAW,
        check_mode: CheckSupport::None,
        diff: false,
        notes: "Runs the line through `executable -c` (default `/bin/sh`); always changed; a non-zero exit fails with `non-zero return code`; check mode skips it.",
    },
    ActionDoc {
        name: "reboot",
        description: "Reboot a machine",
        spec: &REBOOT,
        check_mode: CheckSupport::Full,
        diff: false,
        notes: "With `connection: local` Ansible refuses before anything else (check mode included): the task fails with `Running <action> with local connection would reboot the control node.`, `elapsed: 0`, `rebooted: false`; rustle does the same. On an SSH host, as Ansible's action: check mode reports `changed`/`rebooted` without doing anything; otherwise the boot id is read (`boot_time_command`, default `cat /proc/sys/kernel/random/boot_id`), the reboot command runs (`shutdown -r <pre_reboot_delay // 60> \"<msg>\"`, the binary found in `search_paths`, or `reboot_command`; a connection cut by it counts as success), the connection is dropped, and after `post_reboot_delay` rustle reconnects with Ansible's backoff (2^n s, at most 12) until the boot id differs and `test_command` (default `whoami`) succeeds, within `reboot_timeout`. Results: `changed`, `rebooted`, `elapsed`; failures `Reboot command failed. Error was: '<out>, <err>'`, `Timed out waiting for last boot time check (timeout=N)`, `Unable to find command \"X\" in search paths: [...]`. Differences: per-distribution command tables (Ansible picks other commands on e.g. Alpine, FreeBSD, VMware) are not applied (the Linux defaults are used), `connect_timeout` is accepted and ignored, become is not used. Tested over real sshd against ansible-playbook (`tests/data/ssh/basic`, with a boot id file the reboot command rewrites) and locally by the differential case `ctl_wait_reboot`.",
    },
    ActionDoc {
        name: "script",
        description: "Runs a local script on a remote node after transferring it",
        spec: &SCRIPT,
        check_mode: CheckSupport::Partial,
        diff: false,
        notes: "Arguments are validated as Ansible's action does. The first word of the free form (or `cmd`, split as a shell would) is the script, searched in `files/` on the controller (`Could not find or access '...'` with the searched paths otherwise); `chdir` must be absolute (`chdir X must be an absolute path for a Unix-aware remote node`). The script is shipped as an asset and run by the runner's `script` module on the host (see it for `creates`/`removes`, check mode and results). A vault-encrypted script is decrypted on the controller unless `decrypt: false` (an option of the action, not listed among the module's parameters).\n\nTested by the differential cases `ctl_script_*`, for real.",
    },
    ActionDoc {
        name: "set_fact",
        description: "Set host variable(s) and fact(s)",
        spec: &SET_FACT,
        check_mode: CheckSupport::Full,
        diff: false,
        notes: "Values keep their `!unsafe` marking; string booleans are converted as Ansible's `jinja2_native: false` does. Results: `ansible_facts`.",
    },
    ActionDoc {
        name: "set_stats",
        description: "Define and display stats for the current ansible run",
        spec: &SET_STATS,
        check_mode: CheckSupport::Full,
        diff: false,
        notes: "The stats are shown in the recap's CUSTOM STATS when `show_custom_stats` is on.",
    },
    ActionDoc {
        name: "setup",
        description: "Gathers facts about remote hosts",
        spec: &SETUP,
        check_mode: CheckSupport::Full,
        diff: false,
        notes: "Native fact gathering (see docs/facts); `filter` matches the `ansible_`-prefixed names.",
    },
    ActionDoc {
        name: "synchronize",
        description: "A wrapper around rsync to make common tasks in your playbooks quick and easy",
        spec: &SYNCHRONIZE,
        check_mode: CheckSupport::Full,
        diff: false,
        notes: "A native tree sync replaces rsync (which need not be installed). Push: the controller reads `src` (relative paths from `files/`, as the action's `_get_absolute_path`) and ships every distinct file content once, as assets, with a manifest; the runner's `synchronize` module brings `dest` in line (see its notes). Pull: the host's `src` is read where it is and applied to the controller's `dest` — correct for `connection: local`, the only kind of host reachable today. rsync's naming holds: `dir/` copies the contents, `dir` the directory itself, a file goes into an existing directory or `dest/`. Change detection is rsync's quick check (size and mtime), or contents with `checksum` (and when `times` is off).\n\nResults: `changed`, `msg` and `stdout_lines` (itemized lines in rsync's `%i %n%L` format: `>f+++++++++ file`, `cd+++++++++ dir/`, `cL+++++++++ link -> target`, `>f.st...... file`, `.d..t...... dir/`, `*deleting   file`), `rc` (0), `cmd` (the rsync command line ansible.posix's module would have run for these options: rustle runs no command), `diff.prepared` in diff mode. Check mode reports the same lines and writes nothing.\n\nDifferences: the itemized flags are rustle's best rendering of rsync's, not checked against rsync (not installed on the test machine, so there is no Ansible recording either); rsync's `-F` filter files, `dirs`, `partial`, compression, SSH options, `delegate_to` another host, `rsync_path`, `link_dest`, `dest_port` and `private_key` are not supported (the last four fail the task). Tested by the differential-style cases `ctl_synchronize_*` (rustle's own expected output) for real on temporary trees.",
    },
    ActionDoc {
        name: "template",
        description: "Template a file out to a target host",
        spec: &TEMPLATE,
        check_mode: CheckSupport::Full,
        diff: true,
        notes: "Rendered on the controller, then written on the host by the runner's `copy` module (which handles `force`, `follow`, `backup`, `validate`, `mode`/`owner`/`group`, a directory `dest`, check and diff mode). Failures as Ansible's action raises them: `'state' cannot be specified on a template`, `src and dest are required`, `newline_sequence needs to be one of: \\n, \\r or \\r\\n`, `Could not find or access '...'` with the searched paths, `Template source files must be utf-8 encoded`, `AnsibleUndefinedVariable: ...` / `AnsibleError: ...` for rendering errors. `mode: preserve` takes the template's mode. The template sees the task's variables plus `template_host`, `template_path`, `template_fullpath`, `template_destpath`, `template_uid`, `template_mtime`, `template_run_date` and `ansible_managed` (the `ansible_managed` setting of ansible.cfg, `{host}`/`{uid}`/`{file}` expanded and strftime'd with the template's mtime).\n\nThe Jinja2 options are applied by rewriting the source for the engine (which has one syntax): custom `block/variable/comment_start/end_string` become the defaults (default openers left in the text become literals), `lstrip_blocks` strips the indentation before a block or comment tag that starts a line (not before `{%+`), `trim_blocks: false` keeps the newline after block and comment tags (not after `-%}`/`+%}`).\n\nDifferences: `newline_sequence` converts every newline of the result, including newlines inside variable values (Jinja converts only the template's own); `output_encoding` supports UTF-8, Latin-1 and ASCII (others fail with `unknown encoding`); `template_mtime`/`template_run_date` are strings (Python gives datetime objects); the registered result lacks the `diff: []` key Ansible's copy action adds outside diff mode, and `src` names the template instead of Ansible's temporary file. Vault-encrypted templates are decrypted on the controller. Tested by the differential cases `ctl_template_options` (byte-exact files for each whitespace option, delimiters, newline sequences, encodings, force, backup, validate, check mode, directory dest), `ctl_template_vars` and `ctl_template_errors`.",
    },
    ActionDoc {
        name: "validate_argument_spec",
        description: "Validate role argument specs",
        spec: &VALIDATE_ARGUMENT_SPEC,
        check_mode: CheckSupport::Full,
        diff: false,
        notes: "Validates `provided_arguments` (default: the task's variables) against `argument_spec`: `type` (str, int, float, bool, list, dict, path, raw), `required`, `default`, `choices`, `elements`, `aliases`, nested `options`. Results: `msg` (`The arg spec validation passed`), `validate_args_context`; on failure `argument_errors`, `argument_spec_data` and `msg` (`Validation of arguments failed:` then the errors, one a line). Roles with `meta/argument_specs.yml` get the validation task at the start of each entry point, as Ansible inserts it.",
    },
    ActionDoc {
        name: "wait_for_connection",
        description: "Waits until remote system is reachable/usable",
        spec: &WAIT_FOR_CONNECTION,
        check_mode: CheckSupport::None,
        diff: false,
        notes: "Unknown arguments fail with `Invalid options for wait_for_connection: X`, as Ansible's action. After `delay`, pings the host through the runner until it answers or `timeout` passes (`timed out waiting for ping module test: ...`); a `connection: local` host answers at once; a host over SSH never answers until rustle's SSH transport lands, so the task waits for `timeout` and fails with the unreachable reason. Results: `elapsed` (whole seconds). Check mode skips it. The `Reset is not implemented for this connection` warning Ansible prints for local connections is printed too.",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_is_documented_once() {
        let mut names: Vec<&str> = ACTIONS.iter().map(|a| a.name).collect();
        let sorted = {
            let mut s = names.clone();
            s.sort_unstable();
            s
        };
        assert_eq!(names, sorted, "ACTIONS is in name order");
        names.dedup();
        assert_eq!(names.len(), ACTIONS.len(), "no action twice");
        for a in ACTIONS {
            assert!(!a.description.is_empty(), "{} has a description", a.name);
            assert!(!a.notes.is_empty(), "{} has notes", a.name);
            for arg in a.spec.args.iter().filter(|d| !d.internal) {
                assert!(!arg.doc.is_empty(), "{}.{} has a doc", a.name, arg.name);
            }
        }
        assert!(lookup("ansible.builtin.fetch").is_some());
        assert!(lookup("ansible.posix.synchronize").is_some());
    }

    #[test]
    fn validation_uses_ansible_messages() {
        let mut m = Map::new();
        m.insert("bogus".into(), Value::from(1));
        assert_eq!(
            validate("pause", &m).err().as_deref(),
            Some("Unsupported parameters for (pause) module: bogus. Supported parameters include: echo, minutes, prompt, seconds.")
        );
    }
}
