//! Waiting for ECR replication (`replication: skip-replicated`). After phase 1 the run waits,
//! bounded and with progress lines, until ECR reports the image replicated to every region
//! that awaits it (verification then checks each copy like any other region); after phase 2 it
//! waits until those regions serve the moved tags.

use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use futures::future::join_all;
use tokio_util::sync::CancellationToken;

use crate::ecr::{DestinationStatus, ReplicationTarget, summarize_replication};
use crate::fanout::destination::Destination;
use crate::fanout::failures::{RegionFailure, grouped_message};
use crate::fanout::poll::{Poll, Wait, poll_until};
use crate::fanout::session::RegionSession;
use crate::image::LocalImage;
use crate::report::{ReplicationAction, ReplicationPlan};

/// How long replicated copies (and, after phase 2, replicated tags) are waited for.
pub const REPLICATION_WAIT: Wait = Wait {
    timeout: Duration::from_secs(30 * 60),
    interval: Duration::from_secs(10),
};

/// After phase 1: waits until ECR reports the image replicated to every region that awaits it.
pub async fn await_replicated_copies(
    image: &LocalImage,
    destinations: &mut [Destination],
    cancel: &CancellationToken,
) -> anyhow::Result<()> {
    let awaiting: Vec<ReplicationTarget> = destinations
        .iter()
        .filter_map(|d| Some((d, replication_of(d)?)))
        .filter(|(_, r)| r.awaits_image)
        .map(|(d, r)| ReplicationTarget {
            region: d.session.target.region.clone(),
            registry_id: r.registry_id.clone(),
        })
        .collect();
    let Some(primary) = destinations.first().filter(|_| !awaiting.is_empty()) else {
        return Ok(());
    };
    let (ecr, repository) = (&primary.session.ecr, &primary.session.target.repository);
    let digest = image.top.digest.as_str();
    let wait = poll_until(
        REPLICATION_WAIT,
        "ECR replication",
        || async {
            let statuses = ecr
                .replication_statuses(repository, digest, &awaiting)
                .await?;
            copies_state(&statuses, (repository, digest))
        },
        |pending| pending.to_string(),
        |pending, timeout| {
            anyhow!(
                "{}: ECR replication of {digest} did not complete within {timeout:?} \
                 ({pending})",
                primary.session.describe()
            )
        },
    );
    let waited = tokio::select! {
        waited = wait => waited,
        () = cancel.cancelled() => Err(anyhow!("cancelled while waiting for ECR replication")),
    };
    if let Err(e) = waited {
        for destination in destinations.iter_mut() {
            if replication_of(destination).is_some_and(|r| r.awaits_image) {
                destination.fail(&e);
            }
        }
        return Err(e.context(format!(
            "waiting for ECR replication of {}; no tag was moved in any region",
            image.top.digest
        )));
    }
    Ok(())
}

/// After phase 2: waits until each replicated region serves the moved tags at the image.
pub async fn await_replicated_tags(
    image: &LocalImage,
    destinations: &mut [Destination],
    cancel: &CancellationToken,
) -> anyhow::Result<()> {
    let waits = destinations.iter_mut().filter_map(|destination| {
        let tags = replication_of(destination)?.awaited_tags.clone();
        (!tags.is_empty()).then_some(async move {
            match await_tags(&destination.session, image, &tags).await {
                Ok(()) => {
                    destination.outcome.tags_moved = tags;
                    None
                }
                Err(e) => {
                    destination.fail(&e);
                    Some(RegionFailure::new(destination.id(), format!("{e:#}")))
                }
            }
        })
    });
    let failures: Vec<RegionFailure> = tokio::select! {
        results = join_all(waits) => results.into_iter().flatten().collect(),
        () = cancel.cancelled() => bail!(
            "cancelled while waiting for tags to arrive by ECR replication; the tags moved \
             everywhere else"
        ),
    };
    if failures.is_empty() {
        Ok(())
    } else {
        Err(anyhow!(grouped_message(
            &failures,
            "the tags moved everywhere else and a re-run completes the rest"
        )))
    }
}

/// The destination's replication plan when this run leaves the image to ECR replication.
fn replication_of(destination: &Destination) -> Option<&ReplicationPlan> {
    let replication = destination.plan.as_ref()?.changes.replication.as_ref()?;
    (replication.action == ReplicationAction::Replicated).then_some(replication)
}

async fn await_tags(
    session: &RegionSession,
    image: &LocalImage,
    tags: &[String],
) -> anyhow::Result<()> {
    let client = session.registry()?;
    let where_ = session.describe();
    let where_ = where_.as_str();
    poll_until(
        REPLICATION_WAIT,
        "ECR replication",
        || async {
            let mut pending = Vec::new();
            for tag in tags {
                let served = client
                    .get_manifest(tag)
                    .await
                    .with_context(|| format!("{where_}, tag {tag}: read the replicated tag"))?;
                if served.is_none_or(|m| m.digest != image.top.digest) {
                    pending.push(tag.as_str());
                }
            }
            Ok(if pending.is_empty() {
                Poll::Done
            } else {
                Poll::Waiting(pending.join(", "))
            })
        },
        |pending| format!("{where_}: waiting for tags {pending}"),
        |pending, timeout| {
            anyhow!("{where_}: tag {pending} did not arrive by ECR replication within {timeout:?}")
        },
    )
    .await
}

/// Where the replicated copies of `digest` in `repository` stand: done when every region is
/// `COMPLETE`; a `FAILED` region ends the wait at once, naming it.
fn copies_state(
    statuses: &[DestinationStatus],
    (repository, digest): (&str, &str),
) -> anyhow::Result<Poll> {
    if let Some(failed) = statuses.iter().find(|s| s.status == "FAILED") {
        bail!(
            "region {}, repository {repository}: ECR replication of {digest} to account {} \
             failed ({}); push there directly with replication: ignore",
            failed.target.region,
            failed.target.registry_id,
            failed.failure_code.as_deref().unwrap_or("no failure code")
        );
    }
    Ok(if statuses.iter().all(|s| s.status == "COMPLETE") {
        Poll::Done
    } else {
        Poll::Waiting(summarize_replication(statuses))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(region: &str, status: &str) -> DestinationStatus {
        DestinationStatus {
            target: ReplicationTarget {
                region: region.into(),
                registry_id: "123456789012".into(),
            },
            status: status.into(),
            failure_code: (status == "FAILED").then(|| "KMS_KEY_NOT_FOUND".into()),
        }
    }

    const WHAT: (&str, &str) = ("team/web", "sha256:1");

    #[test]
    fn copies_are_done_when_every_region_is_complete_and_fail_at_once_on_a_failure() {
        let waiting = copies_state(
            &[
                status("eu-west-1", "COMPLETE"),
                status("ap-south-1", "PENDING"),
            ],
            WHAT,
        );
        assert_eq!(
            waiting.unwrap(),
            Poll::Waiting("eu-west-1 COMPLETE, ap-south-1 PENDING".into())
        );
        let done = copies_state(&[status("eu-west-1", "COMPLETE")], WHAT);
        assert_eq!(done.unwrap(), Poll::Done);
        let failed = copies_state(
            &[
                status("eu-west-1", "IN_PROGRESS"),
                status("ap-south-1", "FAILED"),
            ],
            WHAT,
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            failed,
            "region ap-south-1, repository team/web: ECR replication of sha256:1 to account \
             123456789012 failed (KMS_KEY_NOT_FOUND); push there directly with replication: \
             ignore"
        );
    }
}
