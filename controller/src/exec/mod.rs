//! Executes parsed playbooks: the linear strategy over the hosts of each
//! play, tasks run through the runner's engine in-process for
//! `connection: local`, controller-side actions (set_fact, include_*,
//! meta, ...) here, Ansible's default callback output.

pub mod callback;
pub mod factcache;
pub mod iter;
pub mod json_out;
pub mod vars;

pub mod action_docs;
mod actions;
mod connection;
mod remote;
pub use remote::SshOptions;
pub mod listing;
pub mod progress;
pub mod prompt;
mod tags;
mod task;

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use rustle_inventory::Inventory;
use rustle_runner::engine::HostStats;
use rustle_template::{Templar, TemplarOptions, Vars};
use serde_json::{Map, Value};

use crate::playbook::{Block, Item, Loader, Play, Playbook, RoleRef};
use callback::Callback;
use iter::HostCursor;
use vars::{HostState, PlayScope, States, TaskVars};

/// Run-wide settings from the command line and configuration.
#[derive(Debug, Clone, Default)]
pub struct RunConfig {
    pub check: bool,
    pub diff: bool,
    pub verbosity: u8,
    pub extra_vars: Map<String, Value>,
    pub limit: Option<rustle_inventory::Limit>,
    pub tags: Vec<String>,
    pub skip_tags: Vec<String>,
    pub force_handlers: bool,
    pub start_at_task: Option<String>,
    pub forks: usize,
    /// `--step`: confirm each task.
    pub step: bool,
    /// `-c`: the connection when neither play nor host names one.
    pub connection: Option<String>,
    /// Inventory sources as `ansible_inventory_sources` shows them.
    pub inventory_sources: Vec<String>,
    /// `--limit` as given (`ansible_limit`).
    pub limit_text: Option<String>,
    /// `gathering` (`DEFAULT_GATHERING`).
    pub gathering: crate::config::Gathering,
    /// `timeout` (`DEFAULT_TIMEOUT`): `ansible_timeout` when unset.
    pub timeout: i64,
    /// The config file in use (`ansible_config_file`).
    pub config_file: Option<PathBuf>,
    /// Resolved settings for `lookup('config', ...)`.
    pub lookup_config: Map<String, Value>,
    /// The fact cache settings.
    pub fact_cache: factcache::CacheSettings,
    /// `--flush-cache`: the fact cache is cleared for every inventory host.
    pub flush_cache: bool,
    /// How SSH hosts are reached.
    pub ssh: SshOptions,
}

/// Exit codes of ansible-playbook.
pub const RUN_OK: u8 = 0;
pub const RUN_ERROR: u8 = 1;
pub const RUN_FAILED_HOSTS: u8 = 2;
pub const RUN_UNREACHABLE_HOSTS: u8 = 4;

/// A handler notification target.
#[derive(Debug, Clone)]
pub(crate) struct HandlerDef {
    pub task: Arc<crate::playbook::Task>,
    pub parents: Vec<Arc<Block>>,
    pub name: Option<String>,
    pub listen: Vec<String>,
    pub role: Option<String>,
}

/// `inventory_hostnames`: the run's inventory as it is now (add_host and
/// group_by update the shared copy).
struct InventoryHook(Arc<RwLock<Inventory>>);

impl rustle_template::InventoryHook for InventoryHook {
    fn hostnames(&self, pattern: &str) -> Result<Vec<String>, String> {
        let inv = self.0.read().map_err(|e| e.to_string())?;
        // A pattern matching nothing gives an empty list, as the lookup
        // swallows inventory errors.
        Ok(inv
            .get_hosts(&[pattern], None, Default::default())
            .map(|sel| sel.hosts)
            .unwrap_or_default())
    }
}

/// Everything the run shares across plays.
pub struct Runner<'a> {
    pub cfg: RunConfig,
    pub inventory: Inventory,
    pub cb: Callback,
    pub templar: Templar,
    pub loader: &'a mut Loader,
    pub states: States,
    pub stats: BTreeMap<String, HostStats>,
    /// Hosts that failed (unrescued) or were unreachable, across plays.
    pub failed_hosts: HashSet<String>,
    /// Hosts failed by another host's fatal error (any_errors_fatal,
    /// run_once): no failure in their stats, yet the run failed.
    pub marked_failed: HashSet<String>,
    /// A play broke off (max_fail_percentage).
    pub broke_play: bool,
    /// The current play's strategy.
    pub(crate) strategy: Strategy,
    /// `included:` lines of the current step, shown once every host has run
    /// it: (file, loop item, host).
    pub(crate) pending_included: Vec<(String, Option<Value>, String)>,
    /// Roles (by identity) in which a task ran, and roles completed, per
    /// host: (host, identity). Reset for each play (its role cache).
    pub(crate) roles_ran: HashSet<(String, String)>,
    pub(crate) roles_done: HashSet<(String, String)>,
    /// Each host's current chain of role instances: (identity, where the
    /// role block was written).
    pub(crate) role_chains: BTreeMap<String, Vec<(String, crate::playbook::SrcPos)>>,
    /// `--step` is on (until answered `continue`; again for each play).
    pub(crate) step: bool,
    /// The task whose banner was shown last (position, key).
    pub(crate) last_banner: Option<(String, Vec<(u8, usize)>)>,
    pub unreachable_hosts: HashSet<String>,
    pub playbook_dir: PathBuf,
    /// Hosts added by add_host during the run.
    pub added_hosts: Vec<(String, Vec<String>, Map<String, Value>)>,
    /// Groups created by group_by / add_host: group → hosts.
    pub dynamic_groups: BTreeMap<String, Vec<String>>,
    /// Handlers of roles included at run time, to add to the play's.
    pub(crate) pending_handlers: Vec<Item>,
    /// Templars by lookup search path (role and task directories first).
    templars: std::collections::HashMap<Vec<PathBuf>, Templar>,
    /// The inventory the `inventory_hostnames` lookup reads.
    inventory_view: Arc<RwLock<Inventory>>,
    /// Facts kept across plays (and runs, with `jsonfile`).
    pub fact_cache: factcache::FactCache,
    /// The run's SSH connections.
    pub(crate) remotes: remote::Remotes,
    /// Where the current task's modules run: `None` in-process (local
    /// connection), else the SSH host of that name.
    pub(crate) target: Option<String>,
}

/// Per-play runtime state.
pub(crate) struct PlayRun {
    pub scope: Arc<PlayScope>,
    pub handlers: Vec<HandlerDef>,
    /// Notified handler indices per host, in notification order.
    pub notified: BTreeMap<String, Vec<usize>>,
    /// Notifications already announced at -vv (`NOTIFIED HANDLER`), until
    /// the handler runs.
    pub announced: Vec<(String, usize)>,
    pub hosts: Vec<String>,
    pub ended: bool,
    /// The play broke off (max_fail_percentage): no handlers, no further
    /// batches or plays.
    pub broken: bool,
    /// meta: end_batch ended this batch (the play goes on with the next).
    pub batch_ended: bool,
    pub force_handlers: bool,
}

impl<'a> Runner<'a> {
    pub fn new(
        cfg: RunConfig,
        inventory: Inventory,
        cb: Callback,
        loader: &'a mut Loader,
        playbook_dir: PathBuf,
    ) -> Self {
        let inventory_view = Arc::new(RwLock::new(inventory.clone()));
        let templar = Templar::new(TemplarOptions {
            search_paths: vec![playbook_dir.clone()],
            playbook_dir: Some(playbook_dir.clone()),
            check_mode: cfg.check,
            inventory: Some(Arc::new(InventoryHook(inventory_view.clone()))),
            config: cfg.lookup_config.clone(),
            vault: Some(Arc::new(crate::vault_secrets::KeyringVault)),
            ..Default::default()
        });
        Runner {
            cfg,
            inventory,
            cb,
            templar,
            loader,
            states: Arc::new(RwLock::new(BTreeMap::new())),
            stats: BTreeMap::new(),
            failed_hosts: HashSet::new(),
            marked_failed: HashSet::new(),
            broke_play: false,
            strategy: Strategy::Linear,
            last_banner: None,
            step: false,
            pending_included: Vec::new(),
            roles_ran: HashSet::new(),
            roles_done: HashSet::new(),
            role_chains: BTreeMap::new(),
            unreachable_hosts: HashSet::new(),
            playbook_dir,
            added_hosts: Vec::new(),
            dynamic_groups: BTreeMap::new(),
            templars: std::collections::HashMap::new(),
            pending_handlers: Vec::new(),
            inventory_view,
            fact_cache: Default::default(),
            remotes: Default::default(),
            target: None,
        }
    }

    /// Makes `self.templar` search `task`'s role and directory first, as
    /// Ansible's lookups (`file`, `template`, `first_found`...) do.
    pub(crate) fn use_search_path(&mut self, s: &iter::Scheduled) {
        let mut paths = Vec::new();
        let role = s
            .task
            .role
            .as_ref()
            .or_else(|| s.parents.iter().rev().find_map(|b| b.role.as_ref()));
        if let Some(r) = role {
            paths.push(r.path.clone());
        }
        paths.push(s.task.basedir.clone());
        paths.push(self.playbook_dir.clone());
        paths.dedup();
        if let Some(t) = self.templars.get(&paths) {
            self.templar = t.clone();
            return;
        }
        let t = Templar::new(TemplarOptions {
            search_paths: paths.clone(),
            playbook_dir: Some(self.playbook_dir.clone()),
            check_mode: self.cfg.check,
            omit_token: Some(self.templar.omit_token().to_owned()),
            inventory: Some(Arc::new(InventoryHook(self.inventory_view.clone()))),
            config: self.cfg.lookup_config.clone(),
            vault: Some(Arc::new(crate::vault_secrets::KeyringVault)),
        });
        self.templars.insert(paths, t.clone());
        self.templar = t;
    }

    fn stats_mut(&mut self, host: &str) -> &mut HostStats {
        self.stats.entry(host.to_owned()).or_default()
    }

    /// The inventory's hosts (not the implicit localhost).
    fn inventory_hosts(&self) -> Vec<String> {
        self.inventory
            .data
            .hosts
            .iter()
            .filter(|h| !h.implicit)
            .map(|h| h.name.clone())
            .collect()
    }

    /// Runs every play of every playbook; returns the exit code.
    pub fn run(&mut self, books: &[Playbook], shown: &[String]) -> u8 {
        match factcache::FactCache::from_settings(&self.cfg.fact_cache) {
            Ok(c) => self.fact_cache = c,
            Err(e) => {
                self.cb.error(&e.to_string());
                return RUN_ERROR;
            }
        }
        if self.cfg.flush_cache {
            for h in self.inventory_hosts() {
                self.fact_cache.clear(&h);
            }
        }
        self.cb.callbacks_loaded();
        for (i, book) in books.iter().enumerate() {
            let name = shown
                .get(i)
                .cloned()
                .unwrap_or_else(|| book.path.display().to_string());
            self.cb.playbook_start(&name, book.plays.len());
            for play in &book.plays {
                match self.run_play(play) {
                    Err(code) => {
                        self.cb.flush();
                        return code;
                    }
                    // As PlaybookExecutor: once every host of a play has
                    // failed, the rest of this playbook's plays are skipped.
                    Ok(true) => break,
                    Ok(false) => {}
                }
            }
        }
        let list: Vec<(String, HostStats)> =
            self.stats.iter().map(|(k, v)| (k.clone(), *v)).collect();
        self.cb.recap(&list);
        if let Some(start) = &self.cfg.start_at_task {
            let msg = format!("No matching task \"{start}\" found. Note: --start-at-task can only follow static includes.");
            self.cb.error_wrapped(&msg);
        }
        self.cb.flush();
        self.remotes.close_all();
        // The strategy's verdict: a play broken off by
        // max_fail_percentage fails the run; otherwise any unreachable host
        // (they are remembered across plays) outranks failed ones.
        if self.broke_play {
            RUN_FAILED_HOSTS
        } else if !self.unreachable_hosts.is_empty() {
            RUN_UNREACHABLE_HOSTS
        } else if !self.failed_hosts.is_empty() || !self.marked_failed.is_empty() {
            // Hosts still failed at the end (clear_host_errors forgives).
            RUN_FAILED_HOSTS
        } else {
            RUN_OK
        }
    }

    /// Variables visible when templating play-level keywords (extra vars
    /// and play vars only).
    fn play_level_vars(&self, play: &Play) -> Arc<dyn Vars> {
        let mut m = play.vars.clone();
        for (k, v) in &self.cfg.extra_vars {
            m.insert(k.clone(), v.clone());
        }
        Arc::new(m)
    }

    fn select_hosts(&mut self, play: &Play) -> Result<Vec<String>, u8> {
        let patterns = self.play_patterns(play)?;
        self.match_hosts(play, &patterns)
    }

    /// The play's `hosts:` patterns, templated with play-level variables.
    pub(crate) fn play_patterns(&mut self, play: &Play) -> Result<Vec<String>, u8> {
        let vars = self.play_level_vars(play);
        let hosts_v = play.attrs.get("hosts").cloned().unwrap_or(Value::Null);
        let hosts_v = self.templar.template(&hosts_v, &vars).map_err(|e| {
            if e.is_undefined() {
                // Play.post_validate: an AnsibleParserError (exit 4) that
                // points at the play.
                let err = crate::playbook::ParseError::parser(
                    format!("The field 'hosts' has an invalid value, which includes an undefined variable.. {e}"),
                    Some(play.pos.clone()),
                );
                self.cb.error(err.render().trim_end_matches('\n'));
                return err.exit_code();
            }
            self.cb.error(&e.to_string());
            RUN_ERROR
        })?;
        Ok(match hosts_v {
            Value::Array(a) => a.iter().map(value_to_string).collect(),
            Value::Null => Vec::new(),
            other => vec![value_to_string(&other)],
        })
    }

    /// The inventory hosts `patterns` match (in the play's `order`, within
    /// `--limit`); unmatched patterns warn.
    pub(crate) fn match_hosts(
        &mut self,
        play: &Play,
        patterns: &[String],
    ) -> Result<Vec<String>, u8> {
        let order = play
            .attrs
            .get("order")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<rustle_inventory::HostOrder>().ok())
            .unwrap_or_default();
        let sel = self
            .inventory
            .get_hosts(patterns, self.cfg.limit.as_ref(), order)
            .map_err(|e| {
                self.cb.error(&e.to_string());
                RUN_ERROR
            })?;
        for w in sel.warnings.iter() {
            self.cb.warning(w);
        }
        // Hosts that failed in earlier plays are still the play's hosts
        // (`ansible_play_hosts_all`, serial batches); they just do not run.
        Ok(sel.hosts)
    }

    fn runnable(&self, h: &str) -> bool {
        !self.failed_hosts.contains(h) && !self.unreachable_hosts.contains(h)
    }

    /// A host's `vars_files` entries: each a file or a list of candidates
    /// (the first that exists wins). A file that is not there is skipped,
    /// as is an entry whose name cannot be templated; one that does not
    /// parse is an error.
    fn load_vars_files(
        &mut self,
        play: &Play,
        host: &str,
        files: &[Value],
    ) -> Result<Map<String, Value>, u8> {
        let mut m = self
            .states
            .read()
            .ok()
            .and_then(|s| s.get(host).map(|st| st.inventory.clone()))
            .unwrap_or_default();
        m.extend(play.vars.clone());
        m.extend(self.cfg.extra_vars.clone());
        m.insert("inventory_hostname".into(), Value::from(host));
        let vars: Arc<dyn Vars> = Arc::new(m);
        let mut out = Map::new();
        for f in files {
            let candidates: Vec<Value> = match f {
                Value::Array(a) => a.clone(),
                other => vec![other.clone()],
            };
            for c in &candidates {
                let Ok(name) = self.templar.template(c, &vars).map(|v| value_to_string(&v)) else {
                    break;
                };
                let path = crate::playbook::load::resolve_path(&play.basedir, &name);
                if !path.is_file() {
                    continue;
                }
                match self.loader.read_yaml(&path) {
                    Ok((node, _)) => {
                        if let Value::Object(data) = node.to_ansible_json() {
                            out.extend(data);
                        }
                        break;
                    }
                    Err(e) => {
                        self.cb.error(e.render().trim_end_matches('\n'));
                        return Err(RUN_ERROR);
                    }
                }
            }
        }
        Ok(out)
    }

    /// The play-level read of `vars_files` (no host variables): vaulted
    /// files that cannot be decrypted and files that do not parse are
    /// errors, as in Ansible's `VariableManager.get_vars(play=play)`.
    fn precheck_vars_files(&mut self, play: &Play) -> Result<(), u8> {
        let Some(vf) = play.attrs.get("vars_files") else {
            return Ok(());
        };
        let files: Vec<Value> = match vf {
            Value::Array(a) => a.clone(),
            Value::Null => Vec::new(),
            other => vec![other.clone()],
        };
        let mut m = play.vars.clone();
        m.extend(self.cfg.extra_vars.clone());
        let vars: Arc<dyn Vars> = Arc::new(m);
        for f in &files {
            let candidates: Vec<Value> = match f {
                Value::Array(a) => a.clone(),
                other => vec![other.clone()],
            };
            for c in &candidates {
                let Ok(name) = self.templar.template(c, &vars).map(|v| value_to_string(&v)) else {
                    break;
                };
                let path = crate::playbook::load::resolve_path(&play.basedir, &name);
                if !path.is_file() {
                    continue;
                }
                match crate::vault_secrets::read_maybe_vaulted(&path) {
                    Ok(Err(e)) => {
                        self.cb
                            .error(&format!("Invalid vars_file '{}'.. {e}", path.display()));
                        return Err(RUN_ERROR);
                    }
                    Ok(Ok(_)) => {}
                    Err(_) => continue,
                }
                if let Err(e) = self.loader.read_yaml(&path) {
                    self.cb.error(e.render().trim_end_matches('\n'));
                    return Err(RUN_ERROR);
                }
                break;
            }
        }
        Ok(())
    }

    /// Makes `inventory_hostnames` see add_host/group_by changes.
    pub(crate) fn refresh_inventory_view(&mut self) {
        if let Ok(mut v) = self.inventory_view.write() {
            *v = self.inventory.clone();
        }
    }

    /// Re-reads a host's inventory variables (after add_host/group_by put
    /// it in new groups, whose group_vars now apply).
    pub(crate) fn refresh_inventory_vars(&mut self, host: &str) {
        let Ok(inv) = self
            .inventory
            .host_vars(host, std::slice::from_ref(&self.playbook_dir))
        else {
            return;
        };
        if let Ok(mut s) = self.states.write() {
            if let Some(st) = s.get_mut(host) {
                st.inventory = inv;
            }
        }
    }

    pub(crate) fn init_host(&mut self, host: &str) {
        let exists = self
            .states
            .read()
            .map(|s| s.contains_key(host))
            .unwrap_or(false);
        if exists {
            return;
        }
        let inv = self
            .inventory
            .host_vars(host, std::slice::from_ref(&self.playbook_dir))
            .unwrap_or_default();
        let mut st = HostState {
            inventory: inv,
            ..Default::default()
        };
        // Cached facts (from an earlier run, with a persistent cache).
        match self.fact_cache.get(host) {
            Ok(Some(cached)) => {
                for (k, v) in cached {
                    if k.starts_with("_ansible_") {
                        continue;
                    }
                    match k.strip_prefix("ansible_") {
                        Some(name) => {
                            st.facts.insert(name.to_owned(), v.clone());
                        }
                        None => {
                            st.facts.insert(k.clone(), v.clone());
                            if !matches!(k.as_str(), "gather_subset" | "module_setup") {
                                st.fact_vars.insert(k.clone(), v.clone());
                            }
                        }
                    }
                }
            }
            Ok(None) => {}
            Err(e) => self.cb.warning(&e.to_string()),
        }
        if let Some((_, _, vars)) = self.added_hosts.iter().find(|(h, _, _)| h == host) {
            for (k, v) in vars {
                st.inventory.insert(k.clone(), v.clone());
            }
        }
        if let Ok(mut s) = self.states.write() {
            s.insert(host.to_owned(), st);
        }
    }

    /// Runs one play; `Ok(true)` when a whole batch of hosts failed, which
    /// ends the playbook (as PlaybookExecutor's `break_play`).
    fn run_play(&mut self, play: &Play) -> Result<bool, u8> {
        let prompted = self.prompt_vars(play, Some(&mut prompt::Terminal))?;
        let play = prompted.as_ref().unwrap_or(play);
        let play_name = {
            let vars = self.play_level_vars(play);
            match play.attrs.get("name") {
                Some(n) => value_to_string(
                    &self
                        .templar
                        .template(n, &vars)
                        .unwrap_or_else(|_| n.clone()),
                ),
                None => match play.attrs.get("hosts") {
                    Some(Value::Array(a)) => {
                        a.iter().map(value_to_string).collect::<Vec<_>>().join(",")
                    }
                    Some(h) => value_to_string(h),
                    None => String::new(),
                },
            }
        };
        // Each play runs from its playbook's directory (an imported
        // playbook's own): playbook_dir, and the group_vars/host_vars
        // found next to it.
        if play.basedir != self.playbook_dir && play.basedir.is_dir() {
            self.playbook_dir = play.basedir.clone();
            let known: Vec<String> = self
                .states
                .read()
                .map(|s| s.keys().cloned().collect())
                .unwrap_or_default();
            for h in known {
                self.refresh_inventory_vars(&h);
            }
        }
        let all_hosts = self.select_hosts(play)?;
        let hosts: Vec<String> = all_hosts
            .iter()
            .filter(|h| self.runnable(h))
            .cloned()
            .collect();
        // Ansible reads the play's vars_files (those named without host
        // variables) before the play starts: a file it cannot read ends
        // the run before the PLAY banner.
        self.precheck_vars_files(play)?;
        self.cb.play_start(&play_name, &pos_path(&play.pos));
        self.cb.play_hosts(&play_name, hosts.len());
        // Hosts that failed in earlier plays still make up the play's
        // batches, with nothing to run.
        if all_hosts.is_empty() {
            self.cb.no_hosts();
            return Ok(false);
        }
        for h in &hosts {
            self.init_host(h);
            self.stats_mut(h);
        }
        // `hostvars` covers every inventory host, not only the play's.
        let all = self.inventory_hosts();
        for h in &all {
            self.init_host(h);
        }
        // hostvars always knows the implicit localhost.
        self.init_host("localhost");
        // Roles: dependencies first, deduplicated.
        let mut role_blocks: Vec<Item> = Vec::new();
        let mut role_handlers: Vec<Item> = Vec::new();
        let mut role_defaults = play.role_defaults.clone();
        let mut role_vars = play.role_vars.clone();

        let mut seen: Vec<(String, Value)> = Vec::new();
        for r in &play.roles {
            flatten_role(
                r,
                &mut role_blocks,
                &mut role_handlers,
                &mut role_defaults,
                &mut role_vars,
                &mut seen,
                &RoleChain::default(),
            );
        }
        let mut scope = PlayScope {
            timeout: self.cfg.timeout,
            role_defaults,
            play_vars: play.vars.clone(),
            vars_files: Map::new(),
            vars_files_by_host: BTreeMap::new(),
            public_defaults: Default::default(),
            public_vars: Default::default(),
            role_vars,
            extra_vars: self.cfg.extra_vars.clone(),
            magic: Map::new(),
            groups: std::sync::RwLock::new(Value::Null),
            play_roles: std::sync::RwLock::new(play_role_names(play)),
            hosts_all: all_hosts.clone(),
            batch: std::sync::RwLock::new(all_hosts.clone()),
            removed: std::sync::RwLock::new(Vec::new()),
            connection: play
                .attrs
                .get("connection")
                .map(value_to_string)
                .or_else(|| self.cfg.connection.clone())
                .unwrap_or_else(|| "ssh".to_owned()),
            dep_roles: {
                let mut deps = Vec::new();
                for r in &play.roles {
                    dependency_names(r, &mut deps);
                }
                deps
            },
        };
        scope.magic = self.magic_vars(play);
        scope
            .magic
            .insert("ansible_play_name".into(), Value::from(play_name.clone()));
        scope.groups = std::sync::RwLock::new(self.groups_value());
        // vars_files, per host: the names are templated with the host's
        // variables (inventory, play vars, extra vars), so each host may
        // read different files.
        if let Some(vf) = play.attrs.get("vars_files") {
            let files: Vec<Value> = match vf {
                Value::Array(a) => a.clone(),
                Value::Null => Vec::new(),
                other => vec![other.clone()],
            };
            for h in &hosts {
                let loaded = self.load_vars_files(play, h, &files)?;
                scope.vars_files_by_host.insert(h.clone(), loaded);
            }
        }
        let scope = Arc::new(scope);
        // Handlers: play handlers then role handlers (roles' first, as Ansible
        // compiles role handlers before the play's own).
        let mut all_handlers = role_handlers;
        all_handlers.extend(play.handlers.iter().cloned());
        let strategy_name = match play.attrs.get("strategy") {
            Some(v) => {
                let vars = self.play_level_vars(play);
                value_to_string(
                    &self
                        .templar
                        .template(v, &vars)
                        .unwrap_or_else(|_| v.clone()),
                )
            }
            None => std::env::var("ANSIBLE_STRATEGY").unwrap_or_else(|_| "linear".to_owned()),
        };
        self.strategy = match Strategy::parse(&strategy_name) {
            Some(s) => s,
            None => {
                let e = crate::playbook::ParseError::general(
                    format!("Invalid play strategy specified: {strategy_name}"),
                    Some(play.pos.clone()),
                );
                self.cb.error(e.render().trim_end_matches('\n'));
                return Err(RUN_ERROR);
            }
        };
        self.last_banner = None;
        self.roles_ran.clear();
        self.roles_done.clear();
        self.role_chains.clear();
        self.step = self.cfg.step;
        if self.strategy != Strategy::Linear && play.attrs.get("max_fail_percentage").is_some() {
            self.cb.warning("Using max_fail_percentage with the free strategy is not supported, as tasks are executed independently on each host");
        }
        let batches = match serial_batches(play, &all_hosts) {
            Ok(b) => b,
            Err(e) => {
                self.cb.error(&e);
                return Err(RUN_ERROR);
            }
        };
        let mut tasks_section: Vec<Item> = role_blocks;
        tasks_section.extend(play.tasks.iter().cloned());
        for (i, batch) in batches.into_iter().enumerate() {
            // Each batch after the first announces the play again.
            if i > 0 {
                self.cb.play_start(&play_name, &pos_path(&play.pos));
            }
            if let Ok(mut b) = scope.batch.write() {
                *b = batch.clone();
            }
            let batch_hosts: Vec<String> =
                batch.iter().filter(|h| self.runnable(h)).cloned().collect();
            if batch_hosts.is_empty() {
                continue;
            }
            let failed_before = self.failed_hosts.len() + self.unreachable_hosts.len();
            let mut pr = PlayRun {
                scope: scope.clone(),
                handlers: Vec::new(),
                notified: BTreeMap::new(),
                announced: Vec::new(),
                hosts: batch_hosts.clone(),
                ended: false,
                broken: false,
                batch_ended: false,
                force_handlers: self.cfg.force_handlers
                    || play.attrs.get("force_handlers").is_some_and(truthy),
            };
            collect_handlers(
                &with_play_keywords(play, all_handlers.clone()),
                &[],
                &mut pr.handlers,
            );
            self.run_batch_of_play(&mut pr, play, tasks_section.clone())?;
            if pr.broken {
                self.broke_play = true;
                return Ok(true);
            }
            // A batch whose every host failed ends the play.
            let failed_now = self.failed_hosts.len() + self.unreachable_hosts.len();
            if failed_now - failed_before == batch.len() {
                return Ok(true);
            }
            if pr.ended && !pr.batch_ended {
                break;
            }
        }
        Ok(false)
    }

    /// One serial batch of a play: facts, then pre_tasks, tasks, post_tasks
    /// (each followed by its handlers).
    fn run_batch_of_play(
        &mut self,
        pr: &mut PlayRun,
        play: &Play,
        tasks_section: Vec<Item>,
    ) -> Result<(), u8> {
        // Facts.
        let gathering = self.cfg.gathering;
        let gather = match play.attrs.get("gather_facts") {
            None => gathering != crate::settings::Gathering::Explicit,
            Some(v) => truthy(v),
        };
        // The implicit fact-gathering task is tagged `always` plus the
        // play's (and its import's) tags.
        let mut gather_tags = vec!["always".to_owned()];
        gather_tags.extend(tags::play_tags(play));
        // --start-at-task: fact gathering runs only if it is the task named.
        let gather = gather
            && match &self.cfg.start_at_task {
                Some(start) if start_matches(start, "Gathering Facts", "Gathering Facts") => {
                    self.cfg.start_at_task = None;
                    true
                }
                Some(_) => false,
                None => true,
            };
        if gather && tags::allow(&gather_tags, &self.cfg.tags, &self.cfg.skip_tags) {
            // smart: only the hosts without gathered facts (this run's or
            // cached); none, and the task does not show at all.
            let hosts: Vec<String> = pr
                .hosts
                .clone()
                .into_iter()
                .filter(|h| {
                    gathering != crate::settings::Gathering::Smart || !self.fact_cache.gathered(h)
                })
                .collect();
            if !hosts.is_empty() {
                let first = match self.strategy {
                    Strategy::Linear => None,
                    _ => hosts.first().cloned(),
                };
                match (self.step, first) {
                    (false, _) => self.gather_facts(pr, play, hosts)?,
                    (true, first) => {
                        match self.take_step("TASK: Gathering Facts", first.as_deref()) {
                            Some(true) => self.gather_facts(pr, play, hosts)?,
                            Some(false) => {}
                            None => {
                                pr.ended = true;
                                pr.broken = true;
                                return Ok(());
                            }
                        }
                    }
                }
            }
        }
        for section in [
            play.pre_tasks.clone(),
            tasks_section,
            play.post_tasks.clone(),
        ] {
            if pr.ended {
                break;
            }
            let section = with_play_keywords(play, section);
            self.run_section(pr, section, play)?;
            if pr.broken {
                break;
            }
            if !pr.ended || pr.force_handlers {
                self.flush_handlers(pr, play)?;
            }
        }
        Ok(())
    }

    /// A host failed (or became unreachable) in this play: it leaves
    /// `ansible_play_hosts` and `ansible_play_batch`.
    pub(crate) fn host_removed(&mut self, pr: &PlayRun, host: &str) {
        // Unreachable hosts are counted apart from failed ones.
        if !self.unreachable_hosts.contains(host) {
            self.failed_hosts.insert(host.to_owned());
        }
        if let Ok(mut r) = pr.scope.removed.write() {
            if !r.iter().any(|h| h == host) {
                r.push(host.to_owned());
            }
        }
    }

    fn magic_vars(&self, play: &Play) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert(
            "playbook_dir".into(),
            Value::from(play.basedir.display().to_string()),
        );
        m.insert("ansible_check_mode".into(), Value::Bool(self.cfg.check));
        m.insert("ansible_diff_mode".into(), Value::Bool(self.cfg.diff));
        m.insert("ansible_verbosity".into(), Value::from(self.cfg.verbosity));
        // The command line's options, as Ansible exposes them.
        m.insert("ansible_forks".into(), Value::from(self.cfg.forks));
        m.insert(
            "ansible_inventory_sources".into(),
            Value::from(self.cfg.inventory_sources.clone()),
        );
        if let Some(l) = &self.cfg.limit_text {
            m.insert("ansible_limit".into(), Value::from(l.clone()));
        }
        m.insert(
            "ansible_run_tags".into(),
            Value::from(if self.cfg.tags.is_empty() {
                vec!["all".to_owned()]
            } else {
                tags::split(&self.cfg.tags)
            }),
        );
        m.insert(
            "ansible_skip_tags".into(),
            Value::from(tags::split(&self.cfg.skip_tags)),
        );
        m.insert("omit".into(), Value::from(self.templar.omit_token()));
        m.insert(
            "ansible_version".into(),
            serde_json::json!({
                "full": "2.18.19", "major": 2, "minor": 18, "revision": 19, "string": "2.18.19"
            }),
        );
        m.insert(
            "ansible_playbook_python".into(),
            Value::from(crate::inventory_cmd::local_python()),
        );
        m.insert(
            "ansible_config_file".into(),
            self.cfg
                .config_file
                .as_ref()
                .map_or(Value::Null, |f| Value::from(f.display().to_string())),
        );
        m
    }

    pub(crate) fn groups_value(&self) -> Value {
        let d = &self.inventory.data;
        let mut out = Map::new();
        for g in &d.groups {
            let hosts: Vec<Value> = d
                .group_hosts(d.group_id(&g.name).unwrap_or(0))
                .into_iter()
                .map(|h| Value::from(d.hosts[h].name.clone()))
                .collect();
            out.insert(g.name.clone(), Value::Array(hosts));
        }
        for (g, hs) in &self.dynamic_groups {
            let entry = out
                .entry(g.clone())
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(a) = entry {
                for h in hs {
                    if !a.iter().any(|x| x.as_str() == Some(h)) {
                        a.push(Value::from(h.clone()));
                    }
                }
            }
        }
        for (h, _, _) in &self.added_hosts {
            if let Some(Value::Array(a)) = out.get_mut("all") {
                if !a.iter().any(|x| x.as_str() == Some(h)) {
                    a.push(Value::from(h.clone()));
                }
            }
        }
        Value::Object(out)
    }

    fn gather_facts(
        &mut self,
        pr: &mut PlayRun,
        play: &Play,
        hosts: Vec<String>,
    ) -> Result<(), u8> {
        // The implicit task's arguments: the play's fact options.
        let gather_args: Map<String, Value> = ["gather_subset", "gather_timeout", "fact_path"]
            .iter()
            .filter_map(|k| play.attrs.get(k).map(|v| ((*k).to_owned(), v.clone())))
            .collect();
        self.cb.task_start(
            "Gathering Facts",
            false,
            Some(&play.pos),
            Some(&gather_args),
        );
        // The implicit task, inside the play's keywords (its environment).
        let task = crate::playbook::Task {
            pos: play.pos.clone(),
            action: "gather_facts".into(),
            module: "gather_facts".into(),
            args: Map::new(),
            attrs: crate::playbook::Attrs::default(),
            loop_with: None,
            handler: false,
            role: None,
            basedir: play.basedir.clone(),
        };
        let sched = HostCursor::new(with_play_keywords(play, vec![Item::Task(task)])).peek();
        for h in hosts {
            let fact_opts = match &sched {
                Some(sched) => {
                    let vars = self.task_vars(pr, &h, sched, Map::new());
                    let env = actions::environment(self, sched, &vars).unwrap_or_default();
                    // The play's fact keywords, templated with the host's vars.
                    let args: Map<String, Value> = gather_args
                        .iter()
                        .map(|(k, v)| {
                            let v = self
                                .templar
                                .template(v, &vars)
                                .unwrap_or_else(|_| v.clone());
                            (k.clone(), v)
                        })
                        .collect();
                    actions::fact_options(&args, env, &vars)
                }
                None => Default::default(),
            };
            if let Some(sched) = &sched {
                let vars = self.task_vars(pr, &h, sched, Map::new());
                let kw = actions::kw(self, sched, "connection", &vars);
                let conn = connection::resolve(&vars, kw, &pr.scope.connection);
                self.target = None;
                let reached = actions::reach_conn(self, &h, &conn, &vars);
                if let Ok(target) = &reached {
                    self.target = target.clone();
                }
                if let Err(res) = reached {
                    let outcome = actions::outcome_of(&res);
                    let ignored = outcome == callback::Outcome::Unreachable
                        && actions::kw(self, sched, "ignore_unreachable", &vars)
                            .is_some_and(|v| truthy(&v));
                    let st = self.stats_mut(&h);
                    match (outcome, ignored) {
                        (callback::Outcome::Unreachable, false) => st.unreachable += 1,
                        (callback::Outcome::Unreachable, true) => {
                            st.count(rustle_runner::engine::Status::Ignored, false)
                        }
                        _ => st.failed += 1,
                    }
                    self.cb
                        .result(&h, outcome, &res, "gather_facts", ignored, None, false);
                    if !ignored {
                        if outcome == callback::Outcome::Unreachable {
                            self.unreachable_hosts.insert(h.clone());
                        }
                        self.host_removed(pr, &h);
                    }
                    continue;
                }
            }
            let facts = match actions::gather(self, &fact_opts) {
                Ok((facts, _warnings)) => facts,
                Err(res) => {
                    let outcome = actions::outcome_of(&res);
                    if outcome == callback::Outcome::Unreachable {
                        self.stats_mut(&h).unreachable += 1;
                        self.unreachable_hosts.insert(h.clone());
                    } else {
                        self.stats_mut(&h).failed += 1;
                    }
                    self.cb
                        .result(&h, outcome, &res, "gather_facts", false, None, false);
                    self.host_removed(pr, &h);
                    continue;
                }
            };
            let mut cached = factcache::to_module_facts(&facts);
            cached.insert("_ansible_facts_gathered".into(), Value::Bool(true));
            if let Some(w) = self.fact_cache.update(&h, &cached) {
                self.cb.warning(&w);
            }
            if let Ok(mut s) = self.states.write() {
                if let Some(st) = s.get_mut(&h) {
                    for (k, v) in facts {
                        st.facts.insert(k, v);
                    }
                }
            }
            self.stats_mut(&h)
                .count(rustle_runner::engine::Status::Ok, false);
            if self.cb.is_json() {
                let result = serde_json::json!({
                    "ansible_facts": fact_module_result(&self.states, &h),
                    "changed": false,
                    "deprecations": [],
                    "warnings": [],
                    "_ansible_verbose_override": true,
                });
                self.cb.record(&json_out::Recorded {
                    host: &h,
                    outcome: callback::Outcome::Ok,
                    result: &result,
                    action: "gather_facts",
                    no_log: false,
                    verbose_always: false,
                    is_loop: false,
                    is_include: false,
                });
            }
            self.cb.result(
                &h,
                callback::Outcome::Ok,
                &serde_json::json!({"changed": false}),
                "gather_facts",
                false,
                None,
                false,
            );
        }
        Ok(())
    }

    /// Runs a list of items on all play hosts in lockstep (linear strategy).
    fn run_section(&mut self, pr: &mut PlayRun, items: Vec<Item>, play: &Play) -> Result<(), u8> {
        let mut cursors: BTreeMap<String, HostCursor> = pr
            .hosts
            .iter()
            .filter(|h| !self.failed_hosts.contains(*h) && !self.unreachable_hosts.contains(*h))
            .map(|h| (h.clone(), HostCursor::new(items.clone())))
            .collect();
        // --start-at-task: every host starts at the first task whose name
        // matches; a section without it is skipped.
        if let Some(start) = self.cfg.start_at_task.clone() {
            let mut found = false;
            for c in cursors.values_mut() {
                while let Some(s) = c.peek() {
                    let name = s.task.name().unwrap_or_default().to_owned();
                    let role = s
                        .task
                        .role
                        .as_ref()
                        .or_else(|| s.parents.iter().rev().find_map(|b| b.role.as_ref()));
                    let full = match role {
                        Some(r) if !name.is_empty() => format!("{} : {name}", r.name),
                        _ => name.clone(),
                    };
                    if !name.is_empty() && start_matches(&start, &name, &full) {
                        found = true;
                        break;
                    }
                    c.advance();
                }
            }
            if !found {
                return Ok(());
            }
            self.cfg.start_at_task = None;
        }
        let order: Vec<String> = pr.hosts.clone();
        self.run_lockstep(pr, play, &mut cursors, &order)
    }

    /// Asks whether to run a task (`--step`): yes, no, or continue (yes,
    /// and stop asking). The question goes to stdout and the answer is a
    /// line of stdin, as Python's `input()`; None at the end of input.
    pub(crate) fn take_step(&mut self, what: &str, host: Option<&str>) -> Option<bool> {
        let mut msg = format!("Perform task: {what} ");
        if let Some(h) = host {
            msg.push_str(&format!("on {h} "));
        }
        msg.push_str("(N)o/(y)es/(c)ontinue: ");
        self.cb.raw(&msg);
        self.cb.flush();
        let mut line = String::new();
        match std::io::stdin().read_line(&mut line) {
            Ok(0) | Err(_) => return None,
            Ok(_) => {}
        }
        let answer = line.trim_end_matches(['\n', '\r']).to_lowercase();
        let run = match answer.as_str() {
            "y" | "yes" => true,
            "c" | "continue" => {
                self.step = false;
                true
            }
            _ => false,
        };
        self.cb.banner(&msg);
        Some(run)
    }

    /// The free and host_pinned strategies: each host goes at its own pace.
    /// Run one task at a time, this is a round over the hosts, each taking
    /// its next task (host_pinned: only the first `forks` hosts with work,
    /// so a host runs to its end before another starts).
    fn run_free(
        &mut self,
        pr: &mut PlayRun,
        play: &Play,
        cursors: &mut BTreeMap<String, HostCursor>,
        order: &[String],
    ) -> Result<(), u8> {
        let window = match self.strategy {
            Strategy::HostPinned => self.cfg.forks.max(1),
            _ => usize::MAX,
        };
        while !pr.ended {
            let mut active = Vec::new();
            for h in order {
                if active.len() >= window {
                    break;
                }
                if let Some(c) = cursors.get_mut(h) {
                    if !c.failed && c.peek().is_some() {
                        active.push(h.clone());
                    }
                }
            }
            if active.is_empty() {
                break;
            }
            for h in active {
                if pr.ended {
                    break;
                }
                let Some(s) = cursors.get_mut(&h).and_then(|c| c.peek()) else {
                    continue;
                };
                task::run_batch(self, pr, play, cursors, vec![(h.clone(), s)])?;
                self.adopt_pending_handlers(pr);
                if cursors.get(&h).is_some_and(|c| c.failed) {
                    self.host_removed(pr, &h);
                }
            }
        }
        Ok(())
    }

    /// The linear strategy: each step runs the task that comes first among
    /// the hosts' next tasks, on every host at it, until all are done.
    fn run_lockstep(
        &mut self,
        pr: &mut PlayRun,
        play: &Play,
        cursors: &mut BTreeMap<String, HostCursor>,
        order: &[String],
    ) -> Result<(), u8> {
        if self.strategy != Strategy::Linear {
            return self.run_free(pr, play, cursors, order);
        }
        loop {
            if pr.ended {
                break;
            }
            // Next task of each active host; run the one that comes first.
            let mut next: Vec<(String, iter::Scheduled)> = Vec::new();
            for h in order {
                if let Some(c) = cursors.get_mut(h) {
                    if c.failed {
                        continue;
                    }
                    if let Some(s) = c.peek() {
                        next.push((h.clone(), s));
                    }
                }
            }
            if next.is_empty() {
                break;
            }
            let first_key = next
                .iter()
                .map(|(_, s)| s.key.clone())
                .min()
                .unwrap_or_default();
            let batch: Vec<(String, iter::Scheduled)> = next
                .into_iter()
                .filter(|(_, s)| s.key == first_key)
                .collect();
            let step = task::run_batch(self, pr, play, cursors, batch)?;
            self.adopt_pending_handlers(pr);
            if step.fatal && !step.failed.is_empty() {
                // Every other host is failed where it stands, as the
                // iterator's mark_host_failed: a rescue or always section
                // around it still runs, but it counts as a failed host (no
                // stats: nothing failed on it).
                let others: Vec<String> = cursors
                    .iter()
                    .filter(|(h, c)| !c.failed && !step.failed.contains(*h))
                    .map(|(h, _)| h.clone())
                    .collect();
                for h in others {
                    if let Some(c) = cursors.get_mut(&h) {
                        c.fail();
                    }
                    self.host_removed(pr, &h);
                    self.marked_failed.insert(h);
                }
            }
            if let (true, Some(limit)) = (step.ran, max_fail_fraction(play)) {
                // Only failures count (not unreachable hosts), out of the
                // whole serial batch.
                let batch = pr.hosts.len().max(1);
                let failed = pr
                    .hosts
                    .iter()
                    .filter(|h| {
                        self.failed_hosts.contains(*h)
                            || (cursors.get(*h).is_some_and(|c| c.failed)
                                && !self.unreachable_hosts.contains(*h))
                    })
                    .count();
                if failed as f64 / batch as f64 > limit {
                    for (h, c) in cursors.iter_mut() {
                        if !step.failed.contains(h) {
                            c.failed = true;
                        }
                    }
                    for (h, c) in cursors.iter() {
                        if c.failed {
                            self.failed_hosts.insert(h.clone());
                        }
                    }
                    // Ansible announces it twice: once for the limit, once
                    // for the play left without hosts.
                    self.cb.no_hosts_remaining();
                    self.cb.no_hosts_remaining();
                    pr.ended = true;
                    pr.broken = true;
                    return Ok(());
                }
            }
            // Hosts whose cursor failed are done for the play.
            let failed: Vec<String> = cursors
                .iter()
                .filter(|(_, c)| c.failed)
                .map(|(h, _)| h.clone())
                .collect();
            for h in failed {
                self.host_removed(pr, &h);
            }
        }
        Ok(())
    }

    /// Adds handlers of roles included at run time (once each).
    pub(crate) fn adopt_pending_handlers(&mut self, pr: &mut PlayRun) {
        if self.pending_handlers.is_empty() {
            return;
        }
        let items = std::mem::take(&mut self.pending_handlers);
        let mut defs = Vec::new();
        collect_handlers(&items, &[], &mut defs);
        for d in defs {
            let dup = pr
                .handlers
                .iter()
                .any(|h| h.task.pos == d.task.pos && h.role == d.role);
            if !dup {
                pr.handlers.push(d);
            }
        }
    }

    /// One pass over the handlers in definition order, as Ansible's play
    /// iterator does: a handler notified by a later one (or by itself)
    /// waits for the next flush point.
    /// `NOTIFIED HANDLER h for host` (-vv) for the notifications of a host
    /// that reaches a flush point, once each until the handler runs.
    pub(crate) fn announce_notified(&mut self, pr: &mut PlayRun, host: &str) {
        if self.cb.verbosity < 2
            || (!pr.force_handlers && self.failed_hosts.iter().any(|f| f == host))
            || self.unreachable_hosts.iter().any(|u| u == host)
        {
            return;
        }
        for idx in pr.notified.get(host).cloned().unwrap_or_default() {
            if pr.announced.contains(&(host.to_owned(), idx)) {
                continue;
            }
            pr.announced.push((host.to_owned(), idx));
            let d = &pr.handlers[idx];
            let name = d.name.clone().unwrap_or_else(|| d.task.action.clone());
            let name = match &d.role {
                Some(r) => format!("{r} : {name}"),
                None => name,
            };
            self.cb.vv(&format!("NOTIFIED HANDLER {name} for {host}"));
        }
    }

    pub(crate) fn flush_handlers(&mut self, pr: &mut PlayRun, play: &Play) -> Result<(), u8> {
        // At -vv, each host reaching the flush announces the handlers its
        // notifications name (`v2_playbook_on_notify`).
        for h in pr.hosts.clone() {
            self.announce_notified(pr, &h);
        }
        {
            for idx in 0..pr.handlers.len() {
                let hosts: Vec<String> = pr
                    .hosts
                    .iter()
                    .filter(|h| {
                        pr.notified.get(*h).is_some_and(|n| n.contains(&idx))
                            && (pr.force_handlers || !self.failed_hosts.contains(*h))
                            && !self.unreachable_hosts.contains(*h)
                    })
                    .cloned()
                    .collect();
                if hosts.is_empty() {
                    continue;
                }
                for h in &hosts {
                    if let Some(n) = pr.notified.get_mut(h) {
                        n.retain(|i| *i != idx);
                    }
                }
                pr.announced
                    .retain(|(h, i)| *i != idx || !hosts.contains(h));
                // The handler inside its enclosing blocks (for inherited
                // keywords), run to the end: a handler that includes tasks
                // runs them too.
                let def = pr.handlers[idx].clone();
                let mut item = Item::Task((*def.task).clone());
                for b in def.parents.iter().rev() {
                    item = Item::Block(Block {
                        block: vec![item],
                        rescue: Vec::new(),
                        always: Vec::new(),
                        ..(**b).clone()
                    });
                }
                let mut cursors: BTreeMap<String, HostCursor> = hosts
                    .iter()
                    .map(|h| (h.clone(), HostCursor::new(vec![item.clone()])))
                    .collect();
                self.run_lockstep(pr, play, &mut cursors, &hosts)?;
            }
        }
        Ok(())
    }

    /// The host a task is delegated to (`delegate_to`, `local_action`),
    /// templated with the host's variables.
    pub(crate) fn delegate_of(
        &self,
        pr: &PlayRun,
        host: &str,
        sched: &iter::Scheduled,
    ) -> Option<String> {
        let raw = sched.task.attrs.get("delegate_to").or_else(|| {
            sched
                .parents
                .iter()
                .rev()
                .find_map(|b| b.attrs.get("delegate_to"))
        })?;
        let s = value_to_string(raw);
        if s.is_empty() {
            return None;
        }
        if !s.contains("{{") {
            return Some(s);
        }
        let vars: Arc<dyn Vars> = Arc::new(TaskVars {
            host: host.to_owned(),
            states: self.states.clone(),
            play: pr.scope.clone(),
            local: Vec::new(),
            loop_vars: Map::new(),
            role: Default::default(),
            host_only: false,
        });
        self.templar
            .template_str(&s, &vars)
            .ok()
            .map(|v| value_to_string(&v))
            .filter(|d| !d.is_empty())
    }

    /// Variables for a task on a host.
    pub(crate) fn task_vars(
        &self,
        pr: &PlayRun,
        host: &str,
        sched: &iter::Scheduled,
        loop_vars: Map<String, Value>,
    ) -> Arc<dyn Vars> {
        let mut local = Vec::new();
        let (mut role_defaults, mut role_vars, mut role_params, mut include_params) =
            (Map::new(), Map::new(), Map::new(), Map::new());
        for b in &sched.parents {
            if let Some(Value::Object(v)) = b.attrs.get("vars") {
                local.push(v.clone());
            }
            if let Some(Value::Object(v)) = b.attrs.get("_include_params") {
                include_params.extend(v.clone());
            }
            // The innermost role's levels win (a role included from
            // another carries what it inherits already).
            if let Some(Value::Object(v)) = b.attrs.get("_role_vars") {
                role_vars = v.clone();
                role_defaults = match b.attrs.get("_role_defaults") {
                    Some(Value::Object(d)) => d.clone(),
                    _ => Map::new(),
                };
                role_params = match b.attrs.get("_role_params") {
                    Some(Value::Object(p)) => p.clone(),
                    _ => Map::new(),
                };
            }
        }
        let mut params = role_params;
        params.extend(include_params);
        if let Some(Value::Object(v)) = sched.task.attrs.get("vars") {
            local.push(v.clone());
        }
        let mut magic = Map::new();
        if let Some(r) = sched
            .task
            .role
            .as_ref()
            .or_else(|| sched.parents.iter().rev().find_map(|b| b.role.as_ref()))
        {
            magic.insert("role_name".into(), Value::from(r.name.clone()));
            magic.insert(
                "role_path".into(),
                Value::from(r.path.display().to_string()),
            );
            magic.insert("ansible_role_name".into(), Value::from(r.name.clone()));
        }
        // ansible_search_path: the roles of the chain (innermost first),
        // the task's directory, then the playbook directory.
        let mut search: Vec<String> = sched
            .parents
            .iter()
            .rev()
            .filter_map(|b| b.role.as_ref())
            .chain(sched.task.role.as_ref())
            .map(|r| r.path.display().to_string())
            .collect();
        search.dedup();
        for p in [
            sched.task.basedir.display().to_string(),
            self.playbook_dir.display().to_string(),
        ] {
            if !search.contains(&p) {
                search.push(p);
            }
        }
        magic.insert("ansible_search_path".into(), Value::from(search));
        if let Some(d) = self.delegate_of(pr, host, sched) {
            magic.insert(
                "ansible_delegated_vars".into(),
                serde_json::json!({ d.clone(): {"ansible_host": d, "inventory_hostname": d, "ansible_connection": "local"} }),
            );
        }
        local.insert(0, magic);
        Arc::new(TaskVars {
            host: host.to_owned(),
            states: self.states.clone(),
            play: pr.scope.clone(),
            local,
            loop_vars,
            role: vars::RoleLevels {
                defaults: role_defaults,
                vars: role_vars,
                params,
            },
            host_only: false,
        })
    }
}

/// A host's facts as the setup module returns them (`ansible_` prefixed).
fn fact_module_result(states: &States, host: &str) -> Value {
    let facts = states
        .read()
        .ok()
        .and_then(|s| s.get(host).map(|st| st.facts.clone()))
        .unwrap_or_default();
    Value::Object(
        facts
            .into_iter()
            .map(|(k, v)| (format!("ansible_{k}"), v))
            .collect(),
    )
}

/// `file:line`, as Ansible's `get_path` names where a play or task is.
pub(crate) fn pos_path(pos: &crate::playbook::SrcPos) -> String {
    format!("{}:{}", pos.file, pos.line)
}

/// Adds a host (and its groups) to the inventory during a run, as
/// add_host and group_by do.
pub(crate) fn add_dynamic_host(
    inv: &mut Inventory,
    name: &str,
    groups: &[String],
    vars: &Map<String, Value>,
) -> bool {
    // Changed when anything is new: the host, a group, a membership (as
    // Ansible's inventory manager reports it for add_host and group_by).
    let mut w = rustle_inventory::Warnings::default();
    let mut changed = inv.data.host_id(name).is_none();
    let all = inv.data.add_group("all", &mut w);
    let h = inv.data.add_host(name, None, None, &mut w);
    inv.data.add_host_to_group(all, h);
    for g in groups {
        changed |= inv.data.group_id(g).is_none();
        let gid = inv.data.add_group(g, &mut w);
        let _ = inv.data.add_child("all", g);
        changed |= inv.data.add_host_to_group(gid, h);
    }
    for (k, v) in vars {
        changed |= inv.data.hosts[h].vars.get(k) != Some(v);
        inv.data.set_host_var(h, k, v.clone());
    }
    changed
}

fn collect_handlers(items: &[Item], parents: &[Arc<Block>], out: &mut Vec<HandlerDef>) {
    for it in items {
        match it {
            Item::Task(t) => {
                let listen = match t.attrs.get("listen") {
                    Some(Value::Array(a)) => a.iter().map(value_to_string).collect(),
                    Some(Value::Null) | None => Vec::new(),
                    Some(v) => vec![value_to_string(v)],
                };
                out.push(HandlerDef {
                    task: Arc::new(t.clone()),
                    parents: parents.to_vec(),
                    name: t.name().map(str::to_owned),
                    listen,
                    role: t.role.as_ref().map(|r| r.name.clone()),
                });
            }
            Item::Block(b) => {
                let mut p = parents.to_vec();
                p.push(Arc::new(b.clone()));
                collect_handlers(&b.block, &p, out);
            }
        }
    }
}

/// The play's hosts split by `serial` (a number, a percentage, or a list
/// of them whose last entry repeats), as Ansible batches them.
fn serial_batches(play: &Play, hosts: &[String]) -> Result<Vec<Vec<String>>, String> {
    let spec: Vec<Value> = match play.attrs.get("serial") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(v) => vec![v.clone()],
    };
    let total = hosts.len();
    let size = |v: &Value| -> Result<i64, String> {
        let text = value_to_string(v);
        let text = text.trim();
        if let Some(pct) = text.strip_suffix('%') {
            let p: f64 = pct
                .trim()
                .parse()
                .map_err(|_| format!("invalid serial value: {text}"))?;
            // pct_to_int: at least one host.
            Ok(((p / 100.0) * total as f64) as i64).map(|n| n.max(1))
        } else {
            text.parse::<i64>()
                .map_err(|_| format!("invalid serial value: {text}"))
        }
    };
    let mut rest: Vec<String> = hosts.to_vec();
    let mut out = Vec::new();
    let mut cur = 0usize;
    while !rest.is_empty() {
        let n = match spec.get(cur) {
            Some(v) => size(v)?,
            None => -1,
        };
        if n <= 0 {
            out.push(std::mem::take(&mut rest));
            break;
        }
        let take = (n as usize).min(rest.len());
        out.push(rest.drain(..take).collect());
        if cur + 1 < spec.len() {
            cur += 1;
        }
    }
    Ok(out)
}

/// `ansible_play_role_names` at the start of a play: its `roles:`, then
/// roles imported by its tasks (Ansible adds those to the play's roles
/// while loading).
fn play_role_names(play: &Play) -> Vec<String> {
    fn walk(items: &[Item], out: &mut Vec<String>) {
        for it in items {
            if let Item::Block(b) = it {
                // import_role blocks carry their role's levels.
                if b.attrs.get("_role_vars").is_some() {
                    if let Some(r) = &b.role {
                        out.push(r.name.clone());
                    }
                }
                walk(&b.block, out);
                walk(&b.rescue, out);
                walk(&b.always, out);
            }
        }
    }
    let mut out: Vec<String> = play
        .roles
        .iter()
        .map(|r| r.role.info.name.clone())
        .collect();
    for section in [&play.pre_tasks, &play.tasks, &play.post_tasks] {
        walk(section, &mut out);
    }
    out
}

/// Names of a role's dependencies, recursively (deepest first).
fn dependency_names(r: &RoleRef, out: &mut Vec<String>) {
    for d in &r.role.dependencies {
        dependency_names(d, out);
        if !out.contains(&d.role.info.name) {
            out.push(d.role.info.name.clone());
        }
    }
}

/// Play keywords its tasks inherit (as Ansible's parent-attribute lookup
/// ends at the play).
const PLAY_INHERITED: [&str; 10] = [
    "check_mode",
    "diff",
    "ignore_errors",
    "ignore_unreachable",
    "no_log",
    "environment",
    "become",
    "become_user",
    "become_method",
    "any_errors_fatal",
];

/// `items` inside an implicit block carrying the play's inheritable
/// keywords (unchanged when the play sets none).
fn with_play_keywords(play: &Play, items: Vec<Item>) -> Vec<Item> {
    let mut attrs = crate::playbook::Attrs::default();
    for k in PLAY_INHERITED {
        if let (Some(v), Some(p)) = (play.attrs.get(k), play.attrs.pos(k)) {
            attrs.insert(k, v.clone(), p.clone());
        }
    }
    if attrs.0.is_empty() || items.is_empty() {
        return items;
    }
    vec![Item::Block(Block {
        pos: play.pos.clone(),
        attrs,
        block: items,
        rescue: Vec::new(),
        always: Vec::new(),
        implicit: true,
        role: None,
    })]
}

/// Whether `--start-at-task PATTERN` names a task (its name, or its name
/// with the role prefix; exactly or as a shell-style pattern).
fn start_matches(pattern: &str, name: &str, full: &str) -> bool {
    [name, full]
        .iter()
        .any(|n| *n == pattern || rustle_inventory::fnmatch(pattern, n))
}

/// What a role inherits from the roles whose dependency it is.
#[derive(Default, Clone)]
pub(crate) struct RoleChain {
    /// Role params of the parents (`- role: x` keys that are not keywords).
    pub params: Map<String, Value>,
    /// The parents' `vars:` keyword and `vars/main.yml`.
    pub vars: Map<String, Value>,
}

/// Defaults and vars of a role and of all its dependencies, as Ansible's
/// `get_default_vars` and exported `get_vars` combine them.
fn role_levels(r: &RoleRef, defaults: &mut Map<String, Value>, vars: &mut Map<String, Value>) {
    for d in &r.role.dependencies {
        role_levels(d, defaults, vars);
    }
    defaults.extend(r.role.defaults.clone());
    vars.extend(r.role.vars.clone());
}

#[allow(clippy::too_many_arguments)] // the accumulators of one flattening pass
pub(crate) fn flatten_role(
    r: &RoleRef,
    blocks: &mut Vec<Item>,
    handlers: &mut Vec<Item>,
    defaults: &mut Map<String, Value>,
    vars: &mut Map<String, Value>,
    seen: &mut Vec<(String, Value)>,
    chain: &RoleChain,
) {
    let kw_vars = match r.attrs.get("vars") {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    let mut params = chain.params.clone();
    params.extend(r.params.clone());
    let mut child = RoleChain {
        params: params.clone(),
        vars: chain.vars.clone(),
    };
    child.vars.extend(kw_vars.clone());
    child.vars.extend(r.role.vars.clone());
    // A role's `tags` and `when` reach its dependencies too (Ansible walks
    // the dependency chain for them): wrap the dependencies' blocks.
    let mut inherited = crate::playbook::Attrs::default();
    for k in ["tags", "when"] {
        if let (Some(v), Some(p)) = (r.attrs.get(k), r.attrs.pos(k)) {
            inherited.insert(k, v.clone(), p.clone());
        }
    }
    for d in &r.role.dependencies {
        if inherited.0.is_empty() {
            flatten_role(d, blocks, handlers, defaults, vars, seen, &child);
            continue;
        }
        let mut dep_blocks = Vec::new();
        flatten_role(d, &mut dep_blocks, handlers, defaults, vars, seen, &child);
        blocks.extend(dep_blocks.into_iter().map(|b| {
            Item::Block(Block {
                pos: r.pos.clone(),
                attrs: inherited.clone(),
                block: vec![b],
                rescue: Vec::new(),
                always: Vec::new(),
                implicit: true,
                role: None,
            })
        }));
    }
    // A role runs once per distinct invocation: its params, `vars`,
    // `when` and `tags` are part of its identity (as Ansible hashes it).
    let mut ident = Map::new();
    ident.insert("params".into(), Value::Object(r.params.clone()));
    for k in ["vars", "when", "tags"] {
        if let Some(v) = r.attrs.get(k) {
            ident.insert(k.into(), v.clone());
        }
    }
    let key = (r.path.display().to_string(), Value::Object(ident));
    if !r.role.allow_duplicates && seen.contains(&key) {
        return;
    }
    seen.push(key);
    for (k, v) in &r.role.defaults {
        defaults.insert(k.clone(), v.clone());
    }
    for (k, v) in &r.role.vars {
        vars.insert(k.clone(), v.clone());
    }
    // The role's own levels: its defaults over its dependencies', and its
    // vars over what it inherits and what its dependencies export.
    let (mut own_defaults, mut own_vars) = (Map::new(), chain.vars.clone());
    role_levels(r, &mut own_defaults, &mut own_vars);
    own_vars.extend(kw_vars);
    let mut attrs = r.attrs.clone();
    attrs.0.remove("vars");
    attrs.insert("_role_defaults", Value::Object(own_defaults), r.pos.clone());
    attrs.insert("_role_vars", Value::Object(own_vars), r.pos.clone());
    attrs.insert("_role_params", Value::Object(params), r.pos.clone());
    // Its `vars:` keyword is part of the role's vars.
    let mut ident_vars = r.role.vars.clone();
    if let Some(Value::Object(m)) = r.attrs.get("vars") {
        ident_vars.extend(m.clone());
    }
    attrs.insert(
        "_role_ident",
        crate::playbook::model::role_identity(
            &r.path,
            &r.params,
            &r.attrs,
            &ident_vars,
            &Map::new(),
            false,
        ),
        r.pos.clone(),
    );
    attrs.insert(
        "_role_allow_dup",
        Value::Bool(r.role.allow_duplicates),
        r.pos.clone(),
    );
    blocks.push(Item::Block(Block {
        pos: r.pos.clone(),
        attrs,
        block: r.role.tasks.clone(),
        rescue: Vec::new(),
        always: Vec::new(),
        implicit: true,
        role: Some(r.role.info.clone()),
    }));
    handlers.extend(r.role.handlers.iter().cloned());
}

/// Python-ish truthiness of a keyword value (`yes`, `true`, 1...).
/// How a play's tasks are scheduled over its hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Strategy {
    Linear,
    Free,
    HostPinned,
}

impl Strategy {
    fn parse(name: &str) -> Option<Self> {
        match name.strip_prefix("ansible.builtin.").unwrap_or(name) {
            // `debug` is linear with the task debugger (not offered).
            "linear" | "debug" => Some(Strategy::Linear),
            "free" => Some(Strategy::Free),
            "host_pinned" => Some(Strategy::HostPinned),
            _ => None,
        }
    }
}

/// A play's `max_fail_percentage` as a fraction (`30`, `"30%"`, `12.5`).
fn max_fail_fraction(play: &Play) -> Option<f64> {
    let v = play.attrs.get("max_fail_percentage")?;
    let pct = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().trim_end_matches('%').trim().parse().ok()?,
        _ => return None,
    };
    Some(pct / 100.0)
}

pub(crate) fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => {
            rustle_runner::args::to_bool(&Value::String(s.clone())).unwrap_or(!s.is_empty())
        }
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::Null => false,
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

pub fn value_to_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Object(m) if m.len() == 1 && m.contains_key("__ansible_unsafe") => m
            ["__ansible_unsafe"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        other => callback::py_str(other),
    }
}
