/// What went wrong while templating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// An undefined variable or attribute was used (`AnsibleUndefinedVariable`).
    Undefined,
    /// The template does not parse.
    Syntax,
    /// A variable refers to itself through templating.
    Recursion,
    /// A vault value could not be decrypted.
    Vault,
    /// A filter/test/lookup failed or was used wrongly.
    Filter,
    /// A filter raised a Python `TypeError` (`AnsibleFilterTypeError`):
    /// the templar reports it as an unexpected templating type error.
    FilterType,
    /// A filter raised a plain Python `ValueError` (e.g. from_json's
    /// JSONDecodeError), which task post-validation reports against the
    /// field being templated.
    PyValueError,
    /// An unhandled Python exception (`ZeroDivisionError: division by
    /// zero`): Ansible reports it as an exception during task execution.
    PyException,
    /// A lookup plugin failed.
    Lookup,
    /// A conditional could not be evaluated.
    Conditional,
    /// Any other runtime error (type errors, …).
    Other,
}

/// A templating error; `message` follows Ansible's wording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TemplateError {
    pub kind: ErrorKind,
    pub message: String,
}

impl TemplateError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> TemplateError {
        TemplateError {
            kind,
            message: message.into(),
        }
    }
    pub fn undefined(message: impl Into<String>) -> TemplateError {
        TemplateError::new(ErrorKind::Undefined, message)
    }
    pub fn other(message: impl Into<String>) -> TemplateError {
        TemplateError::new(ErrorKind::Other, message)
    }
    pub fn is_undefined(&self) -> bool {
        self.kind == ErrorKind::Undefined
    }
}

/// Wraps our error into a minijinja error (recovered by `from_mj`).
pub(crate) fn to_mj(e: TemplateError) -> minijinja::Error {
    let kind = match e.kind {
        ErrorKind::Undefined => minijinja::ErrorKind::UndefinedError,
        ErrorKind::Syntax => minijinja::ErrorKind::SyntaxError,
        _ => minijinja::ErrorKind::InvalidOperation,
    };
    minijinja::Error::new(kind, e.message.clone()).with_source(e)
}

/// A filter/test error with Ansible's message.
pub(crate) fn ferr(msg: impl Into<String>) -> minijinja::Error {
    to_mj(TemplateError::new(ErrorKind::Filter, msg))
}

/// A filter error Ansible raises as `AnsibleFilterTypeError`.
pub(crate) fn fterr(msg: impl Into<String>) -> minijinja::Error {
    to_mj(TemplateError::new(ErrorKind::FilterType, msg))
}

/// A Python exception the templar does not handle; `msg` is the
/// traceback's last line (`ZeroDivisionError: division by zero`).
pub(crate) fn pyexc(msg: impl Into<String>) -> minijinja::Error {
    to_mj(TemplateError::new(ErrorKind::PyException, msg))
}

/// Finds our own error in a minijinja error chain.
pub(crate) fn find_ours(e: &minijinja::Error) -> Option<TemplateError> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cur {
        if let Some(t) = c.downcast_ref::<TemplateError>() {
            return Some(t.clone());
        }
        cur = c.source();
    }
    None
}
