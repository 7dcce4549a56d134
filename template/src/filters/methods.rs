//! Python methods on values (`'a,b'.split(',')`, `d.items()`, …).

use minijinja::value::{Value, ValueKind};
use minijinja::{Error, ErrorKind, State};

use crate::pyrepr::py_str;

/// Python `str.split(sep, maxsplit)`.
pub(crate) fn py_split(s: &str, sep: Option<&str>, max: i64) -> Value {
    let parts: Vec<Value> = match sep {
        None => {
            let mut out = Vec::new();
            let mut rest = s.trim_start();
            let mut n = 0;
            while !rest.is_empty() {
                if max >= 0 && n >= max {
                    out.push(Value::from(rest));
                    rest = "";
                    break;
                }
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                out.push(Value::from(&rest[..end]));
                rest = rest[end..].trim_start();
                n += 1;
            }
            let _ = rest;
            out
        }
        Some(sep) => {
            if max >= 0 {
                s.splitn(max as usize + 1, sep).map(Value::from).collect()
            } else {
                s.split(sep).map(Value::from).collect()
            }
        }
    };
    Value::from(parts)
}

fn arg_str(args: &[Value], i: usize) -> Option<String> {
    args.get(i)
        .filter(|v| !v.is_none() && !v.is_undefined())
        .map(|v| match v.as_str() {
            Some(s) => s.to_string(),
            None => py_str(v),
        })
}

fn string_method(s: &str, method: &str, args: &[Value]) -> Option<Result<Value, Error>> {
    Some(Ok(match method {
        "split" => {
            let sep = arg_str(args, 0);
            let max = args.get(1).and_then(|v| v.as_i64()).unwrap_or(-1);
            if sep.as_deref() == Some("") {
                return Some(Err(Error::new(
                    ErrorKind::InvalidOperation,
                    "empty separator",
                )));
            }
            py_split(s, sep.as_deref(), max)
        }
        "rsplit" => {
            let sep = arg_str(args, 0);
            let max = args.get(1).and_then(|v| v.as_i64()).unwrap_or(-1);
            match (sep, max) {
                (Some(sep), m) if m >= 0 => {
                    let mut parts: Vec<Value> = s
                        .rsplitn(m as usize + 1, sep.as_str())
                        .map(Value::from)
                        .collect();
                    parts.reverse();
                    Value::from(parts)
                }
                (sep, _) => py_split(s, sep.as_deref(), -1),
            }
        }
        "zfill" => {
            let w = args.first().and_then(|v| v.as_usize()).unwrap_or(0);
            let n = s.chars().count();
            if n >= w {
                Value::from(s)
            } else {
                let (sign, rest) = match s.chars().next() {
                    Some(c @ ('-' | '+')) => (c.to_string(), &s[1..]),
                    _ => (String::new(), s),
                };
                Value::from(format!("{sign}{}{rest}", "0".repeat(w - n)))
            }
        }
        "ljust" | "rjust" | "center" => {
            let w = args.first().and_then(|v| v.as_usize()).unwrap_or(0);
            let fill = arg_str(args, 1)
                .and_then(|f| f.chars().next())
                .unwrap_or(' ');
            let n = s.chars().count();
            if n >= w {
                Value::from(s)
            } else {
                let pad = w - n;
                let (l, r) = match method {
                    "ljust" => (0, pad),
                    "rjust" => (pad, 0),
                    _ => {
                        let left = pad / 2 + (pad & w & 1);
                        (left, pad - left)
                    }
                };
                Value::from(format!(
                    "{}{s}{}",
                    fill.to_string().repeat(l),
                    fill.to_string().repeat(r)
                ))
            }
        }
        "partition" | "rpartition" => {
            let sep = arg_str(args, 0).unwrap_or_default();
            let found = if method == "partition" {
                s.find(&sep)
            } else {
                s.rfind(&sep)
            };
            let parts = match found {
                Some(i) => vec![&s[..i], sep.as_str(), &s[i + sep.len()..]],
                None if method == "partition" => vec![s, "", ""],
                None => vec!["", "", s],
            };
            // str.partition returns a tuple (shown as `('a', '=', 'b')`).
            Value::from_object(crate::pyrepr::PyTuple(
                parts.into_iter().map(Value::from).collect(),
            ))
        }
        "index" | "rindex" => {
            let sub = arg_str(args, 0).unwrap_or_default();
            let found = if method == "index" {
                s.find(&sub)
            } else {
                s.rfind(&sub)
            };
            match found {
                Some(i) => Value::from(s[..i].chars().count()),
                None => {
                    return Some(Err(Error::new(
                        ErrorKind::InvalidOperation,
                        "substring not found",
                    )))
                }
            }
        }
        "swapcase" => Value::from(
            s.chars()
                .map(|c| {
                    if c.is_uppercase() {
                        c.to_lowercase().to_string()
                    } else {
                        c.to_uppercase().to_string()
                    }
                })
                .collect::<String>(),
        ),
        "casefold" => Value::from(s.to_lowercase()),
        "removeprefix" => {
            let p = arg_str(args, 0).unwrap_or_default();
            Value::from(s.strip_prefix(p.as_str()).unwrap_or(s))
        }
        "removesuffix" => {
            let p = arg_str(args, 0).unwrap_or_default();
            Value::from(s.strip_suffix(p.as_str()).unwrap_or(s))
        }
        "encode" | "decode" => Value::from(s),
        "expandtabs" => Value::from(s.replace(
            '\t',
            &" ".repeat(args.first().and_then(|v| v.as_usize()).unwrap_or(8)),
        )),
        "capitalize" => Value::from(super::py_capitalize(s)),
        _ => return None,
    }))
}

fn seq_method(v: &Value, method: &str, args: &[Value]) -> Option<Result<Value, Error>> {
    let items: Vec<Value> = v.try_iter().map(|i| i.collect()).unwrap_or_default();
    Some(Ok(match method {
        "index" => {
            let x = args.first().cloned().unwrap_or_default();
            match items.iter().position(|i| *i == x) {
                Some(p) => Value::from(p),
                None => {
                    return Some(Err(Error::new(
                        ErrorKind::InvalidOperation,
                        format!("{} is not in list", py_str(&x)),
                    )))
                }
            }
        }
        "copy" => Value::from(items),
        // Mutating methods act on a copy (values are immutable here); they
        // return None like Python.
        "append" | "extend" | "insert" | "remove" | "sort" | "reverse" | "clear" => Value::from(()),
        "pop" => items.last().cloned().unwrap_or_default(),
        _ => return None,
    }))
}

fn map_method(v: &Value, method: &str, args: &[Value]) -> Option<Result<Value, Error>> {
    Some(Ok(match method {
        "copy" => v.clone(),
        "pop" => {
            let k = args.first().cloned().unwrap_or_default();
            let r = v.get_item(&k).unwrap_or_default();
            if r.is_undefined() {
                args.get(1).cloned().unwrap_or_default()
            } else {
                r
            }
        }
        "update" | "clear" | "setdefault" => Value::from(()),
        _ => return None,
    }))
}

pub(crate) fn call_method(
    state: &mut State,
    value: &Value,
    method: &str,
    args: &[Value],
) -> Result<Value, Error> {
    let extra = match value.kind() {
        ValueKind::String => string_method(value.as_str().unwrap_or_default(), method, args),
        ValueKind::Seq => seq_method(value, method, args),
        ValueKind::Map => map_method(value, method, args),
        _ => None,
    };
    if let Some(r) = extra {
        return r;
    }
    minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args)
}
