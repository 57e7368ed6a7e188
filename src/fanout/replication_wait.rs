//! Waiting for ECR replication (`replication: skip-replicated`). After phase 1 the run waits,
//! bounded and with progress lines, until ECR reports the image replicated to every region
//! that awaits it (verification then checks each copy like any other region); after phase 2 it
//! waits until those regions serve the moved tags.

use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use futures::future::join_all;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::info;

use super::failures::{RegionFailure, grouped_message};
use super::plan::RegionPlan;
use super::report::RegionReport;
use super::repository_changes::ReplicationAction;
use crate::ecr::{ReplicationTarget, ReplicationWait, summarize_replication};
use crate::image::LocalImage;

/// How long replicated copies (and, after phase 2, replicated tags) are waited for.
pub const REPLICATION_WAIT: ReplicationWait = ReplicationWait {
    timeout: Duration::from_secs(30 * 60),
    interval: Duration::from_secs(10),
};
/// A progress line at least this often while waiting, and whenever a status changes.
const PROGRESS_EVERY: Duration = Duration::from_secs(60);

/// After phase 1: waits until ECR reports the image replicated to every region that awaits it.
pub async fn await_replicated_copies(
    image: &LocalImage,
    plans: &[RegionPlan],
    reports: &mut [RegionReport],
    cancel: &CancellationToken,
) -> anyhow::Result<()> {
    let awaiting: Vec<ReplicationTarget> = plans
        .iter()
        .filter_map(|p| p.changes.replication.as_ref().map(|r| (p, r)))
        .filter(|(_, r)| r.action == ReplicationAction::Replicated && r.awaits_image)
        .map(|(p, r)| ReplicationTarget {
            region: p.session.target.region.clone(),
            registry_id: r.registry_id.clone(),
        })
        .collect();
    let Some(primary) = plans.first().filter(|_| !awaiting.is_empty()) else {
        return Ok(());
    };
    let mut progress = Progress::default();
    let wait = primary.session.ecr.wait_for_replication(
        &primary.session.target.repository,
        image.top.digest.as_str(),
        &awaiting,
        REPLICATION_WAIT,
        |statuses, waited| progress.report(&summarize_replication(statuses), waited),
    );
    let waited = tokio::select! {
        waited = wait => waited.map(|_| ()),
        () = cancel.cancelled() => Err(anyhow!("cancelled while waiting for ECR replication")),
    };
    if let Err(e) = waited {
        for report in reports.iter_mut() {
            if awaiting.iter().any(|t| t.region == report.region) {
                report.fail(&e);
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
    plans: &[RegionPlan],
    reports: &mut [RegionReport],
    cancel: &CancellationToken,
) -> anyhow::Result<()> {
    let waits = plans.iter().filter_map(|plan| {
        let replication = plan.changes.replication.as_ref()?;
        let tags = &replication.awaited_tags;
        (replication.action == ReplicationAction::Replicated && !tags.is_empty())
            .then_some(async move { (plan, await_tags(plan, image, tags).await) })
    });
    let results = tokio::select! {
        results = join_all(waits) => results,
        () = cancel.cancelled() => bail!(
            "cancelled while waiting for tags to arrive by ECR replication; the tags moved \
             everywhere else"
        ),
    };
    let mut failures = Vec::new();
    for (plan, result) in results {
        let Some(report) = reports
            .iter_mut()
            .find(|r| r.region == plan.session.target.region)
        else {
            continue;
        };
        match result {
            Ok(()) => report.tags_moved = plan_tags(plan),
            Err(e) => {
                report.fail(&e);
                failures.push(RegionFailure::new(&report.region, format!("{e:#}")));
            }
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(anyhow!(grouped_message(
            &failures,
            "the tags moved everywhere else and a re-run completes the rest"
        )))
    }
}

fn plan_tags(plan: &RegionPlan) -> Vec<String> {
    (plan.changes.replication.as_ref())
        .map(|r| r.awaited_tags.clone())
        .unwrap_or_default()
}

/// Polls the region's registry until every tag resolves to the image's digest.
async fn await_tags(plan: &RegionPlan, image: &LocalImage, tags: &[String]) -> anyhow::Result<()> {
    let client = plan.session.registry()?;
    let where_ = plan.session.describe();
    let started = Instant::now();
    let mut progress = Progress::default();
    loop {
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
        let waited = started.elapsed();
        if pending.is_empty() {
            return Ok(());
        }
        progress.report(
            &format!("{where_}: waiting for tags {}", pending.join(", ")),
            waited,
        );
        if waited + REPLICATION_WAIT.interval > REPLICATION_WAIT.timeout {
            bail!(
                "{where_}: tag {} did not arrive by ECR replication within {:?}",
                pending.join(", "),
                REPLICATION_WAIT.timeout
            );
        }
        tokio::time::sleep(REPLICATION_WAIT.interval).await;
    }
}

/// Logs a wait's state when it changes, and at least every [`PROGRESS_EVERY`].
#[derive(Default)]
struct Progress {
    last: Option<(String, Duration)>,
}

impl Progress {
    fn report(&mut self, state: &str, waited: Duration) {
        let due = match &self.last {
            Some((last, at)) => last != state || waited >= *at + PROGRESS_EVERY,
            None => true,
        };
        if due {
            info!(waited_secs = waited.as_secs(), "ECR replication: {state}");
            self.last = Some((state.to_string(), waited));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_is_logged_on_change_and_at_least_every_minute() {
        let mut progress = Progress::default();
        let mut logged = Vec::new();
        for (state, secs) in [
            ("a", 0),
            ("a", 10),
            ("b", 20),
            ("b", 70),
            ("b", 80),
            ("b", 130),
        ] {
            let before = progress.last.clone();
            progress.report(state, Duration::from_secs(secs));
            if progress.last != before {
                logged.push(secs);
            }
        }
        assert_eq!(logged, [0, 20, 80]);
    }
}
