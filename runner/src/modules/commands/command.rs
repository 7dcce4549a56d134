//! `command`: runs a program without a shell.

use crate::args::ArgSpec;
use crate::modules::{Capabilities, Check, CheckSupport, Context, Module, ModuleError};

pub struct Command;

impl Module for Command {
    fn name(&self) -> &'static str {
        "command"
    }
    fn description(&self) -> &'static str {
        "Execute a command on the host, without a shell"
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
