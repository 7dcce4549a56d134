//! Ansible's `ini` inventory plugin.

use std::sync::OnceLock;

use regex::Regex;
use serde_json::Value as Json;

use crate::address::{expand_hostpattern, shlex_split};
use crate::data::InventoryData;
use crate::pyliteral::ini_value;
use crate::Warnings;

#[allow(clippy::unwrap_used)] // constant patterns
fn section_re() -> &'static (Regex, Regex) {
    static P: OnceLock<(Regex, Regex)> = OnceLock::new();
    P.get_or_init(|| {
        (
            Regex::new(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:\#.*)?$").unwrap(),
            Regex::new(r"^([^:\]\s]+)\s*(?:\#.*)?$").unwrap(),
        )
    })
}

enum State {
    Hosts,
    Children,
    Vars,
}

struct Pending {
    line: usize,
    vars: bool,
    parents: Vec<String>,
}

/// Python's `str.splitlines()`.
fn py_splitlines(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut it = text.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        if matches!(
            c,
            '\n' | '\r'
                | '\x0b'
                | '\x0c'
                | '\x1c'
                | '\x1d'
                | '\x1e'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        ) {
            out.push(&text[start..i]);
            let mut end = i + c.len_utf8();
            if c == '\r' {
                if let Some(&(_, '\n')) = it.peek() {
                    it.next();
                    end += 1;
                }
            }
            start = end;
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

fn py_strip(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || ('\x1c'..='\x1f').contains(&c))
}

/// Parses INI text into the inventory. The error is the text Ansible
/// reports for this plugin (`path:line: message` for most).
pub fn parse(
    inv: &mut InventoryData,
    path: &str,
    text: &str,
    warnings: &mut Warnings,
) -> Result<(), String> {
    let (section, groupname_re) = section_re();
    let mut pending: Vec<(String, Pending)> = Vec::new();
    let find = |p: &Vec<(String, Pending)>, n: &str| p.iter().position(|(k, _)| k == n);
    let mut group = "ungrouped".to_owned();
    let mut state = State::Hosts;
    let err = |lineno: usize, msg: String| format!("{path}:{lineno}: {msg}");
    for (idx, raw) in py_splitlines(text).into_iter().enumerate() {
        let lineno = idx + 1;
        let line = py_strip(raw);
        if line.is_empty() || line.starts_with([';', '#']) {
            continue;
        }
        if let Some(c) = section.captures(line) {
            group = c[1].to_owned();
            let kind = c.get(2).map_or("hosts", |m| m.as_str());
            state = match kind {
                "hosts" => State::Hosts,
                "children" => State::Children,
                "vars" => State::Vars,
                other => {
                    return Err(err(
                        lineno,
                        format!("Section [{group}:{other}] has unknown type: {other}"),
                    ))
                }
            };
            if inv.group_id(&group).is_none() {
                if matches!(state, State::Vars) && find(&pending, &group).is_none() {
                    pending.push((
                        group.clone(),
                        Pending {
                            line: lineno,
                            vars: true,
                            parents: Vec::new(),
                        },
                    ));
                }
                inv.add_group(&group, warnings);
            }
            if !matches!(state, State::Vars) {
                if let Some(i) = find(&pending, &group) {
                    if pending[i].1.vars {
                        pending.remove(i);
                    } else {
                        add_pending_children(inv, &group, &mut pending)?;
                    }
                }
            }
            continue;
        } else if line.starts_with('[') && line.ends_with(']') {
            return Err(err(lineno, format!("Invalid section entry: '{line}'. Please make sure that there are no spaces in the section entry, and that there are no other invalid characters")));
        }
        match state {
            State::Hosts => {
                let tokens = shlex_split(line).map_err(|e| {
                    err(
                        lineno,
                        format!("Error parsing host definition '{line}': {e}"),
                    )
                })?;
                let Some(first) = tokens.first() else {
                    // a line that is only a comment after shlex: Python
                    // fails on tokens[0]
                    return Err("list index out of range".into());
                };
                // Ansible's text has no position here (a bare Python error)
                let (hosts, port) = expand_hostpattern(first)?;
                if first.trim().ends_with(':') && port.is_none() {
                    return Err(format!("Invalid host pattern '{first}' supplied, ending in ':' is not allowed, this character is reserved to provide a port."));
                }
                if hosts.iter().any(|h| h.trim() == "---") {
                    return Err(format!("Invalid host pattern '{first}' supplied, '---' is normally a sign this is a YAML file."));
                }
                let mut vars: Vec<(String, Json)> = Vec::new();
                for t in &tokens[1..] {
                    let Some((k, v)) = t.split_once('=') else {
                        return Err(err(
                            lineno,
                            format!("Expected key=value host variable assignment, got: {t}"),
                        ));
                    };
                    match vars.iter_mut().find(|(key, _)| key == k) {
                        Some(slot) => slot.1 = ini_value(v),
                        None => vars.push((k.to_owned(), ini_value(v))),
                    }
                }
                let g = inv.group_id(&group);
                for h in hosts {
                    if h.is_empty() {
                        return Err(format!("Invalid empty host name provided: {h}"));
                    }
                    let id = inv.add_host(&h, g, port, warnings);
                    for (k, v) in &vars {
                        inv.set_host_var(id, k, v.clone());
                    }
                }
            }
            State::Vars => {
                let Some((k, v)) = line.split_once('=') else {
                    return Err(err(lineno, format!("Expected key=value, got: {line}")));
                };
                let (k, v) = (py_strip(k), py_strip(v));
                let g = inv
                    .group_id(&group)
                    .ok_or_else(|| format!("Could not identify group or host named {group}"))?;
                inv.set_group_var(g, k, ini_value(v))?;
            }
            State::Children => {
                let Some(c) = groupname_re.captures(line) else {
                    return Err(err(lineno, format!("Expected group name, got: {line}")));
                };
                let child = c[1].to_owned();
                if inv.group_id(&child).is_none() {
                    match find(&pending, &child) {
                        Some(i) => pending[i].1.parents.push(group.clone()),
                        None => pending.push((
                            child,
                            Pending {
                                line: lineno,
                                vars: false,
                                parents: vec![group.clone()],
                            },
                        )),
                    }
                } else {
                    inv.add_child(&group, &child)?;
                }
            }
        }
    }
    if let Some((name, p)) = pending.into_iter().next() {
        return Err(if p.vars {
            format!(
                "{path}:{}: Section [{name}:vars] not valid for undefined group: {name}",
                p.line
            )
        } else {
            format!(
                "{path}:{}: Section [{}:children] includes undefined group: {name}",
                p.line,
                p.parents.last().map_or("", String::as_str)
            )
        });
    }
    Ok(())
}

fn add_pending_children(
    inv: &mut InventoryData,
    group: &str,
    pending: &mut Vec<(String, Pending)>,
) -> Result<(), String> {
    let Some(i) = pending.iter().position(|(k, _)| k == group) else {
        return Ok(());
    };
    let parents = pending[i].1.parents.clone();
    for parent in parents {
        inv.add_child(&parent, group)?;
        let is_child_pending = pending
            .iter()
            .any(|(k, p)| k == &parent && !p.vars && !p.parents.is_empty());
        if is_child_pending {
            add_pending_children(inv, &parent, pending)?;
        }
    }
    if let Some(i) = pending.iter().position(|(k, _)| k == group) {
        pending.remove(i);
    }
    Ok(())
}
