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
