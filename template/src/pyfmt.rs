//! Python's `%` operator: printf-style string formatting and floor modulo.

use minijinja::value::{Value, ValueKind};
use minijinja::{Error, ErrorKind};

use crate::pyrepr::{py_repr, py_str};

fn type_err(msg: String) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg)
}

pub(crate) fn pytype(v: &Value) -> &'static str {
    crate::context::python_type_name(v)
}

/// `a % b` with Python semantics.
pub(crate) fn mod_op(a: Value, b: Value) -> Result<Value, Error> {
    if let Some(s) = a.as_str() {
        return percent_format(s, &b).map(Value::from);
    }
    if a.is_undefined() || b.is_undefined() {
        return Err(Error::new(ErrorKind::UndefinedError, "undefined value"));
    }
    if a.is_number() && b.is_number() || a.kind() == ValueKind::Bool || b.kind() == ValueKind::Bool
    {
        if let (Ok(x), Ok(y)) = (i128::try_from(a.clone()), i128::try_from(b.clone())) {
            if (a.is_integer() || a.kind() == ValueKind::Bool)
                && (b.is_integer() || b.kind() == ValueKind::Bool)
            {
                if y == 0 {
                    return Err(crate::error::pyexc(
                        "ZeroDivisionError: integer modulo by zero",
                    ));
                }
                let r = x.rem_euclid(y);
                let r = if y < 0 && r != 0 { r + y } else { r };
                return Ok(Value::from(r));
            }
        }
        let x = f64::try_from(a.clone()).map_err(|_| type_err("bad operand".into()))?;
        let y = f64::try_from(b.clone()).map_err(|_| type_err("bad operand".into()))?;
        if y == 0.0 {
            return Err(crate::error::pyexc("ZeroDivisionError: float modulo"));
        }
        let mut r = x % y;
        if r != 0.0 && (r < 0.0) != (y < 0.0) {
            r += y;
        }
        return Ok(Value::from(r));
    }
    Err(type_err(format!(
        "unsupported operand type(s) for %: '{}' and '{}'",
        pytype(&a),
        pytype(&b)
    )))
}

fn to_int(v: &Value, conv: char) -> Result<i128, Error> {
    match v.kind() {
        ValueKind::Bool => Ok(v.is_true() as i128),
        ValueKind::Number => {
            if v.is_integer() {
                i128::try_from(v.clone()).map_err(|e| type_err(e.to_string()))
            } else if matches!(conv, 'd' | 'i' | 'u') {
                let f = f64::try_from(v.clone()).unwrap_or(0.0);
                Ok(f.trunc() as i128)
            } else {
                Err(type_err(format!(
                    "%{conv} format: an integer is required, not float"
                )))
            }
        }
        _ => Err(type_err(format!(
            "%{conv} format: a real number is required, not {}",
            pytype(v)
        ))),
    }
}

fn to_float(v: &Value) -> Result<f64, Error> {
    match v.kind() {
        ValueKind::Bool => Ok(v.is_true() as i64 as f64),
        ValueKind::Number => f64::try_from(v.clone()).map_err(|e| type_err(e.to_string())),
        _ => Err(type_err(format!("must be real number, not {}", pytype(v)))),
    }
}

/// C-style `%e` with Python's exponent format.
pub(crate) fn fmt_e(f: f64, prec: usize, upper: bool) -> String {
    let s = format!("{f:.prec$e}");
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    let e: i32 = e.parse().unwrap_or(0);
    let r = format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
    if upper {
        r.to_uppercase()
    } else {
        r
    }
}

pub(crate) fn fmt_g(f: f64, prec: usize, alt: bool, upper: bool) -> String {
    if !f.is_finite() {
        let s = if f.is_nan() {
            "nan"
        } else if f > 0.0 {
            "inf"
        } else {
            "-inf"
        };
        return if upper { s.to_uppercase() } else { s.into() };
    }
    let p = if prec == 0 { 1 } else { prec };
    let es = format!("{f:.*e}", p - 1);
    let exp: i32 = es
        .split_once('e')
        .and_then(|(_, e)| e.parse().ok())
        .unwrap_or(0);
    let mut s = if exp >= -4 && exp < p as i32 {
        format!("{f:.*}", (p as i32 - 1 - exp).max(0) as usize)
    } else {
        fmt_e(f, p - 1, upper)
    };
    if !alt {
        let (mant, rest) = match s.find(['e', 'E']) {
            Some(i) => (s[..i].to_string(), s[i..].to_string()),
            None => (s.clone(), String::new()),
        };
        let mant = if mant.contains('.') {
            mant.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            mant
        };
        s = mant + &rest;
    }
    s
}

fn fmt_float(f: f64, conv: char, prec: Option<usize>, alt: bool) -> String {
    if !f.is_finite() {
        let s = if f.is_nan() {
            "nan"
        } else if f > 0.0 {
            "inf"
        } else {
            "-inf"
        };
        return if conv.is_uppercase() {
            s.to_uppercase()
        } else {
            s.into()
        };
    }
    match conv {
        'f' | 'F' => format!("{f:.*}", prec.unwrap_or(6)),
        'e' | 'E' => fmt_e(f, prec.unwrap_or(6), conv == 'E'),
        _ => fmt_g(f, prec.unwrap_or(6), alt, conv == 'G'),
    }
}

/// `fmt % args` for strings.
pub(crate) fn percent_format(fmt: &str, args: &Value) -> Result<String, Error> {
    let chars: Vec<char> = fmt.chars().collect();
    // count specs needing positional args
    let mapping = args.kind() == ValueKind::Map;
    let mut positional: Vec<Value> = Vec::new();
    let nspecs = count_specs(&chars);
    if !mapping {
        if args.kind() == ValueKind::Seq && !(nspecs == 1 && args.len() != Some(1)) {
            positional = args.try_iter().map(|i| i.collect()).unwrap_or_default();
        } else {
            positional.push(args.clone());
        }
    }
    let mut next = 0usize;
    let mut take = |positional: &Vec<Value>| -> Result<Value, Error> {
        let v = positional
            .get(next)
            .cloned()
            .ok_or_else(|| type_err("not enough arguments for format string".into()))?;
        next += 1;
        Ok(v)
    };
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != '%' {
            out.push(c);
            i += 1;
            continue;
        }
        i += 1;
        let mut key: Option<String> = None;
        if chars.get(i) == Some(&'(') {
            let mut depth = 1;
            let start = i + 1;
            i += 1;
            while i < chars.len() && depth > 0 {
                if chars[i] == '(' {
                    depth += 1;
                } else if chars[i] == ')' {
                    depth -= 1;
                }
                i += 1;
            }
            key = Some(chars[start..i - 1].iter().collect());
        }
        let (mut left, mut plus, mut space, mut alt, mut zero) =
            (false, false, false, false, false);
        while let Some(&f) = chars.get(i) {
            match f {
                '-' => left = true,
                '+' => plus = true,
                ' ' => space = true,
                '#' => alt = true,
                '0' => zero = true,
                _ => break,
            }
            i += 1;
        }
        let mut width: usize = 0;
        if chars.get(i) == Some(&'*') {
            width = take(&positional)?.as_usize().unwrap_or(0);
            i += 1;
        } else {
            while let Some(d) = chars.get(i).and_then(|c| c.to_digit(10)) {
                width = width * 10 + d as usize;
                i += 1;
            }
        }
        let mut prec: Option<usize> = None;
        if chars.get(i) == Some(&'.') {
            i += 1;
            if chars.get(i) == Some(&'*') {
                prec = take(&positional)?.as_usize();
                i += 1;
            } else {
                let mut p = 0;
                while let Some(d) = chars.get(i).and_then(|c| c.to_digit(10)) {
                    p = p * 10 + d as usize;
                    i += 1;
                }
                prec = Some(p);
            }
        }
        while matches!(chars.get(i), Some('h' | 'l' | 'L')) {
            i += 1;
        }
        let Some(&conv) = chars.get(i) else {
            return Err(type_err("incomplete format".into()));
        };
        i += 1;
        if conv == '%' {
            out.push('%');
            continue;
        }
        let arg = match &key {
            Some(k) => {
                if !mapping {
                    return Err(type_err("format requires a mapping".into()));
                }
                let v = args.get_item(&Value::from(k.as_str())).unwrap_or_default();
                if v.is_undefined() {
                    return Err(type_err(format!("KeyError: '{k}'")));
                }
                v
            }
            None if mapping => args.clone(),
            None => take(&positional)?,
        };
        if arg.is_undefined() {
            return Err(Error::new(ErrorKind::UndefinedError, "undefined value"));
        }
        let numeric = matches!(
            conv,
            'd' | 'i' | 'u' | 'x' | 'X' | 'o' | 'f' | 'F' | 'e' | 'E' | 'g' | 'G'
        );
        let body: String = match conv {
            's' => {
                let s = py_str(&arg);
                match prec {
                    Some(p) => s.chars().take(p).collect(),
                    None => s,
                }
            }
            'r' | 'a' => {
                let mut s = String::new();
                py_repr(&arg, &mut s);
                match prec {
                    Some(p) => s.chars().take(p).collect(),
                    None => s,
                }
            }
            'c' => match arg.as_str() {
                Some(s) if s.chars().count() == 1 => s.to_string(),
                _ => {
                    let n = to_int(&arg, 'c')?;
                    char::from_u32(n as u32)
                        .map(String::from)
                        .ok_or_else(|| type_err("%c arg not in range".into()))?
                }
            },
            'd' | 'i' | 'u' | 'x' | 'X' | 'o' => {
                let n = to_int(&arg, conv)?;
                let mag = n.unsigned_abs();
                let digits = match conv {
                    'x' => format!("{mag:x}"),
                    'X' => format!("{mag:X}"),
                    'o' => format!("{mag:o}"),
                    _ => mag.to_string(),
                };
                let digits = match prec {
                    Some(p) if digits.len() < p => {
                        format!("{}{digits}", "0".repeat(p - digits.len()))
                    }
                    _ => digits,
                };
                let prefix = if alt {
                    match conv {
                        'x' => "0x",
                        'X' => "0X",
                        'o' => "0o",
                        _ => "",
                    }
                } else {
                    ""
                };
                let sign = if n < 0 {
                    "-"
                } else if plus {
                    "+"
                } else if space {
                    " "
                } else {
                    ""
                };
                format!("{sign}{prefix}{digits}")
            }
            'f' | 'F' | 'e' | 'E' | 'g' | 'G' => {
                let f = to_float(&arg)?;
                let s = fmt_float(f.abs(), conv, prec, alt);
                let sign = if f.is_sign_negative() && !f.is_nan() {
                    "-"
                } else if plus {
                    "+"
                } else if space {
                    " "
                } else {
                    ""
                };
                format!("{sign}{s}")
            }
            other => {
                return Err(type_err(format!(
                    "unsupported format character '{other}' (0x{:x})",
                    other as u32
                )))
            }
        };
        let len = body.chars().count();
        if len >= width {
            out.push_str(&body);
        } else if left {
            out.push_str(&body);
            out.push_str(&" ".repeat(width - len));
        } else if zero && numeric {
            let (sign, rest) = match body.chars().next() {
                Some(c @ ('-' | '+' | ' ')) => (c.to_string(), body[1..].to_string()),
                _ => (String::new(), body.clone()),
            };
            let (pfx, rest) =
                if rest.starts_with("0x") || rest.starts_with("0X") || rest.starts_with("0o") {
                    (rest[..2].to_string(), rest[2..].to_string())
                } else {
                    (String::new(), rest)
                };
            out.push_str(&sign);
            out.push_str(&pfx);
            out.push_str(&"0".repeat(width - len));
            out.push_str(&rest);
        } else {
            out.push_str(&" ".repeat(width - len));
            out.push_str(&body);
        }
    }
    if !mapping && next < positional.len() {
        return Err(type_err(
            "not all arguments converted during string formatting".into(),
        ));
    }
    Ok(out)
}

fn count_specs(chars: &[char]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '%' {
            if chars.get(i + 1) == Some(&'%') {
                i += 2;
                continue;
            }
            n += 1;
        }
        i += 1;
    }
    n
}

#[cfg(test)]
mod t {
    use super::*;
    #[test]
    fn fmt() {
        let a = Value::from(vec![Value::from("a"), Value::from(3)]);
        assert_eq!(percent_format("%s-%d", &a).unwrap(), "a-3");
        assert_eq!(
            percent_format(
                "%05.1f|%-4s|%x",
                &Value::from(vec![
                    Value::from(3.04159),
                    Value::from("ab"),
                    Value::from(255)
                ])
            )
            .unwrap(),
            "003.0|ab  |ff"
        );
        assert_eq!(
            percent_format("%s", &Value::from(vec![1, 2])).unwrap(),
            "[1, 2]"
        );
        assert_eq!(fmt_g(0.0001, 6, false, false), "0.0001");
        assert_eq!(fmt_g(1e20, 6, false, false), "1e+20");
    }
}
