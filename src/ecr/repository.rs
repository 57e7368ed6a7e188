//! Repositories: find one (`DescribeRepositories`) and create one with the requested settings
//! (`CreateRepository`).

use anyhow::anyhow;
use aws_sdk_ecr::operation::describe_repositories::DescribeRepositoriesError;
use aws_sdk_ecr::types::{
    EncryptionConfiguration, EncryptionType, ImageScanningConfiguration, ImageTagMutability,
    ImageTagMutabilityExclusionFilter, ImageTagMutabilityExclusionFilterType, Tag,
};

use super::{EcrRegion, describe_sdk_error};
use crate::config::{Encryption, RepositorySettings, TagRules};

/// What ECR says about a repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepositoryInfo {
    /// `ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME`
    pub uri: String,
    pub registry_id: String,
    /// `MUTABLE`, `IMMUTABLE`, or one of the `*_WITH_EXCLUSION` modes, as ECR spells it.
    pub tag_mutability: String,
    /// The wildcard exclusion filters of a `*_WITH_EXCLUSION` mode.
    pub exclusion_filters: Vec<String>,
}

impl RepositoryInfo {
    /// The repository's tag rules, to decide per tag.
    pub fn tag_rules(&self) -> TagRules {
        TagRules::from_ecr(&self.tag_mutability, self.exclusion_filters.clone())
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
                Some(repo) => Ok(RepositoryState::Exists(info_of(repo))),
                None => Ok(RepositoryState::Missing),
            },
            Err(e) => match e.into_service_error() {
                DescribeRepositoriesError::RepositoryNotFoundException(_) => {
                    Ok(RepositoryState::Missing)
                }
                other => Err(anyhow!(
                    "{}, repository {name}: ECR DescribeRepositories failed: {}",
                    self.place,
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
            .image_tag_mutability(mutability_of(&settings.tag_rules))
            .set_image_tag_mutability_exclusion_filters(exclusion_filters_of(&settings.tag_rules)?)
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
                "{}, repository {name}: ECR CreateRepository failed: {}",
                self.place,
                describe_sdk_error(&e)
            )
        })?;
        let repo = out.repository().ok_or_else(|| {
            anyhow!(
                "{}, repository {name}: ECR CreateRepository returned no repository",
                self.place
            )
        })?;
        Ok(info_of(repo))
    }
}

/// The SDK's mode for `rules`.
pub(super) fn mutability_of(rules: &TagRules) -> ImageTagMutability {
    ImageTagMutability::from(rules.mode.as_str())
}

/// The SDK's filters for `rules`; `None` for the modes that take none (ECR refuses an empty
/// list there).
pub(super) fn exclusion_filters_of(
    rules: &TagRules,
) -> anyhow::Result<Option<Vec<ImageTagMutabilityExclusionFilter>>> {
    if !rules.mode.has_exclusions() {
        return Ok(None);
    }
    let filters = rules
        .filters
        .iter()
        .map(|filter| {
            ImageTagMutabilityExclusionFilter::builder()
                .filter_type(ImageTagMutabilityExclusionFilterType::Wildcard)
                .filter(filter)
                .build()
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(filters))
}

/// The filters' texts as ECR reports them.
pub(super) fn filters_of(filters: &[ImageTagMutabilityExclusionFilter]) -> Vec<String> {
    filters.iter().map(|f| f.filter().to_string()).collect()
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

fn info_of(repo: &aws_sdk_ecr::types::Repository) -> RepositoryInfo {
    RepositoryInfo {
        uri: repo.repository_uri().unwrap_or_default().to_string(),
        registry_id: repo.registry_id().unwrap_or_default().to_string(),
        tag_mutability: repo
            .image_tag_mutability()
            .map_or("MUTABLE", |m| m.as_str())
            .to_string(),
        exclusion_filters: filters_of(repo.image_tag_mutability_exclusion_filters()),
    }
}
