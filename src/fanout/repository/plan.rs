//! The per-region repository plan, reads only: what happens to the repository
//! ([`RepositoryAction`]), and how its explicitly requested settings and its lifecycle and
//! repository policies compare with the inputs ([`plan_changes`]). `repository` makes the
//! changes later; `plan` asks for this plan while it plans the region.

use tracing::warn;

use super::Wanted;
use super::changes::{compare_policy, compare_settings, new_policy};
use crate::config::TagRules;
use crate::ecr::RepositoryInfo;
use crate::fanout::options::PlanOptions;
use crate::fanout::session::RegionSession;
use crate::report::{RepositoryAction, RepositoryChanges, SettingAction};

/// An existing repository as ECR describes it.
pub fn existing(info: &RepositoryInfo) -> RepositoryAction {
    RepositoryAction::Exists {
        tag_mutability: info.tag_mutability.clone(),
        exclusion_filters: info.exclusion_filters.clone(),
    }
}

/// The tag rules of an existing repository.
pub fn tag_rules_of(action: &RepositoryAction) -> Option<TagRules> {
    match action {
        RepositoryAction::Exists {
            tag_mutability,
            exclusion_filters,
        } => Some(TagRules::from_ecr(
            tag_mutability,
            exclusion_filters.clone(),
        )),
        _ => None,
    }
}

/// Reads what the inputs manage on this region's repository and compares it with them.
pub async fn plan_changes(
    session: &RegionSession,
    options: &PlanOptions<'_>,
    action: &RepositoryAction,
) -> anyhow::Result<RepositoryChanges> {
    let management = options.management;
    let wanted = Wanted::at(&session.target, options.repository, management);
    let repository = &session.target.repository;
    let mut changes = RepositoryChanges::default();
    match action {
        RepositoryAction::Create => {
            changes.lifecycle_policy = wanted.lifecycle_policy.map(|_| new_policy());
            changes.repository_policy = wanted.repository_policy.map(|_| new_policy());
        }
        RepositoryAction::Exists { .. } => {
            if management.explicit.any() {
                let current = session
                    .ecr
                    .repository_settings(repository, management.explicit.tags)
                    .await?;
                changes.settings = compare_settings(&current, &wanted.settings, management);
                changes.arn = Some(current.arn);
            }
            if let Some(policy) = wanted.lifecycle_policy {
                let current = session.ecr.lifecycle_policy(repository).await?;
                changes.lifecycle_policy = Some(compare_policy(current.as_deref(), policy));
            }
            if let Some(policy) = wanted.repository_policy {
                let current = session.ecr.repository_policy(repository).await?;
                changes.repository_policy = Some(compare_policy(current.as_deref(), policy));
            }
        }
        RepositoryAction::Missing | RepositoryAction::Unchecked => {}
    }
    for change in &changes.settings {
        let hint = match change.action {
            SettingAction::Update => continue,
            SettingAction::ReportOnly => "set update-repository-settings: true to change it",
            SettingAction::CannotChange => "ECR cannot change it without recreating the repository",
        };
        warn!(region = %session.target.region, repository = %repository,
              setting = change.setting.input_name(), current = %change.current,
              wanted = %change.wanted, "repository setting differs ({hint})");
    }
    Ok(changes)
}
