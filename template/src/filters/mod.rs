//! Ansible's filters (and the Jinja2 built-ins whose behaviour differs).

pub(crate) mod methods;
mod more;
mod vault;

pub(crate) use more::{glob_paths, py_regex as more_regex};

use std::sync::Arc;

use minijinja::value::{Rest, Value, ValueKind, ValueOrKwargs};
use minijinja::{Environment, Error, ErrorKind, State};

use crate::convert::{json_to_mj, mj_to_json};
use crate::error::ferr;
use crate::pyrepr::py_str;
use crate::Shared;

/// Positional + keyword arguments, bound like Python.
pub(crate) struct Args {
    pub pos: Vec<Value>,
    pub kw: Vec<(String, Value)>,
}

impl Args {
    pub fn new(rest: Vec<Value>) -> Args {
        let mut pos = rest;
        let mut kw = Vec::new();
        if pos.last().is_some_and(Value::is_kwargs) {
            if let Some(k) = pos.pop() {
                if let Ok(it) = k.try_iter() {
                    for key in it {
                        let v = k.get_item(&key).unwrap_or_default();
                        kw.push((key.as_str().unwrap_or_default().to_string(), v));
                    }
                }
            }
        }
        Args { pos, kw }
    }
    /// Argument at position `i` or named `name`.
    pub fn get(&self, i: usize, name: &str) -> Option<Value> {
        if let Some((_, v)) = self.kw.iter().find(|(k, _)| k == name) {
            return Some(v.clone());
        }
        self.pos.get(i).cloned()
    }
    pub fn kw(&self, name: &str) -> Option<Value> {
        self.kw
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
    pub fn flag(&self, i: usize, name: &str) -> bool {
        self.get(i, name).is_some_and(|v| v.is_true())
    }
    pub fn str(&self, i: usize, name: &str) -> Option<String> {
        self.get(i, name)
            .filter(|v| !v.is_none() && !v.is_undefined())
            .map(|v| py_str(&v))
    }
}

pub(crate) fn undef_err() -> Error {
    Error::new(ErrorKind::UndefinedError, "undefined value")
}

pub(crate) fn need(v: &Value) -> Result<(), Error> {
    if v.is_undefined() {
        Err(undef_err())
    } else {
        Ok(())
    }
}

pub(crate) fn items(v: &Value) -> Result<Vec<Value>, Error> {
    need(v)?;
    match v.kind() {
        ValueKind::String => Ok(v
            .as_str()
            .unwrap_or_default()
            .chars()
            .map(Value::from)
            .collect()),
        ValueKind::Map | ValueKind::Seq | ValueKind::Iterable => Ok(v.try_iter()?.collect()),
        ValueKind::None => Err(ferr("'NoneType' object is not iterable")),
        _ => Err(ferr(format!(
            "'{}' object is not iterable",
            crate::pyfmt::pytype(v)
        ))),
    }
}

pub(crate) fn to_s(v: &Value) -> Result<String, Error> {
    need(v)?;
    Ok(match v.as_str() {
        Some(s) => s.to_string(),
        None => py_str(v),
    })
}

pub(crate) type F = fn(&State, Value, Args) -> Result<Value, Error>;

pub(crate) fn add(env: &mut Environment<'static>, name: &'static str, f: F) {
    env.add_filter(
        name,
        move |state: &State, v: Value, rest: Rest<ValueOrKwargs>| {
            f(
                state,
                v,
                Args::new(rest.0.into_iter().map(Value::from).collect()),
            )
        },
    );
}

pub(crate) fn to_bool_ansible(v: &Value) -> Value {
    match v.kind() {
        ValueKind::None | ValueKind::Bool => v.clone(),
        ValueKind::String => {
            let s = v.as_str().unwrap_or_default().to_lowercase();
            Value::from(matches!(s.as_str(), "yes" | "on" | "1" | "true"))
        }
        ValueKind::Number => Value::from(
            v.as_i64() == Some(1) && v.is_integer() || f64::try_from(v.clone()).ok() == Some(1.0),
        ),
        _ => Value::from(false),
    }
}

/// Python `int()` of a string (whitespace, `_`, sign, base prefixes).
pub(crate) fn parse_py_int(s: &str, base: u32) -> Option<i128> {
    let t = s.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let lower = t.to_ascii_lowercase();
    let (digits, base) = match base {
        16 => (lower.strip_prefix("0x").unwrap_or(&lower).to_string(), 16),
        8 => (lower.strip_prefix("0o").unwrap_or(&lower).to_string(), 8),
        2 => (lower.strip_prefix("0b").unwrap_or(&lower).to_string(), 2),
        0 => {
            if let Some(r) = lower.strip_prefix("0x") {
                (r.to_string(), 16)
            } else if let Some(r) = lower.strip_prefix("0o") {
                (r.to_string(), 8)
            } else if let Some(r) = lower.strip_prefix("0b") {
                (r.to_string(), 2)
            } else {
                (lower.clone(), 10)
            }
        }
        b => (lower.clone(), b),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    let n = i128::from_str_radix(&digits.replace('_', ""), base).ok()?;
    Some(if neg { -n } else { n })
}

pub(crate) fn parse_py_float(s: &str) -> Option<f64> {
    let t = s.trim().to_ascii_lowercase().replace('_', "");
    match t.as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        "nan" | "+nan" | "-nan" => Some(f64::NAN),
        _ => {
            if t.is_empty()
                || !t
                    .bytes()
                    .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'+' | b'-'))
            {
                return None;
            }
            t.parse().ok()
        }
    }
}

fn f_default(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    let d = a.get(0, "default_value").unwrap_or(Value::from(""));
    let boolean = a.flag(1, "boolean");
    if v.is_undefined() || (boolean && !v.is_true()) {
        Ok(d)
    } else {
        Ok(v)
    }
}

fn f_mandatory(state: &State, v: Value, a: Args) -> Result<Value, Error> {
    if v.is_undefined() {
        let name = state
            .lookup(crate::context::CTX_KEY)
            .and_then(|c| c.downcast_object::<crate::context::Ctx>())
            .and_then(|c| c.last_missing())
            .map(|n| format!("'{n}' "))
            .unwrap_or_default();
        let msg = a
            .str(0, "msg")
            .unwrap_or_else(|| format!("Mandatory variable {name} not defined."));
        // AnsibleFilterError, not an undefined-variable error.
        return Err(ferr(msg));
    }
    Ok(v)
}

fn f_bool(_: &State, v: Value, _: Args) -> Result<Value, Error> {
    need(&v)?;
    Ok(to_bool_ansible(&v))
}

fn f_int(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    need(&v)?;
    let default = a.get(0, "default").unwrap_or(Value::from(0));
    let base = a.get(1, "base").and_then(|b| b.as_i64()).unwrap_or(10) as u32;
    Ok(match v.kind() {
        ValueKind::String => {
            let s = v.as_str().unwrap_or_default();
            match parse_py_int(s, base) {
                Some(n) => Value::from(n),
                None => match parse_py_float(s) {
                    Some(f) if f.is_finite() => Value::from(f.trunc() as i128),
                    _ => default,
                },
            }
        }
        ValueKind::Bool => Value::from(v.is_true() as i64),
        ValueKind::Number => {
            if v.is_integer() {
                v
            } else {
                let f = f64::try_from(v).unwrap_or(0.0);
                if f.is_finite() {
                    Value::from(f.trunc() as i128)
                } else {
                    default
                }
            }
        }
        _ => default,
    })
}

fn f_float(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    need(&v)?;
    let default = a.get(0, "default").unwrap_or(Value::from(0.0));
    Ok(match v.kind() {
        ValueKind::String => parse_py_float(v.as_str().unwrap_or_default())
            .map(Value::from)
            .unwrap_or(default),
        ValueKind::Bool => Value::from(v.is_true() as i64 as f64),
        ValueKind::Number => Value::from(f64::try_from(v).unwrap_or(0.0)),
        _ => default,
    })
}

fn f_string(_: &State, v: Value, _: Args) -> Result<Value, Error> {
    Ok(Value::from_safe_string(to_s(&v)?))
}

fn f_lower(_: &State, v: Value, _: Args) -> Result<Value, Error> {
    Ok(Value::from(to_s(&v)?.to_lowercase()))
}

fn f_upper(_: &State, v: Value, _: Args) -> Result<Value, Error> {
    Ok(Value::from(to_s(&v)?.to_uppercase()))
}

pub(crate) fn py_capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + &c.as_str().to_lowercase(),
        None => String::new(),
    }
}

fn f_capitalize(_: &State, v: Value, _: Args) -> Result<Value, Error> {
    Ok(Value::from(py_capitalize(&to_s(&v)?)))
}

fn f_title(_: &State, v: Value, _: Args) -> Result<Value, Error> {
    let s = to_s(&v)?;
    // Jinja: split on runs of `-`, whitespace, `(`, `{`, `[`, `<` and capitalize each piece
    let mut out = String::new();
    let mut word = String::new();
    let is_sep = |c: char| c == '-' || c.is_whitespace() || "({[<".contains(c);
    for c in s.chars() {
        if is_sep(c) {
            if !word.is_empty() {
                out.push_str(&py_capitalize(&word));
                word.clear();
            }
            out.push(c);
        } else {
            word.push(c);
        }
    }
    if !word.is_empty() {
        out.push_str(&py_capitalize(&word));
    }
    Ok(Value::from(out))
}

fn f_replace(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    let s = to_s(&v)?;
    let old = a.str(0, "old").unwrap_or_default();
    let new = a.str(1, "new").unwrap_or_default();
    let count = a.get(2, "count").and_then(|c| c.as_i64());
    Ok(Value::from(match count {
        Some(n) if n >= 0 => s.replacen(&old, &new, n as usize),
        _ => s.replace(&old, &new),
    }))
}

fn f_join(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    let sep = a.str(0, "d").unwrap_or_default();
    let attr = a.str(1, "attribute");
    let mut parts = Vec::new();
    for it in items(&v)? {
        let it = match &attr {
            Some(at) => more::get_path(&it, at),
            None => it,
        };
        parts.push(to_s(&it)?);
    }
    Ok(Value::from(parts.join(&sep)))
}

fn f_format(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    let s = to_s(&v)?;
    let args = if !a.kw.is_empty() {
        Value::from_pairs(
            a.kw.iter()
                .map(|(k, v)| (Value::from(k.as_str()), v.clone())),
        )
    } else {
        Value::from(a.pos.clone())
    };
    let args = if a.pos.len() == 1 && a.kw.is_empty() && a.pos[0].kind() == ValueKind::Seq {
        Value::from(vec![a.pos[0].clone()])
    } else {
        args
    };
    crate::pyfmt::percent_format(&s, &args).map(Value::from)
}

fn f_ternary(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    let t = a.get(0, "true_val").unwrap_or(Value::from(true));
    let f = a.get(1, "false_val").unwrap_or(Value::from(false));
    let n = a.get(2, "none_val");
    if v.is_none() {
        if let Some(n) = n {
            if !n.is_none() {
                return Ok(n);
            }
        }
    }
    need(&v)?;
    Ok(if v.is_true() { t } else { f })
}

fn f_type_debug(_: &State, v: Value, _: Args) -> Result<Value, Error> {
    need(&v)?;
    Ok(Value::from(crate::pyfmt::pytype(&v)))
}

fn f_to_json(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    let j = mj_to_json(&v).map_err(crate::error::to_mj)?;
    let ensure_ascii = a.kw("ensure_ascii").map(|v| v.is_true()).unwrap_or(true);
    let sort = a.kw("sort_keys").is_some_and(|v| v.is_true());
    let indent = a.kw("indent").and_then(|v| v.as_usize());
    let seps = json_separators(&a)?;
    Ok(Value::from_safe_string(more::py_json_dumps(
        &j,
        &more::JsonOpts {
            indent,
            sort,
            ensure_ascii,
            separators: seps.as_ref().map(|(i, k)| (i.as_str(), k.as_str())),
        },
    )))
}

/// The `separators=(item, key)` keyword of to_json/to_nice_json.
fn json_separators(a: &Args) -> Result<Option<(String, String)>, Error> {
    let Some(s) = a.kw("separators").filter(|s| !s.is_none()) else {
        return Ok(None);
    };
    let parts: Vec<Value> = s.try_iter()?.collect();
    match parts.as_slice() {
        [i, k] => Ok(Some((to_str_arg(i), to_str_arg(k)))),
        _ => Err(ferr(format!(
            "not enough values to unpack (expected 2, got {})",
            parts.len()
        ))),
    }
}

fn to_str_arg(v: &Value) -> String {
    v.as_str().map(str::to_owned).unwrap_or_else(|| py_str(v))
}

fn f_to_nice_json(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    let j = mj_to_json(&v).map_err(crate::error::to_mj)?;
    let indent = a.get(0, "indent").and_then(|v| v.as_usize()).unwrap_or(4);
    let sort = a.get(1, "sort_keys").map(|v| v.is_true()).unwrap_or(true);
    let ensure_ascii = a.kw("ensure_ascii").map(|v| v.is_true()).unwrap_or(true);
    let seps = json_separators(&a)?;
    Ok(Value::from_safe_string(more::py_json_dumps(
        &j,
        &more::JsonOpts {
            indent: Some(indent),
            sort,
            ensure_ascii,
            separators: seps.as_ref().map(|(i, k)| (i.as_str(), k.as_str())),
        },
    )))
}

fn f_from_json(_: &State, v: Value, _: Args) -> Result<Value, Error> {
    let s = to_s(&v)?;
    let j: serde_json::Value = serde_json::from_str(&s).map_err(|e| {
        let msg = rustle_yaml::pyjson::json_error(&s).unwrap_or_else(|| e.to_string());
        crate::error::to_mj(crate::TemplateError::new(
            crate::ErrorKind::PyValueError,
            msg,
        ))
    })?;
    Ok(json_to_mj(&j))
}

fn f_to_yaml(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    let j = mj_to_json(&v).map_err(crate::error::to_mj)?;
    let indent = a.kw("indent").and_then(|v| v.as_usize()).unwrap_or(2);
    let flow = a.kw("default_flow_style");
    let flow_mode = match flow {
        Some(f) if f.is_none() => crate::yaml_dump::Flow::Auto,
        Some(f) if f.is_true() => crate::yaml_dump::Flow::Always,
        Some(_) => crate::yaml_dump::Flow::Never,
        None => crate::yaml_dump::Flow::Auto,
    };
    let sort = a.kw("sort_keys").map(|v| v.is_true()).unwrap_or(true);
    let width = a.kw("width").and_then(|v| v.as_usize());
    Ok(Value::from_safe_string(crate::yaml_dump::dump(
        &j, indent, flow_mode, sort, width,
    )))
}

fn f_to_nice_yaml(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    let j = mj_to_json(&v).map_err(crate::error::to_mj)?;
    let indent = a.get(0, "indent").and_then(|v| v.as_usize()).unwrap_or(4);
    let sort = a.get(1, "sort_keys").map(|v| v.is_true()).unwrap_or(true);
    let width = a.kw("width").and_then(|v| v.as_usize());
    Ok(Value::from_safe_string(crate::yaml_dump::dump(
        &j,
        indent,
        crate::yaml_dump::Flow::Never,
        sort,
        width,
    )))
}

fn f_from_yaml(_: &State, v: Value, _: Args) -> Result<Value, Error> {
    if v.kind() != ValueKind::String {
        return Ok(v);
    }
    let s = to_s(&v)?;
    let (node, _) =
        rustle_yaml::load(&s, "<string>").map_err(|e| ferr(format!("from_yaml: {}", e.problem)))?;
    Ok(json_to_mj(&node.to_json()))
}

fn f_from_yaml_all(_: &State, v: Value, _: Args) -> Result<Value, Error> {
    if v.kind() != ValueKind::String {
        return Ok(v);
    }
    let s = to_s(&v)?;
    let loaded = rustle_yaml::load_all(&s, "<string>")
        .map_err(|e| ferr(format!("from_yaml_all: {}", e.problem)))?;
    Ok(Value::from(
        loaded
            .documents
            .iter()
            .map(|d| json_to_mj(&d.to_json()))
            .collect::<Vec<_>>(),
    ))
}

pub(crate) fn register(env: &mut Environment<'static>, shared: Arc<Shared>) {
    add(env, "default", f_default);
    add(env, "d", f_default);
    add(env, "mandatory", f_mandatory);
    add(env, "bool", f_bool);
    add(env, "int", f_int);
    add(env, "float", f_float);
    add(env, "string", f_string);
    add(env, "lower", f_lower);
    add(env, "upper", f_upper);
    add(env, "capitalize", f_capitalize);
    add(env, "title", f_title);
    add(env, "replace", f_replace);
    add(env, "join", f_join);
    add(env, "format", f_format);
    add(env, "vault", vault::f_vault);
    add(env, "unvault", vault::f_unvault);
    add(env, "ternary", f_ternary);
    add(env, "type_debug", f_type_debug);
    add(env, "to_json", f_to_json);
    add(env, "to_nice_json", f_to_nice_json);
    add(env, "from_json", f_from_json);
    add(env, "to_yaml", f_to_yaml);
    add(env, "to_nice_yaml", f_to_nice_yaml);
    add(env, "from_yaml", f_from_yaml);
    add(env, "from_yaml_all", f_from_yaml_all);
    more::register(env, shared);
}
