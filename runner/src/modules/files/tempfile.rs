//! `tempfile`: creates a temporary file or directory.

use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};

use serde_json::Value;

use crate::args::{ArgDef, ArgDefault, ArgSpec, ArgType};
use crate::fsutil;
use crate::modules::{action, Capabilities, Check, CheckSupport, Context, Module, ModuleError};
use crate::result::ModuleResult;

pub struct Tempfile;

static SPEC: ArgSpec = ArgSpec::new(&[
    ArgDef::new("state", ArgType::Str)
        .default(ArgDefault::Str("file"))
        .choices(&["directory", "file"])
        .doc("Whether to create a file or a directory."),
    ArgDef::new("path", ArgType::Path)
        .doc("Directory to create it in (default: the system temp dir)."),
    ArgDef::new("prefix", ArgType::Str)
        .default(ArgDefault::Str("ansible."))
        .doc("Prefix of the name."),
    ArgDef::new("suffix", ArgType::Str)
        .default(ArgDefault::Str(""))
        .doc("Suffix of the name."),
]);

/// Eight characters from Python's `tempfile` alphabet.
fn random_name() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789_";
    let mut seed = [0u8; 8];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut seed);
    }
    seed.iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

fn path_info(path: &std::path::Path, state: &str) -> ModuleResult {
    let mut r = ModuleResult::changed().with("path", path.display().to_string());
    r.set("state", state);
    if let Ok(md) = std::fs::metadata(path) {
        r.set("uid", md.uid());
        r.set("gid", md.gid());
        r.set(
            "owner",
            fsutil::user_name(md.uid()).map_or(Value::Null, Value::from),
        );
        r.set(
            "group",
            fsutil::group_name(md.gid()).map_or(Value::Null, Value::from),
        );
        r.set("mode", fsutil::mode_string(md.mode()));
        r.set("size", md.size());
    }
    r
}

const NOTES: &str = r#"
Creates a file (mode 0600) or directory (0700) named
`<prefix><random><suffix>` under `path` (default: the host's temporary
directory, `TMPDIR` honoured) as Python's `tempfile` does. Results:
`path`, `state`, `mode`, `owner`, `group`, `uid`, `gid`, `size`,
`changed: true`. Never idempotent, as in Ansible. Check mode: full
(reports `changed: true` and the would-be `path` without creating it).
Diff: no.
"#;

impl Module for Tempfile {
    fn name(&self) -> &'static str {
        "tempfile"
    }
    fn description(&self) -> &'static str {
        "Creates temporary files and directories"
    }
    fn notes(&self) -> &'static str {
        NOTES
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            check_mode: CheckSupport::Full,
            diff: false,
        }
    }
    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }
    fn check(&self, ctx: &Context<'_>) -> Result<Check, ModuleError> {
        let a = &ctx.args;
        let dir = match a.str("path") {
            Some(p) => ctx.expand_path(p),
            None => std::env::temp_dir(),
        };
        let prefix = a.str("prefix").unwrap_or("ansible.").to_owned();
        let suffix = a.str("suffix").unwrap_or("").to_owned();
        let is_dir = a.str("state") == Some("directory");
        // Check mode reports a change without creating anything (as Ansible).
        let predicted = ModuleResult::changed().with(
            "path",
            dir.join(format!("{prefix}XXXXXXXX{suffix}"))
                .display()
                .to_string(),
        );
        Ok(Check::Change {
            predicted,
            action: action(move |_ctx: &Context<'_>| {
                for _ in 0..100 {
                    let path = dir.join(format!("{prefix}{}{suffix}", random_name()));
                    let made = if is_dir {
                        std::fs::create_dir(&path).and_then(|_| {
                            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700))
                        })
                    } else {
                        std::fs::OpenOptions::new()
                            .write(true)
                            .create_new(true)
                            .mode(0o600)
                            .open(&path)
                            .map(|_| ())
                    };
                    match made {
                        Ok(()) => {
                            return Ok(path_info(&path, if is_dir { "directory" } else { "file" }))
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                        Err(e) => {
                            return Err(ModuleError::failed(format!(
                                "Failed to create temporary {}: {e}",
                                if is_dir { "directory" } else { "file" }
                            )))
                        }
                    }
                }
                Err(ModuleError::failed("No usable temporary file name found"))
            }),
        })
    }
}
