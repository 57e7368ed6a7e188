//! Reading `docker save` archives. Docker 25+ archives contain an OCI layout and are read
//! as one; legacy archives (`manifest.json` + `layer.tar` files) are converted into a Docker
//! v2 schema 2 manifest whose layers are gzip-compressed once, deterministically, to disk.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use bytes::Bytes;
use flate2::{Compression, GzBuilder};
use serde::{Deserialize, Serialize};

use super::archive::{extract_to_temp_dir, safe_relative_path};
use super::descriptor::Descriptor;
use super::digest::{Digest, DigestWriter, read_prefix};
use super::layout;
use super::local::{BlobFile, LocalImage};
use super::manifest::ManifestBlob;
use super::media_types::{DOCKER_CONFIG, DOCKER_LAYER_GZIP, DOCKER_MANIFEST};
use super::platforms;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// gzip header "operating system" byte for "unknown", so output is the same on every host.
const GZIP_OS_UNKNOWN: u8 = 255;
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
        layout::read_layout(root, None, true, source_description).context(
            "a docker-archive must hold exactly one image; save just one with \
             `docker save -o FILE IMAGE:TAG`",
        )?
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
    }];

    let output_dir = root.join(COMPRESSED_LAYERS_DIR);
    fs::create_dir_all(&output_dir)
        .with_context(|| format!("cannot create {}", output_dir.display()))?;
    let mut compressed_by_source: HashMap<PathBuf, BlobFile> = HashMap::new();
    let mut layers = Vec::with_capacity(entry.layers.len());
    for (position, layer_name) in entry.layers.iter().enumerate() {
        let layer_path = resolve_inside(&canonical_root, layer_name)?;
        let blob = match compressed_by_source.get(&layer_path) {
            Some(blob) => blob.clone(),
            None => {
                let blob = gzipped_layer(&layer_path, &output_dir, position)
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

/// A layer as a gzip blob: kept as is if already gzip'd, otherwise compressed once,
/// deterministically (mtime 0, no file name, default level), while hashing the output.
fn gzipped_layer(
    layer_path: &Path,
    output_dir: &Path,
    position: usize,
) -> anyhow::Result<BlobFile> {
    if read_prefix(layer_path, GZIP_MAGIC.len())? == GZIP_MAGIC {
        let (digest, size) = Digest::of_file(layer_path)?;
        return Ok(BlobFile {
            digest,
            size,
            media_type: DOCKER_LAYER_GZIP.to_owned(),
            path: layer_path.to_path_buf(),
        });
    }
    let partial_path = output_dir.join(format!("layer-{position}.partial"));
    let mut source = BufReader::new(
        File::open(layer_path).with_context(|| format!("cannot open {}", layer_path.display()))?,
    );
    let output = File::create(&partial_path)
        .with_context(|| format!("cannot create {}", partial_path.display()))?;
    let mut encoder = GzBuilder::new()
        .mtime(0)
        .operating_system(GZIP_OS_UNKNOWN)
        .write(
            DigestWriter::new(BufWriter::new(output)),
            Compression::default(),
        );
    let compress_error = || {
        format!(
            "cannot compress {} into {}",
            layer_path.display(),
            partial_path.display()
        )
    };
    io::copy(&mut source, &mut encoder).with_context(compress_error)?;
    let hashing_writer = encoder.finish().with_context(compress_error)?;
    let (buffered_output, digest, size) = hashing_writer.finish();
    buffered_output
        .into_inner()
        .map_err(io::IntoInnerError::into_error)
        .with_context(compress_error)?;
    let final_path = output_dir.join(format!("sha256-{}.tar.gz", digest.hex()));
    fs::rename(&partial_path, &final_path)
        .with_context(|| format!("cannot rename {}", partial_path.display()))?;
    Ok(BlobFile {
        digest,
        size,
        media_type: DOCKER_LAYER_GZIP.to_owned(),
        path: final_path,
    })
}
