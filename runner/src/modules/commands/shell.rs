//! `shell`: runs a command line through `/bin/sh` (or `executable`).

use crate::args::ArgSpec;
use crate::modules::{Capabilities, Check, CheckSupport, Context, Module, ModuleError};

pub struct Shell;

const NOTES: &str = r#"
The command line runs through `/bin/sh -c` (or `executable -c`), with the
arguments, results and messages of `command` (Ansible's shell action runs
the command module with `_uses_shell`). Check mode: as `command`. Diff: no.
"#;

impl Module for Shell {
    fn name(&self) -> &'static str {
        "shell"
    }
    fn description(&self) -> &'static str {
        "Execute shell commands on the host"
    }
    fn notes(&self) -> &'static str {
        NOTES
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            check_mode: CheckSupport::Partial,
            diff: false,
        }
    }
    fn spec(&self) -> &'static ArgSpec {
        &super::SPEC
    }
    fn check(&self, ctx: &Context<'_>) -> Result<Check, ModuleError> {
        super::check(ctx, true)
    }
}
