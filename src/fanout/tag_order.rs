//! `tag-order: newer`: a tag moves only to an image not older than the one it points at now,
//! decided once per tag across all destinations: when any destination's tag points at an
//! image created after this run's, the tag stays where it is everywhere (its plans are marked
//! `skipped`, exit 0). Creation times come from [`crate::image::created`]; without one on
//! both sides the run says it cannot decide and moves the tag.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use anyhow::Context;
use tracing::{info, warn};

use super::destination::Destination;
use super::session::RegionSession;
use crate::image::created::{self, CreatedAt};
use crate::image::index_contents::is_attestation;
use crate::image::{BlobFile, Descriptor, Digest, LocalImage, ManifestBlob, ManifestContent};
use crate::report::TagAction;

/// Configs are a few KiB; one far larger is not read.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// Marks every tag that some destination holds at a newer image as skipped, in every
/// destination; the tags skipped.
pub async fn hold_back_older(
    tags: &[String],
    image: &LocalImage,
    destinations: &mut [Destination],
) -> anyhow::Result<Vec<String>> {
    let ours = created_locally(image).await?;
    let mut known: BTreeMap<Digest, Option<CreatedAt>> = BTreeMap::new();
    let mut skipped = Vec::new();
    for tag in tags {
        let holders = current_holders(tag, &image.top.digest, destinations);
        for (digest, session) in &holders {
            if !known.contains_key(digest) {
                let at = created_remotely(session, digest).await?;
                known.insert((*digest).clone(), at);
            }
        }
        let theirs: Vec<(&Digest, Option<&CreatedAt>)> = holders
            .iter()
            .map(|(d, _)| (*d, known.get(*d).and_then(Option::as_ref)))
            .collect();
        match decide(ours.as_ref(), &theirs) {
            Decision::Move => {}
            Decision::Undecided(digest) => warn!(tag = %tag, other = %digest,
                "tag-order newer: cannot decide whether {digest} (tag {tag} now) is older than \
                 {}: {} has no creation time; moving the tag", image.top.digest,
                if ours.is_none() { "this image" } else { "that image" }),
            Decision::Keep(digest, newer) => {
                info!(tag = %tag, newer = %digest,
                      "tag-order newer: tag {tag} stays at {digest} everywhere: that image was \
                       created at {}, this one at {}", newer.text,
                      ours.as_ref().map_or("", |o| o.text.as_str()));
                mark_skipped(tag, destinations);
                skipped.push(tag.clone());
            }
        }
    }
    Ok(skipped)
}

/// What happens to one tag.
#[derive(Debug, PartialEq, Eq)]
enum Decision<'a> {
    Move,
    /// No creation time to compare with the image the tag points at: it moves, with a warning.
    Undecided(&'a Digest),
    /// A destination holds the tag at this newer image.
    Keep(&'a Digest, &'a CreatedAt),
}

fn decide<'a>(
    ours: Option<&CreatedAt>,
    theirs: &[(&'a Digest, Option<&'a CreatedAt>)],
) -> Decision<'a> {
    if let Some(ours) = ours
        && let Some((digest, newer)) = theirs
            .iter()
            .find_map(|(d, at)| at.filter(|at| *at > ours).map(|at| (*d, at)))
    {
        return Decision::Keep(digest, newer);
    }
    match theirs.iter().find(|(_, at)| ours.is_none() || at.is_none()) {
        Some((digest, _)) => Decision::Undecided(digest),
        None => Decision::Move,
    }
}

/// The other images the tag points at, each with a destination that holds it.
fn current_holders<'a>(
    tag: &str,
    ours: &Digest,
    destinations: &'a [Destination],
) -> Vec<(&'a Digest, &'a RegionSession)> {
    let mut holders: Vec<(&Digest, &RegionSession)> = destinations
        .iter()
        .filter_map(|d| {
            let plan = d.plan.as_ref()?.tags.iter().find(|t| t.tag == tag)?;
            let current = plan.current.as_ref().filter(|c| *c != ours)?;
            Some((current, &d.session))
        })
        .collect();
    holders.sort_by(|a, b| a.0.cmp(b.0));
    holders.dedup_by(|a, b| a.0 == b.0);
    holders
}

fn mark_skipped(tag: &str, destinations: &mut [Destination]) {
    let plans = destinations.iter_mut().filter_map(|d| d.plan.as_mut());
    for plan in plans {
        for tag_plan in plan.tags.iter_mut().filter(|t| t.tag == tag) {
            tag_plan.action = TagAction::Skipped;
        }
    }
}

/// This run's creation time: the top manifest's annotation, else its (first platform's)
/// config.
async fn created_locally(image: &LocalImage) -> anyhow::Result<Option<CreatedAt>> {
    if let Some(at) = created::annotated(&image.top.bytes) {
        return Ok(Some(at));
    }
    let manifest = match first_platform_image(&image.top)? {
        None => &image.top,
        Some(entry) => match image.children.iter().find(|c| c.digest == entry.digest) {
            Some(child) => child,
            None => return Ok(None),
        },
    };
    if let Some(at) = created::annotated(&manifest.bytes) {
        return Ok(Some(at));
    }
    let ManifestContent::Image { config, .. } = manifest.content()? else {
        return Ok(None);
    };
    let Some(index) = image.blobs.iter().position(|b| b.digest == config.digest) else {
        return Ok(None);
    };
    image.fetch(index).await?;
    let bytes = tokio::fs::read(&image.blobs[index].path)
        .await
        .with_context(|| format!("read the config {}", config.digest))?;
    Ok(created::of_config(&bytes))
}

/// The creation time of the image `digest` in `session`'s registry.
async fn created_remotely(
    session: &RegionSession,
    digest: &Digest,
) -> anyhow::Result<Option<CreatedAt>> {
    let top = fetch_manifest(session, digest).await?;
    if let Some(at) = created::annotated(&top.bytes) {
        return Ok(Some(at));
    }
    let manifest = match first_platform_image(&top)? {
        None => top,
        Some(entry) => fetch_manifest(session, &entry.digest).await?,
    };
    if let Some(at) = created::annotated(&manifest.bytes) {
        return Ok(Some(at));
    }
    let ManifestContent::Image { config, .. } = manifest.content()? else {
        return Ok(None);
    };
    if config.size > MAX_CONFIG_BYTES {
        return Ok(None);
    }
    let file = tempfile::NamedTempFile::new().context("a temporary file for a config blob")?;
    let (landing, arrival) = crate::image::Arrival::pending();
    let blob = BlobFile {
        digest: config.digest.clone(),
        size: config.size,
        media_type: config.media_type.clone(),
        path: file.path().to_path_buf(),
        arrival,
    };
    session
        .registry()?
        .download_blob(&blob, Arc::new(AtomicU64::new(0)), &landing)
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "{}: read the config {}: {e}",
                session.describe(),
                config.digest
            )
        })?;
    let bytes = tokio::fs::read(file.path()).await?;
    Ok(created::of_config(&bytes))
}

async fn fetch_manifest(session: &RegionSession, digest: &Digest) -> anyhow::Result<ManifestBlob> {
    let fetched = session
        .registry()?
        .get_manifest(digest.as_str())
        .await
        .map_err(|e| anyhow::anyhow!("{}: read the manifest {digest}: {e}", session.describe()))?
        .with_context(|| format!("{}: the manifest {digest} is gone", session.describe()))?;
    ManifestBlob::parse(fetched.bytes, None)
}

/// An index's first entry that is a platform image; `None` for an image manifest.
fn first_platform_image(manifest: &ManifestBlob) -> anyhow::Result<Option<Descriptor>> {
    let ManifestContent::Index { manifests } = manifest.content()? else {
        return Ok(None);
    };
    Ok(manifests.into_iter().find(|d| !is_attestation(d)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(c: char) -> Digest {
        Digest::repeated(c)
    }

    fn at(text: &str) -> CreatedAt {
        CreatedAt::parse(text).unwrap()
    }

    #[test]
    fn a_newer_image_anywhere_keeps_the_tag_else_it_moves() {
        let (old, new) = (at("2024-01-01T00:00:00Z"), at("2025-01-01T00:00:00Z"));
        let (a, b) = (digest('a'), digest('b'));
        assert_eq!(decide(Some(&new), &[(&a, Some(&old))]), Decision::Move);
        assert_eq!(
            decide(Some(&old), &[(&a, Some(&old)), (&b, Some(&new))]),
            Decision::Keep(&b, &new)
        );
        // An image created at the same time is not older: the tag moves.
        assert_eq!(decide(Some(&old), &[(&a, Some(&old))]), Decision::Move);
        assert_eq!(
            decide(Some(&old), &[(&a, None), (&b, Some(&new))]),
            Decision::Keep(&b, &new)
        );
        assert_eq!(decide(Some(&new), &[(&a, None)]), Decision::Undecided(&a));
        assert_eq!(decide(None, &[(&a, Some(&old))]), Decision::Undecided(&a));
        assert_eq!(decide(None, &[]), Decision::Move);
    }
}
