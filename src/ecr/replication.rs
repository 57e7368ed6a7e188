//! ECR's own replication: which regions the registry's replication rules copy a repository to
//! (`DescribeRegistry`, read in the primary region), and a bounded wait, with progress, until
//! an image pushed there has reached those regions (`DescribeImageReplicationStatus`).
//!
//! Replication keeps the repository name, so a rule reaches a target only when the target's
//! repository has the primary's name, its region and account are a rule destination, and the
//! rule has no repository filter or a `PREFIX_MATCH` filter the name starts with.

use std::time::Duration;

use anyhow::{anyhow, bail};
use aws_sdk_ecr::types::ImageIdentifier;
use tokio::time::Instant;

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

/// How long to wait for replicated copies, and how often to ask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplicationWait {
    pub timeout: Duration,
    pub interval: Duration,
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
                "region {}: ECR DescribeRegistry failed: {}",
                self.region,
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

    /// Polls until `digest` in `repository` (in this, the source region) is replicated to every
    /// target. `on_progress` sees every poll's statuses and the time waited. A `FAILED`
    /// destination or the timeout ends the wait with an error naming each destination's state.
    pub async fn wait_for_replication(
        &self,
        repository: &str,
        digest: &str,
        targets: &[ReplicationTarget],
        wait: ReplicationWait,
        mut on_progress: impl FnMut(&[DestinationStatus], Duration),
    ) -> anyhow::Result<Vec<DestinationStatus>> {
        let started = Instant::now();
        loop {
            let statuses = self
                .replication_statuses(repository, digest, targets)
                .await?;
            let waited = started.elapsed();
            on_progress(&statuses, waited);
            if let Some(failed) = statuses.iter().find(|s| s.status == "FAILED") {
                bail!(
                    "region {}, repository {repository}: ECR replication of {digest} to {} \
                     failed ({}); push there directly with replication: ignore",
                    failed.target.region,
                    failed.target.registry_id,
                    failed.failure_code.as_deref().unwrap_or("no failure code")
                );
            }
            if statuses.iter().all(|s| s.status == "COMPLETE") {
                return Ok(statuses);
            }
            if waited + wait.interval > wait.timeout {
                bail!(
                    "region {}, repository {repository}: ECR replication of {digest} did not \
                     complete within {:?} ({})",
                    self.region,
                    wait.timeout,
                    summarize_replication(&statuses)
                );
            }
            tokio::time::sleep(wait.interval).await;
        }
    }

    async fn replication_statuses(
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
#[path = "replication_tests.rs"]
mod tests;
