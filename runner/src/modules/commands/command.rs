//! `command`: runs a program without a shell.

use crate::args::ArgSpec;
use crate::modules::{Capabilities, Check, CheckSupport, Context, Module, ModuleError};

pub struct Command;

const NOTES: &str = r#"
Runs the program directly (no shell): the free-form line is split as
Python's `shlex` does, `argv` is used as given. `creates`/`removes` take
globs and skip the command with Ansible's `skipped, since X exists` /
`skipped, since X does not exist` messages (`rc: 0`, `changed: false`).

Results: `cmd`, `rc`, `stdout`, `stderr`, `stdout_lines`, `stderr_lines`,
`start`, `end`, `delta`, `msg` (`""` or `non-zero return code`), `changed:
true` when the command ran. A non-zero `rc` fails the task; a missing
program fails with `[Errno 2] No such file or directory: b'X'` and `rc: 2`
as Ansible. `strip_empty_ends` (default true) strips trailing newlines of
the output; `stdin_add_newline` (default true).

Check mode: skipped unless `creates`/`removes` decides the outcome
(partial, as Ansible). Diff: no.
"#;

impl Module for Command {
    fn name(&self) -> &'static str {
        "command"
    }
    fn description(&self) -> &'static str {
        "Execute a command on the host, without a shell"
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
        super::check(ctx, false)
    }
}
