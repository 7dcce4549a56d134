//! Ansible's (and overridden Jinja2) tests.

use std::cmp::Ordering;
use std::path::Path;
use std::sync::Arc;

use minijinja::value::{Rest, Value, ValueKind, ValueOrKwargs};
use minijinja::{Environment, Error, State};

use crate::error::ferr;
use crate::filters::{items, need, to_bool_ansible, to_s, Args};
use crate::pyrepr::py_str;
use crate::Shared;

type T = fn(&State, Value, Args) -> Result<bool, Error>;

fn add(env: &mut Environment<'static>, name: &'static str, f: T) {
    env.add_test(
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

fn t_truthy(_: &State, v: Value, a: Args) -> Result<bool, Error> {
    need(&v)?;
    // Ansible's strict `boolean()`: only the boolean-like words and
    // numbers convert; anything else (`"fred"`) keeps Python truthiness.
    if a.flag(0, "convert_bool") {
        if v.kind() == ValueKind::Bool {
            return Ok(v.is_true());
        }
        let text = match v.as_str() {
            Some(s) => Some(s.trim().to_lowercase()),
            None if v.kind() == ValueKind::Number => Some(v.to_string()),
            None => None,
        };
        match text.as_deref() {
            Some("y" | "yes" | "on" | "1" | "true" | "t" | "1.0") => return Ok(true),
            Some("n" | "no" | "off" | "0" | "false" | "f" | "0.0") => return Ok(false),
            _ => {}
        }
    }
    Ok(v.is_true())
}

fn t_falsy(s: &State, v: Value, a: Args) -> Result<bool, Error> {
    t_truthy(s, v, a).map(|b| !b)
}

fn t_boolean(_: &State, v: Value, _: Args) -> Result<bool, Error> {
    Ok(v.kind() == ValueKind::Bool)
}

fn t_number(_: &State, v: Value, _: Args) -> Result<bool, Error> {
    Ok(matches!(v.kind(), ValueKind::Number | ValueKind::Bool))
}

fn t_integer(_: &State, v: Value, _: Args) -> Result<bool, Error> {
    Ok(v.kind() == ValueKind::Number && v.is_integer())
}

fn t_float(_: &State, v: Value, _: Args) -> Result<bool, Error> {
    Ok(v.kind() == ValueKind::Number && !v.is_integer())
}

fn t_string(_: &State, v: Value, _: Args) -> Result<bool, Error> {
    Ok(v.kind() == ValueKind::String)
}

fn t_mapping(_: &State, v: Value, _: Args) -> Result<bool, Error> {
    Ok(v.kind() == ValueKind::Map)
}

fn t_sequence(_: &State, v: Value, _: Args) -> Result<bool, Error> {
    Ok(matches!(
        v.kind(),
        ValueKind::Seq | ValueKind::String | ValueKind::Map | ValueKind::Bytes
    ))
}

fn t_iterable(_: &State, v: Value, _: Args) -> Result<bool, Error> {
    Ok(matches!(
        v.kind(),
        ValueKind::Seq
            | ValueKind::String
            | ValueKind::Map
            | ValueKind::Bytes
            | ValueKind::Iterable
    ))
}

fn contains(container: &Value, x: &Value) -> Result<bool, Error> {
    need(container)?;
    match container.kind() {
        ValueKind::String => Ok(container.as_str().unwrap_or_default().contains(&to_s(x)?)),
        ValueKind::Map => Ok(!container.get_item(x).unwrap_or_default().is_undefined()),
        _ => Ok(items(container)?.contains(x)),
    }
}

fn t_contains(_: &State, v: Value, a: Args) -> Result<bool, Error> {
    contains(&v, &a.get(0, "item").unwrap_or_default())
}

fn t_in(_: &State, v: Value, a: Args) -> Result<bool, Error> {
    need(&v)?;
    contains(&a.get(0, "seq").unwrap_or_default(), &v)
}

fn regex_test(v: Value, a: Args, default_type: &str) -> Result<bool, Error> {
    need(&v)?;
    let s = to_s(&v)?;
    let pat = a.str(0, "pattern").unwrap_or_default();
    let ic = a.flag(1, "ignorecase");
    let ml = a.flag(2, "multiline");
    let mt = a
        .str(3, "match_type")
        .unwrap_or_else(|| default_type.to_string());
    let pat = match mt.as_str() {
        "match" => format!("\\A(?:{pat})"),
        "fullmatch" => format!("\\A(?:{pat})\\z"),
        _ => pat,
    };
    let re = crate::filters::more_regex(&pat, ic, ml)?;
    re.is_match(&s).map_err(|e| ferr(e.to_string()))
}

fn t_match(_: &State, v: Value, a: Args) -> Result<bool, Error> {
    regex_test(v, a, "match")
}

fn t_search(_: &State, v: Value, a: Args) -> Result<bool, Error> {
    regex_test(v, a, "search")
}

#[derive(Debug, Clone, PartialEq)]
enum Comp {
    N(u64),
    S(String),
}

fn loose(v: &str) -> Vec<Comp> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut cur_digit = false;
    let flush = |cur: &mut String, digit: bool, out: &mut Vec<Comp>| {
        if !cur.is_empty() {
            if digit {
                out.push(Comp::N(cur.parse().unwrap_or(u64::MAX)));
            } else {
                out.push(Comp::S(cur.clone()));
            }
            cur.clear();
        }
    };
    for c in v.chars() {
        if c == '.' {
            flush(&mut cur, cur_digit, &mut out);
            continue;
        }
        let d = c.is_ascii_digit();
        if !cur.is_empty() && d != cur_digit {
            flush(&mut cur, cur_digit, &mut out);
        }
        // LooseVersion splits on digit runs, letter runs and dots; other
        // characters are their own components
        if !d && !c.is_ascii_alphabetic() {
            flush(&mut cur, cur_digit, &mut out);
            out.push(Comp::S(c.to_string()));
            continue;
        }
        cur_digit = d;
        cur.push(c);
    }
    flush(&mut cur, cur_digit, &mut out);
    out
}

fn cmp_loose(a: &[Comp], b: &[Comp]) -> Result<Ordering, String> {
    for (x, y) in a.iter().zip(b.iter()) {
        let o = match (x, y) {
            (Comp::N(p), Comp::N(q)) => p.cmp(q),
            (Comp::S(p), Comp::S(q)) => p.cmp(q),
            (Comp::N(_), Comp::S(_)) => {
                return Err("'<' not supported between instances of 'int' and 'str'".into())
            }
            (Comp::S(_), Comp::N(_)) => {
                return Err("'<' not supported between instances of 'str' and 'int'".into())
            }
        };
        if o != Ordering::Equal {
            return Ok(o);
        }
    }
    Ok(a.len().cmp(&b.len()))
}

type StrictVersion = (Vec<u64>, Option<(String, u64)>);

fn strict(v: &str) -> Result<StrictVersion, String> {
    let bad = || format!("invalid version number '{v}'");
    let (nums, pre) = match v.find(['a', 'b']) {
        Some(i) => (&v[..i], Some(&v[i..])),
        None => (v, None),
    };
    let parts: Vec<&str> = nums.split('.').collect();
    if !(2..=3).contains(&parts.len()) {
        return Err(bad());
    }
    let mut n = Vec::new();
    for p in parts {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        n.push(p.parse::<u64>().map_err(|_| bad())?);
    }
    while n.len() < 3 {
        n.push(0);
    }
    let pre = match pre {
        Some(p) => {
            let (l, num) = p.split_at(1);
            if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            Some((l.to_string(), num.parse::<u64>().map_err(|_| bad())?))
        }
        None => None,
    };
    Ok((n, pre))
}

fn cmp_strict(a: &str, b: &str) -> Result<Ordering, String> {
    let (an, ap) = strict(a)?;
    let (bn, bp) = strict(b)?;
    Ok(an.cmp(&bn).then_with(|| match (ap, bp) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => x.cmp(&y),
    }))
}

fn semver(v: &str) -> Result<(Vec<u64>, Vec<String>), String> {
    let bad = || format!("invalid semantic version '{v}'");
    let v = v.split('+').next().unwrap_or(v);
    let (core, pre) = match v.find('-') {
        Some(i) => (&v[..i], Some(&v[i + 1..])),
        None => (v, None),
    };
    let nums: Result<Vec<u64>, _> = core.split('.').map(|p| p.parse::<u64>()).collect();
    let nums = nums.map_err(|_| bad())?;
    if nums.len() != 3 {
        return Err(bad());
    }
    Ok((
        nums,
        pre.map(|p| p.split('.').map(String::from).collect())
            .unwrap_or_default(),
    ))
}

fn cmp_semver(a: &str, b: &str) -> Result<Ordering, String> {
    let (an, ap) = semver(a)?;
    let (bn, bp) = semver(b)?;
    let o = an.cmp(&bn);
    if o != Ordering::Equal {
        return Ok(o);
    }
    Ok(match (ap.is_empty(), bp.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => {
            for (x, y) in ap.iter().zip(bp.iter()) {
                let o = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(p), Ok(q)) => p.cmp(&q),
                    (Ok(_), Err(_)) => Ordering::Less,
                    (Err(_), Ok(_)) => Ordering::Greater,
                    _ => x.cmp(y),
                };
                if o != Ordering::Equal {
                    return Ok(o);
                }
            }
            ap.len().cmp(&bp.len())
        }
    })
}

fn t_version(_: &State, v: Value, a: Args) -> Result<bool, Error> {
    need(&v)?;
    let value = to_s(&v)?;
    let version = a.str(0, "version").unwrap_or_default();
    let op = a.str(1, "operator").unwrap_or_else(|| "eq".into());
    let strict_flag = a.flag(2, "strict");
    let vtype = a.str(3, "version_type");
    // Any given `strict` (even false) conflicts with `version_type`.
    let strict_given = a
        .get(2, "strict")
        .is_some_and(|v| !v.is_none() && !v.is_undefined());
    if strict_given && vtype.is_some() {
        return Err(ferr("Cannot specify both 'strict' and 'version_type'"));
    }
    if value.is_empty() {
        return Err(ferr("Input version value cannot be empty"));
    }
    if version.is_empty() {
        return Err(ferr("Version parameter to compare against cannot be empty"));
    }
    // Ansible checks the version type before the operator.
    let kind = if strict_flag {
        "strict".to_string()
    } else {
        vtype.unwrap_or_else(|| "loose".into())
    };
    if !["loose", "strict", "semver", "semantic", "pep440"].contains(&kind.as_str()) {
        return Err(ferr(format!(
            "Invalid version type ({kind}). Must be one of 'loose', 'strict', 'semver', 'semantic', 'pep440'"
        )));
    }
    let want: &[Ordering] = match op.as_str() {
        "==" | "=" | "eq" => &[Ordering::Equal],
        "<" | "lt" => &[Ordering::Less],
        "<=" | "le" => &[Ordering::Less, Ordering::Equal],
        ">" | "gt" => &[Ordering::Greater],
        ">=" | "ge" => &[Ordering::Greater, Ordering::Equal],
        "!=" | "<>" | "ne" => &[Ordering::Less, Ordering::Greater],
        _ => {
            return Err(ferr(format!(
                "Invalid operator type ({op}). Must be one of '==', '=', 'eq', '<', 'lt', '<=', 'le', '>', 'gt', '>=', 'ge', '!=', '<>', 'ne'"
            )))
        }
    };
    let ord = match kind.as_str() {
        "strict" => cmp_strict(&value, &version),
        "semver" | "semantic" => cmp_semver(&value, &version),
        "pep440" => cmp_pep440(&value, &version),
        _ => cmp_loose(&loose(&value), &loose(&version)),
    }
    .map_err(|e| ferr(format!("Version comparison failed: {e}")))?;
    Ok(want.contains(&ord))
}

/// A PEP 440 version reduced to what orders it (packaging's `_cmpkey`).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Pep440Key {
    epoch: u64,
    release: Vec<u64>,
    /// (phase, number): phase 0 = dev-only sentinel (before any pre-release),
    /// 1..=3 = a/b/rc, 4 = none (a final release sorts after its pre-releases).
    pre: (u8, u64),
    /// None sorts before any post-release.
    post: Option<u64>,
    /// A dev release sorts before the same version without one.
    dev: (u8, u64),
}

fn pep440_key(v: &str) -> Result<Pep440Key, String> {
    let invalid = || format!("Invalid version: '{v}'");
    let s = v.trim().to_ascii_lowercase();
    let s = s.strip_prefix('v').unwrap_or(&s);
    // Local versions (`+abc`) only break ties; they are ignored here.
    let s = s.split('+').next().unwrap_or_default();
    let (epoch, rest) = match s.split_once('!') {
        Some((e, r)) => (e.parse::<u64>().map_err(|_| invalid())?, r),
        None => (0, s),
    };
    let b = rest.as_bytes();
    let mut i = 0;
    let num = |i: &mut usize| -> Option<u64> {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        rest.get(start..*i).and_then(|d| d.parse().ok())
    };
    let mut release = vec![num(&mut i).ok_or_else(invalid)?];
    while i + 1 < b.len() && b[i] == b'.' && b[i + 1].is_ascii_digit() {
        i += 1;
        release.push(num(&mut i).ok_or_else(invalid)?);
    }
    while release.len() > 1 && release.last() == Some(&0) {
        release.pop();
    }
    let sep = |i: &mut usize| {
        if *i < b.len() && matches!(b[*i], b'.' | b'-' | b'_') {
            *i += 1;
        }
    };
    let word = |i: &mut usize, words: &[(&str, u8)]| -> Option<u8> {
        let tail = rest.get(*i..).unwrap_or_default();
        for (w, p) in words {
            if tail.starts_with(w) {
                *i += w.len();
                return Some(*p);
            }
        }
        None
    };
    let mut pre = None;
    let mut j = i;
    sep(&mut j);
    if let Some(p) = word(
        &mut j,
        &[
            ("alpha", 1),
            ("beta", 2),
            ("preview", 3),
            ("pre", 3),
            ("rc", 3),
            ("a", 1),
            ("b", 2),
            ("c", 3),
        ],
    ) {
        sep(&mut j);
        pre = Some((p, num(&mut j).unwrap_or(0)));
        i = j;
    }
    let mut post = None;
    let mut j = i;
    if j < b.len() && b[j] == b'-' && b.get(j + 1).is_some_and(u8::is_ascii_digit) {
        j += 1;
        post = num(&mut j);
        i = j;
    } else {
        sep(&mut j);
        if word(&mut j, &[("post", 0), ("rev", 0), ("r", 0)]).is_some() {
            sep(&mut j);
            post = Some(num(&mut j).unwrap_or(0));
            i = j;
        }
    }
    let mut dev = None;
    let mut j = i;
    sep(&mut j);
    if word(&mut j, &[("dev", 0)]).is_some() {
        sep(&mut j);
        dev = Some(num(&mut j).unwrap_or(0));
        i = j;
    }
    if i != b.len() {
        return Err(invalid());
    }
    let pre = match (pre, post, dev) {
        (Some(p), _, _) => p,
        (None, None, Some(_)) => (0, 0),
        (None, _, _) => (4, 0),
    };
    Ok(Pep440Key {
        epoch,
        release,
        pre,
        post,
        dev: dev.map_or((1, 0), |d| (0, d)),
    })
}

fn cmp_pep440(a: &str, b: &str) -> Result<Ordering, String> {
    Ok(pep440_key(a)?.cmp(&pep440_key(b)?))
}

fn t_callable(_: &State, v: Value, _: Args) -> Result<bool, Error> {
    // Only functions and macros are callable; data never is.
    Ok(matches!(v.kind(), ValueKind::Plain) && v.as_object().is_some())
}

fn t_subset(_: &State, v: Value, a: Args) -> Result<bool, Error> {
    let b = items(&a.get(0, "b").unwrap_or_default())?;
    Ok(items(&v)?.iter().all(|x| b.contains(x)))
}

fn t_superset(_: &State, v: Value, a: Args) -> Result<bool, Error> {
    let big = items(&v)?;
    Ok(items(&a.get(0, "b").unwrap_or_default())?
        .iter()
        .all(|x| big.contains(x)))
}

fn result_map(v: &Value, test: &str) -> Result<(), Error> {
    need(v)?;
    if v.kind() != ValueKind::Map {
        return Err(ferr(format!("The '{test}' test expects a dictionary")));
    }
    Ok(())
}

fn field(v: &Value, k: &str) -> Value {
    v.get_item(&Value::from(k)).unwrap_or_default()
}

fn t_failed(_: &State, v: Value, _: Args) -> Result<bool, Error> {
    result_map(&v, "failed")?;
    Ok(field(&v, "failed").is_true())
}

fn t_success(_: &State, v: Value, _: Args) -> Result<bool, Error> {
    result_map(&v, "successful")?;
    Ok(!field(&v, "failed").is_true())
}

fn t_changed(_: &State, v: Value, _: Args) -> Result<bool, Error> {
    result_map(&v, "changed")?;
    let c = field(&v, "changed");
    if !c.is_undefined() {
        return Ok(to_bool_ansible(&c).is_true());
    }
    let res = field(&v, "results");
    if res.kind() == ValueKind::Seq {
        for r in res.try_iter()? {
            if r.kind() == ValueKind::Map && field(&r, "changed").is_true() {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

fn t_skipped(_: &State, v: Value, _: Args) -> Result<bool, Error> {
    result_map(&v, "skipped")?;
    Ok(field(&v, "skipped").is_true())
}

fn t_finished(_: &State, v: Value, _: Args) -> Result<bool, Error> {
    result_map(&v, "finished")?;
    let f = field(&v, "finished");
    Ok(f.is_undefined() || f.as_i64() == Some(1) || f.is_true() && f.kind() == ValueKind::Bool)
}

fn t_started(_: &State, v: Value, _: Args) -> Result<bool, Error> {
    result_map(&v, "started")?;
    let f = field(&v, "started");
    Ok(f.is_undefined() || f.as_i64() == Some(1) || f.is_true() && f.kind() == ValueKind::Bool)
}

/// `timedout`: the result has a `timedout` entry with a period (Ansible's
/// test returns that period; here it is a boolean, so no "conditional of
/// type int" deprecation is shown).
fn t_timedout(_: &State, v: Value, _: Args) -> Result<bool, Error> {
    result_map(&v, "timedout")?;
    let t = field(&v, "timedout");
    if !t.is_true() {
        return Ok(false);
    }
    Ok(t.get_attr("period").map(|p| p.is_true()).unwrap_or(false))
}

fn t_unreachable(_: &State, v: Value, _: Args) -> Result<bool, Error> {
    result_map(&v, "unreachable")?;
    Ok(field(&v, "unreachable").is_true())
}

fn t_reachable(_: &State, v: Value, _: Args) -> Result<bool, Error> {
    result_map(&v, "reachable")?;
    Ok(!field(&v, "unreachable").is_true())
}

fn path_of(v: &Value) -> Result<String, Error> {
    to_s(v)
}

fn t_file(_: &State, v: Value, _: Args) -> Result<bool, Error> {
    Ok(Path::new(&path_of(&v)?).is_file())
}

fn t_directory(_: &State, v: Value, _: Args) -> Result<bool, Error> {
    Ok(Path::new(&path_of(&v)?).is_dir())
}

fn t_link(_: &State, v: Value, _: Args) -> Result<bool, Error> {
    Ok(Path::new(&path_of(&v)?).is_symlink())
}

fn t_exists(_: &State, v: Value, _: Args) -> Result<bool, Error> {
    let p = path_of(&v)?;
    let p = if let Some(r) = p.strip_prefix("~/") {
        format!("{}/{r}", std::env::var("HOME").unwrap_or_default())
    } else {
        p
    };
    Ok(Path::new(&p).exists())
}

fn t_link_exists(_: &State, v: Value, _: Args) -> Result<bool, Error> {
    Ok(std::fs::symlink_metadata(path_of(&v)?).is_ok())
}

fn t_abs(_: &State, v: Value, _: Args) -> Result<bool, Error> {
    Ok(path_of(&v)?.starts_with('/'))
}

fn t_same_file(_: &State, v: Value, a: Args) -> Result<bool, Error> {
    let a1 = std::fs::canonicalize(path_of(&v)?);
    let b1 = std::fs::canonicalize(a.str(0, "b").unwrap_or_default());
    Ok(matches!((a1, b1), (Ok(x), Ok(y)) if x == y))
}

fn t_mount(_: &State, v: Value, _: Args) -> Result<bool, Error> {
    let p = path_of(&v)?;
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    Ok(mounts
        .lines()
        .any(|l| l.split_whitespace().nth(1) == Some(p.as_str())))
}

fn t_all(_: &State, v: Value, _: Args) -> Result<bool, Error> {
    Ok(items(&v)?.iter().all(Value::is_true))
}

fn t_any(_: &State, v: Value, _: Args) -> Result<bool, Error> {
    Ok(items(&v)?.iter().any(Value::is_true))
}

fn t_nan(_: &State, v: Value, _: Args) -> Result<bool, Error> {
    Ok(f64::try_from(v).is_ok_and(f64::is_nan))
}

fn t_vault_encrypted(_: &State, v: Value, _: Args) -> Result<bool, Error> {
    Ok(py_str(&v).starts_with("$ANSIBLE_VAULT;"))
}

fn t_eq(_: &State, v: Value, a: Args) -> Result<bool, Error> {
    need(&v)?;
    Ok(v == a.get(0, "other").unwrap_or_default())
}

/// `urllib.parse.urlparse(value)`'s scheme and netloc (Python 3.11 rules).
fn url_parts(s: &str) -> (String, String) {
    let mut scheme = String::new();
    let mut rest = s;
    if let Some(i) = s.find(':') {
        let head = &s[..i];
        if i > 0
            && head.starts_with(|c: char| c.is_ascii_alphabetic())
            && head
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        {
            scheme = head.to_ascii_lowercase();
            rest = &s[i + 1..];
        }
    }
    let netloc = match rest.strip_prefix("//") {
        Some(r) => r[..r.find(['/', '?', '#']).unwrap_or(r.len())].to_owned(),
        None => String::new(),
    };
    (scheme, netloc)
}

fn schemes_arg(a: &Args) -> Result<Option<Vec<String>>, Error> {
    match a.get(0, "schemes") {
        Some(v) if !v.is_none() && !v.is_undefined() => {
            Ok(Some(items(&v)?.iter().map(py_str).collect()))
        }
        _ => Ok(None),
    }
}

/// Ansible's `uri` test: anything urlparse accepts, optionally with a
/// scheme from `schemes`.
fn t_uri(_: &State, v: Value, a: Args) -> Result<bool, Error> {
    let (scheme, _) = url_parts(&py_str(&v));
    Ok(schemes_arg(&a)?.is_none_or(|s| s.contains(&scheme)))
}

/// Ansible's `url` test: a `uri` with a network location (or `file:`).
fn t_url(_: &State, v: Value, a: Args) -> Result<bool, Error> {
    let (scheme, netloc) = url_parts(&py_str(&v));
    Ok(schemes_arg(&a)?.is_none_or(|s| s.contains(&scheme))
        && (!netloc.is_empty() || scheme == "file"))
}

/// Ansible's `urn` test: a `uri` whose scheme is `urn`.
fn t_urn(_: &State, v: Value, _: Args) -> Result<bool, Error> {
    Ok(url_parts(&py_str(&v)).0 == "urn")
}

pub(crate) fn register(env: &mut Environment<'static>, _shared: Arc<Shared>) {
    add(env, "uri", t_uri);
    add(env, "url", t_url);
    add(env, "urn", t_urn);
    add(env, "truthy", t_truthy);
    add(env, "falsy", t_falsy);
    add(env, "boolean", t_boolean);
    add(env, "number", t_number);
    add(env, "integer", t_integer);
    add(env, "float", t_float);
    add(env, "string", t_string);
    add(env, "mapping", t_mapping);
    add(env, "sequence", t_sequence);
    add(env, "iterable", t_iterable);
    add(env, "contains", t_contains);
    add(env, "in", t_in);
    add(env, "match", t_match);
    add(env, "search", t_search);
    add(env, "regex", t_search);
    add(env, "version", t_version);
    add(env, "version_compare", t_version);
    add(env, "subset", t_subset);
    add(env, "issubset", t_subset);
    add(env, "superset", t_superset);
    add(env, "issuperset", t_superset);
    add(env, "failed", t_failed);
    add(env, "failure", t_failed);
    add(env, "succeeded", t_success);
    add(env, "success", t_success);
    add(env, "successful", t_success);
    add(env, "changed", t_changed);
    add(env, "change", t_changed);
    add(env, "skipped", t_skipped);
    add(env, "skip", t_skipped);
    add(env, "finished", t_finished);
    add(env, "timedout", t_timedout);
    add(env, "started", t_started);
    add(env, "unreachable", t_unreachable);
    add(env, "reachable", t_reachable);
    add(env, "file", t_file);
    add(env, "is_file", t_file);
    add(env, "directory", t_directory);
    add(env, "is_dir", t_directory);
    add(env, "link", t_link);
    add(env, "is_link", t_link);
    add(env, "exists", t_exists);
    add(env, "link_exists", t_link_exists);
    add(env, "abs", t_abs);
    add(env, "is_abs", t_abs);
    add(env, "same_file", t_same_file);
    add(env, "is_same_file", t_same_file);
    add(env, "mount", t_mount);
    add(env, "is_mount", t_mount);
    add(env, "all", t_all);
    add(env, "any", t_any);
    add(env, "nan", t_nan);
    add(env, "isnan", t_nan);
    add(env, "vault_encrypted", t_vault_encrypted);
    add(env, "equalto", t_eq);
    add(env, "callable", t_callable);
}
