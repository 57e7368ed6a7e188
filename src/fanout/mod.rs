//! The orchestration across regions: plan every region, then phase 1 (blobs and manifests by
//! digest, all regions concurrently), verification, and only when every region succeeded,
//! phase 2 (tags), then the convergence check (every region's tags read once more); with
//! `lock-table` those two hold the lease lock ([`locked`]). Each
//! destination is one record ([`destination::Destination`]) that every phase reads and writes;
//! the report is built from the records once, at the end, and the run decides then.

mod convergence;
mod destination;
mod failures;
mod feed;
mod image_uri;
mod locked;
mod observed;
mod options;
mod plan;
mod poll;
mod referrers_fallback;
mod replication;
mod repository;
mod scan;
mod scan_poll;
mod scan_verdict;
mod served_image;
mod session;
mod signing;
mod signing_wait;
mod tag;
mod tag_order;
mod upload;
mod verify;
mod verify_existing;
mod whole_plan;

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::anyhow;
use aws_config::SdkConfig;
use futures::future::join_all;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::config::Config;
use crate::config::scan::ScanMode;
use crate::ecr;
use crate::error::{Failed, FailureKind, PlanRefused};
use crate::image::LocalImage;
use crate::observer::{Observer, Phase, SharedObserver};
use destination::Destination;
use observed::in_phase;
use options::{PhaseOptions, PlanOptions};

pub use crate::report::{
    ImageSummary, RegionReport, RegionStatus, Report, ReportCommand, RunStatus, TagAction, TagPlan,
};
pub use crate::report::{
    PolicyAction, PolicyChange, ReplicationAction, ReplicationPlan, RepositoryAction,
    RepositoryChanges, Setting, SettingAction, SettingChange,
};
pub use convergence::{Convergence, ConvergenceState};
pub use image_uri::UriNaming;
pub use plan::RegionPlan;
pub use session::RegionSession;
pub use verify_existing::verify_existing;

/// The report, always, and the error that failed the run, if any.
pub struct PushOutcome {
    pub report: Report,
    pub error: Option<anyhow::Error>,
}

/// Runs `push` (or its dry run) for every target, telling `observer` what happens. `cancel`
/// (SIGINT/SIGTERM) stops new work from starting: before tags, no tag moves; during tags,
/// puts in flight finish.
pub async fn push(
    config: &Config,
    image: &LocalImage,
    observer: SharedObserver,
    cancel: &CancellationToken,
) -> PushOutcome {
    let aws = ecr::load_aws_config(config.stall_timeout).await;
    push_with_aws(config, image, &aws, observer, cancel).await
}

/// [`push`] with the AWS configuration given (credentials, endpoint) instead of loaded from
/// the environment.
pub async fn push_with_aws(
    config: &Config,
    image: &LocalImage,
    aws: &SdkConfig,
    observer: SharedObserver,
    cancel: &CancellationToken,
) -> PushOutcome {
    let sessions = config
        .targets
        .iter()
        .map(|t| RegionSession::new(config, t, aws, observer.clone()));
    let mut destinations: Vec<Destination> = join_all(sessions)
        .await
        .into_iter()
        .map(Destination::new)
        .collect();
    let options = PhaseOptions::of(config);
    let result = run_phases(
        &options,
        (image, aws, observer.as_ref()),
        &mut destinations,
        cancel,
    )
    .await;
    let regions = destinations
        .iter()
        .map(|d| d.report(image, &config.tags))
        .collect();
    let mut report = Report::new(image, &config.tags, config.dry_run, regions);
    let error = match result {
        Ok(convergence) => {
            report.convergence = convergence;
            None
        }
        Err(RunError { error, convergence }) => {
            report.convergence = convergence;
            report.status = RunStatus::Failed;
            report.error = Some(format!("{error:#}"));
            report.error_kind = Some(FailureKind::of(&error));
            Some(error)
        }
    };
    observed::finished(observer.as_ref(), &report.regions);
    PushOutcome { report, error }
}

/// Every phase in order (the scan gate between verification and tags); each reads and writes the destinations' records. The convergence
/// verdicts when the run got that far (also those of a split, which fails the run).
async fn run_phases(
    options: &PhaseOptions<'_>,
    (image, aws, observer): (&LocalImage, &SdkConfig, &dyn Observer),
    destinations: &mut [Destination],
    cancel: &CancellationToken,
) -> Result<BTreeMap<String, Convergence>, RunError> {
    let credentials_problem = ecr::credentials_problem(aws, observer).await;
    if let Some(problem) = &credentials_problem {
        if !options.dry_run {
            return Err(anyhow!("{problem}").into());
        }
        warn!("dry run without AWS access: {problem}");
    }
    let replication_rules = replication::lookup_rules(destinations, credentials_problem.is_some());
    let planning = in_phase(observer, Phase::Plan, async {
        let plans = plan_all(
            &options.plan,
            (image, observer),
            destinations,
            credentials_problem.as_deref(),
        );
        let lock = locked::prepare_lock(options, aws, observer);
        tokio::join!(plans, replication_rules, lock)
    });
    let (replication_rules, lock) = tokio::select! {
        (plans, rules, lock) = planning => { plans?; (rules, lock?) },
        () = cancel.cancelled() => return Err(anyhow!("cancelled during the plan; nothing was written").into()),
    };
    whole_plan::after_plan(options, destinations, replication_rules)?;
    whole_plan::warn_counted_referrers(options, image, destinations);
    signing_wait::warn_unreadable(destinations);
    whole_plan::refusals(destinations)?;
    if options.dry_run {
        scan::plan_scans(
            options.scan,
            image,
            destinations,
            credentials_problem.is_some(),
        )
        .await?;
        return Ok(BTreeMap::new());
    }
    let started = Instant::now();
    let mut failures = in_phase(
        observer,
        Phase::Upload,
        upload::push_all(destinations, &options.upload, image, (observer, cancel)),
    )
    .await
    .map_err(|e| {
        e.context(
            "reading the source failed; no manifest was stored and no tag was moved in any region",
        )
    })?;
    let uploads_failed = !failures.is_empty();
    if !uploads_failed {
        in_phase(
            observer,
            Phase::ReplicationWait,
            replication::wait::await_replicated_copies(image, destinations, cancel),
        )
        .await?;
        // ECR's signatures exist before verification lists each destination's referrers.
        let unsigned = in_phase(
            observer,
            Phase::SigningWait,
            signing_wait::await_signatures(image, destinations, options.signing_timeout, cancel),
        )
        .await?;
        if !unsigned.is_empty() {
            return Err(combine(
                unsigned,
                "ECR managed signing did not complete; no tag was moved in any region",
            )
            .into());
        }
    }
    // Every region that holds the image is verified, also when another region failed, so one
    // run reports every problem (with its kind); no tag moves either way.
    if let Some(concurrency) = options.verify
        && !cancel.is_cancelled()
    {
        let verified = in_phase(
            observer,
            Phase::Verify,
            verify_all(image, destinations, concurrency),
        )
        .await;
        failures.extend(verified);
    }
    if !failures.is_empty() {
        let consequence = if uploads_failed {
            phase_1_consequence(image, destinations)
        } else {
            "verification failed; no tag was moved in any region".to_string()
        };
        return Err(combine(failures, &consequence).into());
    }
    if cancel.is_cancelled() {
        return Err(anyhow!(
            "cancelled before tagging; no tag was moved in any region (the untagged manifest {} is stored everywhere)",
            image.top.digest
        )
        .into());
    }
    if options.scan.mode != ScanMode::Off {
        let scans = in_phase(
            observer,
            Phase::Scan,
            scan::scan_all(options.scan, image, destinations),
        );
        tokio::select! {
            scanned = scans => scanned?,
            () = cancel.cancelled() => return Err(anyhow!("cancelled during the scan; no tag was moved in any region").into()),
        }
    }
    let convergence = locked::move_tags(
        options,
        (image, observer),
        lock.as_ref(),
        destinations,
        cancel,
    )
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    for destination in destinations.iter_mut() {
        destination.outcome.finished_after = Some(seconds);
    }
    match convergence::split_error(&convergence) {
        Some(split) => Err(RunError {
            error: split,
            convergence,
        }),
        None => Ok(convergence),
    }
}

/// A failed run's error, with the convergence verdicts when the run got as far as reading them.
#[derive(Debug)]
struct RunError {
    error: anyhow::Error,
    convergence: BTreeMap<String, Convergence>,
}

impl From<anyhow::Error> for RunError {
    fn from(error: anyhow::Error) -> Self {
        Self {
            error,
            convergence: BTreeMap::new(),
        }
    }
}

impl From<PlanRefused> for RunError {
    fn from(refused: PlanRefused) -> Self {
        anyhow::Error::from(refused).into()
    }
}

/// Reads every region's tags once more, after all of this run's puts; warns for each tag that
/// a later run moved consistently.
async fn check_convergence(
    tags: &[String],
    image: &LocalImage,
    destinations: &[Destination],
) -> anyhow::Result<BTreeMap<String, Convergence>> {
    let sessions: Vec<&RegionSession> = destinations.iter().map(|d| &d.session).collect();
    let verdicts = convergence::read_all(&sessions, tags, &image.top.digest).await?;
    for (tag, verdict) in &verdicts {
        if let Some(other) = verdict.superseded_by() {
            warn!(tag = %tag, digest = %other, ours = %image.top.digest,
                  "tag {tag} now points at {other} in every region: another run moved it after \
                   this one (this run's image stays stored by digest)");
        }
    }
    Ok(verdicts)
}

/// Plans every destination at once; each record gets its plan or its failure.
async fn plan_all(
    options: &PlanOptions<'_>,
    (image, observer): (&LocalImage, &dyn Observer),
    destinations: &mut [Destination],
    credentials_problem: Option<&str>,
) -> anyhow::Result<()> {
    let failures: Vec<(String, anyhow::Error)> = join_all(destinations.iter_mut().map(|d| async move {
        match plan::plan_region(&mut d.session, options, image, credentials_problem).await {
            Ok(plan) => {
                info!(region = %d.session.target.region, repository = %d.session.target.repository,
                      action = ?plan.repository, blobs = plan.missing_blobs.len(),
                      bytes = plan.bytes_to_upload(image), "planned");
                observed::planned(observer, &d.session, &plan, image);
                d.plan = Some(plan);
                None
            }
            Err(e) => {
                d.fail(&e);
                Some((d.id().to_string(), e))
            }
        }
    }))
    .await
    .into_iter()
    .flatten()
    .collect();
    if failures.is_empty() {
        return Ok(());
    }
    let failed = combine(failures, "nothing was pushed or tagged in any region");
    // Bad configuration somewhere wins over operational failures elsewhere (exit 2), and the
    // error lists both, so that one run shows everything to fix.
    let refusals: Vec<&str> = destinations
        .iter()
        .filter_map(|d| d.plan.as_ref()?.refusal.as_deref())
        .collect();
    if refusals.is_empty() {
        Err(failed)
    } else {
        Err(PlanRefused(format!("{}; {failed:#}", refusals.join("; "))).into())
    }
}

/// What a phase 1 failure means: no tag moved, and where the untagged manifest is stored.
fn phase_1_consequence(image: &LocalImage, destinations: &[Destination]) -> String {
    let holding: Vec<&str> = destinations
        .iter()
        .filter(|d| {
            d.outcome
                .failure
                .as_ref()
                .is_none_or(|f| f.kind != FailureKind::Operation)
        })
        .map(Destination::id)
        .collect();
    let holding = if holding.is_empty() {
        "no region holds it".to_string()
    } else {
        format!(
            "the untagged manifest {} is stored in {} (harmless; lifecycle rules for untagged \
             images remove it, a re-run reuses it)",
            image.top.digest,
            holding.join(", ")
        )
    };
    format!("no tag was moved in any region; {holding}")
}

/// Verifies every region whose phase 1 succeeded; the failures, by region.
async fn verify_all(
    image: &LocalImage,
    destinations: &mut [Destination],
    concurrency: usize,
) -> Vec<(String, anyhow::Error)> {
    let checks = destinations
        .iter_mut()
        .filter(|d| !d.failed())
        .map(|d| async move {
            match verify::verify_region(&d.session, image, concurrency).await {
                Ok(listed) => {
                    d.outcome.referrers = listed;
                    None
                }
                Err(error) => {
                    d.fail(&error);
                    Some((d.id().to_string(), error))
                }
            }
        });
    join_all(checks).await.into_iter().flatten().collect()
}

/// Phase 2 in every region; each record gets the tags it moved, or its failure.
async fn tag_all(
    image: &LocalImage,
    destinations: &mut [Destination],
    cancel: &CancellationToken,
) -> anyhow::Result<()> {
    let results = join_all(destinations.iter_mut().map(|d| async move {
        let tags = d.plan.as_ref().map_or(&[][..], |p| p.tags_to_put());
        let outcome = tag::tag_region(&d.session, image, tags, cancel).await;
        let moved = (!outcome.moved.is_empty())
            .then(|| format!("{} ({})", d.id(), outcome.moved.join(", ")));
        d.outcome.tags_moved = outcome.moved;
        let failed = outcome.error.map(|e| {
            d.fail(&e);
            (d.id().to_string(), e)
        });
        (moved, failed)
    }))
    .await;
    let (moved, failures): (Vec<_>, Vec<_>) = results.into_iter().unzip();
    let moved: Vec<String> = moved.into_iter().flatten().collect();
    let failures: Vec<(String, anyhow::Error)> = failures.into_iter().flatten().collect();
    if failures.is_empty() {
        return Ok(());
    }
    let moved = if moved.is_empty() {
        "no tag was moved".to_string()
    } else {
        format!("tags moved in {}", moved.join(", "))
    };
    let repair = if failures
        .iter()
        .any(|(_, e)| e.is::<tag::RefusedAsImmutable>())
    {
        "the tag stays split until the settings agree: make the repositories' tag mutability \
         and exclusion filters agree in every region (image-tag-mutability with \
         update-repository-settings: true), then re-run once"
    } else {
        "a re-run completes the rest"
    };
    Err(combine(failures, &format!("{moved}; {repair}")))
}

/// One error for several regions' failures (`(region, error)`), grouped by cause
/// ([`failures::grouped_message`]). Verification failures keep their type (exit 3) when every
/// failure is one.
fn combine(failures: Vec<(String, anyhow::Error)>, consequence: &str) -> anyhow::Error {
    let described: Vec<failures::RegionFailure> = failures
        .iter()
        .map(|(region, e)| failures::RegionFailure::new(region, format!("{e:#}")))
        .collect();
    let message = failures::grouped_message(&described, consequence);
    let kind = FailureKind::deciding(failures.iter().map(|(_, e)| FailureKind::of(e)))
        .unwrap_or(FailureKind::Operation);
    let mut failures: Vec<anyhow::Error> = failures.into_iter().map(|(_, e)| e).collect();
    if failures.len() == 1 {
        failures.remove(0).context(message)
    } else {
        Failed { kind, message }.into()
    }
}
