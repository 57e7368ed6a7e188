//! `verify` for an image that is already in the registries (failover drills, replication
//! checks): per region, log in, look the repository up, resolve the tags (or take the digest),
//! read the manifest tree back re-hashing every manifest, HEAD every blob; then check that all
//! regions serve the same digest. Reads only. The result is the same `Report` as `push`.

use std::time::Instant;

use anyhow::anyhow;
use futures::future::join_all;
use tracing::info;

use super::image_uri::UriNaming;
use super::observed;
use super::plan::{TagAction, TagPlan};
use super::report::{ImageSummary, RegionReport, RegionStatus, Report, ReportCommand, RunStatus};
use super::repository_plan::RepositoryAction;
use super::served_image::{ServedImage, read_served_image};
use super::session::RegionSession;
use super::verify::check_blobs;
use super::{PushOutcome, combine};
use crate::config::verify::{VerifyConfig, VerifyReference};
use crate::ecr::{self, RepositoryState};
use crate::error::VerificationFailed;
use crate::image::Digest;
use crate::observer::{Observer, SharedObserver};
use crate::registry::ClientOptions;

/// Shown as the digest when no region resolved the tags (every region failed).
const UNKNOWN_DIGEST: &str =
    "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// What one region serves.
struct RegionFindings {
    served: ServedImage,
    /// Each requested tag and the digest it resolves to here.
    tags: Vec<(String, Digest)>,
    repository: RepositoryAction,
}

/// Verifies every target region, telling `observer` of secrets and of each region's end; the
/// report always, and the error that failed the run.
pub async fn verify_existing(config: &VerifyConfig, observer: SharedObserver) -> PushOutcome {
    let client_options = ClientOptions::default();
    let aws = ecr::load_aws_config(client_options.stall_timeout).await;
    let naming = UriNaming::new(config.uri_format, config.tags());
    let mut sessions: Vec<RegionSession> = config
        .targets
        .iter()
        .map(|t| {
            RegionSession::for_target(
                t,
                (config.endpoint_style, naming.clone()),
                &aws,
                observer.clone(),
            )
        })
        .collect();
    let asked = match &config.reference {
        VerifyReference::Digest(d) => d.clone(),
        VerifyReference::Tags(_) => unknown_digest(),
    };
    let mut reports: Vec<RegionReport> = sessions
        .iter()
        .map(|s| RegionReport::for_session(s, asked.as_str(), config.tags()))
        .collect();
    if let Some(problem) = ecr::credentials_problem(&aws, observer.as_ref()).await {
        let error = anyhow!("{problem}");
        return outcome(
            (config, observer.as_ref()),
            &asked,
            None,
            reports,
            Some(error),
        );
    }
    let started = Instant::now();
    let results = join_all(
        sessions
            .iter_mut()
            .map(|s| verify_region(s, config, &client_options)),
    )
    .await;
    let mut findings = Vec::with_capacity(results.len());
    let mut failures = Vec::new();
    for ((result, report), session) in results.into_iter().zip(&mut reports).zip(&sessions) {
        report.registry = session.uri_host.clone();
        report.seconds = started.elapsed().as_secs_f64();
        match result {
            Ok(found) => findings.push(Some(found)),
            Err(e) => {
                report.fail(&e);
                failures.push((report.region.clone(), e));
                findings.push(None);
            }
        }
    }
    let expected = match &config.reference {
        VerifyReference::Digest(d) => Some(d.clone()),
        VerifyReference::Tags(_) => findings
            .iter()
            .flatten()
            .next()
            .map(|f| f.served.top.digest.clone()),
    };
    let reference_region = findings
        .iter()
        .zip(&sessions)
        .find(|(f, _)| f.is_some())
        .map(|(_, s)| s.target.region.clone())
        .unwrap_or_default();
    for ((found, report), session) in findings.iter().zip(&mut reports).zip(&sessions) {
        let (Some(found), Some(expected)) = (found, &expected) else {
            continue;
        };
        record_findings(report, session, found, expected, config.tags());
        if found.served.top.digest != *expected {
            let error: anyhow::Error = VerificationFailed(format!(
                "{}: verify: serves {} under {}; region {reference_region} serves {expected}",
                session.describe(),
                found.served.top.digest,
                tag_list(config.tags())
            ))
            .into();
            report.fail(&error);
            failures.push((report.region.clone(), error));
        }
    }
    let error = (!failures.is_empty()).then(|| {
        combine(
            failures,
            "the image could not be shown to be the same and whole in every region",
        )
    });
    let summary_source = findings.iter().flatten().next();
    outcome(
        (config, observer.as_ref()),
        expected.as_ref().unwrap_or(&asked),
        summary_source,
        reports,
        error,
    )
}

/// One region: login, repository, tags, manifest tree, blobs.
async fn verify_region(
    session: &mut RegionSession,
    config: &VerifyConfig,
    client_options: &ClientOptions,
) -> anyhow::Result<RegionFindings> {
    session.log_in(config.endpoint_style).await?;
    let where_ = session.describe();
    let repository = match session
        .ecr
        .describe_repository(&session.target.repository)
        .await?
    {
        RepositoryState::Exists(info) => RepositoryAction::exists(&info),
        RepositoryState::Missing => {
            return Err(VerificationFailed(format!(
                "{where_}: verify: the repository does not exist"
            ))
            .into());
        }
    };
    let client = session.connect_registry(client_options)?;
    let (digest, tags) = match &config.reference {
        VerifyReference::Digest(d) => (d.clone(), Vec::new()),
        VerifyReference::Tags(tags) => resolve_tags(client, tags, &where_).await?,
    };
    let served = match read_served_image(client, &digest, &where_).await {
        Ok(served) => served,
        Err(error) => {
            return Err(explain_unserved_tag(client, config, &digest, &where_, error).await);
        }
    };
    check_blobs(client, &served.blob_digests(), config.concurrency, &where_).await?;
    info!(region = %session.target.region, digest = %digest,
          manifests = served.manifest_digests().len(), blobs = served.blobs.len(),
          "verified: every manifest re-hashed, every blob present");
    Ok(RegionFindings {
        served,
        tags,
        repository,
    })
}

/// When the tags resolved to bytes whose digest the repository does not serve (the manifest
/// was changed on the way or in the registry), says so instead of calling a digest that exists
/// nowhere "missing"; any other error is returned as it is.
async fn explain_unserved_tag(
    client: &crate::registry::RegistryClient,
    config: &VerifyConfig,
    digest: &Digest,
    where_: &str,
    error: anyhow::Error,
) -> anyhow::Error {
    let VerifyReference::Tags(tags) = &config.reference else {
        return error;
    };
    if !error.is::<VerificationFailed>()
        || client
            .manifest_exists(digest.as_str())
            .await
            .unwrap_or(true)
    {
        return error;
    }
    VerificationFailed(format!(
        "{where_}: verify: {} served bytes whose sha256 is {digest}, a manifest the repository \
         does not serve by digest: the manifest was changed on the way or in the registry",
        tag_list(tags)
    ))
    .into()
}

/// Every tag must exist and all must point at one digest.
async fn resolve_tags(
    client: &crate::registry::RegistryClient,
    tags: &[String],
    where_: &str,
) -> anyhow::Result<(Digest, Vec<(String, Digest)>)> {
    let mut resolved = Vec::with_capacity(tags.len());
    for tag in tags {
        let served = client
            .get_manifest(tag)
            .await
            .map_err(|e| anyhow!("{where_}, tag {tag}: verify: read the tag: {e}"))?;
        let Some(manifest) = served else {
            return Err(VerificationFailed(format!(
                "{where_}, tag {tag}: verify: the tag does not exist"
            ))
            .into());
        };
        resolved.push((tag.clone(), manifest.digest));
    }
    let first = resolved
        .first()
        .map(|(_, d)| d.clone())
        .ok_or_else(|| anyhow!("internal: verify without tags"))?;
    if resolved.iter().any(|(_, d)| *d != first) {
        let pairs: Vec<String> = resolved.iter().map(|(t, d)| format!("{t} → {d}")).collect();
        return Err(VerificationFailed(format!(
            "{where_}: verify: the tags point at different images ({})",
            pairs.join(", ")
        ))
        .into());
    }
    Ok((first, resolved))
}

fn record_findings(
    report: &mut RegionReport,
    session: &RegionSession,
    found: &RegionFindings,
    expected: &Digest,
    tags: &[String],
) {
    report.image = session.image_uri(found.served.top.digest.as_str());
    report.repository_action = found.repository.clone();
    report.status = RegionStatus::Verified;
    report.tags = tags
        .iter()
        .map(|tag| {
            let current = found
                .tags
                .iter()
                .find(|(t, _)| t == tag)
                .map(|(_, d)| d.clone());
            let action = match &current {
                Some(d) if d == expected => TagAction::Verified,
                Some(_) => TagAction::Differs,
                None => TagAction::Unknown,
            };
            TagPlan {
                tag: tag.clone(),
                current,
                action,
            }
        })
        .collect();
}

fn outcome(
    (config, observer): (&VerifyConfig, &dyn Observer),
    digest: &Digest,
    source: Option<&RegionFindings>,
    reports: Vec<RegionReport>,
    error: Option<anyhow::Error>,
) -> PushOutcome {
    let summary = ImageSummary {
        digest: digest.clone(),
        media_type: source
            .map(|f| f.served.top.media_type.clone())
            .unwrap_or_default(),
        platforms: source
            .map(|f| f.served.platforms.clone())
            .unwrap_or_default(),
        bytes: source.map_or(0, |f| f.served.blob_bytes()),
    };
    let mut report = Report::describing(summary, config.tags(), false, reports);
    report.command = ReportCommand::Verify;
    if let Some(e) = &error {
        report.status = RunStatus::Failed;
        report.error = Some(format!("{e:#}"));
        report.error_kind = Some(crate::error::FailureKind::of(e));
    }
    observed::finished(observer, &report.regions);
    PushOutcome { report, error }
}

/// `tag v1` or `tags v1, latest`.
fn tag_list(tags: &[String]) -> String {
    match tags {
        [one] => format!("tag {one}"),
        several => format!("tags {}", several.join(", ")),
    }
}

fn unknown_digest() -> Digest {
    Digest::parse(UNKNOWN_DIGEST).unwrap_or_else(|_| Digest::of_bytes(b""))
}
