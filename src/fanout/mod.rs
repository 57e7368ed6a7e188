//! The orchestration across regions: plan every region, then phase 1 (blobs and manifests by
//! digest, all regions concurrently), verification, and only when every region succeeded,
//! phase 2 (tags), then the convergence check (every region's tags read once more). Every
//! region reports; the run decides at the end.

mod convergence;
mod existing;
mod failures;
mod feed;
mod image_uri;
mod observed;
mod plan;
mod policy_diff;
mod replication;
mod replication_wait;
mod report;
mod repository;
mod repository_changes;
mod repository_plan;
mod served_image;
mod session;
mod tag;
mod upload;
mod verify;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

use anyhow::anyhow;
use aws_config::SdkConfig;
use futures::future::join_all;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::config::Config;
use crate::ecr;
use crate::error::{Failed, FailureKind, PlanRefused};
use crate::image::LocalImage;
use crate::observer::{Observer, Phase, SharedObserver, UploadProgress};
use observed::in_phase;

pub use convergence::{Convergence, ConvergenceState};
pub use existing::verify_existing;
pub use image_uri::UriNaming;
pub use plan::{RegionPlan, TagAction, TagPlan};
pub use report::{ImageSummary, RegionReport, RegionStatus, Report, ReportCommand, RunStatus};
pub use repository_changes::{
    PolicyAction, PolicyChange, ReplicationAction, ReplicationPlan, RepositoryChanges, Setting,
    SettingAction, SettingChange,
};
pub use repository_plan::RepositoryAction;
pub use session::RegionSession;

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
    let sessions: Vec<RegionSession> = config
        .targets
        .iter()
        .map(|t| RegionSession::new(config, t, aws, observer.clone()))
        .collect();
    let mut reports: Vec<RegionReport> = sessions
        .iter()
        .map(|s| RegionReport::new(s, image, &config.tags))
        .collect();
    let mut convergence = BTreeMap::new();
    let result = run_phases(
        config,
        (image, aws, observer.as_ref()),
        sessions,
        (&mut reports, &mut convergence),
        cancel,
    )
    .await;
    let mut report = Report::new(image, &config.tags, config.dry_run, reports);
    report.convergence = convergence;
    if let Err(e) = &result {
        report.status = RunStatus::Failed;
        report.error = Some(format!("{e:#}"));
        report.error_kind = Some(crate::error::FailureKind::of(e));
    }
    observed::finished(observer.as_ref(), &report.regions);
    PushOutcome {
        report,
        error: result.err(),
    }
}

async fn run_phases(
    config: &Config,
    (image, aws, observer): (&LocalImage, &SdkConfig, &dyn Observer),
    sessions: Vec<RegionSession>,
    (reports, convergence): (&mut [RegionReport], &mut BTreeMap<String, Convergence>),
    cancel: &CancellationToken,
) -> anyhow::Result<()> {
    let credentials_problem = ecr::credentials_problem(aws, observer).await;
    if let Some(problem) = &credentials_problem {
        if !config.dry_run {
            return Err(anyhow!("{problem}"));
        }
        warn!("dry run without AWS access: {problem}");
    }
    let replication_rules = replication::lookup_rules(&sessions, credentials_problem.is_some());
    let planning = in_phase(observer, Phase::Plan, async {
        let plans = plan_all(
            config,
            (image, observer),
            sessions,
            reports,
            credentials_problem.as_deref(),
        );
        tokio::join!(plans, replication_rules)
    });
    let (mut plans, replication_rules) = tokio::select! {
        (plans, rules) = planning => (plans?, rules),
        () = cancel.cancelled() => return Err(anyhow!("cancelled during the plan; nothing was written")),
    };
    repository::after_plan(config, &mut plans, reports, replication_rules)?;
    for (plan, report) in plans.iter().zip(reports.iter_mut()) {
        report.refused(plan.refusal.as_ref());
    }
    plan::refusals(&plans)?;
    if config.dry_run {
        return Ok(());
    }
    let started = Instant::now();
    let mut failures = in_phase(
        observer,
        Phase::Upload,
        upload_all(config, (image, observer), &mut plans, reports, cancel),
    )
    .await;
    let uploads_failed = !failures.is_empty();
    if !uploads_failed {
        in_phase(
            observer,
            Phase::ReplicationWait,
            replication_wait::await_replicated_copies(image, &plans, reports, cancel),
        )
        .await?;
    }
    // Every region that holds the image is verified, also when another region failed, so one
    // run reports every problem (with its kind); no tag moves either way.
    if config.verify && !cancel.is_cancelled() {
        let verified = in_phase(
            observer,
            Phase::Verify,
            verify_all(config, image, &plans, reports),
        )
        .await;
        failures.extend(verified);
    }
    if !failures.is_empty() {
        let consequence = if uploads_failed {
            phase_1_consequence(image, reports)
        } else {
            "verification failed; no tag was moved in any region".to_string()
        };
        return Err(combine(failures, &consequence));
    }
    if cancel.is_cancelled() {
        return Err(anyhow!(
            "cancelled before tagging; no tag was moved in any region (the untagged manifest {} is stored everywhere)",
            image.top.digest
        ));
    }
    in_phase(
        observer,
        Phase::Tags,
        tag_all(image, &plans, reports, cancel),
    )
    .await?;
    in_phase(
        observer,
        Phase::ReplicationWait,
        replication_wait::await_replicated_tags(image, &plans, reports, cancel),
    )
    .await?;
    *convergence = in_phase(
        observer,
        Phase::Convergence,
        check_convergence(config, image, &plans),
    )
    .await?;
    for report in reports.iter_mut() {
        report.seconds = started.elapsed().as_secs_f64();
        let changed = report.blobs_uploaded
            + report.blobs_mounted
            + report.manifests_put
            + report.tags_moved.len()
            + report.repository_changes.writes()
            > 0;
        report.status = if changed {
            RegionStatus::Pushed
        } else {
            RegionStatus::Unchanged
        };
    }
    match convergence::split_error(convergence) {
        Some(split) => Err(split),
        None => Ok(()),
    }
}

/// Reads every region's tags once more, after all of this run's puts; warns for each tag that
/// a later run moved consistently.
async fn check_convergence(
    config: &Config,
    image: &LocalImage,
    plans: &[RegionPlan],
) -> anyhow::Result<BTreeMap<String, Convergence>> {
    let sessions: Vec<&RegionSession> = plans.iter().map(|p| &p.session).collect();
    let verdicts = convergence::read_all(&sessions, &config.tags, &image.top.digest).await?;
    for (tag, verdict) in &verdicts {
        if let Some(other) = verdict.superseded_by() {
            warn!(tag = %tag, digest = %other, ours = %image.top.digest,
                  "tag {tag} now points at {other} in every region: another run moved it after \
                   this one (this run's image stays stored by digest)");
        }
    }
    Ok(verdicts)
}

async fn plan_all(
    config: &Config,
    (image, observer): (&LocalImage, &dyn Observer),
    sessions: Vec<RegionSession>,
    reports: &mut [RegionReport],
    credentials_problem: Option<&str>,
) -> anyhow::Result<Vec<RegionPlan>> {
    let planned = join_all(
        sessions
            .into_iter()
            .map(|s| plan::plan_region(s, config, image, credentials_problem)),
    )
    .await;
    let mut plans = Vec::new();
    let mut failures = Vec::new();
    for (result, report) in planned.into_iter().zip(reports.iter_mut()) {
        match result {
            Ok(plan) => {
                report.apply_plan(&plan, image);
                report.refused(plan.refusal.as_ref());
                info!(region = %report.region, repository = %report.repository,
                      action = ?report.repository_action, blobs = report.blobs_to_upload,
                      bytes = report.bytes_to_upload, "planned");
                observed::planned(observer, &plan, image);
                plans.push(plan);
            }
            Err(e) => {
                report.fail(&e);
                failures.push((report.region.clone(), e));
            }
        }
    }
    if failures.is_empty() {
        return Ok(plans);
    }
    let failed = combine(failures, "nothing was pushed or tagged in any region");
    // Bad configuration somewhere wins over operational failures elsewhere (exit 2), and the
    // error lists both, so that one run shows everything to fix.
    let refusals: Vec<&str> = plans.iter().filter_map(|p| p.refusal.as_deref()).collect();
    if refusals.is_empty() {
        Err(failed)
    } else {
        Err(PlanRefused(format!("{}; {failed:#}", refusals.join("; "))).into())
    }
}

/// Phase 1 in every region; the failures, by region (each also recorded in its report).
async fn upload_all(
    config: &Config,
    (image, observer): (&LocalImage, &dyn Observer),
    plans: &mut [RegionPlan],
    reports: &mut [RegionReport],
    cancel: &CancellationToken,
) -> Vec<(String, anyhow::Error)> {
    let counters: Vec<Arc<AtomicU64>> = plans.iter().map(|_| Arc::default()).collect();
    let uploads: Vec<UploadProgress> = reports
        .iter()
        .zip(&counters)
        .map(|(report, sent)| UploadProgress {
            region: report.region.clone(),
            total: report.bytes_to_upload,
            sent: sent.clone(),
        })
        .collect();
    observer.upload_started(&uploads);
    let results = tokio::select! {
        results = upload::push_all(plans, config, image, &counters) => results,
        () = cancel.cancelled() => plans
            .iter()
            .map(|plan| Err(anyhow!("{}: upload: cancelled", plan.session.describe())))
            .collect(),
    };
    let mut failures = Vec::new();
    for (result, report) in results.into_iter().zip(reports.iter_mut()) {
        match result {
            Ok(outcome) => {
                report.blobs_uploaded = outcome.blobs_uploaded;
                report.blobs_mounted = outcome.blobs_mounted;
                report.bytes_uploaded = outcome.bytes_uploaded;
                report.manifests_put = outcome.manifests_put;
                if outcome.repository_created {
                    report.repository_action = RepositoryAction::Create;
                }
            }
            Err(e) => {
                report.fail(&e);
                failures.push((report.region.clone(), e));
            }
        }
    }
    failures
}

/// What a phase 1 failure means: no tag moved, and where the untagged manifest is stored.
fn phase_1_consequence(image: &LocalImage, reports: &[RegionReport]) -> String {
    let holding: Vec<&str> = reports
        .iter()
        .filter(|r| r.error_kind != Some(FailureKind::Operation))
        .map(|r| r.region.as_str())
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
    config: &Config,
    image: &LocalImage,
    plans: &[RegionPlan],
    reports: &mut [RegionReport],
) -> Vec<(String, anyhow::Error)> {
    let healthy: Vec<(&RegionPlan, &mut RegionReport)> = plans
        .iter()
        .zip(reports.iter_mut())
        .filter(|(_, report)| report.error_kind.is_none())
        .collect();
    let results = join_all(
        healthy
            .iter()
            .map(|(p, _)| verify::verify_region(&p.session, image, config.concurrency)),
    )
    .await;
    let mut failures = Vec::new();
    for (result, (_, report)) in results.into_iter().zip(healthy) {
        if let Err(e) = result {
            report.fail(&e);
            failures.push((report.region.clone(), e));
        }
    }
    failures
}

async fn tag_all(
    image: &LocalImage,
    plans: &[RegionPlan],
    reports: &mut [RegionReport],
    cancel: &CancellationToken,
) -> anyhow::Result<()> {
    let outcomes = join_all(
        plans
            .iter()
            .map(|p| tag::tag_region(&p.session, image, &p.tags, cancel)),
    )
    .await;
    let mut failures = Vec::new();
    let mut moved = Vec::new();
    for (outcome, report) in outcomes.into_iter().zip(reports.iter_mut()) {
        if !outcome.moved.is_empty() {
            moved.push(format!("{} ({})", report.region, outcome.moved.join(", ")));
        }
        report.tags_moved = outcome.moved;
        if let Some(e) = outcome.error {
            report.fail(&e);
            failures.push((report.region.clone(), e));
        }
    }
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

/// Registry client settings from the configuration.
fn client_options(config: &Config) -> crate::registry::ClientOptions {
    crate::registry::ClientOptions {
        stall_timeout: config.stall_timeout,
        ..crate::registry::ClientOptions::default()
    }
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
