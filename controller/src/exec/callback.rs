//! Output of a playbook run in the format of Ansible's default stdout
//! callback. Text goes to writers the caller provides.

use std::io::Write;

use rustle_runner::engine::HostStats;
use rustle_runner::output::{banner, render_diff_colored, Renderer, DEFAULT_COLUMNS};

use crate::config::Colors;
use crate::display::Style;
use serde_json::{Map, Value};

use super::json_out::{JsonDoc, Recorded};

/// How one host's task (or loop item) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Changed,
    Skipped,
    Failed,
    Unreachable,
}

pub struct Callback {
    out: Box<dyn Write + Send>,
    err: Box<dyn Write + Send>,
    pub verbosity: u8,
    pub diff: bool,
    renderer: Renderer,
    /// A task banner not shown yet (results are being filtered) and the
    /// task's path.
    pending_banner: Option<String>,
    task_path: Option<String>,
    warned: std::collections::HashSet<String>,
    style: Style,
    /// The default callback's `display_ok_hosts`/`display_skipped_hosts`.
    pub display_ok_hosts: bool,
    pub display_skipped_hosts: bool,
    /// `display_args_to_stdout`: task banners show the arguments.
    pub display_args_to_stdout: bool,
    /// Base of relative task paths (`task path:` lines are absolute).
    pub cwd: std::path::PathBuf,
    /// The `json` callback's document, when that is the stdout callback:
    /// the default callback's lines are then not printed.
    json: Option<JsonDoc>,
    /// `set_stats` data: per host, and the run's under `_run`.
    pub custom_stats: Map<String, Value>,
    /// The current task's `diff:` keyword, over `--diff`.
    pub task_diff: Option<bool>,
    /// The progress line (off unless stderr is a terminal).
    progress: super::progress::Progress,
}

pub use rustle_inventory::pyfmt::{py_repr, py_str};

impl Callback {
    pub fn new(
        out: Box<dyn Write + Send>,
        err: Box<dyn Write + Send>,
        verbosity: u8,
        diff: bool,
    ) -> Self {
        Callback {
            out,
            err,
            verbosity,
            diff,
            renderer: Renderer::new(verbosity, diff),
            pending_banner: None,
            task_path: None,
            warned: std::collections::HashSet::new(),
            style: Style::default(),
            display_ok_hosts: true,
            display_skipped_hosts: true,
            display_args_to_stdout: false,
            cwd: std::path::PathBuf::new(),
            json: None,
            custom_stats: Map::new(),
            progress: super::progress::Progress::new(false),
            task_diff: None,
        }
    }

    /// Shows a progress line on the terminal during long runs.
    pub fn with_progress(mut self, progress: super::progress::Progress) -> Self {
        self.progress = progress;
        self
    }

    /// Makes this the `json` callback (`ansible.posix.json`).
    pub fn with_json(mut self, indent: Option<usize>, show_custom_stats: bool) -> Self {
        self.json = Some(JsonDoc::new(indent, show_custom_stats));
        self
    }

    pub fn is_json(&self) -> bool {
        self.json.is_some()
    }

    /// A host's final result for a task (what the json callback keeps;
    /// the default callback shows results as they come instead).
    pub fn record(&mut self, rec: &Recorded<'_>) {
        if let Some(j) = &mut self.json {
            j.record(rec);
        }
    }

    /// Colours the output from now on (or not: a default `Style`).
    pub fn set_style(&mut self, style: Style) {
        self.renderer.palette = style.palette();
        self.style = style;
    }

    /// `display.display(msg, color=...)` on stdout.
    fn show(&mut self, msg: &str, pick: fn(&Colors) -> &str) {
        let text = self.style.line(msg, pick);
        self.say(&text);
    }

    /// A `display.vv()` line (shown at -vv and above).
    pub fn vv(&mut self, msg: &str) {
        if self.verbosity >= 2 {
            let text = self.style.verbose_line(msg);
            self.say(&text);
        }
    }

    /// `v2_runner_on_async_poll` / `_ok` / `_failed`: a line in the
    /// debug colour.
    pub fn async_line(&mut self, msg: &str) {
        let text = self.style.line(msg, |c| &c.debug);
        self.say(&text);
    }

    /// `v2_playbook_on_start` (the `PLAYBOOK:` banner at -vv) and the
    /// executor's `N plays in FILE`.
    pub fn playbook_start(&mut self, shown: &str, plays: usize) {
        if self.verbosity >= 2 {
            let base = std::path::Path::new(shown)
                .file_name()
                .map_or_else(|| shown.to_owned(), |n| n.to_string_lossy().into_owned());
            self.say(&banner(&format!("PLAYBOOK: {base}"), DEFAULT_COLUMNS));
            self.vv(&format!("{plays} plays in {shown}"));
        }
    }

    /// The stdout callbacks Ansible loads and skips at -vv, the default
    /// one being in use (`TaskQueueManager.load_callbacks`).
    pub fn callbacks_loaded(&mut self) {
        for name in ["default", "minimal", "oneline"] {
            self.vv(&format!(
                "Skipping callback '{name}', as we already have a stdout callback."
            ));
        }
    }

    /// The task banner, if it is still to be shown.
    fn flush_banner(&mut self) {
        if let Some(b) = self.pending_banner.take() {
            self.say(&b);
            if self.verbosity >= 2 {
                if let Some(p) = self.task_path.clone() {
                    self.show(&format!("task path: {p}"), |c| &c.debug);
                }
            }
        }
    }

    fn say(&mut self, s: &str) {
        if self.json.is_some() {
            return;
        }
        self.progress.clear(&mut self.err);
        let _ = self.out.write_all(s.as_bytes());
        let _ = self.out.flush();
    }

    /// Prints a warning once per run: Ansible's display drops repeats.
    pub fn warning(&mut self, msg: &str) {
        if self.warned.insert(msg.to_owned()) {
            self.progress.clear(&mut self.err);
            let _ = writeln!(self.err, "{}", self.style.warning(msg));
        }
    }

    /// Prints a message on stdout, ending it with a newline unless it has
    /// one (Ansible's `display.display`).
    pub fn display(&mut self, msg: &str) {
        let text = if msg.ends_with('\n') {
            msg.to_owned()
        } else {
            format!("{msg}\n")
        };
        let _ = self.out.write_all(text.as_bytes());
        let _ = self.out.flush();
    }

    /// A module's `warnings` are shown (before its result line) and left
    /// out of the dump, as the default callback's `_handle_warnings`; the
    /// result without them, when it had any.
    fn take_warnings(&mut self, result: &Value) -> Option<Value> {
        let list = result.get("warnings").and_then(Value::as_array)?;
        let texts: Vec<String> = list.iter().map(py_str).collect();
        for t in &texts {
            self.warning(t);
        }
        let mut owned = result.clone();
        if let Value::Object(m) = &mut owned {
            m.remove("warnings");
        }
        Some(owned)
    }

    /// An error shown the way `Display.error` words a plain message.
    pub fn error_wrapped(&mut self, msg: &str) {
        self.progress.clear(&mut self.err);
        let _ = writeln!(self.err, "{}", self.style.error_wrapped(msg));
    }

    pub fn error(&mut self, msg: &str) {
        self.progress.clear(&mut self.err);
        let _ = writeln!(self.err, "{}", self.style.error(msg));
    }

    /// A play (or a serial batch of it) starts; `path` is `file:line`.
    /// The play's host count, for the progress line.
    pub fn play_hosts(&mut self, name: &str, hosts: usize) {
        self.progress.play(name, hosts);
    }

    /// Shows the progress line (on a terminal, for long runs).
    pub fn progress(&mut self) {
        if self.json.is_none() {
            self.progress.draw(&mut self.err);
        }
    }

    pub fn play_start(&mut self, name: &str, path: &str) {
        if let Some(j) = &mut self.json {
            j.play_start(name, path);
        }
        let title = if name.trim().is_empty() {
            "PLAY".to_owned()
        } else {
            format!("PLAY [{}]", name.trim())
        };
        self.say(&banner(&title, DEFAULT_COLUMNS));
    }

    /// A banner of any text (Ansible's `display.banner`).
    pub fn banner(&mut self, text: &str) {
        self.say(&banner(text, DEFAULT_COLUMNS));
    }

    /// The play has no hosts left to run on.
    pub fn no_hosts_remaining(&mut self) {
        self.say(&banner("NO MORE HOSTS LEFT", DEFAULT_COLUMNS));
    }

    pub fn no_hosts(&mut self) {
        self.show("skipping: no hosts matched", |c| &c.skip);
    }

    /// A task starts: its banner (and, at -vv, its path) now, or with its
    /// first shown result when ok or skipped results are hidden.
    pub fn task_start(
        &mut self,
        title: &str,
        handler: bool,
        pos: Option<&crate::playbook::SrcPos>,
        args: Option<&Map<String, Value>>,
    ) {
        if let Some(j) = &mut self.json {
            let path = pos.map(super::pos_path).unwrap_or_default();
            j.task_start(title, &path);
        }
        self.progress.task(title);
        let kind = if handler { "RUNNING HANDLER" } else { "TASK" };
        // DISPLAY_ARGS_TO_STDOUT: the task's arguments as written (`args`
        // is `None` for a no_log task).
        let shown_args = match args {
            Some(a) if self.display_args_to_stdout => {
                let parts: Vec<String> = a
                    .iter()
                    .map(|(k, v)| format!("{k}={}", py_str(v)))
                    .collect();
                format!(" {}", parts.join(", "))
            }
            _ => String::new(),
        };
        let b = banner(
            &format!("{kind} [{}{shown_args}]", title.trim()),
            DEFAULT_COLUMNS,
        );
        self.task_path = pos.filter(|p| p.line > 0).map(|p| {
            let file = std::path::Path::new(&*p.file);
            let abs = if file.is_absolute() {
                file.to_path_buf()
            } else {
                self.cwd.join(file)
            };
            format!("{}:{}", abs.display(), p.line)
        });
        self.pending_banner = Some(b);
        if self.display_ok_hosts && self.display_skipped_hosts {
            self.flush_banner();
        }
    }

    pub fn included(&mut self, file: &str, hosts: &[String], item: Option<&Value>) {
        let mut line = format!("included: {file} for {}", hosts.join(", "));
        if let Some(i) = item {
            line.push_str(&format!(" => (item={})", py_str(i)));
        }
        self.show(&line, |c| &c.included);
    }

    fn dump(&self, result: &Value, module: &str) -> String {
        self.renderer.dump_result(result, module)
    }

    fn dump_always(&self, result: &Value, module: &str, always: bool) -> String {
        self.renderer.dump_result_exact(result, module, always)
    }

    /// A failed result: indented only when the result itself says so
    /// (`_ansible_verbose_always`), never because of the module: debug's
    /// errors come from the executor, which does not mark them.
    fn dump_failed(&self, result: &Value, module: &str, always: bool) -> String {
        let module = if always { module } else { "" };
        self.renderer
            .dump_result_with(&clean_results(result, module), module, always)
    }

    fn diffs(&mut self, result: &Value) {
        if !self.task_diff.unwrap_or(self.diff) {
            return;
        }
        let entries: Vec<Map<String, Value>> = match result.get("diff") {
            Some(Value::Object(m)) => vec![m.clone()],
            Some(Value::Array(a)) => a.iter().filter_map(|d| d.as_object().cloned()).collect(),
            _ => Vec::new(),
        };
        for d in entries {
            let text = render_diff_colored(&d, self.renderer.palette.as_ref());
            if !text.is_empty() {
                self.flush_banner();
                self.say(&text);
            }
        }
    }

    /// `_handle_exception`: a failed result carrying a Python exception is
    /// announced before it is shown.
    fn exception(&mut self, result: &Value) {
        let Some(exc) = result.get("exception").and_then(Value::as_str) else {
            return;
        };
        let text = if self.verbosity < 3 {
            let last = exc.trim().rsplit('\n').next().unwrap_or_default();
            format!(
                "An exception occurred during task execution. To see the full traceback, use -vvv. The error was: {last}\n"
            )
        } else {
            format!("The full traceback is:\n{exc}\n")
        };
        self.show(&text, |c| &c.error);
    }

    /// A whole task's result for a host (not a loop item).
    #[allow(clippy::too_many_arguments)] // mirrors the callback's inputs one to one
    pub fn result(
        &mut self,
        host: &str,
        outcome: Outcome,
        result: &Value,
        module: &str,
        ignored: bool,
        delegated: Option<&str>,
        verbose_always: bool,
    ) {
        // The json callback leaves warnings in the result.
        if self.json.is_some() || !self.shown(outcome) {
            return;
        }
        let owned = self.take_warnings(result);
        let result = owned.as_ref().unwrap_or(result);
        // Fact gathering sets _ansible_verbose_override: never dumped.
        let verbose =
            (self.verbosity > 0 || verbose_always) && !matches!(module, "gather_facts" | "setup");
        // Delegating to the host itself is not shown (Ansible's host_label).
        let who = match delegated {
            Some(d) if d != host => format!("[{host} -> {d}]"),
            _ => format!("[{host}]"),
        };
        let line = match outcome {
            Outcome::Ok | Outcome::Changed => {
                self.diffs(result);
                let word = if outcome == Outcome::Changed {
                    "changed"
                } else {
                    "ok"
                };
                if verbose {
                    format!(
                        "{word}: {who} => {}\n",
                        self.dump_always(&clean_results(result, module), module, verbose_always)
                    )
                } else {
                    format!("{word}: {who}\n")
                }
            }
            Outcome::Skipped => {
                if self.verbosity > 0 {
                    format!("skipping: {who} => {}\n", self.dump(result, module))
                } else {
                    format!("skipping: {who}\n")
                }
            }
            Outcome::Failed => {
                self.exception(result);
                format!(
                    "fatal: {who}: FAILED! => {}\n",
                    self.dump_failed(&clean_results(result, module), module, verbose_always)
                )
            }
            Outcome::Unreachable => {
                format!(
                    "fatal: {who}: UNREACHABLE! => {}\n",
                    self.dump(result, module)
                )
            }
        };
        self.show(&line, outcome_color(outcome));
        if ignored {
            self.show("...ignoring", |c| &c.skip);
        }
        let failed = matches!(outcome, Outcome::Failed | Outcome::Unreachable) && !ignored;
        self.progress.host_done(host, failed);
        self.progress();
    }

    /// Whether a result is shown (`display_ok_hosts`,
    /// `display_skipped_hosts`); if so, the task banner is shown first.
    fn shown(&mut self, outcome: Outcome) -> bool {
        let visible = match outcome {
            Outcome::Ok => self.display_ok_hosts,
            Outcome::Skipped => self.display_skipped_hosts,
            _ => true,
        };
        if visible {
            self.flush_banner();
        }
        visible
    }

    /// One loop item's result.
    pub fn item(
        &mut self,
        host: &str,
        outcome: Outcome,
        result: &Value,
        label: &Value,
        module: &str,
        verbose_always: bool,
    ) {
        if let Some(j) = &mut self.json {
            j.item(host, result, label, verbose_always);
            return;
        }
        if !self.shown(outcome) {
            return;
        }
        let owned = self.take_warnings(result);
        let result = owned.as_ref().unwrap_or(result);
        let verbose = self.verbosity > 0 || verbose_always;
        let label = py_str(label);
        let line = match outcome {
            Outcome::Ok | Outcome::Changed => {
                self.diffs(result);
                let word = if outcome == Outcome::Changed {
                    "changed"
                } else {
                    "ok"
                };
                if verbose {
                    format!(
                        "{word}: [{host}] => (item={label}) => {}\n",
                        self.dump_always(&clean_results(result, module), module, verbose_always)
                    )
                } else {
                    format!("{word}: [{host}] => (item={label})\n")
                }
            }
            Outcome::Skipped => {
                if self.verbosity > 0 {
                    format!(
                        "skipping: [{host}] => (item={label}) => {}\n",
                        self.dump(result, module)
                    )
                } else {
                    format!("skipping: [{host}] => (item={label}) \n")
                }
            }
            Outcome::Failed | Outcome::Unreachable => {
                self.exception(result);
                format!(
                    "failed: [{host}] (item={label}) => {}\n",
                    self.dump_failed(&clean_results(result, module), module, verbose_always)
                )
            }
        };
        let pick = match outcome {
            Outcome::Unreachable => outcome_color(Outcome::Failed),
            o => outcome_color(o),
        };
        self.show(&line, pick);
    }

    /// After a loop whose items were all skipped.
    pub fn loop_skipped(&mut self, host: &str) {
        if self.shown(Outcome::Skipped) {
            self.show(&format!("skipping: [{host}]"), |c| &c.skip);
        }
    }

    /// PLAY RECAP for the hosts that processed anything (Ansible lists
    /// only hosts with counts).
    pub fn recap(&mut self, hosts: &[(String, HostStats)]) {
        let hosts: Vec<(String, HostStats)> = hosts
            .iter()
            .filter(|(_, s)| *s != HostStats::default())
            .cloned()
            .collect();
        if let Some(j) = &mut self.json {
            let text = j.finish(&hosts, &self.custom_stats);
            let _ = self.out.write_all(text.as_bytes());
            return;
        }
        let text = self.renderer.recap(&hosts);
        self.say(&text);
    }

    /// `...ignoring` after a loop whose failure was ignored.
    pub fn ignoring(&mut self) {
        self.show("...ignoring", |c| &c.skip);
    }

    /// `v2_runner_retry` (COLOR_DEBUG).
    pub fn retrying(&mut self, msg: &str) {
        self.flush_banner();
        self.show(msg, |c| &c.debug);
    }

    pub fn raw(&mut self, text: &str) {
        self.say(text);
    }

    pub fn flush(&mut self) {
        let _ = self.out.flush();
        let _ = self.err.flush();
    }
}

/// The colour of a result line of this kind.
fn outcome_color(outcome: Outcome) -> fn(&Colors) -> &str {
    match outcome {
        Outcome::Ok => |c| &c.ok,
        Outcome::Changed => |c| &c.changed,
        Outcome::Skipped => |c| &c.skip,
        Outcome::Failed => |c| &c.error,
        Outcome::Unreachable => |c| &c.unreachable,
    }
}

/// The callback's `_clean_results`: a debug result shows only what it was
/// meant to (its `msg`, or the variable it printed).
pub(crate) fn clean_results(result: &Value, module: &str) -> Value {
    if rustle_runner::modules::canonical_name(module) != "debug" {
        return result.clone();
    }
    let Value::Object(m) = result else {
        return result.clone();
    };
    let mut m = m.clone();
    if m.contains_key("msg") {
        m.retain(|k, _| {
            k.starts_with('_')
                || matches!(
                    k.as_str(),
                    "msg" | "exception" | "warnings" | "deprecations"
                )
        });
    } else {
        for k in ["changed", "failed", "skipped", "invocation", "skip_reason"] {
            m.remove(k);
        }
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn repr_like_python() {
        assert_eq!(
            py_repr(&json!({"a": 1, "b": [true, null, "x"]})),
            "{'a': 1, 'b': [True, None, 'x']}"
        );
        assert_eq!(py_str(&json!("plain")), "plain");
        assert_eq!(py_repr(&json!("it's")), "\"it's\"");
        assert_eq!(py_str(&json!({"__ansible_unsafe": "{{ x }}"})), "{{ x }}");
    }
}
