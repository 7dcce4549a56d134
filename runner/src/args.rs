//! Declarative argument specs, validated the way Ansible's
//! `AnsibleModule` validates them (aliases, defaults, choices, types,
//! required, mutually exclusive, ...), with Ansible's messages.

use serde_json::{Map, Value};

use crate::modules::ModuleError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgType {
    Str,
    /// A string naming a path (`~` is left alone: the runner expands it
    /// where Ansible's modules do).
    Path,
    Bool,
    Int,
    Float,
    /// A list of strings; a comma-separated string is split.
    List,
    Dict,
    /// Any value, passed through.
    Raw,
}

impl ArgType {
    pub fn as_str(self) -> &'static str {
        match self {
            ArgType::Str => "str",
            ArgType::Path => "path",
            ArgType::Bool => "bool",
            ArgType::Int => "int",
            ArgType::Float => "float",
            ArgType::List => "list",
            ArgType::Dict => "dict",
            ArgType::Raw => "raw",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ArgDefault {
    None,
    Str(&'static str),
    Bool(bool),
    Int(i64),
}

/// One module argument.
#[derive(Debug, Clone, Copy)]
pub struct ArgDef {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub ty: ArgType,
    pub default: ArgDefault,
    pub choices: &'static [&'static str],
    pub required: bool,
    /// Internal arguments (`_raw_params`) are accepted but not documented.
    pub internal: bool,
    /// An explicit `null` stays `null` instead of taking the default (as
    /// Ansible treats every argument given as `None`; `expect`'s
    /// `timeout: null` means no timeout).
    pub keep_null: bool,
    pub doc: &'static str,
}

impl ArgDef {
    pub const fn new(name: &'static str, ty: ArgType) -> Self {
        ArgDef {
            name,
            aliases: &[],
            ty,
            default: ArgDefault::None,
            choices: &[],
            required: false,
            internal: false,
            keep_null: false,
            doc: "",
        }
    }
    pub const fn aliases(mut self, a: &'static [&'static str]) -> Self {
        self.aliases = a;
        self
    }
    pub const fn default(mut self, d: ArgDefault) -> Self {
        self.default = d;
        self
    }
    pub const fn choices(mut self, c: &'static [&'static str]) -> Self {
        self.choices = c;
        self
    }
    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }
    pub const fn internal(mut self) -> Self {
        self.internal = true;
        self
    }
    pub const fn keep_null(mut self) -> Self {
        self.keep_null = true;
        self
    }
    pub const fn doc(mut self, d: &'static str) -> Self {
        self.doc = d;
        self
    }
}

/// A module's whole argument specification.
#[derive(Debug, Clone, Copy)]
pub struct ArgSpec {
    pub args: &'static [ArgDef],
    pub mutually_exclusive: &'static [&'static [&'static str]],
    pub required_one_of: &'static [&'static [&'static str]],
    pub required_together: &'static [&'static [&'static str]],
    /// `(arg, value, requirements)`: when `arg == value`, all of
    /// `requirements` are required.
    pub required_if: &'static [(&'static str, &'static str, &'static [&'static str])],
}

impl ArgSpec {
    pub const fn new(args: &'static [ArgDef]) -> Self {
        ArgSpec {
            args,
            mutually_exclusive: &[],
            required_one_of: &[],
            required_together: &[],
            required_if: &[],
        }
    }
    pub const fn mutually_exclusive(mut self, g: &'static [&'static [&'static str]]) -> Self {
        self.mutually_exclusive = g;
        self
    }
    pub const fn required_one_of(mut self, g: &'static [&'static [&'static str]]) -> Self {
        self.required_one_of = g;
        self
    }
    pub const fn required_together(mut self, g: &'static [&'static [&'static str]]) -> Self {
        self.required_together = g;
        self
    }
    pub const fn required_if(
        mut self,
        g: &'static [(&'static str, &'static str, &'static [&'static str])],
    ) -> Self {
        self.required_if = g;
        self
    }

    fn find(&self, key: &str) -> Option<&'static ArgDef> {
        self.args
            .iter()
            .find(|a| a.name == key || a.aliases.contains(&key))
    }

    /// Validates raw task arguments into normalised [`Args`].
    pub fn validate(&self, module: &str, raw: &Map<String, Value>) -> Result<Args, ModuleError> {
        let mut out = Map::new();
        let mut unsupported = Vec::new();
        for (k, v) in raw {
            match self.find(k) {
                Some(def) => {
                    let val = if v.is_null() {
                        Value::Null
                    } else {
                        convert(def, v)?
                    };
                    out.insert(def.name.to_owned(), val);
                }
                None => unsupported.push(k.clone()),
            }
        }
        if !unsupported.is_empty() {
            unsupported.sort();
            // Ansible lists the option names, then every alias in one
            // parenthesised group after them.
            let mut names: Vec<&str> = self
                .args
                .iter()
                .filter(|a| !a.internal)
                .map(|a| a.name)
                .collect();
            names.sort_unstable();
            let mut aliases: Vec<&str> = self
                .args
                .iter()
                .filter(|a| !a.internal)
                .flat_map(|a| a.aliases.iter().copied())
                .collect();
            aliases.sort_unstable();
            let mut supported = names.join(", ");
            if !aliases.is_empty() {
                supported.push_str(&format!(" ({})", aliases.join(", ")));
            }
            return Err(ModuleError::Args(format!(
                "Unsupported parameters for ({module}) module: {}. Supported parameters include: {}.",
                unsupported.join(", "),
                supported
            )));
        }
        let given = |name: &str| out.get(name).is_some_and(|v| !v.is_null());
        for group in self.mutually_exclusive {
            let hits: Vec<&str> = group.iter().copied().filter(|n| given(n)).collect();
            if hits.len() > 1 {
                return Err(ModuleError::Args(format!(
                    "parameters are mutually exclusive: {}",
                    group.join("|")
                )));
            }
        }
        let mut missing: Vec<&str> = self
            .args
            .iter()
            .filter(|a| a.required && !given(a.name))
            .map(|a| a.name)
            .collect();
        if !missing.is_empty() {
            missing.sort();
            return Err(ModuleError::Args(format!(
                "missing required arguments: {}",
                missing.join(", ")
            )));
        }
        for group in self.required_one_of {
            if !group.iter().any(|n| given(n)) {
                return Err(ModuleError::Args(format!(
                    "one of the following is required: {}",
                    group.join(", ")
                )));
            }
        }
        for group in self.required_together {
            let n = group.iter().filter(|n| given(n)).count();
            if n != 0 && n != group.len() {
                return Err(ModuleError::Args(format!(
                    "parameters are required together: {}",
                    group.join(", ")
                )));
            }
        }
        // Defaults are filled before required_if, as Ansible does.
        for def in self.args {
            let fill = match out.get(def.name) {
                None => true,
                Some(v) => v.is_null() && !def.keep_null,
            };
            if fill {
                let d = match def.default {
                    ArgDefault::None => Value::Null,
                    ArgDefault::Str(s) => Value::String(s.to_owned()),
                    ArgDefault::Bool(b) => Value::Bool(b),
                    ArgDefault::Int(i) => Value::from(i),
                };
                out.insert(def.name.to_owned(), d);
            }
        }
        for def in self.args {
            if def.choices.is_empty() {
                continue;
            }
            if let Some(v) = out.get(def.name).filter(|v| !v.is_null()) {
                let s = scalar_string(v);
                if !def.choices.contains(&s.as_str()) {
                    return Err(ModuleError::Args(format!(
                        "value of {} must be one of: {}, got: {}",
                        def.name,
                        def.choices.join(", "),
                        s
                    )));
                }
            }
        }
        let given = |name: &str| out.get(name).is_some_and(|v| !v.is_null());
        for (key, val, reqs) in self.required_if {
            let matches = out
                .get(*key)
                .is_some_and(|v| !v.is_null() && scalar_string(v) == *val);
            if matches {
                let missing: Vec<&str> = reqs.iter().copied().filter(|r| !given(r)).collect();
                if !missing.is_empty() {
                    return Err(ModuleError::Args(format!(
                        "{key} is {val} but all of the following are missing: {}",
                        missing.join(", ")
                    )));
                }
            }
        }
        Ok(Args { map: out })
    }
}

fn scalar_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "True" } else { "False" }.to_owned(),
        other => other.to_string(),
    }
}

/// Ansible's boolean conversion (`module_utils.parsing.convert_bool`).
pub fn to_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => {
            let x = n.as_f64()?;
            if x == 1.0 {
                Some(true)
            } else if x == 0.0 {
                Some(false)
            } else {
                None
            }
        }
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "y" | "yes" | "on" | "1" | "true" | "t" | "1.0" => Some(true),
            "n" | "no" | "off" | "0" | "false" | "f" | "0.0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn python_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

fn convert(def: &ArgDef, v: &Value) -> Result<Value, ModuleError> {
    let fail = |why: String| {
        ModuleError::Args(format!(
            "argument '{}' is of type <class '{}'> and we were unable to convert to {}: {}",
            def.name,
            python_type(v),
            def.ty.as_str(),
            why
        ))
    };
    Ok(match def.ty {
        ArgType::Raw => v.clone(),
        ArgType::Str | ArgType::Path => match v {
            Value::String(_) => v.clone(),
            Value::Number(n) => Value::String(n.to_string()),
            Value::Bool(b) => Value::String(if *b { "True" } else { "False" }.into()),
            _ => return Err(fail(format!("'{}' cannot be converted to a string", v))),
        },
        ArgType::Bool => match to_bool(v) {
            Some(b) => Value::Bool(b),
            None => {
                return Err(fail(format!(
                    "The value '{}' is not a valid boolean.  Valid booleans include: 0, 'on', 'f', 'false', 1, 'no', 'n', '1', '0', 't', 'y', 'off', 'yes', 'true'",
                    scalar_string(v)
                )))
            }
        },
        ArgType::Int => match v {
            Value::Number(n) if n.is_i64() || n.is_u64() => v.clone(),
            Value::Number(n) => match n.as_f64() {
                Some(f) if f.fract() == 0.0 => Value::from(f as i64),
                _ => return Err(fail(format!("{n} cannot be converted to an int"))),
            },
            Value::String(s) => match s.trim().parse::<i64>() {
                Ok(i) => Value::from(i),
                Err(_) => return Err(fail(format!("{s} cannot be converted to an int"))),
            },
            _ => return Err(fail(format!("{v} cannot be converted to an int"))),
        },
        ArgType::Float => match v {
            Value::Number(_) => v.clone(),
            Value::String(s) => match s.trim().parse::<f64>() {
                Ok(f) => Value::from(f),
                Err(_) => return Err(fail(format!("{s} cannot be converted to a float"))),
            },
            _ => return Err(fail(format!("{v} cannot be converted to a float"))),
        },
        ArgType::List => match v {
            Value::Array(_) => v.clone(),
            Value::String(s) => Value::Array(
                s.split(',')
                    .filter(|p| !p.is_empty())
                    .map(|p| Value::String(p.to_owned()))
                    .collect(),
            ),
            Value::Number(_) | Value::Bool(_) => Value::Array(vec![Value::String(scalar_string(v))]),
            _ => return Err(fail(format!("{v} cannot be converted to a list"))),
        },
        ArgType::Dict => match v {
            Value::Object(_) => v.clone(),
            Value::String(s) => match serde_json::from_str::<Value>(s) {
                Ok(d @ Value::Object(_)) => d,
                _ => return Err(fail("dictionary requested, could not parse JSON or key=value".into())),
            },
            _ => return Err(fail("dictionary requested".into())),
        },
    })
}

/// Validated, normalised arguments with typed getters.
#[derive(Debug, Clone, Default)]
pub struct Args {
    map: Map<String, Value>,
}

impl Args {
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }
    pub fn str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }
    pub fn bool(&self, name: &str) -> bool {
        self.get(name).and_then(Value::as_bool).unwrap_or(false)
    }
    pub fn opt_bool(&self, name: &str) -> Option<bool> {
        self.get(name).and_then(Value::as_bool)
    }
    pub fn int(&self, name: &str) -> Option<i64> {
        self.get(name).and_then(Value::as_i64)
    }
    pub fn list(&self, name: &str) -> Vec<String> {
        match self.get(name) {
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => scalar_string(other),
                })
                .collect(),
            _ => Vec::new(),
        }
    }
    pub fn is_set(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}
