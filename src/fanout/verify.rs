//! Deep verification of one region: GET every manifest by digest and re-hash the bytes served,
//! then HEAD every blob they reference. A mismatch or a missing piece is `VerificationFailed`
//! (exit 3); a request that fails is an ordinary error (exit 1).

use futures::StreamExt;
use futures::future::try_join_all;
use tracing::info;

use super::session::RegionSession;
use crate::error::VerificationFailed;
use crate::image::{Digest, LocalImage};
use crate::registry::{FetchedManifest, RegistryClient};

/// Verifies that `session`'s region serves exactly `image`.
pub async fn verify_region(
    session: &RegionSession,
    image: &LocalImage,
    concurrency: usize,
) -> anyhow::Result<()> {
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
    info!(region = %session.target.region, manifests = image.manifests_in_push_order().count(),
          blobs = image.blobs.len(), "verified: every manifest re-hashed, every blob present");
    Ok(())
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
