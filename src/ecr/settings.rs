//! An existing repository's settings: read them (`DescribeRepositories`,
//! `ListTagsForResource`) and change the ones ECR can change in place
//! (`PutImageTagMutability`, `PutImageScanningConfiguration`, `TagResource`). Encryption cannot
//! change without recreating the repository, so there is no writer for it.

use anyhow::anyhow;
use aws_sdk_ecr::types::{ImageScanningConfiguration, Tag};

use super::EcrRegion;
use super::repository::{exclusion_filters_of, filters_of, mutability_of};
use crate::config::TagRules;

/// What an existing repository is set to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CurrentSettings {
    pub arn: String,
    /// `MUTABLE`, `IMMUTABLE` or a `*_WITH_EXCLUSION` mode, and its exclusion filters.
    pub tag_rules: TagRules,
    pub scan_on_push: bool,
    /// `AES256`, `KMS` or `KMS_DSSE`.
    pub encryption_type: String,
    pub kms_key: Option<String>,
    /// Resource tags, when they were read.
    pub tags: Option<Vec<(String, String)>>,
}

impl EcrRegion {
    /// Reads the repository's settings; its resource tags only when `with_tags`.
    pub async fn repository_settings(
        &self,
        repository: &str,
        with_tags: bool,
    ) -> anyhow::Result<CurrentSettings> {
        let out = self
            .client
            .describe_repositories()
            .set_registry_id(self.registry_id.clone())
            .repository_names(repository)
            .send()
            .await
            .map_err(|e| self.failure(repository, "DescribeRepositories", &e))?;
        let repo = out.repositories().first().ok_or_else(|| {
            anyhow!(
                "{}, repository {repository}: DescribeRepositories returned no repository",
                self.place
            )
        })?;
        let encryption = repo.encryption_configuration();
        let mut settings = CurrentSettings {
            arn: repo.repository_arn().unwrap_or_default().to_string(),
            tag_rules: TagRules::from_ecr(
                repo.image_tag_mutability()
                    .map_or("MUTABLE", |m| m.as_str()),
                filters_of(repo.image_tag_mutability_exclusion_filters()),
            ),
            scan_on_push: repo
                .image_scanning_configuration()
                .is_some_and(|c| c.scan_on_push()),
            encryption_type: encryption
                .map_or("AES256", |e| e.encryption_type().as_str())
                .to_string(),
            kms_key: encryption.and_then(|e| e.kms_key()).map(str::to_string),
            tags: None,
        };
        if with_tags {
            settings.tags = Some(self.repository_tags(repository, &settings.arn).await?);
        }
        Ok(settings)
    }

    async fn repository_tags(
        &self,
        repository: &str,
        arn: &str,
    ) -> anyhow::Result<Vec<(String, String)>> {
        let out = self
            .client
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(|e| self.failure(repository, "ListTagsForResource", &e))?;
        Ok(out
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect())
    }

    /// Sets the repository's tag mutability mode and exclusion filters.
    pub async fn put_tag_mutability(
        &self,
        repository: &str,
        rules: &TagRules,
    ) -> anyhow::Result<()> {
        self.client
            .put_image_tag_mutability()
            .set_registry_id(self.registry_id.clone())
            .repository_name(repository)
            .image_tag_mutability(mutability_of(rules))
            .set_image_tag_mutability_exclusion_filters(exclusion_filters_of(rules)?)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.failure(repository, "PutImageTagMutability", &e))
    }

    /// Turns scan on push on or off.
    pub async fn put_scan_on_push(
        &self,
        repository: &str,
        scan_on_push: bool,
    ) -> anyhow::Result<()> {
        self.client
            .put_image_scanning_configuration()
            .set_registry_id(self.registry_id.clone())
            .repository_name(repository)
            .image_scanning_configuration(
                ImageScanningConfiguration::builder()
                    .scan_on_push(scan_on_push)
                    .build(),
            )
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.failure(repository, "PutImageScanningConfiguration", &e))
    }

    /// Adds or overwrites resource tags (other tags stay).
    pub async fn tag_repository(
        &self,
        repository: &str,
        arn: &str,
        tags: &[(String, String)],
    ) -> anyhow::Result<()> {
        let mut request = self.client.tag_resource().resource_arn(arn);
        for (key, value) in tags {
            request = request.tags(Tag::builder().key(key).value(value).build()?);
        }
        request
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.failure(repository, "TagResource", &e))
    }
}
