//! The scan gate, a phase between verification and phase 2: in each scanned destination
//! (the primary, or all), the registry's scanning type is read, every platform manifest's
//! scan is waited for ([`super::scan_poll`]) within `scan-timeout`, and the findings are
//! judged ([`super::scan_verdict`]). Each record keeps its scan report. Under `gate`, findings
//! at or above the threshold refuse the run (exit 4) and a scan that did not finish is a
//! failure (exit 1); under `report` both are only reported.

use anyhow::Context;
use futures::future::join_all;
use tracing::{info, warn};

use super::combine;
use super::destination::Destination;
use super::scan_poll::{ScanSource, Settled, settle};
use super::scan_verdict::{expired, judge, refusal_text};
use crate::config::scan::{ScanDestinations, ScanMode, ScanOptions, today};
use crate::ecr::{EcrRegion, Finding, ScanRead};
use crate::error::GateRefused;
use crate::image::LocalImage;
use crate::report::{ScanReport, ScanState, ScanType};

/// The manifests a scan reads: each platform manifest of an index, else the manifest itself.
pub fn manifests_to_scan(image: &LocalImage) -> anyhow::Result<Vec<String>> {
    Ok(match image.index_entries()? {
        Some(entries) => entries
            .platform_images
            .iter()
            .map(|d| d.digest.to_string())
            .collect(),
        None => vec![image.top.digest.to_string()],
    })
}

/// A scan report with `options`' rule and no findings yet.
fn blank_report(
    options: &ScanOptions,
    status: ScanState,
    scan_type: Option<ScanType>,
    manifests: Vec<String>,
) -> ScanReport {
    let mut report = ScanReport::new(status, scan_type, manifests);
    report.gate = options.mode == ScanMode::Gate;
    report.threshold = options.threshold;
    report
}

/// The destinations `options` scans.
fn scanned<'a>(
    options: &ScanOptions,
    destinations: &'a mut [Destination],
) -> impl Iterator<Item = &'a mut Destination> {
    let count = match (options.mode, options.destinations) {
        (ScanMode::Off, _) => 0,
        (_, ScanDestinations::Primary) => 1,
        (_, ScanDestinations::All) => destinations.len(),
    };
    destinations.iter_mut().take(count)
}

/// A dry run: each destination that would be scanned records how (its scanning type, when
/// AWS can be asked) and which manifests.
pub async fn plan_scans(
    options: &ScanOptions,
    image: &LocalImage,
    destinations: &mut [Destination],
    without_aws: bool,
) -> anyhow::Result<()> {
    let manifests = manifests_to_scan(image)?;
    let plans = scanned(options, destinations).map(|d| {
        let manifests = manifests.clone();
        async move {
            let scan_type = if without_aws {
                None
            } else {
                d.session.ecr.scanning_type().await.ok()
            };
            d.outcome.scan = Some(blank_report(
                options,
                ScanState::Planned,
                scan_type,
                manifests,
            ));
        }
    });
    join_all(plans).await;
    Ok(())
}

/// Scans every chosen destination; the gate's refusal (exit 4) or, under `gate`, a scan that
/// could not finish (exit 1), with every destination's problem in one error.
pub async fn scan_all(
    options: &ScanOptions,
    image: &LocalImage,
    destinations: &mut [Destination],
) -> anyhow::Result<()> {
    let today = today();
    for entry in expired(options, today) {
        warn!("scan-ignore entry {entry} has expired; it no longer ignores that finding");
    }
    let manifests = manifests_to_scan(image)?;
    let scans =
        scanned(options, destinations).map(|d| scan_destination(options, &manifests, d, today));
    let failures: Vec<(String, anyhow::Error)> =
        join_all(scans).await.into_iter().flatten().collect();
    if failures.is_empty() {
        return Ok(());
    }
    Err(combine(failures, "no tag was moved in any region"))
}

/// One destination's scan, recorded in its record; its failure under `gate`.
async fn scan_destination(
    options: &ScanOptions,
    manifests: &[String],
    destination: &mut Destination,
    today: i64,
) -> Option<(String, anyhow::Error)> {
    let place = destination.session.describe();
    let waited = tokio::time::timeout(options.timeout, read_findings(destination, manifests)).await;
    let (report, problem) = match waited {
        Ok(Ok((scan_type, Ok(findings)))) => {
            let verdict = judge(options, (scan_type, manifests.to_vec()), findings, today);
            let refused = (!verdict.refusing.is_empty()).then(|| {
                GateRefused(format!(
                    "{place}: the scan gate refused the image: {}",
                    refusal_text(options, &verdict.refusing)
                ))
                .into()
            });
            (verdict.report, refused)
        }
        Ok(Ok((scan_type, Err(why)))) => {
            let mut report = blank_report(
                options,
                ScanState::Failed,
                Some(scan_type),
                manifests.to_vec(),
            );
            report.error = Some(why.clone());
            (
                report,
                Some(anyhow::anyhow!("{place}: the image scan failed: {why}")),
            )
        }
        Ok(Err(error)) => {
            let mut report = blank_report(options, ScanState::Failed, None, manifests.to_vec());
            report.error = Some(format!("{error:#}"));
            (
                report,
                Some(error.context(format!("{place}: scan the image"))),
            )
        }
        Err(_) => {
            let seconds = options.timeout.as_secs();
            let why = format!("the scan did not complete within scan-timeout ({seconds} s)");
            let mut report = blank_report(options, ScanState::TimedOut, None, manifests.to_vec());
            report.error = Some(why.clone());
            (report, Some(anyhow::anyhow!("{place}: {why}")))
        }
    };
    info!(destination = %destination.id(), status = %report.status,
          findings = %report.counts_text(), "scanned");
    destination.outcome.scan = Some(report);
    let problem = problem?;
    if options.mode == ScanMode::Report {
        warn!("{problem:#} (scan: report, so the run goes on)");
        return None;
    }
    destination.fail(&problem);
    Some((destination.id().to_string(), problem))
}

/// The scanning type and every manifest's findings, or why a manifest's scan failed.
async fn read_findings(
    destination: &Destination,
    manifests: &[String],
) -> anyhow::Result<(ScanType, Result<Vec<Finding>, String>)> {
    let session = &destination.session;
    let scan_type = session.ecr.scanning_type().await?;
    let mut findings = Vec::new();
    for digest in manifests {
        let source = ManifestScan {
            ecr: &session.ecr,
            repository: &session.target.repository,
            digest,
        };
        let settled = settle(scan_type, &source)
            .await
            .with_context(|| format!("manifest {digest}"))?;
        match settled {
            Settled::Complete(found) => findings.extend(found),
            Settled::Failed(why) => {
                return Ok((scan_type, Err(format!("manifest {digest}: {why}"))));
            }
        }
    }
    Ok((scan_type, Ok(findings)))
}

/// One manifest's scan in one destination's registry.
struct ManifestScan<'a> {
    ecr: &'a EcrRegion,
    repository: &'a str,
    digest: &'a str,
}

impl ScanSource for ManifestScan<'_> {
    async fn read(&self) -> anyhow::Result<ScanRead> {
        self.ecr.read_scan(self.repository, self.digest).await
    }

    async fn start(&self) -> anyhow::Result<bool> {
        let started = self
            .ecr
            .start_image_scan(self.repository, self.digest)
            .await?;
        if !started {
            info!(digest = %self.digest, "already scanned today; reading that scan's findings");
        }
        Ok(started)
    }
}
