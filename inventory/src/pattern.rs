//! Host patterns (`hosts:`, `--limit`) as `InventoryManager.get_hosts`
//! evaluates them.

use std::collections::HashSet;
use std::path::Path;
use std::str::FromStr;
use std::sync::OnceLock;

use regex::Regex;

use crate::address::parse_address;
use crate::{HostRef, Inventory, InventoryError, Warnings, LOCALHOST};

/// The play keyword `order:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HostOrder {
    #[default]
    Inventory,
    ReverseInventory,
    Sorted,
    ReverseSorted,
    Shuffle,
}

impl FromStr for HostOrder {
    type Err = InventoryError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "inventory" => HostOrder::Inventory,
            "reverse_inventory" => HostOrder::ReverseInventory,
            "sorted" => HostOrder::Sorted,
            "reverse_sorted" => HostOrder::ReverseSorted,
            "shuffle" => HostOrder::Shuffle,
            other => {
                return Err(InventoryError::Order {
                    got: other.to_owned(),
                })
            }
        })
    }
}

impl HostOrder {
    /// Applies the order to hosts in inventory order (`sorted` compares
    /// names as Python compares strings).
    pub fn apply(self, mut names: Vec<String>) -> Vec<String> {
        match self {
            HostOrder::Inventory => {}
            HostOrder::ReverseInventory => names.reverse(),
            HostOrder::Sorted => names.sort(),
            HostOrder::ReverseSorted => {
                names.sort();
                names.reverse();
            }
            HostOrder::Shuffle => shuffle(&mut names),
        }
        names
    }
}

fn shuffle(v: &mut [String]) {
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0x9e37_79b9_7f4a_7c15, |d| d.as_nanos() as u64)
        | 1;
    for i in (1..v.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let j = (seed % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
}

/// A `--limit`: its patterns, with `@file` entries already read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limit(pub Vec<String>);

impl Limit {
    /// `InventoryManager.subset`: splits the pattern and reads `@file`
    /// entries (one pattern a line) relative to `cwd`.
    pub fn parse(pattern: &str, cwd: &Path) -> Result<Limit, InventoryError> {
        let mut out = Vec::new();
        for x in split_host_pattern(&[pattern]) {
            if let Some(file) = x.strip_prefix('@') {
                let p = cwd.join(file);
                if !p.exists() {
                    return Err(InventoryError::Limit(format!(
                        "Unable to find limit file {file}"
                    )));
                }
                if !p.is_file() {
                    return Err(InventoryError::Limit(format!(
                        "Limit starting with \"@\" must be a file, not a directory: {file}"
                    )));
                }
                let text = std::fs::read_to_string(&p)
                    .map_err(|e| InventoryError::Limit(format!("Unable to read {file}: {e}")))?;
                out.extend(text.split('\n').map(|l| l.trim().to_owned()));
            } else {
                out.push(x);
            }
        }
        Ok(Limit(out))
    }
}

/// Hosts selected by a pattern, with the warnings raised.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub hosts: Vec<String>,
    pub warnings: Warnings,
}

#[allow(clippy::unwrap_used)] // constant patterns
fn res() -> &'static (Regex, Regex) {
    static R: OnceLock<(Regex, Regex)> = OnceLock::new();
    R.get_or_init(|| {
        (
            Regex::new(r"(?:[^\s:\[\]]|\[[^\]]*\])+").unwrap(),
            Regex::new(r"^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$").unwrap(),
        )
    })
}

/// `split_host_pattern`: `a,b` and `a:b` into single patterns (an address
/// such as an IPv6 one or `host[1:3]` is kept whole).
pub fn split_host_pattern<S: AsRef<str>>(patterns: &[S]) -> Vec<String> {
    let mut out = Vec::new();
    for p in patterns {
        let p = p.as_ref();
        let parts: Vec<String> = if p.contains(',') {
            p.split(',').map(str::to_owned).collect()
        } else if parse_address(p, true).is_some() {
            vec![p.to_owned()]
        } else {
            res()
                .0
                .find_iter(p)
                .map(|m| m.as_str().to_owned())
                .collect()
        };
        out.extend(
            parts
                .iter()
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        );
    }
    out
}

/// `order_patterns`: plain patterns, then `&` ones, then `!` ones; `all`
/// when there is no plain pattern.
fn order_patterns(patterns: &[String]) -> Vec<String> {
    let (mut reg, mut and, mut not) = (Vec::new(), Vec::new(), Vec::new());
    for p in patterns.iter().filter(|p| !p.is_empty()) {
        if p.starts_with('!') {
            not.push(p.clone());
        } else if p.starts_with('&') {
            and.push(p.clone());
        } else {
            reg.push(p.clone());
        }
    }
    if reg.is_empty() {
        reg.push("all".into());
    }
    reg.extend(and);
    reg.extend(not);
    reg
}

/// Python's `fnmatch.fnmatchcase`: whether `text` matches the shell-style
/// `pattern`.
pub fn fnmatch(pattern: &str, text: &str) -> bool {
    Regex::new(&fnmatch_regex(pattern)).is_ok_and(|r| r.is_match(text))
}

/// Python's `fnmatch.translate`, as a Rust regex matching the whole text.
pub fn fnmatch_regex(pat: &str) -> String {
    let cs: Vec<char> = pat.chars().collect();
    let mut out = String::from("(?s)^");
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        i += 1;
        match c {
            '*' => {
                while i < cs.len() && cs[i] == '*' {
                    i += 1;
                }
                out.push_str(".*");
            }
            '?' => out.push('.'),
            '[' => {
                let mut j = i;
                if j < cs.len() && cs[j] == '!' {
                    j += 1;
                }
                if j < cs.len() && cs[j] == ']' {
                    j += 1;
                }
                while j < cs.len() && cs[j] != ']' {
                    j += 1;
                }
                if j >= cs.len() {
                    out.push_str("\\[");
                } else {
                    let inner: String = cs[i..j].iter().collect();
                    i = j + 1;
                    let (neg, body) = match inner.strip_prefix('!') {
                        Some(b) => (true, b.to_owned()),
                        None => (false, inner.clone()),
                    };
                    if body.is_empty() {
                        // `[]` / `[!]` never matches / matches any char
                        out.push_str(if neg { "." } else { "(?!)" });
                        continue;
                    }
                    let mut cls = String::new();
                    for ch in body.chars() {
                        match ch {
                            '\\' | '[' | ']' | '&' | '~' | '^' => {
                                cls.push('\\');
                                cls.push(ch);
                            }
                            _ => cls.push(ch),
                        }
                    }
                    out.push('[');
                    if neg {
                        out.push('^');
                    }
                    out.push_str(&cls);
                    out.push(']');
                }
            }
            c => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    out.push('$');
    out
}

impl Inventory {
    fn match_list<'a>(
        &self,
        items: impl Iterator<Item = &'a str>,
        pattern: &str,
    ) -> Result<Vec<&'a str>, InventoryError> {
        let re = match pattern.strip_prefix('~') {
            Some(r) => Regex::new(&format!("^(?:{r})")),
            None => {
                let t = fnmatch_regex(pattern);
                // Rust's regex has no empty class; `(?!)` stands for one
                Regex::new(&t.replace("(?!)", "[^\\s\\S]"))
            }
        }
        .map_err(|_| InventoryError::Pattern(format!("Invalid host list pattern: {pattern}")))?;
        Ok(items.filter(|s| re.is_match(s)).collect())
    }

    fn enumerate_matches(
        &self,
        pattern: &str,
        warnings: &mut Warnings,
    ) -> Result<Vec<HostRef>, InventoryError> {
        let d = &self.data;
        let mut results = Vec::new();
        let groups = self.match_list(d.groups.iter().map(|g| g.name.as_str()), pattern)?;
        for g in &groups {
            if let Some(id) = d.group_id(g) {
                for h in d.group_hosts(id) {
                    if id == crate::data::ALL && d.hosts[h].implicit {
                        continue;
                    }
                    results.push(HostRef::Inventory(h));
                }
            }
        }
        if groups.is_empty() || pattern.starts_with('~') || pattern.contains(['.', '?', '*', '[']) {
            for h in self.match_list(d.hosts.iter().map(|h| h.name.as_str()), pattern)? {
                if let Some(id) = d.host_id(h) {
                    results.push(HostRef::Inventory(id));
                }
            }
        }
        if results.is_empty() && LOCALHOST.contains(&pattern) {
            if let Some(h) = self.resolve_host(pattern) {
                results.push(h);
            }
        }
        if results.is_empty() && groups.is_empty() && pattern != "all" {
            let msg = format!("Could not match supplied host pattern, ignoring: {pattern}");
            match self.pattern_mismatch {
                crate::PatternMismatch::Warning => warnings.push(msg),
                crate::PatternMismatch::Error => return Err(InventoryError::Pattern(msg)),
                crate::PatternMismatch::Ignore => {}
            }
        }
        Ok(results)
    }

    fn match_one_pattern(
        &self,
        pattern: &str,
        warnings: &mut Warnings,
    ) -> Result<Vec<HostRef>, InventoryError> {
        let pattern = pattern.strip_prefix(['&', '!']).unwrap_or(pattern);
        let (expr, sub) = if pattern.starts_with('~') {
            (pattern.to_owned(), None)
        } else if let Some(c) = res().1.captures(pattern) {
            let expr = c[1].to_owned();
            let sub = if let Some(idx) = c.get(2) {
                (parse_i(idx.as_str())?, None)
            } else {
                if &c[4] == "-" {
                    warnings.push(
                        "Use [x:y] inclusive subscripts instead of [x-y] which has been removed",
                    );
                }
                let end = if c[5].is_empty() { -1 } else { parse_i(&c[5])? };
                (parse_i(&c[3])?, Some(end))
            };
            (expr, Some(sub))
        } else {
            (pattern.to_owned(), None)
        };
        let hosts = self.enumerate_matches(&expr, warnings)?;
        let Some((start, end)) = sub else {
            return Ok(hosts);
        };
        if hosts.is_empty() {
            return Ok(hosts);
        }
        let n = hosts.len() as i64;
        match end {
            Some(e) if e != 0 => {
                let e = if e == -1 { n - 1 } else { e };
                let (a, b) = (py_index(start, n), py_index(e + 1, n));
                Ok(if a < b {
                    hosts[a..b].to_vec()
                } else {
                    Vec::new()
                })
            }
            _ => {
                let i = if start < 0 { start + n } else { start };
                if i < 0 || i >= n {
                    return Err(InventoryError::Pattern(format!(
                        "No hosts matched the subscripted pattern '{pattern}'"
                    )));
                }
                Ok(vec![hosts[i as usize].clone()])
            }
        }
    }

    fn evaluate_patterns(
        &self,
        patterns: &[String],
        warnings: &mut Warnings,
    ) -> Result<Vec<HostRef>, InventoryError> {
        let mut hosts: Vec<HostRef> = Vec::new();
        for p in order_patterns(patterns) {
            if let Some(id) = self.data.host_id(&p) {
                hosts.push(HostRef::Inventory(id));
                continue;
            }
            let that = self.match_one_pattern(&p, warnings)?;
            if p.starts_with('!') {
                let set: HashSet<&HostRef> = that.iter().collect();
                hosts.retain(|h| !set.contains(h));
            } else if p.starts_with('&') {
                let set: HashSet<&HostRef> = that.iter().collect();
                hosts.retain(|h| set.contains(h));
            } else {
                let existing: HashSet<String> =
                    hosts.iter().map(|h| self.host_name(h).to_owned()).collect();
                hosts.extend(
                    that.into_iter()
                        .filter(|h| !existing.contains(self.host_name(h))),
                );
            }
        }
        Ok(hosts)
    }

    /// `InventoryManager.get_hosts(pattern, order)` with an optional
    /// `--limit`: host names in Ansible's order.
    pub fn get_hosts<S: AsRef<str>>(
        &self,
        patterns: &[S],
        limit: Option<&Limit>,
        order: HostOrder,
    ) -> Result<Selection, InventoryError> {
        let mut warnings = Warnings::default();
        let split = split_host_pattern(patterns);
        let mut hosts = self.evaluate_patterns(&split, &mut warnings)?;
        if let Some(l) = limit {
            let allowed: HashSet<HostRef> = self
                .evaluate_patterns(&l.0, &mut warnings)?
                .into_iter()
                .collect();
            hosts.retain(|h| allowed.contains(h));
        }
        let mut seen = HashSet::new();
        let names: Vec<String> = hosts
            .into_iter()
            .filter(|h| seen.insert(h.clone()))
            .map(|h| self.host_name(&h).to_owned())
            .collect();
        Ok(Selection {
            hosts: order.apply(names),
            warnings,
        })
    }

    /// `InventoryManager.list_hosts` (ad-hoc `--list-hosts`): as
    /// [`Inventory::get_hosts`], but a localhost name that matched nothing
    /// is returned as itself.
    pub fn list_hosts(
        &self,
        pattern: &str,
        limit: Option<&Limit>,
    ) -> Result<Selection, InventoryError> {
        let mut sel = self.get_hosts(&[pattern], limit, HostOrder::Inventory)?;
        if sel.hosts.is_empty() && LOCALHOST.contains(&pattern) {
            sel.hosts.push(pattern.to_owned());
        }
        Ok(sel)
    }
}

fn parse_i(s: &str) -> Result<i64, InventoryError> {
    s.parse::<i64>()
        .map_err(|_| InventoryError::Pattern(format!("Invalid subscript: {s}")))
}

/// A Python slice bound clamped to `0..=n`.
fn py_index(i: i64, n: i64) -> usize {
    let i = if i < 0 { (i + n).max(0) } else { i.min(n) };
    i as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split() {
        assert_eq!(split_host_pattern(&["a:b"]), ["a", "b"]);
        assert_eq!(split_host_pattern(&["a:&b:!c"]), ["a", "&b", "!c"]);
        assert_eq!(split_host_pattern(&["a, b ,c"]), ["a", "b", "c"]);
        assert_eq!(split_host_pattern(&["web[1:3]"]), ["web[1:3]"]);
        assert_eq!(split_host_pattern(&["fe80::1"]), ["fe80::1"]);
        assert_eq!(split_host_pattern(&["g[1:]:x"]), ["g[1:]", "x"]);
    }

    #[test]
    fn fnmatch() {
        let m = |p: &str, s: &str| Regex::new(&fnmatch_regex(p)).unwrap().is_match(s);
        assert!(m("web*", "web1"));
        assert!(!m("web*", "xweb1"));
        assert!(m("*.example.com", "a.example.com"));
        assert!(m("w[0-9]", "w5"));
        assert!(m("w[!0-9]", "wx"));
        assert!(m("a.b", "a.b"));
        assert!(!m("a.b", "axb"));
    }
}
