//! Errors that decide the exit code, and [`FailureKind`], the one precedence for several
//! destinations failing differently (2 input, else 1 operation, else 3 verification, else 4
//! gate). Everything else is an `anyhow` error with context, which exits 1. `main.rs` finds
//! these types anywhere in the error chain.

use std::process::ExitCode;

/// Bad input or configuration, found before anything was written. Exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("invalid input `{input}`: {message}")]
pub struct InputError {
    /// The input's name (`tags`, `registry-endpoints`, ...).
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

/// The scan gate refused the image: findings at or above the threshold. Exit code 4.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct GateRefused(pub String);

/// What kind of failure a destination, or the run, had. The order is the precedence: when
/// destinations fail differently the run exits with the highest kind's code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// A gate (the scan gate) refused the image; nothing was tagged. Exit code 4.
    Gate,
    /// A destination serves other bytes or lacks part of the image, or a tag ended split.
    /// Exit code 3.
    Verification,
    /// A destination could not do its work (network, AWS, registry, builder). Exit code 1.
    Operation,
    /// Bad input or configuration, found before any write. Exit code 2.
    Input,
}

impl FailureKind {
    /// The process exit code of this kind.
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Input => 2,
            Self::Operation => 1,
            Self::Verification => 3,
            Self::Gate => 4,
        }
    }

    /// The kind of `error`: the first typed error in its chain (outermost first), else
    /// [`FailureKind::Operation`].
    pub fn of(error: &anyhow::Error) -> Self {
        for cause in error.chain() {
            if let Some(failed) = cause.downcast_ref::<Failed>() {
                return failed.kind;
            }
            if cause.is::<InputError>()
                || cause.is::<PlanRefused>()
                || cause.is::<clap::Error>()
                || cause.is::<ActionInputError>()
            {
                return Self::Input;
            }
            if cause.is::<VerificationFailed>() {
                return Self::Verification;
            }
            if cause.is::<GateRefused>() {
                return Self::Gate;
            }
        }
        Self::Operation
    }

    /// The kind that decides for several failures: input, else operation, else verification,
    /// else gate.
    pub fn deciding(kinds: impl IntoIterator<Item = FailureKind>) -> Option<FailureKind> {
        kinds.into_iter().max()
    }
}

/// Several destinations' failures as one error, of the kind that decides the exit code.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Failed {
    pub kind: FailureKind,
    pub message: String,
}

/// The exit code for an error (see [`FailureKind`]).
pub fn exit_code_for(error: &anyhow::Error) -> ExitCode {
    ExitCode::from(FailureKind::of(error).exit_code())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(errors: &[anyhow::Error]) -> Option<FailureKind> {
        FailureKind::deciding(errors.iter().map(FailureKind::of))
    }

    fn input() -> anyhow::Error {
        PlanRefused("region a: repository web does not exist".into()).into()
    }

    fn operation() -> anyhow::Error {
        anyhow::anyhow!("region b: upload blob: connection refused")
    }

    fn verification() -> anyhow::Error {
        VerificationFailed("region c: served with different bytes".into()).into()
    }

    fn gate() -> anyhow::Error {
        GateRefused("region a: 2 CRITICAL findings".into()).into()
    }

    #[test]
    fn bad_input_wins_over_everything() {
        let all = [input(), operation(), verification(), gate()];
        assert_eq!(kinds(&all), Some(FailureKind::Input));
        assert_eq!(FailureKind::Input.exit_code(), 2);
    }

    #[test]
    fn an_operation_failure_wins_over_verification_and_gate() {
        let all = [verification(), operation(), gate()];
        assert_eq!(kinds(&all), Some(FailureKind::Operation));
        assert_eq!(FailureKind::Operation.exit_code(), 1);
    }

    #[test]
    fn verification_wins_over_a_gate() {
        assert_eq!(
            kinds(&[gate(), verification()]),
            Some(FailureKind::Verification)
        );
        assert_eq!(FailureKind::Verification.exit_code(), 3);
    }

    #[test]
    fn a_gate_alone_is_4_and_no_failure_is_none() {
        assert_eq!(kinds(&[gate()]), Some(FailureKind::Gate));
        assert_eq!(FailureKind::Gate.exit_code(), 4);
        assert_eq!(kinds(&[]), None);
    }

    #[test]
    fn the_outermost_typed_error_decides() {
        let wrapped = verification().context("region c: verify");
        assert_eq!(FailureKind::of(&wrapped), FailureKind::Verification);
        let combined: anyhow::Error = Failed {
            kind: FailureKind::Operation,
            message: "two regions failed".into(),
        }
        .into();
        assert_eq!(
            FailureKind::of(&combined.context("push")),
            FailureKind::Operation
        );
        assert_eq!(
            FailureKind::of(&anyhow::anyhow!("plain")),
            FailureKind::Operation
        );
    }
}
