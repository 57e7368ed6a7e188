//! What happens to a destination's repository, and the setting, policy and replication
//! changes a run makes (or, in a dry run, would make) there.

use serde::Serialize;

/// What happens to a region's repository.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RepositoryAction {
    /// It exists; tag mutability and exclusion filters as ECR reports them.
    Exists {
        tag_mutability: String,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        exclusion_filters: Vec<String>,
    },
    /// It is missing and `create-repository` is true.
    Create,
    /// It is missing and may not be created: the run is refused.
    Missing,
    /// Not checked (dry run without AWS access).
    Unchecked,
}

/// One region's repository changes.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RepositoryChanges {
    /// Settings of an existing repository that differ from the inputs given.
    pub settings: Vec<SettingChange>,
    /// `None` when no `lifecycle-policy` was given.
    pub lifecycle_policy: Option<PolicyChange>,
    /// `None` when no `repository-policy` was given.
    pub repository_policy: Option<PolicyChange>,
    /// Set when ECR replication from the primary region reaches this region's repository.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replication: Option<ReplicationPlan>,
    /// The repository ARN, for `TagResource`.
    #[serde(skip)]
    pub arn: Option<String>,
}

/// A repository setting, named by its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Setting {
    #[serde(rename = "image-tag-mutability")]
    TagMutability,
    #[serde(rename = "scan-on-push")]
    ScanOnPush,
    #[serde(rename = "encryption-type")]
    Encryption,
    #[serde(rename = "repository-tags")]
    Tags,
}

impl Setting {
    pub fn input_name(self) -> &'static str {
        match self {
            Self::TagMutability => "image-tag-mutability",
            Self::ScanOnPush => "scan-on-push",
            Self::Encryption => "encryption-type",
            Self::Tags => "repository-tags",
        }
    }
}

/// What happens to a differing setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SettingAction {
    /// Changed in phase 1 (`update-repository-settings: true`).
    Update,
    /// Only reported (`update-repository-settings` is false).
    ReportOnly,
    /// ECR cannot change it without recreating the repository (encryption): a warning.
    CannotChange,
}

/// A setting that differs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SettingChange {
    pub setting: Setting,
    pub current: String,
    pub wanted: String,
    pub action: SettingAction,
}

/// What happens to a policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyAction {
    /// The repository has none (or is created): it is set.
    Create,
    /// It differs (as parsed JSON): it is replaced.
    Update,
    Unchanged,
}

/// A policy's plan with a short diff (`~ path: old → new`, `+ path`, `- path`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PolicyChange {
    pub action: PolicyAction,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub diff: Vec<String>,
}

/// What this run does in a region that ECR replication from the primary reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReplicationAction {
    /// Not pushed here (`replication: skip-replicated`, and the primary's push or tag move
    /// gives replication everything the region lacks): ECR's copy is awaited and verified.
    Replicated,
    /// Pushed here anyway: `replication: ignore`, or replication would not deliver everything
    /// the region lacks (`reason` says which).
    Push,
}

impl ReplicationAction {
    /// The word in the JSON report and the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Replicated => "replicated",
            Self::Push => "push",
        }
    }
}

display_as_word!(ReplicationAction);

/// How ECR replication from the primary region figures in this region.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReplicationPlan {
    /// The primary region whose replication rules reach this region.
    pub from: String,
    /// Whether this run pushes here or leaves it to replication.
    pub action: ReplicationAction,
    /// Why, in words.
    pub reason: String,
    /// The account whose registry in this region replication copies to.
    #[serde(skip)]
    pub registry_id: String,
    /// Tags whose replicated move is awaited after phase 2.
    #[serde(skip)]
    pub awaited_tags: Vec<String>,
    /// Whether the image itself must still arrive by replication.
    #[serde(skip)]
    pub awaits_image: bool,
}

impl RepositoryChanges {
    /// How many writes phase 1 makes for these changes.
    pub fn writes(&self) -> usize {
        let settings = self
            .settings
            .iter()
            .filter(|s| s.action == SettingAction::Update)
            .count();
        let policies = [&self.lifecycle_policy, &self.repository_policy]
            .into_iter()
            .flatten()
            .filter(|p| p.action != PolicyAction::Unchanged)
            .count();
        settings + policies
    }

    /// Whether this run leaves the image to ECR replication here.
    pub fn is_replicated(&self) -> bool {
        self.replication
            .as_ref()
            .is_some_and(|r| r.action == ReplicationAction::Replicated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::assert_words;

    #[test]
    fn replication_actions_serialise_to_their_words() {
        assert_words(&[
            (ReplicationAction::Replicated, "replicated"),
            (ReplicationAction::Push, "push"),
        ]);
    }
}
