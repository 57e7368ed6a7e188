//! `verify` for an image that is already in the registries (failover drills, replication
//! checks): per region, log in, look the repository up, resolve the tags (or take the digest),
//! read the manifest tree back re-hashing every manifest, HEAD every blob; then check that all
//! regions serve the same digest. Reads only. The result is the same `Report` as `push`.

use std::time::Instant;

use anyhow::anyhow;
use futures::future::join_all;
use tracing::info;

use super::destination::Failure;
use super::image_uri::UriNaming;
use super::observed;
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
use crate::report::{
    ImageSummary, RegionReport, RegionStatus, Report, ReportCommand, RepositoryAction, RunStatus,
    TagAction, TagPlan,
};

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
    let asked = match &config.reference {
        VerifyReference::Digest(d) => d.clone(),
        VerifyReference::Tags(_) => unknown_digest(),
    };
    let sessions = config.targets.iter().map(|t| {
        RegionSession::for_target(
            t,
            (config.endpoint_style, naming.clone()),
            &aws,
            observer.clone(),
        )
    });
    let mut checks: Vec<Checked> = join_all(sessions)
        .await
        .into_iter()
        .map(|session| Checked {
            session,
            found: None,
            failure: None,
            seconds: 0.0,
        })
        .collect();
    if let Some(problem) = ecr::credentials_problem(&aws, observer.as_ref()).await {
        let error = anyhow!("{problem}");
        return outcome(
            (config, observer.as_ref()),
            (&asked, &asked),
            &checks,
            Some(error),
        );
    }
    let started = Instant::now();
    let client_options = &client_options;
    let failures = join_all(checks.iter_mut().map(|check| async move {
        let result = verify_region(&mut check.session, config, client_options).await;
        check.seconds = started.elapsed().as_secs_f64();
        match result {
            Ok(found) => {
                check.found = Some(found);
                None
            }
            Err(e) => {
                check.failure = Some(Failure::of(&e));
                Some((check.session.target.id.clone(), e))
            }
        }
    }))
    .await;
    let mut failures: Vec<(String, anyhow::Error)> = failures.into_iter().flatten().collect();
    let reference = checks.iter().find_map(|c| Some((c, c.found.as_ref()?)));
    let expected = match &config.reference {
        VerifyReference::Digest(d) => Some(d.clone()),
        VerifyReference::Tags(_) => reference.map(|(_, f)| f.served.top.digest.clone()),
    };
    let reference_region = reference
        .map(|(c, _)| c.session.target.region.clone())
        .unwrap_or_default();
    if let Some(expected) = &expected {
        for check in &mut checks {
            let Some(found) = &check.found else {
                continue;
            };
            if found.served.top.digest != *expected {
                let error: anyhow::Error = VerificationFailed(format!(
                    "{}: verify: serves {} under {}; region {reference_region} serves {expected}",
                    check.session.describe(),
                    found.served.top.digest,
                    tag_list(config.tags())
                ))
                .into();
                check.failure = Some(Failure::of(&error));
                failures.push((check.session.target.id.clone(), error));
            }
        }
    }
    let error = (!failures.is_empty()).then(|| {
        combine(
            failures,
            "the image could not be shown to be the same and whole in every region",
        )
    });
    outcome(
        (config, observer.as_ref()),
        (&asked, expected.as_ref().unwrap_or(&asked)),
        &checks,
        error,
    )
}

/// One region's record in `verify`: its session, what it serves, how it ended.
struct Checked {
    session: RegionSession,
    found: Option<RegionFindings>,
    failure: Option<Failure>,
    seconds: f64,
}

impl Checked {
    /// The region's report: the URI of the digest it serves (of `asked` when it serves none),
    /// its tags against `expected`.
    fn report(&self, config: &VerifyConfig, (asked, expected): (&Digest, &Digest)) -> RegionReport {
        let tags = config.tags();
        let mut report = self.session.blank_report(asked.as_str(), tags);
        report.seconds = self.seconds;
        if let Some(found) = &self.found {
            report.image = self.session.image_uri(found.served.top.digest.as_str());
            report.repository_action = found.repository.clone();
            report.status = RegionStatus::Verified;
            report.tags = found_tags(found, expected, tags);
        }
        if let Some(failure) = &self.failure {
            report.status = RegionStatus::Failed;
            report.error = Some(failure.message.clone());
            report.error_kind = Some(failure.kind);
        }
        report
    }
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
        RepositoryState::Exists(info) => super::repository::plan::existing(&info),
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
    check_required_referrers(client, &served, &config.require_referrers, &where_).await?;
    info!(region = %session.target.region, digest = %digest,
          manifests = served.manifest_digests().len(), blobs = served.blobs.len(),
          "verified: every manifest re-hashed, every blob present");
    Ok(RegionFindings {
        served,
        tags,
        repository,
    })
}

/// Every kind in `required` has a referrer of the image (or of one of its platform manifests)
/// listed here, or cosign's tag for it; else `VerificationFailed` naming the kind.
async fn check_required_referrers(
    client: &crate::registry::RegistryClient,
    served: &super::served_image::ServedImage,
    required: &[crate::config::verify::RequiredReferrer],
    where_: &str,
) -> anyhow::Result<()> {
    if required.is_empty() {
        return Ok(());
    }
    let mut found: Vec<(Option<String>, Option<&'static str>)> = Vec::new();
    for digest in served.manifest_digests() {
        let (listed, _) = client
            .referrers(digest)
            .await
            .map_err(|e| anyhow!("{where_}: verify: list the referrers of {digest}: {e}"))?;
        found.extend(listed.into_iter().map(|d| (d.artifact_type, None)));
        for suffix in ["sig", "att", "sbom"] {
            let tag = format!("sha256-{}.{suffix}", digest.hex());
            let present = client
                .manifest_exists(&tag)
                .await
                .map_err(|e| anyhow!("{where_}: verify: check the tag {tag}: {e}"))?;
            if present {
                found.push((None, Some(suffix)));
            }
        }
    }
    for kind in required {
        if !found
            .iter()
            .any(|(t, suffix)| kind.accepts(t.as_deref(), *suffix))
        {
            return Err(VerificationFailed(format!(
                "{where_}: verify: no {} referrer of {} (require-referrers)",
                kind.name(),
                served.top.digest
            ))
            .into());
        }
    }
    Ok(())
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

/// Each tag's state in a region that was verified: at `expected`, elsewhere, or not read.
fn found_tags(found: &RegionFindings, expected: &Digest, tags: &[String]) -> Vec<TagPlan> {
    tags.iter()
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
        .collect()
}

/// The report from every region's record; the image summary from the first region that
/// served the image.
fn outcome(
    (config, observer): (&VerifyConfig, &dyn Observer),
    (asked, digest): (&Digest, &Digest),
    checks: &[Checked],
    error: Option<anyhow::Error>,
) -> PushOutcome {
    let source = checks.iter().find_map(|c| c.found.as_ref());
    let summary = ImageSummary {
        digest: digest.clone(),
        media_type: source
            .map(|f| f.served.top.media_type.clone())
            .unwrap_or_default(),
        platforms: source
            .map(|f| f.served.platforms.clone())
            .unwrap_or_default(),
        bytes: source.map_or(0, |f| f.served.blob_bytes()),
        source: None,
        referrers: Vec::new(),
    };
    let regions = checks
        .iter()
        .map(|c| c.report(config, (asked, digest)))
        .collect();
    let mut report = Report::describing(summary, config.tags(), false, regions);
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
