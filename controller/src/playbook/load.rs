//! Loading playbooks, task files and roles from YAML into the model, with
//! Ansible's validations and messages.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustle_yaml::{Node, Value as Y};
use serde_json::{Map, Value};

use super::error::{ParseError, SrcPos};
use super::keywords::{self, resolve_action};
use super::model::*;
use super::splitter::parse_kv;

/// Settings that decide where things are found.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Extra role directories (`ANSIBLE_ROLES_PATH`, `roles_path`).
    pub roles_path: Vec<PathBuf>,
}

/// A warning to show on stderr (`[WARNING]: ...`).
#[derive(Debug, Clone, PartialEq)]
pub struct Warning(pub String);

pub struct Loader {
    opts: LoadOptions,
    /// Directory of the top-level playbook: role searches start there.
    playbook_dir: Option<PathBuf>,
    pub warnings: Vec<Warning>,
    /// `-vv` notes made while loading (`statically imported: FILE`), in
    /// order; the caller shows them.
    pub notes: Vec<String>,
    /// Files being loaded, to refuse import cycles.
    stack: Vec<PathBuf>,
    /// Handlers of roles imported with `import_role` while loading a play;
    /// they join the play's handlers.
    pub imported_handlers: Vec<Item>,
    /// Defaults and vars of roles imported while loading a play.
    pub imported_defaults: Map<String, Value>,
    pub imported_vars: Map<String, Value>,
    /// Templates static import names with play vars and extra vars.
    pub renderer: Option<Box<Renderer>>,
    /// Extra vars (`-e`), visible to static imports.
    pub extra_vars: Map<String, Value>,
    play_vars: Map<String, Value>,
    /// Vars of the enclosing blocks, innermost last (static import names see them).
    block_vars: Vec<Map<String, Value>>,
    /// `vars` of the `import_playbook`s being loaded: they override the
    /// imported plays' own vars (outer imports first).
    import_vars: Map<String, Value>,
}

/// Renders a template string with the given variables.
pub type Renderer = dyn Fn(&str, &Map<String, Value>) -> Result<String, String>;

fn pos(file: &Arc<str>, n: &Node) -> SrcPos {
    SrcPos {
        file: file.clone(),
        line: n.pos.line,
        col: n.pos.col,
    }
}

/// Positions of a sequence node's items (empty for other nodes).
fn item_positions(file: &Arc<str>, n: &Node) -> Vec<SrcPos> {
    n.as_seq()
        .map(|items| items.iter().map(|i| pos(file, i)).collect())
        .unwrap_or_default()
}

fn type_name(n: &Node) -> &'static str {
    match n.value {
        Y::Map(_) => "<class 'ansible.parsing.yaml.objects.AnsibleMapping'>",
        Y::Seq(_) => "<class 'ansible.parsing.yaml.objects.AnsibleSequence'>",
        Y::Str(_) => "<class 'ansible.parsing.yaml.objects.AnsibleUnicode'>",
        Y::Int(_) | Y::BigInt(_) => "<class 'int'>",
        Y::Float(_) => "<class 'float'>",
        Y::Bool(_) => "<class 'bool'>",
        _ => "<class 'NoneType'>",
    }
}

impl Loader {
    pub fn new(opts: LoadOptions) -> Self {
        Loader {
            opts,
            playbook_dir: None,
            warnings: Vec::new(),
            notes: Vec::new(),
            stack: Vec::new(),
            imported_handlers: Vec::new(),
            renderer: None,
            imported_defaults: Map::new(),
            imported_vars: Map::new(),
            extra_vars: Map::new(),
            play_vars: Map::new(),
            block_vars: Vec::new(),
            import_vars: Map::new(),
        }
    }

    /// Templates a static import name (`import_tasks: "{{ f }}"`) with the
    /// play's vars and the extra vars, as Ansible does at parse time.
    fn render(
        &self,
        s: &str,
        task_vars: Option<&Value>,
        pos: &SrcPos,
    ) -> Result<String, ParseError> {
        if !s.contains("{{") && !s.contains("{%") {
            return Ok(s.to_owned());
        }
        let Some(r) = &self.renderer else {
            return Ok(s.to_owned());
        };
        let mut vars = self.play_vars.clone();
        let task_vars = task_vars.and_then(Value::as_object);
        for scope in self.block_vars.iter().chain(task_vars) {
            for (k, v) in scope {
                vars.insert(k.clone(), v.clone());
            }
        }
        for (k, v) in &self.extra_vars {
            vars.insert(k.clone(), v.clone());
        }
        r(s, &vars).map_err(|e| ParseError::general(e, Some(pos.clone())))
    }

    /// Reads and parses a YAML file.
    pub fn read_yaml(&mut self, path: &Path) -> Result<(Node, Arc<str>), ParseError> {
        let shown = path.display().to_string();
        let text = crate::vault_secrets::read_maybe_vaulted(path)
            .map_err(|_| {
                ParseError::general(
                    format!("Unable to retrieve file contents\nCould not find or access '{shown}' on the Ansible Controller.\nIf you are using a module and expect the file to exist on the remote, see the remote_src option"),
                    None,
                )
            })?
            .map_err(|e| ParseError::general(e, None))?;
        let text = String::from_utf8(text).map_err(|e| {
            ParseError::parser(
                format!("Could not read playbook ({shown}) due to encoding issues: {e}"),
                None,
            )
        })?;
        let file: Arc<str> = Arc::from(shown.as_str());
        let (node, warns) = rustle_yaml::load(&text, &shown).map_err(|e| {
            ParseError::parser(
                e.ansible_message(&text),
                Some(SrcPos {
                    file: file.clone(),
                    line: e.line,
                    col: e.col,
                }),
            )
        })?;
        self.warnings
            .extend(warns.into_iter().map(|w| Warning(w.message)));
        Ok((node, file))
    }

    /// Loads a playbook (following `import_playbook`).
    pub fn load_playbook(&mut self, path: &Path) -> Result<Playbook, ParseError> {
        let path = absolute(path);
        if self.stack.contains(&path) {
            return Err(ParseError::parser(
                format!("import_playbook loop detected: {}", path.display()),
                None,
            ));
        }
        self.stack.push(path.clone());
        // While a playbook loads (an imported one too), its directory is
        // the base for roles, as Ansible's loader basedir is.
        let outer = self.playbook_dir.clone();
        self.playbook_dir = path.parent().map(Path::to_path_buf);
        let result = self.load_playbook_inner(&path);
        if outer.is_some() {
            self.playbook_dir = outer;
        }
        self.stack.pop();
        result
    }

    fn load_playbook_inner(&mut self, path: &Path) -> Result<Playbook, ParseError> {
        let (root, file) = self.read_yaml(path)?;
        let shown = path.display();
        let entries = match &root.value {
            Y::Null => {
                return Err(ParseError::parser(
                    format!("Empty playbook, nothing to do: {shown}"),
                    None,
                ))
            }
            Y::Seq(items) => items,
            _ => {
                return Err(ParseError::parser(
                    format!(
                        "A playbook must be a list of plays, got a {} instead: {shown}",
                        type_name(&root)
                    ),
                    Some(pos(&file, &root)),
                ))
            }
        };
        if entries.is_empty() {
            return Err(ParseError::parser(
                format!("A playbook must contain at least one play: {shown}"),
                None,
            ));
        }
        let basedir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut plays = Vec::new();
        for entry in entries {
            let Some(map) = entry.as_map() else {
                return Err(ParseError::parser(
                    "playbook entries must be either valid plays or 'import_playbook' statements",
                    Some(pos(&file, entry)),
                ));
            };
            let import_key = map.iter().find_map(|(k, _)| {
                k.as_str().filter(|s| {
                    matches!(
                        *s,
                        "import_playbook"
                            | "ansible.builtin.import_playbook"
                            | "ansible.legacy.import_playbook"
                    )
                })
            });
            if let Some(key) = import_key {
                plays.extend(self.import_playbook(entry, key, &file, &basedir)?);
            } else {
                plays.push(self.load_play(entry, &file, &basedir)?);
            }
        }
        Ok(Playbook {
            path: path.to_path_buf(),
            plays,
        })
    }

    fn import_playbook(
        &mut self,
        entry: &Node,
        key: &str,
        file: &Arc<str>,
        basedir: &Path,
    ) -> Result<Vec<Play>, ParseError> {
        let p = pos(file, entry);
        let mut attrs = Attrs::default();
        let mut target: Option<String> = None;
        for (k, v) in entry.as_map().unwrap_or_default() {
            let Some(name) = k.as_str() else { continue };
            if name == key {
                match &v.value {
                    Y::Str(s) => {
                        // `import_playbook: other.yml var=value` (old form)
                        let (first, rest) = split_first_arg(s);
                        target = Some(first);
                        if let Some(rest) = rest {
                            let rest = rest.as_str();
                            let kv = parse_kv(rest, false)
                                .map_err(|e| ParseError::parser(e, Some(p.clone())))?;
                            attrs.insert("vars", Value::Object(kv), pos(file, v));
                        }
                    }
                    Y::Null => {
                        return Err(ParseError::parser(
                            "playbook import parameter is missing",
                            Some(p),
                        ))
                    }
                    _ => {
                        return Err(ParseError::parser(
                            format!(
                                "playbook import parameter must be a string indicating a file path, got {} instead",
                                type_name(v)
                            ),
                            Some(p),
                        ))
                    }
                }
            } else if name == "vars" {
                if v.as_map().is_none() {
                    return Err(ParseError::parser(
                        "vars for import_playbook statements must be specified as a dictionary",
                        Some(p),
                    ));
                }
                attrs.insert("vars", v.to_ansible_json(), pos(file, v));
            } else if keywords::BASE.contains(&name) || keywords::IMPORT_PLAYBOOK.contains(&name) {
                attrs.insert(name, v.to_ansible_json(), pos(file, v));
            } else {
                return Err(ParseError::parser(
                    format!("'{name}' is not a valid attribute for a PlaybookInclude"),
                    Some(p),
                ));
            }
        }
        let Some(target) = target.filter(|t| !t.is_empty()) else {
            return Err(ParseError::parser(
                "import_playbook statements must specify the file name to import",
                Some(p),
            ));
        };
        // The import's own `vars:` are visible when templating its name.
        let saved = std::mem::replace(
            &mut self.play_vars,
            match attrs.get("vars") {
                Some(Value::Object(m)) => m.clone(),
                _ => Map::new(),
            },
        );
        let target = self.render(&target, None, &p);
        self.play_vars = saved;
        let target = target?;

        let path = resolve_path(basedir, &target);
        let mut merged = self.import_vars.clone();
        if let Some(Value::Object(m)) = attrs.get("vars") {
            merged.extend(m.clone());
        }
        let outer = std::mem::replace(&mut self.import_vars, merged);
        let pb = self.load_playbook(&path);
        self.import_vars = outer;
        let pb = pb?;
        Ok(pb
            .plays
            .into_iter()
            .map(|mut play| {
                play.import_attrs.insert(0, attrs.clone());
                play
            })
            .collect())
    }

    fn load_play(
        &mut self,
        node: &Node,
        file: &Arc<str>,
        basedir: &Path,
    ) -> Result<Play, ParseError> {
        let p = pos(file, node);
        let map = node.as_map().unwrap_or_default();
        let mut play = Play {
            pos: p.clone(),
            basedir: basedir.to_path_buf(),
            attrs: Attrs::default(),
            vars: Map::new(),
            pre_tasks: Vec::new(),
            roles: Vec::new(),
            tasks: Vec::new(),
            post_tasks: Vec::new(),
            handlers: Vec::new(),
            import_attrs: Vec::new(),
            role_defaults: Map::new(),
            role_vars: Map::new(),
        };
        let mut user = None;
        // Play vars first: static imports are templated with them.
        self.play_vars = match map.iter().find(|(k, _)| k.as_str() == Some("vars")) {
            Some((_, v)) => self.load_vars(v, file, "Play")?,
            None => Map::new(),
        };
        // While loading, the play's own vars win over its import's (which
        // win at run time, below).
        let import_vars = self.import_vars.clone();
        let own = std::mem::replace(&mut self.play_vars, import_vars.clone());
        self.play_vars.extend(own);
        for (k, v) in map {
            let Some(key) = k.as_str() else {
                return Err(ParseError::parser(
                    format!("'{}' is not a valid attribute for a Play", k.key_string()),
                    Some(p),
                ));
            };
            let key = if key == "user" {
                user = Some(v);
                "remote_user"
            } else {
                key
            };
            if !keywords::is_play_kw(key) {
                return Err(ParseError::parser(
                    format!("'{key}' is not a valid attribute for a Play"),
                    Some(p),
                ));
            }
            match key {
                "tasks" | "pre_tasks" | "post_tasks" | "handlers" => {
                    let handler = key == "handlers";
                    let items = self.load_list(v, file, basedir, handler, None)?;

                    match key {
                        "tasks" => play.tasks = items,
                        "pre_tasks" => play.pre_tasks = items,
                        "post_tasks" => play.post_tasks = items,
                        _ => play.handlers = items,
                    }
                }
                "roles" => {
                    let Some(list) = as_list(v) else {
                        // Ansible appends the failed assertion's text.
                        return Err(ParseError::parser(
                            format!(
                                "A malformed role declaration was encountered.. ds ({}) should be a list but was a {}",
                                rustle_inventory::pyfmt::py_str(&v.to_ansible_json()),
                                type_name(v)
                            ),
                            Some(p),
                        ));
                    };
                    for r in list {
                        play.roles
                            .push(self.load_role_ref(r, file, basedir, &mut Vec::new())?);
                    }
                }
                "vars" => play.vars = self.load_vars(v, file, "Play")?,
                "vars_prompt" => {
                    let value = v.to_ansible_json();
                    crate::exec::prompt::validate(&value)
                        .map_err(|e| ParseError::parser(e, Some(pos(file, v))))?;
                    play.attrs.insert(key, value, pos(file, v));
                }
                "hosts" => {
                    check_hosts(v, file)?;
                    play.attrs.insert(key, v.to_ansible_json(), pos(file, v));
                }
                _ => play.attrs.insert(key, v.to_ansible_json(), pos(file, v)),
            }
        }
        if user.is_some() && map.iter().any(|(k, _)| k.as_str() == Some("remote_user")) {
            return Err(ParseError::parser(
                "both 'user' and 'remote_user' are set for this play. The use of 'user' is deprecated, and should be removed",
                Some(p),
            ));
        }
        play.vars.extend(import_vars);
        play.handlers.append(&mut self.imported_handlers);
        play.role_defaults = std::mem::take(&mut self.imported_defaults);
        play.role_vars = std::mem::take(&mut self.imported_vars);

        if !play.attrs.contains("hosts") {
            return Err(ParseError::parser(
                "the field 'hosts' is required but was not set",
                None,
            ));
        }
        Ok(play)
    }

    fn load_vars(
        &mut self,
        v: &Node,
        file: &Arc<str>,
        what: &str,
    ) -> Result<Map<String, Value>, ParseError> {
        let mut out = Map::new();
        let mut add = |m: &[(Node, Node)]| -> Result<(), ParseError> {
            for (k, val) in m {
                let name = k.key_string();
                if !is_identifier(&name) {
                    return Err(ParseError::parser(
                        format!("Invalid variable name in vars specified for {what}: '{name}' is not a valid variable name"),
                        Some(pos(file, k)),
                    ));
                }
                out.insert(name, val.to_ansible_json());
            }
            Ok(())
        };
        match &v.value {
            Y::Map(m) => add(m)?,
            Y::Null => {}
            // Anything else is refused (lists of dicts too, since 2.18);
            // only YAML strings and collections carry a position.
            other => {
                let at =
                    matches!(other, Y::Seq(_) | Y::Str(_) | Y::Unsafe(_)).then(|| pos(file, v));
                return Err(ParseError::parser(
                    format!("Vars in a {what} must be specified as a dictionary. "),
                    at,
                ));
            }
        }
        Ok(out)
    }

    /// Loads a list of tasks/blocks.
    pub fn load_list(
        &mut self,
        v: &Node,
        file: &Arc<str>,
        basedir: &Path,
        handler: bool,
        role: Option<&Arc<RoleInfo>>,
    ) -> Result<Vec<Item>, ParseError> {
        let items = match &v.value {
            Y::Null => return Ok(Vec::new()),
            Y::Seq(items) => items,
            _ => {
                return Err(ParseError::parser(
                    format!(
                        "A malformed block was encountered while loading {}: {} should be a list or None but is {}",
                        if handler { "handlers" } else { "tasks" },
                        short_repr(v),
                        type_name(v)
                    ),
                    Some(pos(file, v)),
                ))
            }
        };
        let mut out = Vec::new();
        for it in items {
            if it.as_map().is_none() {
                return Err(ParseError::parser(
                    format!(
                        "A malformed block was encountered while loading tasks: The ds ({}) should be a dict but was a {}",
                        short_repr(it),
                        type_name(it)
                    ),
                    Some(pos(file, it)),
                ));
            }
            if it.get("block").is_some() {
                if handler {
                    return Err(ParseError::parser(
                        "Using a block as a handler is not supported.",
                        Some(pos(file, it)),
                    ));
                }
                out.push(Item::Block(self.load_block(it, file, basedir, role)?));
                continue;
            }
            for k in ["rescue", "always"] {
                if it.get(k).is_some() {
                    return Err(ParseError::parser(
                        format!("'{k}' keyword cannot be used without 'block'"),
                        Some(pos(file, it)),
                    ));
                }
            }
            let task = self.load_task(it, file, basedir, handler, role)?;
            match task.module.as_str() {
                "import_tasks" => {
                    out.push(Item::Block(self.expand_import_tasks(task, handler, role)?))
                }
                "import_role" => out.push(Item::Block(self.expand_import_role(task, handler)?)),
                _ => out.push(Item::Task(task)),
            }
        }
        Ok(out)
    }

    fn load_block(
        &mut self,
        node: &Node,
        file: &Arc<str>,
        basedir: &Path,
        role: Option<&Arc<RoleInfo>>,
    ) -> Result<Block, ParseError> {
        let p = pos(file, node);
        let mut b = Block {
            pos: p.clone(),
            attrs: Attrs::default(),
            block: Vec::new(),
            rescue: Vec::new(),
            always: Vec::new(),
            implicit: false,
            role: role.cloned(),
        };
        // Block vars first: static imports inside the block template their
        // names with them, wherever `vars:` sits in the mapping.
        let mut pushed = false;
        if let Some(v) = node.get("vars") {
            let vars = self.load_vars(v, file, "Block")?;
            b.attrs
                .insert("vars", Value::Object(vars.clone()), pos(file, v));
            self.block_vars.push(vars);
            pushed = true;
        }
        let result = self.load_block_body(node, file, basedir, role, &mut b);
        if pushed {
            self.block_vars.pop();
        }
        result.map(|()| b)
    }

    fn load_block_body(
        &mut self,
        node: &Node,
        file: &Arc<str>,
        basedir: &Path,
        role: Option<&Arc<RoleInfo>>,
        b: &mut Block,
    ) -> Result<(), ParseError> {
        let p = b.pos.clone();
        for (k, v) in node.as_map().unwrap_or_default() {
            let key = k.key_string();
            if !keywords::is_block_kw(&key) {
                return Err(ParseError::parser(
                    format!("'{key}' is not a valid attribute for a Block"),
                    Some(p),
                ));
            }
            match key.as_str() {
                "block" => b.block = self.load_list(v, file, basedir, false, role)?,
                "rescue" => b.rescue = self.load_list(v, file, basedir, false, role)?,
                "always" => b.always = self.load_list(v, file, basedir, false, role)?,
                "vars" => {}
                _ => {
                    b.attrs.insert(&key, v.to_ansible_json(), pos(file, v));
                    b.attrs.set_item_pos(&key, item_positions(file, v));
                }
            }
        }
        Ok(())
    }

    fn load_task(
        &mut self,
        node: &Node,
        file: &Arc<str>,
        basedir: &Path,
        handler: bool,
        role: Option<&Arc<RoleInfo>>,
    ) -> Result<Task, ParseError> {
        let p = pos(file, node);
        let map = node.as_map().unwrap_or_default();
        let what = if handler { "Handler" } else { "Task" };
        let mut attrs = Attrs::default();
        let mut action: Option<(String, Map<String, Value>)> = None;
        let mut old_style: Option<(&str, &Node)> = None;
        let mut loop_with = None;
        for (k, v) in map {
            let key = k.key_string();
            if let Some(lookup) = key.strip_prefix("with_") {
                if attrs.contains("loop") || loop_with.is_some() {
                    return Err(ParseError::general(
                        format!("duplicate loop in task: {lookup}"),
                        Some(p),
                    ));
                }
                if v.value == Y::Null {
                    return Err(ParseError::general(
                        format!("you must specify a value when using {key}"),
                        Some(p),
                    ));
                }
                loop_with = Some(lookup.to_owned());
                attrs.insert("loop", v.to_ansible_json(), pos(file, v));
                continue;
            }
            if keywords::is_task_kw(&key, handler) {
                match key.as_str() {
                    "action" | "local_action" => {
                        if old_style.is_some() {
                            return Err(ParseError::parser(
                                "action and local_action are mutually exclusive",
                                Some(p),
                            ));
                        }
                        old_style = Some((
                            if key == "action" {
                                "action"
                            } else {
                                "local_action"
                            },
                            v,
                        ));
                    }
                    "loop" if loop_with.is_some() => {
                        return Err(ParseError::general(
                            "duplicate loop in task: items",
                            Some(p),
                        ))
                    }
                    "vars" => {
                        let vars = self.load_vars(v, file, what)?;
                        attrs.insert("vars", Value::Object(vars), pos(file, v));
                    }
                    _ => {
                        attrs.insert(&key, v.to_ansible_json(), pos(file, v));
                        attrs.set_item_pos(&key, item_positions(file, v));
                    }
                }
                continue;
            }
            // Every other key is an action candidate when the task is first
            // read (Ansible resolves the module only afterwards), so an
            // unknown key next to a module conflicts with it.
            if let Some((prev, _)) = &action {
                return Err(ParseError::parser(
                    format!("conflicting action statements: {prev}, {key}"),
                    Some(p),
                ));
            }
            if let Some((os, _)) = old_style {
                return Err(ParseError::parser(
                    format!(
                        "conflicting action statements: {}, {key}",
                        old_style_action_name(os, map)
                    ),
                    Some(p),
                ));
            }
            // Arguments are normalised as each candidate is met, so a bad
            // value fails before a later key conflicts.
            let module = resolve_action(&key).unwrap_or(&key).to_owned();
            let args = self.module_args(&module, v, file, &p)?;
            action = Some((key.clone(), args));
        }
        let extra_args = attrs.get("args").cloned();
        let (action_name, mut args) = match (action, old_style) {
            (Some((name, args)), _) => (name, args),
            (None, Some((kind, v))) => {
                let (name, args) = self.old_style(v, file, &p)?;
                if kind == "local_action" {
                    attrs.insert("delegate_to", Value::String("localhost".into()), p.clone());
                }
                (name, args)
            }
            (None, None) => {
                return Err(ParseError::parser(
                    "no module/action detected in task.",
                    Some(p),
                ));
            }
        };
        // `args:` first, then the module's own arguments win.
        if let Some(extra) = extra_args {
            match extra {
                Value::Object(m) => {
                    let mut merged = m;
                    for (k, v) in args {
                        merged.insert(k, v);
                    }
                    args = merged;
                }
                Value::String(s) if s.contains("{{") => {
                    args.insert("_variable_params".into(), Value::String(s));
                }
                Value::Null => {}
                _ => {
                    // Ansible raises this one without a position and re-wraps
                    // it, which prints the message twice.
                    return Err(ParseError::parser(
                        "Complex args must be a dictionary or variable string (\"{{var}}\").. Complex args must be a dictionary or variable string (\"{{var}}\").",
                        Some(p),
                    ));
                }
            }
        }
        let raw_module = resolve_action(&action_name).unwrap_or(action_name.as_str());
        if let Some(Value::String(raw)) = args.get("_raw_params") {
            if !raw.is_empty() && !keywords::RAW_PARAM.contains(&raw_module) {
                if raw.contains("{{") {
                    let raw = raw.clone();
                    args.remove("_raw_params");
                    args.insert("_variable_params".into(), Value::String(raw));
                } else {
                    return Err(ParseError::parser(
                        format!(
                            "this task '{action_name}' has extra params, which is only allowed in the following modules: {}",
                            raw_param_list()
                        ),
                        Some(p),
                    ));
                }
            }
        }
        // A templated action name is resolved when the task runs.
        let module = resolve_action(&action_name)
            .map(str::to_owned)
            .or_else(|| action_name.contains("{{").then(|| action_name.clone()))
            .ok_or_else(|| {
                ParseError::parser(
                    format!("couldn't resolve module/action '{action_name}'. This often indicates a misspelling, missing collection, or incorrect module path."),
                    Some(p.clone()),
                )
            })?;
        if let Some(Value::String(reg)) = attrs.get("register") {
            if !reg.contains("{{") && !is_identifier(reg) {
                return Err(ParseError::parser(
                    format!("Invalid variable name in 'register' specified: '{reg}'"),
                    None,
                ));
            }
        }
        Ok(Task {
            pos: p,
            action: action_name,
            module,
            args,
            attrs,
            loop_with,
            handler,
            role: role.cloned(),
            basedir: basedir.to_path_buf(),
        })
    }

    fn module_args(
        &mut self,
        module: &str,
        v: &Node,
        file: &Arc<str>,
        p: &SrcPos,
    ) -> Result<Map<String, Value>, ParseError> {
        match &v.value {
            Y::Map(_) => match v.to_ansible_json() {
                Value::Object(m) => Ok(m),
                _ => Ok(Map::new()),
            },
            Y::Null => Ok(Map::new()),
            Y::Str(s) | Y::Unsafe(s) => parse_kv(s, keywords::FREEFORM.contains(&module))
                .map_err(|e| ParseError::parser(e, Some(p.clone()))),
            _ => Err(ParseError::parser(
                format!("unexpected parameter type in action: {}", type_name(v)),
                Some(pos(file, v)),
            )),
        }
    }

    fn old_style(
        &mut self,
        v: &Node,
        file: &Arc<str>,
        p: &SrcPos,
    ) -> Result<(String, Map<String, Value>), ParseError> {
        match &v.value {
            Y::Str(s) => {
                let s = s.trim_start();
                let (name, rest) = split_first_arg(s);
                let (name, rest) = (name.as_str(), rest.unwrap_or_default());
                let rest = rest.as_str();
                let module = resolve_action(name).unwrap_or(name).to_owned();
                let args = parse_kv(rest, keywords::FREEFORM.contains(&module.as_str()))
                    .map_err(|e| ParseError::parser(e, Some(p.clone())))?;
                Ok((name.to_owned(), args))
            }
            Y::Map(_) => {
                let Value::Object(mut m) = v.to_ansible_json() else {
                    return Ok((String::new(), Map::new()));
                };
                let Some(Value::String(spec)) = m.remove("module") else {
                    return Err(ParseError::parser(
                        "no module/action detected in task.",
                        Some(p.clone()),
                    ));
                };
                let spec = spec.trim_start().to_owned();
                let (name, rest) = split_first_arg(&spec);
                let (name, rest) = (name.as_str(), rest.unwrap_or_default());
                let rest = rest.as_str();
                let module = resolve_action(name).unwrap_or(name).to_owned();
                let kv = parse_kv(rest, keywords::FREEFORM.contains(&module.as_str()))
                    .map_err(|e| ParseError::parser(e, Some(p.clone())))?;
                for (k, val) in kv {
                    m.insert(k, val);
                }
                Ok((name.to_owned(), m))
            }
            _ => Err(ParseError::parser(
                format!("unexpected parameter type in action: {}", type_name(v)),
                Some(pos(file, v)),
            )),
        }
    }

    fn include_target(task: &Task) -> Option<String> {
        task.args
            .get("file")
            .or_else(|| task.args.get("_raw_params"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    fn expand_import_tasks(
        &mut self,
        task: Task,
        handler: bool,
        role: Option<&Arc<RoleInfo>>,
    ) -> Result<Block, ParseError> {
        if task.attrs.contains("loop") {
            return Err(ParseError::parser(
                "You cannot use loops on 'import_tasks' statements. You should use 'include_tasks' instead.",
                Some(task.pos.clone()),
            ));
        }
        let Some(target) = Self::include_target(&task) else {
            return Err(ParseError::parser(
                "No file specified for import_tasks",
                Some(task.pos.clone()),
            ));
        };
        let target = self.render(&target, task.attrs.get("vars"), &task.pos)?;
        let path = match role {
            Some(r) if Path::new(&target).is_relative() => {
                let in_tasks = task.basedir.join(&target);
                if in_tasks.exists() {
                    in_tasks
                } else {
                    r.path.join("tasks").join(&target)
                }
            }
            _ => resolve_path(&task.basedir, &target),
        };
        // Announced before its own imports, as Ansible's loader does; an
        // empty file is not.
        let note = self.notes.len();
        self.notes.push(format!(
            "statically imported: {}",
            absolute(&path).display()
        ));
        let items = self.load_task_file(&path, handler, role)?;
        if items.is_empty() {
            self.notes.remove(note);
        }
        let mut attrs = task.attrs.clone();
        attrs.0.remove("name");
        Ok(Block {
            pos: task.pos.clone(),
            attrs,
            block: items,
            rescue: Vec::new(),
            always: Vec::new(),
            implicit: true,
            role: role.cloned(),
        })
    }

    /// Loads a file of tasks (for imports, includes and roles).
    pub fn load_task_file(
        &mut self,
        path: &Path,
        handler: bool,
        role: Option<&Arc<RoleInfo>>,
    ) -> Result<Vec<Item>, ParseError> {
        let path = absolute(path);
        if self.stack.contains(&path) {
            return Err(ParseError::general(
                format!("recursive import of {}", path.display()),
                None,
            ));
        }
        self.stack.push(path.clone());
        let result = (|| {
            let (node, file) = self.read_yaml(&path)?;
            let basedir = path.parent().map(Path::to_path_buf).unwrap_or_default();
            match &node.value {
                Y::Null => Ok(Vec::new()),

                Y::Seq(_) => self.load_list(&node, &file, &basedir, handler, role),
                _ => Err(ParseError::parser(
                    "included task files must contain a list of tasks",
                    Some(pos(&file, &node)),
                )),
            }
        })();
        self.stack.pop();
        result
    }

    fn expand_import_role(&mut self, task: Task, handler: bool) -> Result<Block, ParseError> {
        if handler {
            return Err(ParseError::parser(
                "Using 'import_role' as a handler is not supported.",
                Some(task.pos.clone()),
            ));
        }
        if task.attrs.contains("loop") {
            return Err(ParseError::parser(
                "You cannot use loops on 'import_role' statements. You should use 'include_role' instead.",
                Some(task.pos.clone()),
            ));
        }
        let Some(name) = task
            .args
            .get("name")
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            return Err(ParseError::parser(
                "'name' is a required field for import_role.",
                Some(task.pos.clone()),
            ));
        };
        let name = self.render(&name, task.attrs.get("vars"), &task.pos)?;
        let mut from_args = std::collections::BTreeMap::new();
        for k in ["tasks_from", "handlers_from", "vars_from", "defaults_from"] {
            if let Some(v) = task.args.get(k).and_then(Value::as_str) {
                from_args.insert(k, self.render(v, task.attrs.get("vars"), &task.pos)?);
            }
        }
        let from = |k: &str| from_args.get(k).cloned();
        let dir = self.find_role(&name, &task.basedir, &task.pos)?;
        let role = self.load_role(
            &name,
            &dir,
            from("tasks_from").as_deref(),
            from("handlers_from").as_deref(),
            &mut Vec::new(),
        )?;
        let mut role = role;
        if let Some(v) = task.args.get("rolespec_validate") {
            let text = match v {
                Value::String(s) => self.render(s, task.attrs.get("vars"), &task.pos)?,
                other => crate::exec::value_to_string(other),
            };
            if rustle_runner::args::to_bool(&Value::String(text)) == Some(false) {
                Self::drop_argspec_task(&mut role);
            }
        }
        if let Some(vf) = from("vars_from") {
            role.vars = self.load_role_vars_named(&dir, "vars", &vf, &name)?;
        }
        if let Some(df) = from("defaults_from") {
            role.defaults = self.load_role_vars_named(&dir, "defaults", &df, &name)?;
        }
        // Imported roles are public: their defaults and vars are visible to
        // the whole play.
        for (k, v) in &role.defaults {
            self.imported_defaults.insert(k.clone(), v.clone());
        }
        for (k, v) in &role.vars {
            self.imported_vars.insert(k.clone(), v.clone());
        }
        // The role's handlers join the play's, with the import's keywords
        // (delegate_to, become, ...) but not its conditions or tags.
        let mut hattrs = task.attrs.clone();
        for k in ["name", "when", "tags", "notify", "register", "loop", "vars"] {
            hattrs.0.remove(k);
        }
        self.imported_handlers.push(Item::Block(Block {
            pos: task.pos.clone(),
            attrs: hattrs,
            block: role.handlers.clone(),
            rescue: Vec::new(),
            always: Vec::new(),
            implicit: true,
            role: Some(role.info.clone()),
        }));
        let mut attrs = task.attrs.clone();
        attrs.0.remove("name");
        let mut from_files = Map::new();
        for (k, v) in &from_args {
            from_files.insert((*k).to_owned(), Value::from(v.clone()));
        }
        attrs.insert(
            "_role_ident",
            super::model::role_identity(
                &dir,
                &Map::new(),
                &Attrs::default(),
                &role.vars,
                &from_files,
                true,
            ),
            task.pos.clone(),
        );
        // An import allows duplicates unless it says otherwise (templated
        // with the import's vars).
        let allow_dup = match task.args.get("allow_duplicates") {
            None => true,
            Some(Value::Bool(b)) => *b,
            Some(Value::String(t)) => {
                let t = self.render(t, task.attrs.get("vars"), &task.pos)?;
                !matches!(
                    t.trim().to_lowercase().as_str(),
                    "false" | "no" | "off" | "0" | "n" | "f"
                )
            }
            Some(_) => true,
        };
        attrs.insert("_role_allow_dup", Value::Bool(allow_dup), task.pos.clone());
        // The role's defaults and vars keep their own precedence levels
        // (the executor reads these); the import's `vars` are block vars.
        attrs.insert(
            "_role_defaults",
            Value::Object(role.defaults.clone()),
            task.pos.clone(),
        );
        attrs.insert(
            "_role_vars",
            Value::Object(role.vars.clone()),
            task.pos.clone(),
        );
        if role.dependencies.is_empty() {
            return Ok(Block {
                pos: task.pos.clone(),
                attrs,
                block: role.tasks.clone(),
                rescue: Vec::new(),
                always: Vec::new(),
                implicit: true,
                role: Some(role.info.clone()),
            });
        }
        // With dependencies: they run first, each as its own role (the
        // same as a play role's dependency), all under the import's
        // keywords; the role's own tasks keep the role's levels.
        let mut items = Vec::new();
        let mut dep_handlers = Vec::new();
        let (mut dd, mut dv, mut seen) = (Map::new(), Map::new(), Vec::new());
        let chain = crate::exec::RoleChain {
            params: Map::new(),
            vars: role.vars.clone(),
        };
        for dep in &role.dependencies {
            crate::exec::flatten_role(
                dep,
                &mut items,
                &mut dep_handlers,
                &mut dd,
                &mut dv,
                &mut seen,
                &chain,
            );
        }
        self.imported_handlers.extend(dep_handlers);
        for (k, v) in dd {
            self.imported_defaults.entry(k).or_insert(v);
        }
        for (k, v) in dv {
            self.imported_vars.entry(k).or_insert(v);
        }
        let mut outer = Attrs::default();
        let mut inner = Attrs::default();
        for (k, a) in attrs.0 {
            if k.starts_with("_role_") {
                inner.0.insert(k, a);
            } else {
                outer.0.insert(k, a);
            }
        }
        items.push(Item::Block(Block {
            pos: task.pos.clone(),
            attrs: inner,
            block: role.tasks.clone(),
            rescue: Vec::new(),
            always: Vec::new(),
            implicit: true,
            role: Some(role.info.clone()),
        }));
        Ok(Block {
            pos: task.pos.clone(),
            attrs: outer,
            block: items,
            rescue: Vec::new(),
            always: Vec::new(),
            implicit: true,
            role: None,
        })
    }

    /// Finds a role's directory as Ansible searches: `roles/` next to the
    /// playbook, the roles path, the playbook directory, then the directory
    /// holding the role that refers to it; `ns.col.role` in collections.
    pub fn find_role(&self, name: &str, basedir: &Path, p: &SrcPos) -> Result<PathBuf, ParseError> {
        let pb_dir = self
            .playbook_dir
            .clone()
            .unwrap_or_else(|| basedir.to_path_buf());
        let mut searched = Vec::new();
        if Path::new(name).is_absolute() {
            let path = PathBuf::from(name);
            if path.is_dir() {
                return Ok(path);
            }
            searched.push(path);
        } else {
            let parts: Vec<&str> = name.split('.').collect();
            if parts.len() >= 3 {
                let (ns, col, role) = (parts[0], parts[1], parts[2..].join("."));
                let mut roots = vec![pb_dir.join("collections")];
                if let Ok(cp) = std::env::var("ANSIBLE_COLLECTIONS_PATH")
                    .or_else(|_| std::env::var("ANSIBLE_COLLECTIONS_PATHS"))
                {
                    roots.extend(cp.split(':').filter(|s| !s.is_empty()).map(PathBuf::from));
                }
                if let Some(home) = std::env::var_os("HOME") {
                    roots.push(Path::new(&home).join(".ansible/collections"));
                }
                for r in &roots {
                    let cand = r
                        .join("ansible_collections")
                        .join(ns)
                        .join(col)
                        .join("roles")
                        .join(&role);
                    if cand.is_dir() {
                        return Ok(cand);
                    }
                }
            }
            let mut dirs = vec![pb_dir.join("roles")];
            dirs.extend(self.opts.roles_path.iter().cloned());
            dirs.push(pb_dir.clone());
            // A role referring to another from inside a role: its siblings.
            if let Some(role_parent) = basedir
                .ancestors()
                .find(|a| a.join("tasks").is_dir() || a.join("meta").is_dir())
                .and_then(Path::parent)
            {
                if !dirs.iter().any(|d| d == role_parent) {
                    dirs.push(role_parent.to_path_buf());
                }
            }
            for d in dirs {
                let cand = d.join(name);
                if cand.is_dir() {
                    return Ok(cand);
                }
                searched.push(d);
            }
        }
        Err(ParseError::general(
            format!(
                "the role '{name}' was not found in {}",
                searched
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(":")
            ),
            Some(p.clone()),
        ))
    }

    fn load_role_ref(
        &mut self,
        node: &Node,
        file: &Arc<str>,
        basedir: &Path,
        chain: &mut Vec<PathBuf>,
    ) -> Result<RoleRef, ParseError> {
        let p = pos(file, node);
        let mut attrs = Attrs::default();
        let mut params = Map::new();
        let name = match &node.value {
            Y::Str(s) => s.clone(),
            Y::Map(m) => {
                let mut name = None;
                for (k, v) in m {
                    let key = k.key_string();
                    if key == "role" || key == "name" {
                        name = v
                            .as_str()
                            .map(str::to_owned)
                            .or_else(|| Some(v.key_string()));
                        continue;
                    }
                    if keywords::is_role_kw(&key) {
                        if key == "vars" {
                            let vars = self.load_vars(v, file, "RoleDefinition")?;
                            attrs.insert("vars", Value::Object(vars), pos(file, v));
                        } else {
                            attrs.insert(&key, v.to_ansible_json(), pos(file, v));
                        }
                    } else {
                        params.insert(key, v.to_ansible_json());
                    }
                }
                name.ok_or_else(|| {
                    ParseError::general(
                        "role definitions must contain a role name",
                        Some(p.clone()),
                    )
                })?
            }
            _ => {
                return Err(ParseError::general(
                    "role definitions must contain a role name",
                    Some(p),
                ))
            }
        };
        let dir = self.find_role(&name, basedir, &p)?;
        let role = self.load_role(&name, &dir, None, None, chain)?;
        Ok(RoleRef {
            pos: p,
            name,
            path: dir,
            params,
            attrs,
            role: Arc::new(role),
        })
    }

    fn role_file(dir: &Path, sub: &str, base: &str) -> Option<PathBuf> {
        for ext in ["", ".yml", ".yaml", ".json"] {
            let p = dir.join(sub).join(format!("{base}{ext}"));
            if p.is_file() {
                return Some(p);
            }
        }
        None
    }

    fn load_role_vars(
        &mut self,
        dir: &Path,
        sub: &str,
        name: &str,
    ) -> Result<Map<String, Value>, ParseError> {
        self.load_role_vars_named(dir, sub, "main", name)
    }

    /// Loads `<role>/<sub>/<base>[.yml|.yaml|.json]` as variables.
    pub fn load_role_vars_named(
        &mut self,
        dir: &Path,
        sub: &str,
        base: &str,
        name: &str,
    ) -> Result<Map<String, Value>, ParseError> {
        match Self::role_file(dir, sub, base) {
            None => Ok(Map::new()),
            Some(p) => {
                let (node, _) = self.read_yaml(&p)?;
                match node.to_ansible_json() {
                    Value::Object(m) => Ok(m),
                    Value::Null => Ok(Map::new()),
                    _ => Err(ParseError::parser(
                        format!("The {sub}/main.yml file for role '{name}' must contain a dictionary of variables"),
                        None,
                    )),
                }
            }
        }
    }

    /// The task Ansible puts first in a role entry point that has an
    /// argument spec (`meta/argument_specs.yml`, else `argument_specs` in
    /// `meta/main.yml`): `validate_argument_spec` with the entry point's
    /// `options`, tagged `always`.
    fn argspec_task(
        &mut self,
        dir: &Path,
        entry: &str,
        info: &Arc<RoleInfo>,
    ) -> Result<Option<Task>, ParseError> {
        // The specs file wins over meta/main.yml; the two are not merged.
        let Some(file) = Self::role_file(dir, "meta", "argument_specs")
            .or_else(|| Self::role_file(dir, "meta", "main"))
        else {
            return Ok(None);
        };
        let (node, name) = self.read_yaml(&file)?;
        let specs = node.to_json();
        let specs = specs.get("argument_specs");
        let Some(spec) = specs.and_then(|s| s.get(entry)).filter(|s| s.is_object()) else {
            return Ok(None);
        };
        let mut task_name = format!("Validating arguments against arg spec '{entry}'");
        if let Some(d) = spec.get("short_description") {
            task_name.push_str(" - ");
            task_name.push_str(&crate::exec::value_to_string(d));
        }
        let pos = SrcPos {
            file: name,
            line: 1,
            col: 1,
        };
        let mut args = Map::new();
        args.insert(
            "argument_spec".into(),
            spec.get("options")
                .cloned()
                .unwrap_or_else(|| Value::Object(Map::new())),
        );
        args.insert("provided_arguments".into(), Value::Object(Map::new()));
        args.insert(
            "validate_args_context".into(),
            serde_json::json!({
                "type": "role",
                "name": info.name,
                "argument_spec_name": entry,
                "path": info.path.display().to_string(),
            }),
        );
        let mut attrs = Attrs::default();
        attrs.insert("name", Value::String(task_name), pos.clone());
        attrs.insert("tags", serde_json::json!(["always"]), pos.clone());
        Ok(Some(Task {
            pos,
            action: "ansible.builtin.validate_argument_spec".into(),
            module: "validate_argument_spec".into(),
            args,
            attrs,
            loop_with: None,
            handler: false,
            role: Some(info.clone()),
            basedir: dir.join("tasks"),
        }))
    }

    /// Removes the argument spec validation task `load_role` put first
    /// (`rolespec_validate: false` on include_role/import_role).
    pub fn drop_argspec_task(role: &mut Role) {
        let ours = matches!(role.tasks.first(), Some(Item::Task(t))
            if t.module == "validate_argument_spec"
                && t.args.get("validate_args_context").and_then(|c| c.get("type")).and_then(Value::as_str) == Some("role"));
        if ours {
            role.tasks.remove(0);
        }
    }

    /// Loads a role directory: tasks, handlers, defaults, vars, meta.
    pub fn load_role(
        &mut self,
        name: &str,
        dir: &Path,
        tasks_from: Option<&str>,
        handlers_from: Option<&str>,
        chain: &mut Vec<PathBuf>,
    ) -> Result<Role, ParseError> {
        let dir = absolute(dir);
        if chain.contains(&dir) {
            return Err(ParseError::general(
                "A recursion loop was detected with the roles specified. Make sure child roles do not have dependencies on parent roles",
                None,
            ));
        }
        chain.push(dir.clone());
        let info = Arc::new(RoleInfo {
            name: name.to_owned(),
            path: dir.clone(),
        });
        let mut tasks = match Self::role_file(&dir, "tasks", tasks_from.unwrap_or("main")) {
            Some(p) => self.load_task_file(&p, false, Some(&info))?,
            None if tasks_from.is_some() => {
                return Err(ParseError::general(
                    format!(
                        "Could not find specified file in role: tasks/{}",
                        tasks_from.unwrap_or("main")
                    ),
                    None,
                ))
            }
            None => Vec::new(),
        };
        if let Some(task) = self.argspec_task(&dir, tasks_from.unwrap_or("main"), &info)? {
            tasks.insert(0, Item::Task(task));
        }
        let handlers = match Self::role_file(&dir, "handlers", handlers_from.unwrap_or("main")) {
            Some(p) => self.load_task_file(&p, true, Some(&info))?,
            None => Vec::new(),
        };
        let defaults = self.load_role_vars(&dir, "defaults", name)?;
        let vars = self.load_role_vars(&dir, "vars", name)?;
        let mut dependencies = Vec::new();
        let mut allow_duplicates = false;
        if let Some(meta) = Self::role_file(&dir, "meta", "main") {
            let (node, file) = self.read_yaml(&meta)?;
            if let Some(ad) = node.get("allow_duplicates") {
                allow_duplicates = matches!(ad.value, Y::Bool(true));
            }
            if let Some(deps) = node.get("dependencies").and_then(as_list) {
                for d in deps {
                    dependencies.push(self.load_role_ref(d, &file, &dir.join(".."), chain)?);
                }
            }
        }
        chain.pop();
        Ok(Role {
            info,
            tasks,
            handlers,
            defaults,
            vars,
            dependencies,
            allow_duplicates,
        })
    }
}

fn old_style_action_name(kind: &str, map: &[(Node, Node)]) -> String {
    map.iter()
        .find(|(k, _)| k.as_str() == Some(kind))
        .and_then(|(_, v)| match &v.value {
            Y::Str(s) => s.split_whitespace().next().map(str::to_owned),
            Y::Map(_) => v
                .get("module")
                .and_then(|m| m.as_str())
                .map(|s| s.split_whitespace().next().unwrap_or_default().to_owned()),
            _ => None,
        })
        .unwrap_or_default()
}

/// Splits `module arg...` (or `file.yml var=x`) after the first argument,
/// keeping Jinja2 expressions and quotes whole.
fn split_first_arg(s: &str) -> (String, Option<String>) {
    match super::splitter::split_args(s) {
        Ok(parts) if !parts.is_empty() => {
            let first = parts[0].trim_start_matches('\n').to_owned();
            let rest_start = s.find(&parts[0]).map_or(s.len(), |i| i + parts[0].len());
            let rest = s[rest_start..].trim();
            (first, (!rest.is_empty()).then(|| rest.to_owned()))
        }
        _ => {
            let (a, b) = s.split_once(char::is_whitespace).unwrap_or((s, ""));
            (
                a.to_owned(),
                (!b.trim().is_empty()).then(|| b.trim().to_owned()),
            )
        }
    }
}

fn raw_param_list() -> String {
    let mut names: Vec<String> = keywords::RAW_PARAM
        .iter()
        .flat_map(|n| {
            [
                n.to_string(),
                format!("ansible.builtin.{n}"),
                format!("ansible.legacy.{n}"),
            ]
        })
        .collect();
    names.sort();
    names.join(", ")
}

fn check_hosts(v: &Node, file: &Arc<str>) -> Result<(), ParseError> {
    let p = pos(file, v);
    match &v.value {
        Y::Null => Err(ParseError::parser(
            "Hosts list cannot be empty. Please check your playbook",
            Some(p),
        )),
        Y::Str(s) if s.is_empty() => Err(ParseError::parser(
            "Hosts list cannot be empty. Please check your playbook",
            Some(p),
        )),
        Y::Seq(items) => {
            if items.is_empty() {
                return Err(ParseError::parser(
                    "Hosts list cannot be empty. Please check your playbook",
                    Some(p),
                ));
            }
            for it in items {
                match &it.value {
                    Y::Null => return Err(ParseError::parser(
                        "Hosts list cannot contain values of 'None'. Please check your playbook",
                        Some(p),
                    )),
                    Y::Map(_) | Y::Seq(_) => {
                        return Err(ParseError::parser(
                            format!(
                                "Hosts list contains an invalid host value: '{}'",
                                short_repr(it)
                            ),
                            Some(p),
                        ))
                    }
                    _ => {}
                }
            }
            Ok(())
        }
        Y::Map(_) => Err(ParseError::parser(
            "Hosts list must be a sequence or string. Please check your playbook.",
            Some(p),
        )),
        _ => Ok(()),
    }
}

fn as_list(n: &Node) -> Option<Vec<&Node>> {
    match &n.value {
        Y::Seq(items) => Some(items.iter().collect()),
        Y::Null => Some(Vec::new()),
        _ => None,
    }
}

fn short_repr(n: &Node) -> String {
    let s = n.to_json().to_string();
    if s.len() > 60 {
        format!(
            "{}...",
            &s[..s.char_indices().nth(57).map_or(s.len(), |(i, _)| i)]
        )
    } else {
        s
    }
}

/// A valid Python identifier that is not a keyword, as Ansible requires of
/// variable names.
pub fn is_identifier(s: &str) -> bool {
    const KEYWORDS: &[&str] = &[
        "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class",
        "continue", "def", "del", "elif", "else", "except", "finally", "for", "from", "global",
        "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return",
        "try", "while", "with", "yield",
    ];
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_alphanumeric() || c == '_') && !KEYWORDS.contains(&s)
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(p)
    }
}

/// Resolves a path relative to `base` unless it is absolute.
pub fn resolve_path(base: &Path, target: &str) -> PathBuf {
    let t = Path::new(target);
    if t.is_absolute() {
        t.to_path_buf()
    } else {
        base.join(t)
    }
}
