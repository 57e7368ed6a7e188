//! The only AWS code. Per-region ECR control-plane clients built from aws-config's default
//! credential chain (`AWS_ENDPOINT_URL_ECR` honoured), registry logins from
//! `GetAuthorizationToken`, repository lookup and creation, and ECR's host-name rules. What it
//! hands to the rest of the program is plain data: a host, a user name and a [`Secret`].
//!
//! [`Secret`]: crate::secret::Secret

mod auth;
mod hosts;
mod repository;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ecr::error::DisplayErrorContext;

pub use auth::RegistryLogin;
pub use hosts::{registry_host, registry_host_for_account};
pub use repository::{RepositoryInfo, RepositoryState};

/// Loads the shared AWS configuration once (credential chain, retry and endpoint settings).
pub async fn load_aws_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// ECR in one region.
#[derive(Clone, Debug)]
pub struct EcrRegion {
    client: aws_sdk_ecr::Client,
    region: String,
    registry_id: Option<String>,
}

impl EcrRegion {
    /// A client for `region`; `registry_id` selects another account's registry.
    pub fn new(shared: &SdkConfig, region: &str, registry_id: Option<String>) -> Self {
        let config = aws_sdk_ecr::config::Builder::from(shared)
            .region(Region::new(region.to_string()))
            .build();
        Self {
            client: aws_sdk_ecr::Client::from_conf(config),
            region: region.to_string(),
            registry_id,
        }
    }

    pub fn region(&self) -> &str {
        &self.region
    }
}

/// One line for an SDK error, with every cause, and a hint when the fix is known.
fn describe_sdk_error(error: &impl std::error::Error) -> String {
    let text = DisplayErrorContext(error).to_string().replace('\n', " ");
    let hint = if text.contains("no credentials") || text.contains("NoCredentials") {
        " (hint: no AWS credentials were found; in GitHub Actions use \
         aws-actions/configure-aws-credentials with `permissions: id-token: write`, elsewhere \
         set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"
    } else if text.contains("AccessDenied") || text.contains("not authorized") {
        " (hint: the IAM identity lacks an ECR permission; see README, \"IAM policy\")"
    } else {
        ""
    };
    format!("{text}{hint}")
}

/// `None` when the credential chain yields credentials; otherwise why not, with a hint.
/// Bounded so that a laptop without credentials does not wait on instance metadata for long.
pub async fn credentials_problem(shared: &SdkConfig) -> Option<String> {
    use aws_sdk_ecr::config::ProvideCredentials;
    const HINT: &str = "hint: in GitHub Actions use aws-actions/configure-aws-credentials with \
                        `permissions: id-token: write`; elsewhere set AWS_PROFILE or \
                        AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY";
    let Some(provider) = shared.credentials_provider() else {
        return Some(format!("no AWS credential provider is configured ({HINT})"));
    };
    let lookup = provider.provide_credentials();
    match tokio::time::timeout(std::time::Duration::from_secs(15), lookup).await {
        Ok(Ok(_)) => None,
        Ok(Err(e)) => {
            tracing::debug!(error = %DisplayErrorContext(&e), "credential chain");
            Some(format!(
                "no AWS credentials found (tried environment, profile, web identity, ECS and \
                 instance metadata; {HINT})"
            ))
        }
        Err(_) => Some(format!("timed out looking for AWS credentials ({HINT})")),
    }
}
