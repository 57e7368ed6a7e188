//! `ecr-fanout action`: what `action.yml` runs. Every input comes from the runner-style
//! `INPUT_<NAME>` variables (see `config::action_env`); from there on it is `push`.

use crate::config::action_env;

/// Reads the `INPUT_*` variables and runs `push` with them.
pub async fn run() -> anyhow::Result<()> {
    let raw = action_env::inputs_from_process_env()?;
    super::push::run(&raw).await
}
