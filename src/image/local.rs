//! The result of reading an image from disk: its manifests as exact bytes, the blob files
//! to stream, and the platforms it covers. Keeps extracted archives alive while in use.

use std::path::PathBuf;
use std::sync::Arc;

use tempfile::TempDir;

use super::digest::Digest;
use super::manifest::ManifestBlob;

/// A config or layer blob stored as a file, to be streamed (never loaded whole).
///
/// `size` was checked against the file; `digest` is verified while streaming.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobFile {
    pub digest: Digest,
    pub size: u64,
    pub media_type: String,
    pub path: PathBuf,
}

/// An image read from local disk, ready to be pushed.
#[derive(Clone, Debug)]
pub struct LocalImage {
    /// The image manifest or index that tags will point at.
    pub top: ManifestBlob,
    /// Child manifests of an index, each after everything it references (nested indexes
    /// possible); empty for a single manifest.
    pub children: Vec<ManifestBlob>,
    /// Config and layer blobs referenced by `top` and `children`, deduplicated by digest,
    /// in first-seen order.
    pub blobs: Vec<BlobFile>,
    /// Platforms such as "linux/amd64", from index descriptors (attestations skipped) or,
    /// for a single manifest, from its config blob; empty if unknown.
    pub platforms: Vec<String>,
    source_description: String,
    /// The directory an archive was extracted into; blob paths point inside it.
    extracted: Option<Arc<TempDir>>,
}

impl LocalImage {
    /// Assembles an image from parts already read (for callers' tests and converters);
    /// `open_image` is the normal way to get one.
    pub fn new(
        top: ManifestBlob,
        children: Vec<ManifestBlob>,
        blobs: Vec<BlobFile>,
        platforms: Vec<String>,
        source_description: String,
    ) -> LocalImage {
        LocalImage {
            top,
            children,
            blobs,
            platforms,
            source_description,
            extracted: None,
        }
    }

    /// Ties the lifetime of an extraction directory to this image.
    pub(crate) fn keeping_alive(mut self, extracted: TempDir) -> LocalImage {
        self.extracted = Some(Arc::new(extracted));
        self
    }

    /// Keeps `other`'s extraction directory alive too (an image made from parts of `other`
    /// whose blob paths point inside it).
    pub(crate) fn sharing_extraction_of(mut self, other: &LocalImage) -> LocalImage {
        self.extracted.clone_from(&other.extracted);
        self
    }

    /// Total size of all blobs in bytes.
    pub fn blob_bytes(&self) -> u64 {
        self.blobs.iter().map(|blob| blob.size).sum()
    }

    /// Where the image came from, e.g. "oci:examples/hello".
    pub fn source_description(&self) -> &str {
        &self.source_description
    }

    /// Every manifest in push order: children (dependencies first), then `top`.
    pub fn manifests_in_push_order(&self) -> impl Iterator<Item = &ManifestBlob> {
        self.children.iter().chain(std::iter::once(&self.top))
    }

    /// The directory an archive was extracted into, if any.
    pub fn extraction_dir(&self) -> Option<&std::path::Path> {
        self.extracted.as_deref().map(TempDir::path)
    }
}
