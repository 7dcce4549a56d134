//! Python `re` patterns and replacement templates on top of fancy-regex,
//! for the modules whose arguments are Python regular expressions
//! (`lineinfile`, `blockinfile`, `replace`, `assemble`, `ini_file`).
//!
//! The pattern is translated before compiling:
//! - `$` without MULTILINE matches at the end *or before a final newline*
//!   in Python; it becomes `(?=\n?\z)`. With MULTILINE both engines agree.
//! - `\Z` (Python's end of text) becomes `\z`; `(?P=name)` becomes
//!   `\k<name>`; `{,n}` becomes `{0,n}`; a `{` that does not start a
//!   quantifier is a literal, as in Python.
//! - Escaped punctuation (`\.`, `\<`, `\-`, ...) is always a literal in
//!   Python, so it is emitted as a hex escape (`\<` is a word boundary in
//!   the regex crate); a `[` inside a class is a literal too (no nested
//!   classes or set operations in Python).
//!
//! What still differs: the regex crate's Unicode classes (`\w`, `\d`, `\s`)
//! are Unicode-aware even where Python matches bytes (lineinfile and
//! blockinfile compile byte patterns, where they are ASCII-only); octal
//! escapes in patterns, `(?#...)` comments and conditional groups
//! (`(?(1)a|b)`) are not supported; look-behind must have a bounded width;
//! error messages for invalid patterns are the engine's, not Python's.

use fancy_regex::{Captures, Regex};

/// Compile-time options, as Python's `re` flags.
#[derive(Debug, Clone, Copy, Default)]
pub struct Flags {
    pub multiline: bool,
    pub dotall: bool,
    /// `re.match` rather than `re.search`: only at the start of the text.
    pub anchored: bool,
}

/// A compiled Python pattern.
#[derive(Debug)]
pub struct PyRegex {
    re: Regex,
}

/// Whether the pattern's leading inline flags (`(?im)`) include `flag`.
pub fn inline_flag(pat: &str, flag: char) -> bool {
    let Some(rest) = pat.strip_prefix("(?") else {
        return false;
    };
    let flags: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    rest[flags.len()..].starts_with(')') && flags.contains(flag)
}

/// Length in chars of a valid quantifier starting at `{` (`{3}`, `{2,}`,
/// `{,4}`, `{1,5}`), and its text for the regex crate.
fn quantifier(chars: &[char], at: usize) -> Option<(usize, String)> {
    let mut j = at + 1;
    let mut lo = String::new();
    while j < chars.len() && chars[j].is_ascii_digit() {
        lo.push(chars[j]);
        j += 1;
    }
    let mut hi: Option<String> = None;
    if j < chars.len() && chars[j] == ',' {
        j += 1;
        let mut h = String::new();
        while j < chars.len() && chars[j].is_ascii_digit() {
            h.push(chars[j]);
            j += 1;
        }
        hi = Some(h);
    }
    if j >= chars.len() || chars[j] != '}' {
        return None;
    }
    if lo.is_empty() && hi.as_deref().is_none_or(str::is_empty) {
        return None;
    }
    let lo = if lo.is_empty() { "0".to_owned() } else { lo };
    let text = match hi {
        None => format!("{{{lo}}}"),
        Some(h) => format!("{{{lo},{h}}}"),
    };
    Some((j - at + 1, text))
}

fn hex(c: char) -> String {
    format!("\\x{{{:X}}}", c as u32)
}

/// Translates a Python pattern into fancy-regex syntax.
pub fn translate(pat: &str, flags: Flags) -> String {
    let multiline = flags.multiline || inline_flag(pat, 'm');
    let chars: Vec<char> = pat.chars().collect();
    let mut out = String::new();
    if flags.multiline {
        out.push_str("(?m)");
    }
    if flags.dotall {
        out.push_str("(?s)");
    }
    if flags.anchored {
        out.push_str("\\A(?:");
    }
    let mut i = 0;
    let mut in_class = false;
    // Position just after a class's opening `[` / `[^` (where `]` is literal).
    let mut class_start = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                let Some(&n) = chars.get(i + 1) else {
                    out.push_str("\\\\");
                    i += 1;
                    continue;
                };
                match n {
                    'Z' if !in_class => out.push_str("\\z"),
                    'a' => out.push_str("\\x07"),
                    '0' => out.push_str("\\x00"),
                    n if n.is_ascii_alphanumeric() => {
                        out.push('\\');
                        out.push(n);
                    }
                    n => out.push_str(&hex(n)),
                }
                i += 2;
            }
            '[' if in_class => {
                out.push_str(&hex('['));
                i += 1;
            }
            '&' | '~' if in_class => {
                out.push_str(&hex(c));
                i += 1;
            }
            '[' => {
                in_class = true;
                out.push('[');
                i += 1;
                if chars.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                class_start = i;
            }
            ']' if in_class && i != class_start => {
                in_class = false;
                out.push(']');
                i += 1;
            }
            ']' => {
                out.push_str(&hex(']'));
                i += 1;
            }
            '$' if !in_class && !multiline => {
                out.push_str("(?=\\n?\\z)");
                i += 1;
            }
            '{' if !in_class => match quantifier(&chars, i) {
                Some((len, text)) => {
                    out.push_str(&text);
                    i += len;
                }
                None => {
                    out.push_str("\\{");
                    i += 1;
                }
            },
            '}' if !in_class => {
                out.push_str("\\}");
                i += 1;
            }
            '(' if !in_class && chars[i..].starts_with(&['(', '?', 'P', '=']) => {
                let rest: String = chars[i + 4..].iter().collect();
                match rest.find(')') {
                    Some(end) => {
                        out.push_str(&format!("\\k<{}>", &rest[..end]));
                        i += 4 + rest[..end].chars().count() + 1;
                    }
                    None => {
                        out.push('(');
                        i += 1;
                    }
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    if flags.anchored {
        out.push(')');
    }
    out
}

impl PyRegex {
    pub fn new(pat: &str, flags: Flags) -> Result<Self, String> {
        Regex::new(&translate(pat, flags))
            .map(|re| PyRegex { re })
            .map_err(|e| e.to_string())
    }

    /// The names of the pattern's named groups, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.re.capture_names().flatten()
    }

    /// `re.search` (or `re.match` when compiled anchored).
    pub fn search<'t>(&self, text: &'t str) -> Option<Captures<'t>> {
        self.re.captures(text).ok().flatten()
    }

    /// `re.subn(pattern, template, text)`: the new text and the number of
    /// replacements. Empty matches follow Python 3.7+: an empty match right
    /// after a non-empty one is replaced too.
    pub fn subn(&self, template: &str, text: &str) -> Result<(String, usize), String> {
        let tpl = Template::parse(template, self.re.captures_len())?;
        let mut out = String::new();
        let mut pos = 0;
        let mut last = 0;
        let mut n = 0;
        let mut must_advance = false;
        while pos <= text.len() {
            let caps = match self.re.captures_from_pos(text, pos) {
                Ok(Some(c)) => c,
                Ok(None) => break,
                Err(e) => return Err(e.to_string()),
            };
            let Some(m) = caps.get(0) else { break };
            if must_advance && m.start() == m.end() && m.start() == pos {
                // Python never matches empty twice at one position.
                match text[pos..].chars().next() {
                    Some(ch) => {
                        pos += ch.len_utf8();
                        must_advance = false;
                        continue;
                    }
                    None => break,
                }
            }
            out.push_str(&text[last..m.start()]);
            out.push_str(&tpl.expand(&caps));
            n += 1;
            last = m.end();
            pos = m.end();
            must_advance = m.start() == m.end();
            if must_advance && pos >= text.len() {
                break;
            }
        }
        out.push_str(&text[last..]);
        Ok((out, n))
    }
}

/// One piece of a replacement template.
#[derive(Debug)]
enum Piece {
    Lit(String),
    Group(usize),
    Named(String),
}

/// A parsed Python replacement template (`\1`, `\g<1>`, `\g<name>`,
/// escapes), as `re.sub` and `Match.expand` read it.
#[derive(Debug)]
pub struct Template(Vec<Piece>);

impl Template {
    /// Parses `tpl`; `groups` is the pattern's number of groups plus one.
    pub fn parse(tpl: &str, groups: usize) -> Result<Self, String> {
        let chars: Vec<char> = tpl.chars().collect();
        let mut pieces = Vec::new();
        let mut lit = String::new();
        let mut i = 0;
        let flush = |lit: &mut String, pieces: &mut Vec<Piece>| {
            if !lit.is_empty() {
                pieces.push(Piece::Lit(std::mem::take(lit)));
            }
        };
        let group_ref = |idx: usize, at: usize| {
            if idx >= groups {
                Err(format!("invalid group reference {idx} at position {at}"))
            } else {
                Ok(Piece::Group(idx))
            }
        };
        while i < chars.len() {
            let c = chars[i];
            if c != '\\' {
                lit.push(c);
                i += 1;
                continue;
            }
            let Some(&n) = chars.get(i + 1) else {
                return Err(format!("bad escape (end of pattern) at position {i}"));
            };
            match n {
                'g' => {
                    if chars.get(i + 2) != Some(&'<') {
                        return Err(format!("missing < at position {}", i + 2));
                    }
                    let rest: String = chars[i + 3..].iter().collect();
                    let Some(end) = rest.find('>') else {
                        return Err(format!(
                            "missing >, unterminated name at position {}",
                            i + 3
                        ));
                    };
                    let name = &rest[..end];
                    flush(&mut lit, &mut pieces);
                    if !name.is_empty() && name.chars().all(|c| c.is_ascii_digit()) {
                        let idx: usize = name.parse().map_err(|_| "bad group".to_owned())?;
                        pieces.push(group_ref(idx, i + 3)?);
                    } else if name.is_empty() {
                        return Err(format!("missing group name at position {}", i + 3));
                    } else {
                        pieces.push(Piece::Named(name.to_owned()));
                    }
                    i += 3 + name.chars().count() + 1;
                }
                '0' => {
                    // Octal escape, up to three digits.
                    let mut j = i + 1;
                    let mut digits = String::new();
                    while j < chars.len() && digits.len() < 3 && chars[j].is_digit(8) {
                        digits.push(chars[j]);
                        j += 1;
                    }
                    let code = u32::from_str_radix(&digits, 8).unwrap_or(0);
                    lit.push(char::from_u32(code).unwrap_or('\0'));
                    i = j;
                }
                d if d.is_ascii_digit() => {
                    let mut this = d.to_string();
                    let mut j = i + 2;
                    if chars.get(j).is_some_and(char::is_ascii_digit) {
                        this.push(chars[j]);
                        j += 1;
                        if this.chars().all(|c| c.is_digit(8))
                            && chars.get(j).is_some_and(|c| c.is_digit(8))
                        {
                            this.push(chars[j]);
                            j += 1;
                            let code = u32::from_str_radix(&this, 8).unwrap_or(0);
                            if code > 0o377 {
                                return Err(format!(
                                    "octal escape value \\{this} outside of range 0-0o377 at position {i}"
                                ));
                            }
                            lit.push(char::from_u32(code).unwrap_or('\0'));
                            i = j;
                            continue;
                        }
                    }
                    flush(&mut lit, &mut pieces);
                    pieces.push(group_ref(this.parse().unwrap_or(0), i + 1)?);
                    i = j;
                }
                'a' | 'b' | 'f' | 'n' | 'r' | 't' | 'v' | '\\' => {
                    lit.push(match n {
                        'a' => '\x07',
                        'b' => '\x08',
                        'f' => '\x0c',
                        'n' => '\n',
                        'r' => '\r',
                        't' => '\t',
                        'v' => '\x0b',
                        _ => '\\',
                    });
                    i += 2;
                }
                n if n.is_ascii_alphabetic() => {
                    return Err(format!("bad escape \\{n} at position {i}"));
                }
                n => {
                    lit.push('\\');
                    lit.push(n);
                    i += 2;
                }
            }
        }
        flush(&mut lit, &mut pieces);
        Ok(Template(pieces))
    }

    /// The template with the match's groups filled in (unmatched: empty).
    pub fn expand(&self, caps: &Captures<'_>) -> String {
        let mut out = String::new();
        for p in &self.0 {
            match p {
                Piece::Lit(s) => out.push_str(s),
                Piece::Group(i) => out.push_str(caps.get(*i).map_or("", |m| m.as_str())),
                Piece::Named(n) => out.push_str(caps.name(n).map_or("", |m| m.as_str())),
            }
        }
        out
    }
}

/// `Match.expand(template)`.
pub fn expand(caps: &Captures<'_>, template: &str) -> Result<String, String> {
    Ok(Template::parse(template, caps.len())?.expand(caps))
}

/// `re.escape`: the text as a pattern matching it literally.
pub fn escape(text: &str) -> String {
    fancy_regex::escape(text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn re(p: &str) -> PyRegex {
        PyRegex::new(p, Flags::default()).unwrap_or_else(|e| panic!("{p}: {e}"))
    }

    #[test]
    fn dollar_matches_before_final_newline() {
        assert!(re("^foo$").search("foo\n").is_some());
        assert!(re("^foo$").search("foo\nbar").is_none());
        let m = PyRegex::new(
            "^b$",
            Flags {
                multiline: true,
                ..Flags::default()
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(m.search("a\nb\nc").is_some());
    }

    #[test]
    fn python_syntax() {
        assert!(re(r"(?P<x>a)(?P=x)").search("aa").is_some());
        assert!(re(r"a{").search("a{").is_some());
        assert!(re(r"x{,2}y").search("xxy").is_some());
        assert!(re(r"\<a\>").search("<a>").is_some());
        assert!(re(r"[[]").search("[").is_some());
        assert!(re(r"[]a]").search("]").is_some());
        assert!(re(r"a\Z").search("a\n").is_none());
        assert!(re(r"\.").search("x").is_none());
    }

    #[test]
    fn templates() -> Result<(), String> {
        let r = re(r"(\w+)=(?P<v>\w+)");
        let (s, n) = r.subn(r"\2:\g<1>:\g<v>\n", "a=b c=d")?;
        assert_eq!((s.as_str(), n), ("b:a:b\n d:c:d\n", 2));
        assert_eq!(
            r.subn(r"\3", "a=b").err().as_deref(),
            Some("invalid group reference 3 at position 1")
        );
        assert_eq!(
            r.subn(r"\q", "a=b").err().as_deref(),
            Some("bad escape \\q at position 0")
        );
        assert_eq!(r.subn(r"\.", "a=b")?.0, "\\.");
        Ok(())
    }

    #[test]
    fn empty_matches_as_python() -> Result<(), String> {
        assert_eq!(re("x*").subn("-", "abxd")?.0, "-a-b--d-");
        assert_eq!(re("").subn("-", "ab")?.0, "-a-b-");
        let m = PyRegex::new(
            "^",
            Flags {
                multiline: true,
                ..Flags::default()
            },
        )?;
        assert_eq!(m.subn("# ", "a\nb\n")?, ("# a\n# b\n# ".to_owned(), 3));
        Ok(())
    }
}
