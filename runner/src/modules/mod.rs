//! Native modules: one file per module under `<family>/<name>.rs`, one
//! [`Module`] trait, registered once in [`REGISTRY`].
//!
//! A module first *checks* what would change (touching nothing) and returns
//! either a final result or a predicted result plus an [`Action`] that
//! applies the change. Check mode is "stop after the check": the executor
//! never calls the action. `changed_when`, `failed_when`, `ignore_errors`
//! and diff suppression are the executor's business, never a module's.

use std::collections::BTreeMap;
use std::path::PathBuf;

use rustle_bundle::AssetId;
use serde_json::{Map, Value};
use thiserror::Error;

use crate::args::{ArgSpec, Args};
use crate::result::ModuleResult;

pub mod binpath;
pub mod commands;
pub mod files;
pub mod net;
pub mod packages;
pub mod system;
pub mod utilities;

/// Every module compiled into the runner. Adding a module: one file, one
/// line here.
pub static REGISTRY: &[&dyn Module] = &[
    &commands::command::Command,
    &commands::expect::Expect,
    &commands::script::Script,
    &commands::shell::Shell,
    &files::archive::Archive,
    &files::assemble::Assemble,
    &files::blockinfile::Blockinfile,
    &files::copy::Copy,
    &files::file::File,
    &files::find::Find,
    &files::ini_file::IniFile,
    &files::lineinfile::Lineinfile,
    &files::replace::Replace,
    &files::slurp::Slurp,
    &files::stat::Stat,
    &files::synchronize::Synchronize,
    &files::tempfile::Tempfile,
    &system::authorized_key::AuthorizedKey,
    &system::cron::Cron,
    &system::getent::Getent,
    &system::group::Group,
    &system::hostname::Hostname,
    &system::known_hosts::KnownHosts,
    &system::locale_gen::LocaleGen,
    &system::modprobe::Modprobe,
    &system::mount::Mount,
    &system::pam_limits::PamLimits,
    &system::service::Service,
    &system::service_facts::ServiceFacts,
    &system::sysctl::Sysctl,
    &system::systemd::Systemd,
    &system::systemd::SystemdService,
    &system::sysvinit::Sysvinit,
    &system::timezone::Timezone,
    &system::user::User,
    &utilities::async_status::AsyncStatus,
    &files::unarchive::Unarchive,
    &net::get_url::GetUrl,
    &net::uri::Uri,
    &packages::apt::Apt,
    &packages::apt_key::AptKey,
    &packages::apt_repository::AptRepository,
    &packages::deb822_repository::Deb822Repository,
    &packages::dnf::Dnf,
    &packages::dnf::Yum,
    &packages::git::Git,
    &packages::package::Package,
    &packages::package_facts::PackageFacts,
    &packages::pip::Pip,
    &packages::rpm_key::RpmKey,
    &utilities::debug::Debug,
    &utilities::wait_for::WaitFor,
];

/// Finds a module by short name or by any collection-qualified name that
/// resolves to it (`ansible.builtin.copy`, `ansible.legacy.copy`).
pub fn lookup(name: &str) -> Option<&'static dyn Module> {
    let short = canonical_name(name);
    REGISTRY.iter().copied().find(|m| m.name() == short)
}

/// Strips the collection prefixes that resolve to built-in modules.
pub fn canonical_name(name: &str) -> &str {
    for prefix in [
        "ansible.builtin.",
        "ansible.legacy.",
        "ansible.posix.",
        "community.general.",
    ] {
        if let Some(rest) = name.strip_prefix(prefix) {
            return rest;
        }
    }
    name
}

/// How far a module supports check mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckSupport {
    /// Predicts exactly what a real run would do.
    Full,
    /// Predicts for some arguments only (`command` with `creates`).
    Partial,
    /// Skipped in check mode.
    None,
}

/// Who skips a task in check mode for a module without check-mode
/// support; the skipped result differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckRefusal {
    /// `remote module (x) does not support check mode`.
    Module,
    /// `This action (x) does not support check mode.`; the result is the
    /// action's, without the `failed` key the executor adds to module
    /// results.
    Action,
}

impl CheckRefusal {
    pub fn msg(self, module: &str) -> String {
        match self {
            CheckRefusal::Module => format!("remote module ({module}) does not support check mode"),
            CheckRefusal::Action => format!("This action ({module}) does not support check mode."),
        }
    }
}

/// What a module declares about itself.
#[derive(Debug, Clone, Copy)]
pub struct Capabilities {
    pub check_mode: CheckSupport,
    pub diff: bool,
}

/// Why a module could not do its job. The executor turns it into a failed
/// result whose `msg` is the error's text.
#[derive(Debug, Error)]
pub enum ModuleError {
    /// Bad arguments, with Ansible's wording.
    #[error("{0}")]
    Args(String),
    /// An I/O failure on a path.
    #[error("{msg}: {path}: {source}")]
    Io {
        msg: String,
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// Any other failure, with the result keys Ansible returns alongside.
    #[error("{msg}")]
    Failed {
        msg: String,
        extra: Map<String, Value>,
    },
    /// A bundled asset could not be read.
    #[error("{0}")]
    Asset(String),
}

impl ModuleError {
    pub fn io(msg: impl Into<String>, path: impl Into<String>, source: std::io::Error) -> Self {
        ModuleError::Io {
            msg: msg.into(),
            path: path.into(),
            source,
        }
    }

    pub fn failed(msg: impl Into<String>) -> Self {
        ModuleError::Failed {
            msg: msg.into(),
            extra: Map::new(),
        }
    }

    /// The failed result Ansible would show.
    pub fn into_result(self) -> ModuleResult {
        match self {
            ModuleError::Failed { msg, mut extra } => {
                let changed = extra
                    .remove("changed")
                    .and_then(|v| v.as_bool())
                    .unwrap_or(false);
                ModuleResult {
                    changed,
                    failed: true,
                    msg: Some(msg),
                    extra,
                    ..Default::default()
                }
            }
            other => ModuleResult::failed(other.to_string()),
        }
    }
}

/// Where modules get bundled file contents from.
pub trait AssetSource {
    fn asset(&self, id: &AssetId) -> Result<Vec<u8>, ModuleError>;
}

/// An asset source with nothing in it.
pub struct NoAssets;

impl AssetSource for NoAssets {
    fn asset(&self, id: &AssetId) -> Result<Vec<u8>, ModuleError> {
        Err(ModuleError::Asset(format!("asset {id} is not available")))
    }
}

/// Everything a module sees of its task.
pub struct Context<'a> {
    pub args: Args,
    /// Bundled files the task uses, by logical name.
    pub assets: &'a BTreeMap<String, AssetId>,
    pub source: &'a dyn AssetSource,
    pub check_mode: bool,
    pub diff: bool,
    /// Extra environment for commands the module runs.
    pub environment: &'a BTreeMap<String, String>,
    /// Values of earlier tasks' results that modules like `debug` display.
    pub vars: &'a Map<String, Value>,
    /// The run's `-v` count.
    pub verbosity: u8,
}

impl Context<'_> {
    /// The bundled asset named `name` (`src` for `copy`).
    pub fn asset(&self, name: &str) -> Result<Option<Vec<u8>>, ModuleError> {
        match self.assets.get(name) {
            Some(id) => self.source.asset(id).map(Some),
            None => Ok(None),
        }
    }

    /// Expands a leading `~` as the module would on the host.
    pub fn expand_path(&self, p: &str) -> PathBuf {
        crate::fsutil::expand_user(p)
    }
}

/// The outcome of a module's check.
pub enum Check {
    /// Nothing to change: this is the result, in check mode and out of it.
    Done(ModuleResult),
    /// A change is needed. `predicted` is the check-mode result (with
    /// `changed` and `diff`); `action` makes the change for real.
    Change {
        predicted: ModuleResult,
        action: Box<dyn Action>,
    },
}

/// Applies a change decided by [`Module::check`].
pub trait Action {
    fn apply(self: Box<Self>, ctx: &Context<'_>) -> Result<ModuleResult, ModuleError>;
}

/// Wraps a closure as an [`Action`].
pub struct ApplyFn<F>(pub F);

impl<F> Action for ApplyFn<F>
where
    F: FnOnce(&Context<'_>) -> Result<ModuleResult, ModuleError>,
{
    fn apply(self: Box<Self>, ctx: &Context<'_>) -> Result<ModuleResult, ModuleError> {
        (self.0)(ctx)
    }
}

/// Boxes a closure as an [`Action`].
pub fn action<F>(f: F) -> Box<dyn Action>
where
    F: FnOnce(&Context<'_>) -> Result<ModuleResult, ModuleError> + 'static,
{
    Box::new(ApplyFn(f))
}

/// A native module.
pub trait Module: Sync {
    /// Short name (`copy`).
    fn name(&self) -> &'static str;
    /// One-line description.
    fn description(&self) -> &'static str;
    fn capabilities(&self) -> Capabilities;
    fn spec(&self) -> &'static ArgSpec;
    /// Who refuses check mode when `capabilities().check_mode` is
    /// [`CheckSupport::None`]: the module, or (for modules that are
    /// Ansible action plugins) the action.
    fn check_refusal(&self) -> CheckRefusal {
        CheckRefusal::Module
    }
    /// The collection whose FQCN Ansible documents the module under
    /// (`ansible.builtin`, `ansible.posix`, `community.general`).
    fn collection(&self) -> &'static str {
        "ansible.builtin"
    }
    /// The module's documentation beyond its arguments, as Markdown:
    /// results, failure messages, check/diff details and every known
    /// difference from Ansible. `docs/modules.md` and `rustle doc` are
    /// generated from it.
    fn notes(&self) -> &'static str {
        ""
    }
    /// Whether the module's `diff` stays in its result outside diff mode,
    /// as with Ansible modules that always return one (`known_hosts`).
    fn keeps_diff(&self) -> bool {
        false
    }
    /// Decides what would change, touching nothing.
    fn check(&self, ctx: &Context<'_>) -> Result<Check, ModuleError>;
}
