//! The result of reading an image: its manifests as exact bytes, the blob files to stream, and
//! the platforms it covers. Keeps extracted archives alive while in use. An image read from a
//! registry has its blob files fetched on demand, through a [`BlobFetcher`], once the push knows
//! which blobs some destination lacks.

use std::path::PathBuf;
use std::sync::Arc;

use futures::future::BoxFuture;
use tempfile::TempDir;

use super::arrival::Arrival;
use super::digest::Digest;
use super::manifest::ManifestBlob;
use super::source::RegistryReference;

/// A config or layer blob stored as a file, to be streamed (never loaded whole).
///
/// `size` was checked against the file; `digest` is verified while streaming.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobFile {
    pub digest: Digest,
    pub size: u64,
    pub media_type: String,
    pub path: PathBuf,
    /// Whether the file is whole on disk or still being written (an image read from a
    /// registry, pushed on while it downloads).
    pub arrival: Arrival,
}

/// An image read from local disk, ready to be pushed.
#[derive(Clone, Debug)]
pub struct LocalImage {
    /// The image manifest or index that tags will point at.
    pub top: ManifestBlob,
    /// Child manifests of an index, each after everything it references (nested indexes
    /// possible); empty for a single manifest.
    pub children: Vec<ManifestBlob>,
    /// Config and layer blobs referenced by `top`, `children` and `referrers`, deduplicated
    /// by digest, in first-seen order.
    pub blobs: Vec<BlobFile>,
    /// Manifests whose `subject` is `top` or a child (signatures, SBOMs, attestations), which
    /// travel with the image: pushed by digest after it.
    pub referrers: Vec<ManifestBlob>,
    /// Cosign's tagged artifacts of the image (`sha256-<hex>.sig`, `.att`, `.sbom`: the tag
    /// and the manifest it holds), which travel as tags beside the image.
    pub cosign_tags: Vec<(String, ManifestBlob)>,
    /// Platforms such as "linux/amd64", from index descriptors (attestations skipped) or,
    /// for a single manifest, from its config blob; empty if unknown.
    pub platforms: Vec<String>,
    source_description: String,
    /// The directory an archive was extracted into; blob paths point inside it.
    extracted: Option<Arc<TempDir>>,
    /// For an image read from a registry: writes blob files on demand.
    fetcher: Option<Arc<dyn BlobFetcher>>,
}

/// Writes the files of blobs that are not on disk yet (an image read from a registry), each
/// verified against its digest and size, telling the file's readers how far it has landed
/// ([`BlobFile::arrival`]). Called by the push for each blob some destination lacks, alongside
/// its upload; blobs every destination holds are never fetched.
pub trait BlobFetcher: Send + Sync + std::fmt::Debug {
    /// Fetches `blob` to its `path` (nothing when it is there already); the bytes fetched.
    fn fetch<'a>(&'a self, blob: &'a BlobFile) -> BoxFuture<'a, anyhow::Result<u64>>;

    /// The registry repository the blobs are read from, when there is one (a merge reads
    /// each child from a destination that holds it).
    fn reference(&self) -> Option<&RegistryReference>;
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
            referrers: Vec::new(),
            cosign_tags: Vec::new(),
            platforms,
            source_description,
            extracted: None,
            fetcher: None,
        }
    }

    /// The image with `referrers` travelling along (their blobs already in `blobs`).
    pub fn with_referrers(mut self, referrers: Vec<ManifestBlob>) -> LocalImage {
        self.referrers = referrers;
        self
    }

    /// The image with cosign's tagged artifacts travelling along (their blobs in `blobs`).
    pub fn with_cosign_tags(mut self, tags: Vec<(String, ManifestBlob)>) -> LocalImage {
        self.cosign_tags = tags;
        self
    }

    /// Blob files are fetched on demand by `fetcher` ([`LocalImage::fetch`]).
    pub fn fetched_by(mut self, fetcher: Arc<dyn BlobFetcher>) -> LocalImage {
        self.fetcher = Some(fetcher);
        self
    }

    /// Whether blob files must be fetched before they are read (an image from a registry).
    pub fn is_remote(&self) -> bool {
        self.fetcher.is_some()
    }

    /// The registry repository an image read from a registry comes from.
    pub fn registry_reference(&self) -> Option<&RegistryReference> {
        self.fetcher.as_deref().and_then(|f| f.reference())
    }

    /// Makes the file of blob `index` exist, its readers reading it as it lands: a no-op for an
    /// image on disk. The bytes fetched.
    pub async fn fetch(&self, index: usize) -> anyhow::Result<u64> {
        match (&self.fetcher, self.blobs.get(index)) {
            (Some(fetcher), Some(blob)) => fetcher.fetch(blob).await,
            _ => Ok(0),
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
        self.fetcher.clone_from(&other.fetcher);
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

    /// Every manifest in push order: children (dependencies first), then `top`, then the
    /// referrers (after what they refer to) and cosign's tagged artifacts.
    pub fn manifests_in_push_order(&self) -> impl Iterator<Item = &ManifestBlob> {
        self.children
            .iter()
            .chain(std::iter::once(&self.top))
            .chain(&self.referrers)
            .chain(self.cosign_tags.iter().map(|(_, manifest)| manifest))
    }

    /// The directory an archive was extracted into, if any.
    pub fn extraction_dir(&self) -> Option<&std::path::Path> {
        self.extracted.as_deref().map(TempDir::path)
    }
}
