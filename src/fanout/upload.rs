//! Phase 1: make every region hold the image by digest, with no tag. Creates repositories
//! when planned, uploads the blobs each region lacks, then puts child manifests and the top
//! manifest by digest. Nothing a user pulls by tag changes here.
//!
//! Blobs go in two lanes, so that small blobs (configs) never queue behind big layers: up to
//! `SMALL_LANE` small blobs and `concurrency` large ones (largest first) at a time, each to
//! every region that needs it at once, read from disk once (see `feed`). A region that fails
//! stops receiving work; the others carry on, and the caller decides.
//!
//! An image read from a registry has its blobs downloaded here, each alongside its upload: the
//! uploads read the spill file as it lands, so a blob's bytes go on to every destination while
//! the rest is still arriving. A failed download (refused, stalled, corrupted) ends phase 1 in
//! every destination at once: no manifest is put anywhere. A destination in the source's own
//! registry (same account and region) mounts each blob from the source repository instead,
//! and gets the bytes like the others only where the registry declines the mount.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, anyhow};
use futures::StreamExt;
use futures::future::join_all;
use tracing::info;

use tokio_util::sync::CancellationToken;

use super::destination::{Destination, Failure, UploadOutcome};
use super::feed::feed_blob;
use super::options::UploadOptions;
use super::plan::RegionPlan;
use super::repository::Wanted;
use super::session::RegionSession;
use crate::config::tag_references::ecr_host_parts;
use crate::image::{BlobFile, LocalImage, RegistryReference};
use crate::observer::{Observer, UploadProgress};
use crate::registry::{BlobBody, MountOutcome, RegistryError, RegistryErrorKind};
use crate::report::RepositoryAction;

/// Blobs smaller than this go in the small lane.
const SMALL_BLOB: u64 = 1024 * 1024;
/// Small blobs in flight at once.
const SMALL_LANE: usize = 8;

/// One destination's part of phase 1 while blobs are in flight: its record (read-only until
/// the end), the bytes it sent so far, and how it stands.
struct Sending<'a> {
    destination: &'a mut Destination,
    sent: Arc<AtomicU64>,
    state: Mutex<anyhow::Result<UploadOutcome>>,
}

impl Sending<'_> {
    fn plan(&self) -> Option<&RegionPlan> {
        self.destination.plan.as_ref()
    }

    fn session(&self) -> &RegionSession {
        &self.destination.session
    }

    fn live(&self) -> bool {
        self.state.lock().is_ok_and(|s| s.is_ok())
    }

    /// Whether it failed because a request made no progress for the stall bound.
    fn stalled(&self) -> bool {
        self.state.lock().is_ok_and(|s| {
            s.as_ref().is_err_and(|e| {
                e.chain().any(|cause| {
                    cause
                        .downcast_ref::<RegistryError>()
                        .is_some_and(|r| r.kind == RegistryErrorKind::Stalled)
                })
            })
        })
    }
}

/// The first failure to read the source (an image from a registry); it stops phase 1.
#[derive(Default)]
struct SourceFailure {
    error: Mutex<Option<anyhow::Error>>,
    stop: CancellationToken,
}

impl SourceFailure {
    fn record(&self, error: anyhow::Error) {
        if let Ok(mut slot) = self.error.lock()
            && slot.is_none()
        {
            *slot = Some(error);
        }
        self.stop.cancel();
    }
}

/// Runs phase 1 in every planned destination at once and records each one's outcome (or
/// failure) in its record. The observer sees the bytes each destination sent, for progress.
/// A cancellation stops the uploads; every destination then fails as cancelled.
/// Returns the failures, by region; or, when reading the source failed, its error (recorded
/// as the failure of every destination that had not failed already).
pub async fn push_all(
    destinations: &mut [Destination],
    options: &UploadOptions<'_>,
    image: &LocalImage,
    (observer, cancel): (&dyn Observer, &CancellationToken),
) -> anyhow::Result<Vec<(String, anyhow::Error)>> {
    let mut lanes: Vec<Sending<'_>> = destinations
        .iter_mut()
        .filter(|d| d.plan.is_some())
        .map(|destination| Sending {
            destination,
            sent: Arc::default(),
            state: Mutex::new(Ok(UploadOutcome::default())),
        })
        .collect();
    let uploads: Vec<UploadProgress> = lanes
        .iter()
        .map(|lane| UploadProgress {
            id: lane.session().target.id.clone(),
            total: lane.plan().map_or(0, |p| p.bytes_to_upload(image)),
            sent: lane.sent.clone(),
        })
        .collect();
    observer.upload_started(&uploads);
    let source = SourceFailure::default();
    let work = async {
        join_all(lanes.iter_mut().map(|lane| async move {
            if let Err(e) = prepare_region(lane.destination, options).await
                && let Ok(state) = lane.state.get_mut()
            {
                *state = Err(e);
            }
        }))
        .await;
        send_everything(&lanes, options, image, &source).await;
    };
    let cancelled = tokio::select! {
        () = work => false,
        () = cancel.cancelled() => true,
        () = source.stop.cancelled() => false,
    };
    if let Some(error) = source.error.into_inner().ok().flatten() {
        let failure = Failure::of(&error);
        for lane in lanes {
            match lane.state.into_inner() {
                Ok(Err(own)) => lane.destination.fail(&own),
                _ => lane.destination.outcome.failure = Some(failure.clone()),
            }
        }
        return Err(error);
    }
    let mut failures = Vec::new();
    for lane in lanes {
        let state = if cancelled {
            Err(anyhow!("{}: upload: cancelled", lane.session().describe()))
        } else {
            lane.state
                .into_inner()
                .unwrap_or_else(|_| Err(anyhow!("internal: a region's upload state was poisoned")))
        };
        match state {
            Ok(outcome) => lane.destination.outcome.uploaded = outcome,
            Err(e) => {
                lane.destination.fail(&e);
                failures.push((lane.destination.id().to_string(), e));
            }
        }
    }
    Ok(failures)
}

/// The blobs, then the manifests, of every live lane.
async fn send_everything(
    lanes: &[Sending<'_>],
    options: &UploadOptions<'_>,
    image: &LocalImage,
    source: &SourceFailure,
) {
    let started = Instant::now();
    upload_blobs(lanes, options, image, source).await;
    if source.stop.is_cancelled() {
        return;
    }
    for lane in lanes {
        if let Ok(Ok(outcome)) = lane.state.lock().as_deref() {
            info!(region = %lane.session().target.region, blobs = outcome.blobs_uploaded,
                  bytes = outcome.bytes_uploaded,
                  skipped = image.blobs.len() - outcome.blobs_uploaded,
                  secs = format!("{:.2}", started.elapsed().as_secs_f64()), "uploaded blobs");
        }
    }
    join_all(lanes.iter().map(|lane| put_manifests(lane, image))).await;
}

/// Creates the repository when planned, connects, applies repository changes.
async fn prepare_region(
    destination: &mut Destination,
    options: &UploadOptions<'_>,
) -> anyhow::Result<()> {
    let session = &mut destination.session;
    let plan = destination
        .plan
        .as_ref()
        .context("internal: phase 1 in a region without a plan")?;
    if plan.repository == RepositoryAction::Create {
        let info = session
            .ecr
            .create_repository(
                &session.target.repository,
                &Wanted::at(&session.target, options.repository, options.management).settings,
            )
            .await?;
        info!(region = %session.target.region, repository = %session.target.repository,
              mutability = %info.tag_mutability, "created repository");
        session.connect_registry(&options.client)?;
    }
    super::repository::apply::apply_changes(session, &plan.changes, options).await?;
    Ok(())
}

/// Uploads every blob some region lacks, in the two lanes.
async fn upload_blobs<'l, 'd>(
    lanes: &'l [Sending<'d>],
    options: &UploadOptions<'_>,
    image: &LocalImage,
    source: &SourceFailure,
) {
    let mut wanted: Vec<(usize, Vec<&'l Sending<'d>>)> = (0..image.blobs.len())
        .map(|blob| {
            let needing = lanes
                .iter()
                .filter(|lane| {
                    lane.plan()
                        .is_some_and(|p| p.blobs_to_send().contains(&blob))
                })
                .collect::<Vec<_>>();
            (blob, needing)
        })
        .filter(|(_, needing)| !needing.is_empty())
        .collect();
    wanted.sort_by_key(|(blob, _)| std::cmp::Reverse(image.blobs[*blob].size));
    let (small, large): (Vec<_>, Vec<_>) = wanted
        .into_iter()
        .partition(|(blob, _)| image.blobs[*blob].size < SMALL_BLOB);
    let mount_from = options.mount_from;
    let send = |(blob, needing): (usize, Vec<&'l Sending<'d>>)| async move {
        if image.is_remote() {
            upload_arriving_blob((image, blob), mount_from, needing, source).await;
        } else {
            upload_one_blob(&image.blobs[blob], mount_from, needing).await;
        }
    };
    let small_lane = futures::stream::iter(small).for_each_concurrent(SMALL_LANE, send);
    let large_lane = futures::stream::iter(large).for_each_concurrent(options.concurrency, send);
    tokio::join!(small_lane, large_lane);
}

/// Downloads blob `index` of an image read from a registry and, alongside, sends it to every
/// lane in `needing` as it lands. The uploads begin once the first bytes have landed, so that
/// a source that sends nothing stalls the download, not the destinations. A download failure
/// is recorded for the whole run (the uploads of the blob are dropped); when uploads stalled
/// while the download was still going, the download's outcome decides who is to blame.
async fn upload_arriving_blob(
    (image, index): (&LocalImage, usize),
    mount_from: Option<&str>,
    needing: Vec<&Sending<'_>>,
    source: &SourceFailure,
) {
    if source.stop.is_cancelled() {
        return;
    }
    let blob = &image.blobs[index];
    let needing = match image.registry_reference() {
        Some(reference) => mount_from_source(blob, reference, needing).await,
        None => needing,
    };
    if !needing.iter().any(|lane| lane.live()) {
        return;
    }
    let lanes = needing.clone();
    let download = image.fetch(index);
    let uploads = async {
        if blob.arrival.begun().await.is_ok() {
            upload_one_blob(blob, mount_from, needing).await;
        }
    };
    tokio::pin!(download, uploads);
    let mut downloaded = false;
    loop {
        tokio::select! {
            biased;
            fetched = &mut download, if !downloaded => match fetched {
                Ok(_) => downloaded = true,
                Err(e) => return source.record(e),
            },
            () = &mut uploads => break,
        }
    }
    if !downloaded
        && lanes.iter().any(|lane| lane.stalled())
        && let Err(e) = download.await
    {
        // The uploads ended first (they stalled waiting for bytes, or failed); a download that
        // fails too is the cause.
        source.record(e);
    }
}

/// Mounts `blob` from the source repository in every live lane of the source's registry (same
/// account and region, another repository), where nothing needs to be downloaded or sent. The
/// lanes that still need the bytes: those of other registries, and those whose registry
/// declined the mount.
async fn mount_from_source<'l, 'd>(
    blob: &BlobFile,
    source: &RegistryReference,
    needing: Vec<&'l Sending<'d>>,
) -> Vec<&'l Sending<'d>> {
    let (mounting, mut rest): (Vec<_>, Vec<_>) = needing.into_iter().partition(|lane| {
        lane.live()
            && same_registry(&lane.session().uri_host, &source.host)
            && lane.session().target.repository != source.repository
    });
    let mounts = mounting.iter().map(|lane| async move {
        let session = lane.session();
        let mounted = match session.registry() {
            Ok(client) => client
                .mount_blob(blob, &source.repository)
                .await
                .map_err(anyhow::Error::from),
            Err(e) => Err(e),
        };
        mounted.with_context(|| {
            format!(
                "{}: mount blob {} from {}",
                session.describe(),
                blob.digest,
                source.repository
            )
        })
    });
    for (lane, mounted) in mounting.iter().zip(join_all(mounts).await) {
        let Ok(mut state) = lane.state.lock() else {
            continue;
        };
        match (mounted, state.as_mut()) {
            (Ok(true), Ok(outcome)) => outcome.blobs_mounted += 1,
            (Ok(false), Ok(_)) => rest.push(lane),
            (Err(e), Ok(_)) => *state = Err(e),
            (_, Err(_)) => {}
        }
    }
    rest
}

/// Whether two registry hosts are one registry: the same ECR account and region, whatever the
/// spelling of the host (FIPS, dual-stack), or else the same host name.
fn same_registry(host: &str, other: &str) -> bool {
    match (ecr_host_parts(host), ecr_host_parts(other)) {
        (Some(one), Some(two)) => one == two,
        _ => host.eq_ignore_ascii_case(other),
    }
}

/// Sends one blob to every lane in `needing` that has not failed, reading it once.
async fn upload_one_blob(blob: &BlobFile, mount_from: Option<&str>, needing: Vec<&Sending<'_>>) {
    let live: Vec<&Sending<'_>> = needing.into_iter().filter(|lane| lane.live()).collect();
    let results = match live.as_slice() {
        [] => return,
        [only] => {
            vec![send_blob(only.session(), only.sent.clone(), (blob, mount_from), None).await]
        }
        _ => {
            let (reader, bodies) = feed_blob(blob, live.len());
            let uploads = live.iter().zip(bodies).map(|(lane, body)| {
                send_blob(
                    lane.session(),
                    lane.sent.clone(),
                    (blob, mount_from),
                    Some(body),
                )
            });
            tokio::join!(reader, join_all(uploads)).1
        }
    };
    for (lane, result) in live.into_iter().zip(results) {
        let Ok(mut state) = lane.state.lock() else {
            continue;
        };
        match (result, state.as_mut()) {
            (Ok(MountOutcome::Mounted), Ok(outcome)) => outcome.blobs_mounted += 1,
            (Ok(MountOutcome::Uploaded), Ok(outcome)) => {
                outcome.blobs_uploaded += 1;
                outcome.bytes_uploaded += blob.size;
            }
            (Err(e), Ok(_)) => *state = Err(e),
            (_, Err(_)) => {}
        }
    }
}

/// Mounts or uploads `blob` to one region, `body` fed from the shared read (or read from
/// disk itself when it is the only region that needs the blob).
async fn send_blob(
    session: &RegionSession,
    sent: Arc<AtomicU64>,
    (blob, mount_from): (&BlobFile, Option<&str>),
    body: Option<BlobBody>,
) -> anyhow::Result<MountOutcome> {
    let result = match (session.registry(), mount_from) {
        (Ok(client), Some(source)) => client
            .mount_or_push_blob(blob, source, sent, body)
            .await
            .map_err(anyhow::Error::from),
        (Ok(client), None) => client
            .push_blob_streaming(blob, sent, body)
            .await
            .map(|()| MountOutcome::Uploaded)
            .map_err(anyhow::Error::from),
        (Err(e), _) => Err(e),
    };
    result.with_context(|| {
        format!(
            "{}: upload blob {} ({} bytes)",
            session.describe(),
            blob.digest,
            blob.size
        )
    })
}

/// Puts cosign's tags (`sha256-<hex>.sig`, …) where they do not already hold the same
/// manifest. They name the image's signatures, not a version of it, so they go with phase 1.
/// A repository whose tag mutability keeps a tag holding other bytes leaves it as it is, said
/// in the log: that region signed the image itself.
async fn put_cosign_tags(session: &RegionSession, image: &LocalImage) -> anyhow::Result<()> {
    let client = session.registry()?;
    let where_ = session.describe();
    for (tag, manifest) in &image.cosign_tags {
        let current = client
            .get_manifest(tag)
            .await
            .map_err(|e| anyhow!("{where_}: read the tag {tag}: {e}"))?;
        if current.is_some_and(|c| c.digest == manifest.digest) {
            continue;
        }
        match client.put_manifest(tag, manifest).await {
            Ok(()) => info!(region = %session.target.region, %tag, "cosign tag put"),
            Err(e) if e.kind == RegistryErrorKind::ImmutableTag => {
                tracing::warn!(region = %session.target.region, %tag,
                               "{where_}: the tag {tag} is immutable and holds other bytes;                                 left as it is");
            }
            Err(e) => return Err(anyhow!("{where_}: put the tag {tag}: {e}")),
        }
    }
    Ok(())
}

/// Puts the manifests a region lacks, children first, by digest.
async fn put_manifests(lane: &Sending<'_>, image: &LocalImage) {
    let (Some(plan), true) = (lane.plan(), lane.live()) else {
        return;
    };
    let session = lane.session();
    let mut put = 0;
    let mut result = Ok(());
    for manifest in image.manifests_in_push_order() {
        if !plan.manifests_to_put().contains(&manifest.digest) {
            continue;
        }
        let stored = match session.registry() {
            Ok(client) => client
                .put_manifest(manifest.digest.as_str(), manifest)
                .await
                .map_err(anyhow::Error::from),
            Err(e) => Err(e),
        };
        if let Err(e) = stored {
            let where_ = session.describe();
            result = Err(e.context(format!(
                "{where_}: put manifest {} by digest",
                manifest.digest
            )));
            break;
        }
        put += 1;
    }
    if result.is_ok() {
        result = put_cosign_tags(session, image).await;
    }
    if result.is_ok() {
        result = super::referrers_fallback::keep_fallback_tags(session, image).await;
    }
    let Ok(mut state) = lane.state.lock() else {
        return;
    };
    match (result, state.as_mut()) {
        (Ok(()), Ok(outcome)) => {
            outcome.manifests_put = put;
            info!(region = %session.target.region, manifests = put,
                  digest = %image.top.digest, "manifests stored by digest (untagged)");
        }
        (Err(e), Ok(_)) => *state = Err(e),
        (_, Err(_)) => {}
    }
}
