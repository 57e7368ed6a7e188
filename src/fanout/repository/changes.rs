//! What a run changes on a region's repository besides the image: settings that differ from
//! the inputs, lifecycle and repository policies, and whether ECR replication delivers the
//! image there. Plain data for the plan and the report, and the pure comparisons behind it.

use super::policy_diff::policy_diff;
use crate::config::management::RepositoryManagement;
use crate::config::policy_input::PolicyDocument;
use crate::config::{Encryption, RepositorySettings};
use crate::ecr::CurrentSettings;
use crate::report::{PolicyAction, PolicyChange, Setting, SettingAction, SettingChange};

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
mod tests;
