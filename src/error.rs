//! Errors that decide the exit code. Everything else is an `anyhow` error with context, which
//! exits 1. `main.rs` finds these types anywhere in the error chain.

use std::process::ExitCode;

/// Bad input or configuration, found before anything was written. Exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("invalid input `{input}`: {message}")]
pub struct InputError {
    /// The input's name as the design spells it (`tags`, `registry-endpoints`, ...).
    pub input: &'static str,
    pub message: String,
}

impl InputError {
    pub fn new(input: &'static str, message: impl Into<String>) -> Self {
        Self {
            input,
            message: message.into(),
        }
    }
}

/// A configuration problem discovered in the plan (repository missing, immutable tag taken),
/// still before any write. Exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PlanRefused(pub String);

/// Verification found a digest mismatch or a missing blob. Exit code 3.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct VerificationFailed(pub String);

/// The exit code for an error: 2 for input, 3 for verification, 1 for everything else.
pub fn exit_code_for(error: &anyhow::Error) -> ExitCode {
    for cause in error.chain() {
        if cause.is::<InputError>()
            || cause.is::<PlanRefused>()
            || cause.is::<clap::Error>()
            || cause.is::<ActionInputError>()
        {
            return ExitCode::from(2);
        }
        if cause.is::<VerificationFailed>() {
            return ExitCode::from(3);
        }
    }
    ExitCode::from(1)
}

/// An `INPUT_*` variable that names no input of `push`.
#[derive(Debug, thiserror::Error)]
#[error(
    "unknown action input `{given}` ({variable}); the closest valid input is `{closest}` \
     ({closest_variable}); inputs are spelled as in action.yml, upper-cased with `-` kept"
)]
pub struct UnknownInput {
    /// The variable as set, e.g. `INPUT_REGOINS`.
    pub variable: String,
    /// The input name it stands for, lower-cased: `regoins`.
    pub given: String,
    pub closest: &'static str,
    pub closest_variable: String,
}

/// A problem reading the `INPUT_*` variables (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum ActionInputError {
    #[error(transparent)]
    Unknown(#[from] UnknownInput),
    #[error("action input variable {0} is not valid UTF-8")]
    NotUtf8(String),
}
