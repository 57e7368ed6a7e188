//! Phase 1: make a region hold the image by digest, with no tag. Creates the repository when
//! planned, uploads missing blobs streamed from disk (`concurrency` at a time), then puts child
//! manifests and the top manifest by digest. Nothing a user pulls by tag changes here.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::Context;
use futures::StreamExt;
use tracing::info;

use super::plan::{RegionPlan, RepositoryAction};
use crate::config::Config;
use crate::image::LocalImage;

/// What phase 1 did in one region.
#[derive(Clone, Debug, Default)]
pub struct UploadOutcome {
    pub repository_created: bool,
    pub blobs_uploaded: usize,
    pub bytes_uploaded: u64,
    pub manifests_put: usize,
}

/// Runs phase 1 for one region. `sent` counts bytes as they leave, for the report.
pub async fn push_region(
    plan: &mut RegionPlan,
    config: &Config,
    image: &LocalImage,
    sent: Arc<AtomicU64>,
) -> anyhow::Result<UploadOutcome> {
    let mut outcome = UploadOutcome::default();
    let where_ = plan.session.describe();
    if plan.repository == RepositoryAction::Create {
        let info = plan
            .session
            .ecr
            .create_repository(&plan.session.target.repository, &config.repository_settings)
            .await?;
        info!(region = %plan.session.target.region, repository = %plan.session.target.repository,
              mutability = %info.tag_mutability, "created repository");
        plan.repository = RepositoryAction::Exists {
            tag_mutability: info.tag_mutability,
        };
        outcome.repository_created = true;
        plan.session
            .connect_registry(&super::client_options(config))
            .await?;
    }
    super::repository::apply_changes(&plan.session, &plan.changes, config).await?;
    let client = plan.session.registry()?;
    let started = Instant::now();
    let uploads = futures::stream::iter(plan.missing_blobs.iter().map(|&i| &image.blobs[i]))
        .map(|blob| {
            let sent = sent.clone();
            let where_ = &where_;
            async move {
                client
                    .push_blob_streaming(blob, sent)
                    .await
                    .with_context(|| {
                        format!(
                            "{where_}: upload blob {} ({} bytes)",
                            blob.digest, blob.size
                        )
                    })
                    .map(|()| blob.size)
            }
        })
        .buffer_unordered(config.concurrency);
    let results: Vec<anyhow::Result<u64>> = uploads.collect().await;
    for result in results {
        outcome.bytes_uploaded += result?;
        outcome.blobs_uploaded += 1;
    }
    info!(region = %plan.session.target.region, blobs = outcome.blobs_uploaded,
          bytes = outcome.bytes_uploaded, skipped = image.blobs.len() - outcome.blobs_uploaded,
          secs = format!("{:.2}", started.elapsed().as_secs_f64()), "uploaded blobs");
    for manifest in image.manifests_in_push_order() {
        if !plan.missing_manifests.contains(&manifest.digest) {
            continue;
        }
        client
            .put_manifest(manifest.digest.as_str(), manifest)
            .await
            .with_context(|| format!("{where_}: put manifest {} by digest", manifest.digest))?;
        outcome.manifests_put += 1;
    }
    info!(region = %plan.session.target.region, manifests = outcome.manifests_put,
          digest = %image.top.digest, "manifests stored by digest (untagged)");
    debug_assert!(sent.load(Ordering::Relaxed) >= outcome.bytes_uploaded);
    Ok(outcome)
}
