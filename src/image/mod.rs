//! The immutable image model. Knows nothing of AWS or HTTP.
//!
//! An image is read from disk (`open_image`) into a `LocalImage`: manifests as their exact
//! stored bytes (never re-serialized, so every registry receives the same digests) and
//! config/layer blobs as files to be streamed later (never loaded whole into memory).

mod archive;
pub mod arrival;
pub mod attestation_referrers;
pub mod blob_read;
pub mod created;
pub mod descriptor;
pub mod digest;
mod docker_archive;
pub mod fixtures;
pub mod index_contents;
pub mod index_fixtures;
mod layer_compression;
mod layout;
mod layout_refs;
pub mod local;
pub mod manifest;
pub mod media_types;
pub mod merged_index;
pub mod platforms;
pub mod source;

#[cfg(test)]
mod archive_tests;
#[cfg(test)]
mod docker_archive_tests;
#[cfg(test)]
mod layout_tests;

use std::path::{Path, PathBuf};

use anyhow::Context;

pub use arrival::{Arrival, Landing};
pub use blob_read::{ChunkReader, hashed_from};
pub use descriptor::{Descriptor, Platform};
pub use digest::{Digest, DigestError, DigestWriter, Sha256Hasher};
pub use local::{BlobFetcher, BlobFile, LocalImage};
pub use manifest::{ManifestBlob, ManifestContent};
pub use source::{ImageSource, RegistryReference};

/// Reads the image `source` points at. Synchronous and possibly slow (archives are
/// extracted, legacy Docker layers compressed): call it from `spawn_blocking`.
pub fn open_image(source: &ImageSource) -> anyhow::Result<LocalImage> {
    let description = source.to_string();
    read_source(source, description.clone())
        .with_context(|| format!("cannot read image {description}"))
}

fn read_source(source: &ImageSource, description: String) -> anyhow::Result<LocalImage> {
    match source {
        ImageSource::OciLayout { path, reference } => {
            layout::read_layout(path, reference.as_deref(), false, description)
        }
        ImageSource::OciArchive { path, reference } => {
            let extracted = archive::extract_to_temp_dir(path)?;
            let layout_root = layout_root_in(extracted.path())?;
            let image = layout::read_layout(&layout_root, reference.as_deref(), true, description)?;
            Ok(image.keeping_alive(extracted))
        }
        ImageSource::DockerArchive { path } => {
            docker_archive::read_docker_archive(path, description)
        }
        ImageSource::DockerDaemon { .. } => anyhow::bail!(
            "internal: a docker-daemon: image must be exported with `docker save` (crate::builder) \
             and read as a docker-archive"
        ),
        ImageSource::Registry(reference) => anyhow::bail!(
            "internal: {reference} is read from its registry (crate::source), not from disk"
        ),
    }
}

/// The layout is normally at the archive root; accept a single wrapping directory too
/// (`tar cf image.tar my-layout/`).
fn layout_root_in(extracted: &Path) -> anyhow::Result<PathBuf> {
    if layout::looks_like_layout(extracted) {
        return Ok(extracted.to_path_buf());
    }
    let subdirectories: Vec<PathBuf> = std::fs::read_dir(extracted)
        .with_context(|| format!("cannot list {}", extracted.display()))?
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
        .map(|entry| entry.path())
        .collect();
    match subdirectories.as_slice() {
        [only] if layout::looks_like_layout(only) => Ok(only.clone()),
        _ => anyhow::bail!(
            "the archive does not contain an OCI image layout (oci-layout and index.json at \
             its root)"
        ),
    }
}
