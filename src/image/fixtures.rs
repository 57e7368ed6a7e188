//! Builds small valid OCI layouts and image archives for tests and examples. Everything is
//! deterministic: the same seed always gives the same bytes, hence the same digests.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use flate2::{Compression, GzBuilder};
use serde_json::json;
use sha2::{Digest as _, Sha256};

use super::descriptor::{Descriptor, Platform};
use super::digest::Digest;
use super::media_types::{
    ANNOTATION_REF_NAME, OCI_CONFIG, OCI_INDEX, OCI_LAYER_GZIP, OCI_MANIFEST,
};

/// Writes blobs, manifests and `index.json` into an OCI layout directory.
#[derive(Debug)]
pub struct LayoutBuilder {
    root: PathBuf,
}

impl LayoutBuilder {
    /// Creates `root` (if needed) with `oci-layout` and an empty `blobs/sha256`.
    pub fn create(root: &Path) -> anyhow::Result<LayoutBuilder> {
        let blob_dir = root.join("blobs").join("sha256");
        fs::create_dir_all(&blob_dir)
            .with_context(|| format!("cannot create {}", blob_dir.display()))?;
        write_file(
            &root.join("oci-layout"),
            br#"{"imageLayoutVersion":"1.0.0"}"#,
        )?;
        Ok(LayoutBuilder {
            root: root.to_path_buf(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the blob `digest` is stored.
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root.join("blobs").join("sha256").join(digest.hex())
    }

    /// Stores `bytes` as a blob and returns its digest.
    pub fn add_blob(&self, bytes: &[u8]) -> anyhow::Result<Digest> {
        let digest = Digest::of_bytes(bytes);
        write_file(&self.blob_path(&digest), bytes)?;
        Ok(digest)
    }

    /// Stores a gzip'd layer holding one file of `content_size` bytes derived from `seed`.
    /// Returns the layer descriptor and the layer's diff ID (digest of the plain tar).
    pub fn add_layer(
        &self,
        seed: &str,
        content_size: usize,
    ) -> anyhow::Result<(Descriptor, Digest)> {
        let tar = layer_tar(seed, content_size)?;
        let compressed = gzip(&tar)?;
        let digest = self.add_blob(&compressed)?;
        let descriptor = Descriptor::new(OCI_LAYER_GZIP, digest, compressed.len() as u64);
        Ok((descriptor, Digest::of_bytes(&tar)))
    }

    /// Stores an OCI image config for `platform` with the given layer diff IDs.
    pub fn add_config(
        &self,
        platform: &Platform,
        diff_ids: &[Digest],
    ) -> anyhow::Result<Descriptor> {
        let config = image_config_json(platform, diff_ids);
        self.add_json(OCI_CONFIG, &config)
    }

    /// Stores an OCI image manifest (with its top-level `mediaType`).
    pub fn add_manifest(
        &self,
        config: &Descriptor,
        layers: &[Descriptor],
    ) -> anyhow::Result<Descriptor> {
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": config,
            "layers": layers,
        });
        self.add_json(OCI_MANIFEST, &manifest)
    }

    /// Stores an OCI image index (with its top-level `mediaType`).
    pub fn add_index(&self, manifests: &[Descriptor]) -> anyhow::Result<Descriptor> {
        let index = json!({ "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests });
        self.add_json(OCI_INDEX, &index)
    }

    /// Stores compact JSON as a blob and describes it as `media_type`.
    pub fn add_json(
        &self,
        media_type: &str,
        value: &serde_json::Value,
    ) -> anyhow::Result<Descriptor> {
        let bytes = serde_json::to_vec(value)?;
        let digest = self.add_blob(&bytes)?;
        Ok(Descriptor::new(media_type, digest, bytes.len() as u64))
    }

    /// Writes `index.json` listing `entries`, each annotated with its ref name.
    pub fn write_index_json(&self, entries: &[(&Descriptor, &str)]) -> anyhow::Result<()> {
        let manifests: Vec<Descriptor> = entries
            .iter()
            .map(|(descriptor, ref_name)| {
                let mut entry = (*descriptor).clone();
                entry
                    .annotations
                    .insert(ANNOTATION_REF_NAME.to_owned(), (*ref_name).to_owned());
                entry
            })
            .collect();
        let index = json!({ "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests });
        write_file(&self.root.join("index.json"), &serde_json::to_vec(&index)?)
    }
}

/// A layout as `cosign save` writes it: a single-manifest linux/amd64 image and its signature
/// image, each `index.json` entry marked only with cosign's `kind` annotation. Returns the
/// image's and the signature manifest's digests.
pub fn write_cosign_saved_layout(dir: &Path, seed: &str) -> anyhow::Result<(Digest, Digest)> {
    let builder = LayoutBuilder::create(dir)?;
    let platform = platform("amd64", None);
    let (layer, diff_id) = builder.add_layer(seed, 700)?;
    let config = builder.add_config(&platform, &[diff_id])?;
    let image = builder.add_manifest(&config, &[layer])?;
    let payload = json!({"critical": {"identity": {"docker-reference": "example/app"},
        "image": {"docker-manifest-digest": image.digest.as_str()},
        "type": "cosign container image signature"}, "optional": null});
    let mut payload =
        builder.add_json("application/vnd.dev.cosign.simplesigning.v1+json", &payload)?;
    payload.annotations.insert(
        "dev.cosignproject.cosign/signature".to_owned(),
        format!("MEUCIQ{seed}"),
    );
    let sig_config = builder.add_json(
        OCI_CONFIG,
        &json!({"architecture": "", "os": "",
        "config": {}, "rootfs": {"type": "layers", "diff_ids": [payload.digest.as_str()]}}),
    )?;
    let signature = builder.add_manifest(&sig_config, &[payload])?;
    let entries: Vec<Descriptor> = [(&image, "image"), (&signature, "sigs")]
        .into_iter()
        .map(|(descriptor, kind)| {
            let mut entry = descriptor.clone();
            entry.annotations.insert(
                "kind".to_owned(),
                format!("dev.cosignproject.cosign/{kind}"),
            );
            entry
        })
        .collect();
    let index = json!({ "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries });
    write_file(&dir.join("index.json"), &serde_json::to_vec(&index)?)?;
    Ok((image.digest, signature.digest))
}

/// A single-manifest linux/amd64 layout tagged "latest"; returns the manifest digest.
pub fn write_single_manifest_layout(
    dir: &Path,
    seed: &str,
    layer_sizes: &[usize],
) -> anyhow::Result<Digest> {
    write_platform_layout(dir, seed, layer_sizes, ("amd64", None))
}

/// A single-manifest layout for linux/`architecture`[/`variant`] tagged "latest"; returns
/// the manifest digest.
pub fn write_platform_layout(
    dir: &Path,
    seed: &str,
    layer_sizes: &[usize],
    (architecture, variant): (&str, Option<&str>),
) -> anyhow::Result<Digest> {
    let layout = LayoutBuilder::create(dir)?;
    let mut layers = Vec::new();
    let mut diff_ids = Vec::new();
    for (position, size) in layer_sizes.iter().enumerate() {
        let (layer, diff_id) = layout.add_layer(&format!("{seed}/layer-{position}"), *size)?;
        layers.push(layer);
        diff_ids.push(diff_id);
    }
    let config = layout.add_config(&platform(architecture, variant), &diff_ids)?;
    let manifest = layout.add_manifest(&config, &layers)?;
    layout.write_index_json(&[(&manifest, "latest")])?;
    Ok(manifest.digest)
}

/// A single-manifest linux/amd64 layout whose config says it was `created` (RFC 3339) and
/// carries no `org.opencontainers.image.created` label; returns the manifest digest.
pub fn write_created_layout(dir: &Path, seed: &str, created: &str) -> anyhow::Result<Digest> {
    let layout = LayoutBuilder::create(dir)?;
    let (layer, diff_id) = layout.add_layer(&format!("{seed}/layer-0"), 1000)?;
    let mut config = image_config_json(&platform("amd64", None), &[diff_id]);
    if let Some(fields) = config.as_object_mut() {
        fields.insert("created".to_owned(), json!(created));
    }
    let config = layout.add_json(OCI_CONFIG, &config)?;
    let manifest = layout.add_manifest(&config, &[layer])?;
    layout.write_index_json(&[(&manifest, "latest")])?;
    Ok(manifest.digest)
}

/// A linux/amd64 + linux/arm64/v8 index tagged "latest": both manifests share one layer and
/// each has one of its own. Returns the index digest.
pub fn write_multi_platform_layout(dir: &Path, seed: &str) -> anyhow::Result<Digest> {
    let layout = LayoutBuilder::create(dir)?;
    let (shared_layer, shared_diff_id) = layout.add_layer(&format!("{seed}/shared"), 700)?;
    let mut platform_manifests = Vec::new();
    for (architecture, variant) in [("amd64", None), ("arm64", Some("v8"))] {
        let (own_layer, own_diff_id) = layout.add_layer(&format!("{seed}/{architecture}"), 300)?;
        let platform = platform(architecture, variant);
        let config = layout.add_config(&platform, &[shared_diff_id.clone(), own_diff_id])?;
        let mut manifest = layout.add_manifest(&config, &[shared_layer.clone(), own_layer])?;
        manifest.platform = Some(platform);
        platform_manifests.push(manifest);
    }
    let index = layout.add_index(&platform_manifests)?;
    layout.write_index_json(&[(&index, "latest")])?;
    Ok(index.digest)
}

/// A legacy `docker save` tar: `manifest.json`, a config and uncompressed `layer.tar` files
/// (the third layer repeats the first through a symlink, as `docker save` does).
pub fn write_docker_archive(path: &Path, seed: &str) -> anyhow::Result<()> {
    let first_layer = layer_tar(&format!("{seed}/docker-0"), 900)?;
    let second_layer = layer_tar(&format!("{seed}/docker-1"), 200)?;
    let first_id = Digest::of_bytes(&first_layer);
    let second_id = Digest::of_bytes(&second_layer);
    let diff_ids = [first_id.clone(), second_id.clone(), first_id.clone()];
    let config = serde_json::to_vec(&image_config_json(&platform("amd64", None), &diff_ids))?;
    let config_name = format!("{}.json", Digest::of_bytes(&config).hex());
    let layer_names = [
        format!("{}/layer.tar", first_id.hex()),
        format!("{}/layer.tar", second_id.hex()),
        "repeated/layer.tar".to_owned(),
    ];
    let manifest = json!([{
        "Config": config_name,
        "RepoTags": [format!("example/{seed}:latest")],
        "Layers": layer_names,
    }]);

    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut builder = tar::Builder::new(BufWriter::new(file));
    append_bytes(&mut builder, &config_name, &config)?;
    append_bytes(&mut builder, &layer_names[0], &first_layer)?;
    append_bytes(&mut builder, &layer_names[1], &second_layer)?;
    let mut link = deterministic_header(tar::EntryType::Symlink, 0);
    builder.append_link(&mut link, &layer_names[2], format!("../{}", layer_names[0]))?;
    append_bytes(
        &mut builder,
        "manifest.json",
        &serde_json::to_vec(&manifest)?,
    )?;
    builder.into_inner()?.flush()?;
    Ok(())
}

/// A `docker save` archive as Docker 25+ writes it with the classic image store: an OCI
/// layout (plus Docker's `manifest.json`) whose one linux/amd64 layer is the plain tar
/// `layer`, stored uncompressed, with a history entry for it. Returns the (uncompressed) manifest's digest.
pub fn write_plain_layer_docker_archive(path: &Path, layer: &[u8]) -> anyhow::Result<Digest> {
    let staging = tempfile::tempdir().context("cannot create a staging directory")?;
    let layout = LayoutBuilder::create(staging.path())?;
    let layer_digest = layout.add_blob(layer)?;
    let layer = Descriptor::new(PLAIN_OCI_LAYER, layer_digest.clone(), layer.len() as u64);
    let mut config = image_config_json(
        &platform("amd64", None),
        std::slice::from_ref(&layer_digest),
    );
    // Docker records how each layer was made; buildah's layer cache needs that history.
    config["history"] = json!([{ "created_by": "ecr-fanout test fixture: one plain layer" }]);
    let config = layout.add_json(OCI_CONFIG, &config)?;
    let manifest = layout.add_manifest(&config, &[layer])?;
    layout.write_index_json(&[(&manifest, "latest")])?;
    let docker_manifest = json!([{
        "Config": format!("blobs/sha256/{}", config.digest.hex()),
        "RepoTags": ["example/plain:latest"],
        "Layers": [format!("blobs/sha256/{}", layer_digest.hex())],
    }]);
    write_file(
        &staging.path().join("manifest.json"),
        &serde_json::to_vec(&docker_manifest)?,
    )?;
    write_oci_archive(staging.path(), path)?;
    Ok(manifest.digest)
}

/// The media type of an uncompressed OCI layer.
pub const PLAIN_OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";

/// Tars the layout directory `layout_dir` (contents at the archive root) into `tar_path`.
pub fn write_oci_archive(layout_dir: &Path, tar_path: &Path) -> anyhow::Result<()> {
    let file =
        File::create(tar_path).with_context(|| format!("cannot create {}", tar_path.display()))?;
    let mut builder = tar::Builder::new(BufWriter::new(file));
    append_dir_contents(&mut builder, layout_dir, Path::new(""))?;
    builder.into_inner()?.flush()?;
    Ok(())
}

fn append_dir_contents(
    builder: &mut tar::Builder<impl Write>,
    dir: &Path,
    relative: &Path,
) -> anyhow::Result<()> {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<io::Result<_>>()?;
    entries.sort();
    for path in entries {
        let name = relative.join(path.file_name().context("directory entry without a name")?);
        if path.is_dir() {
            let mut header = deterministic_header(tar::EntryType::Directory, 0);
            header.set_mode(0o755);
            builder.append_data(&mut header, &name, io::empty())?;
            append_dir_contents(builder, &path, &name)?;
        } else {
            let file =
                File::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
            let mut header = deterministic_header(tar::EntryType::Regular, file.metadata()?.len());
            builder.append_data(&mut header, &name, file)?;
        }
    }
    Ok(())
}

/// A plain tar holding `fixture/data.bin` with `content_size` bytes derived from `seed`.
pub fn layer_tar(seed: &str, content_size: usize) -> anyhow::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    append_bytes(
        &mut builder,
        "fixture/data.bin",
        &deterministic_bytes(seed, content_size),
    )?;
    Ok(builder.into_inner()?)
}

/// `size` pseudo-random bytes that depend only on `seed`.
pub fn deterministic_bytes(seed: &str, size: usize) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(size);
    let mut counter: u64 = 0;
    while bytes.len() < size {
        let block = Sha256::new()
            .chain_update(seed.as_bytes())
            .chain_update(counter.to_le_bytes())
            .finalize();
        bytes.extend_from_slice(&block);
        counter += 1;
    }
    bytes.truncate(size);
    bytes
}

/// gzip with a fixed header (mtime 0, no file name), so output depends only on input.
pub fn gzip(bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut encoder = GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), Compression::default());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?)
}

fn platform(architecture: &str, variant: Option<&str>) -> Platform {
    Platform {
        architecture: architecture.to_owned(),
        os: "linux".to_owned(),
        variant: variant.map(str::to_owned),
    }
}

fn image_config_json(platform: &Platform, diff_ids: &[Digest]) -> serde_json::Value {
    let mut config = json!({
        "architecture": platform.architecture,
        "os": platform.os,
        "config": {},
        "rootfs": { "type": "layers", "diff_ids": diff_ids },
    });
    if let (Some(variant), Some(fields)) = (&platform.variant, config.as_object_mut()) {
        fields.insert("variant".to_owned(), json!(variant));
    }
    config
}

fn deterministic_header(entry_type: tar::EntryType, size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(entry_type);
    header.set_size(size);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    header
}

fn append_bytes(
    builder: &mut tar::Builder<impl Write>,
    name: &str,
    bytes: &[u8],
) -> anyhow::Result<()> {
    let mut header = deterministic_header(tar::EntryType::Regular, bytes.len() as u64);
    builder
        .append_data(&mut header, name, bytes)
        .with_context(|| format!("cannot add {name} to the tar"))
}

fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}
