//! Host addresses and host ranges: Ansible's `parse_address` (hostnames,
//! IPv4/IPv6 with optional `:port` or `[host]:port`, with `[x:y]` ranges)
//! and `expand_hostname_range`, plus POSIX `shlex.split(comments=True)`.

use std::sync::OnceLock;

use regex::Regex;

const NUMERIC_RANGE: &str = r"\[(?:[0-9]+:[0-9]+)(?::[0-9]+)?\]";
const HEX_RANGE: &str = r"\[(?:[0-9a-f]+:[0-9a-f]+)(?::[0-9]+)?\]";
const ALNUM_RANGE: &str = r"\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]";

struct Patterns {
    bracketed_hostport: Regex,
    hostport: Regex,
    ipv4: Regex,
    ipv6: Regex,
    hostname: Regex,
}

#[allow(clippy::unwrap_used)] // constant patterns, covered by tests
fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| {
        let i6 = format!("(?:[0-9a-f]{{1,4}}|{HEX_RANGE})");
        let i4 = format!("(?:[01]?[0-9]{{1,2}}|2[0-4][0-9]|25[0-5]|{NUMERIC_RANGE})");
        // A label starts with a word character or a range and must not end
        // with '_' or '-' (Python uses a look-behind for that).
        let first = format!("(?:\\w|{ALNUM_RANGE})");
        let mid = format!("(?:[\\w-]|{ALNUM_RANGE})");
        let last = format!("(?:[^\\W_]|{ALNUM_RANGE})");
        let label = format!("(?:{last}|{first}{mid}*{last})");
        let ipv6 = [
            format!("(?:{i6}:){{7}}{i6}"),
            format!("(?:{i6}:){{1,6}}:"),
            format!("(?:{i6}:)(?::{i6}){{1,6}}"),
            format!("(?:{i6}:){{2}}(?::{i6}){{1,5}}"),
            format!("(?:{i6}:){{3}}(?::{i6}){{1,4}}"),
            format!("(?:{i6}:){{4}}(?::{i6}){{1,3}}"),
            format!("(?:{i6}:){{5}}(?::{i6}){{1,2}}"),
            format!("(?:{i6}:){{6}}(?::{i6})"),
            format!(":(?::{i6}){{1,6}}"),
            format!("{i6}?::"),
            format!("(?:0:){{6}}(?:{i6}\\.){{3}}{i6}"),
            format!("::(?:ffff:)?(?:{i6}\\.){{3}}{i6}"),
            format!("(?:0:){{5}}ffff:(?:{i6}\\.){{3}}{i6}"),
        ];
        // Python's alternation is anchored only on its first branch (^) and
        // last branch ($); reproduce that grouping.
        let n = ipv6.len();
        let ipv6_re = format!(
            "(?i)(?:^{})|{}|(?:{}$)",
            ipv6[0],
            ipv6[1..n - 1].join("|"),
            ipv6[n - 1]
        );
        Patterns {
            bracketed_hostport: Regex::new(r"^\[(.+)\]:([0-9]+)$").unwrap(),
            hostport: Regex::new(r"^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$").unwrap(),
            ipv4: Regex::new(&format!("(?i)^(?:{i4}\\.){{3}}{i4}$")).unwrap(),
            ipv6: Regex::new(&ipv6_re).unwrap(),
            hostname: Regex::new(&format!("(?i)^{label}(?:\\.{label})*$")).unwrap(),
        }
    })
}

/// Python's `re.match` (anchored at the start only).
fn py_match(re: &Regex, s: &str) -> bool {
    re.find(s).is_some_and(|m| m.start() == 0)
}

/// `parse_address(address, allow_ranges)`: `Some((host, port))`, or `None`
/// when the text is not a host identifier.
pub fn parse_address(address: &str, allow_ranges: bool) -> Option<(String, Option<u64>)> {
    let p = patterns();
    let mut addr = address.to_owned();
    let mut port = None;
    for re in [&p.bracketed_hostport, &p.hostport] {
        if let Some(c) = re.captures(&addr) {
            let host = c[1].to_owned();
            port = Some(c[2].parse::<u64>().ok()?);
            addr = host;
        }
    }
    let ok = py_match(&p.ipv4, &addr) || py_match(&p.ipv6, &addr) || py_match(&p.hostname, &addr);
    if !ok || (!allow_ranges && addr.contains('[')) {
        return None;
    }
    Some((addr, port))
}

/// True when `name` is an IPv4 or IPv6 address (for
/// `inventory_hostname_short`).
pub fn is_ip_address(name: &str) -> bool {
    let p = patterns();
    py_match(&p.ipv4, name) || py_match(&p.ipv6, name)
}

/// `expand_hostname_range`: `db[01:03]` to `db01 db02 db03`, recursively for
/// several ranges. The error text is Ansible's.
pub fn expand_hostname_range(line: &str) -> Result<Vec<String>, String> {
    const LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let replaced = line.replacen('[', "|", 1).replacen(']', "|", 1);
    let parts: Vec<&str> = replaced.split('|').collect();
    if parts.len() != 3 {
        return Err(format!(
            "{} values to unpack (expected 3, got {})",
            if parts.len() < 3 {
                "not enough"
            } else {
                "too many"
            },
            parts.len()
        ));
    }
    let (head, nrange, tail) = (parts[0], parts[1], parts[2]);
    let bounds: Vec<&str> = nrange.split(':').collect();
    if bounds.len() != 2 && bounds.len() != 3 {
        return Err("host range must be begin:end or begin:end:step".into());
    }
    let beg = if bounds[0].is_empty() { "0" } else { bounds[0] };
    let end = bounds[1];
    let step = bounds.get(2).copied().unwrap_or("1");
    if end.is_empty() {
        return Err("host range must specify end value".into());
    }
    let rlen = if beg.starts_with('0') && beg.chars().count() > 1 {
        if beg.chars().count() != end.chars().count() {
            return Err("host range must specify equal-length begin and end formats".into());
        }
        Some(beg.chars().count())
    } else {
        None
    };
    let fill = |s: String| match rlen {
        Some(n) => zfill(&s, n),
        None => s,
    };
    let seq: Vec<String> = match (LETTERS.find(beg), LETTERS.find(end)) {
        (Some(ib), Some(ie)) => {
            if ib > ie {
                return Err("host range must have begin <= end".into());
            }
            let st = py_int(step)?;
            if st == 0 {
                // slicing raises; Python then falls back to int(beg)
                return Err(format!("invalid literal for int() with base 10: '{beg}'"));
            }
            let slice: Vec<char> = LETTERS[ib..=ie].chars().collect();
            py_slice(&slice, st).into_iter().map(String::from).collect()
        }
        _ => {
            let (b, e, st) = (py_int(beg)?, py_int(end)?, py_int(step)?);
            if st == 0 {
                return Err("range() arg 3 must not be zero".into());
            }
            let mut v = Vec::new();
            let mut x = b;
            while (st > 0 && x < e + 1) || (st < 0 && x > e + 1) {
                v.push(x.to_string());
                x += st;
                if v.len() > 1_000_000 {
                    return Err("host range too large".into());
                }
            }
            v
        }
    };
    let mut all = Vec::new();
    for r in seq {
        let name = format!("{head}{}{tail}", fill(r));
        if name.contains('[') {
            all.extend(expand_hostname_range(&name)?);
        } else {
            all.push(name);
        }
    }
    Ok(all)
}

fn py_slice(items: &[char], step: i64) -> Vec<char> {
    if step > 0 {
        items.iter().step_by(step as usize).copied().collect()
    } else {
        items
            .iter()
            .rev()
            .step_by(step.unsigned_abs() as usize)
            .copied()
            .collect()
    }
}

fn zfill(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n >= width {
        return s.to_owned();
    }
    let (sign, digits) = match s.strip_prefix(['-', '+']) {
        Some(rest) => (&s[..1], rest),
        None => ("", s),
    };
    format!("{sign}{}{digits}", "0".repeat(width - n))
}

/// Python's `int(str)` (surrounding whitespace, sign, underscores).
fn py_int(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let (neg, body) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let ok = !body.is_empty()
        && !body.starts_with('_')
        && !body.ends_with('_')
        && !body.contains("__")
        && body.chars().all(|c| c.is_ascii_digit() || c == '_');
    let v: Option<i64> = ok
        .then(|| body.replace('_', "").parse::<i64>().ok())
        .flatten();
    match v {
        Some(v) => Ok(if neg { -v } else { v }),
        None => Err(format!("invalid literal for int() with base 10: '{s}'")),
    }
}

/// `BaseInventoryPlugin._expand_hostpattern`: host names and port.
pub fn expand_hostpattern(pattern: &str) -> Result<(Vec<String>, Option<u64>), String> {
    let (host, port) = parse_address(pattern, true).unwrap_or_else(|| (pattern.to_owned(), None));
    if host.contains('[') {
        Ok((expand_hostname_range(&host)?, port))
    } else {
        Ok((vec![host], port))
    }
}

/// Python's `shlex.split(s, comments=True)` (POSIX mode).
pub fn shlex_split(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut tok = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\r' | '\n' => {
                if in_word {
                    out.push(std::mem::take(&mut tok));
                    in_word = false;
                }
            }
            '#' => {
                // a comment runs to the end of the line
                for c2 in chars.by_ref() {
                    if c2 == '\n' {
                        break;
                    }
                }
                if in_word {
                    out.push(std::mem::take(&mut tok));
                    in_word = false;
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(n) => tok.push(n),
                    None => return Err("No escaped character".into()),
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(n) => tok.push(n),
                        None => return Err("No closing quotation".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(n @ ('"' | '\\')) => tok.push(n),
                            Some(n) => {
                                tok.push('\\');
                                tok.push(n);
                            }
                            None => return Err("No escaped character".into()),
                        },
                        Some(n) => tok.push(n),
                        None => return Err("No closing quotation".into()),
                    }
                }
            }
            c => {
                in_word = true;
                tok.push(c);
            }
        }
    }
    if in_word {
        out.push(tok);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(parse_address("web1", false), Some(("web1".into(), None)));
        assert_eq!(
            parse_address("web1:2222", false),
            Some(("web1".into(), Some(2222)))
        );
        assert_eq!(
            parse_address("[::1]:22", false),
            Some(("::1".into(), Some(22)))
        );
        assert_eq!(parse_address("::1", false), Some(("::1".into(), None)));
        assert_eq!(
            parse_address("10.0.0.1:80", false),
            Some(("10.0.0.1".into(), Some(80)))
        );
        assert_eq!(parse_address("web-", false), None);
        assert_eq!(parse_address("a_b", false), Some(("a_b".into(), None)));
        assert_eq!(parse_address("web[1:3]", false), None);
        assert_eq!(
            parse_address("web[1:3].x", true),
            Some(("web[1:3].x".into(), None))
        );
        assert_eq!(parse_address("foo@bar", true), None);
    }

    #[test]
    fn ranges() {
        assert_eq!(
            expand_hostname_range("w[01:03]").unwrap(),
            ["w01", "w02", "w03"]
        );
        assert_eq!(
            expand_hostname_range("w[1:10:4]").unwrap(),
            ["w1", "w5", "w9"]
        );
        assert_eq!(
            expand_hostname_range("db-[a:c]-[1:2]").unwrap(),
            ["db-a-1", "db-a-2", "db-b-1", "db-b-2", "db-c-1", "db-c-2"]
        );
        assert!(expand_hostname_range("w[01:3]").is_err());
        assert!(expand_hostname_range("w[1:]").is_err());
        assert!(expand_hostname_range("[a").is_err());
    }

    #[test]
    fn shlex() {
        assert_eq!(
            shlex_split(r#"h1 a=1 b="x y" c='q' # tail"#).unwrap(),
            ["h1", "a=1", "b=x y", "c=q"]
        );
        assert_eq!(shlex_split("a#b c").unwrap(), ["a"]);
        assert!(shlex_split("a='x").is_err());
    }
}
