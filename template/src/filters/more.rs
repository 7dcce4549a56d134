//! Ansible's collection, regex, path, hashing and misc filters.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use minijinja::value::{Value, ValueKind};
use minijinja::{Environment, Error, State};
use serde_json::Value as JV;

use super::{add, items, need, to_s, Args};
use crate::error::{ferr, fterr};
use crate::pyrepr::{float_repr, py_repr, py_str, repr_str};
use crate::Shared;

/// `a.b.c` attribute path (Jinja's `attribute=` with dots; ints index lists).
pub(crate) fn get_path(v: &Value, path: &str) -> Value {
    let mut cur = v.clone();
    for part in path.split('.') {
        let next = cur.get_attr(part).ok().filter(|x| !x.is_undefined());
        cur = match next {
            Some(n) => n,
            None => match part.parse::<i64>() {
                Ok(i) => cur.get_item(&Value::from(i)).unwrap_or_default(),
                Err(_) => cur.get_item(&Value::from(part)).unwrap_or_default(),
            },
        };
    }
    cur
}

fn json_str(s: &str, ensure_ascii: bool, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if ensure_ascii && (c as u32) > 0x7e => {
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

/// Python `json.dumps`.
/// `json.dumps` options the filters pass through.
pub(crate) struct JsonOpts<'a> {
    pub indent: Option<usize>,
    pub sort: bool,
    pub ensure_ascii: bool,
    /// `separators=(item, key)`; Python's default is `(', ', ': ')`, or
    /// `(',', ': ')` when indenting.
    pub separators: Option<(&'a str, &'a str)>,
}

pub(crate) fn py_json_dumps(v: &JV, o: &JsonOpts<'_>) -> String {
    let mut out = String::new();
    dump_json(v, o, 0, &mut out);
    out
}

fn dump_json(v: &JV, o: &JsonOpts<'_>, level: usize, out: &mut String) {
    let (item_sep, key_sep) = match (o.separators, o.indent) {
        (Some(s), _) => s,
        (None, Some(_)) => (",", ": "),
        (None, None) => (", ", ": "),
    };
    let nl = o.indent.is_some();
    let ea = o.ensure_ascii;
    let pad = |out: &mut String, l: usize| {
        if let Some(n) = o.indent {
            out.push('\n');
            out.push_str(&" ".repeat(n * l));
        }
    };
    match v {
        JV::Null => out.push_str("null"),
        JV::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        JV::Number(n) => {
            if n.is_f64() {
                let f = n.as_f64().unwrap_or(0.0);
                out.push_str(
                    &float_repr(f)
                        .replace("inf", "Infinity")
                        .replace("nan", "NaN"),
                );
            } else {
                out.push_str(&n.to_string());
            }
        }
        JV::String(s) => json_str(s, ea, out),
        JV::Array(a) => {
            if a.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                if nl {
                    pad(out, level + 1);
                }
                dump_json(x, o, level + 1, out);
            }
            if nl {
                pad(out, level);
            }
            out.push(']');
        }
        JV::Object(m) => {
            if m.is_empty() {
                out.push_str("{}");
                return;
            }
            let mut keys: Vec<&String> = m.keys().collect();
            if o.sort {
                keys.sort();
            }
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                if nl {
                    pad(out, level + 1);
                }
                json_str(k, ea, out);
                out.push_str(key_sep);
                dump_json(&m[k.as_str()], o, level + 1, out);
            }
            if nl {
                pad(out, level);
            }
            out.push('}');
        }
    }
}

// ---------------------------------------------------------------- regex

/// Compiles a Python regular expression.
pub(crate) fn py_regex(
    pat: &str,
    ignorecase: bool,
    multiline: bool,
) -> Result<fancy_regex::Regex, Error> {
    let mut p = String::new();
    let mut flags = String::new();
    if ignorecase {
        flags.push('i');
    }
    if multiline {
        flags.push('m');
    }
    if !flags.is_empty() {
        p.push_str(&format!("(?{flags})"));
    }
    // \Z → \z
    let mut chars = pat.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('Z') => p.push_str("\\z"),
                Some(n) => {
                    p.push('\\');
                    p.push(n);
                }
                None => p.push('\\'),
            }
        } else {
            p.push(c);
        }
    }
    fancy_regex::Regex::new(&p)
        .map_err(|e| ferr(format!("invalid regular expression {pat:?}: {e}")))
}

/// Python `re.sub` replacement template → expansion with explicit groups.
fn expand_repl(caps: &fancy_regex::Captures, repl: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = repl.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && i + 1 < chars.len() {
            let n = chars[i + 1];
            if n.is_ascii_digit() {
                let mut j = i + 1;
                let mut num = String::new();
                while j < chars.len() && chars[j].is_ascii_digit() && num.len() < 2 {
                    num.push(chars[j]);
                    j += 1;
                }
                let idx: usize = num.parse().unwrap_or(0);
                out.push_str(caps.get(idx).map(|m| m.as_str()).unwrap_or(""));
                i = j;
                continue;
            }
            if n == 'g' && chars.get(i + 2) == Some(&'<') {
                if let Some(end) = chars[i + 3..].iter().position(|c| *c == '>') {
                    let name: String = chars[i + 3..i + 3 + end].iter().collect();
                    let m = match name.parse::<usize>() {
                        Ok(idx) => caps.get(idx),
                        Err(_) => caps.name(&name),
                    };
                    out.push_str(m.map(|m| m.as_str()).unwrap_or(""));
                    i += 4 + end;
                    continue;
                }
            }
            let esc = match n {
                'n' => Some('\n'),
                't' => Some('\t'),
                'r' => Some('\r'),
                '\\' => Some('\\'),
                'a' => Some('\x07'),
                'f' => Some('\x0c'),
                'v' => Some('\x0b'),
                _ => None,
            };
            match esc {
                Some(e) => out.push(e),
                None => {
                    out.push('\\');
                    out.push(n);
                }
            }
            i += 2;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

fn f_regex_replace(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    let s = to_s(&v)?;
    let pat = a.str(0, "pattern").unwrap_or_default();
    let repl = a.str(1, "replacement").unwrap_or_default();
    let re = py_regex(&pat, a.flag(2, "ignorecase"), a.flag(3, "multiline"))?;
    let count = a.get(4, "count").and_then(|c| c.as_i64()).unwrap_or(0);
    let mandatory = a
        .get(5, "mandatory_count")
        .and_then(|c| c.as_i64())
        .unwrap_or(0);
    let mut out = String::new();
    let mut last = 0;
    let mut n = 0i64;
    for caps in re.captures_iter(&s) {
        let caps = caps.map_err(|e| ferr(e.to_string()))?;
        if count > 0 && n >= count {
            break;
        }
        let Some(m) = caps.get(0) else { continue };
        out.push_str(&s[last..m.start()]);
        out.push_str(&expand_repl(&caps, &repl));
        last = m.end();
        n += 1;
    }
    out.push_str(&s[last..]);
    if mandatory > 0 && n != mandatory {
        return Err(ferr(format!(
            "'{pat}' should match {mandatory} times, but matches {n} times in '{s}'"
        )));
    }
    Ok(Value::from(out))
}

fn f_regex_search(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    let s = to_s(&v)?;
    let pat = a.str(0, "regex").unwrap_or_default();
    let re = py_regex(
        &pat,
        a.kw("ignorecase").is_some_and(|v| v.is_true()),
        a.kw("multiline").is_some_and(|v| v.is_true()),
    )?;
    let mut groups: Vec<Result<usize, String>> = Vec::new();
    for g in a.pos.iter().skip(1) {
        let g = py_str(g);
        if let Some(r) = g.strip_prefix("\\g<").and_then(|r| r.strip_suffix('>')) {
            groups.push(r.parse::<usize>().map_err(|_| r.to_string()));
        } else if let Some(r) = g.strip_prefix('\\') {
            groups.push(Ok(r
                .parse::<usize>()
                .map_err(|_| ferr("Unknown argument"))?));
        } else {
            return Err(ferr("Unknown argument"));
        }
    }
    let caps = re.captures(&s).map_err(|e| ferr(e.to_string()))?;
    let Some(caps) = caps else {
        return Ok(Value::from(()));
    };
    if groups.is_empty() {
        return Ok(Value::from(caps.get(0).map(|m| m.as_str()).unwrap_or("")));
    }
    Ok(Value::from(
        groups
            .iter()
            .map(|g| {
                let m = match g {
                    Ok(i) => caps.get(*i),
                    Err(n) => caps.name(n),
                };
                m.map(|m| Value::from(m.as_str()))
                    .unwrap_or(Value::from(()))
            })
            .collect::<Vec<_>>(),
    ))
}

fn f_regex_findall(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    let s = to_s(&v)?;
    let pat = a.str(0, "regex").unwrap_or_default();
    let re = py_regex(&pat, a.flag(2, "ignorecase"), a.flag(1, "multiline"))?;
    let ngroups = re.captures_len() - 1;
    let mut out = Vec::new();
    for caps in re.captures_iter(&s) {
        let caps = caps.map_err(|e| ferr(e.to_string()))?;
        let g = |i: usize| Value::from(caps.get(i).map(|m| m.as_str()).unwrap_or(""));
        out.push(match ngroups {
            0 => g(0),
            1 => g(1),
            n => Value::from((1..=n).map(g).collect::<Vec<_>>()),
        });
    }
    Ok(Value::from(out))
}

fn f_regex_escape(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    let s = to_s(&v)?;
    let re_type = a.str(0, "re_type").unwrap_or_else(|| "python".into());
    let mut out = String::new();
    if re_type == "posix_basic" {
        for c in s.chars() {
            if ".[]\\*^$".contains(c) {
                out.push('\\');
            }
            out.push(c);
        }
        return Ok(Value::from(out));
    }
    if re_type != "python" {
        return Err(ferr(format!("Invalid regex type ({re_type})")));
    }
    for c in s.chars() {
        if "()[]{}?*+-|^$\\.&~# \t\n\r\x0b\x0c".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    Ok(Value::from(out))
}

// ---------------------------------------------------------- collections

fn merge_rec(a: &Value, b: &Value, recursive: bool, list_merge: &str) -> Value {
    if a.kind() != ValueKind::Map || b.kind() != ValueKind::Map {
        return b.clone();
    }
    let mut pairs: Vec<(Value, Value)> = a
        .try_iter()
        .map(|i| {
            i.map(|k| {
                let v = a.get_item(&k).unwrap_or_default();
                (k, v)
            })
            .collect()
        })
        .unwrap_or_default();
    for k in b
        .try_iter()
        .map(|i| i.collect::<Vec<_>>())
        .unwrap_or_default()
    {
        let bv = b.get_item(&k).unwrap_or_default();
        let pos = pairs.iter().position(|(pk, _)| *pk == k);
        let newv = match pos {
            Some(p) => {
                let av = &pairs[p].1;
                if recursive && av.kind() == ValueKind::Map && bv.kind() == ValueKind::Map {
                    merge_rec(av, &bv, recursive, list_merge)
                } else if av.kind() == ValueKind::Seq
                    && bv.kind() == ValueKind::Seq
                    && list_merge != "replace"
                {
                    let al: Vec<Value> = av.try_iter().map(|i| i.collect()).unwrap_or_default();
                    let bl: Vec<Value> = bv.try_iter().map(|i| i.collect()).unwrap_or_default();
                    let merged: Vec<Value> = match list_merge {
                        "keep" => al,
                        "append" => al.into_iter().chain(bl).collect(),
                        "prepend" => bl.into_iter().chain(al).collect(),
                        "append_rp" => {
                            let mut r: Vec<Value> =
                                al.into_iter().filter(|x| !bl.contains(x)).collect();
                            r.extend(bl);
                            r
                        }
                        "prepend_rp" => {
                            let rest: Vec<Value> =
                                al.into_iter().filter(|x| !bl.contains(x)).collect();
                            bl.into_iter().chain(rest).collect()
                        }
                        _ => bl,
                    };
                    Value::from(merged)
                } else {
                    bv.clone()
                }
            }
            None => bv.clone(),
        };
        match pos {
            Some(p) => pairs[p].1 = newv,
            None => pairs.push((k, newv)),
        }
    }
    Value::from_pairs(pairs)
}

fn f_combine(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    if a.kw
        .iter()
        .any(|(k, _)| k != "recursive" && k != "list_merge")
    {
        return Err(ferr(
            "'recursive' and 'list_merge' are the only valid keyword arguments",
        ));
    }
    let recursive = a.kw("recursive").is_some_and(|v| v.is_true());
    let list_merge = a
        .kw("list_merge")
        .map(|v| py_str(&v))
        .unwrap_or_else(|| "replace".into());
    // `flatten(terms, levels=1)`: the input and each argument may be a
    // list of dicts; nulls are dropped.
    let is_null = |x: &Value| x.is_none() || matches!(x.as_str(), Some("None") | Some("null"));
    let mut dicts = Vec::new();
    for t in std::iter::once(&v).chain(a.pos.iter()) {
        if is_null(t) {
            continue;
        }
        if t.kind() == ValueKind::Seq {
            dicts.extend(t.try_iter()?.filter(|x| !is_null(x)));
        } else {
            dicts.push(t.clone());
        }
    }
    for d in &dicts {
        need(d)?;
    }
    let Some(mut acc) = dicts.pop() else {
        return Ok(Value::from_pairs(Vec::<(Value, Value)>::new()));
    };
    if dicts.is_empty() {
        return Ok(acc);
    }
    if ![
        "replace",
        "keep",
        "append",
        "prepend",
        "append_rp",
        "prepend_rp",
    ]
    .contains(&list_merge.as_str())
    {
        return Err(ferr("merge_hash: 'list_merge' argument can only be equal to 'replace', 'keep', 'append', 'prepend', 'append_rp' or 'prepend_rp'"));
    }
    // Merged from the highest priority (last) down, as merge_hash(low, high).
    for d in dicts.iter().rev() {
        if d.kind() != ValueKind::Map || acc.kind() != ValueKind::Map {
            return Err(ferr(format!(
                "failed to combine variables, expected dicts but got a '{}' and a '{}'.",
                crate::pyfmt::pytype(d),
                crate::pyfmt::pytype(&acc),
            )));
        }
        acc = merge_rec(d, &acc, recursive, &list_merge);
    }
    Ok(acc)
}

fn f_dict2items(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    need(&v)?;
    if v.kind() != ValueKind::Map {
        return Err(ferr(format!(
            "dict2items requires a dictionary, got {} instead.",
            crate::pyfmt::pytype(&v)
        )));
    }
    let kn = a.str(0, "key_name").unwrap_or_else(|| "key".into());
    let vn = a.str(1, "value_name").unwrap_or_else(|| "value".into());
    let mut out = Vec::new();
    for k in v.try_iter()? {
        let val = v.get_item(&k)?;
        out.push(Value::from_pairs(vec![
            (Value::from(kn.as_str()), k),
            (Value::from(vn.as_str()), val),
        ]));
    }
    Ok(Value::from(out))
}

fn f_items2dict(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    let kn = a.str(0, "key_name").unwrap_or_else(|| "key".into());
    let vn = a.str(1, "value_name").unwrap_or_else(|| "value".into());
    let mut pairs = Vec::new();
    for it in items(&v)? {
        if it.kind() != ValueKind::Map {
            return Err(ferr(format!(
                "items2dict requires a list of dictionaries, got {} instead.",
                crate::pyfmt::pytype(&it)
            )));
        }
        let k = it.get_item(&Value::from(kn.as_str()))?;
        let val = it.get_item(&Value::from(vn.as_str()))?;
        if k.is_undefined() || val.is_undefined() {
            return Err(ferr(format!(
                "key_name ({kn}) or value_name ({vn}) not found in {}",
                py_str(&it)
            )));
        }
        pairs.push((k, val));
    }
    Ok(Value::from_pairs(pairs))
}

fn f_zip(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    let mut lists = vec![items(&v)?];
    for p in &a.pos {
        lists.push(items(p)?);
    }
    let n = lists.iter().map(Vec::len).min().unwrap_or(0);
    Ok(Value::from(
        (0..n)
            .map(|i| Value::from(lists.iter().map(|l| l[i].clone()).collect::<Vec<_>>()))
            .collect::<Vec<_>>(),
    ))
}

fn f_zip_longest(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    let fill = a.kw("fillvalue").unwrap_or(Value::from(()));
    let mut lists = vec![items(&v)?];
    for p in &a.pos {
        lists.push(items(p)?);
    }
    let n = lists.iter().map(Vec::len).max().unwrap_or(0);
    Ok(Value::from(
        (0..n)
            .map(|i| {
                Value::from(
                    lists
                        .iter()
                        .map(|l| l.get(i).cloned().unwrap_or(fill.clone()))
                        .collect::<Vec<_>>(),
                )
            })
            .collect::<Vec<_>>(),
    ))
}

fn flatten_into(v: &[Value], levels: Option<i64>, skip_nulls: bool, out: &mut Vec<Value>) {
    for el in v {
        if skip_nulls && (el.is_none() || el.as_str() == Some("None")) {
            continue;
        }
        if el.kind() == ValueKind::Seq && levels.is_none_or(|l| l > 0) {
            let inner: Vec<Value> = el.try_iter().map(|i| i.collect()).unwrap_or_default();
            flatten_into(&inner, levels.map(|l| l - 1), skip_nulls, out);
        } else {
            out.push(el.clone());
        }
    }
}

fn f_flatten(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    let levels = a.get(0, "levels").and_then(|l| l.as_i64());
    let skip_nulls = a.get(1, "skip_nulls").map(|v| v.is_true()).unwrap_or(true);
    let mut out = Vec::new();
    flatten_into(&items(&v)?, levels, skip_nulls, &mut out);
    Ok(Value::from(out))
}

fn uniq(list: Vec<Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for x in list {
        if !out.contains(&x) {
            out.push(x);
        }
    }
    out
}

fn f_unique(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    let list = items(&v)?;
    // Ansible hands `bool(case_sensitive)` to Jinja2's unique, so the
    // default (None) compares strings case-insensitively.
    let cs_arg = a.get(0, "case_sensitive");
    let case_sensitive = cs_arg.as_ref().map(|v| v.is_true());
    let attr = a.str(1, "attribute");
    // Jinja2 hashes each key: a dict or list key makes it fail. Ansible then
    // refuses when `case_sensitive=False` or `attribute` was given, and
    // otherwise falls back to its own (case-sensitive) list-based unique.
    let unhashable = list.iter().find_map(|x| {
        let key = match &attr {
            Some(at) => get_path(x, at),
            None => x.clone(),
        };
        match key.kind() {
            ValueKind::Map => Some("dict"),
            ValueKind::Seq => Some("list"),
            _ => None,
        }
    });
    if let Some(ty) = unhashable {
        let explicit_false = cs_arg
            .as_ref()
            .is_some_and(|v| v.kind() == ValueKind::Bool && !v.is_true());
        if explicit_false || attr.is_some() {
            return Err(ferr(format!(
                "Jinja2's unique filter failed and we cannot fall back to Ansible's version as it does not support the parameters supplied. unhashable type: '{ty}'"
            )));
        }
        return Ok(Value::from(uniq(list)));
    }
    if case_sensitive != Some(true) || attr.is_some() {
        let mut seen: Vec<Value> = Vec::new();
        let mut out = Vec::new();
        for x in list {
            let key = match &attr {
                Some(at) => get_path(&x, at),
                None => x.clone(),
            };
            let key = match (case_sensitive != Some(true), key.as_str()) {
                (true, Some(s)) => Value::from(s.to_lowercase()),
                _ => key,
            };
            if !seen.contains(&key) {
                seen.push(key);
                out.push(x);
            }
        }
        return Ok(Value::from(out));
    }
    Ok(Value::from(uniq(list)))
}

fn f_union(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    let mut l = items(&v)?;
    l.extend(items(&a.get(0, "b").unwrap_or_default())?);
    Ok(Value::from(uniq(l)))
}

fn f_intersect(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    let b = items(&a.get(0, "b").unwrap_or_default())?;
    Ok(Value::from(uniq(
        items(&v)?.into_iter().filter(|x| b.contains(x)).collect(),
    )))
}

fn f_difference(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    let b = items(&a.get(0, "b").unwrap_or_default())?;
    Ok(Value::from(uniq(
        items(&v)?.into_iter().filter(|x| !b.contains(x)).collect(),
    )))
}

fn f_symmetric_difference(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    let av = items(&v)?;
    let b = items(&a.get(0, "b").unwrap_or_default())?;
    let u = uniq(av.iter().cloned().chain(b.iter().cloned()).collect());
    let i: Vec<Value> = uniq(av.iter().filter(|x| b.contains(x)).cloned().collect());
    Ok(Value::from(
        u.into_iter().filter(|x| !i.contains(x)).collect::<Vec<_>>(),
    ))
}

fn minmax(v: Value, a: Args, want_max: bool) -> Result<Value, Error> {
    let list = items(&v)?;
    let attr = a.kw("attribute").map(|x| py_str(&x));
    let cs = a.kw("case_sensitive").is_some_and(|x| x.is_true());
    let key = |x: &Value| -> Value {
        let k = match &attr {
            Some(at) => get_path(x, at),
            None => x.clone(),
        };
        match (cs, k.as_str()) {
            (false, Some(s)) => Value::from(s.to_lowercase()),
            _ => k,
        }
    };
    let mut best: Option<(Value, Value)> = None;
    for x in list {
        let k = key(&x);
        let better = match &best {
            None => true,
            Some((bk, _)) => {
                if want_max {
                    k > *bk
                } else {
                    k < *bk
                }
            }
        };
        if better {
            best = Some((k, x));
        }
    }
    Ok(best.map(|b| b.1).unwrap_or(Value::UNDEFINED))
}

fn f_min(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    minmax(v, a, false)
}

fn f_max(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    minmax(v, a, true)
}

/// `rekey_on_member`: a list (or a dict's values) of dicts into a dict
/// keyed by each one's `key`.
fn f_rekey_on_member(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    let key = a.get(0, "key").unwrap_or_default();
    let duplicates = a.str(1, "duplicates").unwrap_or_else(|| "error".into());
    if duplicates != "error" && duplicates != "overwrite" {
        return Err(ferr(format!(
            "duplicates parameter to rekey_on_member has unknown value: {duplicates}"
        )));
    }
    need(&v)?;
    need(&key)?;
    let list: Vec<Value> = match v.kind() {
        ValueKind::Map => v
            .try_iter()?
            .map(|k| v.get_item(&k).unwrap_or_default())
            .collect(),
        ValueKind::Seq | ValueKind::Iterable => v.try_iter()?.collect(),
        _ => return Err(fterr("Type is not a valid list, set, or dict")),
    };
    let mut out: Vec<(Value, Value)> = Vec::new();
    for item in list {
        if item.kind() != ValueKind::Map {
            return Err(fterr("List item is not a valid dict"));
        }
        let k = match item.get_item(&key) {
            Ok(k) if !k.is_undefined() => k,
            _ => return Err(ferr(format!("Key {} was not found", py_str(&key)))),
        };
        match out.iter_mut().find(|(ek, _)| *ek == k) {
            Some(_) if duplicates == "error" => {
                return Err(ferr(format!(
                    "Key {} is not unique, cannot correctly turn into dict",
                    py_str(&k)
                )))
            }
            Some(entry) => entry.1 = item,
            None => out.push((k, item)),
        }
    }
    Ok(Value::from_pairs(out))
}

fn f_subelements(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    let list = match v.kind() {
        ValueKind::Map => v
            .try_iter()?
            .map(|k| v.get_item(&k).unwrap_or_default())
            .collect(),
        _ => items(&v)?,
    };
    let sub = a.get(0, "subelements").unwrap_or_default();
    let skip_missing = a.flag(1, "skip_missing");
    let path: Vec<String> = match sub.kind() {
        ValueKind::String => sub
            .as_str()
            .unwrap_or_default()
            .split('.')
            .map(String::from)
            .collect(),
        ValueKind::Seq => sub.try_iter()?.map(|x| py_str(&x)).collect(),
        _ => return Err(ferr("subelements must be a list or a string")),
    };
    let mut out = Vec::new();
    for el in list {
        let mut values = el.clone();
        let mut missing = false;
        for p in &path {
            let next = values
                .get_item(&Value::from(p.as_str()))
                .unwrap_or_default();
            if next.is_undefined() {
                if skip_missing {
                    missing = true;
                    break;
                }
                return Err(ferr(format!(
                    "could not find '{p}' key in iterated item '{}'",
                    py_str(&values)
                )));
            }
            values = next;
        }
        if missing {
            continue;
        }
        if values.kind() != ValueKind::Seq {
            let mut got = String::new();
            py_repr(&values, &mut got);
            return Err(fterr(format!(
                "the key {} should point to a list, got {got}",
                repr_str(&path.last().cloned().unwrap_or_default()),
            )));
        }
        for s in values.try_iter()? {
            out.push(Value::from(vec![el.clone(), s]));
        }
    }
    Ok(Value::from(out))
}

fn f_product(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    let mut lists = vec![items(&v)?];
    for p in &a.pos {
        lists.push(items(p)?);
    }
    let repeat = a.kw("repeat").and_then(|r| r.as_usize()).unwrap_or(1);
    let base = lists.clone();
    for _ in 1..repeat {
        lists.extend(base.clone());
    }
    let mut acc: Vec<Vec<Value>> = vec![vec![]];
    for l in &lists {
        let mut next = Vec::new();
        for prefix in &acc {
            for x in l {
                let mut p = prefix.clone();
                p.push(x.clone());
                next.push(p);
            }
        }
        acc = next;
    }
    Ok(Value::from(
        acc.into_iter().map(Value::from).collect::<Vec<_>>(),
    ))
}

fn perms(
    pool: &[Value],
    r: usize,
    used: &mut Vec<bool>,
    cur: &mut Vec<Value>,
    out: &mut Vec<Value>,
) {
    if cur.len() == r {
        out.push(Value::from(cur.clone()));
        return;
    }
    for i in 0..pool.len() {
        if !used[i] {
            used[i] = true;
            cur.push(pool[i].clone());
            perms(pool, r, used, cur, out);
            cur.pop();
            used[i] = false;
        }
    }
}

fn f_permutations(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    let pool = items(&v)?;
    let r = a
        .get(0, "r")
        .and_then(|r| r.as_usize())
        .unwrap_or(pool.len());
    let mut out = Vec::new();
    if r <= pool.len() {
        perms(
            &pool,
            r,
            &mut vec![false; pool.len()],
            &mut Vec::new(),
            &mut out,
        );
    }
    Ok(Value::from(out))
}

fn combs(pool: &[Value], r: usize, start: usize, cur: &mut Vec<Value>, out: &mut Vec<Value>) {
    if cur.len() == r {
        out.push(Value::from(cur.clone()));
        return;
    }
    for i in start..pool.len() {
        cur.push(pool[i].clone());
        combs(pool, r, i + 1, cur, out);
        cur.pop();
    }
}

fn f_combinations(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    let pool = items(&v)?;
    let r = a.get(0, "r").and_then(|r| r.as_usize()).unwrap_or(0);
    let mut out = Vec::new();
    combs(&pool, r, 0, &mut Vec::new(), &mut out);
    Ok(Value::from(out))
}

/// `Random(seed)`, or a randomly seeded generator without a seed.
fn rng(seed: Option<Value>) -> crate::pyrandom::PyRandom {
    use crate::pyrandom::PyRandom;
    let Some(s) = seed.filter(|s| !s.is_none() && !s.is_undefined()) else {
        return PyRandom::from_int(u128::from(fastrand::u64(..)));
    };
    if let Some(st) = s.as_str() {
        return PyRandom::from_str(st);
    }
    if s.kind() == ValueKind::Bool {
        return PyRandom::from_int(u128::from(s.is_true()));
    }
    if let Ok(i) = i128::try_from(s.clone()) {
        return PyRandom::from_int(i.unsigned_abs());
    }
    // Other seeds (non-integral floats) are hashed by Python; their text
    // is the closest stable stand-in.
    PyRandom::from_str(&py_str(&s))
}

fn f_random(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    need(&v)?;
    let mut r = rng(a.kw("seed"));
    let start = a.get(0, "start").filter(|s| s.is_true());
    let step = a.get(1, "step").filter(|s| s.is_true());
    if v.is_integer() {
        // Random.randrange(start or 0, end, step or 1)
        let end = v.as_i64().unwrap_or(0);
        let start = start.and_then(|s| s.as_i64()).unwrap_or(0);
        let step = step.and_then(|s| s.as_i64()).unwrap_or(1);
        let width = end - start;
        if step == 1 {
            if width <= 0 {
                return Err(ferr(format!(
                    "empty range for randrange() ({start}, {end}, {width})"
                )));
            }
            return Ok(Value::from(start + r.randbelow(width as u64) as i64));
        }
        let n = match step {
            0 => return Err(ferr("zero step for randrange()")),
            s if s > 0 => (width + s - 1).div_euclid(s),
            s => (width + s + 1).div_euclid(s),
        };
        if n <= 0 {
            return Err(ferr("empty range for randrange()"));
        }
        return Ok(Value::from(start + step * r.randbelow(n as u64) as i64));
    }
    if !matches!(
        v.kind(),
        ValueKind::Seq | ValueKind::Map | ValueKind::String | ValueKind::Iterable
    ) {
        return Err(ferr("random can only be used on sequences and integers"));
    }
    if start.is_some() || step.is_some() {
        return Err(ferr("start and step can only be used with integer values"));
    }
    let list = items(&v)?;
    if list.is_empty() {
        return Err(ferr("Cannot choose from an empty sequence"));
    }
    Ok(list[r.randbelow(list.len() as u64) as usize].clone())
}

fn f_shuffle(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    let mut list = items(&v)?;
    // Ansible seeds only with a truthy seed.
    let mut r = rng(a.get(0, "seed").filter(|s| s.is_true()));
    r.shuffle(&mut list);
    Ok(Value::from(list))
}

// ---------------------------------------------------------------- paths

fn f_basename(_: &State, v: Value, _: Args) -> Result<Value, Error> {
    let s = to_s(&v)?;
    Ok(Value::from(s.rsplit('/').next().unwrap_or("")))
}

fn f_dirname(_: &State, v: Value, _: Args) -> Result<Value, Error> {
    let s = to_s(&v)?;
    Ok(Value::from(match s.rfind('/') {
        Some(i) => {
            let head = &s[..=i];
            let trimmed = head.trim_end_matches('/');
            if trimmed.is_empty() {
                head.to_string()
            } else {
                trimmed.to_string()
            }
        }
        None => String::new(),
    }))
}

fn home_dir() -> String {
    std::env::var("HOME").unwrap_or_else(|_| "/root".into())
}

fn expanduser(s: &str) -> String {
    if s == "~" {
        return home_dir();
    }
    if let Some(r) = s.strip_prefix("~/") {
        return format!("{}/{r}", home_dir().trim_end_matches('/'));
    }
    s.to_string()
}

fn f_expanduser(_: &State, v: Value, _: Args) -> Result<Value, Error> {
    Ok(Value::from(expanduser(&to_s(&v)?)))
}

fn expandvars(s: &str) -> String {
    let re = fancy_regex::Regex::new(r"\$(\w+|\{[^}]*\})").ok();
    let Some(re) = re else { return s.to_string() };
    let mut out = String::new();
    let mut last = 0;
    for c in re.captures_iter(s).flatten() {
        let Some(m) = c.get(0) else { continue };
        let name = c.get(1).map(|m| m.as_str()).unwrap_or("");
        let name = name.trim_start_matches('{').trim_end_matches('}');
        out.push_str(&s[last..m.start()]);
        match std::env::var(name) {
            Ok(val) => out.push_str(&val),
            Err(_) => out.push_str(m.as_str()),
        }
        last = m.end();
    }
    out.push_str(&s[last..]);
    out
}

fn f_expandvars(_: &State, v: Value, _: Args) -> Result<Value, Error> {
    Ok(Value::from(expandvars(&to_s(&v)?)))
}

/// `os.path.normpath`.
pub(crate) fn normpath(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let initial = if p.starts_with("//") && !p.starts_with("///") {
        2
    } else if p.starts_with('/') {
        1
    } else {
        0
    };
    let mut comps: Vec<&str> = Vec::new();
    for c in p.split('/') {
        if c.is_empty() || c == "." {
            continue;
        }
        if c != ".." || (initial == 0 && comps.is_empty()) || comps.last() == Some(&"..") {
            comps.push(c);
        } else if !comps.is_empty() {
            comps.pop();
        }
    }
    let mut out = "/".repeat(initial);
    out.push_str(&comps.join("/"));
    if out.is_empty() {
        ".".into()
    } else {
        out
    }
}

fn abspath(p: &str) -> String {
    if p.starts_with('/') {
        normpath(p)
    } else {
        let cwd = std::env::current_dir()
            .map(|d| d.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "/".into());
        normpath(&format!("{cwd}/{p}"))
    }
}

fn f_realpath(_: &State, v: Value, _: Args) -> Result<Value, Error> {
    let s = to_s(&v)?;
    let abs = abspath(&s);
    // resolve symlinks of the longest existing prefix
    let p = Path::new(&abs);
    let mut existing = p.to_path_buf();
    let mut rest: Vec<String> = Vec::new();
    while !existing.exists() {
        match (existing.file_name(), existing.parent()) {
            (Some(f), Some(parent)) => {
                rest.push(f.to_string_lossy().into_owned());
                existing = parent.to_path_buf();
            }
            _ => break,
        }
    }
    let mut base = std::fs::canonicalize(&existing).unwrap_or(existing);
    for r in rest.iter().rev() {
        base.push(r);
    }
    Ok(Value::from(base.to_string_lossy().into_owned()))
}

fn f_relpath(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    let s = abspath(&to_s(&v)?);
    let start = abspath(&a.str(0, "start").unwrap_or_else(|| ".".into()));
    let sp: Vec<&str> = s.split('/').filter(|x| !x.is_empty()).collect();
    let tp: Vec<&str> = start.split('/').filter(|x| !x.is_empty()).collect();
    let common = sp.iter().zip(tp.iter()).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<&str> = vec![".."; tp.len() - common];
    parts.extend(&sp[common..]);
    Ok(Value::from(if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }))
}

fn f_splitext(_: &State, v: Value, _: Args) -> Result<Value, Error> {
    let s = to_s(&v)?;
    let base_start = s.rfind('/').map(|i| i + 1).unwrap_or(0);
    let base = &s[base_start..];
    let leading = base.len() - base.trim_start_matches('.').len();
    let (root, ext) = match base[leading..].rfind('.') {
        Some(i) => {
            let i = base_start + leading + i;
            (s[..i].to_string(), s[i..].to_string())
        }
        None => (s.clone(), String::new()),
    };
    Ok(Value::from_object(crate::pyrepr::PyTuple(vec![
        Value::from(root),
        Value::from(ext),
    ])))
}

fn f_path_join(_: &State, v: Value, _: Args) -> Result<Value, Error> {
    need(&v)?;
    let parts: Vec<String> = match v.kind() {
        ValueKind::String => return Ok(v),
        ValueKind::Seq => v.try_iter()?.map(|x| py_str(&x)).collect(),
        _ => {
            return Err(ferr(format!(
                "|path_join expects string or sequence, got {} instead.",
                crate::pyfmt::pytype(&v)
            )))
        }
    };
    let mut out = String::new();
    for p in parts {
        if p.starts_with('/') {
            out = p;
        } else if out.is_empty() || out.ends_with('/') {
            out.push_str(&p);
        } else {
            out.push('/');
            out.push_str(&p);
        }
    }
    Ok(Value::from(out))
}

pub(crate) fn glob_paths(pattern: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(paths) = glob::glob(pattern) {
        for p in paths.flatten() {
            out.push(p.to_string_lossy().into_owned());
        }
    }
    out
}

fn f_fileglob(_: &State, v: Value, _: Args) -> Result<Value, Error> {
    let s = to_s(&v)?;
    Ok(Value::from(
        glob_paths(&s)
            .into_iter()
            .filter(|p| Path::new(p).is_file())
            .map(Value::from)
            .collect::<Vec<_>>(),
    ))
}

/// `ntpath.splitdrive`: a drive letter (`C:`) or UNC share
/// (`\\\\server\\share`) and the rest.
fn nt_splitdrive(p: &str) -> (&str, &str) {
    let is_sep = |c: char| c == '\\' || c == '/';
    let chars: Vec<char> = p.chars().take(3).collect();
    if chars.len() >= 2
        && is_sep(chars[0])
        && is_sep(chars[1])
        && chars.get(2).is_some_and(|c| !is_sep(*c))
    {
        // UNC: the drive runs to the separator after the share name.
        let rest = &p[2..];
        let Some(i) = rest.find(is_sep) else {
            return (p, "");
        };
        let after = &rest[i + 1..];
        let j = after.find(is_sep).unwrap_or(after.len());
        let end = 2 + i + 1 + j;
        return (&p[..end], &p[end..]);
    }
    if chars.len() >= 2 && chars[1] == ':' {
        let n = chars[0].len_utf8() + 1;
        return (&p[..n], &p[n..]);
    }
    ("", p)
}

/// `ntpath.split`.
fn nt_split(p: &str) -> (String, String) {
    let is_sep = |c: char| c == '\\' || c == '/';
    let (d, rest) = nt_splitdrive(p);
    let i = rest.rfind(is_sep).map_or(0, |i| i + 1);
    let (head, tail) = rest.split_at(i);
    let trimmed = head.trim_end_matches(is_sep);
    let head = if trimmed.is_empty() { head } else { trimmed };
    (format!("{d}{head}"), tail.to_owned())
}

fn f_win_basename(_: &State, v: Value, _: Args) -> Result<Value, Error> {
    Ok(Value::from(nt_split(&to_s(&v)?).1))
}

fn f_win_dirname(_: &State, v: Value, _: Args) -> Result<Value, Error> {
    Ok(Value::from(nt_split(&to_s(&v)?).0))
}

fn f_win_splitdrive(_: &State, v: Value, _: Args) -> Result<Value, Error> {
    let s = to_s(&v)?;
    let (d, p) = nt_splitdrive(&s);
    Ok(Value::from_object(crate::pyrepr::PyTuple(vec![
        Value::from(d),
        Value::from(p),
    ])))
}

// ------------------------------------------------------------- encoding

/// Python codec names the base64 filters accept for `encoding`.
fn encode_text(s: &str, encoding: &str) -> Result<Vec<u8>, Error> {
    let norm = encoding.to_ascii_lowercase().replace('_', "-");
    let utf16 = |le: bool, bom: bool| {
        let mut out = Vec::new();
        if bom {
            out.extend_from_slice(&[0xff, 0xfe]);
        }
        for u in s.encode_utf16() {
            let b = if le { u.to_le_bytes() } else { u.to_be_bytes() };
            out.extend_from_slice(&b);
        }
        out
    };
    match norm.as_str() {
        "utf-8" | "utf8" => Ok(s.as_bytes().to_vec()),
        "utf-16-le" | "utf-16le" => Ok(utf16(true, false)),
        "utf-16-be" | "utf-16be" => Ok(utf16(false, false)),
        "utf-16" | "utf16" => Ok(utf16(true, true)),
        "ascii" | "latin-1" | "latin1" | "iso-8859-1" => {
            let limit = if norm == "ascii" { 0x80 } else { 0x100 };
            s.chars()
                .map(|c| {
                    u8::try_from(c as u32)
                        .ok()
                        .filter(|b| u32::from(*b) < limit)
                        .ok_or_else(|| ferr(format!("'{norm}' codec can't encode character {c:?}")))
                })
                .collect()
        }
        _ => Err(ferr(format!("unknown encoding: {encoding}"))),
    }
}

fn decode_text(b: &[u8], encoding: &str) -> Result<String, Error> {
    let norm = encoding.to_ascii_lowercase().replace('_', "-");
    let utf16 = |le: bool, b: &[u8]| {
        let units: Vec<u16> = b
            .chunks(2)
            .map(|c| {
                let pair = [c[0], c.get(1).copied().unwrap_or(0)];
                if le {
                    u16::from_le_bytes(pair)
                } else {
                    u16::from_be_bytes(pair)
                }
            })
            .collect();
        String::from_utf16_lossy(&units)
    };
    match norm.as_str() {
        "utf-8" | "utf8" => Ok(String::from_utf8_lossy(b).into_owned()),
        "utf-16-le" | "utf-16le" => Ok(utf16(true, b)),
        "utf-16-be" | "utf-16be" => Ok(utf16(false, b)),
        "utf-16" | "utf16" => Ok(match b {
            [0xfe, 0xff, rest @ ..] => utf16(false, rest),
            [0xff, 0xfe, rest @ ..] => utf16(true, rest),
            _ => utf16(true, b),
        }),
        "ascii" | "latin-1" | "latin1" | "iso-8859-1" => {
            Ok(b.iter().map(|&c| char::from(c)).collect())
        }
        _ => Err(ferr(format!("unknown encoding: {encoding}"))),
    }
}

fn f_b64encode(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    let enc = a.str(0, "encoding").unwrap_or_else(|| "utf-8".into());
    let bytes = encode_text(&to_s(&v)?, &enc)?;
    Ok(Value::from(
        base64::engine::general_purpose::STANDARD.encode(bytes),
    ))
}

fn f_b64decode(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    let enc = a.str(0, "encoding").unwrap_or_else(|| "utf-8".into());
    let s = to_s(&v)?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s.trim().as_bytes())
        .or_else(|_| {
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(s.trim().trim_end_matches('=').as_bytes())
        })
        .map_err(|e| ferr(format!("b64decode: {e}")))?;
    Ok(Value::from(decode_text(&bytes, &enc)?))
}

pub(crate) fn hash_hex(kind: &str, data: &[u8]) -> Option<String> {
    use sha2::Digest;
    Some(match kind {
        "md5" => hex::encode(md5::Md5::digest(data)),
        "sha1" => hex::encode(sha1::Sha1::digest(data)),
        "sha224" => hex::encode(sha2::Sha224::digest(data)),
        "sha256" => hex::encode(sha2::Sha256::digest(data)),
        "sha384" => hex::encode(sha2::Sha384::digest(data)),
        "sha512" => hex::encode(sha2::Sha512::digest(data)),
        _ => return None,
    })
}

fn f_hash(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    let kind = a.str(0, "hashtype").unwrap_or_else(|| "sha1".into());
    let s = to_s(&v)?;
    // hashlib.new's error for an unknown algorithm, as Ansible re-raises it.
    hash_hex(&kind, s.as_bytes())
        .map(Value::from)
        .ok_or_else(|| ferr(format!("unsupported hash type {kind}")))
}

fn f_md5(_: &State, v: Value, _: Args) -> Result<Value, Error> {
    Ok(Value::from(
        hash_hex("md5", to_s(&v)?.as_bytes()).unwrap_or_default(),
    ))
}

fn f_sha1(_: &State, v: Value, _: Args) -> Result<Value, Error> {
    Ok(Value::from(
        hash_hex("sha1", to_s(&v)?.as_bytes()).unwrap_or_default(),
    ))
}

const CRYPT_SALT_CHARS: &[u8] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn f_password_hash(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    let pw = to_s(&v)?;
    let kind = a.str(0, "hashtype").unwrap_or_else(|| "sha512".into());
    let salt = a.str(1, "salt").unwrap_or_else(|| {
        (0..16)
            .map(|_| CRYPT_SALT_CHARS[fastrand::usize(0..CRYPT_SALT_CHARS.len())] as char)
            .collect()
    });
    let rounds = a.get(2, "rounds").and_then(|r| r.as_usize());
    let salt: String = salt.chars().take(16).collect();
    let (prefix, params_rounds) = match kind.as_str() {
        "sha512" | "sha512_crypt" => ("$6$", rounds),
        "sha256" | "sha256_crypt" => ("$5$", rounds),
        other => return Err(ferr(format!("{other} is not in the list of supported passlib algorithms: md5, blowfish, sha256, sha512"))),
    };
    let rounds_v = params_rounds.unwrap_or(5000);
    let hash = if prefix == "$6$" {
        let p = sha_crypt::Sha512Params::new(rounds_v).map_err(|e| ferr(format!("{e:?}")))?;
        sha_crypt::sha512_crypt_b64(pw.as_bytes(), salt.as_bytes(), &p)
            .map_err(|e| ferr(format!("{e:?}")))?
    } else {
        let p = sha_crypt::Sha256Params::new(rounds_v).map_err(|e| ferr(format!("{e:?}")))?;
        sha_crypt::sha256_crypt_b64(pw.as_bytes(), salt.as_bytes(), &p)
            .map_err(|e| ferr(format!("{e:?}")))?
    };
    let rounds_part = match params_rounds {
        Some(r) if r != 5000 => format!("rounds={r}$"),
        _ => String::new(),
    };
    Ok(Value::from(format!("{prefix}{rounds_part}{salt}${hash}")))
}

fn f_to_uuid(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    use sha1::Digest;
    let ns = a
        .str(0, "namespace")
        .unwrap_or_else(|| "361E6D51-FAEC-444A-9079-341386DA8E2E".into());
    let nsb = hex::decode(ns.replace('-', ""))
        .map_err(|_| ferr(format!("Invalid value '{ns}' for 'namespace'")))?;
    let mut h = sha1::Sha1::new();
    h.update(&nsb);
    h.update(to_s(&v)?.as_bytes());
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = hex::encode(b);
    Ok(Value::from(format!(
        "{}-{}-{}-{}-{}",
        &x[0..8],
        &x[8..12],
        &x[12..16],
        &x[16..20],
        &x[20..32]
    )))
}

fn f_quote(_: &State, v: Value, _: Args) -> Result<Value, Error> {
    let s = if v.is_none() {
        String::new()
    } else {
        to_s(&v)?
    };
    if s.is_empty() {
        return Ok(Value::from("''"));
    }
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c))
    {
        return Ok(Value::from(s));
    }
    Ok(Value::from(format!("'{}'", s.replace('\'', "'\"'\"'"))))
}

fn f_comment(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    let text = to_s(&v)?;
    let style = a.str(0, "style").unwrap_or_else(|| "plain".into());
    let (beg, pre, dec, end) = match style.as_str() {
        "c" => (None, "", "// ", None),
        "cblock" => (Some("/*"), "", " * ", Some(" */")),
        "erlang" => (None, "", "% ", None),
        "xml" => (Some("<!--"), "", " - ", Some("-->")),
        _ => (None, "", "# ", None),
    };
    let decoration = a
        .kw("decoration")
        .map(|d| py_str(&d))
        .unwrap_or_else(|| dec.to_string());
    let newline = a
        .kw("newline")
        .map(|d| py_str(&d))
        .unwrap_or_else(|| "\n".into());
    let prefix_count = a.kw("prefix_count").and_then(|d| d.as_usize()).unwrap_or(1);
    let postfix_count = a
        .kw("postfix_count")
        .and_then(|d| d.as_usize())
        .unwrap_or(1);
    let prefix = a
        .kw("prefix")
        .map(|d| py_str(&d))
        .unwrap_or_else(|| pre.to_string());
    let postfix = a
        .kw("postfix")
        .map(|d| py_str(&d))
        .unwrap_or_else(|| decoration.trim_end().to_string());
    let mut lines: Vec<String> = Vec::new();
    if let Some(b) = a
        .kw("beginning")
        .map(|d| py_str(&d))
        .or(beg.map(String::from))
    {
        lines.push(b);
    }
    for _ in 0..prefix_count {
        lines.push(if prefix.is_empty() {
            decoration.trim_end().to_string()
        } else {
            prefix.clone()
        });
    }
    for l in text.split('\n') {
        lines.push(format!("{decoration}{l}").trim_end().to_string());
    }
    for _ in 0..postfix_count {
        lines.push(postfix.clone());
    }
    if let Some(e) = a.kw("end").map(|d| py_str(&d)).or(end.map(String::from)) {
        lines.push(e);
    }
    Ok(Value::from(lines.join(&newline)))
}

fn f_center(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    let s = to_s(&v)?;
    let width = a.get(0, "width").and_then(|w| w.as_usize()).unwrap_or(80);
    let len = s.chars().count();
    if width <= len {
        return Ok(Value::from(s));
    }
    let total = width - len;
    let left = total / 2 + (total & width & 1);
    Ok(Value::from(format!(
        "{}{s}{}",
        " ".repeat(left),
        " ".repeat(total - left)
    )))
}

fn f_wordwrap(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    let s = to_s(&v)?;
    let width = a
        .get(0, "width")
        .and_then(|w| w.as_usize())
        .unwrap_or(79)
        .max(1);
    let break_long = a
        .get(1, "break_long_words")
        .map(|b| b.is_true())
        .unwrap_or(true);
    let wrapstring = a.str(2, "wrapstring").unwrap_or_else(|| "\n".into());
    let mut out_lines: Vec<String> = Vec::new();
    for para in s.split('\n') {
        let mut line = String::new();
        for word in para.split_whitespace() {
            let mut word = word.to_string();
            loop {
                let cur = line.chars().count();
                let wl = word.chars().count();
                if cur == 0 && wl <= width {
                    line = word.clone();
                    break;
                }
                if cur > 0 && cur + 1 + wl <= width {
                    line.push(' ');
                    line.push_str(&word);
                    break;
                }
                if cur > 0 {
                    out_lines.push(std::mem::take(&mut line));
                    continue;
                }
                if break_long {
                    let head: String = word.chars().take(width).collect();
                    word = word.chars().skip(width).collect();
                    out_lines.push(head);
                    if word.is_empty() {
                        break;
                    }
                } else {
                    line = word.clone();
                    break;
                }
            }
        }
        out_lines.push(line);
    }
    Ok(Value::from(out_lines.join(&wrapstring)))
}

fn f_split(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    let s = to_s(&v)?;
    let sep = a.str(0, "sep");
    let max = a.get(1, "maxsplit").and_then(|m| m.as_i64()).unwrap_or(-1);
    Ok(methods::py_split(&s, sep.as_deref(), max))
}

use super::methods;

fn f_urlsplit(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    let s = to_s(&v)?;
    let (scheme, rest) = match s.find(':') {
        Some(i)
            if s[..i]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                && i > 0
                && s[..i].starts_with(|c: char| c.is_ascii_alphabetic()) =>
        {
            (s[..i].to_lowercase(), &s[i + 1..])
        }
        _ => (String::new(), s.as_str()),
    };
    let (netloc, rest) = match rest.strip_prefix("//") {
        Some(r) => {
            let end = r.find(['/', '?', '#']).unwrap_or(r.len());
            (&r[..end], &r[end..])
        }
        None => ("", rest),
    };
    let (rest, fragment) = match rest.find('#') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    let (path, query) = match rest.find('?') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    let userinfo = netloc.rfind('@').map(|i| &netloc[..i]);
    let hostport = netloc
        .rfind('@')
        .map(|i| &netloc[i + 1..])
        .unwrap_or(netloc);
    let (username, password) = match userinfo {
        Some(u) => match u.find(':') {
            Some(i) => (Value::from(&u[..i]), Value::from(&u[i + 1..])),
            None => (Value::from(u), Value::from(())),
        },
        None => (Value::from(()), Value::from(())),
    };
    let (hostname, port) = if let Some(h) = hostport.strip_prefix('[') {
        let end = h.find(']').unwrap_or(h.len());
        let port = h[end..]
            .strip_prefix("]:")
            .and_then(|p| p.parse::<i64>().ok());
        (h[..end].to_lowercase(), port)
    } else {
        match hostport.rfind(':') {
            Some(i) => (
                hostport[..i].to_lowercase(),
                hostport[i + 1..].parse::<i64>().ok(),
            ),
            None => (hostport.to_lowercase(), None),
        }
    };
    let hostname_v = if hostname.is_empty() {
        Value::from(())
    } else {
        Value::from(hostname)
    };
    let pairs = vec![
        ("fragment", Value::from(fragment)),
        ("hostname", hostname_v),
        ("netloc", Value::from(netloc)),
        ("password", password),
        ("path", Value::from(path)),
        ("port", port.map(Value::from).unwrap_or(Value::from(()))),
        ("query", Value::from(query)),
        ("scheme", Value::from(scheme)),
        ("username", username),
    ];
    if let Some(q) = a.str(0, "query").filter(|q| !q.is_empty()) {
        return match pairs.iter().find(|(k, _)| *k == q) {
            Some((_, v)) => Ok(v.clone()),
            None => Err(ferr(format!("urlsplit: unknown URL component: {q}"))),
        };
    }
    Ok(Value::from_pairs(
        pairs.into_iter().map(|(k, v)| (Value::from(k), v)),
    ))
}

fn f_urldecode(_: &State, v: Value, _: Args) -> Result<Value, Error> {
    let s = to_s(&v)?.replace('+', " ");
    Ok(Value::from(
        percent_encoding::percent_decode_str(&s)
            .decode_utf8_lossy()
            .into_owned(),
    ))
}

fn f_urlencode(_: &State, v: Value, _: Args) -> Result<Value, Error> {
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
    const SET: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'_')
        .remove(b'.')
        .remove(b'-')
        .remove(b'~')
        .remove(b'/');
    const QSET: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'_')
        .remove(b'.')
        .remove(b'-')
        .remove(b'~');
    need(&v)?;
    if v.kind() == ValueKind::Map || v.kind() == ValueKind::Seq {
        let pairs: Vec<(Value, Value)> = if v.kind() == ValueKind::Map {
            v.try_iter()?
                .map(|k| {
                    let val = v.get_item(&k).unwrap_or_default();
                    (k, val)
                })
                .collect()
        } else {
            v.try_iter()?
                .map(|p| {
                    (
                        p.get_item(&Value::from(0)).unwrap_or_default(),
                        p.get_item(&Value::from(1)).unwrap_or_default(),
                    )
                })
                .collect()
        };
        return Ok(Value::from(
            pairs
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}={}",
                        utf8_percent_encode(&py_str(k), QSET)
                            .to_string()
                            .replace("%20", "+"),
                        utf8_percent_encode(&py_str(v), QSET)
                            .to_string()
                            .replace("%20", "+")
                    )
                })
                .collect::<Vec<_>>()
                .join("&"),
        ));
    }
    Ok(Value::from(
        utf8_percent_encode(&to_s(&v)?, SET).to_string(),
    ))
}

const SIZE_UNITS: &[(&str, u32)] = &[
    ("Y", 8),
    ("Z", 7),
    ("E", 6),
    ("P", 5),
    ("T", 4),
    ("G", 3),
    ("M", 2),
    ("K", 1),
    ("B", 0),
];

fn f_human_readable(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    need(&v)?;
    let isbits = a.flag(0, "isbits");
    let unit = a.str(1, "unit");
    let n = match v.kind() {
        ValueKind::Number => f64::try_from(v.clone()).unwrap_or(0.0),
        ValueKind::Bool => f64::from(u8::from(v.is_true())),
        // Python compares (or divides) the value with an int: a TypeError
        // for anything else, even a numeric string.
        _ => {
            let ty = match v.kind() {
                ValueKind::String => "str",
                ValueKind::Seq => "list",
                ValueKind::Map => "dict",
                _ => "NoneType",
            };
            let why = if unit.is_some() {
                format!("unsupported operand type(s) for /: '{ty}' and 'int'")
            } else {
                format!("'>=' not supported between instances of '{ty}' and 'int'")
            };
            return Err(fterr(format!(
                "human_readable() failed on bad input: {why}"
            )));
        }
    };
    let (base, suffix) = if isbits {
        ("bits", "b")
    } else {
        ("Bytes", "B")
    };
    for (u, p) in SIZE_UNITS {
        let limit = 1024f64.powi(*p as i32);
        let chosen = match &unit {
            Some(un) => un.starts_with(u),
            None => n >= limit,
        };
        if chosen || *p == 0 {
            let val = n / limit;
            let label = if *p == 0 {
                base.to_string()
            } else {
                format!("{u}{suffix}")
            };
            return Ok(Value::from(format!("{val:.2} {label}")));
        }
    }
    Ok(Value::from(format!("{n:.2} {base}")))
}

fn f_human_to_bytes(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    let s = to_s(&v)?;
    let default_unit = a.str(0, "default_unit");
    let isbits = a.flag(1, "isbits");
    let t = s.trim();
    let num_end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ' '))
        .unwrap_or(t.len());
    let num: f64 = t[..num_end].trim().parse().map_err(|_| {
        ferr(format!(
            "human_to_bytes() can't interpret following string: {s}"
        ))
    })?;
    let mut unit = t[num_end..].trim().to_string();
    if unit.is_empty() {
        unit = default_unit.unwrap_or_default();
    }
    let first = unit.chars().next().map(|c| c.to_ascii_uppercase());
    let power = match first {
        None => 0,
        Some(c) => SIZE_UNITS
            .iter()
            .find(|(u, _)| u.starts_with(c))
            .map(|(_, p)| *p)
            .ok_or_else(|| {
                ferr(format!(
                    "human_to_bytes() failed to convert {s}. Value is not a valid string ({unit})"
                ))
            })?,
    };
    if unit.len() > 1 {
        let last = unit.chars().last().unwrap_or('B');
        let ok = if isbits { last == 'b' } else { last == 'B' };
        if !ok {
            let expect = if isbits { "bit" } else { "byte" };
            return Err(ferr(format!("human_to_bytes() failed to convert {s}. Value is not a valid string (expected {expect} unit)")));
        }
    }
    let r = num * 1024f64.powi(power as i32);
    Ok(Value::from(r.round() as i64))
}

fn f_extract(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    let container = a.get(0, "container").unwrap_or_default();
    let mut r = container.get_item(&v).unwrap_or_default();
    if r.is_undefined() {
        return Ok(Value::UNDEFINED);
    }
    if let Some(more) = a.get(1, "morekeys").filter(|m| !m.is_none()) {
        let keys = if more.kind() == ValueKind::Seq {
            more.try_iter()?.collect()
        } else {
            vec![more]
        };
        for k in keys {
            r = r.get_item(&k).unwrap_or_default();
        }
    }
    Ok(r)
}

fn f_log(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    let x = f64::try_from(v).map_err(|_| ferr("log() can only be used on numbers"))?;
    Ok(Value::from(
        match a.get(0, "base").and_then(|b| f64::try_from(b).ok()) {
            Some(b) => x.ln() / b.ln(),
            None => x.ln(),
        },
    ))
}

fn f_pow(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    let x = f64::try_from(v).map_err(|_| ferr("pow() can only be used on numbers"))?;
    let y = a
        .get(0, "y")
        .and_then(|b| f64::try_from(b).ok())
        .unwrap_or(1.0);
    Ok(Value::from(x.powf(y)))
}

fn f_root(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    let x = f64::try_from(v).map_err(|_| ferr("root() can only be used on numbers"))?;
    let b = a
        .get(0, "base")
        .and_then(|b| f64::try_from(b).ok())
        .unwrap_or(2.0);
    Ok(Value::from(if b == 2.0 {
        x.sqrt()
    } else {
        x.powf(1.0 / b)
    }))
}

fn f_list(_: &State, v: Value, _: Args) -> Result<Value, Error> {
    Ok(Value::from(items(&v)?))
}

fn f_dict(_: &State, v: Value, _: Args) -> Result<Value, Error> {
    let mut pairs = Vec::new();
    for p in items(&v)? {
        let kv: Vec<Value> = items(&p)?;
        if kv.len() != 2 {
            return Err(ferr("dictionary update sequence element has wrong length"));
        }
        pairs.push((kv[0].clone(), kv[1].clone()));
    }
    Ok(Value::from_pairs(pairs))
}

/// The `dict(...)` global: Python's constructor, from a mapping or pairs
/// plus keyword arguments.
fn g_dict(args: Vec<Value>) -> Result<Value, Error> {
    let a = Args::new(args);
    if a.pos.len() > 1 {
        return Err(ferr(format!(
            "dict expected at most 1 argument, got {}",
            a.pos.len()
        )));
    }
    let mut pairs: Vec<(Value, Value)> = Vec::new();
    if let Some(src) = a.pos.first() {
        if src.kind() == ValueKind::Map {
            for k in src.try_iter()? {
                let val = src.get_item(&k)?;
                pairs.push((k, val));
            }
        } else {
            let d = f_dict_pairs(src)?;
            pairs.extend(d);
        }
    }
    for (k, v) in a.kw {
        pairs.push((Value::from(k), v));
    }
    Ok(Value::from_pairs(pairs))
}

fn f_dict_pairs(v: &Value) -> Result<Vec<(Value, Value)>, Error> {
    let mut pairs = Vec::new();
    for p in items(v)? {
        let kv: Vec<Value> = items(&p)?;
        if kv.len() != 2 {
            return Err(ferr(format!(
                "dictionary update sequence element #{} has length {}; 2 is required",
                pairs.len(),
                kv.len()
            )));
        }
        pairs.push((kv[0].clone(), kv[1].clone()));
    }
    Ok(pairs)
}

fn f_first(_: &State, v: Value, _: Args) -> Result<Value, Error> {
    Ok(items(&v)?.into_iter().next().unwrap_or(Value::UNDEFINED))
}

fn f_last(_: &State, v: Value, _: Args) -> Result<Value, Error> {
    Ok(items(&v)?.pop().unwrap_or(Value::UNDEFINED))
}

fn f_length(_: &State, v: Value, _: Args) -> Result<Value, Error> {
    need(&v)?;
    match v.len() {
        Some(n) => Ok(Value::from(n)),
        None => Err(ferr(format!(
            "object of type '{}' has no len()",
            crate::pyfmt::pytype(&v)
        ))),
    }
}

fn f_abs(_: &State, v: Value, _: Args) -> Result<Value, Error> {
    need(&v)?;
    if v.is_integer() {
        Ok(Value::from(i128::try_from(v).unwrap_or(0).abs()))
    } else {
        Ok(Value::from(
            f64::try_from(v)
                .map_err(|_| ferr("bad operand type for abs()"))?
                .abs(),
        ))
    }
}

fn f_normpath(_: &State, v: Value, _: Args) -> Result<Value, Error> {
    Ok(Value::from(normpath(&to_s(&v)?)))
}

fn f_commonpath(_: &State, v: Value, _: Args) -> Result<Value, Error> {
    let paths: Vec<PathBuf> = items(&v)?
        .iter()
        .map(|p| PathBuf::from(py_str(p)))
        .collect();
    let Some(first) = paths.first() else {
        return Err(ferr("commonpath() arg is an empty sequence"));
    };
    let mut common: Vec<Component> = first.components().collect();
    for p in &paths[1..] {
        let c: Vec<Component> = p.components().collect();
        let n = common
            .iter()
            .zip(c.iter())
            .take_while(|(a, b)| a == b)
            .count();
        common.truncate(n);
    }
    let pb: PathBuf = common.iter().collect();
    Ok(Value::from(pb.to_string_lossy().into_owned()))
}

fn f_truncate(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    let s = to_s(&v)?;
    let length = a.get(0, "length").and_then(|l| l.as_usize()).unwrap_or(255);
    let killwords = a.flag(1, "killwords");
    let end = a.str(2, "end").unwrap_or_else(|| "...".into());
    let leeway = a.get(3, "leeway").and_then(|l| l.as_usize()).unwrap_or(5);
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= length + leeway {
        return Ok(Value::from(s));
    }
    let keep = length.saturating_sub(end.chars().count());
    let head: String = chars[..keep.min(chars.len())].iter().collect();
    if killwords {
        return Ok(Value::from(head + &end));
    }
    let cut = match head.rfind(' ') {
        Some(i) => head[..i].to_string(),
        None => head,
    };
    Ok(Value::from(cut + &end))
}

fn f_wordcount(_: &State, v: Value, _: Args) -> Result<Value, Error> {
    let s = to_s(&v)?;
    let mut n = 0;
    let mut in_word = false;
    for c in s.chars() {
        let w = c.is_alphanumeric() || c == '_';
        if w && !in_word {
            n += 1;
        }
        in_word = w;
    }
    Ok(Value::from(n))
}

/// Jinja2's `striptags`: drops comments and tags, collapses whitespace and
/// unescapes HTML entities.
fn f_striptags(_: &State, v: Value, _: Args) -> Result<Value, Error> {
    let mut text = to_s(&v)?;
    for (open, close) in [("<!--", "-->"), ("<", ">")] {
        let mut out = String::with_capacity(text.len());
        let mut rest = text.as_str();
        while let Some(i) = rest.find(open) {
            let Some(j) = rest[i + open.len()..].find(close) else {
                break;
            };
            out.push_str(&rest[..i]);
            rest = &rest[i + open.len() + j + close.len()..];
        }
        out.push_str(rest);
        text = out;
    }
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    Ok(Value::from(html_unescape(&collapsed)))
}

/// Python `html.unescape` for the named entities that matter in practice
/// and numeric references.
fn html_unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest.find(';').filter(|e| *e <= 10);
        let decoded = end.and_then(|e| {
            let ent = &rest[1..e];
            let c = match ent {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                _ => {
                    let num = ent.strip_prefix('#')?;
                    let n = match num.strip_prefix(['x', 'X']) {
                        Some(h) => u32::from_str_radix(h, 16).ok()?,
                        None => num.parse().ok()?,
                    };
                    char::from_u32(n)
                }
            }?;
            Some((c, e + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Jinja2's `dictsort(case_sensitive=False, by='key', reverse=False)`:
/// the (key, value) pairs as tuples, sorted.
fn f_dictsort(_: &State, v: Value, a: Args) -> Result<Value, Error> {
    need(&v)?;
    if v.kind() != ValueKind::Map {
        return Err(ferr("dictsort filter only works with dicts"));
    }
    let case_sensitive = a.flag(0, "case_sensitive");
    let by = a.str(1, "by").unwrap_or_else(|| "key".into());
    let reverse = a.flag(2, "reverse");
    let pos = match by.as_str() {
        "key" => 0,
        "value" => 1,
        _ => return Err(ferr("You can only sort by either \"key\" or \"value\"")),
    };
    let mut pairs: Vec<[Value; 2]> = Vec::new();
    for k in v.try_iter()? {
        let val = v.get_item(&k)?;
        pairs.push([k, val]);
    }
    let sort_key = |x: &Value| match (case_sensitive, x.as_str()) {
        (false, Some(s)) => Value::from(s.to_lowercase()),
        _ => x.clone(),
    };
    // A stable sort, reversed by comparison as Python's sorted(reverse=True).
    pairs.sort_by(|x, y| {
        let o = sort_key(&x[pos]).cmp(&sort_key(&y[pos]));
        if reverse {
            o.reverse()
        } else {
            o
        }
    });
    Ok(Value::from(
        pairs
            .into_iter()
            .map(|p| Value::from_object(crate::pyrepr::PyTuple(p.to_vec())))
            .collect::<Vec<_>>(),
    ))
}

pub(crate) fn register(env: &mut Environment<'static>, _shared: Arc<Shared>) {
    env.add_function(
        "dict",
        |args: minijinja::value::Rest<minijinja::value::ValueOrKwargs>| {
            g_dict(args.0.into_iter().map(Value::from).collect())
        },
    );
    add(env, "dictsort", f_dictsort);
    add(env, "striptags", f_striptags);
    add(env, "truncate", f_truncate);
    add(env, "wordcount", f_wordcount);
    add(env, "regex_replace", f_regex_replace);
    add(env, "regex_search", f_regex_search);
    add(env, "regex_findall", f_regex_findall);
    add(env, "regex_escape", f_regex_escape);
    add(env, "combine", f_combine);
    add(env, "dict2items", f_dict2items);
    add(env, "items2dict", f_items2dict);
    add(env, "zip", f_zip);
    add(env, "zip_longest", f_zip_longest);
    add(env, "flatten", f_flatten);
    add(env, "unique", f_unique);
    add(env, "rekey_on_member", f_rekey_on_member);
    add(env, "union", f_union);
    add(env, "intersect", f_intersect);
    add(env, "difference", f_difference);
    add(env, "symmetric_difference", f_symmetric_difference);
    add(env, "min", f_min);
    add(env, "max", f_max);
    add(env, "subelements", f_subelements);
    add(env, "product", f_product);
    add(env, "permutations", f_permutations);
    add(env, "combinations", f_combinations);
    add(env, "random", f_random);
    add(env, "shuffle", f_shuffle);
    add(env, "basename", f_basename);
    add(env, "dirname", f_dirname);
    add(env, "win_basename", f_win_basename);
    add(env, "win_dirname", f_win_dirname);
    add(env, "win_splitdrive", f_win_splitdrive);
    add(env, "expanduser", f_expanduser);
    add(env, "expandvars", f_expandvars);
    add(env, "realpath", f_realpath);
    add(env, "relpath", f_relpath);
    add(env, "splitext", f_splitext);
    add(env, "path_join", f_path_join);
    add(env, "fileglob", f_fileglob);
    add(env, "normpath", f_normpath);
    add(env, "commonpath", f_commonpath);
    add(env, "b64encode", f_b64encode);
    add(env, "b64decode", f_b64decode);
    add(env, "hash", f_hash);
    add(env, "checksum", f_sha1);
    add(env, "md5", f_md5);
    add(env, "sha1", f_sha1);
    add(env, "password_hash", f_password_hash);
    add(env, "to_uuid", f_to_uuid);
    add(env, "quote", f_quote);
    add(env, "comment", f_comment);
    add(env, "center", f_center);
    add(env, "wordwrap", f_wordwrap);
    add(env, "split", f_split);
    add(env, "urlsplit", f_urlsplit);
    add(env, "urldecode", f_urldecode);
    add(env, "urlencode", f_urlencode);
    add(env, "human_readable", f_human_readable);
    add(env, "human_to_bytes", f_human_to_bytes);
    add(env, "extract", f_extract);
    add(env, "log", f_log);
    add(env, "pow", f_pow);
    add(env, "root", f_root);
    add(env, "list", f_list);
    add(env, "dict", f_dict);
    add(env, "first", f_first);
    add(env, "last", f_last);
    add(env, "length", f_length);
    add(env, "count", f_length);
    add(env, "abs", f_abs);
}
