//! JSON text exactly as Python's `json.dumps(..., sort_keys=True)` writes
//! it, which is what Ansible's callbacks print: with `ensure_ascii=False`
//! (the default callback) or Python's default `ensure_ascii=True` (the json
//! callback, the jsonfile fact cache).

use serde_json::Value;

/// How characters outside ASCII are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Escape {
    /// `ensure_ascii=False`: as themselves.
    Unicode,
    /// `ensure_ascii=True`: everything outside ` `..`~` as `\uXXXX`
    /// (UTF-16 surrogate pairs beyond the BMP).
    Ascii,
}

/// `json.dumps(v, sort_keys=True, ensure_ascii=False, indent=indent)`.
pub fn dumps(v: &Value, indent: Option<usize>) -> String {
    let mut out = String::new();
    write(&mut out, v, indent, 0, Escape::Unicode);
    out
}

/// `json.dumps(v, sort_keys=True, indent=indent)` (ASCII output).
pub fn dumps_ascii(v: &Value, indent: Option<usize>) -> String {
    let mut out = String::new();
    write(&mut out, v, indent, 0, Escape::Ascii);
    out
}

fn write_str(out: &mut String, s: &str, esc: Escape) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if esc == Escape::Ascii && !(' '..='~').contains(&c) => {
                let mut buf = [0u16; 2];
                for u in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_num(out: &mut String, n: &serde_json::Number) {
    if let Some(f) = n.as_f64().filter(|_| n.is_f64()) {
        out.push_str(&py_float(f));
    } else {
        out.push_str(&n.to_string());
    }
}

/// Python's `repr(float)`.
pub fn py_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if f == f.trunc() && f.abs() < 1e16 {
        return format!("{f:.1}");
    }
    let s = format!("{f:?}");
    // Rust writes 1e20 / 1.5e-7; Python writes 1e+20 / 1.5e-07.
    if let Some((m, e)) = s.split_once('e') {
        let (sign, digits) = match e.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', e),
        };
        return format!("{m}e{sign}{digits:0>2}");
    }
    s
}

fn newline(out: &mut String, indent: Option<usize>, level: usize) {
    if let Some(n) = indent {
        out.push('\n');
        out.push_str(&" ".repeat(n * level));
    }
}

fn write(out: &mut String, v: &Value, indent: Option<usize>, level: usize, esc: Escape) {
    let item_sep = if indent.is_some() { "," } else { ", " };
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_num(out, n),
        Value::String(s) => write_str(out, s, esc),
        Value::Array(a) => {
            if a.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                newline(out, indent, level + 1);
                write(out, x, indent, level + 1, esc);
            }
            newline(out, indent, level);
            out.push(']');
        }
        Value::Object(m) => {
            if m.is_empty() {
                out.push_str("{}");
                return;
            }
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                newline(out, indent, level + 1);
                write_str(out, k, esc);
                out.push_str(": ");
                write(out, &m[*k], indent, level + 1, esc);
            }
            newline(out, indent, level);
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn compact_and_indented() {
        let v = json!({"b": [1, 2.5, "x"], "a": {"c": null, "d": true}});
        assert_eq!(
            dumps(&v, None),
            r#"{"a": {"c": null, "d": true}, "b": [1, 2.5, "x"]}"#
        );
        assert_eq!(
            dumps(&json!({"msg": "hi", "l": []}), Some(4)),
            "{\n    \"l\": [],\n    \"msg\": \"hi\"\n}"
        );
    }

    #[test]
    fn ascii_like_ensure_ascii() {
        assert_eq!(
            dumps_ascii(&json!({"é": "\u{1F600}\x7f~"}), None),
            "{\"\\u00e9\": \"\\ud83d\\ude00\\u007f~\"}"
        );
        assert_eq!(dumps(&json!("é"), None), "\"é\"");
    }

    #[test]
    fn floats_like_python() {
        assert_eq!(py_float(1.0), "1.0");
        assert_eq!(py_float(0.1), "0.1");
        assert_eq!(py_float(1e20), "1e+20");
        assert_eq!(py_float(1.5e-7), "1.5e-07");
    }
}
