//! ECR's own replication: which regions the registry's replication rules copy a repository to
//! (`DescribeRegistry`, read in the primary region), and how far an image pushed there has
//! reached those regions (`DescribeImageReplicationStatus`, one call; the run polls it).
//!
//! Replication keeps the repository name, so a rule reaches a target only when the target's
//! repository has the primary's name, its region and account are a rule destination, and the
//! rule has no repository filter or a `PREFIX_MATCH` filter the name starts with.

use anyhow::anyhow;
use aws_sdk_ecr::types::ImageIdentifier;

use super::EcrRegion;

/// The registry's replication rules.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplicationRules {
    /// The account whose registry `DescribeRegistry` described (the caller's).
    pub registry_id: String,
    pub rules: Vec<ReplicationRuleView>,
}

/// One rule: where it copies to, and which repositories (prefixes; empty = all).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplicationRuleView {
    pub destinations: Vec<ReplicationTarget>,
    pub prefixes: Vec<String>,
}

/// A region of an account's registry.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ReplicationTarget {
    pub region: String,
    pub registry_id: String,
}

impl ReplicationRules {
    /// Whether replication copies `repository` into `target`.
    pub fn reaches(&self, repository: &str, target: &ReplicationTarget) -> bool {
        self.rules.iter().any(|rule| {
            rule.destinations.contains(target)
                && (rule.prefixes.is_empty()
                    || rule
                        .prefixes
                        .iter()
                        .any(|p| repository.starts_with(p.as_str())))
        })
    }
}

/// One destination's replication state for an image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DestinationStatus {
    pub target: ReplicationTarget,
    /// `PENDING` (not listed yet), `IN_PROGRESS`, `COMPLETE` or `FAILED`.
    pub status: String,
    pub failure_code: Option<String>,
}

impl EcrRegion {
    /// The registry's replication configuration (`DescribeRegistry`).
    pub async fn replication_rules(&self) -> anyhow::Result<ReplicationRules> {
        let out = self.client.describe_registry().send().await.map_err(|e| {
            anyhow!(
                "{}: ECR DescribeRegistry failed: {}",
                self.place,
                super::describe_sdk_error(&e)
            )
        })?;
        let rules = out
            .replication_configuration()
            .map(|c| c.rules())
            .unwrap_or_default()
            .iter()
            .map(|rule| ReplicationRuleView {
                destinations: rule
                    .destinations()
                    .iter()
                    .map(|d| ReplicationTarget {
                        region: d.region().to_string(),
                        registry_id: d.registry_id().to_string(),
                    })
                    .collect(),
                prefixes: rule
                    .repository_filters()
                    .iter()
                    .map(|f| f.filter().to_string())
                    .collect(),
            })
            .collect();
        Ok(ReplicationRules {
            registry_id: out.registry_id().unwrap_or_default().to_string(),
            rules,
        })
    }

    /// Each target's replication state of `digest` in `repository` (in this, the source
    /// region), in the order of `targets`: one `DescribeImageReplicationStatus`; a target ECR
    /// does not list yet is `PENDING`. The caller polls.
    pub async fn replication_statuses(
        &self,
        repository: &str,
        digest: &str,
        targets: &[ReplicationTarget],
    ) -> anyhow::Result<Vec<DestinationStatus>> {
        let out = self
            .client
            .describe_image_replication_status()
            .set_registry_id(self.registry_id.clone())
            .repository_name(repository)
            .image_id(ImageIdentifier::builder().image_digest(digest).build())
            .send()
            .await
            .map_err(|e| self.failure(repository, "DescribeImageReplicationStatus", &e))?;
        let reported = out.replication_statuses();
        Ok(targets
            .iter()
            .map(|target| {
                let found = reported.iter().find(|s| {
                    s.region() == Some(target.region.as_str())
                        && s.registry_id().is_none_or(|r| r == target.registry_id)
                });
                DestinationStatus {
                    target: target.clone(),
                    status: found
                        .and_then(|s| s.status())
                        .map_or("PENDING", |s| s.as_str())
                        .to_string(),
                    failure_code: found.and_then(|s| s.failure_code()).map(str::to_string),
                }
            })
            .collect())
    }
}

/// `eu-west-1 IN_PROGRESS, ap-south-1 COMPLETE`.
pub fn summarize_replication(statuses: &[DestinationStatus]) -> String {
    statuses
        .iter()
        .map(|s| format!("{} {}", s.target.region, s.status))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests;
