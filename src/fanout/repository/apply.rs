//! Phase 1's repository writes (never in a dry run, only once every region's plan succeeded,
//! before any tag moves): the setting and policy changes the plan found (`plan`).

use tracing::info;

use super::Wanted;
use crate::fanout::options::UploadOptions;
use crate::fanout::session::RegionSession;
use crate::report::{PolicyAction, RepositoryChanges, Setting, SettingAction};

/// Phase 1: makes the planned setting and policy changes. Returns how many writes it made.
pub async fn apply_changes(
    session: &RegionSession,
    changes: &RepositoryChanges,
    options: &UploadOptions<'_>,
) -> anyhow::Result<usize> {
    let ecr = &session.ecr;
    let repository = &session.target.repository;
    let wanted = Wanted::at(&session.target, options.repository, options.management);
    let mut writes = 0;
    for change in &changes.settings {
        if change.action != SettingAction::Update {
            continue;
        }
        match change.setting {
            Setting::TagMutability => {
                ecr.put_tag_mutability(repository, &wanted.settings.tag_rules)
                    .await?
            }
            Setting::ScanOnPush => {
                ecr.put_scan_on_push(repository, wanted.settings.scan_on_push)
                    .await?
            }
            Setting::Tags => {
                let arn = changes.arn.as_deref().unwrap_or_default();
                ecr.tag_repository(repository, arn, &wanted.settings.tags)
                    .await?;
            }
            Setting::Encryption => continue,
        }
        info!(region = %session.target.region, repository = %repository,
              setting = change.setting.input_name(), from = %change.current,
              to = %change.wanted, "repository setting updated");
        writes += 1;
    }
    if let (Some(change), Some(policy)) = (&changes.lifecycle_policy, wanted.lifecycle_policy)
        && change.action != PolicyAction::Unchanged
    {
        ecr.put_lifecycle_policy(repository, &policy.text).await?;
        info!(region = %session.target.region, repository = %repository, "lifecycle policy set");
        writes += 1;
    }
    if let (Some(change), Some(policy)) = (&changes.repository_policy, wanted.repository_policy)
        && change.action != PolicyAction::Unchanged
    {
        ecr.set_repository_policy(repository, &policy.text).await?;
        info!(region = %session.target.region, repository = %repository, "repository policy set");
        writes += 1;
    }
    Ok(writes)
}
