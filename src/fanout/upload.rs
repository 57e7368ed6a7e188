//! Phase 1: make every region hold the image by digest, with no tag. Creates repositories
//! when planned, uploads the blobs each region lacks, then puts child manifests and the top
//! manifest by digest. Nothing a user pulls by tag changes here.
//!
//! Blobs go in two lanes, so that small blobs (configs) never queue behind big layers: up to
//! `SMALL_LANE` small blobs and `concurrency` large ones (largest first) at a time, each to
//! every region that needs it at once, read from disk once (see `feed`). A region that fails
//! stops receiving work; the others carry on, and the caller decides.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, anyhow};
use futures::StreamExt;
use futures::future::join_all;
use tracing::info;

use super::feed::feed_blob;
use super::plan::RegionPlan;
use super::repository_plan::RepositoryAction;
use crate::config::Config;
use crate::image::LocalImage;
use crate::registry::MountOutcome;

/// Blobs smaller than this go in the small lane.
const SMALL_BLOB: u64 = 1024 * 1024;
/// Small blobs in flight at once.
const SMALL_LANE: usize = 8;

/// What phase 1 did in one region.
#[derive(Clone, Debug, Default)]
pub struct UploadOutcome {
    pub repository_created: bool,
    pub blobs_uploaded: usize,
    pub bytes_uploaded: u64,
    /// Blobs linked from `mount-from` instead of uploaded.
    pub blobs_mounted: usize,
    pub manifests_put: usize,
}

type RegionResult = Mutex<anyhow::Result<UploadOutcome>>;

/// Runs phase 1 in every region at once; one result per plan, in order. `counters` count the
/// bytes each region sent, for progress.
pub async fn push_all(
    plans: &mut [RegionPlan],
    config: &Config,
    image: &LocalImage,
    counters: &[Arc<AtomicU64>],
) -> Vec<anyhow::Result<UploadOutcome>> {
    let prepared = join_all(plans.iter_mut().map(|plan| prepare_region(plan, config))).await;
    let states: Vec<RegionResult> = prepared.into_iter().map(Mutex::new).collect();
    let started = Instant::now();
    upload_blobs(plans, config, image, counters, &states).await;
    for (plan, state) in plans.iter().zip(&states) {
        if let Ok(Ok(outcome)) = state.lock().as_deref() {
            info!(region = %plan.session.target.region, blobs = outcome.blobs_uploaded,
                  bytes = outcome.bytes_uploaded,
                  skipped = image.blobs.len() - outcome.blobs_uploaded,
                  secs = format!("{:.2}", started.elapsed().as_secs_f64()), "uploaded blobs");
        }
    }
    join_all(
        plans
            .iter()
            .zip(&states)
            .map(|(plan, state)| put_manifests(plan, image, state)),
    )
    .await;
    states
        .into_iter()
        .map(|state| {
            state
                .into_inner()
                .unwrap_or_else(|_| Err(anyhow!("internal: a region's upload state was poisoned")))
        })
        .collect()
}

/// Creates the repository when planned, connects, applies repository changes.
async fn prepare_region(plan: &mut RegionPlan, config: &Config) -> anyhow::Result<UploadOutcome> {
    let mut outcome = UploadOutcome::default();
    if plan.repository == RepositoryAction::Create {
        let info = plan
            .session
            .ecr
            .create_repository(&plan.session.target.repository, &config.repository_settings)
            .await?;
        info!(region = %plan.session.target.region, repository = %plan.session.target.repository,
              mutability = %info.tag_mutability, "created repository");
        plan.repository = RepositoryAction::exists(&info);
        outcome.repository_created = true;
        plan.session
            .connect_registry(&super::client_options(config))?;
    }
    super::repository::apply_changes(&plan.session, &plan.changes, config).await?;
    Ok(outcome)
}

/// Uploads every blob some region lacks, in the two lanes.
async fn upload_blobs(
    plans: &[RegionPlan],
    config: &Config,
    image: &LocalImage,
    counters: &[Arc<AtomicU64>],
    states: &[RegionResult],
) {
    let mut wanted: Vec<(usize, Vec<usize>)> = (0..image.blobs.len())
        .map(|blob| {
            let regions = (0..plans.len())
                .filter(|&r| plans[r].missing_blobs.contains(&blob))
                .collect::<Vec<_>>();
            (blob, regions)
        })
        .filter(|(_, regions)| !regions.is_empty())
        .collect();
    wanted.sort_by_key(|(blob, _)| std::cmp::Reverse(image.blobs[*blob].size));
    let (small, large): (Vec<_>, Vec<_>) = wanted
        .into_iter()
        .partition(|(blob, _)| image.blobs[*blob].size < SMALL_BLOB);
    let mount_from = config.mount_from.as_deref();
    let send = |(blob, regions): (usize, Vec<usize>)| {
        upload_one_blob(plans, image, counters, states, mount_from, blob, regions)
    };
    let small_lane = futures::stream::iter(small).for_each_concurrent(SMALL_LANE, send);
    let large_lane = futures::stream::iter(large).for_each_concurrent(config.concurrency, send);
    tokio::join!(small_lane, large_lane);
}

/// Sends one blob to every region in `regions` that has not failed, reading it once.
async fn upload_one_blob(
    plans: &[RegionPlan],
    image: &LocalImage,
    counters: &[Arc<AtomicU64>],
    states: &[RegionResult],
    mount_from: Option<&str>,
    blob_index: usize,
    regions: Vec<usize>,
) {
    let blob = &image.blobs[blob_index];
    let live: Vec<usize> = regions
        .into_iter()
        .filter(|&r| states[r].lock().is_ok_and(|s| s.is_ok()))
        .collect();
    let upload = |region: usize, body| async move {
        let plan = &plans[region];
        let sent = counters[region].clone();
        let result = match (plan.session.registry(), mount_from) {
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
        let result = result.with_context(|| {
            format!(
                "{}: upload blob {} ({} bytes)",
                plan.session.describe(),
                blob.digest,
                blob.size
            )
        });
        (region, result)
    };
    let results = match live.as_slice() {
        [] => return,
        [only] => vec![upload(*only, None).await],
        _ => {
            let (reader, bodies) = feed_blob(blob, live.len());
            let uploads = live
                .iter()
                .zip(bodies)
                .map(|(&r, body)| upload(r, Some(body)));
            tokio::join!(reader, join_all(uploads)).1
        }
    };
    for (region, result) in results {
        let Ok(mut state) = states[region].lock() else {
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

/// Puts the manifests a region lacks, children first, by digest.
async fn put_manifests(plan: &RegionPlan, image: &LocalImage, state: &RegionResult) {
    if !state.lock().is_ok_and(|s| s.is_ok()) {
        return;
    }
    let mut put = 0;
    let mut result = Ok(());
    for manifest in image.manifests_in_push_order() {
        if !plan.missing_manifests.contains(&manifest.digest) {
            continue;
        }
        let stored = match plan.session.registry() {
            Ok(client) => client
                .put_manifest(manifest.digest.as_str(), manifest)
                .await
                .map_err(anyhow::Error::from),
            Err(e) => Err(e),
        };
        if let Err(e) = stored {
            let where_ = plan.session.describe();
            result = Err(e.context(format!(
                "{where_}: put manifest {} by digest",
                manifest.digest
            )));
            break;
        }
        put += 1;
    }
    let Ok(mut state) = state.lock() else { return };
    match (result, state.as_mut()) {
        (Ok(()), Ok(outcome)) => {
            outcome.manifests_put = put;
            info!(region = %plan.session.target.region, manifests = put,
                  digest = %image.top.digest, "manifests stored by digest (untagged)");
        }
        (Err(e), Ok(_)) => *state = Err(e),
        (_, Err(_)) => {}
    }
}
