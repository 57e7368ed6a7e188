//! What a run changes on a region's repository besides the image: settings that differ from
//! the inputs, lifecycle and repository policies, and whether ECR replication delivers the
//! image there. Plain data for the plan and the report, and the pure comparisons behind it.

use serde::Serialize;

use super::policy_diff::policy_diff;
use crate::config::management::RepositoryManagement;
use crate::config::policy_input::PolicyDocument;
use crate::config::{Encryption, RepositorySettings};
use crate::ecr::CurrentSettings;

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

impl std::fmt::Display for ReplicationAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

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

/// Compares an existing repository with the settings given explicitly.
pub fn compare_settings(
    current: &CurrentSettings,
    wanted: &RepositorySettings,
    management: &RepositoryManagement,
) -> Vec<SettingChange> {
    let explicit = management.explicit;
    let changeable = if management.update_settings {
        SettingAction::Update
    } else {
        SettingAction::ReportOnly
    };
    let mut changes = Vec::new();
    let mut differs = |setting, current: String, wanted: String, action| {
        changes.push(SettingChange {
            setting,
            current,
            wanted,
            action,
        });
    };
    if explicit.mutability && !current.tag_rules.same_as(&wanted.tag_rules) {
        let (now, then) = (current.tag_rules.to_string(), wanted.tag_rules.to_string());
        differs(Setting::TagMutability, now, then, changeable);
    }
    if explicit.scan_on_push && current.scan_on_push != wanted.scan_on_push {
        let (now, then) = (
            current.scan_on_push.to_string(),
            wanted.scan_on_push.to_string(),
        );
        differs(Setting::ScanOnPush, now, then, changeable);
    }
    if explicit.encryption && !encryption_matches(current, &wanted.encryption) {
        let now = describe_current_encryption(current);
        let then = describe_encryption(&wanted.encryption);
        differs(Setting::Encryption, now, then, SettingAction::CannotChange);
    }
    if explicit.tags {
        let have = current.tags.as_deref().unwrap_or_default();
        let missing: Vec<&(String, String)> = wanted
            .tags
            .iter()
            .filter(|pair| !have.contains(pair))
            .collect();
        if !missing.is_empty() {
            let now = missing
                .iter()
                .map(|(key, _)| match have.iter().find(|(k, _)| k == key) {
                    Some((_, value)) => format!("{key}={value}"),
                    None => format!("{key} unset"),
                })
                .collect::<Vec<_>>()
                .join(", ");
            let then = missing
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ");
            differs(Setting::Tags, now, then, changeable);
        }
    }
    changes
}

/// Compares a policy in ECR (`None`: there is none) with the input, as parsed JSON.
pub fn compare_policy(current: Option<&str>, wanted: &PolicyDocument) -> PolicyChange {
    let Some(text) = current else {
        return PolicyChange {
            action: PolicyAction::Create,
            diff: Vec::new(),
        };
    };
    let diff = match serde_json::from_str(text) {
        Ok(parsed) => policy_diff(&parsed, &wanted.json),
        Err(_) => vec!["~ (document): the current policy is not valid JSON".to_string()],
    };
    PolicyChange {
        action: if diff.is_empty() {
            PolicyAction::Unchanged
        } else {
            PolicyAction::Update
        },
        diff,
    }
}

/// A policy for a repository this run creates.
pub fn new_policy() -> PolicyChange {
    PolicyChange {
        action: PolicyAction::Create,
        diff: Vec::new(),
    }
}

/// Type must match; a key is compared when given as an ARN or key id (an alias cannot be
/// resolved without KMS, so it is taken as matching).
fn encryption_matches(current: &CurrentSettings, wanted: &Encryption) -> bool {
    let (kind, key) = encryption_parts(wanted);
    if current.encryption_type != kind {
        return false;
    }
    match (key, current.kms_key.as_deref()) {
        (None, _) => true,
        (Some(alias), _) if alias.starts_with("alias/") => true,
        (Some(key), Some(now)) => now == key || now.ends_with(&format!("/{key}")),
        (Some(_), None) => false,
    }
}

fn encryption_parts(encryption: &Encryption) -> (&'static str, Option<&str>) {
    match encryption {
        Encryption::Aes256 => ("AES256", None),
        Encryption::Kms { key } => ("KMS", key.as_deref()),
        Encryption::KmsDsse { key } => ("KMS_DSSE", key.as_deref()),
    }
}

fn describe_encryption(encryption: &Encryption) -> String {
    match encryption_parts(encryption) {
        (kind, Some(key)) => format!("{kind} {key}"),
        (kind, None) => kind.to_string(),
    }
}

fn describe_current_encryption(current: &CurrentSettings) -> String {
    match &current.kms_key {
        Some(key) => format!("{} {key}", current.encryption_type),
        None => current.encryption_type.clone(),
    }
}

#[cfg(test)]
#[path = "changes_tests.rs"]
mod tests;
