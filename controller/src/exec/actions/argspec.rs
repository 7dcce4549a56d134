//! `validate_argument_spec`: checks values against an argument spec given
//! at run time, with the messages of Ansible's `ArgumentSpecValidator`
//! (also the task Ansible puts at the start of a role entry point that
//! has a `meta/argument_specs.yml` spec).

use std::sync::Arc;

use rustle_template::Vars;
use serde_json::{json, Map, Value};

use super::{done, Done, Runner, AS_IS};
use crate::exec::value_to_string;

/// The Python class a value of the task has when it is checked: strings
/// come from YAML (`AnsibleUnicode`), containers were rebuilt by the
/// templar.
fn py_class(v: &Value, top: bool) -> &'static str {
    match v {
        Value::Null => "<class 'NoneType'>",
        Value::Bool(_) => "<class 'bool'>",
        Value::Number(n) if n.is_f64() => "<class 'float'>",
        Value::Number(_) => "<class 'int'>",
        Value::String(_) if top => "<class 'ansible.parsing.yaml.objects.AnsibleUnicode'>",
        Value::String(_) => "<class 'str'>",
        Value::Array(_) => "<class 'list'>",
        Value::Object(_) => "<class 'dict'>",
    }
}

fn py_repr(v: &Value) -> String {
    rustle_inventory::pyfmt::py_repr(v)
}

/// Python's `str()` of a value.
fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        Value::Number(_) => value_to_string(v),
        other => py_repr(other),
    }
}

const BOOL_LIST: &str =
    "0, 'on', 'f', 'false', 1, 'no', 'n', '1', '0', 't', 'y', 'off', 'yes', 'true'";

/// One `check_type_*`; the error text after "unable to convert to X: ".
fn convert(ty: &str, v: &Value, top: bool) -> Result<Value, String> {
    let class = py_class(v, top);
    match ty {
        "raw" => Ok(v.clone()),
        "str" | "path" | "" => Ok(match v {
            Value::String(_) => v.clone(),
            other => Value::String(py_str(other)),
        }),
        "int" => {
            let bad = || format!("\"{}\" cannot be converted to an int", py_repr(v));
            match v {
                Value::Bool(b) => Ok(Value::Bool(*b)),
                Value::Number(n) if n.is_i64() || n.is_u64() => Ok(v.clone()),
                Value::Number(n) => match n.as_f64() {
                    Some(f) if f.fract() == 0.0 => Ok(Value::from(f as i64)),
                    _ => Err(bad()),
                },
                Value::String(s) => match s.trim().parse::<i64>() {
                    Ok(i) => Ok(Value::from(i)),
                    Err(_) => match s.trim().parse::<f64>() {
                        Ok(f) if f.fract() == 0.0 && f.is_finite() => Ok(Value::from(f as i64)),
                        _ => Err(bad()),
                    },
                },
                _ => Err(bad()),
            }
        }
        "float" => match v {
            Value::Number(n) => Ok(Value::from(n.as_f64().unwrap_or(0.0))),
            Value::String(s) => s
                .trim()
                .parse::<f64>()
                .map(Value::from)
                .map_err(|_| format!("{class} cannot be converted to a float")),
            _ => Err(format!("{class} cannot be converted to a float")),
        },
        "bool" => match v {
            Value::Bool(_) => Ok(v.clone()),
            Value::String(_) | Value::Number(_) => rustle_runner::args::to_bool(v)
                .map(Value::Bool)
                .ok_or_else(|| {
                    format!(
                        "The value '{}' is not a valid boolean.  Valid booleans include: {BOOL_LIST}",
                        py_str(v)
                    )
                }),
            _ => Err(format!("{class} cannot be converted to a bool")),
        },
        "list" => match v {
            Value::Array(_) => Ok(v.clone()),
            Value::String(s) => Ok(Value::Array(
                s.split(',').map(|p| Value::String(p.to_owned())).collect(),
            )),
            Value::Number(_) => Ok(Value::Array(vec![Value::String(py_str(v))])),
            _ => Err(format!("{class} cannot be converted to a list")),
        },
        "dict" => match v {
            Value::Object(_) => Ok(v.clone()),
            Value::String(s) if s.trim_start().starts_with('{') => serde_json::from_str(s)
                .map_err(|_| "unable to evaluate string as dictionary".to_owned()),
            Value::String(s) => {
                let mut m = Map::new();
                for part in shlex::split(s).unwrap_or_default() {
                    match part.split_once('=') {
                        Some((k, val)) => {
                            m.insert(k.trim().to_owned(), Value::from(val.trim()));
                        }
                        None => return Err("dictionary requested, could not parse JSON or key=value".into()),
                    }
                }
                Ok(Value::Object(m))
            }
            _ => Err(format!("{class} cannot be converted to a dict")),
        },
        other => Err(format!("unknown type {other}")),
    }
}

/// The error messages, in Ansible's order: aliases, unsupported (listed
/// last), required, types, values.
pub(crate) fn validate_spec(spec: &Map<String, Value>, given: &Map<String, Value>) -> Vec<String> {
    let mut errors = Vec::new();
    let opt = |name: &str, key: &str| -> Option<Value> {
        spec.get(name)
            .and_then(|o| o.get(key))
            .filter(|v| !v.is_null())
            .cloned()
    };
    // Aliases give their value to the option.
    let mut params = Map::new();
    let mut unsupported = Vec::new();
    for (k, v) in given {
        if spec.contains_key(k) {
            params.insert(k.clone(), v.clone());
            continue;
        }
        let owner = spec.iter().find(|(_, o)| {
            o.get("aliases")
                .and_then(Value::as_array)
                .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(k)))
        });
        match owner {
            Some((name, _)) => {
                params.entry(name.clone()).or_insert_with(|| v.clone());
            }
            None => unsupported.push(k.clone()),
        }
    }
    let mut missing: Vec<&str> = spec
        .keys()
        .filter(|k| {
            opt(k, "required").is_some_and(|r| rustle_runner::args::to_bool(&r) == Some(true))
                && !params.contains_key(*k)
        })
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        missing.sort_unstable();
        errors.push(format!(
            "missing required arguments: {}",
            missing.join(", ")
        ));
    }
    for (name, o) in spec {
        let Some(v) = params.get(name) else {
            continue;
        };
        let required = o
            .get("required")
            .is_some_and(|r| rustle_runner::args::to_bool(r) == Some(true));
        if v.is_null() && !required && o.get("default").is_none_or(Value::is_null) {
            continue;
        }
        let ty = o.get("type").and_then(Value::as_str).unwrap_or("str");
        match convert(ty, v, true) {
            Ok(mut conv) => {
                if let Some(et) = o.get("elements").and_then(Value::as_str) {
                    // Items written in YAML keep their YAML string class;
                    // those split out of a string are plain `str`.
                    let from_yaml = v.is_array();
                    if let Value::Array(items) = &mut conv {
                        let mut kept = Vec::new();
                        for item in items.iter() {
                            match convert(et, item, from_yaml) {
                                Ok(c) => kept.push(c),
                                // A failed item is dropped from the value.
                                Err(e) => errors.push(format!(
                                    "Elements value for option '{name}' is of type {} and we were unable to convert to {et}: {e}",
                                    py_class(item, from_yaml)
                                )),
                            }
                        }
                        *items = kept;
                    }
                }
                params.insert(name.clone(), conv);
            }
            Err(e) => errors.push(format!(
                "argument '{name}' is of type {} and we were unable to convert to {ty}: {e}",
                py_class(v, true)
            )),
        }
    }
    for (name, o) in spec {
        let (Some(choices), Some(v)) =
            (o.get("choices").and_then(Value::as_array), params.get(name))
        else {
            continue;
        };
        if v.is_null() {
            continue;
        }
        let names: Vec<String> = choices.iter().map(py_str).collect();
        let list = names.join(", ");
        match v {
            Value::Array(items) => {
                let bad: Vec<String> = items
                    .iter()
                    .map(py_str)
                    .filter(|i| !names.contains(i))
                    .collect();
                if !bad.is_empty() {
                    errors.push(format!(
                        "value of {name} must be one or more of: {list}. Got no match for: {}",
                        bad.join(", ")
                    ));
                }
            }
            other => {
                let s = py_str(other);
                if !names.contains(&s) {
                    errors.push(format!("value of {name} must be one of: {list}, got: {s}"));
                }
            }
        }
    }
    if !unsupported.is_empty() {
        unsupported.sort();
        let mut names: Vec<&str> = spec.keys().map(String::as_str).collect();
        names.sort_unstable();
        let mut aliases: Vec<String> = spec
            .values()
            .filter_map(|o| o.get("aliases").and_then(Value::as_array))
            .flatten()
            .map(py_str)
            .collect();
        aliases.sort();
        let mut supported = names.join(", ");
        if !aliases.is_empty() {
            supported.push_str(&format!(" ({})", aliases.join(", ")));
        }
        errors.push(format!(
            "{}. Supported parameters include: {supported}.",
            unsupported.join(", ")
        ));
    }
    errors
}

pub(super) fn validate_argument_spec(
    r: &Runner<'_>,
    args: &Map<String, Value>,
    vars: &Arc<dyn Vars>,
) -> Done {
    let context = args
        .get("validate_args_context")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let Some(spec) = args.get("argument_spec") else {
        return done(json!({
            "failed": true,
            "msg": format!("\"argument_spec\" arg is required in args: {}", py_repr(&Value::Object(args.clone()))),
            AS_IS: true,
        }));
    };
    let Value::Object(spec) = spec else {
        return done(json!({
            "failed": true,
            "msg": format!("Incorrect type for argument_spec, expected dict and got {}", py_class(spec, false)),
            AS_IS: true,
        }));
    };
    let provided = match args.get("provided_arguments") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(other) => {
            return done(json!({
                "failed": true,
                "msg": format!("Incorrect type for provided_arguments, expected dict and got {}", py_class(other, false)),
                AS_IS: true,
            }))
        }
    };
    // Values of variables named like the options, then the provided ones.
    let mut given = Map::new();
    for name in spec.keys() {
        if let Some(v) = vars.get(name) {
            let v = r.templar.template(&v, vars).unwrap_or(v);
            given.insert(name.clone(), rustle_template::strip_unsafe(&v));
        }
    }
    given.extend(provided);
    let errors = validate_spec(spec, &given);
    if errors.is_empty() {
        return done(json!({
            "changed": false,
            "msg": "The arg spec validation passed",
            "validate_args_context": context,
        }));
    }
    done(json!({
        "failed": true,
        "changed": false,
        "msg": format!("Validation of arguments failed:\n{}", errors.join("\n")),
        "argument_spec_data": spec,
        "argument_errors": errors,
        "validate_args_context": context,
    }))
}
