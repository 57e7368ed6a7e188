//! After every destination was planned: the checks that need the whole plan. Refuse a
//! mutability change that would make a planned tag move immutable, note what could not be
//! checked, mark where ECR replication delivers the image (`replication`), warn where a
//! lifecycle rule counts the referrers that travel, and refuse the run when any destination
//! refused.

use super::destination::Destination;
use super::failures::{RegionFailure, grouped_message};
use super::options::PhaseOptions;
use super::plan::RegionPlan;
use super::replication::mark_replicated;
use crate::config::TagRules;
use crate::ecr::ReplicationRules;
use crate::error::PlanRefused;
use crate::image::LocalImage;
use crate::report::TagAction;
use crate::report::{Setting, SettingAction};
use tracing::warn;

/// After every region's plan: checks that need the whole plan, and replication.
pub fn after_plan(
    options: &PhaseOptions<'_>,
    destinations: &mut [Destination],
    replication_rules: Option<anyhow::Result<ReplicationRules>>,
) -> anyhow::Result<()> {
    let manages = options.manages_repositories();
    for destination in destinations.iter_mut() {
        let logged_in = destination.session.login.is_some();
        let where_ = destination.session.describe();
        let Some(plan) = &mut destination.plan else {
            continue;
        };
        refuse_tag_moves_into_immutable(plan, &where_, &options.plan.repository.tag_rules);
        let manages_here = manages
            || destination.session.target.lifecycle_policy.is_some()
            || destination.session.target.repository_policy.is_some();
        if !logged_in && manages_here {
            plan.unchecked
                .push("repository settings and policies (no AWS access)".to_string());
        }
    }
    mark_replicated(
        options.plan.management.replication,
        destinations,
        replication_rules,
    )
}

/// ECR counts referrers (signatures, SBOMs) as images: a lifecycle rule that keeps the newest N
/// images (`imageCountMoreThan`) keeps fewer real images once referrers travel. Warns once,
/// naming the destinations whose policy has such a rule.
pub fn warn_counted_referrers(
    options: &PhaseOptions<'_>,
    image: &LocalImage,
    destinations: &[Destination],
) {
    if image.referrers.is_empty() {
        return;
    }
    let counting: Vec<&str> = destinations
        .iter()
        .filter(|d| {
            d.session
                .target
                .lifecycle_policy
                .as_ref()
                .or(options.plan.management.lifecycle_policy.as_ref())
                .is_some_and(|p| p.text.contains("imageCountMoreThan"))
        })
        .map(Destination::id)
        .collect();
    if !counting.is_empty() {
        warn!(
            "the lifecycle policy of {} counts images (imageCountMoreThan), and ECR counts the              {} referrer(s) travelling with this image (signatures, SBOMs) as images too: the              rule keeps fewer images than its count",
            counting.join(", "),
            image.referrers.len()
        );
    }
}

/// A change of tag mutability happens in phase 1, so a tag that phase 2 would move must be
/// mutable under the new rules too: refuse now, before anything is written.
fn refuse_tag_moves_into_immutable(plan: &mut RegionPlan, where_: &str, wanted: &TagRules) {
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
            "{where_}: this run would set the repository's tag mutability to {wanted} before \
             moving tag {}, which it makes immutable (hint: move the tags in one run, then \
             change the setting, or use new tags)",
            moving.join(", ")
        ));
    }
}

/// Refuses the run when any region refused; every region's reason is listed, grouped by cause.
pub fn refusals(destinations: &[Destination]) -> Result<(), PlanRefused> {
    let refused: Vec<RegionFailure> = destinations
        .iter()
        .filter_map(|d| {
            let reason = d.plan.as_ref()?.refusal.as_deref()?;
            Some(RegionFailure::new(d.id(), reason))
        })
        .collect();
    if refused.is_empty() {
        Ok(())
    } else {
        Err(PlanRefused(grouped_message(
            &refused,
            "nothing was pushed or tagged in any region",
        )))
    }
}
