//! Command-line options of `rustle playbook`, mirroring `ansible-playbook`.

use std::path::PathBuf;

use clap::{ArgAction, Args};

#[derive(Args, Debug, Clone, Default)]
pub struct PlaybookArgs {
    /// Playbook(s) to run.
    #[arg(required_unless_present = "version", value_name = "playbook")]
    pub playbooks: Vec<PathBuf>,
    /// Show the program's version number, config file location and exit.
    #[arg(long = "version")]
    pub version: bool,
    /// Inventory host path or comma-separated host list (repeatable).
    #[arg(
        short = 'i',
        long = "inventory",
        alias = "inventory-file",
        value_name = "INVENTORY"
    )]
    pub inventory: Vec<String>,
    /// Further limit selected hosts to an additional pattern.
    #[arg(short = 'l', long = "limit", value_name = "SUBSET")]
    pub limit: Vec<String>,
    /// Set additional variables as key=value, YAML/JSON, or @file (repeatable).
    #[arg(short = 'e', long = "extra-vars", value_name = "EXTRA_VARS")]
    pub extra_vars: Vec<String>,
    /// Only run plays and tasks tagged with these values.
    #[arg(short = 't', long = "tags", value_name = "TAGS")]
    pub tags: Vec<String>,
    /// Only run plays and tasks whose tags do not match these values.
    #[arg(long = "skip-tags", value_name = "SKIP_TAGS")]
    pub skip_tags: Vec<String>,
    /// Don't make any changes; try to predict some of the changes that may occur.
    #[arg(short = 'C', long = "check")]
    pub check: bool,
    /// Show the differences in files and templates when changing them.
    #[arg(short = 'D', long = "diff")]
    pub diff: bool,
    /// Perform a syntax check on the playbook, but do not execute it.
    #[arg(long = "syntax-check")]
    pub syntax_check: bool,
    /// Outputs a list of matching hosts; does not execute anything else.
    #[arg(long = "list-hosts")]
    pub list_hosts: bool,
    /// List all tasks that would be executed.
    #[arg(long = "list-tasks")]
    pub list_tasks: bool,
    /// List all available tags.
    #[arg(long = "list-tags")]
    pub list_tags: bool,
    /// Start the playbook at the task matching this name.
    #[arg(long = "start-at-task", value_name = "START_AT_TASK")]
    pub start_at_task: Option<String>,
    /// One-step-at-a-time: confirm each task before running.
    #[arg(long = "step")]
    pub step: bool,
    /// Run handlers even if a task fails.
    #[arg(long = "force-handlers")]
    pub force_handlers: bool,
    /// Clear the fact cache for every host in inventory.
    #[arg(long = "flush-cache")]
    pub flush_cache: bool,
    /// Number of parallel processes to use.
    #[arg(short = 'f', long = "forks", value_name = "FORKS")]
    pub forks: Option<usize>,
    /// Connection type to use.
    #[arg(short = 'c', long = "connection", value_name = "CONNECTION")]
    pub connection: Option<String>,
    /// Connect as this user.
    #[arg(short = 'u', long = "user", value_name = "REMOTE_USER")]
    pub user: Option<String>,
    /// Use this file to authenticate the connection.
    #[arg(
        long = "private-key",
        alias = "key-file",
        value_name = "PRIVATE_KEY_FILE"
    )]
    pub private_key: Option<PathBuf>,
    /// Override the connection timeout in seconds.
    #[arg(short = 'T', long = "timeout", value_name = "TIMEOUT")]
    pub timeout: Option<u64>,
    /// Ask for connection password.
    #[arg(short = 'k', long = "ask-pass")]
    pub ask_pass: bool,
    #[arg(
        long = "connection-password-file",
        alias = "conn-pass-file",
        value_name = "CONNECTION_PASSWORD_FILE"
    )]
    pub connection_password_file: Option<PathBuf>,
    #[arg(long = "ssh-common-args", value_name = "SSH_COMMON_ARGS")]
    pub ssh_common_args: Option<String>,
    #[arg(long = "ssh-extra-args", value_name = "SSH_EXTRA_ARGS")]
    pub ssh_extra_args: Option<String>,
    #[arg(long = "sftp-extra-args", value_name = "SFTP_EXTRA_ARGS")]
    pub sftp_extra_args: Option<String>,
    #[arg(long = "scp-extra-args", value_name = "SCP_EXTRA_ARGS")]
    pub scp_extra_args: Option<String>,
    /// Run operations with become.
    #[arg(short = 'b', long = "become")]
    pub become_: bool,
    #[arg(long = "become-method", value_name = "BECOME_METHOD")]
    pub become_method: Option<String>,
    #[arg(long = "become-user", value_name = "BECOME_USER")]
    pub become_user: Option<String>,
    /// Ask for privilege escalation password.
    #[arg(short = 'K', long = "ask-become-pass")]
    pub ask_become_pass: bool,
    #[arg(
        long = "become-password-file",
        alias = "become-pass-file",
        value_name = "BECOME_PASSWORD_FILE"
    )]
    pub become_password_file: Option<PathBuf>,
    /// The vault identity to use (repeatable).
    #[arg(long = "vault-id", value_name = "VAULT_IDS")]
    pub vault_id: Vec<String>,
    /// Ask for vault password.
    #[arg(short = 'J', long = "ask-vault-password", alias = "ask-vault-pass")]
    pub ask_vault_password: bool,
    /// Vault password file (repeatable).
    #[arg(
        long = "vault-password-file",
        alias = "vault-pass-file",
        value_name = "VAULT_PASSWORD_FILES"
    )]
    pub vault_password_file: Vec<PathBuf>,
    /// Prepend colon-separated path(s) to the module library (accepted, unused: modules are native).
    #[arg(short = 'M', long = "module-path", value_name = "MODULE_PATH")]
    pub module_path: Vec<String>,
    /// Causes Rustle to print more debug messages (-vvvvv for more).
    #[arg(short = 'v', long = "verbose", action = ArgAction::Count)]
    pub verbose: u8,
    /// Output format (rustle's own flag): `json` is the json stdout
    /// callback (as ANSIBLE_STDOUT_CALLBACK=json).
    #[arg(long = "output", value_name = "FORMAT", value_enum)]
    pub output: Option<crate::settings::OutputFormat>,
}
