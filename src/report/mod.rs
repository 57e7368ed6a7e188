//! The result model, a leaf: one `Report` with a `RegionReport` per destination, each tag's
//! plan, the repository changes and the convergence verdicts, their states as enums that
//! serialise to the JSON report's words. The engine writes it; every renderer (JSON, text,
//! GitHub outputs and summary, dotenv, ECS) reads it; nothing here prints or calls out.

/// `Display` of a state enum: its word ([`as_str`](ReportCommand::as_str)), as the JSON report
/// writes it.
macro_rules! display_as_word {
    ($($state:ty),+ $(,)?) => {
        $(impl std::fmt::Display for $state {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        })+
    };
}

mod convergence;
mod repository;
mod scan;
mod signing;
mod tags;

pub use convergence::{Convergence, ConvergenceState};
pub use repository::{
    PolicyAction, PolicyChange, ReplicationAction, ReplicationPlan, RepositoryAction,
    RepositoryChanges, Setting, SettingAction, SettingChange,
};
pub use scan::{ScanReport, ScanState, ScanType, Severity, WORST_LISTED, WorstFinding};
pub use signing::{SigningReport, SigningState};
pub use tags::{TagAction, TagPlan};

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::FailureKind;
use crate::image::{Digest, LocalImage};

/// Everything a later step or a person needs to know about the run.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The subcommand that produced the report: `push` or `verify`.
    pub command: ReportCommand,
    /// `succeeded`, `planned` (dry run) or `failed`.
    pub status: RunStatus,
    pub dry_run: bool,
    pub digest: Digest,
    pub media_type: String,
    pub platforms: Vec<String>,
    /// Where the image was read from when it was promoted from a registry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceSummary>,
    /// The referrers that travelled with the image (every destination lists them).
    pub referrers: Vec<ReferrerSummary>,
    pub tags: Vec<String>,
    /// The primary region's image URI (digest-pinned unless `image-uri-format` says otherwise).
    pub image: String,
    /// Destination id → image URI.
    pub images: BTreeMap<String, String>,
    /// The primary region's registry host.
    pub registry: String,
    /// Destination id → registry host.
    pub registries: BTreeMap<String, String>,
    /// Total bytes sent to all regions.
    pub bytes_uploaded: u64,
    /// Bytes of config and layer blobs in the image.
    pub image_bytes: u64,
    /// Destination id → path of the rendered ECS task definition (empty unless asked for).
    pub task_definitions: BTreeMap<String, String>,
    /// Tag → how it ended across regions, read after every tag put (empty when the run did
    /// not get that far: dry run, `verify`, or a failure before or during tagging).
    pub convergence: BTreeMap<String, Convergence>,
    /// Tags left where they were everywhere because a destination holds them at a newer
    /// image (`tag-order: newer`); absent when none was.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags_skipped: Vec<String>,
    /// Every destination: id, region, account, repository, registry, image and status.
    pub destinations: Vec<DestinationSummary>,
    pub regions: Vec<RegionReport>,
    /// The first line of the error when the run failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The kind that decided the exit code, when the run failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<FailureKind>,
}

/// The subcommand that produced a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReportCommand {
    /// Set by `push` (the default of [`Report::describing`]).
    Push,
    /// Set by `verify`.
    Verify,
    /// Set by `merge`.
    Merge,
}

impl ReportCommand {
    /// The word in the JSON report and the step summary.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Push => "push",
            Self::Verify => "verify",
            Self::Merge => "merge",
        }
    }
}

display_as_word!(ReportCommand);

/// How the whole run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    /// A `push` or `verify` that ended without an error.
    Succeeded,
    /// A dry run that ended without an error: nothing was written.
    Planned,
    /// The run ended with an error (`error` and `error_kind` say which), including an error
    /// rendering the ECS task definitions after the push.
    Failed,
}

impl RunStatus {
    /// The word in the JSON report.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Planned => "planned",
            Self::Failed => "failed",
        }
    }
}

display_as_word!(RunStatus);

/// How one region ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RegionStatus {
    /// Nothing was decided for the region: the run stopped before its plan finished.
    NotStarted,
    /// Its plan finished: the final state of a dry run, and of a region that did not fail
    /// itself in a push that ended with an error.
    Planned,
    /// The push wrote something there: a blob, a manifest, a tag, a setting or a policy.
    Pushed,
    /// The push found everything in place there and wrote nothing.
    Unchanged,
    /// `verify` found the region serving the image intact.
    Verified,
    /// The region failed (`error` and `error_kind` say why).
    Failed,
}

impl RegionStatus {
    /// The word in the JSON report, the step summary and the text output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotStarted => "not-started",
            Self::Planned => "planned",
            Self::Pushed => "pushed",
            Self::Unchanged => "unchanged",
            Self::Verified => "verified",
            Self::Failed => "failed",
        }
    }
}

display_as_word!(RegionStatus);

/// One destination's part of the run (the JSON report's `regions` array has one per
/// destination).
#[derive(Clone, Debug, Serialize)]
pub struct RegionReport {
    /// Names the destination in outputs: the region unless the region holds several.
    pub id: String,
    pub region: String,
    /// The account whose registry holds the repository, when known (`null` in a dry run
    /// without AWS access and no `registry-id`).
    pub registry_id: Option<String>,
    pub repository: String,
    pub registry: String,
    pub image: String,
    pub repository_action: RepositoryAction,
    /// Repository settings and policies this run changes (or, in a dry run, would change), and
    /// ECR replication reaching this region.
    pub repository_changes: RepositoryChanges,
    /// `not-started`, `planned`, `pushed`, `unchanged`, `verified` or `failed`.
    pub status: RegionStatus,
    pub blobs_to_upload: usize,
    pub bytes_to_upload: u64,
    pub blobs_uploaded: usize,
    /// Blobs linked from `mount-from` instead of uploaded.
    pub blobs_mounted: usize,
    pub blobs_skipped: usize,
    pub bytes_uploaded: u64,
    pub manifests_put: usize,
    pub tags: Vec<TagPlan>,
    /// Tags this run moved in this region.
    pub tags_moved: Vec<String>,
    pub seconds: f64,
    /// What could not be checked (dry run without AWS access).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unchecked: Vec<String>,
    /// The vulnerability scan, when `scan` is not `off` and the destination is scanned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scan: Option<ScanReport>,
    /// The referrers this destination lists for the image after verification: those that
    /// travelled and any of its own (`own: true`, such as ECR managed signing's).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub referrers: Vec<ListedReferrer>,
    /// ECR managed signing, when the registry's signing configuration signs the repository
    /// (or could not be read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing: Option<SigningReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What kind of failure `error` is: `input`, `operation`, `verification` or `gate`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<FailureKind>,
}

impl RegionReport {
    /// A region that has done nothing yet: its names, registry host and image URI, every tag
    /// unread, all counts zero.
    pub fn blank(
        destination: (&str, &str, &str),
        (registry, image): (String, String),
        tags: &[String],
    ) -> Self {
        let (id, region, repository) = destination;
        Self {
            id: id.to_string(),
            region: region.to_string(),
            registry_id: None,
            repository: repository.to_string(),
            registry,
            image,
            repository_action: RepositoryAction::Unchecked,
            repository_changes: Default::default(),
            status: RegionStatus::NotStarted,
            blobs_to_upload: 0,
            bytes_to_upload: 0,
            blobs_uploaded: 0,
            blobs_mounted: 0,
            blobs_skipped: 0,
            bytes_uploaded: 0,
            manifests_put: 0,
            tags: tags.iter().map(|t| TagPlan::unknown(t)).collect(),
            tags_moved: Vec::new(),
            seconds: 0.0,
            unchecked: Vec::new(),
            scan: None,
            referrers: Vec::new(),
            signing: None,
            error: None,
            error_kind: None,
        }
    }
}

impl RegionReport {
    /// The destination's name for people: its region, or `ID (REGION)` when the id differs.
    pub fn label(&self) -> String {
        if self.id == self.region {
            self.region.clone()
        } else {
            format!("{} ({})", self.id, self.region)
        }
    }
}

impl Report {
    /// The run's regions, each once, in destination order.
    pub fn unique_regions(&self) -> Vec<&str> {
        let mut regions: Vec<&str> = Vec::new();
        for region in &self.regions {
            if !regions.contains(&region.region.as_str()) {
                regions.push(&region.region);
            }
        }
        regions
    }
}

/// What the report says about the image, whether read from disk or from a registry.
#[derive(Clone, Debug)]
pub struct ImageSummary {
    pub digest: Digest,
    pub media_type: String,
    pub platforms: Vec<String>,
    /// Bytes of config and layer blobs.
    pub bytes: u64,
    /// The registry the image was read from (`docker://…`), if it was.
    pub source: Option<SourceSummary>,
    /// The signatures, SBOMs and attestations that travelled with the image.
    pub referrers: Vec<ReferrerSummary>,
}

/// A referrer a destination lists for the image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ListedReferrer {
    pub digest: Digest,
    pub artifact_type: Option<String>,
    /// The destination's own, not one that travelled with the image.
    pub own: bool,
}

/// A referrer that travelled with the image: its digest, its artifact type and the manifest
/// it refers to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReferrerSummary {
    pub digest: Digest,
    pub artifact_type: Option<String>,
    pub subject: Option<Digest>,
    /// Cosign's tag (`sha256-<hex>.sig`, …) for a signature stored the older way.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

/// The image a push promoted from a registry: the reference as given, and the digest it
/// resolved to (the digest pushed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SourceSummary {
    pub reference: String,
    pub digest: Digest,
}

impl ImageSummary {
    pub fn of(image: &LocalImage) -> Self {
        Self {
            digest: image.top.digest.clone(),
            media_type: image.top.media_type.clone(),
            platforms: image.platforms.clone(),
            bytes: image.blob_bytes(),
            source: image.registry_reference().map(|_| SourceSummary {
                reference: image.source_description().to_string(),
                digest: image.top.digest.clone(),
            }),
            referrers: image
                .referrers
                .iter()
                .map(|r| ReferrerSummary {
                    digest: r.digest.clone(),
                    artifact_type: r.artifact_type(),
                    subject: r.subject(),
                    tag: None,
                })
                .chain(image.cosign_tags.iter().map(|(tag, m)| ReferrerSummary {
                    digest: m.digest.clone(),
                    artifact_type: m.artifact_type(),
                    subject: None,
                    tag: Some(tag.clone()),
                }))
                .collect(),
        }
    }
}

impl Report {
    /// Assembles the report from region reports (primary first).
    pub fn new(
        image: &LocalImage,
        tags: &[String],
        dry_run: bool,
        regions: Vec<RegionReport>,
    ) -> Self {
        Self::describing(ImageSummary::of(image), tags, dry_run, regions)
    }

    /// [`Report::new`] from an image summary; `command` is `push` until the caller says.
    pub fn describing(
        image: ImageSummary,
        tags: &[String],
        dry_run: bool,
        regions: Vec<RegionReport>,
    ) -> Self {
        let images = regions
            .iter()
            .map(|r| (r.id.clone(), r.image.clone()))
            .collect();
        let registries = regions
            .iter()
            .map(|r| (r.id.clone(), r.registry.clone()))
            .collect();
        let destinations = regions.iter().map(DestinationSummary::of).collect();
        let tags_skipped = tags
            .iter()
            .filter(|tag| {
                regions
                    .iter()
                    .flat_map(|r| &r.tags)
                    .any(|t| t.tag == **tag && t.action == TagAction::Skipped)
            })
            .cloned()
            .collect();
        let primary = regions.first();
        Self {
            command: ReportCommand::Push,
            status: if dry_run {
                RunStatus::Planned
            } else {
                RunStatus::Succeeded
            },
            dry_run,
            digest: image.digest,
            media_type: image.media_type,
            platforms: image.platforms,
            source: image.source,
            referrers: image.referrers,
            tags: tags.to_vec(),
            image: primary.map(|r| r.image.clone()).unwrap_or_default(),
            registry: primary.map(|r| r.registry.clone()).unwrap_or_default(),
            images,
            registries,
            bytes_uploaded: regions.iter().map(|r| r.bytes_uploaded).sum(),
            image_bytes: image.bytes,
            task_definitions: BTreeMap::new(),
            convergence: BTreeMap::new(),
            tags_skipped,
            destinations,
            regions,
            error: None,
            error_kind: None,
        }
    }
}

/// One destination in the `destinations` output: where it is and how it ended.
#[derive(Clone, Debug, Serialize)]
pub struct DestinationSummary {
    pub id: String,
    pub region: String,
    pub registry_id: Option<String>,
    pub repository: String,
    pub registry: String,
    pub image: String,
    pub status: RegionStatus,
}

impl DestinationSummary {
    pub fn of(region: &RegionReport) -> Self {
        Self {
            id: region.id.clone(),
            region: region.region.clone(),
            registry_id: region.registry_id.clone(),
            repository: region.repository.clone(),
            registry: region.registry.clone(),
            image: region.image.clone(),
            status: region.status,
        }
    }
}

/// Asserts that each state serialises (JSON) and displays as its word.
#[cfg(test)]
pub(crate) fn assert_words<T: Serialize + std::fmt::Display>(pairs: &[(T, &str)]) {
    for (state, word) in pairs {
        let json = serde_json::to_string(state).unwrap_or_default();
        assert_eq!(json, format!("\"{word}\""));
        assert_eq!(state.to_string(), *word);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_commands_serialise_to_their_words() {
        assert_words(&[
            (ReportCommand::Push, "push"),
            (ReportCommand::Verify, "verify"),
            (ReportCommand::Merge, "merge"),
        ]);
    }

    #[test]
    fn run_statuses_serialise_to_their_words() {
        assert_words(&[
            (RunStatus::Succeeded, "succeeded"),
            (RunStatus::Planned, "planned"),
            (RunStatus::Failed, "failed"),
        ]);
    }

    #[test]
    fn region_statuses_serialise_to_their_words() {
        assert_words(&[
            (RegionStatus::NotStarted, "not-started"),
            (RegionStatus::Planned, "planned"),
            (RegionStatus::Pushed, "pushed"),
            (RegionStatus::Unchanged, "unchanged"),
            (RegionStatus::Verified, "verified"),
            (RegionStatus::Failed, "failed"),
        ]);
    }
}
