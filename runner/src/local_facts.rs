//! Local facts (`ansible_local`): each `*.fact` file of the fact path, run
//! when executable, read otherwise, then parsed as JSON or else as INI (with
//! Python `configparser`'s rules). A bad file becomes an error string under
//! its name plus a warning, as Ansible's collector does.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::{Map, Value};

/// The local facts and the warnings they raised.
#[derive(Debug, Default)]
pub struct Local {
    pub facts: Map<String, Value>,
    pub warnings: Vec<String>,
}

/// Collects the facts of `dir` (nothing when it does not exist).
pub fn collect(dir: &str) -> Local {
    let mut out = Local::default();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    let mut paths: Vec<String> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("fact"))
        .map(|p| p.display().to_string())
        .collect();
    paths.sort();
    for path in paths {
        let base = Path::new(&path)
            .file_name()
            .map(|n| n.to_string_lossy().replace(".fact", ""))
            .unwrap_or_default();
        match one(&path) {
            Ok((fact, warning)) => {
                out.warnings.extend(warning);
                out.facts.insert(base, fact);
            }
            Err(msg) => {
                out.warnings.push(msg.clone());
                out.facts.insert(base, Value::from(msg));
            }
        }
    }
    out
}

/// Python's `str(OSError)`.
fn os_error(e: &std::io::Error, path: &str) -> String {
    match e.raw_os_error() {
        Some(n) => {
            let text = e.to_string();
            let text = text.split(" (os error").next().unwrap_or(&text).to_owned();
            format!("[Errno {n}] {text}: '{path}'")
        }
        None => e.to_string(),
    }
}

/// One fact file: its value (and a warning), or the error that replaces it.
fn one(path: &str) -> Result<(Value, Option<String>), String> {
    let meta = std::fs::metadata(path)
        .map_err(|e| format!("Could not stat fact ({path}): {}", os_error(&e, path)))?;
    let bytes = if meta.permissions().mode() & 0o100 != 0 {
        let run = std::process::Command::new(path).output().map_err(|e| {
            format!(
                "Could not execute fact script ({path}): {}",
                os_error(&e, path)
            )
        })?;
        let rc = run.status.code().unwrap_or(-1);
        if rc != 0 {
            return Err(format!(
                "Failure executing fact script ({path}), rc: {rc}, err: {}",
                String::from_utf8_lossy(&run.stderr)
            ));
        }
        run.stdout
    } else {
        // Unreadable files read as empty, as Ansible's get_file_content.
        std::fs::read(path).unwrap_or_default()
    };
    let Ok(text) = String::from_utf8(bytes) else {
        return Err(format!(
            "error loading fact - output of running \"{path}\" was not utf-8"
        ));
    };
    if let Ok(v) = serde_json::from_str::<Value>(&text) {
        return Ok((v, None));
    }
    match ini(&text, path) {
        Ok(v) => Ok((v, None)),
        Err(msg) => Ok((Value::from(msg.clone()), Some(msg))),
    }
}

/// `configparser.ConfigParser` reading `text`: sections of options (names
/// lowercased, `=` or `:`, continuation lines, `[DEFAULT]` inherited, `%`
/// interpolation on read). The error text is the collector's.
fn ini(text: &str, path: &str) -> Result<Value, String> {
    let whole = || format!("error loading facts as JSON or ini - please check content: {path}");
    let mut sections: Vec<(String, BTreeMap<String, String>, Vec<String>)> = Vec::new();
    let mut defaults: (BTreeMap<String, String>, Vec<String>) = Default::default();
    // (in defaults?, section index, option) of the option being continued
    let mut current: Option<(bool, usize, String)> = None;
    for raw in text.lines() {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            if trimmed.is_empty() {
                current = None;
            }
            continue;
        }
        let indented = raw.starts_with([' ', '\t']);
        if indented {
            if let Some((in_def, idx, opt)) = &current {
                let map = if *in_def {
                    &mut defaults.0
                } else {
                    &mut sections[*idx].1
                };
                if let Some(v) = map.get_mut(opt) {
                    v.push('\n');
                    v.push_str(trimmed);
                }
                continue;
            }
        }
        if trimmed.starts_with('[') && trimmed.ends_with(']') {
            let name = trimmed[1..trimmed.len() - 1].to_owned();
            if name == "DEFAULT" {
                current = None;
                sections.push(("\u{0}DEFAULT".into(), BTreeMap::new(), Vec::new()));
                continue;
            }
            if sections.iter().any(|(n, _, _)| *n == name) {
                return Err(whole());
            }
            sections.push((name, BTreeMap::new(), Vec::new()));
            current = None;
            continue;
        }
        let Some(idx) = sections.len().checked_sub(1) else {
            return Err(whole());
        };
        let split = trimmed.find(['=', ':']);
        let Some(at) = split else {
            return Err(whole());
        };
        let key = trimmed[..at].trim().to_lowercase();
        let value = trimmed[at + 1..].trim().to_owned();
        let in_def = sections[idx].0 == "\u{0}DEFAULT";
        let (map, order) = if in_def {
            (&mut defaults.0, &mut defaults.1)
        } else {
            let s = &mut sections[idx];
            (&mut s.1, &mut s.2)
        };
        if map.contains_key(&key) {
            return Err(whole());
        }
        map.insert(key.clone(), value);
        order.push(key.clone());
        current = Some((in_def, idx, key));
    }
    let mut out = Map::new();
    for (name, map, order) in sections.iter().filter(|(n, _, _)| n != "\u{0}DEFAULT") {
        let mut sect = Map::new();
        let keys = order
            .iter()
            .chain(defaults.1.iter().filter(|k| !map.contains_key(*k)));
        for key in keys {
            let raw = map
                .get(key)
                .or_else(|| defaults.0.get(key))
                .cloned()
                .unwrap_or_default();
            match interpolate(&raw, map, &defaults.0, name, key, 0) {
                Ok(v) => {
                    sect.insert(key.clone(), Value::from(v));
                }
                // As the collector: the error replaces the section's dict.
                Err(e) => {
                    return Err(format!(
                        "error loading facts as ini - please check content: {path} ({e})"
                    ))
                }
            }
        }
        out.insert(name.clone(), Value::Object(sect));
    }
    Ok(Value::Object(out))
}

/// `BasicInterpolation`: `%%` is `%`, `%(name)s` another option's value.
fn interpolate(
    raw: &str,
    section: &BTreeMap<String, String>,
    defaults: &BTreeMap<String, String>,
    sect_name: &str,
    option: &str,
    depth: usize,
) -> Result<String, String> {
    if depth > 10 {
        return Err(format!(
            "Recursion limit exceeded in value substitution: option '{option}' in section '{sect_name}' contains an interpolation key which cannot be substituted in 10 steps. Raw value: '{raw}'"
        ));
    }
    let mut out = String::new();
    let mut rest = raw;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("%%") {
            out.push('%');
            rest = after;
        } else if let Some(after) = tail.strip_prefix("%(") {
            let Some(close) = after.find(")s") else {
                return Err(format!("bad interpolation variable reference '{tail}'"));
            };
            let name = after[..close].to_lowercase();
            let Some(v) = section.get(&name).or_else(|| defaults.get(&name)) else {
                return Err(format!(
                    "Bad value substitution: option '{option}' in section '{sect_name}' contains an interpolation key '{name}' which is not a valid option name. Raw value: '{raw}'"
                ));
            };
            out.push_str(&interpolate(
                v,
                section,
                defaults,
                sect_name,
                option,
                depth + 1,
            )?);
            rest = &after[close + 2..];
        } else {
            return Err(format!(
                "'%' must be followed by '%' or '(', found: '{tail}'"
            ));
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn ini_rules() {
        let v = ini(
            "[DEFAULT]\nbase = /srv\n[general]\nBar=loaded\npath: %(base)s/x\nmulti = a\n  b\n",
            "f",
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"general": {"bar": "loaded", "path": "/srv/x", "multi": "a\nb", "base": "/srv"}})
        );
        assert_eq!(
            ini("wontbeseen=ever\n", "f").unwrap_err(),
            "error loading facts as JSON or ini - please check content: f"
        );
        assert_eq!(
            ini("[bad fact]\nvalue = this is a % bad % fact\n", "f").unwrap_err(),
            "error loading facts as ini - please check content: f ('%' must be followed by '%' or '(', found: '% bad % fact')"
        );
    }
}
