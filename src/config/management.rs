//! Inputs that manage the target repositories beyond creating them: lifecycle and repository
//! policies, whether existing repositories' settings may be changed, and how ECR replication is
//! treated: `RawInputs` → [`RepositoryManagement`], one field of `Config`.

use super::policy_input::{self, PolicyDocument};
use super::raw::RawInputs;
use crate::error::InputError;

/// What to keep in line on every target repository.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RepositoryManagement {
    pub lifecycle_policy: Option<PolicyDocument>,
    pub repository_policy: Option<PolicyDocument>,
    /// Which repository settings the user gave; only those are compared on existing
    /// repositories (a default never overrides what a repository has).
    pub explicit: ExplicitSettings,
    /// Change differing settings of existing repositories where ECR allows it in place.
    pub update_settings: bool,
    pub replication: ReplicationMode,
}

/// Settings inputs that were given explicitly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExplicitSettings {
    pub mutability: bool,
    pub scan_on_push: bool,
    pub encryption: bool,
    pub tags: bool,
}

impl ExplicitSettings {
    pub fn any(self) -> bool {
        self.mutability || self.scan_on_push || self.encryption || self.tags
    }
}

/// How ECR's own replication from the primary region is treated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ReplicationMode {
    /// Push to every region; replication is only mentioned in the plan.
    #[default]
    Ignore,
    /// Push only where replication does not reach; wait for and verify the replicated copies.
    SkipReplicated,
}

impl ReplicationMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ignore => "ignore",
            Self::SkipReplicated => "skip-replicated",
        }
    }
}

/// Validates the repository-management inputs.
pub fn resolve_management(raw: &RawInputs) -> Result<RepositoryManagement, InputError> {
    let replication = raw.choice(
        "replication",
        &[
            ("ignore", ReplicationMode::Ignore),
            ("skip-replicated", ReplicationMode::SkipReplicated),
        ],
    )?;
    Ok(RepositoryManagement {
        lifecycle_policy: raw
            .get("lifecycle-policy")
            .map(policy_input::lifecycle_policy)
            .transpose()?,
        repository_policy: raw
            .get("repository-policy")
            .map(policy_input::repository_policy)
            .transpose()?,
        explicit: ExplicitSettings {
            mutability: raw.get("image-tag-mutability").is_some()
                || raw.get("image-tag-mutability-exclusion-filters").is_some(),
            scan_on_push: raw.get("scan-on-push").is_some(),
            encryption: raw.get("encryption-type").is_some() || raw.get("kms-key").is_some(),
            tags: raw.get("repository-tags").is_some(),
        },
        update_settings: raw.bool("update-repository-settings", false)?,
        replication,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_given_means_nothing_managed() {
        let management = resolve_management(&RawInputs::from_pairs(&[])).unwrap();
        assert_eq!(management, RepositoryManagement::default());
        assert!(!management.explicit.any());
    }

    #[test]
    fn explicit_settings_are_recorded() {
        let management = resolve_management(&RawInputs::from_pairs(&[
            ("scan-on-push", "false"),
            ("kms-key", "alias/ecr"),
            ("update-repository-settings", "true"),
            ("replication", "skip-replicated"),
        ]))
        .unwrap();
        let explicit = management.explicit;
        assert!(explicit.scan_on_push && explicit.encryption);
        assert!(!explicit.mutability && !explicit.tags);
        assert!(management.update_settings);
        assert_eq!(management.replication, ReplicationMode::SkipReplicated);
    }

    #[test]
    fn bad_values_name_the_input() {
        let error =
            resolve_management(&RawInputs::from_pairs(&[("replication", "skip")])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid input `replication`: 'skip' is not valid; use ignore or skip-replicated"
        );
        let error = resolve_management(&RawInputs::from_pairs(&[(
            "update-repository-settings",
            "yes",
        )]));
        assert_eq!(error.unwrap_err().input, "update-repository-settings");
        let error = resolve_management(&RawInputs::from_pairs(&[(
            "lifecycle-policy",
            "{\"rules\": []}",
        )]));
        assert_eq!(error.unwrap_err().input, "lifecycle-policy");
        let error = resolve_management(&RawInputs::from_pairs(&[("repository-policy", "{")]));
        assert_eq!(error.unwrap_err().input, "repository-policy");
    }
}
