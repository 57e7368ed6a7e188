//! What is attached to a manifest in a registry: its OCI 1.1 referrers (the referrers API,
//! else the fallback tag) and cosign's tags (`sha256-<hex>.sig`, `.att`, `.sbom`), each read as
//! its exact bytes and checked. Shared by a promoted image's source and a merge's destinations.

use anyhow::anyhow;

use super::read_described;
use crate::image::{Digest, ManifestBlob};
use crate::registry::RegistryClient;

/// The referrers of `subject` at `client` that are manifests (an index as a referrer is
/// logged and left behind). A registry that refuses the listing has none to give. `origin`
/// names the registry in messages.
pub async fn referrers(
    client: &RegistryClient,
    origin: &str,
    subject: &Digest,
) -> anyhow::Result<Vec<ManifestBlob>> {
    let listed = match client.referrers(subject).await {
        Ok((listed, _)) => listed,
        // A registry that refuses the request (rather than failing to answer) has no
        // referrers to give; the image still travels.
        Err(e) if e.kind.is_refusal() => {
            tracing::warn!(%subject, "{origin}: cannot list referrers ({e}); none travel");
            return Ok(Vec::new());
        }
        Err(e) => return Err(anyhow!("{origin}: list the referrers of {subject}: {e}")),
    };
    let mut found: Vec<ManifestBlob> = Vec::new();
    for descriptor in listed {
        if found.iter().any(|r| r.digest == descriptor.digest) {
            continue;
        }
        let referrer = read_described(client, origin, &descriptor, || {
            anyhow!(
                "{origin}: referrer {} of {subject} is listed but missing",
                descriptor.digest
            )
        })
        .await?;
        if referrer.is_index() {
            tracing::warn!(referrer = %referrer.digest,
                           "{origin}: an index as a referrer does not travel (only manifests do)");
            continue;
        }
        found.push(referrer);
    }
    Ok(found)
}

/// Cosign's tags of `subject` at `client` that hold a manifest, with that manifest.
pub async fn cosign_tags(
    client: &RegistryClient,
    origin: &str,
    subject: &Digest,
) -> anyhow::Result<Vec<(String, ManifestBlob)>> {
    let mut found = Vec::new();
    for suffix in ["sig", "att", "sbom"] {
        let tag = format!("sha256-{}.{suffix}", subject.hex());
        let fetched = client
            .get_manifest(&tag)
            .await
            .map_err(|e| anyhow!("{origin}: read the tag {tag}: {e}"))?;
        let Some(fetched) = fetched else {
            continue;
        };
        let manifest = ManifestBlob::parse(fetched.bytes, Some(&fetched.media_type))?;
        if !manifest.is_index() {
            found.push((tag, manifest));
        }
    }
    Ok(found)
}
