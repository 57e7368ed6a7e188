//! Uncompressed layers gzip-compressed before a push, as `docker push` does: `docker save`
//! from a Docker 25+ daemon with the classic image store writes an OCI layout whose layers
//! are plain tars (`…layer.v1.tar`, `…rootfs.diff.tar`). Each such layer is compressed once,
//! deterministically (fixed level, no name, mtime 0, OS "unknown": the same bytes on every run
//! of one ecr-fanout version), streamed to a file while it is hashed; the manifests that name
//! it are rewritten (a new digest), and an index is rewritten for its new children. Attestation
//! manifests that refer to an old, uncompressed manifest no longer describe the image and are
//! dropped with a warning. Layouts with compressed layers are returned untouched.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter};
use std::path::Path;

use anyhow::{Context, bail};
use bytes::Bytes;
use flate2::{Compression, GzBuilder};
use serde_json::Value;

use super::digest::{Digest, DigestWriter, read_prefix};
use super::local::{BlobFile, LocalImage};
use super::manifest::{ManifestBlob, ManifestContent};
use super::media_types::{DOCKER_LAYER_GZIP, OCI_LAYER_GZIP};
use super::platforms;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// gzip header "operating system" byte for "unknown", so output is the same on every host.
const GZIP_OS_UNKNOWN: u8 = 255;
/// zlib's default level, fixed here so that a change of default cannot change digests.
const GZIP_LEVEL: u32 = 6;
/// BuildKit's annotation naming the manifest an attestation manifest describes.
const ATTESTATION_SUBJECT: &str = "vnd.docker.reference.digest";

/// The gzip media type for an uncompressed layer type; `None` for every other type.
fn compressed_type(media_type: &str) -> Option<&'static str> {
    match media_type {
        "application/vnd.oci.image.layer.v1.tar" => Some(OCI_LAYER_GZIP),
        "application/vnd.docker.image.rootfs.diff.tar" => Some(DOCKER_LAYER_GZIP),
        _ => None,
    }
}

/// `image` with every uncompressed layer compressed into `output_dir`, or `image` itself when
/// it has none.
pub(crate) fn compress_plain_layers(
    image: LocalImage,
    output_dir: &Path,
) -> anyhow::Result<LocalImage> {
    let mut rewrite = Rewrite {
        image: &image,
        output_dir,
        compressed: HashMap::new(),
        renamed: HashMap::new(),
    };
    let mut children = Vec::with_capacity(image.children.len());
    for child in &image.children {
        children.push(rewrite.manifest(child)?);
    }
    let top = rewrite.manifest(&image.top)?;
    if rewrite.renamed.is_empty() {
        return Ok(image);
    }
    let (top, children) = if top.is_index() {
        let (index, kept) = rewrite.index(&top, children)?;
        (index, kept)
    } else {
        (top, children)
    };
    let blobs = rewrite.blobs_of(&top, &children)?;
    let platforms = if top.is_index() {
        image.platforms.clone()
    } else {
        platforms::from_single_manifest(&top, &blobs)
    };
    tracing::info!(
        "compressed {} uncompressed layer(s) with gzip, as `docker push` would; the image is \
         now {}",
        rewrite.compressed.len(),
        top.digest
    );
    let description = image.source_description().to_owned();
    Ok(LocalImage::new(top, children, blobs, platforms, description).sharing_extraction_of(&image))
}

struct Rewrite<'a> {
    image: &'a LocalImage,
    output_dir: &'a Path,
    /// Uncompressed layer digest → its gzip blob.
    compressed: HashMap<Digest, BlobFile>,
    /// Old manifest digest → the rewritten manifest.
    renamed: HashMap<Digest, ManifestBlob>,
}

impl Rewrite<'_> {
    /// `manifest` with its plain layers compressed; an index is left for [`Rewrite::index`].
    fn manifest(&mut self, manifest: &ManifestBlob) -> anyhow::Result<ManifestBlob> {
        if manifest.is_index() {
            return Ok(manifest.clone());
        }
        let mut json: Value = serde_json::from_slice(&manifest.bytes)
            .with_context(|| format!("cannot parse manifest {}", manifest.digest))?;
        let Some(layers) = json.get_mut("layers").and_then(Value::as_array_mut) else {
            return Ok(manifest.clone());
        };
        let mut changed = false;
        for layer in layers.iter_mut() {
            let media_type = layer["mediaType"].as_str().unwrap_or_default();
            let Some(gzip_type) = compressed_type(media_type) else {
                continue;
            };
            let digest: Digest = serde_json::from_value(layer["digest"].clone())
                .with_context(|| format!("manifest {}: a layer digest", manifest.digest))?;
            let blob = self.compressed_layer(&digest, gzip_type)?;
            layer["mediaType"] = Value::from(gzip_type);
            layer["digest"] = Value::from(blob.digest.as_str());
            layer["size"] = Value::from(blob.size);
            changed = true;
        }
        if !changed {
            return Ok(manifest.clone());
        }
        let bytes = Bytes::from(serde_json::to_vec(&json)?);
        let rewritten = ManifestBlob::parse(bytes, Some(&manifest.media_type))?;
        self.renamed
            .insert(manifest.digest.clone(), rewritten.clone());
        Ok(rewritten)
    }

    fn compressed_layer(&mut self, digest: &Digest, media_type: &str) -> anyhow::Result<BlobFile> {
        if let Some(blob) = self.compressed.get(digest) {
            return Ok(blob.clone());
        }
        let source = self
            .image
            .blobs
            .iter()
            .find(|blob| &blob.digest == digest)
            .with_context(|| format!("layer {digest} is not in the image"))?;
        let blob = gzip_layer(&source.path, self.output_dir, media_type)
            .with_context(|| format!("cannot compress layer {digest}"))?;
        self.compressed.insert(digest.clone(), blob.clone());
        Ok(blob)
    }

    /// `index` pointing at the rewritten children; attestations of an old child are dropped.
    fn index(
        &self,
        index: &ManifestBlob,
        children: Vec<ManifestBlob>,
    ) -> anyhow::Result<(ManifestBlob, Vec<ManifestBlob>)> {
        let mut json: Value = serde_json::from_slice(&index.bytes)
            .with_context(|| format!("cannot parse index {}", index.digest))?;
        let Some(entries) = json.get_mut("manifests").and_then(Value::as_array_mut) else {
            bail!("index {} has no manifests", index.digest);
        };
        let mut dropped = Vec::new();
        entries.retain(|entry| {
            let subject = entry["annotations"][ATTESTATION_SUBJECT].as_str();
            let stale = subject.is_some_and(|s| self.renamed.keys().any(|old| old.as_str() == s));
            if stale {
                dropped.push(entry["digest"].as_str().unwrap_or_default().to_owned());
            }
            !stale
        });
        for entry in entries.iter_mut() {
            let old = entry["digest"].as_str().unwrap_or_default();
            if let Some(new) = self
                .renamed
                .iter()
                .find(|(d, _)| d.as_str() == old)
                .map(|(_, m)| m)
            {
                entry["digest"] = Value::from(new.digest.as_str());
                entry["size"] = Value::from(new.bytes.len());
            }
        }
        if !dropped.is_empty() {
            tracing::warn!(
                "dropped {} attestation manifest(s) ({}): they describe the uncompressed \
                 manifests, which are not pushed",
                dropped.len(),
                dropped.join(", ")
            );
        }
        let bytes = Bytes::from(serde_json::to_vec(&json)?);
        let rewritten = ManifestBlob::parse(bytes, Some(&index.media_type))?;
        let kept = children
            .into_iter()
            .filter(|child| !dropped.iter().any(|d| d == child.digest.as_str()))
            .collect();
        Ok((rewritten, kept))
    }

    /// The config and layer blobs `top` and `children` reference, first seen first.
    fn blobs_of(
        &self,
        top: &ManifestBlob,
        children: &[ManifestBlob],
    ) -> anyhow::Result<Vec<BlobFile>> {
        let mut blobs: Vec<BlobFile> = Vec::new();
        for manifest in children.iter().chain(std::iter::once(top)) {
            let ManifestContent::Image { config, layers } = manifest.content()? else {
                continue;
            };
            for descriptor in std::iter::once(&config).chain(&layers) {
                if blobs.iter().any(|known| known.digest == descriptor.digest) {
                    continue;
                }
                let found = self
                    .compressed
                    .values()
                    .chain(&self.image.blobs)
                    .find(|blob| blob.digest == descriptor.digest);
                // Non-distributable layers have no file; they were never blobs of the image.
                if let Some(blob) = found {
                    blobs.push(blob.clone());
                }
            }
        }
        Ok(blobs)
    }
}

/// A layer as a gzip blob of `media_type`: kept as it is when its bytes are gzip already,
/// otherwise compressed into `output_dir` while the output is hashed.
pub(crate) fn gzip_layer(
    layer_path: &Path,
    output_dir: &Path,
    media_type: &str,
) -> anyhow::Result<BlobFile> {
    if read_prefix(layer_path, GZIP_MAGIC.len())? == GZIP_MAGIC {
        let (digest, size) = Digest::of_file(layer_path)?;
        return Ok(BlobFile {
            digest,
            size,
            media_type: media_type.to_owned(),
            path: layer_path.to_path_buf(),
            arrival: super::Arrival::on_disk(),
        });
    }
    fs::create_dir_all(output_dir)
        .with_context(|| format!("cannot create {}", output_dir.display()))?;
    let partial = tempfile::Builder::new()
        .prefix("layer-")
        .suffix(".partial")
        .tempfile_in(output_dir)
        .with_context(|| format!("cannot create a file in {}", output_dir.display()))?;
    let compress_error = || {
        format!(
            "cannot compress {} into {}",
            layer_path.display(),
            partial.path().display()
        )
    };
    let mut source = BufReader::new(
        File::open(layer_path).with_context(|| format!("cannot open {}", layer_path.display()))?,
    );
    let output = partial.reopen().with_context(compress_error)?;
    let mut encoder = GzBuilder::new()
        .mtime(0)
        .operating_system(GZIP_OS_UNKNOWN)
        .write(
            DigestWriter::new(BufWriter::new(output)),
            Compression::new(GZIP_LEVEL),
        );
    io::copy(&mut source, &mut encoder).with_context(compress_error)?;
    let hashing_writer = encoder.finish().with_context(compress_error)?;
    let (buffered_output, digest, size) = hashing_writer.finish();
    buffered_output
        .into_inner()
        .map_err(io::IntoInnerError::into_error)
        .with_context(compress_error)?;
    let final_path = output_dir.join(format!("sha256-{}.tar.gz", digest.hex()));
    partial
        .persist(&final_path)
        .map_err(|e| e.error)
        .with_context(|| {
            format!(
                "cannot move the compressed layer to {}",
                final_path.display()
            )
        })?;
    Ok(BlobFile {
        digest,
        size,
        media_type: media_type.to_owned(),
        path: final_path,
        arrival: super::Arrival::on_disk(),
    })
}
