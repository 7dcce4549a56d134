//! `slurp`: a file's content, base64-encoded. Reads only.

use base64::Engine;

use super::common as c;
use crate::args::{ArgDef, ArgSpec, ArgType};
use crate::modules::{Capabilities, Check, CheckSupport, Context, Module, ModuleError};
use crate::result::ModuleResult;

pub struct Slurp;

static SPEC: ArgSpec = ArgSpec::new(&[ArgDef::new("src", ArgType::Path)
    .aliases(&["path"])
    .required()
    .doc("The file on the host to fetch.")]);

const NOTES: &str = r#"
Results: `content` (base64),
`encoding` (`base64`), `source`, `changed: false`. Failures: `file not
found: X`, `file is not readable: X`, `source is a directory and must be a
file: X`. Reads only; check mode: full. Diff: no.
"#;

impl Module for Slurp {
    fn name(&self) -> &'static str {
        "slurp"
    }
    fn description(&self) -> &'static str {
        "Slurps a file from remote nodes"
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
        let src = ctx
            .expand_path(ctx.args.str("src").unwrap_or_default())
            .to_string_lossy()
            .into_owned();
        let data = std::fs::read(&src).map_err(|e| {
            ModuleError::failed(match e.raw_os_error() {
                Some(2) => format!("file not found: {src}"),
                Some(13) => format!("file is not readable: {src}"),
                Some(21) => format!("source is a directory and must be a file: {src}"),
                _ => format!(
                    "unable to slurp file: {}",
                    c::py_oserror(&e, Some(std::path::Path::new(&src)), None)
                ),
            })
        })?;
        let content = base64::engine::general_purpose::STANDARD.encode(data);
        Ok(Check::Done(
            ModuleResult::ok()
                .with("content", content)
                .with("source", src)
                .with("encoding", "base64"),
        ))
    }
}
