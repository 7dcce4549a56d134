//! What the text-editing modules (`lineinfile`, `blockinfile`, `replace`,
//! `assemble`, `ini_file`) share: file contents as the text Python edits,
//! the atomic write with `validate`, backups and the attribute check that
//! extends the message.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::common::{self as c, Diff, FileArgs};
use crate::args::Args;
use crate::fsutil::{self, StagedFile};
use crate::modules::ModuleError;

/// How a file's bytes map to the text a module edits. Python's
/// `lineinfile` and `blockinfile` work on bytes: a file that is not UTF-8
/// is edited byte for byte (each byte one char) and written back intact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Utf8,
    /// One char per byte (Latin-1), for bytes that are not UTF-8.
    Bytes,
}

impl Codec {
    /// Decodes file contents.
    pub fn decode(data: &[u8]) -> (String, Codec) {
        match std::str::from_utf8(data) {
            Ok(s) => (s.to_owned(), Codec::Utf8),
            Err(_) => (data.iter().map(|&b| b as char).collect(), Codec::Bytes),
        }
    }

    /// Encodes edited text back to bytes.
    pub fn encode(self, s: &str) -> Vec<u8> {
        match self {
            Codec::Utf8 => s.as_bytes().to_vec(),
            Codec::Bytes => s.chars().map(|c| c as u32 as u8).collect(),
        }
    }

    /// A module argument (UTF-8 text) in this codec's representation.
    pub fn arg(self, s: &str) -> String {
        match self {
            Codec::Utf8 => s.to_owned(),
            Codec::Bytes => s.bytes().map(|b| b as char).collect(),
        }
    }

    /// Text for a diff (`to_native`): lossy for non-UTF-8 bytes.
    pub fn display(self, s: &str) -> String {
        String::from_utf8_lossy(&self.encode(s)).into_owned()
    }
}

/// `file.readlines()` on a binary file: lines split after each `\n`.
pub fn readlines(s: &str) -> Vec<String> {
    s.split_inclusive('\n').map(str::to_owned).collect()
}

/// `bytes.splitlines(True)`: lines split after `\n`, `\r\n` or `\r`.
pub fn splitlines_keepends(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut it = s.chars().peekable();
    while let Some(ch) = it.next() {
        cur.push(ch);
        if ch == '\r' && it.peek() == Some(&'\n') {
            cur.push('\n');
            it.next();
            out.push(std::mem::take(&mut cur));
        } else if ch == '\n' || ch == '\r' {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The path of a module's file as Ansible's `path` type gives it
/// (`~` and `$VARS` expanded).
pub fn target(raw: &str) -> PathBuf {
    PathBuf::from(super::file::expand(raw))
}

/// The file attributes a module was asked for (`mode`, `owner`, `group`),
/// on `path` itself (these modules have no `follow`).
pub fn file_args(args: &Args, path: &Path) -> FileArgs {
    FileArgs::load(
        path,
        false,
        args.get("mode").cloned(),
        args.str("owner").map(str::to_owned),
        args.str("group").map(str::to_owned),
    )
}

/// `check_file_attrs`: applies (or, `dry`, predicts) the attributes and
/// extends the message; fills `diff` with what changed.
pub fn check_file_attrs(
    fa: &FileArgs,
    changed: bool,
    msg: &mut String,
    diff: Option<&mut Diff>,
    dry: bool,
) -> Result<bool, ModuleError> {
    if c::set_fs_attributes_if_different(fa, false, diff, dry)? {
        if changed {
            msg.push_str(" and ");
        }
        msg.push_str("ownership, perms or SE linux context changed");
        return Ok(true);
    }
    Ok(changed)
}

/// The attribute half of a module's diff list.
pub fn attr_diff(d: &Diff, header: &str) -> Value {
    let mut m = Map::new();
    if !d.before.is_empty() {
        m.insert("before".into(), Value::Object(d.before.clone()));
        m.insert("after".into(), Value::Object(d.after.clone()));
    }
    m.insert(
        "before_header".into(),
        format!("{header} (file attributes)").into(),
    );
    m.insert(
        "after_header".into(),
        format!("{header} (file attributes)").into(),
    );
    Value::Object(m)
}

/// A content diff as these modules build it.
pub fn content_diff(before: &str, after: &str, header: &str) -> Value {
    let mut m = Map::new();
    m.insert("before".into(), before.into());
    m.insert("after".into(), after.into());
    m.insert("before_header".into(), header.into());
    m.insert("after_header".into(), header.into());
    Value::Object(m)
}

/// `module.backup_local(path)`.
pub fn backup(path: &Path) -> Result<String, ModuleError> {
    fsutil::backup_file(path).map(|p| c::ps(&p))
}

/// What running a `validate` command gave.
pub struct Validation {
    pub rc: i32,
    pub stdout: String,
    pub stderr: String,
}

/// `module.run_command(validate % file)`: the command line split as a
/// shell would (no shell runs), `%s` replaced by `file`.
pub fn run_validate(validate: &str, file: &Path) -> Result<Validation, ModuleError> {
    let line = validate
        .replace("%%", "\u{0}")
        .replace("%s", &c::ps(file))
        .replace('\u{0}', "%");
    let argv = shlex::split(&line)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ModuleError::failed(format!("failed to parse validate command: {line}")))?;
    let out = std::process::Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(std::process::Stdio::null())
        .output();
    match out {
        Err(e) => Err(ModuleError::Failed {
            msg: c::py_oserror(&e, Some(Path::new(&argv[0])), None),
            extra: c::kv([
                ("rc", e.raw_os_error().unwrap_or(2).into()),
                ("stdout", "".into()),
                ("stderr", "".into()),
                ("cmd", line.into()),
            ]),
        }),
        Ok(o) => Ok(Validation {
            rc: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }),
    }
}

/// `validate must contain %s: ...` unless it does.
pub fn require_placeholder(validate: &str) -> Result<(), ModuleError> {
    if validate.contains("%s") {
        Ok(())
    } else {
        Err(ModuleError::failed(format!(
            "validate must contain %s: {validate}"
        )))
    }
}

/// `write_changes` + `atomic_move`: stages `data` next to `dest`, runs
/// `validate` on it (failing with `failed to validate: rc:N error:...`),
/// then renames it over `dest`, keeping an existing file's mode and
/// ownership (a new file gets `0666 & ~umask`).
pub fn write_atomic(dest: &Path, data: &[u8], validate: Option<&str>) -> Result<(), ModuleError> {
    if let Some(v) = validate {
        require_placeholder(v)?;
    }
    let existing = fs::metadata(dest).ok();
    let fail = |e: std::io::Error| {
        ModuleError::failed(format!(
            "Unable to write {}: {}",
            c::ps(dest),
            c::py_oserror(&e, None, None)
        ))
    };
    let staged = StagedFile::create(dest, data, 0o600).map_err(fail)?;
    if let Some(v) = validate {
        let r = run_validate(v, staged.path())?;
        if r.rc != 0 {
            return Err(ModuleError::failed(format!(
                "failed to validate: rc:{} error:{}",
                r.rc, r.stderr
            )));
        }
    }
    let perm = match &existing {
        Some(md) => {
            staged.chown(Some(md.uid()), Some(md.gid()));
            md.mode() & 0o7777
        }
        None => 0o666 & !fsutil::current_umask(),
    };
    staged.set_mode(perm).map_err(fail)?;
    staged.commit().map_err(|e| {
        ModuleError::failed(format!(
            "Could not replace file: {}: {}",
            c::ps(dest),
            c::py_oserror(&e, None, None)
        ))
    })
}

/// `os.makedirs` of a missing parent directory, with `msg` built from the
/// error.
pub fn make_parent(path: &Path) -> Result<(), std::io::Error> {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() && !c::exists(p) => fs::create_dir_all(p),
        _ => Ok(()),
    }
}

/// A module's check by a dry run of its work: nothing to change ends it,
/// otherwise the same work, for real, is the action.
pub fn check_by_dry_run<O: 'static>(
    o: O,
    run: fn(&O, bool) -> Result<crate::result::ModuleResult, ModuleError>,
) -> Result<crate::modules::Check, ModuleError> {
    let predicted = run(&o, true)?;
    if !predicted.changed {
        return Ok(crate::modules::Check::Done(predicted));
    }
    Ok(crate::modules::Check::Change {
        predicted,
        action: crate::modules::action(move |_ctx: &crate::modules::Context<'_>| run(&o, false)),
    })
}

/// A failure with Ansible's `rc` (for a path that is a directory, ...).
pub fn fail_rc(rc: i64, msg: String) -> ModuleError {
    ModuleError::Failed {
        msg,
        extra: c::kv([("rc", rc.into())]),
    }
}

/// A Python regular expression, or the module's error for a bad one.
pub fn compile(pat: &str) -> Result<super::pyre::PyRegex, ModuleError> {
    super::pyre::PyRegex::new(pat, super::pyre::Flags::default())
        .map_err(|e| ModuleError::failed(format!("Invalid regular expression {pat:?}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_splitting() {
        assert_eq!(readlines("a\nb"), vec!["a\n", "b"]);
        assert_eq!(readlines("a\r\nb\n"), vec!["a\r\n", "b\n"]);
        assert!(readlines("").is_empty());
        assert_eq!(splitlines_keepends("a\rb\r\nc"), vec!["a\r", "b\r\n", "c"]);
    }

    #[test]
    fn bytes_round_trip() {
        let data = [b'a', 0xff, b'\n'];
        let (s, codec) = Codec::decode(&data);
        assert_eq!(codec, Codec::Bytes);
        assert_eq!(codec.encode(&s), data);
        assert_eq!(codec.arg("é"), "\u{c3}\u{a9}");
    }
}
