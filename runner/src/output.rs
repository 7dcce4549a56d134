//! Ansible's default stdout callback, rendered to text.
//!
//! Library code never prints: the renderer returns the text, and the
//! binary decides where it goes.

use serde_json::{Map, Value};

use crate::engine::{Event, HostStats, Status};
use crate::pyjson;

/// Width Ansible uses when stdout is not a terminal (`max(79, cols - 1)`).
pub const DEFAULT_COLUMNS: usize = 79;

/// `display.banner()`: the message, a space, then stars to the width.
pub fn banner(msg: &str, columns: usize) -> String {
    let msg = msg.trim();
    let width = msg.chars().count();
    let stars = columns.saturating_sub(width).max(3);
    format!("\n{} {}\n", msg, "*".repeat(stars))
}

/// Ansible's `stringc`: each line of `text` wrapped in the SGR code
/// (`0;32`).
pub fn stringc(text: &str, code: &str) -> String {
    text.split('\n')
        .map(|t| format!("\x1b[{code}m{t}\x1b[0m"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The colours (SGR parameter strings) the recap and diffs use when the
/// output is coloured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Palette {
    pub ok: String,
    pub changed: String,
    pub unreachable: String,
    pub error: String,
    pub skip: String,
    pub warn: String,
    pub diff_add: String,
    pub diff_remove: String,
    pub diff_lines: String,
}

/// Renders events the way `ansible-playbook`'s default callback does.
#[derive(Debug, Clone)]
pub struct Renderer {
    pub verbosity: u8,
    pub diff: bool,
    pub columns: usize,
    /// Colours, when the output is coloured.
    pub palette: Option<Palette>,
}

fn verbose_always(module: &str) -> bool {
    // The debug action marks its results `_ansible_verbose_always`.
    matches!(crate::modules::canonical_name(module), "debug")
}

impl Renderer {
    pub fn new(verbosity: u8, diff: bool) -> Self {
        Renderer {
            verbosity,
            diff,
            columns: DEFAULT_COLUMNS,
            palette: None,
        }
    }

    /// `_dump_results`: drop internal keys, sort, indent when verbose.
    pub fn dump_result(&self, result: &Value, module: &str) -> String {
        self.dump_result_with(result, module, verbose_always(module))
    }

    /// As [`Renderer::dump_result`], for a result marked
    /// `_ansible_verbose_always` (indented, like debug's).
    pub fn dump_result_with(&self, result: &Value, module: &str, always: bool) -> String {
        self.dump_result_exact(result, module, always || verbose_always(module))
    }

    /// As [`Renderer::dump_result_with`], but `always` alone says whether
    /// the result carries `_ansible_verbose_always`: a debug task that
    /// failed before its action ran (a templating error) has no such mark
    /// and is shown on one line.
    pub fn dump_result_exact(&self, result: &Value, module: &str, always: bool) -> String {
        let skipped = result.get("skipped").and_then(Value::as_bool) == Some(true);
        let mut m = match result {
            Value::Object(m) => m.clone(),
            other => return pyjson::dumps(other, None),
        };
        m.retain(|k, _| !k.starts_with("_ansible_"));
        // TaskResult.clean_copy(): the callback never shows these two.
        m.remove("failed");
        m.remove("skipped");
        if self.verbosity < 3 {
            m.remove("invocation");
            m.remove("diff");
        }
        m.remove("exception");
        if verbose_always(module) {
            // _clean_results for debug: a `msg` is shown alone (loop items
            // and `changed` included are dropped); for `var` only the
            // status keys go.
            if m.contains_key("msg") {
                m.retain(|k, _| {
                    matches!(
                        k.as_str(),
                        "msg" | "exception" | "warnings" | "deprecations"
                    ) || k.starts_with('_')
                });
            } else {
                for k in ["changed", "invocation", "skip_reason"] {
                    m.remove(k);
                }
            }
        }
        // Only results marked `_ansible_verbose_always` (debug's own, not
        // a debug task that failed while templating) are indented.
        let indent = if self.verbosity > 2 || (always && !skipped) {
            Some(4)
        } else {
            None
        };
        pyjson::dumps(&Value::Object(m), indent)
    }

    /// Text for one event (possibly empty).
    pub fn render(&self, ev: &Event) -> String {
        match ev {
            Event::PlayStart { name } => {
                let title = if name.trim().is_empty() {
                    "PLAY".to_owned()
                } else {
                    format!("PLAY [{}]", name.trim())
                };
                banner(&title, self.columns)
            }
            Event::TaskStart {
                name,
                module,
                handler,
            } => {
                let shown = if name.is_empty() { module } else { name };
                let kind = if *handler { "RUNNING HANDLER" } else { "TASK" };
                banner(&format!("{kind} [{}]", shown.trim()), self.columns)
            }
            Event::TaskDone {
                host,
                module,
                status,
                result,
                ..
            } => {
                let json = result.to_json();
                let mut out = String::new();
                if self.diff && matches!(status, Status::Changed | Status::Ok) {
                    for d in result.diffs() {
                        out.push_str(&render_diff(d));
                    }
                }
                // debug's action sets _ansible_verbose_always, except when
                // it skips for verbosity.
                let verbose =
                    self.verbosity > 0 || (verbose_always(module) && *status != Status::Skipped);
                let line = match status {
                    Status::Ok | Status::Changed => {
                        let word = if *status == Status::Changed {
                            "changed"
                        } else {
                            "ok"
                        };
                        if verbose {
                            format!("{word}: [{host}] => {}", self.dump_result(&json, module))
                        } else {
                            format!("{word}: [{host}]")
                        }
                    }
                    Status::Skipped => {
                        if verbose {
                            format!("skipping: [{host}] => {}", self.dump_result(&json, module))
                        } else {
                            format!("skipping: [{host}]")
                        }
                    }
                    Status::Failed | Status::Ignored => {
                        let mut s = format!(
                            "fatal: [{host}]: FAILED! => {}",
                            self.dump_result(&json, module)
                        );
                        if *status == Status::Ignored {
                            s.push_str("\n...ignoring");
                        }
                        s
                    }
                };
                out.push_str(&line);
                out.push('\n');
                out
            }
            Event::HostDone { .. } => String::new(),
        }
    }

    /// The PLAY RECAP block.
    pub fn recap(&self, hosts: &[(String, HostStats)]) -> String {
        let mut out = banner("PLAY RECAP", self.columns);
        let mut sorted: Vec<&(String, HostStats)> = hosts.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        for (h, s) in sorted {
            let Some(p) = &self.palette else {
                out.push_str(&format!(
                    "{:<26} : {} {} {} {} {} {} {}\n",
                    h,
                    field("ok", s.ok),
                    field("changed", s.changed),
                    field("unreachable", s.unreachable),
                    field("failed", s.failed),
                    field("skipped", s.skipped),
                    field("rescued", s.rescued),
                    field("ignored", s.ignored),
                ));
                continue;
            };
            // hostcolor() and colorize(): counts of zero stay plain.
            let host_color = if s.failed != 0 || s.unreachable != 0 {
                &p.error
            } else if s.changed != 0 {
                &p.changed
            } else {
                &p.ok
            };
            let c = |name: &str, n: u32, code: &str| {
                let f = field(name, n);
                if n == 0 {
                    f
                } else {
                    stringc(&f, code)
                }
            };
            out.push_str(&format!(
                "{:<37} : {} {} {} {} {} {} {}\n",
                stringc(h, host_color),
                c("ok", s.ok, &p.ok),
                c("changed", s.changed, &p.changed),
                c("unreachable", s.unreachable, &p.unreachable),
                c("failed", s.failed, &p.error),
                c("skipped", s.skipped, &p.skip),
                c("rescued", s.rescued, &p.ok),
                c("ignored", s.ignored, &p.warn),
            ));
        }
        out.push('\n');
        out
    }
}

fn field(name: &str, n: u32) -> String {
    format!("{name}={:<4}", n)
}

fn as_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(pyjson::dumps(other, Some(4)) + "\n"),
    }
}

/// As [`render_diff`], coloured as `_get_diff` does: each `+`, `-` and
/// `@@` line (with its newline, and a `\\ No newline` note that follows
/// it) through `stringc`.
pub fn render_diff_colored(d: &Map<String, Value>, palette: Option<&Palette>) -> String {
    let text = render_diff(d);
    let Some(p) = palette else {
        return text;
    };
    if d.get("prepared").is_some() {
        return text;
    }
    let mut out = String::new();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let code = if line.starts_with('+') {
            Some(&p.diff_add)
        } else if line.starts_with('-') {
            Some(&p.diff_remove)
        } else if line.starts_with("@@") {
            Some(&p.diff_lines)
        } else {
            None
        };
        match code {
            Some(code) => {
                let mut chunk = line.to_owned();
                if lines
                    .get(i + 1)
                    .is_some_and(|n| n.starts_with("\\ No newline"))
                {
                    chunk.push_str(lines[i + 1]);
                    i += 1;
                }
                out.push_str(&stringc(&chunk, code));
            }
            None => out.push_str(line),
        }
        i += 1;
    }
    out
}

/// Renders one `diff` entry as Ansible's callback does (unified diff).
pub fn render_diff(d: &Map<String, Value>) -> String {
    let mut out = String::new();
    if let Some(Value::String(s)) = d.get("prepared") {
        out.push_str(s);
        out.push('\n');
        return out;
    }
    let before = as_text(d.get("before"));
    let after = as_text(d.get("after"));
    if before.is_none() && after.is_none() {
        return out;
    }
    let b = before.unwrap_or_default();
    let a = after.unwrap_or_default();
    if a == b {
        return out;
    }
    let bh = d
        .get("before_header")
        .and_then(Value::as_str)
        .map_or_else(|| "before".to_owned(), |h| format!("before: {h}"));
    let ah = d
        .get("after_header")
        .and_then(Value::as_str)
        .map_or_else(|| "after".to_owned(), |h| format!("after: {h}"));
    let diff = similar::TextDiff::from_lines(&b, &a);
    let text = diff
        .unified_diff()
        .context_radius(3)
        .header(&bh, &ah)
        .to_string();
    for line in text.lines() {
        out.push_str(line);
        out.push('\n');
    }
    if !b.is_empty() && !b.ends_with('\n') || !a.is_empty() && !a.ends_with('\n') {
        out.push_str("\\ No newline at end of file\n");
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banner_is_80_wide_without_tty() {
        let b = banner("PLAY [x]", DEFAULT_COLUMNS);
        assert_eq!(b.trim_end().trim_start().chars().count(), 80);
    }

    #[test]
    fn recap_alignment() {
        let r = Renderer::new(0, false);
        let s = HostStats {
            ok: 2,
            changed: 1,
            ..Default::default()
        };
        let text = r.recap(&[("localhost".into(), s)]);
        assert!(text.contains(
            "localhost                  : ok=2    changed=1    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0   \n"
        ));
    }
}
