//! Repositories: find one (`DescribeRepositories`) and create one with the requested settings
//! (`CreateRepository`).

use anyhow::anyhow;
use aws_sdk_ecr::operation::describe_repositories::DescribeRepositoriesError;
use aws_sdk_ecr::types::{
    EncryptionConfiguration, EncryptionType, ImageScanningConfiguration, ImageTagMutability, Tag,
};

use super::{EcrRegion, describe_sdk_error};
use crate::config::{Encryption, RepositorySettings, TagMutability};

/// What ECR says about a repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepositoryInfo {
    /// `ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME`
    pub uri: String,
    pub registry_id: String,
    /// `MUTABLE`, `IMMUTABLE`, or one of the `*_WITH_EXCLUSION` modes.
    pub tag_mutability: String,
}

impl RepositoryInfo {
    /// Whether ECR refuses to move or re-put tags (exclusion filters aside).
    pub fn is_immutable(&self) -> bool {
        self.tag_mutability.starts_with("IMMUTABLE")
    }
}

/// A repository lookup's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RepositoryState {
    Exists(RepositoryInfo),
    Missing,
}

impl EcrRegion {
    /// Looks the repository up; a missing repository is `Missing`, not an error.
    pub async fn describe_repository(&self, name: &str) -> anyhow::Result<RepositoryState> {
        let result = self
            .client
            .describe_repositories()
            .set_registry_id(self.registry_id.clone())
            .repository_names(name)
            .send()
            .await;
        match result {
            Ok(out) => match out.repositories().first() {
                Some(repo) => Ok(RepositoryState::Exists(info_of(
                    repo.repository_uri(),
                    repo.registry_id(),
                    repo.image_tag_mutability(),
                ))),
                None => Ok(RepositoryState::Missing),
            },
            Err(e) => match e.into_service_error() {
                DescribeRepositoriesError::RepositoryNotFoundException(_) => {
                    Ok(RepositoryState::Missing)
                }
                other => Err(anyhow!(
                    "region {}, repository {name}: ECR DescribeRepositories failed: {}",
                    self.region,
                    describe_sdk_error(&other)
                )),
            },
        }
    }

    /// Creates the repository with every requested setting.
    pub async fn create_repository(
        &self,
        name: &str,
        settings: &RepositorySettings,
    ) -> anyhow::Result<RepositoryInfo> {
        let mut request = self
            .client
            .create_repository()
            .set_registry_id(self.registry_id.clone())
            .repository_name(name)
            .image_tag_mutability(match settings.mutability {
                TagMutability::Mutable => ImageTagMutability::Mutable,
                TagMutability::Immutable => ImageTagMutability::Immutable,
            })
            .image_scanning_configuration(
                ImageScanningConfiguration::builder()
                    .scan_on_push(settings.scan_on_push)
                    .build(),
            )
            .encryption_configuration(encryption_of(&settings.encryption)?);
        for (key, value) in &settings.tags {
            request = request.tags(Tag::builder().key(key).value(value).build()?);
        }
        let out = request.send().await.map_err(|e| {
            anyhow!(
                "region {}, repository {name}: ECR CreateRepository failed: {}",
                self.region,
                describe_sdk_error(&e)
            )
        })?;
        let repo = out.repository();
        Ok(info_of(
            repo.and_then(|r| r.repository_uri()),
            repo.and_then(|r| r.registry_id()),
            repo.and_then(|r| r.image_tag_mutability()),
        ))
    }
}

fn encryption_of(encryption: &Encryption) -> anyhow::Result<EncryptionConfiguration> {
    let (kind, key) = match encryption {
        Encryption::Aes256 => (EncryptionType::Aes256, None),
        Encryption::Kms { key } => (EncryptionType::Kms, key.clone()),
        Encryption::KmsDsse { key } => (EncryptionType::KmsDsse, key.clone()),
    };
    Ok(EncryptionConfiguration::builder()
        .encryption_type(kind)
        .set_kms_key(key)
        .build()?)
}

fn info_of(
    uri: Option<&str>,
    registry_id: Option<&str>,
    mutability: Option<&ImageTagMutability>,
) -> RepositoryInfo {
    RepositoryInfo {
        uri: uri.unwrap_or_default().to_string(),
        registry_id: registry_id.unwrap_or_default().to_string(),
        tag_mutability: mutability
            .map(|m| m.as_str().to_string())
            .unwrap_or_else(|| "MUTABLE".to_string()),
    }
}
