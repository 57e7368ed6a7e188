//! The wait for ECR managed signing: after phase 1 (and any replication wait), before
//! verification and the tags, each destination whose registry signs the image is asked, every
//! 2 seconds and within `signing-timeout`, until every matching profile's signature of the
//! image is complete there. A failed signing or the timeout fails the run with no tag moved;
//! the signature ECR made is then listed by verification as the destination's own referrer.

use std::cell::Cell;
use std::time::Duration;

use anyhow::anyhow;
use futures::future::join_all;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::destination::Destination;
use super::poll::{Poll, Wait, poll_until};
use super::session::RegionSession;
use super::signing::SigningPlan;
use crate::ecr::SigningProgress;
use crate::image::LocalImage;
use crate::report::{SigningReport, SigningState};

/// How often a signing status is read while waiting.
const SIGNING_POLL: Duration = Duration::from_secs(2);

/// Warns once, listing the destinations, for each reason a signing configuration could not be
/// read.
pub fn warn_unreadable(destinations: &[Destination]) {
    let mut reasons: Vec<(&str, Vec<&str>)> = Vec::new();
    for destination in destinations {
        let Some(SigningPlan::Unknown(why)) = destination.plan.as_ref().map(|p| &p.signing) else {
            continue;
        };
        match reasons.iter_mut().find(|(w, _)| *w == why.as_str()) {
            Some((_, ids)) => ids.push(destination.id()),
            None => reasons.push((why.as_str(), vec![destination.id()])),
        }
    }
    for (why, ids) in reasons {
        warn!(
            "cannot tell whether ECR managed signing signs the image in {} ({why}); if it does, \
             the tags may move before ECR's signature exists there",
            ids.join(", ")
        );
    }
}

/// Waits in every destination whose registry signs the image until each profile's signature
/// exists; records each wait's end in the destination's record. The failures, by destination;
/// an error of its own when `cancel` stops the wait.
pub async fn await_signatures(
    image: &LocalImage,
    destinations: &mut [Destination],
    timeout: Duration,
    cancel: &CancellationToken,
) -> anyhow::Result<Vec<(String, anyhow::Error)>> {
    let digest = image.top.digest.as_str();
    let waits = destinations
        .iter_mut()
        .filter(|d| !d.failed())
        .filter_map(|d| {
            let Some(SigningPlan::Signs(profiles)) = d.plan.as_ref().map(|p| p.signing.clone())
            else {
                return None;
            };
            Some(async move {
                let (state, detail, result) =
                    await_one(&d.session, digest, &profiles, timeout).await;
                d.outcome.signing = Some(SigningReport {
                    state,
                    profiles,
                    detail,
                });
                match result {
                    Ok(()) => None,
                    Err(e) => {
                        d.fail(&e);
                        Some((d.id().to_string(), e))
                    }
                }
            })
        });
    tokio::select! {
        results = join_all(waits) => Ok(results.into_iter().flatten().collect()),
        () = cancel.cancelled() => Err(anyhow!(
            "cancelled while waiting for ECR managed signing; no tag was moved in any region"
        )),
    }
}

/// One destination's wait: its final state, what was wrong, and the error that fails it.
async fn await_one(
    session: &RegionSession,
    digest: &str,
    profiles: &[String],
    timeout: Duration,
) -> (SigningState, Option<String>, anyhow::Result<()>) {
    let place = session.describe();
    let (ecr, repository) = (&session.ecr, session.target.repository.as_str());
    let timed_out = Cell::new(false);
    let failed: Cell<Option<String>> = Cell::new(None);
    let wait = Wait {
        timeout,
        interval: SIGNING_POLL,
    };
    let result = poll_until(
        wait,
        "ECR managed signing",
        || async {
            let statuses = ecr.signing_statuses(repository, digest).await?;
            if let Some((profile, why)) = statuses.iter().find_map(|s| match &s.progress {
                SigningProgress::Failed(why) => Some((&s.profile, why)),
                _ => None,
            }) {
                failed.set(Some(format!("profile {profile}: {why}")));
                return Err(anyhow!(
                    "{place}: ECR managed signing of {digest} failed (profile {profile}: {why})"
                ));
            }
            let pending: Vec<&str> = profiles
                .iter()
                .filter(|p| {
                    !statuses
                        .iter()
                        .any(|s| &s.profile == *p && s.progress == SigningProgress::Complete)
                })
                .map(String::as_str)
                .collect();
            Ok(if pending.is_empty() {
                Poll::Done
            } else {
                Poll::Waiting(format!("{place}: waiting for {}", pending.join(", ")))
            })
        },
        |pending| pending.to_string(),
        |pending, timeout| {
            timed_out.set(true);
            anyhow!(
                "{place}: ECR managed signing of {digest} did not finish within {}s \
                 ({pending}; hint: raise signing-timeout)",
                timeout.as_secs()
            )
        },
    )
    .await;
    match result {
        Ok(()) => {
            info!(destination = %session.target.id, "ECR managed signing of {digest} is complete");
            (SigningState::Complete, None, Ok(()))
        }
        Err(e) if timed_out.get() => (SigningState::TimedOut, Some(format!("{e:#}")), Err(e)),
        Err(e) => match failed.take() {
            Some(why) => (SigningState::Failed, Some(why), Err(e)),
            // Reading the status failed: the state stays what the plan said.
            None => (SigningState::Planned, Some(format!("{e:#}")), Err(e)),
        },
    }
}
