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
    // textwrap's break_on_hyphens: a word also splits after a hyphen
    // preceded by two letters (or letter, hyphen, letter) and followed
    // by a letter, an optional hyphen and a letter.
    let chunks: Vec<String> = chunks
        .into_iter()
        .flat_map(|c| {
            if c.starts_with(' ') {
                vec![c]
            } else {
                split_hyphens(&c)
            }
        })
        .collect();
    let mut chunks = chunks;
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
                // _handle_long_word: at the last hyphen that fits, if any.
                let wc: Vec<char> = word.chars().collect();
                let mut end = room;
                if wc.len() > room {
                    if let Some(h) = wc[..room].iter().rposition(|c| *c == '-') {
                        if h > 0 && wc[..h].iter().any(|c| *c != '-') {
                            end = h + 1;
                        }
                    }
                }
                let head: String = wc[..end].iter().collect();
                let tail: String = wc[end..].iter().collect();
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

/// Splits a word where Python's `textwrap` (`wordsep_re`) may break it
/// after a hyphen.
fn split_hyphens(word: &str) -> Vec<String> {
    let cs: Vec<char> = word.chars().collect();
    let letter = |i: usize| cs.get(i).is_some_and(|c| c.is_alphabetic() || *c == '_');
    let mut out = Vec::new();
    let mut start = 0;
    for i in 0..cs.len() {
        if cs[i] != '-' || i == 0 {
            continue;
        }
        let behind = (i >= 2 && letter(i - 1) && letter(i - 2))
            || (i >= 3 && letter(i - 1) && cs[i - 2] == '-' && letter(i - 3));
        let ahead =
            letter(i + 1) && (letter(i + 2) || (cs.get(i + 2) == Some(&'-') && letter(i + 3)));
        if behind && ahead && i + 1 > start {
            out.push(cs[start..=i].iter().collect());
            start = i + 1;
        }
    }
    if start < cs.len() {
        out.push(cs[start..].iter().collect());
    }
    out
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

    /// `Display.error(msg, wrap_text=False)` text: `ERROR! msg`, in the
    /// error colour (without the final newline).
    pub fn error(&self, msg: &str) -> String {
        let text = format!("ERROR! {msg}");
        match &self.colors {
            Some(c) => stringc(&text, &c.error),
            None => text,
        }
    }

    /// `Display.error` for a wrapped message (without the final newline).
    pub fn error_wrapped(&self, msg: &str) -> String {
        let text = error_text(msg);
        match &self.colors {
            Some(c) => stringc(&text, &c.error),
            None => text,
        }
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

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wraps_like_textwrap_with_hyphens() {
        // Expected texts from Python's textwrap.wrap(text, 79).
        assert_eq!(
            wrap(&"[WARNING]: aaa-bbb-ccc ".repeat(9), 79),
            "[WARNING]: aaa-bbb-ccc [WARNING]: aaa-bbb-ccc [WARNING]: aaa-bbb-ccc [WARNING]:\naaa-bbb-ccc [WARNING]: aaa-bbb-ccc [WARNING]: aaa-bbb-ccc [WARNING]: aaa-bbb-\nccc [WARNING]: aaa-bbb-ccc [WARNING]: aaa-bbb-ccc"
        );
        assert_eq!(
            wrap(&format!("{} abc-def-ghi-jkl-mno-pqr", "x".repeat(70)), 79),
            format!("{} abc-def-\nghi-jkl-mno-pqr", "x".repeat(70))
        );
        assert_eq!(
            wrap(
                &format!(
                    "{}{}-{}",
                    "word ".repeat(10),
                    "a".repeat(50),
                    "b".repeat(40)
                ),
                79
            ),
            format!(
                "{}\n{}-\n{}",
                "word ".repeat(10).trim_end(),
                "a".repeat(50),
                "b".repeat(40)
            )
        );
    }
}
