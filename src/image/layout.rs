//! Reading an OCI image layout directory (`oci-layout`, `index.json`, `blobs/sha256/*`):
//! choosing the `index.json` entry, verifying manifests fully and blob files by size, and
//! walking nested indexes so that children come after everything they reference. Entries that
//! refer to the image (manifests with a `subject`, as `oras attach` writes them) travel with it
//! as its referrers; the signature, attestation and SBOM images `cosign save` marks with a
//! `kind` annotation travel as cosign's tags of the image (`sha256-<hex>.sig`, `.att`, `.sbom`).

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use bytes::Bytes;
use serde::Deserialize;

use super::descriptor::{Descriptor, Platform};
use super::digest::Digest;
use super::layout_refs::select_entry;
use super::local::{BlobFile, LocalImage};
use super::manifest::ManifestBlob;
use super::platforms;

/// Registries (ECR included) refuse manifests above 4 MiB; larger files are not manifests.
const MAX_MANIFEST_BYTES: u64 = 4 * 1024 * 1024;
/// Indexes nest one or two levels in practice; deeper means something is wrong.
const MAX_INDEX_DEPTH: usize = 8;

#[derive(Deserialize)]
struct LayoutMarker {
    #[serde(rename = "imageLayoutVersion")]
    image_layout_version: String,
}

#[derive(Deserialize)]
struct LayoutIndex {
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

/// True if `root` has the two files that make it an OCI layout.
pub(crate) fn looks_like_layout(root: &Path) -> bool {
    root.join("oci-layout").is_file() && root.join("index.json").is_file()
}

/// Reads the image selected by `reference` from the OCI layout at `root`.
///
/// With `confine_to_root`, every file read must resolve (after symlinks) inside `root`;
/// this is used for layouts extracted from untrusted archives.
pub(crate) fn read_layout(
    root: &Path,
    reference: Option<&str>,
    confine_to_root: bool,
    source_description: String,
) -> anyhow::Result<LocalImage> {
    let reader = LayoutReader::new(root, confine_to_root)?;
    let entries = reader.read_index()?;
    // Entries whose manifest has a `subject` are referrers (as `oras attach` writes them), and
    // those `cosign save` marks as signatures, attestations or SBOMs are cosign's: neither is
    // an image to choose from.
    let mut images = Vec::new();
    let mut referrers = Vec::new();
    let mut cosign = Vec::new();
    for entry in entries {
        if let Some(suffix) = cosign_suffix(&entry) {
            cosign.push((suffix, entry));
            continue;
        }
        match reader.referrer_entry(&entry) {
            Some(referrer) => referrers.push(referrer),
            None => images.push(entry),
        }
    }
    let entry = select_entry(&images, reference, &root.join("index.json"))?;
    let top = reader.read_manifest(entry, "index.json")?;
    // `cosign save` writes one image and the signatures of that image (not of its children).
    let cosign_owner = images.len() == 1 || entry.annotation(COSIGN_KIND).is_some();

    let mut walk = Walk::new(&reader);
    walk.visit(&top, 0)?;
    if !top.is_index() {
        walk.platforms = platforms::from_single_manifest(&top, &walk.blobs);
    }
    let subjects: HashSet<Digest> = std::iter::once(top.digest.clone())
        .chain(walk.children.iter().map(|c| c.digest.clone()))
        .collect();
    let mut travelling = Vec::new();
    for referrer in referrers {
        if referrer.subject().is_some_and(|s| subjects.contains(&s))
            && !travelling
                .iter()
                .any(|r: &ManifestBlob| r.digest == referrer.digest)
        {
            walk.visit(&referrer, 0)?;
            travelling.push(referrer);
        }
    }
    let mut cosign_tags: Vec<(String, ManifestBlob)> = Vec::new();
    if !cosign.is_empty() && !cosign_owner {
        tracing::warn!(
            "{}: the cosign signature entries of index.json are left behind: they name no \
             image, and the layout holds several",
            root.display()
        );
        cosign.clear();
    }
    for (suffix, entry) in cosign {
        let tag = format!("sha256-{}.{suffix}", top.digest.hex());
        if cosign_tags.iter().any(|(t, _)| *t == tag) {
            continue;
        }
        let manifest = reader.read_manifest(&entry, "index.json")?;
        walk.visit(&manifest, 0)?;
        cosign_tags.push((tag, manifest));
    }
    Ok(LocalImage::new(
        top,
        walk.children,
        walk.blobs,
        walk.platforms,
        source_description,
    )
    .with_referrers(travelling)
    .with_cosign_tags(cosign_tags))
}

/// The annotation `cosign save` marks each `index.json` entry with.
const COSIGN_KIND: &str = "kind";

/// The cosign tag suffix of an entry `cosign save` marked as signatures, attestations or SBOMs.
fn cosign_suffix(entry: &Descriptor) -> Option<&'static str> {
    match entry.annotation(COSIGN_KIND)? {
        "dev.cosignproject.cosign/sigs" => Some("sig"),
        "dev.cosignproject.cosign/atts" => Some("att"),
        "dev.cosignproject.cosign/sboms" => Some("sbom"),
        _ => None,
    }
}

struct LayoutReader {
    root: PathBuf,
    canonical_root: Option<PathBuf>,
}

impl LayoutReader {
    fn new(root: &Path, confine_to_root: bool) -> anyhow::Result<LayoutReader> {
        let canonical_root = if confine_to_root {
            let resolved = root
                .canonicalize()
                .with_context(|| format!("cannot resolve {}", root.display()))?;
            Some(resolved)
        } else {
            None
        };
        let reader = LayoutReader {
            root: root.to_path_buf(),
            canonical_root,
        };
        let marker_bytes = reader
            .read_small_file("oci-layout")
            .with_context(|| format!("{} is not an OCI image layout", root.display()))?;
        let marker: LayoutMarker = serde_json::from_slice(&marker_bytes).with_context(|| {
            format!(
                "{}/oci-layout has no \"imageLayoutVersion\"",
                root.display()
            )
        })?;
        tracing::debug!(
            layout = %root.display(),
            version = marker.image_layout_version,
            "reading OCI layout"
        );
        Ok(reader)
    }

    fn read_index(&self) -> anyhow::Result<Vec<Descriptor>> {
        let bytes = self.read_small_file("index.json")?;
        let index: LayoutIndex = serde_json::from_slice(&bytes)
            .with_context(|| format!("cannot parse {}", self.root.join("index.json").display()))?;
        Ok(index.manifests)
    }

    /// Reads a top-level layout file, refusing one that resolves outside a confined root.
    fn read_small_file(&self, name: &str) -> anyhow::Result<Vec<u8>> {
        let path = self.root.join(name);
        if let Some(canonical_root) = &self.canonical_root {
            let resolved = path
                .canonicalize()
                .with_context(|| format!("cannot read {}", path.display()))?;
            if !resolved.starts_with(canonical_root) {
                bail!("{} points outside the extracted archive", path.display());
            }
        }
        fs::read(&path).with_context(|| format!("cannot read {}", path.display()))
    }

    /// The file holding `digest`, which must exist. `what` and `referrer` name it in errors;
    /// `hint` is appended to the error when the file is missing.
    fn existing_blob_path(
        &self,
        digest: &Digest,
        what: &str,
        referrer: &str,
        hint: &str,
    ) -> anyhow::Result<PathBuf> {
        let path = self.root.join("blobs").join("sha256").join(digest.hex());
        if !path.exists() {
            bail!(
                "{what} {digest} referenced by {referrer} is missing: {} does not exist{hint}",
                path.display()
            );
        }
        let Some(canonical_root) = &self.canonical_root else {
            return Ok(path);
        };
        let resolved = path
            .canonicalize()
            .with_context(|| format!("cannot resolve {}", path.display()))?;
        if !resolved.starts_with(canonical_root) {
            bail!(
                "{what} {digest} at {} points outside the extracted archive (to {})",
                path.display(),
                resolved.display()
            );
        }
        Ok(resolved)
    }

    /// Reads a whole manifest and checks it against its descriptor.
    /// The manifest of an `index.json` entry when it is a referrer (an image manifest with a
    /// `subject`); `None` for an image, or what cannot be read as a manifest here (the image
    /// selection reports that).
    fn referrer_entry(&self, entry: &Descriptor) -> Option<ManifestBlob> {
        if super::media_types::is_index(&entry.media_type) {
            return None;
        }
        let manifest = self.read_manifest(entry, "index.json").ok()?;
        manifest.subject().is_some().then_some(manifest)
    }

    fn read_manifest(
        &self,
        descriptor: &Descriptor,
        referrer: &str,
    ) -> anyhow::Result<ManifestBlob> {
        let digest = &descriptor.digest;
        let path = self.existing_blob_path(digest, "manifest", referrer, "")?;
        let actual_size = file_size(&path)?;
        if actual_size != descriptor.size {
            bail!(
                "manifest {digest} at {} is {actual_size} bytes but {referrer} says {} bytes",
                path.display(),
                descriptor.size
            );
        }
        if actual_size > MAX_MANIFEST_BYTES {
            bail!(
                "manifest {digest} at {} is {actual_size} bytes; registries accept manifests \
                 of at most {MAX_MANIFEST_BYTES} bytes",
                path.display()
            );
        }
        let bytes = Bytes::from(
            fs::read(&path).with_context(|| format!("cannot read manifest {}", path.display()))?,
        );
        let actual_digest = Digest::of_bytes(&bytes);
        if &actual_digest != digest {
            bail!(
                "manifest {digest} at {} is corrupted: its content hashes to {actual_digest}",
                path.display()
            );
        }
        ManifestBlob::parse(bytes, Some(&descriptor.media_type))
            .with_context(|| format!("invalid manifest at {}", path.display()))
    }

    /// Checks a config or layer blob file exists and has the descriptor's size (not hashed).
    fn blob_file(
        &self,
        descriptor: &Descriptor,
        manifest: &ManifestBlob,
        foreign: bool,
    ) -> anyhow::Result<BlobFile> {
        let digest = &descriptor.digest;
        let referrer = format!("manifest {}", manifest.digest);
        let path = if foreign {
            self.existing_blob_path(
                digest,
                "non-distributable (foreign) layer",
                &referrer,
                "; only blobs present locally can be pushed, so export the image with its \
                 non-distributable layers included",
            )?
        } else {
            self.existing_blob_path(digest, "blob", &referrer, "")?
        };
        let actual_size = file_size(&path)?;
        if actual_size != descriptor.size {
            bail!(
                "blob {digest} at {} is {actual_size} bytes but {referrer} says {} bytes",
                path.display(),
                descriptor.size
            );
        }
        Ok(BlobFile {
            digest: digest.clone(),
            size: descriptor.size,
            media_type: descriptor.media_type.clone(),
            path,
            arrival: super::Arrival::on_disk(),
        })
    }
}

fn file_size(path: &Path) -> anyhow::Result<u64> {
    let metadata =
        fs::metadata(path).with_context(|| format!("cannot inspect {}", path.display()))?;
    if !metadata.is_file() {
        bail!("{} is not a regular file", path.display());
    }
    Ok(metadata.len())
}

/// Depth-first traversal collecting child manifests (dependencies first), blobs and
/// platforms, each deduplicated by digest in first-seen order.
struct Walk<'r> {
    reader: &'r LayoutReader,
    children: Vec<ManifestBlob>,
    seen_manifests: HashSet<Digest>,
    blobs: Vec<BlobFile>,
    seen_blobs: HashSet<Digest>,
    platforms: Vec<String>,
}

impl<'r> Walk<'r> {
    fn new(reader: &'r LayoutReader) -> Walk<'r> {
        Walk {
            reader,
            children: Vec::new(),
            seen_manifests: HashSet::new(),
            blobs: Vec::new(),
            seen_blobs: HashSet::new(),
            platforms: Vec::new(),
        }
    }

    fn visit(&mut self, manifest: &ManifestBlob, depth: usize) -> anyhow::Result<()> {
        if depth > MAX_INDEX_DEPTH {
            bail!(
                "indexes nest more than {MAX_INDEX_DEPTH} levels deep at {}",
                manifest.digest
            );
        }
        if manifest.is_index() {
            let referrer = format!("index {}", manifest.digest);
            for child_descriptor in manifest.references()? {
                self.note_platform(child_descriptor.platform.as_ref());
                if !self.seen_manifests.insert(child_descriptor.digest.clone()) {
                    continue;
                }
                let child = self.reader.read_manifest(&child_descriptor, &referrer)?;
                self.visit(&child, depth + 1)?;
                self.children.push(child);
            }
        } else {
            let foreign_layers = manifest.foreign_layers()?;
            for descriptor in manifest.references()? {
                if !self.seen_blobs.insert(descriptor.digest.clone()) {
                    continue;
                }
                let foreign = foreign_layers.contains(&descriptor.digest);
                self.blobs
                    .push(self.reader.blob_file(&descriptor, manifest, foreign)?);
            }
        }
        Ok(())
    }

    fn note_platform(&mut self, platform: Option<&Platform>) {
        if let Some(platform) = platform.filter(|platform| !platform.is_unknown()) {
            let name = platform.to_string();
            if !self.platforms.contains(&name) {
                self.platforms.push(name);
            }
        }
    }
}
