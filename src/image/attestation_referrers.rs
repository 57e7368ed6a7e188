//! BuildKit's attestation manifests (provenance, SBOMs: index entries of platform
//! `unknown/unknown` with `vnd.docker.reference.type: attestation-manifest`) turned into OCI 1.1
//! referrers of the platform manifest they describe, so that the image is what runs: a
//! one-platform build becomes that platform's single manifest (which AWS Lambda runs), a
//! multi-platform build an index of its platform images only. Each attestation manifest gains
//! a `subject` (its platform manifest) and an `artifactType` (in-toto), so its digest changes;
//! its layers do not, nor does any platform manifest's digest.

use std::collections::HashSet;

use anyhow::Context;
use bytes::Bytes;
use serde_json::{Value, json};

use super::descriptor::Descriptor;
use super::local::LocalImage;
use super::manifest::ManifestBlob;

/// The annotation naming the platform manifest an attestation describes.
const REFERENCE_DIGEST: &str = "vnd.docker.reference.digest";
/// The artifact type given to attestations that carry none.
pub const IN_TOTO: &str = "application/vnd.in-toto+json";

/// `image` with its attestation manifests as referrers; unchanged when it has none.
pub fn attestations_as_referrers(image: LocalImage) -> anyhow::Result<LocalImage> {
    let Some(entries) = image.index_entries()? else {
        return Ok(image);
    };
    if entries.attestations.is_empty() || !entries.nested_indexes.is_empty() {
        return Ok(image);
    }
    let mut referrers = image.referrers.clone();
    for attestation in &entries.attestations {
        referrers.push(as_referrer(&image, attestation)?);
    }
    let attested: HashSet<_> = entries.attestations.iter().map(|d| &d.digest).collect();
    let mut converted = match entries.platform_images.as_slice() {
        [only] => image.child_as_image(only)?,
        _ => without_attestations(&image, &attested)?,
    };
    // The attestations' layers travel with them.
    for blob in &image.blobs {
        if !converted.blobs.iter().any(|b| b.digest == blob.digest) {
            converted.blobs.push(blob.clone());
        }
    }
    tracing::info!(attestations = entries.attestations.len(), image = %converted.top.digest,
                   "attestations pushed as referrers of their platform manifests");
    let cosign_tags = image.cosign_tags.clone();
    Ok(converted
        .with_referrers(referrers)
        .with_cosign_tags(cosign_tags))
}

/// The attestation manifest with its platform manifest as `subject` and an `artifactType`.
fn as_referrer(image: &LocalImage, attestation: &Descriptor) -> anyhow::Result<ManifestBlob> {
    let manifest = image
        .children
        .iter()
        .find(|c| c.digest == attestation.digest)
        .with_context(|| {
            format!(
                "attestation {} is not among the index's children",
                attestation.digest
            )
        })?;
    let subject_digest = attestation.annotation(REFERENCE_DIGEST).with_context(|| {
        format!(
            "attestation {} names no {REFERENCE_DIGEST}",
            attestation.digest
        )
    })?;
    let subject = image
        .children
        .iter()
        .find(|c| c.digest.as_str() == subject_digest)
        .with_context(|| {
            format!(
                "attestation {} describes {subject_digest}, which the index does not hold",
                attestation.digest
            )
        })?;
    let mut json: Value = serde_json::from_slice(&manifest.bytes)
        .with_context(|| format!("attestation {} is not JSON", attestation.digest))?;
    let object = json
        .as_object_mut()
        .with_context(|| format!("attestation {} is not a JSON object", attestation.digest))?;
    object
        .entry("artifactType")
        .or_insert_with(|| Value::String(IN_TOTO.to_string()));
    object.insert(
        "subject".to_string(),
        json!({
            "mediaType": subject.media_type,
            "digest": subject.digest.as_str(),
            "size": subject.bytes.len(),
        }),
    );
    ManifestBlob::parse(
        Bytes::from(serde_json::to_vec(&json)?),
        Some(&manifest.media_type),
    )
}

/// The index without its attestation entries, its other children and blobs as they are.
fn without_attestations(
    image: &LocalImage,
    attested: &HashSet<&super::digest::Digest>,
) -> anyhow::Result<LocalImage> {
    let mut index: Value = serde_json::from_slice(&image.top.bytes)
        .with_context(|| format!("index {} is not JSON", image.top.digest))?;
    if let Some(manifests) = index.get_mut("manifests").and_then(Value::as_array_mut) {
        manifests.retain(|entry| {
            entry["digest"]
                .as_str()
                .is_none_or(|d| !attested.iter().any(|a| a.as_str() == d))
        });
    }
    let top = ManifestBlob::parse(
        Bytes::from(serde_json::to_vec(&index)?),
        Some(&image.top.media_type),
    )?;
    let children = image
        .children
        .iter()
        .filter(|c| !attested.contains(&c.digest))
        .cloned()
        .collect();
    let converted = LocalImage::new(
        top,
        children,
        image.blobs.clone(),
        image.platforms.clone(),
        image.source_description().to_string(),
    );
    Ok(converted.sharing_extraction_of(image))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::index_fixtures::write_index_layout;
    use crate::image::{ImageSource, open_image};

    fn open(dir: &std::path::Path) -> LocalImage {
        open_image(&ImageSource::OciLayout {
            path: dir.to_path_buf(),
            reference: None,
        })
        .unwrap()
    }

    #[test]
    fn a_one_platform_build_becomes_its_manifest_with_the_attestation_as_referrer() {
        let dir = tempfile::tempdir().unwrap();
        write_index_layout(dir.path(), "attested", &["linux/amd64"], true).unwrap();
        let image = open(dir.path());
        let platform = image
            .children
            .iter()
            .find(|c| !c.is_index() && c.subject().is_none())
            .cloned();
        let converted = attestations_as_referrers(image.clone()).unwrap();
        assert!(!converted.top.is_index());
        assert_eq!(converted.referrers.len(), 1);
        let referrer = &converted.referrers[0];
        assert_eq!(referrer.subject(), Some(converted.top.digest.clone()));
        assert_eq!(referrer.artifact_type().as_deref(), Some(IN_TOTO));
        assert!(platform.is_some_and(|p| image.children.iter().any(|c| c.digest == p.digest)));
        for blob in referrer.references().unwrap() {
            assert!(
                converted.blobs.iter().any(|b| b.digest == blob.digest),
                "{}",
                blob.digest
            );
        }
    }

    #[test]
    fn a_multi_platform_build_keeps_an_index_of_its_images_only() {
        let dir = tempfile::tempdir().unwrap();
        write_index_layout(
            dir.path(),
            "attested-2",
            &["linux/amd64", "linux/arm64"],
            true,
        )
        .unwrap();
        let image = open(dir.path());
        let converted = attestations_as_referrers(image.clone()).unwrap();
        assert!(converted.top.is_index());
        assert_eq!(converted.children.len(), 2);
        assert_eq!(converted.referrers.len(), 2);
        let entries = converted.index_entries().unwrap().unwrap();
        assert!(entries.attestations.is_empty());
        assert_eq!(entries.platform_images.len(), 2);
        let unchanged = attestations_as_referrers(converted.clone()).unwrap();
        assert_eq!(unchanged.top.digest, converted.top.digest);
    }
}
