//! ECR managed signing at a destination, as the report gives it: the AWS Signer profiles whose
//! rules sign the repository and how the wait for their signatures ended.

use serde::Serialize;

/// Managed signing at one destination.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SigningReport {
    pub state: SigningState,
    /// The signing profiles (ARNs) of the rules that match the repository.
    pub profiles: Vec<String>,
    /// Why signing failed, what was still pending at the timeout, or why the configuration
    /// could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Where a destination's managed signing stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SigningState {
    /// The configuration signs the repository; the run waits (or, in a dry run, would wait).
    Planned,
    /// Every profile's signature of the image exists.
    Complete,
    /// ECR reported a profile's signing as failed.
    Failed,
    /// `signing-timeout` passed first.
    TimedOut,
    /// The signing configuration could not be read: nothing was waited for.
    Unknown,
}

impl SigningState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Planned => "planned",
            Self::Complete => "complete",
            Self::Failed => "failed",
            Self::TimedOut => "timed-out",
            Self::Unknown => "unknown",
        }
    }
}

display_as_word!(SigningState);
