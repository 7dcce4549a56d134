//! Ansible's `k=v` argument splitting (`split_args`, `parse_kv`): quotes
//! and Jinja2 blocks keep their spaces; `\=` escapes an equals sign.

use serde_json::{Map, Value};

/// Options of command-like modules that stay options in free-form text.
const RAW_OPTIONS: &[&str] = &[
    "creates",
    "removes",
    "chdir",
    "executable",
    "warn",
    "stdin",
    "stdin_add_newline",
    "strip_empty_ends",
];

/// Splits on whitespace, keeping quoted strings and Jinja2 blocks whole
/// and newlines as their own separators.
pub fn split_args(args: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut depth_print = 0i32; // {{ }}
    let mut depth_block = 0i32; // {% %}
    let mut depth_comment = 0i32; // {# #}
    let chars: Vec<char> = args.chars().collect();
    let mut i = 0;
    let mut pending_newline = false;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let inside = quote.is_some() || depth_print > 0 || depth_block > 0 || depth_comment > 0;
        if !inside && (c == ' ' || c == '\t' || c == '\n') {
            if !cur.is_empty() {
                if pending_newline {
                    out.push(format!("\n{cur}"));
                } else {
                    out.push(std::mem::take(&mut cur));
                }
                cur.clear();
                pending_newline = false;
            }
            if c == '\n' && !out.is_empty() {
                pending_newline = true;
            }
            i += 1;
            continue;
        }
        match (c, next) {
            ('{', Some('{')) => {
                depth_print += 1;
                cur.push_str("{{");
                i += 2;
                continue;
            }
            ('}', Some('}')) if depth_print > 0 => {
                depth_print -= 1;
                cur.push_str("}}");
                i += 2;
                continue;
            }
            ('{', Some('%')) => {
                depth_block += 1;
                cur.push_str("{%");
                i += 2;
                continue;
            }
            ('%', Some('}')) if depth_block > 0 => {
                depth_block -= 1;
                cur.push_str("%}");
                i += 2;
                continue;
            }
            ('{', Some('#')) => {
                depth_comment += 1;
                cur.push_str("{#");
                i += 2;
                continue;
            }
            ('#', Some('}')) if depth_comment > 0 => {
                depth_comment -= 1;
                cur.push_str("#}");
                i += 2;
                continue;
            }
            _ => {}
        }
        if depth_print == 0 && depth_block == 0 && depth_comment == 0 {
            if let Some(q) = quote {
                if c == q && (i == 0 || chars[i - 1] != '\\') {
                    quote = None;
                }
            } else if (c == '"' || c == '\'') && (i == 0 || chars[i - 1] != '\\') {
                quote = Some(c);
            }
        }
        cur.push(c);
        i += 1;
    }
    if quote.is_some() || depth_print > 0 || depth_block > 0 || depth_comment > 0 {
        return Err(format!(
            "failed at splitting arguments, either an unbalanced jinja2 block or quotes: {args}"
        ));
    }
    if !cur.is_empty() {
        if pending_newline {
            out.push(format!("\n{cur}"));
        } else {
            out.push(cur);
        }
    }
    Ok(out)
}

/// Removes one level of matching outer quotes.
pub fn unquote(s: &str) -> String {
    let b = s.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        s[1..s.len() - 1].to_owned()
    } else {
        s.to_owned()
    }
}

fn join_args(parts: &[String]) -> String {
    let mut out = String::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 && !p.starts_with('\n') {
            out.push(' ');
        }
        out.push_str(p);
    }
    out
}

/// `parse_kv`: `k=v` pairs become options (values unquoted, always
/// strings); the rest becomes `_raw_params`. With `check_raw` (command-like
/// modules), only the known command options are taken from `k=v`.
pub fn parse_kv(args: &str, check_raw: bool) -> Result<Map<String, Value>, String> {
    let mut options = Map::new();
    let mut raw: Vec<String> = Vec::new();
    for orig in split_args(args)? {
        // Values are read with Python escapes decoded (`\n`, `\t`, `\x41`,
        // ...); free-form words keep them as written.
        let decoded = decode_escapes(&orig);
        let x = decoded.trim_start_matches('\n');
        let eq = find_unescaped_eq(x);
        match eq {
            Some(pos) => {
                let k = &x[..pos];
                let v = &x[pos + 1..];
                if check_raw && !RAW_OPTIONS.contains(&k) {
                    raw.push(orig.clone());
                } else {
                    options.insert(k.trim().to_owned(), Value::String(unquote(v.trim())));
                }
            }
            None => {
                if x.contains("\\=") {
                    raw.push(x.replace("\\=", "="));
                } else {
                    raw.push(orig.clone());
                }
            }
        }
    }
    if !raw.is_empty() {
        options.insert("_raw_params".into(), Value::String(join_args(&raw)));
    }
    Ok(options)
}

/// Ansible's `_decode_escapes`: `\UXXXXXXXX`, `\uXXXX`, `\xXX` and the
/// single-character escapes `\\ \' \" \a \b \f \n \r \t \v` become the
/// characters they name; anything else is kept.
pub fn decode_escapes(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != '\\' || i + 1 >= chars.len() {
            out.push(c);
            i += 1;
            continue;
        }
        let next = chars[i + 1];
        let simple = match next {
            '\\' => Some('\\'),
            '\'' => Some('\''),
            '"' => Some('"'),
            'a' => Some('\u{7}'),
            'b' => Some('\u{8}'),
            'f' => Some('\u{c}'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\u{b}'),
            _ => None,
        };
        if let Some(ch) = simple {
            out.push(ch);
            i += 2;
            continue;
        }
        let width = match next {
            'U' => 8,
            'u' => 4,
            'x' => 2,
            _ => 0,
        };
        if width > 0 && i + 2 + width <= chars.len() {
            let hex: String = chars[i + 2..i + 2 + width].iter().collect();
            if hex.chars().all(|h| h.is_ascii_hexdigit()) {
                if let Some(ch) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    out.push(ch);
                    i += 2 + width;
                    continue;
                }
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

fn find_unescaped_eq(x: &str) -> Option<usize> {
    // Ansible searches from index 1: a leading '=' is not a separator.
    let b = x.as_bytes();
    (1..b.len()).find(|&i| b[i] == b'=' && b[i - 1] != b'\\')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_ansible() {
        assert_eq!(
            split_args("a=b c=\"d e\" {{ x y }}").unwrap(),
            vec!["a=b", "c=\"d e\"", "{{ x y }}"]
        );
        assert!(split_args("a='b").is_err());
    }

    #[test]
    fn escapes_decoded_in_values() {
        let m = parse_kv(r#"content="a\nb\t\x41\u00e9" dest=/x"#, false).unwrap();
        assert_eq!(m["content"], "a\nb\tA\u{e9}");
        assert_eq!(decode_escapes(r"keep \d and \\"), "keep \\d and \\");
        // Free-form words keep their escapes.
        let m = parse_kv(r"printf a\nb", true).unwrap();
        assert_eq!(m["_raw_params"], r"printf a\nb");
    }

    #[test]
    fn kv() {
        let m = parse_kv("echo hi creates=/tmp/x chdir=/tmp", true).unwrap();
        assert_eq!(m["_raw_params"], "echo hi");
        assert_eq!(m["creates"], "/tmp/x");
        assert_eq!(m["chdir"], "/tmp");
        let m = parse_kv("src=a dest='/tmp/b c' mode=0644", false).unwrap();
        assert_eq!(m["dest"], "/tmp/b c");
        assert_eq!(m["mode"], "0644");
        let m = parse_kv("echo a=b", true).unwrap();
        assert_eq!(m["_raw_params"], "echo a=b");
    }
}
