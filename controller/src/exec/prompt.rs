//! `vars_prompt`: play variables asked for before the play starts.
//!
//! As Ansible: a name given with `-e` is not asked; without a terminal on
//! stdin nothing is asked ("Not prompting as we are not in interactive
//! mode") and the default, or the string `None`, is used; private answers
//! are read from the terminal without echo; `encrypt` hashes the answer
//! with the `password_hash` filter's crypt schemes.

use std::io::{BufRead, IsTerminal, Write};

use serde_json::{Map, Value};

/// One entry of `vars_prompt`, after templating.
#[derive(Debug, Clone, PartialEq)]
pub struct PromptSpec {
    pub name: String,
    pub prompt: Option<String>,
    pub default: Option<Value>,
    pub private: bool,
    pub confirm: bool,
    pub encrypt: Option<String>,
    pub salt_size: Option<usize>,
    pub salt: Option<String>,
    pub unsafe_: bool,
}

const KEYS: [&str; 9] = [
    "name",
    "prompt",
    "default",
    "private",
    "confirm",
    "encrypt",
    "salt_size",
    "salt",
    "unsafe",
];

/// Checks the shape of a `vars_prompt` value (a list of mappings, or one
/// mapping), with Ansible's messages.
pub fn validate(v: &Value) -> Result<(), String> {
    let entries: Vec<&Value> = match v {
        Value::Null => return Ok(()),
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    for e in entries {
        let Value::Object(m) = e else {
            return Err("Invalid vars_prompt data structure, missing 'name' key".into());
        };
        if !m.contains_key("name") {
            return Err("Invalid vars_prompt data structure, missing 'name' key".into());
        }
        if let Some(k) = m.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(format!(
                "Invalid vars_prompt data structure, found unsupported key '{k}'"
            ));
        }
    }
    Ok(())
}

/// Ansible's `boolean()` for the flag fields.
fn flag(v: Option<&Value>, default: bool, what: &str) -> Result<bool, String> {
    match v {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::Number(n)) => Ok(n.as_f64() == Some(1.0)),
        Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "y" | "yes" | "on" | "1" | "true" | "t" | "1.0" => Ok(true),
            "n" | "no" | "off" | "0" | "false" | "f" | "0.0" | "" => Ok(false),
            _ => Err(format!(
                "The value '{s}' is not a valid boolean.  Valid booleans include: 'y', 'yes', 'on', '1', 'true', 't', 1, 1.0, True, 'n', 'no', 'off', '0', 'false', 'f', 0, 0.0, False ({what})"
            )),
        },
        Some(other) => Err(format!("The value '{other}' is not a valid boolean ({what})")),
    }
}

fn text(v: &Value) -> String {
    crate::exec::value_to_string(v)
}

/// Reads the templated `vars_prompt` value into specs.
pub fn specs(v: &Value) -> Result<Vec<PromptSpec>, String> {
    validate(v)?;
    let entries: Vec<&Value> = match v {
        Value::Null => Vec::new(),
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    let mut out = Vec::new();
    for e in entries {
        let m = e.as_object().cloned().unwrap_or_default();
        let s = |k: &str| m.get(k).filter(|v| !v.is_null()).map(text);
        out.push(PromptSpec {
            name: s("name").unwrap_or_default(),
            prompt: s("prompt").filter(|p| !p.is_empty()),
            default: m.get("default").filter(|v| !v.is_null()).cloned(),
            private: flag(m.get("private"), true, "private")?,
            confirm: flag(m.get("confirm"), false, "confirm")?,
            encrypt: s("encrypt"),
            salt_size: m.get("salt_size").and_then(|v| match v {
                Value::Number(n) => n.as_u64().map(|n| n as usize),
                Value::String(s) => s.parse().ok(),
                _ => None,
            }),
            salt: s("salt"),
            unsafe_: flag(m.get("unsafe"), false, "unsafe")?,
        });
    }
    Ok(out)
}

/// Where answers come from.
pub trait Asker {
    /// Whether there is someone to ask (stdin is a terminal).
    fn interactive(&self) -> bool;
    /// Shows `msg` and returns the answer line without its newline.
    fn ask(&mut self, msg: &str, private: bool) -> std::io::Result<String>;
}

/// The process's terminal: visible answers on stdin/stdout, private ones
/// on the controlling terminal without echo (as Python's `getpass`).
pub struct Terminal;

impl Asker for Terminal {
    fn interactive(&self) -> bool {
        std::io::stdin().is_terminal()
    }

    fn ask(&mut self, msg: &str, private: bool) -> std::io::Result<String> {
        if private {
            return rpassword::prompt_password(msg);
        }
        let mut out = std::io::stdout().lock();
        out.write_all(msg.as_bytes())?;
        out.flush()?;
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\n', '\r']).to_owned())
    }
}

/// Notices to show while asking (the mismatch line, the warning).
pub enum Notice {
    Mismatch,
    NotInteractive,
}

/// Asks for one variable (Ansible's `do_var_prompt`), returning the raw
/// answer (before `encrypt`/`unsafe`).
pub fn ask_one(
    spec: &PromptSpec,
    asker: &mut dyn Asker,
    notify: &mut dyn FnMut(Notice),
) -> std::io::Result<String> {
    let mut result = String::new();
    if asker.interactive() {
        let msg = match (&spec.prompt, &spec.default) {
            (Some(p), Some(d)) => format!("{p} [{}]: ", text(d)),
            (Some(p), None) => format!("{p}: "),
            (None, _) => format!("input for {}: ", spec.name),
        };
        loop {
            result = asker.ask(&msg, spec.private)?;
            if !spec.confirm {
                break;
            }
            let second = asker.ask(&format!("confirm {msg}"), spec.private)?;
            if result == second {
                break;
            }
            notify(Notice::Mismatch);
        }
    } else {
        notify(Notice::NotInteractive);
        if spec.default.is_none() {
            // Python's to_text(None).
            return Ok("None".into());
        }
    }
    if result.is_empty() {
        if let Some(d) = &spec.default {
            result = text(d);
        }
    }
    Ok(result)
}

/// Salt characters of crypt schemes.
const SALT_CHARS: &[u8] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The salt for `encrypt`: the given one, else `salt_size` random chars.
pub fn salt_for(spec: &PromptSpec) -> String {
    if let Some(s) = &spec.salt {
        return s.clone();
    }
    let n = spec.salt_size.unwrap_or(16);
    let mut bytes = vec![0u8; n];
    let _ = getrandom_fill(&mut bytes);
    bytes
        .iter()
        .map(|b| SALT_CHARS[*b as usize % SALT_CHARS.len()] as char)
        .collect()
}

fn getrandom_fill(buf: &mut [u8]) -> std::io::Result<()> {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")?.read_exact(buf)
}

impl super::Runner<'_> {
    /// The play with its prompted variables in `vars` (None when it has no
    /// `vars_prompt`). Runs before the play banner, as in Ansible. Without
    /// an asker (listing modes) each default is used as is, unasked.
    pub(crate) fn prompt_vars(
        &mut self,
        play: &crate::playbook::Play,
        mut asker: Option<&mut dyn Asker>,
    ) -> Result<Option<crate::playbook::Play>, u8> {
        let Some(raw) = play.attrs.get("vars_prompt") else {
            return Ok(None);
        };
        let vars = self.play_level_vars(play);
        let fail = |cb: &mut crate::exec::callback::Callback, msg: String| {
            cb.error(&msg);
            super::RUN_ERROR
        };
        let templated = match self.templar.template(raw, &vars) {
            Ok(v) => v,
            Err(e) => return Err(fail(&mut self.cb, e.to_string())),
        };
        let specs = specs(&templated).map_err(|e| fail(&mut self.cb, e))?;
        let mut play = play.clone();
        for spec in specs {
            if self.cfg.extra_vars.contains_key(&spec.name) {
                continue;
            }
            let Some(asker) = asker.as_deref_mut() else {
                play.vars.insert(
                    spec.name.clone(),
                    spec.default.clone().unwrap_or(Value::Null),
                );
                continue;
            };
            let cb = &mut self.cb;
            let answer = ask_one(&spec, asker, &mut |n| match n {
                Notice::Mismatch => cb.display("***** VALUES ENTERED DO NOT MATCH ****"),
                Notice::NotInteractive => {
                    cb.warning("Not prompting as we are not in interactive mode")
                }
            })
            .map_err(|e| fail(&mut self.cb, format!("Failed to read {}: {e}", spec.name)))?;
            let value = match &spec.encrypt {
                Some(scheme) => {
                    let mut m = Map::new();
                    m.insert("__prompt_value".into(), Value::String(answer));
                    m.insert("__prompt_scheme".into(), Value::String(scheme.clone()));
                    m.insert("__prompt_salt".into(), Value::String(salt_for(&spec)));
                    let vars: std::sync::Arc<dyn rustle_template::Vars> = std::sync::Arc::new(m);
                    let hashed = self
                        .templar
                        .template_str(
                            "{{ __prompt_value | password_hash(__prompt_scheme, __prompt_salt) }}",
                            &vars,
                        )
                        .map_err(|e| fail(&mut self.cb, e.to_string()))?;
                    super::value_to_string(&hashed)
                }
                None => answer,
            };
            let value = if spec.unsafe_ {
                unsafe_value(value)
            } else {
                Value::String(value)
            };
            play.vars.insert(spec.name.clone(), value);
        }
        Ok(Some(play))
    }
}

/// Wraps a value as Ansible's unsafe text (never templated).
pub fn unsafe_value(s: String) -> Value {
    let mut m = Map::new();
    m.insert(rustle_template::UNSAFE_KEY.to_owned(), Value::String(s));
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    struct Scripted(Vec<&'static str>, Vec<String>, bool);
    impl Asker for Scripted {
        fn interactive(&self) -> bool {
            self.2
        }
        fn ask(&mut self, msg: &str, _private: bool) -> std::io::Result<String> {
            self.1.push(msg.to_owned());
            Ok(self.0.remove(0).to_owned())
        }
    }

    fn one(v: Value) -> PromptSpec {
        specs(&json!([v])).unwrap().remove(0)
    }

    fn answer(spec: &PromptSpec, a: &mut Scripted) -> (String, usize) {
        let mut mism = 0;
        let v = ask_one(spec, a, &mut |n| {
            if matches!(n, Notice::Mismatch) {
                mism += 1
            }
        })
        .unwrap();
        (v, mism)
    }

    #[test]
    fn messages_defaults_and_confirm() {
        let s = one(json!({"name": "u", "prompt": "User", "default": "bob", "private": "no"}));
        assert!(!s.private);
        let mut a = Scripted(vec![""], vec![], true);
        assert_eq!(answer(&s, &mut a).0, "bob");
        assert_eq!(a.1, ["User [bob]: "]);

        let s = one(json!({"name": "pw", "confirm": true}));
        let mut a = Scripted(vec!["a", "b", "c", "c"], vec![], true);
        assert_eq!(answer(&s, &mut a), ("c".into(), 1));
        assert_eq!(a.1[1], "confirm input for pw: ");
    }

    #[test]
    fn not_interactive_uses_default_or_none() {
        let s = one(json!({"name": "pw", "prompt": "P"}));
        let mut a = Scripted(vec![], vec![], false);
        assert_eq!(answer(&s, &mut a).0, "None");
        let s = one(json!({"name": "n", "default": 5}));
        assert_eq!(answer(&s, &mut a).0, "5");
    }

    #[test]
    fn bad_structures_are_refused() {
        assert_eq!(
            validate(&json!([{"prompt": "x"}])).unwrap_err(),
            "Invalid vars_prompt data structure, missing 'name' key"
        );
        assert_eq!(
            validate(&json!([{"name": "x", "bogus": 1}])).unwrap_err(),
            "Invalid vars_prompt data structure, found unsupported key 'bogus'"
        );
        assert!(specs(&json!([{"name": "x", "private": "maybe"}])).is_err());
    }
}
