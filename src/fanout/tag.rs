//! Phase 2: put the top manifest under each tag (a few at a time), then read every tag back
//! (a tag at other bytes is left to the convergence check). Only runs once every region holds and verified the image by digest. A
//! cancellation stops new tag puts from starting; a put in flight finishes.

use anyhow::anyhow;
use futures::StreamExt;
use futures::future::join_all;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::session::RegionSession;
use crate::image::LocalImage;
use crate::registry::{RegistryError, RegistryErrorKind};
use crate::report::{TagAction, TagPlan};

/// Which tags a region moved, and the error that stopped it, if any.
#[derive(Debug, Default)]
pub struct TagOutcome {
    pub moved: Vec<String>,
    pub error: Option<anyhow::Error>,
}

/// Puts the tags that do not already point at the image (and are not skipped by
/// `tag-order: newer`), then reads all of them back.
pub async fn tag_region(
    session: &RegionSession,
    image: &LocalImage,
    tags: &[TagPlan],
    cancel: &CancellationToken,
) -> TagOutcome {
    let mut outcome = TagOutcome::default();
    if let Err(e) = put_tags(session, image, tags, &mut outcome.moved, cancel).await {
        outcome.error = Some(e);
        return outcome;
    }
    if let Err(e) = read_back(session, image, &outcome.moved).await {
        outcome.error = Some(e);
    }
    outcome
}

/// Tag puts in flight at once in one region: a round trip for all of a run's tags, while
/// staying far below ECR's PutImage rate (10 per second per region).
const TAG_PUTS_AT_ONCE: usize = 3;

/// Puts the tags that do not point at the image yet, up to [`TAG_PUTS_AT_ONCE`] at a time.
/// Every put that succeeded is in `moved` (in tag order), even when another one failed.
async fn put_tags(
    session: &RegionSession,
    image: &LocalImage,
    tags: &[TagPlan],
    moved: &mut Vec<String>,
    cancel: &CancellationToken,
) -> anyhow::Result<()> {
    let client = session.registry()?;
    let pending = tags.iter().filter(|t| {
        t.current.as_ref() != Some(&image.top.digest) && t.action != TagAction::Skipped
    });
    let results: Vec<(&str, anyhow::Result<bool>)> = futures::stream::iter(pending)
        .map(|tag| async move {
            if cancel.is_cancelled() {
                let error = anyhow!(
                    "{}, tag {}: cancelled before the tag was put",
                    session.describe(),
                    tag.tag
                );
                return (tag.tag.as_str(), Err(error));
            }
            let result = match client.put_manifest(&tag.tag, &image.top).await {
                Ok(()) => Ok(true),
                Err(e) if e.kind == RegistryErrorKind::ImmutableTag => {
                    immutable_refusal(session, image, &tag.tag, &e)
                        .await
                        .map(|()| false)
                }
                Err(e) => Err(anyhow!(
                    "{}, tag {}: put tag: {e}",
                    session.describe(),
                    tag.tag
                )),
            };
            (tag.tag.as_str(), result)
        })
        .buffered(TAG_PUTS_AT_ONCE)
        .collect()
        .await;
    let mut first_error = None;
    for (tag, result) in results {
        match result {
            Ok(true) => moved.push(tag.to_string()),
            Ok(false) => {}
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    info!(region = %session.target.region, moved = ?moved, digest = %image.top.digest, "tags put");
    Ok(())
}

/// ECR refused a tag as immutable in phase 2, although the plan found it mutable: the
/// repository's tag mutability changed during the run.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RefusedAsImmutable(pub String);

/// ECR refused to overwrite a tag (`TAG_INVALID`). Fine when the tag already points at this
/// image (someone pushed it meanwhile); otherwise a [`RefusedAsImmutable`] naming both digests.
async fn immutable_refusal(
    session: &RegionSession,
    image: &LocalImage,
    tag: &str,
    error: &RegistryError,
) -> anyhow::Result<()> {
    let current = session.registry()?.get_manifest(tag).await.ok().flatten();
    match current {
        Some(m) if m.digest == image.top.digest => Ok(()),
        other => Err(RefusedAsImmutable(format!(
            "{}: tag {tag} was refused as immutable in phase 2 although the plan found it \
             mutable (the repository's tag mutability changed during the run?); it points at {}; \
             this image is {} (ECR: {error})",
            session.describe(),
            other.map_or("another image".to_string(), |m| m.digest.to_string()),
            image.top.digest
        ))
        .into()),
    }
}

/// Reads every tag this run put back at once. A tag at another digest is not an error here: a
/// concurrent run may have moved it, and the convergence check after every region's puts
/// decides.
async fn read_back(
    session: &RegionSession,
    image: &LocalImage,
    moved: &[String],
) -> anyhow::Result<()> {
    let client = session.registry()?;
    let served = join_all(moved.iter().map(|tag| client.get_manifest(tag))).await;
    for (tag, served) in moved.iter().zip(served) {
        let served = served
            .map_err(|e| anyhow!("{}, tag {tag}: read the tag back: {e}", session.describe()))?
            .map(|m| m.digest);
        if served.as_ref() != Some(&image.top.digest) {
            warn!(region = %session.target.region, tag = %tag, ours = %image.top.digest,
                  served = ?served.map(|d| d.to_string()),
                  "the tag read back at other bytes (another run?); the convergence check decides");
        }
    }
    Ok(())
}
