//! YAML loading as Ansible does it: PyYAML's YAML 1.1 scalar rules
//! (`yes`/`on` booleans, `0644` octal, `1_000`, sexagesimal `1:30`), merge
//! keys, anchors and aliases, Ansible's `!unsafe` and `!vault` tags, and
//! duplicate keys warned about with the later value kept. Every node keeps
//! its position (1-based line and column) for error messages.
//!
//! Syntax comes from `saphyr-parser` (a spec-compliant event parser that
//! keeps tags, styles and positions); scalar resolution is our own, because
//! no Rust YAML crate resolves scalars with YAML 1.1 rules.

pub mod excerpt;
pub mod pyjson;
mod resolve;

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span, SpannedEventReceiver, Tag};
use serde_json::Value as Json;
use thiserror::Error;

pub use resolve::{resolve_plain, Resolved};

/// JSON marker for an `!unsafe` string (Ansible's own encoding).
pub const UNSAFE_KEY: &str = "__ansible_unsafe";
/// JSON marker for an inline `!vault` value (Ansible's own encoding).
pub const VAULT_KEY: &str = "__ansible_vault";

/// A position in a source file (1-based line and column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

/// A loaded YAML node with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub pos: Pos,
}

/// The value of a node, as Ansible's constructor builds it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    /// An integer beyond i64, as decimal digits.
    BigInt(String),
    Float(f64),
    Str(String),
    /// A date or datetime (PyYAML builds one); the source text.
    Timestamp(String),
    /// `!unsafe`: a string that must never be templated.
    Unsafe(String),
    /// `!vault`: an inline vault ciphertext, decrypted lazily.
    Vault(String),
    /// `!!binary`
    Binary(Vec<u8>),
    Seq(Vec<Node>),
    /// Entries in insertion order (a re-assigned key keeps its first place).
    Map(Vec<(Node, Node)>),
}

impl Node {
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) | Value::Unsafe(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// Looks up a string key in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// Python's `type(x).__name__` for messages.
    pub fn type_name(&self) -> &'static str {
        match &self.value {
            Value::Null => "NoneType",
            Value::Bool(_) => "bool",
            Value::Int(_) | Value::BigInt(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) | Value::Unsafe(_) => "str",
            Value::Timestamp(_) => "date",
            Value::Vault(_) => "AnsibleVaultEncryptedUnicode",
            Value::Binary(_) => "bytes",
            Value::Seq(_) => "list",
            Value::Map(_) => "dict",
        }
    }

    /// Converts to JSON data: keys become strings as Python's `str()`
    /// would print them; `!unsafe` and `!vault` become plain strings.
    pub fn to_json(&self) -> Json {
        match &self.value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::from(*i),
            Value::BigInt(s) => s
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map_or(Json::String(s.clone()), Json::Number),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map_or_else(|| Json::String(py_float_special(*f)), Json::Number),
            Value::Str(s) | Value::Unsafe(s) | Value::Timestamp(s) | Value::Vault(s) => {
                Json::String(s.clone())
            }
            Value::Binary(b) => Json::String(String::from_utf8_lossy(b).into_owned()),
            Value::Seq(items) => Json::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => {
                let mut m = serde_json::Map::new();
                for (k, v) in entries {
                    m.insert(k.key_string(), v.to_json());
                }
                Json::Object(m)
            }
        }
    }

    /// Converts to JSON data the way Ansible's JSON encoder marks special
    /// strings: `!unsafe` becomes `{"__ansible_unsafe": s}` and `!vault`
    /// becomes `{"__ansible_vault": ciphertext}`, so that later stages keep
    /// them apart from ordinary strings.
    pub fn to_ansible_json(&self) -> Json {
        match &self.value {
            Value::Unsafe(s) => {
                let mut m = serde_json::Map::new();
                m.insert(UNSAFE_KEY.into(), Json::String(s.clone()));
                Json::Object(m)
            }
            Value::Vault(s) => {
                let mut m = serde_json::Map::new();
                m.insert(VAULT_KEY.into(), Json::String(s.clone()));
                Json::Object(m)
            }
            Value::Seq(items) => Json::Array(items.iter().map(Node::to_ansible_json).collect()),
            Value::Map(entries) => {
                let mut m = serde_json::Map::new();
                for (k, v) in entries {
                    m.insert(k.key_string(), v.to_ansible_json());
                }
                Json::Object(m)
            }
            _ => self.to_json(),
        }
    }

    /// The key as Python's `str(key)` prints it.
    pub fn key_string(&self) -> String {
        match &self.value {
            Value::Null => "None".into(),
            Value::Bool(b) => if *b { "True" } else { "False" }.into(),
            Value::Int(i) => i.to_string(),
            Value::BigInt(s) => s.clone(),
            Value::Float(f) => py_float_special(*f),
            Value::Str(s) | Value::Unsafe(s) | Value::Timestamp(s) | Value::Vault(s) => s.clone(),
            other => format!("{other:?}"),
        }
    }
}

fn py_float_special(f: f64) -> String {
    if f.is_nan() {
        "nan".into()
    } else if f.is_infinite() {
        if f > 0.0 { "inf" } else { "-inf" }.into()
    } else if f == f.trunc() && f.abs() < 1e16 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

/// Why a document could not be loaded.
#[derive(Debug, Clone, Error, PartialEq)]
#[error("{file}:{line}:{col}: {problem}")]
pub struct YamlError {
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub problem: String,
    /// Where the construct named by a `while parsing ...` context began
    /// (1-based line and column), as libyaml's context mark.
    pub context_mark: Option<(usize, usize)>,
}

impl YamlError {
    /// The problem and its context apart: the parser words its errors as
    /// `while parsing X, did not find Y`.
    fn split(&self) -> (Option<&str>, String) {
        if let Some(rest) = self.problem.strip_prefix("while ") {
            if let Some((ctx, problem)) = rest.split_once(", ") {
                let ctx_len = "while ".len() + ctx.len();
                // libyaml says "did not find expected ..." where the flow
                // collection parser here says "expected ..."
                let problem = match problem.strip_prefix("expected ") {
                    Some(what) if ctx.contains("flow") => format!("did not find expected {what}"),
                    _ => problem.to_owned(),
                };
                return (Some(&self.problem[..ctx_len]), problem);
            }
        }
        (None, self.problem.clone())
    }

    /// `str()` of the PyYAML (C loader) error for this failure, preceded by
    /// its problem as Ansible's `YAML_SYNTAX_ERROR` shows it:
    /// `problem. context\n  in "<unicode string>", line L, column C\n...`.
    pub fn pyyaml_text(&self) -> String {
        let (context, problem) = self.split();
        let mark = |l: usize, c: usize| format!("  in \"<unicode string>\", line {l}, column {c}");
        let mut lines = Vec::new();
        if let Some(ctx) = context {
            lines.push(ctx.to_owned());
            if let Some((l, c)) = self.context_mark {
                if (l, c) != (self.line, self.col) {
                    lines.push(mark(l, c));
                }
            }
        }
        lines.push(problem.clone());
        lines.push(mark(self.line, self.col));
        format!(
            "Syntax Error while loading YAML.\n  {problem}. {}",
            lines.join("\n")
        )
    }

    /// Ansible's `from_yaml` failure text when neither JSON nor YAML could
    /// read `src`.
    pub fn ansible_message(&self, src: &str) -> String {
        let json = pyjson::json_error(src).unwrap_or_default();
        format!(
            "We were unable to read either as JSON nor YAML, these are the errors we got from each:\nJSON: {json}\n\n{}",
            self.pyyaml_text()
        )
    }
}

/// A warning raised while loading (duplicate keys).
#[derive(Debug, Clone, PartialEq)]
pub struct Warning {
    pub pos: Pos,
    pub message: String,
}

/// A loaded stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// One node per document (an empty document is `Null`).
    pub documents: Vec<Node>,
    pub warnings: Vec<Warning>,
}

fn pos_of(span: &Span) -> Pos {
    Pos {
        line: span.start.line(),
        col: span.start.col() + 1,
    }
}

enum Frame {
    Seq {
        items: Vec<Node>,
        pos: Pos,
        anchor: usize,
        tag: Option<Tag>,
    },
    Map {
        raw: Vec<Node>,
        pos: Pos,
        anchor: usize,
        tag: Option<Tag>,
    },
}

struct Builder<'f> {
    file: &'f str,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    docs: Vec<Node>,
    warnings: Vec<Warning>,
    error: Option<YamlError>,
}

const MERGE_KEY: &str = "\u{0}<<merge>>";

impl Builder<'_> {
    fn fail(&mut self, pos: Pos, problem: impl Into<String>) {
        if self.error.is_none() {
            self.error = Some(YamlError {
                file: self.file.to_owned(),
                line: pos.line,
                col: pos.col,
                problem: problem.into(),
                context_mark: None,
            });
        }
    }

    fn push(&mut self, node: Node, anchor: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { raw, .. }) => raw.push(node),
            None => self.docs.push(node),
        }
    }

    fn scalar(
        &mut self,
        text: &str,
        style: ScalarStyle,
        tag: Option<&Tag>,
        pos: Pos,
    ) -> Option<Value> {
        let plain = matches!(style, ScalarStyle::Plain);
        if let Some(tag) = tag {
            let name = format!("{}{}", tag.handle, tag.suffix);
            let short = if tag.handle == "!!" || tag.handle == "tag:yaml.org,2002:" {
                format!("tag:yaml.org,2002:{}", tag.suffix)
            } else {
                name.clone()
            };
            return match short.as_str() {
                "!unsafe" => Some(Value::Unsafe(text.to_owned())),
                "!vault" | "!vault-encrypted" => Some(Value::Vault(text.to_owned())),
                "tag:yaml.org,2002:str" => Some(Value::Str(text.to_owned())),
                "tag:yaml.org,2002:null" => Some(Value::Null),
                "tag:yaml.org,2002:bool" => match text.to_lowercase().as_str() {
                    "yes" | "true" | "on" => Some(Value::Bool(true)),
                    "no" | "false" | "off" => Some(Value::Bool(false)),
                    _ => {
                        self.fail(pos, format!("invalid boolean value '{text}'"));
                        None
                    }
                },
                "tag:yaml.org,2002:int" => match resolve::construct_int(text) {
                    Resolved::Int(i) => Some(Value::Int(i)),
                    Resolved::BigInt(s) if s.bytes().all(|b| b.is_ascii_digit() || b == b'-') => {
                        Some(Value::BigInt(s))
                    }
                    _ => {
                        self.fail(
                            pos,
                            format!("invalid literal for int() with base 10: '{text}'"),
                        );
                        None
                    }
                },
                "tag:yaml.org,2002:float" => match text.trim().replace('_', "").parse::<f64>() {
                    Ok(f) => Some(Value::Float(f)),
                    Err(_) => match resolve::construct_float(text) {
                        Resolved::Float(f) => Some(Value::Float(f)),
                        _ => None,
                    },
                },
                "tag:yaml.org,2002:binary" => {
                    use base64::Engine;
                    let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect();
                    match base64::engine::general_purpose::STANDARD.decode(clean) {
                        Ok(b) => Some(Value::Binary(b)),
                        Err(e) => {
                            self.fail(pos, format!("failed to decode base64 data: {e}"));
                            None
                        }
                    }
                }
                "tag:yaml.org,2002:timestamp" => Some(Value::Timestamp(text.to_owned())),
                "!" => Some(Value::Str(text.to_owned())),
                _ => {
                    self.fail(
                        pos,
                        format!("could not determine a constructor for the tag '{name}'"),
                    );
                    None
                }
            };
        }
        if !plain {
            return Some(Value::Str(text.to_owned()));
        }
        Some(match resolve_plain(text) {
            Resolved::Null => Value::Null,
            Resolved::Bool(b) => Value::Bool(b),
            Resolved::Int(i) => Value::Int(i),
            Resolved::BigInt(s) => Value::BigInt(s),
            Resolved::Float(f) => Value::Float(f),
            Resolved::Timestamp(s) => Value::Timestamp(s),
            Resolved::Str => Value::Str(text.to_owned()),
            Resolved::ValueTag => {
                self.fail(
                    pos,
                    "could not determine a constructor for the tag 'tag:yaml.org,2002:value'",
                );
                return None;
            }
        })
    }

    /// Builds a mapping from its raw key/value list: merges (`<<`),
    /// hashability, duplicates (warned, later wins, first place kept).
    fn finish_map(&mut self, raw: Vec<Node>, pos: Pos) -> Option<Value> {
        let mut pairs: Vec<(Node, Node)> = Vec::with_capacity(raw.len() / 2);
        let mut it = raw.into_iter();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            pairs.push((k, v));
        }
        // PyYAML 6 flatten_mapping: merged pairs go first in the order
        // given, skipping a key *object* already merged (the same aliased
        // node again, or CPython's cached one-character strings); explicit
        // keys come after, so they win.
        let mut merged: Vec<(Node, Node)> = Vec::new();
        let mut explicit: Vec<(Node, Node)> = Vec::new();
        let add_merged = |merged: &mut Vec<(Node, Node)>, entries: Vec<(Node, Node)>| {
            for (k, v) in entries {
                if !merged.iter().any(|(m, _)| same_key_object(m, &k)) {
                    merged.push((k, v));
                }
            }
        };
        for (k, v) in pairs {
            if k.as_str() == Some(MERGE_KEY) {
                match v.value {
                    Value::Map(entries) => add_merged(&mut merged, entries),
                    Value::Seq(items) => {
                        for item in items {
                            match item.value {
                                Value::Map(entries) => add_merged(&mut merged, entries),
                                _ => {
                                    self.fail(
                                        item.pos,
                                        format!(
                                            "while constructing a mapping: expected a mapping for merging, but found {}",
                                            node_kind(&item.value)
                                        ),
                                    );
                                    return None;
                                }
                            }
                        }
                    }
                    other => {
                        self.fail(
                            v.pos,
                            format!(
                                "while constructing a mapping: expected a mapping or list of mappings for merging, but found {}",
                                node_kind(&other)
                            ),
                        );
                        return None;
                    }
                }
            } else {
                explicit.push((k, v));
            }
        }
        let mut out: Vec<(Node, Node)> = Vec::new();
        for (k, v) in merged.into_iter().chain(explicit) {
            if matches!(k.value, Value::Map(_) | Value::Seq(_)) {
                self.fail(
                    k.pos,
                    format!(
                        "while constructing a mapping: found unacceptable key (unhashable type: '{}')",
                        k.type_name()
                    ),
                );
                return None;
            }
            if let Some(slot) = out
                .iter_mut()
                .find(|(ek, _)| keys_equal(&ek.value, &k.value))
            {
                self.warnings.push(Warning {
                    pos: k.pos,
                    message: format!(
                        "While constructing a mapping from {}, line {}, column {}, found a duplicate dict key ({}). Using last defined value only.",
                        self.file,
                        pos.line,
                        pos.col,
                        k.key_string()
                    ),
                });
                slot.1 = v;
            } else {
                out.push((k, v));
            }
        }
        Some(Value::Map(out))
    }
}

/// Whether two merged keys are the same Python object in PyYAML: the same
/// source node (an alias repeats its anchor's position) or an identical
/// string of at most one Latin-1 character (CPython caches those).
fn same_key_object(a: &Node, b: &Node) -> bool {
    if a.pos == b.pos && a.value == b.value {
        return true;
    }
    match (&a.value, &b.value) {
        (Value::Str(x), Value::Str(y)) => {
            x == y && x.chars().count() <= 1 && x.chars().all(|c| (c as u32) < 256)
        }
        _ => false,
    }
}

fn node_kind(v: &Value) -> &'static str {
    match v {
        Value::Map(_) => "mapping node",
        Value::Seq(_) => "sequence node",
        _ => "scalar node",
    }
}

/// Python's `==` for hashable keys: 1 == 1.0 == True.
fn keys_equal(a: &Value, b: &Value) -> bool {
    fn num(v: &Value) -> Option<f64> {
        match v {
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }
    match (a, b) {
        (
            Value::Str(x) | Value::Unsafe(x) | Value::Timestamp(x),
            Value::Str(y) | Value::Unsafe(y) | Value::Timestamp(y),
        ) => x == y,
        (Value::Null, Value::Null) => true,
        (Value::BigInt(x), Value::BigInt(y)) => x == y,
        _ => match (num(a), num(b)) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        },
    }
}

impl<'input> SpannedEventReceiver<'input> for Builder<'_> {
    fn on_event(&mut self, ev: Event<'input>, span: Span) {
        if self.error.is_some() {
            return;
        }
        let pos = pos_of(&span);
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let in_key =
                    matches!(self.stack.last(), Some(Frame::Map { raw, .. }) if raw.len() % 2 == 0);
                let is_merge =
                    in_key && tag.is_none() && matches!(style, ScalarStyle::Plain) && text == "<<";
                let value = if is_merge {
                    Some(Value::Str(MERGE_KEY.to_owned()))
                } else {
                    self.scalar(&text, style, tag.as_deref(), pos)
                };
                if let Some(value) = value {
                    self.push(Node { value, pos }, anchor);
                }
            }
            Event::SequenceStart(anchor, tag) => self.stack.push(Frame::Seq {
                items: Vec::new(),
                pos,
                anchor,
                tag: tag.map(|t| t.into_owned()),
            }),
            Event::MappingStart(anchor, tag) => self.stack.push(Frame::Map {
                raw: Vec::new(),
                pos,
                anchor,
                tag: tag.map(|t| t.into_owned()),
            }),
            Event::SequenceEnd => {
                if let Some(Frame::Seq {
                    items,
                    pos,
                    anchor,
                    tag,
                }) = self.stack.pop()
                {
                    // `!unsafe` on a collection marks every string in it.
                    if tag.as_ref().is_some_and(is_unsafe_tag) {
                        let mut node = Node {
                            value: Value::Seq(items),
                            pos,
                        };
                        mark_unsafe(&mut node);
                        self.push(node, anchor);
                        return;
                    }
                    if let Some(t) = tag.filter(|t| !is_core(t, "seq")) {
                        self.fail(
                            pos,
                            format!(
                                "could not determine a constructor for the tag '{}{}'",
                                t.handle, t.suffix
                            ),
                        );
                        return;
                    }
                    self.push(
                        Node {
                            value: Value::Seq(items),
                            pos,
                        },
                        anchor,
                    );
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map {
                    raw,
                    pos,
                    anchor,
                    tag,
                }) = self.stack.pop()
                {
                    let unsafe_tag = tag.as_ref().is_some_and(is_unsafe_tag);
                    if let Some(t) = tag.filter(|t| !is_core(t, "map") && !is_unsafe_tag(t)) {
                        self.fail(
                            pos,
                            format!(
                                "could not determine a constructor for the tag '{}{}'",
                                t.handle, t.suffix
                            ),
                        );
                        return;
                    }
                    if let Some(value) = self.finish_map(raw, pos) {
                        let mut node = Node { value, pos };
                        if unsafe_tag {
                            mark_unsafe(&mut node);
                        }
                        self.push(node, anchor);
                    }
                }
            }
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                Some(node) => self.push(node, 0),
                None => self.fail(pos, "found undefined alias"),
            },
            Event::DocumentStart(_)
            | Event::DocumentEnd
            | Event::StreamStart
            | Event::StreamEnd
            | Event::Nothing => {}
        }
    }
}

fn is_unsafe_tag(t: &Tag) -> bool {
    t.handle == "!" && t.suffix == "unsafe"
}

/// Ansible's `!unsafe` on a collection: `wrap_var` over PyYAML's shallow
/// construction. Its strings (keys too) become unsafe, and a nested
/// collection is copied before PyYAML fills it, so it ends up empty.
fn mark_unsafe(node: &mut Node) {
    fn member(n: &mut Node) {
        match &mut n.value {
            Value::Str(s) => n.value = Value::Unsafe(std::mem::take(s)),
            Value::Seq(items) => items.clear(),
            Value::Map(pairs) => pairs.clear(),
            _ => {}
        }
    }
    match &mut node.value {
        Value::Seq(items) => items.iter_mut().for_each(member),
        Value::Map(pairs) => pairs.iter_mut().for_each(|(k, v)| {
            member(k);
            member(v);
        }),
        _ => {}
    }
}

fn is_core(t: &Tag, kind: &str) -> bool {
    (t.handle == "!!" || t.handle == "tag:yaml.org,2002:") && t.suffix == kind
}

/// Loads every document of `src`; `file` names it in errors and warnings.
pub fn load_all(src: &str, file: &str) -> Result<Loaded, YamlError> {
    if let Some((line, col, c)) = first_nonprintable(src) {
        return Err(YamlError {
            file: file.to_owned(),
            line,
            col,
            problem: format!(
                "unacceptable character #x{:04x}: special characters are not allowed",
                c as u32
            ),
            context_mark: None,
        });
    }
    let mut b = Builder {
        file,
        stack: Vec::new(),
        anchors: HashMap::new(),
        docs: Vec::new(),
        warnings: Vec::new(),
        error: None,
    };
    let mut parser = Parser::new_from_str(src);
    if let Err(e) = parser.load(&mut b, true) {
        // The innermost open collection is the one being parsed.
        let context_mark = b.stack.last().map(|f| match f {
            Frame::Seq { pos, .. } | Frame::Map { pos, .. } => (pos.line, pos.col),
        });
        return Err(YamlError {
            file: file.to_owned(),
            line: e.marker().line(),
            col: e.marker().col() + 1,
            problem: e.info().to_owned(),
            context_mark,
        });
    }
    if let Some(e) = b.error {
        return Err(e);
    }
    Ok(Loaded {
        documents: b.docs,
        warnings: b.warnings,
    })
}

/// Loads a single-document source (an empty file is `Null`), as Ansible's
/// `from_yaml` / playbook loading does.
pub fn load(src: &str, file: &str) -> Result<(Node, Vec<Warning>), YamlError> {
    let loaded = load_all(src, file)?;
    let mut docs = loaded.documents.into_iter();
    let first = docs.next().unwrap_or(Node {
        value: Value::Null,
        pos: Pos { line: 1, col: 1 },
    });
    if let Some(second) = docs.next() {
        return Err(YamlError {
            file: file.to_owned(),
            line: second.pos.line,
            col: second.pos.col,
            problem: "expected a single document in the stream, but found another document".into(),
            context_mark: None,
        });
    }
    Ok((first, loaded.warnings))
}

/// PyYAML's reader refuses control characters other than tab/LF/CR/NEL.
fn first_nonprintable(src: &str) -> Option<(usize, usize, char)> {
    let mut line = 1;
    let mut col = 1;
    for c in src.chars() {
        let ok = matches!(c, '\t' | '\n' | '\r' | '\u{85}')
            || ('\u{20}'..='\u{7e}').contains(&c)
            || ('\u{a0}'..='\u{d7ff}').contains(&c)
            || ('\u{e000}'..='\u{fffd}').contains(&c) && c != '\u{feff}'
            || ('\u{10000}'..='\u{10ffff}').contains(&c)
            || (c == '\u{feff}' && line == 1 && col == 1);
        if !ok {
            return Some((line, col, c));
        }
        if c == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    None
}
