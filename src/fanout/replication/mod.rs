//! ECR replication, in one place. In the plan (here): after every region was planned, the
//! registry's replication rules (read in the primary region) mark the targets they reach.
//! With `replication: skip-replicated` such a region gets no blob, manifest or tag from this
//! run; with `ignore` (the default) the plan only says so and every region is pushed. The
//! waits for what replication delivers are in `wait`, around one polling loop.

pub mod wait;

use anyhow::bail;
use tracing::{info, warn};

use crate::config::Target;
use crate::config::management::ReplicationMode;
use crate::ecr::{EcrRegion, ReplicationRules, ReplicationTarget};
use crate::fanout::destination::Destination;
use crate::fanout::plan::RegionPlan;
use crate::report::TagAction;
use crate::report::{ReplicationAction, ReplicationPlan};

/// The primary region's replication rules, looked up while the regions are planned (one
/// `DescribeRegistry`, concurrent with the plan rather than after it). `None` when nothing
/// needs them: a single region, or no AWS access.
pub fn lookup_rules(
    destinations: &[Destination],
    no_aws_access: bool,
) -> impl Future<Output = Option<anyhow::Result<ReplicationRules>>> + use<> {
    let primary = (destinations.len() > 1 && !no_aws_access)
        .then(|| destinations.first())
        .flatten()
        .map(|d| (d.session.ecr.clone(), d.session.target.clone()));
    async move {
        let (ecr, target) = primary?;
        Some(read_rules(&ecr, &target).await)
    }
}

/// Marks every planned region the replication rules (from [`lookup_rules`]) reach. With
/// `skip-replicated`, such a region's plan is left to replication: phase 1 and 2 send it
/// nothing ([`RegionPlan::left_to_replication`]).
pub fn mark_replicated(
    mode: ReplicationMode,
    destinations: &mut [Destination],
    rules: Option<anyhow::Result<ReplicationRules>>,
) -> anyhow::Result<()> {
    let Some((primary, others)) = destinations.split_first_mut() else {
        return Ok(());
    };
    let Some(rules) = rules else {
        return Ok(());
    };
    let Some(primary_plan) = primary.plan.as_mut() else {
        return Ok(());
    };
    if others.is_empty() || primary.session.login.is_none() {
        return Ok(());
    }
    let rules = match rules {
        Ok(rules) => rules,
        Err(e) if mode == ReplicationMode::Ignore => {
            warn!("{e:#}; the plan does not show replication");
            primary_plan
                .unchecked
                .push(format!("ECR replication ({e:#})"));
            return Ok(());
        }
        Err(e) => {
            return Err(e.context(
                "replication: skip-replicated needs the registry's replication configuration",
            ));
        }
    };
    let source = Source::of(&primary.session.target, primary_plan);
    for destination in others.iter_mut() {
        let target = &destination.session.target;
        let Some(plan) = destination.plan.as_mut() else {
            continue;
        };
        let reached = ReplicationTarget {
            region: target.region.clone(),
            registry_id: (target.registry_id.clone()).unwrap_or_else(|| rules.registry_id.clone()),
        };
        if target.repository != source.repository || !rules.reaches(&source.repository, &reached) {
            continue;
        }
        let replication = decide(mode, &source, Replica::of(plan, reached.registry_id));
        info!(region = %reached.region, from = %source.region, action = replication.action.as_str(),
              "ECR replication reaches this region: {}", replication.reason);
        plan.changes.replication = Some(replication);
    }
    Ok(())
}

/// `DescribeRegistry` describes the caller's own registry; another account's cannot be read.
async fn read_rules(ecr: &EcrRegion, primary: &Target) -> anyhow::Result<ReplicationRules> {
    let rules = ecr.replication_rules().await?;
    match &primary.registry_id {
        Some(account) if *account != rules.registry_id => bail!(
            "region {}: the replication configuration of account {account} cannot be read \
             (DescribeRegistry describes only the caller's registry, {})",
            primary.region,
            rules.registry_id
        ),
        _ => Ok(rules),
    }
}

/// What the primary region does in this run.
struct Source {
    region: String,
    repository: String,
    /// Phase 1 puts the image there: a push event that replication copies.
    pushes_image: bool,
    /// Phase 2 moves a tag there: a push event that replication copies.
    moves_tags: bool,
}

impl Source {
    fn of(target: &Target, primary: &RegionPlan) -> Self {
        Self {
            region: target.region.clone(),
            repository: target.repository.clone(),
            pushes_image: !primary.missing_manifests.is_empty(),
            moves_tags: primary
                .tags
                .iter()
                .any(|t| t.action != TagAction::Unchanged),
        }
    }
}

/// What a region replication reaches still lacks.
struct Replica {
    registry_id: String,
    lacks_image: bool,
    /// Tags that do not point at the image there yet.
    pending_tags: Vec<String>,
}

impl Replica {
    fn of(plan: &RegionPlan, registry_id: String) -> Self {
        Self {
            registry_id,
            lacks_image: !plan.missing_manifests.is_empty(),
            pending_tags: (plan.tags.iter())
                .filter(|t| t.action != TagAction::Unchanged)
                .map(|t| t.tag.clone())
                .collect(),
        }
    }
}

/// Replication only copies what is pushed to the source during this run; anything else the
/// region lacks is pushed directly.
fn decide(mode: ReplicationMode, source: &Source, replica: Replica) -> ReplicationPlan {
    let Replica {
        registry_id,
        lacks_image,
        pending_tags,
    } = replica;
    let push = |reason: String| ReplicationPlan {
        from: source.region.clone(),
        action: ReplicationAction::Push,
        reason,
        registry_id: registry_id.clone(),
        awaited_tags: Vec::new(),
        awaits_image: false,
    };
    if mode == ReplicationMode::Ignore {
        return push(format!(
            "replication from {} also copies the image here; pushed anyway (replication: ignore)",
            source.region
        ));
    }
    if lacks_image && !source.pushes_image {
        return push(format!(
            "{} already holds the image, so nothing is pushed there for replication to copy",
            source.region
        ));
    }
    if !pending_tags.is_empty() && !source.moves_tags {
        return push(format!(
            "no tag moves in {}, so replication would not move {} here",
            source.region,
            pending_tags.join(", ")
        ));
    }
    ReplicationPlan {
        from: source.region.clone(),
        action: ReplicationAction::Replicated,
        reason: format!(
            "replication from {} delivers the image; this run waits for it and verifies it",
            source.region
        ),
        registry_id,
        awaited_tags: pending_tags,
        awaits_image: lacks_image,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(pushes_image: bool, moves_tags: bool) -> Source {
        Source {
            region: "us-east-1".into(),
            repository: "team/web".into(),
            pushes_image,
            moves_tags,
        }
    }

    fn replica(lacks_image: bool, pending_tags: &[&str]) -> Replica {
        Replica {
            registry_id: "123456789012".into(),
            lacks_image,
            pending_tags: pending_tags.iter().map(|t| t.to_string()).collect(),
        }
    }

    #[test]
    fn ignore_always_pushes() {
        let plan = decide(
            ReplicationMode::Ignore,
            &source(true, true),
            replica(true, &["v1"]),
        );
        assert_eq!(plan.action, ReplicationAction::Push);
        assert!(
            plan.reason.contains("replication: ignore"),
            "{}",
            plan.reason
        );
    }

    #[test]
    fn skip_replicated_waits_for_what_this_run_pushes_to_the_source() {
        let plan = decide(
            ReplicationMode::SkipReplicated,
            &source(true, true),
            replica(true, &["v1", "latest"]),
        );
        assert_eq!(plan.action, ReplicationAction::Replicated);
        assert!(plan.awaits_image);
        assert_eq!(plan.awaited_tags, ["v1", "latest"]);
        let nothing_missing = decide(
            ReplicationMode::SkipReplicated,
            &source(false, false),
            replica(false, &[]),
        );
        assert_eq!(nothing_missing.action, ReplicationAction::Replicated);
        assert!(!nothing_missing.awaits_image && nothing_missing.awaited_tags.is_empty());
    }

    #[test]
    fn what_replication_will_not_copy_is_pushed_directly() {
        let image_already_in_source = decide(
            ReplicationMode::SkipReplicated,
            &source(false, true),
            replica(true, &["v1"]),
        );
        assert_eq!(image_already_in_source.action, ReplicationAction::Push);
        assert!(
            image_already_in_source
                .reason
                .contains("us-east-1 already holds the image"),
            "{}",
            image_already_in_source.reason
        );
        let tags_already_in_source = decide(
            ReplicationMode::SkipReplicated,
            &source(true, false),
            replica(true, &["v1"]),
        );
        assert_eq!(tags_already_in_source.action, ReplicationAction::Push);
        assert!(
            tags_already_in_source
                .reason
                .contains("would not move v1 here"),
            "{}",
            tags_already_in_source.reason
        );
    }
}
