//! Parser errors rendered the way ansible-playbook renders them.

use std::fmt;
use std::sync::Arc;

/// A position in a playbook source file (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SrcPos {
    pub file: Arc<str>,
    pub line: usize,
    pub col: usize,
}

impl fmt::Display for SrcPos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// What kind of failure, which decides ansible-playbook's exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// AnsibleParserError: exit 4.
    Parser,
    /// AnsibleError (e.g. a missing file): exit 1.
    General,
}

/// A playbook error with Ansible's message and, where known, the position.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub kind: ErrorKind,
    pub msg: String,
    pub pos: Option<SrcPos>,
    /// Extra text Ansible appends after the excerpt.
    pub hint: Option<String>,
}

impl ParseError {
    pub fn parser(msg: impl Into<String>, pos: Option<SrcPos>) -> Self {
        ParseError {
            kind: ErrorKind::Parser,
            msg: msg.into(),
            pos,
            hint: None,
        }
    }

    pub fn general(msg: impl Into<String>, pos: Option<SrcPos>) -> Self {
        ParseError {
            kind: ErrorKind::General,
            msg: msg.into(),
            pos,
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// ansible-playbook's exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self.kind {
            ErrorKind::Parser => 4,
            ErrorKind::General => 1,
        }
    }

    /// The full text after `ERROR! `: the message, then where it is and an
    /// excerpt of the offending lines with a caret, as Ansible prints it.
    pub fn render(&self) -> String {
        let mut out = self.msg.clone();
        if let Some(pos) = &self.pos {
            out.push_str("\n\n");
            out.push_str(&rustle_yaml::excerpt::extended_error(
                &pos.file, pos.line, pos.col,
            ));
        }
        if let Some(h) = &self.hint {
            out.push('\n');
            out.push_str(h);
            out.push('\n');
        }
        out
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.pos {
            Some(p) => write!(f, "{p}: {}", self.msg),
            None => f.write_str(&self.msg),
        }
    }
}

impl std::error::Error for ParseError {}
