//! Deep verification of one region: GET every manifest by digest and re-hash the bytes served,
//! then HEAD every blob they reference, then check that every referrer that travelled is
//! listed for its subject. A mismatch or a missing piece is `VerificationFailed`
//! (exit 3); a request that fails is an ordinary error (exit 1).

use futures::StreamExt;
use futures::future::try_join_all;
use tracing::info;

use super::session::RegionSession;
use crate::error::VerificationFailed;
use crate::image::{Digest, LocalImage};
use crate::registry::{FetchedManifest, RegistryClient};
use crate::report::ListedReferrer;

/// Verifies that `session`'s region serves exactly `image`; the referrers it lists for it.
pub async fn verify_region(
    session: &RegionSession,
    image: &LocalImage,
    concurrency: usize,
) -> anyhow::Result<Vec<ListedReferrer>> {
    let client = session.registry()?;
    let where_ = session.describe();
    let manifests = try_join_all(
        image
            .manifests_in_push_order()
            .map(|manifest| check_manifest(client, &manifest.digest, &where_)),
    );
    let blobs: Vec<&Digest> = image.blobs.iter().map(|blob| &blob.digest).collect();
    // Manifests and blobs at once: one round trip to the region, not two.
    let (manifests, blobs) =
        tokio::join!(manifests, check_blobs(client, &blobs, concurrency, &where_));
    manifests?;
    blobs?;
    let listed = check_referrers_listed(client, image, &where_).await?;
    info!(region = %session.target.region, manifests = image.manifests_in_push_order().count(),
          blobs = image.blobs.len(), "verified: every manifest re-hashed, every blob present");
    Ok(listed)
}

/// Every referrer that travelled is listed among its subject's referrers with its artifact
/// type. Referrers of the destination's own (ECR managed signing signs each region itself) are
/// logged, never a failure. A registry without the referrers API lists what its fallback tag
/// holds, which phase 1 kept up to date.
async fn check_referrers_listed(
    client: &RegistryClient,
    image: &LocalImage,
    where_: &str,
) -> anyhow::Result<Vec<ListedReferrer>> {
    let mut found = Vec::new();
    let mut subjects: Vec<Digest> = image.referrers.iter().filter_map(|r| r.subject()).collect();
    subjects.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    subjects.dedup();
    for subject in subjects {
        let (listed, source) = client.referrers(&subject).await.map_err(|e| {
            anyhow::anyhow!("{where_}: verify: list the referrers of {subject}: {e}")
        })?;
        if source == crate::registry::ReferrersSource::FallbackTag {
            info!(%subject, "{where_}: no referrers API; checking its fallback tag");
        }
        for referrer in image
            .referrers
            .iter()
            .filter(|r| r.subject().as_ref() == Some(&subject))
        {
            let expected = referrer.artifact_type();
            match listed.iter().find(|d| d.digest == referrer.digest) {
                None => {
                    return Err(VerificationFailed(format!(
                        "{where_}: verify: referrer {} ({}) of {subject} is not listed",
                        referrer.digest,
                        expected.as_deref().unwrap_or("no artifact type")
                    ))
                    .into());
                }
                Some(d) if d.artifact_type != expected => {
                    return Err(VerificationFailed(format!(
                        "{where_}: verify: referrer {} of {subject} is listed as {} instead of {}",
                        referrer.digest,
                        d.artifact_type.as_deref().unwrap_or("no artifact type"),
                        expected.as_deref().unwrap_or("no artifact type")
                    ))
                    .into());
                }
                Some(_) => {}
            }
        }
        let own = listed
            .iter()
            .filter(|d| !image.referrers.iter().any(|r| r.digest == d.digest))
            .count();
        if own > 0 {
            info!(%subject, own, "{where_}: also lists referrers of its own (kept)");
        }
        found.extend(listed.into_iter().map(|d| ListedReferrer {
            own: !image.referrers.iter().any(|r| r.digest == d.digest),
            digest: d.digest,
            artifact_type: d.artifact_type,
        }));
    }
    Ok(found)
}

/// HEADs every blob (`concurrency` × 2 at a time); a missing one is `VerificationFailed`.
pub async fn check_blobs(
    client: &RegistryClient,
    blobs: &[&Digest],
    concurrency: usize,
    where_: &str,
) -> anyhow::Result<()> {
    let checks = futures::stream::iter(blobs.iter().copied())
        .map(|digest| async move { (digest, client.blob_exists(digest).await) })
        .buffer_unordered(concurrency * 2);
    let results: Vec<_> = checks.collect().await;
    for (digest, result) in results {
        let exists =
            result.map_err(|e| anyhow::anyhow!("{where_}: verify: HEAD blob {digest}: {e}"))?;
        if !exists {
            return Err(
                VerificationFailed(format!("{where_}: verify: blob {digest} is missing")).into(),
            );
        }
    }
    Ok(())
}

/// GETs a manifest by digest and checks the sha256 of the bytes served; returns what was
/// served.
pub async fn check_manifest(
    client: &RegistryClient,
    digest: &Digest,
    where_: &str,
) -> anyhow::Result<FetchedManifest> {
    let fetched = client
        .get_manifest(digest.as_str())
        .await
        .map_err(|e| anyhow::anyhow!("{where_}: verify: GET manifest {digest}: {e}"))?;
    match fetched {
        None => Err(
            VerificationFailed(format!("{where_}: verify: manifest {digest} is missing")).into(),
        ),
        Some(m) if m.digest != *digest => Err(VerificationFailed(format!(
            "{where_}: verify: manifest {digest} was served with different bytes (sha256 of what \
             was served: {})",
            m.digest
        ))
        .into()),
        Some(served) => Ok(served),
    }
}
