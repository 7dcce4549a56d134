//! The lazy variable context and the templating algorithm (Ansible's
//! `Templar.template` / `do_template` / `AnsibleJ2Vars`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use minijinja::value::{Enumerator, Object, Value as MV, ValueKind};
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde_json::{Map, Value as JV};

use crate::convert::{json_to_mj, mj_to_json, wrap_unsafe};
use crate::error::{find_ours, ErrorKind, TemplateError};
use crate::lex;
use crate::literal::literal_eval;
use crate::pyrepr::py_str;
use crate::{ConditionalOutcome, Shared, Templar, Vars, UNSAFE_KEY, VAULT_KEY};

/// Engine globals, never looked up in the variables.
const GLOBAL_NAMES: &[&str] = &[
    "lookup",
    "query",
    "q",
    "range",
    "dict",
    "namespace",
    "debug",
    "omit",
    "now",
];

/// Variable receiving an evaluated expression.
const EXPR_VAR: &str = "__rustle_expr_result";

/// Name under which a template can reach its context object (lookups).
pub(crate) const CTX_KEY: &str = "__rustle_ctx";

#[derive(Default)]
struct St {
    stack: Vec<String>,
    pending: Option<TemplateError>,
    unsafe_seen: bool,
    last_missing: Option<String>,
    /// The first missing variable of the template: what an unguarded use
    /// reports (Jinja fails at the first undefined it evaluates).
    first_missing: Option<String>,
    hints: HashMap<String, String>,
    /// Templated values of variables already read through this context
    /// (deterministic ones only).
    resolved: HashMap<String, MV>,
}

pub(crate) struct Ctx {
    pub env: Arc<Environment<'static>>,
    pub shared: Arc<Shared>,
    pub vars: Arc<dyn Vars>,
    st: Mutex<St>,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<vars>")
    }
}

impl Object for Ctx {
    fn get_value(self: &Arc<Self>, key: &MV) -> Option<MV> {
        let name = key.as_str()?;
        if name == CTX_KEY {
            return Some(MV::from_dyn_object(self.clone()));
        }
        if let Some(v) = self.st().resolved.get(name) {
            return Some(v.clone());
        }
        if name.starts_with("__rustle") {
            return None;
        }
        let Some(raw) = self.vars.get(name) else {
            if name == "vars" {
                return Some(MV::from_object(VarsView { ctx: self.clone() }));
            }
            if name == "hostvars" && !self.vars.host_names().is_empty() {
                return Some(MV::from_object(HostVars { ctx: self.clone() }));
            }
            if !GLOBAL_NAMES.contains(&name) {
                let mut st = self.st();
                st.last_missing = Some(name.to_string());
                if st.first_missing.is_none() {
                    st.first_missing = Some(name.to_string());
                }
            }
            return None;
        };
        Some(self.resolve(name, &raw))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.vars.names().into_iter().map(MV::from).collect())
    }
}

/// The `vars` magic variable when the source does not provide one.
#[derive(Debug)]
struct VarsView {
    ctx: Arc<Ctx>,
}

impl Object for VarsView {
    fn get_value(self: &Arc<Self>, key: &MV) -> Option<MV> {
        // Ansible returns `vars` entries untemplated
        let raw = self.ctx.vars.get(key.as_str()?)?;
        Some(json_to_mj(&raw))
    }
    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.ctx.vars.names().into_iter().map(MV::from).collect())
    }
}

/// Lazy `hostvars`: host → that host's variables, templated on access.
#[derive(Debug)]
struct HostVars {
    ctx: Arc<Ctx>,
}

impl Object for HostVars {
    fn get_value(self: &Arc<Self>, key: &MV) -> Option<MV> {
        let hv = self.ctx.vars.host_vars(key.as_str()?)?;
        Some(MV::from_object(HostVarsVars {
            outer: self.ctx.clone(),
            ctx: self.ctx.with_vars(hv),
        }))
    }
    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(
            self.ctx
                .vars
                .host_names()
                .into_iter()
                .map(MV::from)
                .collect(),
        )
    }
}

/// One host's variables inside `hostvars`.
#[derive(Debug)]
struct HostVarsVars {
    outer: Arc<Ctx>,
    ctx: Arc<Ctx>,
}

impl Object for HostVarsVars {
    fn get_value(self: &Arc<Self>, key: &MV) -> Option<MV> {
        let v = self.ctx.lookup_var(key.as_str()?);
        if let Some(p) = self.ctx.take_pending() {
            let mut st = self.outer.st();
            if st.pending.is_none() {
                st.pending = Some(p);
            }
        }
        if self.ctx.st().unsafe_seen {
            self.outer.mark_unsafe();
        }
        v
    }
    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.ctx.vars.names().into_iter().map(MV::from).collect())
    }
}

fn type_name(v: &MV) -> &'static str {
    match v.kind() {
        ValueKind::Seq if v.downcast_object_ref::<crate::pyrepr::PyTuple>().is_some() => "tuple",
        ValueKind::Map => "dict",
        ValueKind::Seq | ValueKind::Iterable => "list",
        ValueKind::String => "str",
        ValueKind::Bool => "bool",
        ValueKind::None => "NoneType",
        ValueKind::Number if v.is_integer() => "int",
        ValueKind::Number => "float",
        ValueKind::Bytes => "bytes",
        _ => "object",
    }
}

/// Python's ZeroDivisionError text for the engine's
/// `unable to calculate <lhs> <op> <rhs>` when dividing by zero.
fn zero_division(detail: &str) -> Option<String> {
    let rest = detail.strip_prefix("unable to calculate ")?;
    let mut parts = rest.rsplitn(3, ' ');
    let rhs = parts.next()?;
    let op = parts.next()?;
    let lhs = parts.next()?;
    if rhs.parse::<f64>().ok()? != 0.0 {
        return None;
    }
    let float = lhs.contains(['.', 'e', 'i', 'n']) || rhs.contains('.');
    let msg = match (op, float) {
        ("/", false) => "division by zero",
        ("/", true) => "float division by zero",
        ("//", false) => "integer division or modulo by zero",
        ("//", true) => "float floor division by zero",
        ("%", false) => "integer modulo by zero",
        ("%", true) => "float modulo",
        _ => return None,
    };
    Some(format!("ZeroDivisionError: {msg}"))
}

pub(crate) fn python_type_name(v: &MV) -> &'static str {
    type_name(v)
}

impl Ctx {
    pub(crate) fn new(t: &Templar, vars: Arc<dyn Vars>) -> Arc<Ctx> {
        Arc::new(Ctx {
            env: t.env.clone(),
            shared: t.shared.clone(),
            vars,
            st: Mutex::new(St::default()),
        })
    }

    pub(crate) fn with_vars(self: &Arc<Self>, vars: Arc<dyn Vars>) -> Arc<Ctx> {
        Arc::new(Ctx {
            env: self.env.clone(),
            shared: self.shared.clone(),
            vars,
            st: Mutex::new(St::default()),
        })
    }

    pub(crate) fn last_missing(&self) -> Option<String> {
        self.st().last_missing.clone()
    }

    pub(crate) fn mark_unsafe(&self) {
        self.st().unsafe_seen = true;
    }

    fn st(&self) -> MutexGuard<'_, St> {
        match self.st.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    pub(crate) fn value(self: &Arc<Self>) -> MV {
        MV::from_dyn_object(self.clone())
    }

    /// Looks up a variable, templated (for lookups such as `vars`).
    pub(crate) fn lookup_var(self: &Arc<Self>, name: &str) -> Option<MV> {
        let raw = self.vars.get(name)?;
        Some(self.resolve(name, &raw))
    }

    /// Templates a raw variable value read by a template.
    fn resolve(self: &Arc<Self>, name: &str, raw: &JV) -> MV {
        if let Some(v) = self.st().resolved.get(name) {
            return v.clone();
        }
        if !needs_work(raw) {
            let v = json_to_mj(raw);
            self.st().resolved.insert(name.to_string(), v.clone());
            return v;
        }
        {
            let mut st = self.st();
            if st.stack.iter().any(|n| n == name) {
                if st.pending.is_none() {
                    let mut chain = st.stack.clone();
                    chain.push(name.to_string());
                    let shown = match raw {
                        JV::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    st.pending = Some(TemplateError::new(
                        ErrorKind::Recursion,
                        format!(
                            "recursive loop detected in template string: {shown} (variable chain: {})",
                            chain.join(" -> ")
                        ),
                    ));
                }
                return MV::UNDEFINED;
            }
            st.stack.push(name.to_string());
        }
        let saved_missing = self.st().last_missing.take();
        let saved_first = self.st().first_missing.take();
        let res = self.template_raw(raw);
        let mut st = self.st();
        st.stack.pop();
        st.last_missing = saved_missing;
        st.first_missing = saved_first;
        match res {
            Ok(v) => {
                if deterministic(raw) {
                    st.resolved.insert(name.to_string(), v.clone());
                }
                v
            }
            Err(e) if e.is_undefined() => {
                let shown = match raw {
                    JV::String(s) => s.clone(),
                    other => py_str(&json_to_mj(other)),
                };
                st.hints
                    .insert(name.to_string(), format!("{shown}: {}", e.message));
                MV::UNDEFINED
            }
            Err(e) if e.kind == ErrorKind::Vault => {
                // like Ansible's lazily decrypted values: fails only when used
                st.hints.insert(name.to_string(), e.message);
                MV::UNDEFINED
            }
            Err(e) => {
                if st.pending.is_none() {
                    st.pending = Some(e);
                }
                MV::UNDEFINED
            }
        }
    }

    fn decrypt(&self, cipher: &str) -> Result<String, TemplateError> {
        match &self.shared.opts.vault {
            Some(v) => v
                .decrypt(cipher)
                .map_err(|m| TemplateError::new(ErrorKind::Vault, m)),
            None => Err(TemplateError::new(
                ErrorKind::Vault,
                "Attempting to decrypt but no vault secrets found",
            )),
        }
    }

    /// Ansible's `template()` on a raw value, producing an engine value.
    pub(crate) fn template_raw(self: &Arc<Self>, raw: &JV) -> Result<MV, TemplateError> {
        match raw {
            JV::String(s) => self.template_string(s),
            JV::Array(a) => {
                let mut out = Vec::with_capacity(a.len());
                for item in a {
                    out.push(self.template_raw(item)?);
                }
                Ok(MV::from(out))
            }
            JV::Object(m) => {
                if m.len() == 1 {
                    if let Some(JV::String(s)) = m.get(UNSAFE_KEY) {
                        self.st().unsafe_seen = true;
                        return Ok(MV::from(s.as_str()));
                    }
                    if let Some(JV::String(c)) = m.get(VAULT_KEY) {
                        return Ok(MV::from(self.decrypt(c)?));
                    }
                }
                let mut pairs = Vec::with_capacity(m.len());
                for (k, v) in m {
                    pairs.push((MV::from(k.as_str()), self.template_raw(v)?));
                }
                Ok(MV::from_pairs(pairs))
            }
            other => Ok(json_to_mj(other)),
        }
    }

    /// Top-level `template()`: returns JSON, unsafe-marking results that
    /// touched unsafe data.
    pub(crate) fn template_top(self: &Arc<Self>, v: &JV) -> Result<JV, TemplateError> {
        match v {
            JV::String(s) => {
                if !lex::is_possibly_template(s) {
                    return Ok(v.clone());
                }
                self.st().unsafe_seen = false;
                let r = self.template_string(s)?;
                let j = mj_to_json(&r)?;
                let uns = std::mem::take(&mut self.st().unsafe_seen);
                Ok(if uns { wrap_unsafe(j) } else { j })
            }
            JV::Array(a) => a
                .iter()
                .map(|x| self.template_top(x))
                .collect::<Result<Vec<_>, _>>()
                .map(JV::Array),
            JV::Object(m) => {
                if m.len() == 1 && (m.contains_key(UNSAFE_KEY) || m.contains_key(VAULT_KEY)) {
                    return Ok(v.clone());
                }
                let mut out = Map::with_capacity(m.len());
                for (k, val) in m {
                    out.insert(k.clone(), self.template_top(val)?);
                }
                Ok(JV::Object(out))
            }
            other => Ok(other.clone()),
        }
    }

    /// `template()` for one string.
    pub(crate) fn template_string(self: &Arc<Self>, s: &str) -> Result<MV, TemplateError> {
        if !lex::is_possibly_template(s) {
            return Ok(MV::from(s));
        }
        if let Some(name) = single_var(s) {
            if let Some(raw) = self.vars.get(name) {
                match raw {
                    JV::Bool(_) | JV::Number(_) => return Ok(json_to_mj(&raw)),
                    JV::Null => return Ok(MV::from(())),
                    _ => {}
                }
            }
        }
        self.do_template(s, true, true)
    }

    fn take_pending(&self) -> Option<TemplateError> {
        self.st().pending.take()
    }

    /// Ansible's `do_template`.
    pub(crate) fn do_template(
        self: &Arc<Self>,
        s: &str,
        escape_backslashes: bool,
        convert: bool,
    ) -> Result<MV, TemplateError> {
        let prepared = self.shared.prepare(s, escape_backslashes);
        let pre = prepared.pre.as_str();
        self.st().last_missing = None;
        self.st().first_missing = None;
        let res: MV = if let Some(expr) = &prepared.single {
            let v = self.eval_expr(expr, s)?;
            if v.is_undefined() {
                // `a if b` without else renders as "" in Ansible
                let no_else = expr.contains(" if ") && !expr.contains(" else ");
                if !(no_else && self.st().last_missing.is_none()) {
                    return Err(self.undefined_error(Some(expr)));
                }
                return Ok(MV::from(""));
            }
            self.check_unguarded(expr)?;
            if v.is_safe() && v.kind() == ValueKind::String {
                v
            } else if v.is_none() {
                MV::from("")
            } else {
                let text = py_str(&v);
                if convert {
                    convert_text(text)
                } else {
                    MV::from(text)
                }
            }
        } else {
            let out = match self.render_src(pre) {
                Ok(out) => out,
                Err(e) => return Err(self.map_error(&e, s, pre)),
            };
            if let Some(e) = self.take_pending() {
                return Err(e);
            }
            self.check_unguarded(pre)?;
            if convert {
                convert_text(out)
            } else {
                MV::from(out)
            }
        };
        if let Some(rs) = res.as_str() {
            let want = trailing_newlines(s);
            let have = trailing_newlines(rs);
            if want > have {
                let mut t = rs.to_string();
                t.push_str(&"\n".repeat(want - have));
                return Ok(MV::from(t));
            }
        }
        Ok(res)
    }

    /// Renders a (preprocessed) source, compiling it once per templar.
    fn render_src(self: &Arc<Self>, src: &str) -> Result<String, minijinja::Error> {
        match self.shared.cache_name(src) {
            Some(name) => self.env.get_template(&name)?.render(self.value()),
            None => self.env.render_named_str("<template>", src, self.value()),
        }
    }

    /// Evaluates an expression (no delimiters) in this context.
    pub(crate) fn eval_expr(self: &Arc<Self>, expr: &str, orig: &str) -> Result<MV, TemplateError> {
        let wrapped = format!("{{% set {EXPR_VAR} = ({expr}\n) %}}");
        let v = self
            .eval_wrapped(&wrapped)
            .map_err(|e| self.map_error(&e, orig, &wrapped));
        if let Some(p) = self.take_pending() {
            return Err(p);
        }
        v
    }

    fn eval_wrapped(self: &Arc<Self>, wrapped: &str) -> Result<MV, minijinja::Error> {
        let env: &Environment<'_> = &self.env;
        let get = |t: minijinja::Template<'_, '_>| -> Result<MV, minijinja::Error> {
            let cap = t.render_captured(self.value())?;
            Ok(cap.state().lookup(EXPR_VAR).unwrap_or(MV::UNDEFINED))
        };
        match self.shared.cache_name(wrapped) {
            Some(name) => get(env.get_template(&name)?),
            None => get(env.template_from_str(wrapped)?),
        }
    }

    /// Renders a template file (template module/lookup): a string, no type
    /// conversion, no backslash escaping, trailing newlines kept.
    pub(crate) fn render_template_file(
        self: &Arc<Self>,
        src: &str,
    ) -> Result<String, TemplateError> {
        let v = self.do_template(src, false, false)?;
        Ok(match v.as_str() {
            Some(s) => s.to_string(),
            None => py_str(&v),
        })
    }

    /// Ansible's undefined values fail on any use but `is defined`,
    /// `default` & co; the engine's are lenient in comparisons, tests of
    /// truth and iteration. A missing top-level variable read by a source
    /// that has no such guard is therefore reported as undefined.
    fn check_unguarded(self: &Arc<Self>, src: &str) -> Result<(), TemplateError> {
        let missing = self.st().first_missing.clone();
        let Some(name) = missing else { return Ok(()) };
        // Whole identifiers only: `_undefined == 'x'` is not guarded.
        const GUARDS: &[&str] = &["defined", "undefined", "default", "d", "mandatory", "omit"];
        let guarded = src
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .any(|w| GUARDS.contains(&w));
        if guarded {
            return Ok(());
        }
        if let Some(h) = self.st().hints.get(&name) {
            return Err(undefined_or_vault(h.clone()));
        }
        Err(TemplateError::undefined(format!("'{name}' is undefined")))
    }

    fn undefined_error(self: &Arc<Self>, expr: Option<&str>) -> TemplateError {
        if let Some(expr) = expr {
            if let Some(msg) = self.undefined_message(expr) {
                return undefined_or_vault(msg);
            }
        }
        let st = self.st();
        if let Some(name) = &st.last_missing {
            return TemplateError::undefined(format!("'{name}' is undefined"));
        }
        TemplateError::undefined("an undefined variable was used")
    }

    /// Explains which part of a chained lookup (`a.b['c']`) is undefined.
    fn undefined_message(self: &Arc<Self>, expr: &str) -> Option<String> {
        let parts = parse_chain(expr.trim())?;
        let (first, rest) = parts.split_first()?;
        let ChainPart::Attr(name) = first else {
            return None;
        };
        if let Some(h) = self.st().hints.get(name) {
            return Some(h.clone());
        }
        if !self.vars.contains(name) && self.env.globals().all(|(g, _)| g != name) {
            return Some(format!("'{name}' is undefined"));
        }
        let mut cur = self
            .lookup_var(name)
            .or_else(|| self.env.globals().find(|(g, _)| g == name).map(|(_, v)| v))?;
        if cur.is_undefined() {
            return Some(format!("'{name}' is undefined"));
        }
        for p in rest {
            let next = match p {
                ChainPart::Attr(a) => {
                    cur.get_attr(a)
                        .ok()
                        .filter(|v| !v.is_undefined())
                        .or_else(|| {
                            cur.get_item(&MV::from(a.as_str()))
                                .ok()
                                .filter(|v| !v.is_undefined())
                        })
                }
                ChainPart::Index(i) => cur
                    .get_item(&MV::from(*i))
                    .ok()
                    .filter(|v| !v.is_undefined()),
            };
            match next {
                Some(n) => cur = n,
                None => {
                    return Some(match p {
                        ChainPart::Attr(a) => {
                            format!("'{} object' has no attribute '{a}'", type_name(&cur))
                        }
                        ChainPart::Index(i) => {
                            format!("{} object has no element {i}", type_name(&cur))
                        }
                    })
                }
            }
        }
        None
    }

    /// Maps an engine error to Ansible's wording.
    pub(crate) fn map_error(
        self: &Arc<Self>,
        e: &minijinja::Error,
        orig: &str,
        src: &str,
    ) -> TemplateError {
        if let Some(p) = self.take_pending() {
            return p;
        }
        if let Some(ours) = find_ours(e) {
            if ours.kind == ErrorKind::FilterType {
                // Templar.do_template wraps a TypeError, appending the
                // original exception's text once more.
                let m = ours.message;
                return TemplateError::other(format!(
                    "Unexpected templating type error occurred on ({orig}): {m}. {m}"
                ));
            }
            return ours;
        }
        let detail = e.detail().unwrap_or_default().to_string();
        match e.kind() {
            minijinja::ErrorKind::UndefinedError => {
                let expr = e.range().and_then(|r| {
                    filter_operand(src, r.start).or_else(|| src.get(r).map(strip_delims))
                });
                self.undefined_error(expr.as_deref())
            }
            minijinja::ErrorKind::UnknownFilter | minijinja::ErrorKind::UnknownTest => {
                let name = detail
                    .rsplit(' ')
                    .find(|w| !w.is_empty() && *w != "unknown" && *w != "is")
                    .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric() && c != '_' && c != '.'))
                    .unwrap_or_default()
                    .to_string();
                let name = extract_unknown_name(&detail).unwrap_or(name);
                let kind = if e.kind() == minijinja::ErrorKind::UnknownFilter {
                    "filter"
                } else {
                    "test"
                };
                let _ = kind;
                let m = format!("Could not load \"{name}\": '{name}'");
                TemplateError::new(
                    ErrorKind::Syntax,
                    format!("template error while templating string: {m}. String: {orig}. {m}"),
                )
            }
            minijinja::ErrorKind::SyntaxError | minijinja::ErrorKind::BadEscape => {
                TemplateError::new(
                    ErrorKind::Syntax,
                    format!("template error while templating string: {detail}. String: {orig}"),
                )
            }
            _ if zero_division(&detail).is_some() => TemplateError::new(
                ErrorKind::PyException,
                zero_division(&detail).unwrap_or_default(),
            ),
            _ => {
                let missing = self.st().last_missing.clone();
                if let Some(name) = missing {
                    if detail.contains("undefined") {
                        return TemplateError::undefined(format!("'{name}' is undefined"));
                    }
                }
                TemplateError::other(format!(
                    "Unexpected templating type error occurred on ({orig}): {detail}"
                ))
            }
        }
    }

    /// `evaluate_conditional` for a `when:` value.
    pub(crate) fn evaluate_conditional(
        self: &Arc<Self>,
        cond: &JV,
    ) -> Result<ConditionalOutcome, TemplateError> {
        let mut warnings = Vec::new();
        let items: Vec<&JV> = match cond {
            JV::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        for item in items {
            let res = match item {
                JV::Null => true,
                JV::Bool(b) => *b,
                JV::String(s) if s.is_empty() => true,
                JV::String(s) => self.check_conditional(s, &mut warnings).map_err(|e| {
                    TemplateError::new(
                        ErrorKind::Conditional,
                        format!(
                            "The conditional check '{s}' failed. The error was: {}",
                            e.message
                        ),
                    )
                })?,
                JV::Number(n) => self.check_conditional(&n.to_string(), &mut warnings)?,
                other => {
                    if let Some(s) = crate::as_unsafe_str(other) {
                        return Err(TemplateError::new(
                            ErrorKind::Conditional,
                            format!("The conditional check '{s}' failed. The error was: Conditional is marked as unsafe, and cannot be evaluated."),
                        ));
                    }
                    let text = py_str(&json_to_mj(other));
                    self.check_conditional(&text, &mut warnings)?
                }
            };
            if !res {
                return Ok(ConditionalOutcome {
                    value: false,
                    warnings,
                });
            }
        }
        Ok(ConditionalOutcome {
            value: true,
            warnings,
        })
    }

    fn check_conditional(
        self: &Arc<Self>,
        cond: &str,
        warnings: &mut Vec<String>,
    ) -> Result<bool, TemplateError> {
        let original = cond.to_string();
        let mut cond = cond.to_string();
        let undef = |e: TemplateError| {
            if e.is_undefined() {
                TemplateError::undefined(format!(
                    "error while evaluating conditional ({original}): {}",
                    e.message
                ))
            } else {
                e
            }
        };
        if lex::is_possibly_template(&cond) {
            warnings.push(format!(
                "conditional statements should not include jinja2 templating delimiters such as {{{{ }}}} or {{% %}}. Found: {cond}"
            ));
            self.st().unsafe_seen = false;
            let r = self.template_string(&cond).map_err(undef)?;
            if r.kind() == ValueKind::Bool {
                return Ok(r.is_true());
            }
            let text = py_str(&r);
            if text.is_empty() {
                return Ok(false);
            }
            if std::mem::take(&mut self.st().unsafe_seen) {
                return Err(TemplateError::new(
                    ErrorKind::Conditional,
                    "Conditional is marked as unsafe, and cannot be evaluated.",
                ));
            }
            cond = text;
        }
        let expr = lex::preprocess_expr(&cond);
        self.st().last_missing = None;
        self.st().first_missing = None;
        let v = self
            .eval_expr(&expr, &format!("{{% if {cond} %}}"))
            .map_err(undef)?;
        if v.is_undefined() {
            return Err(undef(self.undefined_error(Some(&expr))));
        }
        self.check_unguarded(&expr).map_err(undef)?;
        let truth = v.is_true();
        if v.kind() != ValueKind::Bool {
            let tn = match v.kind() {
                ValueKind::String => "AnsibleUnicode",
                _ => type_name(&v),
            };
            warnings.push(format!(
                "Conditional result was of type '{tn}'. Conditional results should only be True or False. The result was interpreted as {}.",
                if truth { "True" } else { "False" }
            ));
        }
        Ok(truth)
    }

    pub(crate) fn run_lookup_for_loop(
        self: &Arc<Self>,
        name: &str,
        terms: &JV,
        kwargs: &Map<String, JV>,
    ) -> Result<Vec<JV>, TemplateError> {
        let terms_mj = json_to_mj(terms);
        // listify_lookup_plugin_terms keeps any iterable as is: a list's
        // items are the terms, and so are a mapping's keys, except for
        // `dict`, which wraps a non-list into a list.
        let is_dict_lookup = matches!(name, "dict" | "ansible.builtin.dict");
        // The list lookup refuses anything but a sequence (a mapping too).
        if matches!(name, "list" | "ansible.builtin.list") && terms_mj.kind() == ValueKind::Map {
            return Err(TemplateError::other("with_list expects a list"));
        }
        let terms_list: Vec<MV> = match terms_mj.kind() {
            ValueKind::Seq => terms_mj.try_iter().map(|i| i.collect()).unwrap_or_default(),
            ValueKind::Map if !is_dict_lookup => {
                terms_mj.try_iter().map(|i| i.collect()).unwrap_or_default()
            }
            _ => vec![terms_mj],
        };
        let kw: Vec<(String, MV)> = kwargs
            .iter()
            .map(|(k, v)| (k.clone(), json_to_mj(v)))
            .collect();
        let res = crate::lookups::run(self, name, &terms_list, &kw, true)?;
        let j = mj_to_json(&res)?;
        Ok(match j {
            JV::Array(a) => a,
            other => vec![other],
        })
    }
}

fn undefined_or_vault(msg: String) -> TemplateError {
    if msg == "Attempting to decrypt but no vault secrets found" {
        TemplateError::new(ErrorKind::Vault, msg)
    } else {
        TemplateError::undefined(msg)
    }
}

/// Whether templating `raw` always gives the same result (no lookups,
/// randomness or time), so it may be cached for the rest of a call.
fn deterministic(raw: &JV) -> bool {
    match raw {
        JV::String(s) => ![
            "lookup", "query", "q(", "random", "shuffle", "now(", "password", "pipe",
        ]
        .iter()
        .any(|w| s.contains(w)),
        JV::Array(a) => a.iter().all(deterministic),
        JV::Object(m) => m.values().all(deterministic),
        _ => true,
    }
}

fn needs_work(raw: &JV) -> bool {
    match raw {
        JV::String(s) => lex::is_possibly_template(s),
        JV::Array(a) => a.iter().any(needs_work),
        JV::Object(m) => {
            (m.len() == 1 && (m.contains_key(UNSAFE_KEY) || m.contains_key(VAULT_KEY)))
                || m.values().any(needs_work)
        }
        _ => false,
    }
}

/// Ansible's concat conversion of a rendered string.
fn convert_text(out: String) -> MV {
    if out.starts_with('{') || out.starts_with('[') || out == "True" || out == "False" {
        if let Some(v) = literal_eval(&out) {
            return v;
        }
    }
    MV::from(out)
}

fn trailing_newlines(s: &str) -> usize {
    s.bytes().rev().take_while(|b| *b == b'\n').count()
}

/// `^{{\s*(\w*)\s*}}$`
fn single_var(s: &str) -> Option<&str> {
    // Python's `$` also matches before one trailing newline
    let s = s.strip_suffix('\n').unwrap_or(s);
    let inner = s.strip_prefix("{{")?.strip_suffix("}}")?;
    let t = inner.trim_matches(|c: char| c.is_whitespace());
    if t.chars().all(|c| c.is_alphanumeric() || c == '_') && !t.is_empty() {
        Some(t)
    } else {
        None
    }
}

/// When `start` is a filter name (`x | upper`), the text of its operand.
fn filter_operand(src: &str, start: usize) -> Option<String> {
    let before = src.get(..start)?.trim_end();
    let before = before.strip_suffix('|')?;
    let open = ["{{", "{%", "(", ",", "["]
        .iter()
        .filter_map(|d| before.rfind(d).map(|i| i + d.len()))
        .max()
        .unwrap_or(0);
    let text = before[open..].trim();
    let text = text.strip_prefix('-').unwrap_or(text).trim();
    let text = text.strip_prefix("if ").unwrap_or(text).trim();
    (!text.is_empty()).then(|| text.to_string())
}

fn strip_delims(t: &str) -> String {
    let t = t.trim();
    let t = t.strip_prefix("{{").unwrap_or(t);
    let t = t.strip_suffix("}}").unwrap_or(t);
    t.trim_matches(|c: char| c == '-' || c == '+' || c.is_whitespace())
        .to_string()
}

fn extract_unknown_name(detail: &str) -> Option<String> {
    // minijinja: "filter nofilt is unknown" / "test x is unknown"
    let mut words = detail.split_whitespace();
    while let Some(w) = words.next() {
        if w == "filter" || w == "test" {
            return words.next().map(|s| s.trim_matches('`').to_string());
        }
    }
    None
}

enum ChainPart {
    Attr(String),
    Index(i64),
}

/// Parses `name(.attr|['key']|[0])*` (whole expression). `None` otherwise.
fn parse_chain(expr: &str) -> Option<Vec<ChainPart>> {
    let b = expr.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    let ident = |i: &mut usize| -> Option<String> {
        let start = *i;
        while *i < b.len() && (b[*i].is_ascii_alphanumeric() || b[*i] == b'_') {
            *i += 1;
        }
        (start < *i).then(|| expr[start..*i].to_string())
    };
    out.push(ChainPart::Attr(ident(&mut i)?));
    while i < b.len() {
        match b[i] {
            b'.' => {
                i += 1;
                let id = ident(&mut i)?;
                match id.parse::<i64>() {
                    Ok(n) if id.bytes().all(|c| c.is_ascii_digit()) => {
                        out.push(ChainPart::Index(n))
                    }
                    _ => out.push(ChainPart::Attr(id)),
                }
            }
            b'[' => {
                let close = expr[i..].find(']')? + i;
                let inner = expr[i + 1..close].trim();
                if let Some(s) = inner.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
                    out.push(ChainPart::Attr(s.to_string()));
                } else if let Some(s) = inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                    out.push(ChainPart::Attr(s.to_string()));
                } else {
                    out.push(ChainPart::Index(inner.parse().ok()?));
                }
                i = close + 1;
            }
            b' ' | b'\t' | b'\n' => i += 1,
            _ => return None,
        }
    }
    Some(out)
}

/// Builds the engine with Ansible's settings, filters, tests and lookups.
pub(crate) fn build_env(shared: Arc<Shared>) -> Environment<'static> {
    let mut env = Environment::new();
    if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .build()
    {
        env.set_syntax(syntax);
    }
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_formatter(|out, _state, value| {
        if value.is_undefined() {
            return Err(minijinja::Error::new(
                minijinja::ErrorKind::UndefinedError,
                "undefined value",
            ));
        }
        if value.is_none() {
            return Ok(());
        }
        let s = match value.as_str() {
            Some(s) => {
                return out.write_str(s).map_err(|_| {
                    minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "write failed")
                })
            }
            None => py_str(value),
        };
        out.write_str(&s)
            .map_err(|_| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "write failed"))
    });
    env.set_unknown_method_callback(crate::filters::methods::call_method);
    let table = shared.sources.clone();
    let mut dirs: Vec<std::path::PathBuf> = Vec::new();
    for b in shared
        .opts
        .search_paths
        .iter()
        .chain(shared.opts.playbook_dir.iter())
    {
        dirs.push(b.join("templates"));
        dirs.push(b.clone());
    }
    env.set_loader(move |name| {
        if let Some(id) = name
            .strip_prefix("rustle:")
            .and_then(|i| i.parse::<usize>().ok())
        {
            let t = match table.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            return Ok(t.srcs.get(id).cloned());
        }
        // `{% include %}` / `{% import %}` of template files
        let rel = std::path::Path::new(name);
        let found = if rel.is_absolute() {
            rel.is_file().then(|| rel.to_path_buf())
        } else {
            dirs.iter().map(|d| d.join(rel)).find(|p| p.is_file())
        };
        match found {
            Some(p) => std::fs::read_to_string(&p)
                .map(|src| Some(lex::preprocess_opts(&src, false)))
                .map_err(|e| {
                    minijinja::Error::new(
                        minijinja::ErrorKind::InvalidOperation,
                        format!("could not read {}: {e}", p.display()),
                    )
                }),
            None => Ok(None),
        }
    });
    env.add_global("omit", shared.omit.clone());
    env.add_function("__rustle_mod", crate::pyfmt::mod_op);
    crate::filters::register(&mut env, shared.clone());
    crate::tests_jinja::register(&mut env, shared.clone());
    crate::lookups::register(&mut env, shared);
    crate::datetime::register(&mut env);
    env
}
