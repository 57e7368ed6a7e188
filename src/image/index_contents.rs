//! What an index holds, sorted into platform images, attestation manifests (build provenance,
//! SBOMs: platform `unknown/unknown`) and nested indexes; and taking one child manifest out as
//! an image of its own, with only the blobs it references. Nothing is changed in place: the
//! result is a new `LocalImage` over the same exact bytes and blob files.

use std::collections::HashSet;

use anyhow::{Context, bail};

use super::descriptor::Descriptor;
use super::local::LocalImage;
use super::media_types;
use super::platforms;

/// The annotation BuildKit puts on attestation manifests in an index.
const REFERENCE_TYPE_ANNOTATION: &str = "vnd.docker.reference.type";
const ATTESTATION_REFERENCE_TYPE: &str = "attestation-manifest";

/// The entries of an image index, by kind, in index order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IndexEntries {
    /// Image manifests for a real platform (or with no platform given).
    pub platform_images: Vec<Descriptor>,
    /// Attestation manifests: platform `unknown/unknown` or BuildKit's attestation annotation.
    pub attestations: Vec<Descriptor>,
    /// Entries that are indexes themselves.
    pub nested_indexes: Vec<Descriptor>,
}

/// True for an index entry that carries attestations rather than a runnable image.
pub fn is_attestation(descriptor: &Descriptor) -> bool {
    descriptor.platform.as_ref().is_some_and(|p| p.is_unknown())
        || descriptor.annotation(REFERENCE_TYPE_ANNOTATION) == Some(ATTESTATION_REFERENCE_TYPE)
}

impl LocalImage {
    /// The top index's entries by kind; `None` when the image is a single manifest.
    pub fn index_entries(&self) -> anyhow::Result<Option<IndexEntries>> {
        if !self.top.is_index() {
            return Ok(None);
        }
        let mut entries = IndexEntries::default();
        for descriptor in self.top.references()? {
            if media_types::is_index(&descriptor.media_type) {
                entries.nested_indexes.push(descriptor);
            } else if is_attestation(&descriptor) {
                entries.attestations.push(descriptor);
            } else {
                entries.platform_images.push(descriptor);
            }
        }
        Ok(Some(entries))
    }

    /// The child image manifest `entry` as an image of its own: its exact bytes as the top,
    /// no children, and only the config and layer blobs it references.
    pub fn child_as_image(&self, entry: &Descriptor) -> anyhow::Result<LocalImage> {
        let manifest = self
            .children
            .iter()
            .find(|child| child.digest == entry.digest)
            .with_context(|| format!("index entry {} is not among its children", entry.digest))?;
        if manifest.is_index() {
            bail!("index entry {} is an index, not an image", entry.digest);
        }
        let referenced: HashSet<_> = manifest
            .references()?
            .into_iter()
            .map(|d| d.digest)
            .collect();
        let blobs: Vec<_> = self
            .blobs
            .iter()
            .filter(|blob| referenced.contains(&blob.digest))
            .cloned()
            .collect();
        let platforms = match entry.platform.as_ref().filter(|p| !p.is_unknown()) {
            Some(platform) => vec![platform.to_string()],
            None => platforms::from_single_manifest(manifest, &blobs),
        };
        let description = format!(
            "{} (manifest {} only)",
            self.source_description(),
            manifest.digest
        );
        let image = LocalImage::new(manifest.clone(), Vec::new(), blobs, platforms, description);
        Ok(image.sharing_extraction_of(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::fixtures::{write_multi_platform_layout, write_single_manifest_layout};
    use crate::image::{ImageSource, open_image};

    fn open(dir: &std::path::Path) -> LocalImage {
        let source: ImageSource = format!("oci:{}", dir.display()).parse().unwrap();
        open_image(&source).unwrap()
    }

    #[test]
    fn a_single_manifest_has_no_entries() {
        let dir = tempfile::tempdir().unwrap();
        write_single_manifest_layout(dir.path(), "entries", &[100]).unwrap();
        assert_eq!(open(dir.path()).index_entries().unwrap(), None);
    }

    #[test]
    fn a_child_becomes_an_image_with_only_its_blobs() {
        let dir = tempfile::tempdir().unwrap();
        write_multi_platform_layout(dir.path(), "entries").unwrap();
        let index = open(dir.path());
        let entries = index.index_entries().unwrap().unwrap();
        assert_eq!(entries.platform_images.len(), 2);
        assert!(entries.attestations.is_empty() && entries.nested_indexes.is_empty());
        let arm = &entries.platform_images[1];
        let image = index.child_as_image(arm).unwrap();
        assert_eq!(image.top.digest, arm.digest);
        assert!(image.children.is_empty());
        assert_eq!(image.platforms, ["linux/arm64/v8"]);
        // shared layer, own layer, own config: the amd64 layer and config are left out
        assert_eq!(image.blobs.len(), 3);
        assert_eq!(index.blobs.len(), 5);
        let referenced: Vec<_> = image.top.references().unwrap();
        for blob in &image.blobs {
            assert!(referenced.iter().any(|d| d.digest == blob.digest));
        }
    }

    #[test]
    fn attestations_are_recognised_by_platform_or_annotation() {
        let digest = crate::image::Digest::of_bytes(b"x");
        let mut by_platform = Descriptor::new(media_types::OCI_MANIFEST, digest.clone(), 1);
        by_platform.platform = Some(crate::image::Platform {
            architecture: "unknown".into(),
            os: "unknown".into(),
            variant: None,
        });
        assert!(is_attestation(&by_platform));
        let mut by_annotation = Descriptor::new(media_types::OCI_MANIFEST, digest.clone(), 1);
        by_annotation.annotations.insert(
            REFERENCE_TYPE_ANNOTATION.into(),
            ATTESTATION_REFERENCE_TYPE.into(),
        );
        assert!(is_attestation(&by_annotation));
        assert!(!is_attestation(&Descriptor::new(
            media_types::OCI_MANIFEST,
            digest,
            1
        )));
    }
}
