//! Text layout shared by the commands' stderr output.

/// Python's `textwrap.wrap` as Ansible's display uses it for warnings
/// (whitespace made spaces, greedy fill, long words broken), joined.
pub fn wrap(text: &str, width: usize) -> String {
    let text: String = text
        .chars()
        .map(|c| if c.is_ascii_whitespace() { ' ' } else { c })
        .collect();
    // chunks: runs of spaces and runs of other characters
    let mut chunks: Vec<String> = Vec::new();
    for c in text.chars() {
        match chunks.last_mut() {
            Some(last) if (last.starts_with(' ')) == (c == ' ') => last.push(c),
            _ => chunks.push(c.to_string()),
        }
    }
    chunks.reverse();
    let mut lines: Vec<String> = Vec::new();
    while !chunks.is_empty() {
        let mut cur: Vec<String> = Vec::new();
        let mut len = 0;
        if !lines.is_empty() && chunks.last().is_some_and(|c| c.trim().is_empty()) {
            chunks.pop();
        }
        while let Some(c) = chunks.last() {
            let l = c.chars().count();
            if len + l <= width {
                len += l;
                cur.push(chunks.pop().unwrap_or_default());
            } else {
                break;
            }
        }
        if let Some(c) = chunks.last() {
            let room = width.saturating_sub(len);
            if c.chars().count() > width && room > 0 {
                let word = chunks.pop().unwrap_or_default();
                let head: String = word.chars().take(room).collect();
                let tail: String = word.chars().skip(room).collect();
                cur.push(head);
                chunks.push(tail);
            }
        }
        if cur.last().is_some_and(|c| c.trim().is_empty()) {
            cur.pop();
        }
        if !cur.is_empty() {
            lines.push(cur.concat());
        }
    }
    lines.join("\n")
}

/// Ansible's `Display.warning`: `[WARNING]: ` and the text wrapped to the
/// terminal width (79 columns when not a terminal).
pub fn warning_text(msg: &str) -> String {
    wrap(&format!("[WARNING]: {msg}"), 79)
}

/// Ansible's `Display.error` for a plain message: `\n[ERROR]: ` wrapped as
/// one text, so the newline becomes the leading space.
pub fn error_text(msg: &str) -> String {
    wrap(&format!("\n[ERROR]: {msg}"), 79)
}

pub use rustle_runner::output::stringc;

/// Colouring of the output: on a terminal, or when forced (see
/// `Config::color_enabled`); off, every text passes unchanged.
#[derive(Debug, Clone, Default)]
pub struct Style {
    pub colors: Option<crate::config::Colors>,
}

impl Style {
    pub fn new(enabled: bool, colors: &crate::config::Colors) -> Self {
        Style {
            colors: enabled.then(|| colors.clone()),
        }
    }

    /// The colours the runner's renderer uses (recap, diffs).
    pub fn palette(&self) -> Option<rustle_runner::output::Palette> {
        self.colors
            .as_ref()
            .map(|c| rustle_runner::output::Palette {
                ok: c.ok.clone(),
                changed: c.changed.clone(),
                unreachable: c.unreachable.clone(),
                error: c.error.clone(),
                skip: c.skip.clone(),
                warn: c.warn.clone(),
                diff_add: c.diff_add.clone(),
                diff_remove: c.diff_remove.clone(),
                diff_lines: c.diff_lines.clone(),
            })
    }

    /// `display.display(msg, color=...)`: the message (its one trailing
    /// newline aside) coloured, then a newline.
    pub fn line(&self, msg: &str, pick: fn(&crate::config::Colors) -> &str) -> String {
        let body = msg.strip_suffix('\n').unwrap_or(msg);
        match &self.colors {
            Some(c) => format!("{}\n", stringc(body, pick(c))),
            None => format!("{body}\n"),
        }
    }

    /// A `display.v()`-style line (COLOR_VERBOSE).
    pub fn verbose_line(&self, msg: &str) -> String {
        self.line(msg, |c| &c.verbose)
    }

    /// `Display.warning` text (without the final newline).
    pub fn warning(&self, msg: &str) -> String {
        let text = warning_text(msg);
        match &self.colors {
            Some(c) => stringc(&text, &c.warn),
            None => text,
        }
    }
}
