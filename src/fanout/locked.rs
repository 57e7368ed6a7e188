//! Phase 2 and the convergence check, under the lease lock when `lock-table` is set: make sure
//! the table exists during the plan ([`prepare_lock`]); after verification take the lock on
//! every tag the run moves, re-read the tags and re-check immutability (the plan's reads are
//! stale by then), move the tags, wait for replication, check convergence, release. A lease
//! lost on the way stops further puts and fails the run (exit 1).

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use futures::future::join_all;
use tokio_util::sync::CancellationToken;

use super::destination::Destination;
use super::observed::in_phase;
use super::options::PhaseOptions;
use super::repository::plan::tag_rules_of;
use super::session::UNKNOWN_ACCOUNT;
use super::{Convergence, RunError, check_convergence, plan, replication, tag_all, tag_order};
use crate::config::lock::TagOrder;
use crate::error::PlanRefused;
use crate::image::LocalImage;
use crate::lock::{LockKey, LockTable, LockUnavailable};
use crate::observer::{LockEvent, Observer, Phase};

/// The lock table of a run that is not a dry run, once it exists: `None` without
/// `lock-table`, or when its region cannot be reached and `lock-on-unavailable: proceed`.
pub async fn prepare_lock(
    options: &PhaseOptions<'_>,
    aws: &SdkConfig,
    observer: &dyn Observer,
) -> anyhow::Result<Option<LockTable>> {
    let Some(lock) = options.lock.filter(|_| !options.dry_run) else {
        return Ok(None);
    };
    let table = LockTable::new(aws, lock);
    match table.prepare().await {
        Ok(()) => Ok(Some(table)),
        Err(e) => unavailable_or_fail(options, e, observer, "nothing was pushed or tagged"),
    }
}

/// `lock-on-unavailable` applied to `error`: `Ok(None)` (proceed without the lock, with a
/// warning) or the error, saying what `consequence` it had.
fn unavailable_or_fail<T>(
    options: &PhaseOptions<'_>,
    error: anyhow::Error,
    observer: &dyn Observer,
    consequence: &str,
) -> anyhow::Result<Option<T>> {
    let Some(unavailable) = error.downcast_ref::<LockUnavailable>() else {
        return Err(error.context(format!("{consequence} in any region")));
    };
    if options.lock_proceeds_when_unavailable() {
        observer.lock_changed(&LockEvent::Unavailable {
            reason: &unavailable.0,
        });
        return Ok(None);
    }
    Err(error.context(format!(
        "{consequence} in any region (hint: lock-on-unavailable: proceed moves the tags \
         without the lock when its region cannot be reached)"
    )))
}

/// Phase 2 (after `tag-order: newer` held back the tags a destination holds at a newer image),
/// the replication wait and the convergence check of the tags that moved, holding `lock` when
/// given.
pub async fn move_tags(
    options: &PhaseOptions<'_>,
    (image, observer): (&LocalImage, &dyn Observer),
    lock: Option<&LockTable>,
    destinations: &mut [Destination],
    cancel: &CancellationToken,
) -> Result<BTreeMap<String, Convergence>, RunError> {
    let Some(table) = lock else {
        return tags_and_convergence(options, (image, observer), destinations, cancel).await;
    };
    let keys = lock_keys(options.tags, destinations);
    let held = match table.acquire(keys, observer, cancel).await {
        Ok(held) => held,
        Err(e) => {
            unavailable_or_fail::<()>(options, e, observer, "no tag was moved")?;
            return tags_and_convergence(options, (image, observer), destinations, cancel).await;
        }
    };
    let moved = async {
        refresh_tags(options, image, destinations).await?;
        tags_and_convergence(options, (image, observer), destinations, held.stop()).await
    }
    .await;
    match (moved, held.release(observer).await) {
        (moved, Ok(())) => moved,
        (Ok(convergence), Err(lost)) => Err(RunError {
            error: lost,
            convergence,
        }),
        (Err(failed), Err(lost)) => Err(RunError {
            error: anyhow::anyhow!("{lost:#}; {:#}", failed.error),
            convergence: failed.convergence,
        }),
    }
}

/// Phase 2 in every destination, the tags ECR replication delivers, then every tag read once
/// more.
async fn tags_and_convergence(
    options: &PhaseOptions<'_>,
    (image, observer): (&LocalImage, &dyn Observer),
    destinations: &mut [Destination],
    stop: &CancellationToken,
) -> Result<BTreeMap<String, Convergence>, RunError> {
    let skipped = match options.tag_order {
        TagOrder::Any => Vec::new(),
        TagOrder::Newer => tag_order::hold_back_older(options.tags, image, destinations).await?,
    };
    let moving: Vec<String> = options
        .tags
        .iter()
        .filter(|tag| !skipped.contains(tag))
        .cloned()
        .collect();
    in_phase(observer, Phase::Tags, tag_all(image, destinations, stop)).await?;
    in_phase(
        observer,
        Phase::ReplicationWait,
        replication::wait::await_replicated_tags(image, destinations, stop),
    )
    .await?;
    let convergence = in_phase(
        observer,
        Phase::Convergence,
        check_convergence(&moving, image, destinations),
    )
    .await?;
    Ok(convergence)
}

/// One item per (registry id, repository, tag) the run moves.
fn lock_keys(tags: &[String], destinations: &[Destination]) -> Vec<LockKey> {
    destinations
        .iter()
        .flat_map(|d| {
            let registry_id = d
                .session
                .account()
                .unwrap_or_else(|| UNKNOWN_ACCOUNT.to_string());
            tags.iter().map(move |tag| LockKey {
                registry_id: registry_id.clone(),
                repository: d.session.target.repository.clone(),
                tag: tag.clone(),
            })
        })
        .collect()
}

/// Reads every destination's tags again under the lock, and refuses (exit 2, nothing tagged)
/// when one that ECR keeps immutable now points at another image.
async fn refresh_tags(
    options: &PhaseOptions<'_>,
    image: &LocalImage,
    destinations: &mut [Destination],
) -> anyhow::Result<()> {
    let ours = &image.top.digest;
    let reads = destinations
        .iter_mut()
        .filter(|d| !d.failed())
        .filter_map(|d| Some((&d.session, d.plan.as_mut()?)))
        .map(|(session, region_plan)| async move {
            region_plan.tags = plan::read_tags(session, options.tags, ours).await?;
            let rules = tag_rules_of(&region_plan.repository)
                .unwrap_or_else(|| options.plan.repository.tag_rules.clone());
            let conflict =
                plan::immutable_conflict(&region_plan.tags, &rules, &session.describe(), ours);
            anyhow::Ok(conflict)
        });
    let conflicts = join_all(reads)
        .await
        .into_iter()
        .collect::<anyhow::Result<Vec<_>>>()?;
    let conflicts: Vec<String> = conflicts.into_iter().flatten().collect();
    if conflicts.is_empty() {
        return Ok(());
    }
    Err(PlanRefused(format!(
        "{} (read again under the lock); no tag was moved in any region",
        conflicts.join("; ")
    ))
    .into())
}
