//! PyYAML's implicit resolvers and constructors for plain scalars (YAML
//! 1.1), which is what Ansible's loader applies. Only plain (unquoted)
//! scalars are resolved; quoted and block scalars are always strings.

/// What a plain scalar resolves to.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved {
    Null,
    Bool(bool),
    Int(i64),
    /// An integer too large for i64, as its decimal digits.
    BigInt(String),
    Float(f64),
    /// A `timestamp` (PyYAML makes a date/datetime); the raw text.
    Timestamp(String),
    /// The `=` value tag, which PyYAML's SafeConstructor cannot construct.
    ValueTag,
    Str,
}

fn all(s: &str, f: impl Fn(u8) -> bool) -> bool {
    !s.is_empty() && s.bytes().all(f)
}

fn strip_sign(s: &str) -> (bool, &str) {
    match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    }
}

/// `[1-9][0-9_]*(:[0-5]?[0-9])+` after the sign (sexagesimal integer).
fn is_sexagesimal_int(body: &str) -> bool {
    let mut parts = body.split(':');
    let first = parts.next().unwrap_or("");
    if !first.starts_with(|c: char| ('1'..='9').contains(&c))
        || !first.bytes().all(|b| b.is_ascii_digit() || b == b'_')
    {
        return false;
    }
    let mut n = 0;
    for p in parts {
        n += 1;
        if !is_base60_digit_pair(p) {
            return false;
        }
    }
    n > 0
}

/// `[0-5]?[0-9]`
fn is_base60_digit_pair(p: &str) -> bool {
    let b = p.as_bytes();
    match b.len() {
        1 => b[0].is_ascii_digit(),
        2 => (b'0'..=b'5').contains(&b[0]) && b[1].is_ascii_digit(),
        _ => false,
    }
}

fn is_int(s: &str) -> bool {
    let (_, body) = strip_sign(s);
    if let Some(bin) = body.strip_prefix("0b") {
        return all(bin, |b| b == b'0' || b == b'1' || b == b'_');
    }
    if let Some(hex) = body.strip_prefix("0x") {
        return all(hex, |b| b.is_ascii_hexdigit() || b == b'_');
    }
    if body == "0" {
        return true;
    }
    if let Some(oct) = body.strip_prefix('0') {
        return all(oct, |b| (b'0'..=b'7').contains(&b) || b == b'_');
    }
    if body.starts_with(|c: char| ('1'..='9').contains(&c))
        && body.bytes().all(|b| b.is_ascii_digit() || b == b'_')
    {
        return true;
    }
    is_sexagesimal_int(body)
}

/// `[eE][-+][0-9]+` (PyYAML requires the exponent's sign).
fn is_exponent(e: &str) -> bool {
    let b = e.as_bytes();
    b.len() >= 3
        && (b[0] == b'e' || b[0] == b'E')
        && (b[1] == b'-' || b[1] == b'+')
        && b[2..].iter().all(u8::is_ascii_digit)
}

fn is_float(s: &str) -> bool {
    if matches!(s, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    let (_, body) = strip_sign(s);
    if matches!(body, ".inf" | ".Inf" | ".INF") {
        return true;
    }
    // [0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]*  (sexagesimal float)
    if let Some((whole, frac)) = body.rsplit_once('.') {
        if whole.contains(':') {
            let mut parts = whole.split(':');
            let first = parts.next().unwrap_or("");
            let ok_first = first.starts_with(|c: char| c.is_ascii_digit())
                && first.bytes().all(|b| b.is_ascii_digit() || b == b'_');
            let ok_rest = parts.all(is_base60_digit_pair);
            return ok_first && ok_rest && frac.bytes().all(|b| b.is_ascii_digit() || b == b'_');
        }
    }
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i..])),
        None => (body, None),
    };
    if let Some(e) = exp {
        if !is_exponent(e) {
            return false;
        }
    }
    let Some((whole, frac)) = mantissa.split_once('.') else {
        return false;
    };
    if !frac.bytes().all(|b| b.is_ascii_digit() || b == b'_') {
        return false;
    }
    if whole.is_empty() {
        // \.[0-9_]+ : no sign allowed in this branch
        return !frac.is_empty() && !s.starts_with(['+', '-']);
    }
    whole.starts_with(|c: char| c.is_ascii_digit())
        && whole.bytes().all(|b| b.is_ascii_digit() || b == b'_')
}

fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    // YYYY-MM-DD exactly
    if b.len() == 10
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
    {
        return true;
    }
    // YYYY-M?M-D?D(T|t|[ \t]+)H?H:MM:SS(.f*)?([ \t]*(Z|[-+]H?H(:MM)?))?
    if !(b.len() > 4 && digits(0..4) && b[4] == b'-') {
        return false;
    }
    let mut i = 5;
    let take_1_2 = |i: &mut usize| -> bool {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() && *i - start < 2 {
            *i += 1;
        }
        *i > start
    };
    if !take_1_2(&mut i) || b.get(i) != Some(&b'-') {
        return false;
    }
    i += 1;
    if !take_1_2(&mut i) {
        return false;
    }
    match b.get(i) {
        Some(b'T') | Some(b't') => i += 1,
        Some(b' ') | Some(b'\t') => {
            while matches!(b.get(i), Some(b' ') | Some(b'\t')) {
                i += 1;
            }
        }
        _ => return false,
    }
    if !take_1_2(&mut i) || b.get(i) != Some(&b':') {
        return false;
    }
    i += 1;
    if !(digits(i..i + 2) && b.get(i + 2) == Some(&b':') && digits(i + 3..i + 5)) {
        return false;
    }
    i += 5;
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    let save = i;
    while matches!(b.get(i), Some(b' ') | Some(b'\t')) {
        i += 1;
    }
    match b.get(i) {
        None => i == save,
        Some(b'Z') => i + 1 == b.len(),
        Some(b'-') | Some(b'+') => {
            i += 1;
            if !take_1_2(&mut i) {
                return false;
            }
            if b.get(i) == Some(&b':') {
                i += 1;
                if !digits(i..i + 2) {
                    return false;
                }
                i += 2;
            }
            i == b.len()
        }
        _ => false,
    }
}

/// PyYAML's `construct_yaml_int` on text already known to match.
pub fn construct_int(s: &str) -> Resolved {
    let clean: String = s.chars().filter(|&c| c != '_').collect();
    let (neg, body) = strip_sign(&clean);
    let parsed: Option<i128> = if body == "0" {
        Some(0)
    } else if let Some(b) = body.strip_prefix("0b") {
        i128::from_str_radix(b, 2).ok()
    } else if let Some(h) = body.strip_prefix("0x") {
        i128::from_str_radix(h, 16).ok()
    } else if body.contains(':') {
        let mut v: i128 = 0;
        let mut ok = true;
        for part in body.split(':') {
            match part.parse::<i128>() {
                Ok(d) => v = v.saturating_mul(60).saturating_add(d),
                Err(_) => ok = false,
            }
        }
        ok.then_some(v)
    } else if let Some(oct) = body.strip_prefix('0') {
        i128::from_str_radix(oct, 8).ok()
    } else {
        body.parse::<i128>().ok()
    };
    match parsed {
        Some(v) => {
            let v = if neg { -v } else { v };
            match i64::try_from(v) {
                Ok(i) => Resolved::Int(i),
                Err(_) => Resolved::BigInt(v.to_string()),
            }
        }
        None => Resolved::BigInt(clean),
    }
}

/// PyYAML's `construct_yaml_float`.
pub fn construct_float(s: &str) -> Resolved {
    let clean: String = s
        .chars()
        .filter(|&c| c != '_')
        .collect::<String>()
        .to_lowercase();
    let (neg, body) = strip_sign(&clean);
    let sign = if neg { -1.0 } else { 1.0 };
    let v = if body == ".inf" {
        f64::INFINITY
    } else if body == ".nan" {
        f64::NAN
    } else if body.contains(':') {
        let mut v = 0.0;
        for part in body.split(':') {
            v = v * 60.0 + part.parse::<f64>().unwrap_or(0.0);
        }
        v
    } else {
        body.parse::<f64>().unwrap_or(0.0)
    };
    Resolved::Float(sign * v)
}

/// Resolves a plain scalar as PyYAML's `Resolver` + `SafeConstructor` do.
pub fn resolve_plain(s: &str) -> Resolved {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Resolved::Bool(true)
        }
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Resolved::Bool(false)
        }
        "=" => return Resolved::ValueTag,
        _ => {}
    }
    if is_int(s) {
        return construct_int(s);
    }
    if is_float(s) {
        return construct_float(s);
    }
    if is_timestamp(s) {
        return Resolved::Timestamp(s.to_owned());
    }
    Resolved::Str
}

#[cfg(test)]
mod tests {
    use super::*;
    use Resolved::*;

    #[test]
    fn yaml11_scalars() {
        let cases: &[(&str, Resolved)] = &[
            ("yes", Bool(true)),
            ("No", Bool(false)),
            ("ON", Bool(true)),
            ("off", Bool(false)),
            ("yEs", Str),
            ("y", Str),
            ("0644", Int(420)),
            ("0", Int(0)),
            ("-0", Int(0)),
            ("08", Str),
            ("1_000", Int(1000)),
            ("0x1F", Int(31)),
            ("0b101", Int(5)),
            ("+12", Int(12)),
            ("10:30", Int(630)),
            ("09:30", Str),
            ("1:30:00", Int(5400)),
            ("1.5", Float(1.5)),
            ("1.", Float(1.0)),
            (".5", Float(0.5)),
            ("1e3", Str),
            ("1.0e+3", Float(1000.0)),
            ("1.0e3", Str),
            ("-.inf", Float(f64::NEG_INFINITY)),
            ("~", Null),
            ("", Null),
            ("null", Null),
            ("nULL", Str),
            ("2024-01-02", Timestamp("2024-01-02".into())),
            ("2024-1-2 10:00:00", Timestamp("2024-1-2 10:00:00".into())),
            (
                "2024-01-02T10:00:00Z",
                Timestamp("2024-01-02T10:00:00Z".into()),
            ),
            (
                "2024-01-02T10:00:00+01:00",
                Timestamp("2024-01-02T10:00:00+01:00".into()),
            ),
            ("2024-01-02x", Str),
            ("hello", Str),
            ("=", ValueTag),
            (
                "99999999999999999999",
                BigInt("99999999999999999999".into()),
            ),
        ];
        for (s, want) in cases {
            assert_eq!(&resolve_plain(s), want, "{s:?}");
        }
        assert!(matches!(resolve_plain(".nan"), Float(f) if f.is_nan()));
        assert!(matches!(resolve_plain("190:20:30.15"), Float(f) if (f - 685230.15).abs() < 1e-6));
    }
}
