//! `ecr-fanout action`: what `action.yml` runs. Every input comes from the runner-style
//! `INPUT_<NAME>` variables (see `config::action_env`); from there on it is `push`.

use crate::config::action_env;
use crate::config::ci_environment::CiEnvironment;

/// Reads the `INPUT_*` variables and runs `push` with them in `ci`.
pub async fn run(ci: &CiEnvironment) -> anyhow::Result<()> {
    let raw = action_env::inputs_from_process_env()?;
    super::push::run(&raw, ci).await
}
