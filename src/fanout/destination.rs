//! One record per destination, from plan to report: its session (connection), its plan once
//! made, and what happened there. Every phase reads and writes these records; the region's
//! report is built from its record once, at the end ([`Destination::report`]).

use super::plan::RegionPlan;
use super::session::RegionSession;
use crate::error::FailureKind;
use crate::image::LocalImage;
use crate::report::{RegionReport, RegionStatus, ScanReport};

/// A destination of the run and everything known about it so far.
pub struct Destination {
    pub session: RegionSession,
    /// `None` until its plan succeeded.
    pub plan: Option<RegionPlan>,
    pub outcome: Outcome,
}

/// What happened at a destination.
#[derive(Default)]
pub struct Outcome {
    /// Phase 1's counts.
    pub uploaded: UploadOutcome,
    /// Tags this run moved there (or saw arrive by ECR replication).
    pub tags_moved: Vec<String>,
    /// The failure, with its kind, once the destination failed; later phases skip it.
    pub failure: Option<Failure>,
    /// Set when the push reached its end: the seconds since phase 1 started.
    pub finished_after: Option<f64>,
    /// The vulnerability scan, when the destination was scanned (or, in a dry run, would be).
    pub scan: Option<ScanReport>,
    /// The referrers verification found listed for the image.
    pub referrers: Vec<crate::report::ListedReferrer>,
    /// How the wait for ECR managed signing ended, when the run waited there.
    pub signing: Option<crate::report::SigningReport>,
}

/// A destination's failure as the report gives it.
#[derive(Clone, Debug)]
pub struct Failure {
    pub kind: FailureKind,
    pub message: String,
}

impl Failure {
    pub fn of(error: &anyhow::Error) -> Self {
        Self {
            kind: FailureKind::of(error),
            message: format!("{error:#}"),
        }
    }
}

impl Destination {
    pub fn new(session: RegionSession) -> Self {
        Self {
            session,
            plan: None,
            outcome: Outcome::default(),
        }
    }

    /// Records `error` as this destination's failure.
    pub fn fail(&mut self, error: &anyhow::Error) {
        self.outcome.failure = Some(Failure::of(error));
    }

    pub fn failed(&self) -> bool {
        self.outcome.failure.is_some()
    }

    /// The destination's id, for lists of failures.
    pub fn id(&self) -> &str {
        &self.session.target.id
    }

    /// The region's report: what the plan found, what phase 1, the scan and phase 2 did, how
    /// it ended.
    pub fn report(&self, image: &LocalImage, tags: &[String]) -> RegionReport {
        let mut report = self.session.blank_report(image.top.digest.as_str(), tags);
        match &self.plan {
            None => {
                report.blobs_to_upload = image.blobs.len();
                report.bytes_to_upload = image.blob_bytes();
            }
            Some(plan) => {
                report.status = RegionStatus::Planned;
                report.repository_action = plan.repository.clone();
                report.repository_changes = plan.changes.clone();
                report.blobs_to_upload = plan.blobs_to_send().len();
                report.bytes_to_upload = plan.bytes_to_upload(image);
                report.blobs_skipped = image.blobs.len() - plan.missing_blobs.len();
                report.tags = plan.tags.clone();
                report.unchecked = plan.unchecked.clone();
                report.signing = plan.signing.report();
                if let Some(refusal) = &plan.refusal {
                    report.error = Some(refusal.clone());
                    report.error_kind = Some(FailureKind::Input);
                }
            }
        }
        let uploaded = &self.outcome.uploaded;
        report.blobs_uploaded = uploaded.blobs_uploaded;
        report.blobs_mounted = uploaded.blobs_mounted;
        report.bytes_uploaded = uploaded.bytes_uploaded;
        report.manifests_put = uploaded.manifests_put;
        report.tags_moved = self.outcome.tags_moved.clone();
        report.scan = self.outcome.scan.clone();
        report.referrers = self.outcome.referrers.clone();
        if let Some(signing) = &self.outcome.signing {
            report.signing = Some(signing.clone());
        }
        if let Some(seconds) = self.outcome.finished_after {
            report.seconds = seconds;
            let changed = uploaded.blobs_uploaded
                + uploaded.blobs_mounted
                + uploaded.manifests_put
                + self.outcome.tags_moved.len()
                + report.repository_changes.writes()
                > 0;
            report.status = if changed {
                RegionStatus::Pushed
            } else {
                RegionStatus::Unchanged
            };
        }
        if let Some(failure) = &self.outcome.failure {
            report.status = RegionStatus::Failed;
            report.error = Some(failure.message.clone());
            report.error_kind = Some(failure.kind);
        }
        report
    }
}

/// What phase 1 did in one region.
#[derive(Clone, Debug, Default)]
pub struct UploadOutcome {
    pub blobs_uploaded: usize,
    pub bytes_uploaded: u64,
    /// Blobs linked from `mount-from` instead of uploaded.
    pub blobs_mounted: usize,
    pub manifests_put: usize,
}
