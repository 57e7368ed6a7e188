//! What a region serves under one digest, read back from its registry: every manifest of the
//! tree GET by digest and re-hashed (through `verify::check_manifest`), and the config and
//! layer blobs they reference. `verify` uses it for images this run did not push.

use std::collections::HashSet;

use anyhow::{Context, bail};

use super::verify::check_manifest;
use crate::image::{Descriptor, Digest, ManifestBlob, ManifestContent};
use crate::registry::RegistryClient;

/// Indexes nest one or two levels in practice; deeper means something is wrong.
const MAX_INDEX_DEPTH: usize = 8;

/// An image as one region serves it.
#[derive(Clone, Debug)]
pub struct ServedImage {
    pub top: ManifestBlob,
    /// Child manifests of an index (any depth), in the order they were read.
    pub children: Vec<Digest>,
    /// Config and layer blobs, deduplicated by digest, first seen first.
    pub blobs: Vec<Descriptor>,
    /// `os/arch[/variant]` of an index's entries, attestations left out; empty for a single
    /// manifest (its platform is in the config blob, which is only HEADed).
    pub platforms: Vec<String>,
}

impl ServedImage {
    /// Every manifest digest: children first, then the top.
    pub fn manifest_digests(&self) -> Vec<&Digest> {
        self.children
            .iter()
            .chain(std::iter::once(&self.top.digest))
            .collect()
    }

    pub fn blob_digests(&self) -> Vec<&Digest> {
        self.blobs.iter().map(|b| &b.digest).collect()
    }

    /// Total size of the blobs, as the manifests declare it.
    pub fn blob_bytes(&self) -> u64 {
        self.blobs.iter().map(|b| b.size).sum()
    }
}

/// Reads the manifest tree under `digest`. A manifest that is missing or served with other
/// bytes is a `VerificationFailed`; an unreadable one is an ordinary error.
pub async fn read_served_image(
    client: &RegistryClient,
    digest: &Digest,
    where_: &str,
) -> anyhow::Result<ServedImage> {
    let top = fetch_manifest(client, digest, None, where_).await?;
    let mut image = ServedImage {
        top: top.clone(),
        children: Vec::new(),
        blobs: Vec::new(),
        platforms: Vec::new(),
    };
    let mut seen_blobs = HashSet::new();
    let mut seen_manifests = HashSet::from([digest.clone()]);
    let mut pending = vec![(top, 0usize)];
    while let Some((manifest, depth)) = pending.pop() {
        match manifest.content()? {
            ManifestContent::Image { config, layers } => {
                for blob in std::iter::once(config).chain(layers) {
                    if seen_blobs.insert(blob.digest.clone()) {
                        image.blobs.push(blob);
                    }
                }
            }
            ManifestContent::Index { manifests } => {
                if depth >= MAX_INDEX_DEPTH {
                    bail!(
                        "{where_}: verify: indexes nest more than {MAX_INDEX_DEPTH} levels deep \
                         at {}",
                        manifest.digest
                    );
                }
                for child in manifests {
                    note_platform(&mut image.platforms, &child);
                    if !seen_manifests.insert(child.digest.clone()) {
                        continue;
                    }
                    let fetched =
                        fetch_manifest(client, &child.digest, Some(&child.media_type), where_)
                            .await?;
                    image.children.push(child.digest.clone());
                    pending.push((fetched, depth + 1));
                }
            }
        }
    }
    Ok(image)
}

async fn fetch_manifest(
    client: &RegistryClient,
    digest: &Digest,
    expected_media_type: Option<&str>,
    where_: &str,
) -> anyhow::Result<ManifestBlob> {
    let fetched = check_manifest(client, digest, where_).await?;
    ManifestBlob::parse(fetched.bytes, expected_media_type)
        .with_context(|| format!("{where_}: verify: manifest {digest} cannot be read"))
}

fn note_platform(platforms: &mut Vec<String>, descriptor: &Descriptor) {
    if let Some(platform) = descriptor.platform.as_ref().filter(|p| !p.is_unknown()) {
        let name = platform.to_string();
        if !platforms.contains(&name) {
            platforms.push(name);
        }
    }
}
