//! A PyYAML-style emitter for `to_yaml` / `to_nice_yaml` (block and flow
//! styles, PyYAML's quoting decisions, indentless sequences in mappings).

use serde_json::Value as JV;

use crate::pyrepr::float_repr;

#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Flow {
    /// `default_flow_style=None`: collections of scalars in flow style.
    Auto,
    Always,
    Never,
}

/// PyYAML's default `best_width`.
const WIDTH: usize = 80;

/// Where a block scalar is written: the column its first character lands
/// on, the indentation of continuation lines, and the line width.
#[derive(Clone, Copy)]
struct At {
    col: usize,
    cont: usize,
    width: usize,
}

fn is_scalar(v: &JV) -> bool {
    !matches!(v, JV::Array(_) | JV::Object(_))
}

fn plain_ok(s: &str, flow: bool) -> bool {
    if s.is_empty() || s.starts_with(' ') || s.ends_with(' ') {
        return false;
    }
    if !matches!(rustle_yaml::resolve_plain(s), rustle_yaml::Resolved::Str) {
        return false;
    }
    let first = s.chars().next().unwrap_or(' ');
    if "#,[]{}&*!|>'\"%@`".contains(first) {
        return false;
    }
    if "-?:".contains(first) {
        let second = s.chars().nth(1);
        if second.is_none_or(|c| c == ' ') {
            return false;
        }
    }
    if s.contains(": ") || s.contains(" #") || s.ends_with(':') {
        return false;
    }
    if flow && s.contains([',', '[', ']', '{', '}', '?']) {
        return false;
    }
    if s.chars().any(|c| {
        c == '\n'
            || c == '\t'
            || (c as u32) < 0x20
            || c == '\u{feff}'
            || (0x7f..0xa0).contains(&(c as u32))
    }) {
        return false;
    }
    if s.starts_with("---") || s.starts_with("...") {
        return false;
    }
    true
}

fn double_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if (c as u32) < 0x20 || (0x7f..0xa0).contains(&(c as u32)) => {
                out.push_str(&format!("\\x{:02X}", c as u32))
            }
            '\u{feff}' => out.push_str("\\uFEFF"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn scalar(v: &JV, flow: bool) -> String {
    match v {
        JV::Null => "null".into(),
        JV::Bool(b) => if *b { "true" } else { "false" }.into(),
        JV::Number(n) => {
            if n.is_f64() {
                let f = n.as_f64().unwrap_or(0.0);
                if f.is_nan() {
                    ".nan".into()
                } else if f.is_infinite() {
                    if f > 0.0 { ".inf" } else { "-.inf" }.into()
                } else {
                    float_repr(f)
                }
            } else {
                n.to_string()
            }
        }
        JV::String(s) => {
            if plain_ok(s, flow) {
                s.clone()
            } else if s.chars().any(|c| {
                (c as u32) < 0x20 && c != '\n'
                    || c == '\u{feff}'
                    || (0x7f..0xa0).contains(&(c as u32))
            }) || s.contains('\n')
                && (s.starts_with(' ') || s.ends_with(' ') || s.ends_with('\n'))
            {
                double_quoted(s)
            } else if s.contains('\n') {
                // single-quoted, line breaks doubled
                let body = s.replace('\'', "''").replace('\n', "\n\n");
                format!("'{body}'")
            } else {
                format!("'{}'", s.replace('\'', "''"))
            }
        }
        _ => String::new(),
    }
}

fn flow_repr(v: &JV) -> String {
    match v {
        JV::Array(a) => format!(
            "[{}]",
            a.iter().map(flow_repr).collect::<Vec<_>>().join(", ")
        ),
        JV::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}: {}", scalar(&JV::String(k.clone()), true), flow_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        s => scalar(s, true),
    }
}

fn sorted(m: &serde_json::Map<String, JV>, sort: bool) -> Vec<(&String, &JV)> {
    let mut v: Vec<(&String, &JV)> = m.iter().collect();
    if sort {
        v.sort_by(|a, b| a.0.cmp(b.0));
    }
    v
}

fn sort_rec(v: &JV, sort: bool) -> JV {
    match v {
        JV::Object(m) => JV::Object(
            sorted(m, sort)
                .into_iter()
                .map(|(k, v)| (k.clone(), sort_rec(v, sort)))
                .collect(),
        ),
        JV::Array(a) => JV::Array(a.iter().map(|x| sort_rec(x, sort)).collect()),
        o => o.clone(),
    }
}

fn use_flow(v: &JV, mode: Flow) -> bool {
    match mode {
        Flow::Always => true,
        Flow::Never => false,
        Flow::Auto => match v {
            JV::Array(a) => a.iter().all(is_scalar),
            JV::Object(m) => m.values().all(is_scalar),
            _ => true,
        },
    }
}

fn empty_coll(v: &JV) -> bool {
    matches!(v, JV::Array(a) if a.is_empty()) || matches!(v, JV::Object(m) if m.is_empty())
}

fn block(v: &JV, indent: usize, level: usize, mode: Flow, width: usize, out: &mut String) {
    let pad = " ".repeat(level);
    match v {
        JV::Object(m) => {
            for (k, val) in m {
                out.push_str(&pad);
                let key = scalar(&JV::String(k.clone()), false);
                out.push_str(&key);
                out.push(':');
                let at = At {
                    col: level + key.chars().count() + 2,
                    cont: level + indent,
                    width,
                };
                emit_child(val, indent, level, mode, true, at, out);
            }
        }
        JV::Array(a) => {
            for val in a {
                out.push_str(&pad);
                out.push('-');
                if !is_scalar(val) && !empty_coll(val) && !use_flow(val, mode) {
                    // first entry on the dash line
                    let mut inner = String::new();
                    block(val, indent, level + indent, mode, width, &mut inner);
                    out.push_str(&" ".repeat(indent - 1));
                    out.push_str(inner.trim_start());
                } else {
                    out.push(' ');
                    let at = At {
                        col: level + 2,
                        cont: level + indent,
                        width,
                    };
                    out.push_str(&inline(val, mode, at));
                    out.push('\n');
                }
            }
        }
        s => {
            out.push_str(&pad);
            out.push_str(&scalar(s, false));
            out.push('\n');
        }
    }
}

fn inline(v: &JV, _mode: Flow, at: At) -> String {
    if is_scalar(v) {
        fold(v, at)
    } else {
        flow_repr(v)
    }
}

/// Writes a scalar in block context the way PyYAML's emitter does, folding
/// plain and single-quoted text at single spaces once past the width.
fn fold(v: &JV, at: At) -> String {
    let text = scalar(v, false);
    match v {
        JV::String(s) if text.starts_with('\'') => write_single_quoted(s, at),
        JV::String(s) if text == *s => write_plain(s, at),
        _ => text,
    }
}

fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// PyYAML `Emitter.write_plain` (for text without line breaks).
fn write_plain(text: &str, at: At) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut column = at.col;
    let (mut spaces, mut start) = (false, 0);
    for end in 0..=chars.len() {
        let ch = chars.get(end).copied();
        if spaces {
            if ch != Some(' ') {
                if start + 1 == end && column > at.width {
                    out.push('\n');
                    out.push_str(&" ".repeat(at.cont));
                    column = at.cont;
                } else {
                    out.extend(&chars[start..end]);
                    column += end - start;
                }
                start = end;
            }
        } else if ch.is_none_or(|c| c == ' ' || is_break(c)) {
            out.extend(&chars[start..end]);
            column += end - start;
            start = end;
        }
        spaces = ch == Some(' ');
    }
    out
}

/// PyYAML `Emitter.write_single_quoted`.
fn write_single_quoted(text: &str, at: At) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::from("'");
    let mut column = at.col + 1;
    let indent = |out: &mut String, column: &mut usize| {
        out.push('\n');
        out.push_str(&" ".repeat(at.cont));
        *column = at.cont;
    };
    let (mut spaces, mut breaks, mut start) = (false, false, 0);
    for end in 0..=chars.len() {
        let ch = chars.get(end).copied();
        if spaces {
            if ch != Some(' ') {
                if start + 1 == end && column > at.width && start != 0 && end != chars.len() {
                    indent(&mut out, &mut column);
                } else {
                    out.extend(&chars[start..end]);
                    column += end - start;
                }
                start = end;
            }
        } else if breaks {
            if ch.is_none_or(|c| !is_break(c)) {
                if chars[start] == '\n' {
                    out.push('\n');
                }
                for &br in &chars[start..end] {
                    out.push(if br == '\n' { '\n' } else { br });
                }
                out.push_str(&" ".repeat(at.cont));
                column = at.cont;
                start = end;
            }
        } else if ch.is_none_or(|c| c == ' ' || is_break(c) || c == '\'') && start < end {
            out.extend(&chars[start..end]);
            column += end - start;
            start = end;
        }
        if ch == Some('\'') {
            out.push_str("''");
            column += 2;
            start = end + 1;
        }
        if let Some(c) = ch {
            spaces = c == ' ';
            breaks = is_break(c);
        }
    }
    out.push('\'');
    out
}

fn emit_child(
    val: &JV,
    indent: usize,
    level: usize,
    mode: Flow,
    in_map: bool,
    at: At,
    out: &mut String,
) {
    if is_scalar(val) || empty_coll(val) || use_flow(val, mode) {
        out.push(' ');
        out.push_str(&inline(val, mode, at));
        out.push('\n');
    } else {
        out.push('\n');
        let child_level = match val {
            JV::Array(_) if in_map => level, // indentless sequence
            _ => level + indent,
        };
        block(val, indent, child_level, mode, at.width, out);
    }
}

/// `yaml.dump(v, Dumper=AnsibleDumper, indent=…, default_flow_style=…)`.
pub(crate) fn dump(v: &JV, indent: usize, mode: Flow, sort: bool, width: Option<usize>) -> String {
    let v = sort_rec(v, sort);
    let indent = indent.clamp(2, 9);
    // PyYAML ignores a width not above twice the indent.
    let width = width.filter(|w| *w > indent * 2).unwrap_or(WIDTH);
    if is_scalar(&v) {
        return format!("{}\n", scalar(&v, false));
    }
    if empty_coll(&v) || use_flow(&v, mode) {
        return format!("{}\n", flow_repr(&v));
    }
    let mut out = String::new();
    block(&v, indent, 0, mode, width, &mut out);
    out
}
