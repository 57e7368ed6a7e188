//! `ecr-fanout action`: what `action.yml` runs. Every input comes from the runner-style
//! `INPUT_<NAME>` variables (see `config::action_env`); the `command` input says which of
//! `push`, `merge` and `verify` runs with them.

use crate::config::action_env;
use crate::config::ci_environment::CiEnvironment;

/// Reads the `INPUT_*` variables and runs the command they name in `ci`.
pub async fn run(ci: &CiEnvironment) -> anyhow::Result<()> {
    let raw = action_env::inputs_from_process_env()?;
    match action_env::for_command(raw)? {
        (action_env::ActionCommand::Push, raw) => super::push::run(&raw, ci).await,
        (action_env::ActionCommand::Merge, raw) => super::merge::run(&raw, ci).await,
        (action_env::ActionCommand::Verify, raw) => super::verify::run(&raw, ci).await,
    }
}
