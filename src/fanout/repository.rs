//! The repository plan's checks and writes (the plan itself, reads only, is
//! `repository_plan`). After every region was planned: refuse a mutability change that would
//! make a planned tag move immutable, and mark where ECR replication delivers the image. In
//! phase 1 (never in a dry run, only once every region's plan succeeded, before any tag
//! moves): make the planned changes.

use tracing::info;

use super::plan::{RegionPlan, TagAction};
use super::replication::mark_replicated;
use super::report::RegionReport;
use super::repository_changes::{PolicyAction, RepositoryChanges, Setting, SettingAction};
use super::session::RegionSession;
use crate::config::{Config, TagRules};
use crate::ecr::ReplicationRules;

/// After every region's plan: checks that need the whole plan, and replication.
pub fn after_plan(
    config: &Config,
    plans: &mut [RegionPlan],
    reports: &mut [RegionReport],
    replication_rules: Option<anyhow::Result<ReplicationRules>>,
) -> anyhow::Result<()> {
    let management = &config.management;
    let manages = management.lifecycle_policy.is_some()
        || management.repository_policy.is_some()
        || management.explicit.any();
    for (plan, report) in plans.iter_mut().zip(reports.iter_mut()) {
        refuse_tag_moves_into_immutable(plan, &config.repository_settings.tag_rules);
        if plan.session.login.is_none() && manages {
            report
                .unchecked
                .push("repository settings and policies (no AWS access)".to_string());
        }
    }
    mark_replicated(config, plans, reports, replication_rules)
}

/// A change of tag mutability happens in phase 1, so a tag that phase 2 would move must be
/// mutable under the new rules too: refuse now, before anything is written.
fn refuse_tag_moves_into_immutable(plan: &mut RegionPlan, wanted: &TagRules) {
    let changes_rules = plan
        .changes
        .settings
        .iter()
        .any(|s| s.setting == Setting::TagMutability && s.action == SettingAction::Update);
    if !changes_rules || plan.refusal.is_some() {
        return;
    }
    let moving: Vec<&str> = plan
        .tags
        .iter()
        .filter(|t| t.action == TagAction::Move && wanted.decide(&t.tag).immutable)
        .map(|t| t.tag.as_str())
        .collect();
    if !moving.is_empty() {
        plan.refusal = Some(format!(
            "{}: this run would set the repository's tag mutability to {wanted} before moving \
             tag {}, which it makes immutable (hint: move the tags in one run, then change the \
             setting, or use new tags)",
            plan.session.describe(),
            moving.join(", ")
        ));
    }
}

/// Phase 1: makes the planned setting and policy changes. Returns how many writes it made.
pub async fn apply_changes(
    session: &RegionSession,
    changes: &RepositoryChanges,
    config: &Config,
) -> anyhow::Result<usize> {
    let ecr = &session.ecr;
    let repository = &session.target.repository;
    let wanted = &config.repository_settings;
    let mut writes = 0;
    for change in &changes.settings {
        if change.action != SettingAction::Update {
            continue;
        }
        match change.setting {
            Setting::TagMutability => {
                ecr.put_tag_mutability(repository, &wanted.tag_rules)
                    .await?
            }
            Setting::ScanOnPush => {
                ecr.put_scan_on_push(repository, wanted.scan_on_push)
                    .await?
            }
            Setting::Tags => {
                let arn = changes.arn.as_deref().unwrap_or_default();
                ecr.tag_repository(repository, arn, &wanted.tags).await?;
            }
            Setting::Encryption => continue,
        }
        info!(region = %session.target.region, repository = %repository,
              setting = change.setting.input_name(), from = %change.current,
              to = %change.wanted, "repository setting updated");
        writes += 1;
    }
    let management = &config.management;
    if let (Some(change), Some(policy)) = (&changes.lifecycle_policy, &management.lifecycle_policy)
        && change.action != PolicyAction::Unchanged
    {
        ecr.put_lifecycle_policy(repository, &policy.text).await?;
        info!(region = %session.target.region, repository = %repository, "lifecycle policy set");
        writes += 1;
    }
    if let (Some(change), Some(policy)) =
        (&changes.repository_policy, &management.repository_policy)
        && change.action != PolicyAction::Unchanged
    {
        ecr.set_repository_policy(repository, &policy.text).await?;
        info!(region = %session.target.region, repository = %repository, "repository policy set");
        writes += 1;
    }
    Ok(writes)
}
