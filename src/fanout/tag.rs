//! Phase 2: put the top manifest under each tag, then read each tag back and compare digests.
//! Only runs once every region holds and verified the image by digest.

use anyhow::anyhow;
use tracing::info;

use super::plan::TagPlan;
use super::session::RegionSession;
use crate::error::VerificationFailed;
use crate::image::LocalImage;

/// Which tags a region moved, and the error that stopped it, if any.
#[derive(Debug, Default)]
pub struct TagOutcome {
    pub moved: Vec<String>,
    pub error: Option<anyhow::Error>,
}

/// Puts the tags that do not already point at the image, then reads all of them back.
pub async fn tag_region(
    session: &RegionSession,
    image: &LocalImage,
    tags: &[TagPlan],
) -> TagOutcome {
    let mut outcome = TagOutcome::default();
    if let Err(e) = put_tags(session, image, tags, &mut outcome.moved).await {
        outcome.error = Some(e);
        return outcome;
    }
    if let Err(e) = read_back(session, image, tags).await {
        outcome.error = Some(e);
    }
    outcome
}

async fn put_tags(
    session: &RegionSession,
    image: &LocalImage,
    tags: &[TagPlan],
    moved: &mut Vec<String>,
) -> anyhow::Result<()> {
    let client = session.registry()?;
    for tag in tags
        .iter()
        .filter(|t| t.current.as_ref() != Some(&image.top.digest))
    {
        client
            .put_manifest(&tag.tag, &image.top)
            .await
            .map_err(|e| anyhow!("{}, tag {}: put tag: {e}", session.describe(), tag.tag))?;
        moved.push(tag.tag.clone());
    }
    info!(region = %session.target.region, moved = ?moved, digest = %image.top.digest, "tags put");
    Ok(())
}

async fn read_back(
    session: &RegionSession,
    image: &LocalImage,
    tags: &[TagPlan],
) -> anyhow::Result<()> {
    let client = session.registry()?;
    for tag in tags {
        let served = client.get_manifest(&tag.tag).await.map_err(|e| {
            anyhow!(
                "{}, tag {}: read the tag back: {e}",
                session.describe(),
                tag.tag
            )
        })?;
        match served {
            Some(m) if m.digest == image.top.digest => {}
            other => {
                return Err(VerificationFailed(format!(
                    "{}, tag {}: read back {} instead of {}",
                    session.describe(),
                    tag.tag,
                    other.map_or("nothing".to_string(), |m| m.digest.to_string()),
                    image.top.digest
                ))
                .into());
            }
        }
    }
    Ok(())
}
