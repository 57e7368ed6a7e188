//! The ECR code (with `lock`'s DynamoDB calls, the only AWS code). Per-region ECR
//! control-plane clients built from aws-config's default credential chain (`AWS_ENDPOINT_URL_ECR` honoured), registry logins from
//! `GetAuthorizationToken`, repository lookup and creation, and ECR's host-name rules. What it
//! hands to the rest of the program is plain data: a host, a user name and a [`Secret`].
//!
//! [`Secret`]: crate::secret::Secret

mod assume_role;
mod auth;
mod credentials_hint;
mod hosts;
mod https_client;
mod policies;
mod replication;
mod repository;
mod scanning;
mod settings;
mod signing;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ecr::error::{DisplayErrorContext, ProvideErrorMetadata};

use crate::observer::{Observer, SharedObserver};
use crate::secret::Secret;

pub use auth::RegistryLogin;
pub use credentials_hint::set_environment as set_credentials_hint_environment;
pub use hosts::{registry_host, registry_host_for_account};
pub use https_client::https_client;
pub use replication::{
    DestinationStatus, ReplicationRules, ReplicationTarget, summarize_replication,
};
pub use repository::{RepositoryInfo, RepositoryState};
pub use scanning::{Finding, ScanProgress, ScanRead};
pub use settings::CurrentSettings;
pub use signing::{SigningConfigRead, SigningProgress, SigningRule, SigningStatusRead};

/// Loads the shared AWS configuration once (credential chain, endpoint settings). ECR calls
/// use the SDK's standard retry mode (throttling, 5xx and connection errors; 5 attempts with
/// jittered backoff) and fail an attempt that takes longer than `attempt_timeout`.
pub async fn load_aws_config(attempt_timeout: std::time::Duration) -> SdkConfig {
    use aws_config::retry::RetryConfig;
    use aws_config::timeout::TimeoutConfig;
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .retry_config(RetryConfig::standard().with_max_attempts(5))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(std::time::Duration::from_secs(10))
                .operation_attempt_timeout(attempt_timeout)
                .build(),
        )
        .load()
        .await
}

/// ECR in one region.
#[derive(Clone)]
pub struct EcrRegion {
    client: aws_sdk_ecr::Client,
    region: String,
    registry_id: Option<String>,
    /// How errors name the destination: `region R`, or `destination ID (region R, account A)`.
    place: String,
    /// Told of every login's secrets.
    observer: SharedObserver,
}

impl std::fmt::Debug for EcrRegion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EcrRegion")
            .field("region", &self.region)
            .field("registry_id", &self.registry_id)
            .finish_non_exhaustive()
    }
}

impl EcrRegion {
    /// A client for `region`; `registry_id` selects another account's registry. `observer`
    /// is told of the secrets each login receives.
    pub fn new(
        shared: &SdkConfig,
        region: &str,
        registry_id: Option<String>,
        observer: SharedObserver,
    ) -> Self {
        let config =
            aws_sdk_ecr::config::Builder::from(shared).region(Region::new(region.to_string()));
        Self::with_config(config, region, registry_id, observer)
    }

    fn with_config(
        config: aws_sdk_ecr::config::Builder,
        region: &str,
        registry_id: Option<String>,
        observer: SharedObserver,
    ) -> Self {
        Self {
            client: aws_sdk_ecr::Client::from_conf(config.build()),
            place: format!("region {region}"),
            region: region.to_string(),
            registry_id,
            observer,
        }
    }

    /// The same client, naming its destination `place` in errors.
    pub fn naming(mut self, place: String) -> Self {
        self.place = place;
        self
    }

    /// A client for `region` whose calls use `role`'s assumed credentials (STS AssumeRole on
    /// top of `shared`'s credential chain) when given; [`Self::new`] otherwise. The external
    /// id is announced to `observer` as a secret at once, the credentials whenever the SDK
    /// obtains them.
    pub async fn for_destination(
        shared: &SdkConfig,
        (region, registry_id): (&str, Option<String>),
        role: Option<&crate::config::AssumedRole>,
        observer: SharedObserver,
    ) -> Self {
        let Some(role) = role else {
            return Self::new(shared, region, registry_id, observer);
        };
        if let Some(external_id) = &role.external_id {
            // Registered for redaction when the input was read; masked here.
            observer.secret_received(external_id);
        }
        let request = assume_role::RoleRequest {
            arn: &role.arn,
            external_id: role.external_id.as_ref().map(|s| s.expose()),
            session_name: &role.session_name,
        };
        let provider =
            assume_role::assumed_role_provider(shared, region, &request, observer.clone()).await;
        let config = aws_sdk_ecr::config::Builder::from(shared)
            .region(Region::new(region.to_string()))
            .credentials_provider(provider);
        Self::with_config(config, region, registry_id, observer)
    }

    pub fn region(&self) -> &str {
        &self.region
    }
}

/// One line for an SDK error, and a hint when the fix is known: ECR's error code and message
/// when ECR answered with one, else the chain of causes (never the SDK's debug dump of the raw
/// response).
fn describe_sdk_error(error: &(impl ProvideErrorMetadata + std::error::Error)) -> String {
    let text = match (error.code(), error.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_string(),
        _ => causes(error),
    };
    let hint = if text.contains("no credentials") || text.contains("NoCredentials") {
        format!(
            " (no AWS credentials were found; {})",
            credentials_hint::missing_credentials_hint()
        )
    } else if text.contains("AccessDenied") || text.contains("not authorized") {
        " (hint: the IAM identity lacks an ECR permission; see README, \"IAM policy\")".to_string()
    } else {
        String::new()
    };
    format!("{text}{hint}")
}

/// `error: cause: cause…` on one line, each cause once.
fn causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text.replace('\n', " ")
}

/// `None` when the credential chain yields credentials; otherwise why not, with a hint.
/// Bounded so that a laptop without credentials does not wait on instance metadata for long.
/// `observer` is told of the secret key and session token the first time each is seen.
pub async fn credentials_problem(shared: &SdkConfig, observer: &dyn Observer) -> Option<String> {
    use aws_sdk_ecr::config::ProvideCredentials;
    let hint = credentials_hint::missing_credentials_hint();
    let Some(provider) = shared.credentials_provider() else {
        return Some(format!("no AWS credential provider is configured ({hint})"));
    };
    let lookup = provider.provide_credentials();
    match tokio::time::timeout(std::time::Duration::from_secs(15), lookup).await {
        Ok(Ok(credentials)) => {
            announce_credential(observer, credentials.secret_access_key());
            if let Some(token) = credentials.session_token() {
                announce_credential(observer, token);
            }
            None
        }
        Ok(Err(e)) => {
            tracing::debug!(error = %DisplayErrorContext(&e), "credential chain");
            Some(format!(
                "no AWS credentials found (tried environment, profile, web identity, ECS and \
                 instance metadata; {hint})"
            ))
        }
        Err(_) => Some(format!("timed out looking for AWS credentials ({hint})")),
    }
}

/// Registers a credential for redaction and, the first time it is seen, tells the observer.
fn announce_credential(observer: &dyn Observer, value: &str) {
    if crate::secret::register(value) {
        observer.secret_received(&Secret::new(value));
    }
}
