//! Reading `docker save` archives. Docker 25+ archives contain an OCI layout and are read
//! as one, their uncompressed layers (the classic image store's) gzip-compressed as `docker
//! push` would (`layer_compression`); legacy archives (`manifest.json` + `layer.tar` files) are converted into a Docker
//! v2 schema 2 manifest whose layers are gzip-compressed once, deterministically, to disk.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::archive::{extract_to_temp_dir, safe_relative_path};
use super::descriptor::Descriptor;
use super::digest::Digest;
use super::layer_compression::{compress_plain_layers, gzip_layer};
use super::layout;
use super::local::{BlobFile, LocalImage};
use super::manifest::ManifestBlob;
use super::media_types::{DOCKER_CONFIG, DOCKER_LAYER_GZIP, DOCKER_MANIFEST};
use super::platforms;

const COMPRESSED_LAYERS_DIR: &str = "ecr-fanout-compressed-layers";

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LegacyImageEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DockerManifestJson<'a> {
    schema_version: u32,
    media_type: &'a str,
    config: &'a Descriptor,
    layers: &'a [Descriptor],
}

/// Extracts a `docker save` archive and reads the single image in it.
pub(crate) fn read_docker_archive(
    archive_path: &Path,
    source_description: String,
) -> anyhow::Result<LocalImage> {
    let extracted = extract_to_temp_dir(archive_path)?;
    let root = extracted.path();
    let image = if layout::looks_like_layout(root) {
        let image = layout::read_layout(root, None, true, source_description).context(
            "a docker-archive must hold exactly one image; save just one with \
             `docker save -o FILE IMAGE:TAG`",
        )?;
        compress_plain_layers(image, &root.join(COMPRESSED_LAYERS_DIR))?
    } else {
        convert_legacy_archive(root, source_description)?
    };
    Ok(image.keeping_alive(extracted))
}

/// Builds a Docker v2 schema 2 image from an extracted legacy `docker save` directory.
pub(crate) fn convert_legacy_archive(
    root: &Path,
    source_description: String,
) -> anyhow::Result<LocalImage> {
    let canonical_root = root
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", root.display()))?;
    let entry = read_single_entry(root)?;

    let config_path = resolve_inside(&canonical_root, &entry.config)?;
    let (config_digest, config_size) = Digest::of_file(&config_path)?;
    let config = Descriptor::new(DOCKER_CONFIG, config_digest, config_size);
    let mut blobs = vec![BlobFile {
        digest: config.digest.clone(),
        size: config.size,
        media_type: DOCKER_CONFIG.to_owned(),
        path: config_path,
        arrival: crate::image::Arrival::on_disk(),
    }];

    let output_dir = root.join(COMPRESSED_LAYERS_DIR);
    fs::create_dir_all(&output_dir)
        .with_context(|| format!("cannot create {}", output_dir.display()))?;
    let mut compressed_by_source: HashMap<PathBuf, BlobFile> = HashMap::new();
    let mut layers = Vec::with_capacity(entry.layers.len());
    for layer_name in &entry.layers {
        let layer_path = resolve_inside(&canonical_root, layer_name)?;
        let blob = match compressed_by_source.get(&layer_path) {
            Some(blob) => blob.clone(),
            None => {
                let blob = gzip_layer(&layer_path, &output_dir, DOCKER_LAYER_GZIP)
                    .with_context(|| format!("cannot prepare layer {layer_name}"))?;
                compressed_by_source.insert(layer_path, blob.clone());
                blob
            }
        };
        layers.push(Descriptor::new(
            DOCKER_LAYER_GZIP,
            blob.digest.clone(),
            blob.size,
        ));
        if !blobs.iter().any(|known| known.digest == blob.digest) {
            blobs.push(blob);
        }
    }

    let manifest_json = DockerManifestJson {
        schema_version: 2,
        media_type: DOCKER_MANIFEST,
        config: &config,
        layers: &layers,
    };
    let bytes = Bytes::from(serde_json::to_vec(&manifest_json)?);
    let top = ManifestBlob::parse(bytes, Some(DOCKER_MANIFEST))?;
    let platforms = platforms::from_single_manifest(&top, &blobs);
    Ok(LocalImage::new(
        top,
        Vec::new(),
        blobs,
        platforms,
        source_description,
    ))
}

fn read_single_entry(root: &Path) -> anyhow::Result<LegacyImageEntry> {
    let manifest_path = root.join("manifest.json");
    let bytes = fs::read(&manifest_path).with_context(|| {
        "the archive has neither an OCI layout (oci-layout, index.json) nor a manifest.json; \
         is it a `docker save` archive?"
            .to_owned()
    })?;
    let mut entries: Vec<LegacyImageEntry> = serde_json::from_slice(&bytes)
        .context("cannot parse manifest.json of the docker archive")?;
    if entries.len() != 1 {
        let tags: Vec<String> = entries
            .iter()
            .map(|entry| match &entry.repo_tags {
                Some(tags) if !tags.is_empty() => tags.join(" "),
                _ => format!("(untagged, config {})", entry.config),
            })
            .collect();
        bail!(
            "the docker archive holds {} images, expected exactly one: [{}]; save just one \
             with `docker save -o FILE IMAGE:TAG`",
            entries.len(),
            tags.join(", ")
        );
    }
    entries.pop().context("manifest.json lists no image")
}

/// Resolves a path named inside `manifest.json` to a regular file inside the archive.
fn resolve_inside(canonical_root: &Path, archive_relative: &str) -> anyhow::Result<PathBuf> {
    let relative = safe_relative_path(Path::new(archive_relative))
        .with_context(|| format!("manifest.json names {archive_relative:?}"))?;
    let resolved = canonical_root
        .join(&relative)
        .canonicalize()
        .with_context(|| {
            format!("manifest.json names {archive_relative:?}, which is not in the archive")
        })?;
    if !resolved.starts_with(canonical_root) || !resolved.is_file() {
        bail!("manifest.json names {archive_relative:?}, which is not a file inside the archive");
    }
    Ok(resolved)
}
