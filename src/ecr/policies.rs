//! Repository-level policies: the lifecycle policy (`GetLifecyclePolicy` /
//! `PutLifecyclePolicy`) and the repository policy (`GetRepositoryPolicy` /
//! `SetRepositoryPolicy`). Reads answer `None` when the repository has no such policy.

use anyhow::anyhow;
use aws_sdk_ecr::operation::get_lifecycle_policy::GetLifecyclePolicyError;
use aws_sdk_ecr::operation::get_repository_policy::GetRepositoryPolicyError;

use super::{EcrRegion, describe_sdk_error};

impl EcrRegion {
    /// The repository's lifecycle policy text, or `None` when it has none.
    pub async fn lifecycle_policy(&self, repository: &str) -> anyhow::Result<Option<String>> {
        let result = self
            .client
            .get_lifecycle_policy()
            .set_registry_id(self.registry_id.clone())
            .repository_name(repository)
            .send()
            .await;
        match result {
            Ok(out) => Ok(out.lifecycle_policy_text().map(str::to_string)),
            Err(e) => match e.into_service_error() {
                GetLifecyclePolicyError::LifecyclePolicyNotFoundException(_) => Ok(None),
                other => Err(self.failure(repository, "GetLifecyclePolicy", &other)),
            },
        }
    }

    /// Replaces the repository's lifecycle policy.
    pub async fn put_lifecycle_policy(&self, repository: &str, text: &str) -> anyhow::Result<()> {
        self.client
            .put_lifecycle_policy()
            .set_registry_id(self.registry_id.clone())
            .repository_name(repository)
            .lifecycle_policy_text(text)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.failure(repository, "PutLifecyclePolicy", &e))
    }

    /// The repository policy text, or `None` when the repository has none.
    pub async fn repository_policy(&self, repository: &str) -> anyhow::Result<Option<String>> {
        let result = self
            .client
            .get_repository_policy()
            .set_registry_id(self.registry_id.clone())
            .repository_name(repository)
            .send()
            .await;
        match result {
            Ok(out) => Ok(out.policy_text().map(str::to_string)),
            Err(e) => match e.into_service_error() {
                GetRepositoryPolicyError::RepositoryPolicyNotFoundException(_) => Ok(None),
                other => Err(self.failure(repository, "GetRepositoryPolicy", &other)),
            },
        }
    }

    /// Replaces the repository policy.
    pub async fn set_repository_policy(&self, repository: &str, text: &str) -> anyhow::Result<()> {
        self.client
            .set_repository_policy()
            .set_registry_id(self.registry_id.clone())
            .repository_name(repository)
            .policy_text(text)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.failure(repository, "SetRepositoryPolicy", &e))
    }

    /// `region R, repository N: ECR <Operation> failed: <cause and hint>`.
    pub(super) fn failure(
        &self,
        repository: &str,
        operation: &str,
        error: &(impl aws_sdk_ecr::error::ProvideErrorMetadata + std::error::Error),
    ) -> anyhow::Error {
        anyhow!(
            "{}, repository {repository}: ECR {operation} failed: {}",
            self.place,
            describe_sdk_error(error)
        )
    }
}
