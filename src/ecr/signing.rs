//! ECR managed signing: the registry's signing configuration (`GetSigningConfiguration`: which
//! repositories ECR signs on push, with which AWS Signer profiles) and one image's signing
//! status per profile (`DescribeImageSigningStatus`). What it hands back is plain data; which
//! rules apply to a repository and when signing counts as finished is the engine's decision.

use aws_sdk_ecr::error::ProvideErrorMetadata;
use aws_sdk_ecr::operation::get_signing_configuration::GetSigningConfigurationError;
use aws_sdk_ecr::types::{ImageIdentifier, SigningStatus};

use super::EcrRegion;

/// One signing rule: a profile and the repository filters it signs (none: every repository).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningRule {
    pub profile: String,
    /// `WILDCARD_MATCH` patterns (`*` matches any run of characters).
    pub filters: Vec<String>,
}

/// What the registry says of managed signing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SigningConfigRead {
    /// No signing configuration: ECR signs nothing.
    NotSet,
    /// The configuration's rules.
    Rules(Vec<SigningRule>),
    /// The configuration could not be read (denied, or an endpoint without the API), and why.
    Unreadable(String),
}

/// One profile's signing of one image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SigningProgress {
    InProgress,
    Complete,
    /// `FAILED`, with ECR's failure code and reason.
    Failed(String),
}

/// One entry of `DescribeImageSigningStatus`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningStatusRead {
    pub profile: String,
    pub progress: SigningProgress,
}

impl EcrRegion {
    /// The managed signing rules of the registry of the caller's account in this region (the
    /// API has no registry id: another account's rules need that account's credentials). An answer with an error code (access denied, an
    /// unknown operation at an ECR-compatible endpoint) is [`SigningConfigRead::Unreadable`];
    /// only a failure to reach ECR at all is an error.
    pub async fn signing_configuration(&self) -> anyhow::Result<SigningConfigRead> {
        let result = self.client.get_signing_configuration().send().await;
        let out = match result {
            Ok(out) => out,
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(GetSigningConfigurationError::SigningConfigurationNotFoundException(_))
                ) =>
            {
                return Ok(SigningConfigRead::NotSet);
            }
            Err(e) if e.code().is_some() || e.raw_response().is_some() => {
                return Ok(SigningConfigRead::Unreadable(super::describe_sdk_error(&e)));
            }
            Err(e) => {
                return Err(anyhow::anyhow!(
                    "{}: ECR GetSigningConfiguration failed: {}",
                    self.place,
                    super::describe_sdk_error(&e)
                ));
            }
        };
        let rules = out
            .signing_configuration()
            .map(|c| {
                c.rules()
                    .iter()
                    .map(|r| SigningRule {
                        profile: r.signing_profile_arn().to_string(),
                        filters: r
                            .repository_filters()
                            .iter()
                            .map(|f| f.filter().to_string())
                            .collect(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(SigningConfigRead::Rules(rules))
    }

    /// `digest`'s signing status in `repository`, one entry per profile that signs it (none
    /// yet while ECR has not started).
    pub async fn signing_statuses(
        &self,
        repository: &str,
        digest: &str,
    ) -> anyhow::Result<Vec<SigningStatusRead>> {
        let out = self
            .client
            .describe_image_signing_status()
            .set_registry_id(self.registry_id.clone())
            .repository_name(repository)
            .image_id(ImageIdentifier::builder().image_digest(digest).build())
            .send()
            .await
            .map_err(|e| self.failure(repository, "DescribeImageSigningStatus", &e))?;
        Ok(out
            .signing_statuses()
            .iter()
            .map(|s| SigningStatusRead {
                profile: s.signing_profile_arn().unwrap_or_default().to_string(),
                progress: progress_of(s.status(), s.failure_code(), s.failure_reason()),
            })
            .collect())
    }
}

fn progress_of(
    status: Option<&SigningStatus>,
    code: Option<&str>,
    reason: Option<&str>,
) -> SigningProgress {
    match status.map(SigningStatus::as_str) {
        Some("COMPLETE") => SigningProgress::Complete,
        Some("FAILED") => {
            let why = [code, reason]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(": ");
            SigningProgress::Failed(if why.is_empty() {
                "FAILED".to_string()
            } else {
                why
            })
        }
        _ => SigningProgress::InProgress,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_progress() {
        assert_eq!(
            progress_of(Some(&SigningStatus::Complete), None, None),
            SigningProgress::Complete
        );
        assert_eq!(
            progress_of(Some(&SigningStatus::InProgress), None, None),
            SigningProgress::InProgress
        );
        assert_eq!(
            progress_of(
                Some(&SigningStatus::Failed),
                Some("SIGNING_PROFILE_REVOKED"),
                Some("the profile was revoked")
            ),
            SigningProgress::Failed("SIGNING_PROFILE_REVOKED: the profile was revoked".into())
        );
        assert_eq!(
            progress_of(Some(&SigningStatus::Failed), None, None),
            SigningProgress::Failed("FAILED".into())
        );
    }
}
