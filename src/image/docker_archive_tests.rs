//! Tests for `docker save` archives: legacy conversion to a deterministic Docker v2
//! manifest with gzip'd layers, Docker 25+ OCI-based archives, and error cases.

use std::fs;
use std::io::Read;
use std::path::Path;

use flate2::read::GzDecoder;
use serde_json::json;

use super::fixtures;
use super::manifest::ManifestContent;
use super::media_types::{DOCKER_CONFIG, DOCKER_LAYER_GZIP, DOCKER_MANIFEST};
use super::{Digest, ImageSource, LocalImage, open_image};

fn open_docker_archive(path: &Path) -> LocalImage {
    open_image(&ImageSource::DockerArchive {
        path: path.to_path_buf(),
    })
    .unwrap()
}

fn docker_archive_error(path: &Path) -> String {
    let source = ImageSource::DockerArchive {
        path: path.to_path_buf(),
    };
    format!("{:#}", open_image(&source).unwrap_err())
}

/// The plain contents of each `*.tar` file inside a tar archive, in archive order.
fn layer_tars_in(archive_path: &Path) -> Vec<Vec<u8>> {
    let mut archive = tar::Archive::new(fs::File::open(archive_path).unwrap());
    let mut layers = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let is_layer = entry
            .path()
            .unwrap()
            .to_string_lossy()
            .ends_with("/layer.tar");
        if is_layer && entry.header().entry_type().is_file() {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            layers.push(bytes);
        }
    }
    layers
}

fn write_tar(path: &Path, files: &[(&str, Vec<u8>)]) {
    let mut builder = tar::Builder::new(fs::File::create(path).unwrap());
    for (name, bytes) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        builder
            .append_data(&mut header, name, bytes.as_slice())
            .unwrap();
    }
    builder.finish().unwrap();
}

#[test]
fn converts_a_legacy_archive_into_a_docker_v2_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("image.tar");
    fixtures::write_docker_archive(&archive, "legacy").unwrap();
    let image = open_docker_archive(&archive);

    assert_eq!(image.top.media_type, DOCKER_MANIFEST);
    assert!(
        image
            .top
            .bytes
            .starts_with(br#"{"schemaVersion":2,"mediaType":""#)
    );
    assert_eq!(image.top.digest, Digest::of_bytes(&image.top.bytes));
    assert!(image.children.is_empty());
    assert_eq!(image.platforms, ["linux/amd64"]);

    let ManifestContent::Image { config, layers } = image.top.content().unwrap() else {
        panic!("expected an image manifest");
    };
    assert_eq!(config.media_type, DOCKER_CONFIG);
    assert_eq!(layers.len(), 3);
    assert_eq!(layers[0], layers[2], "the symlinked layer is the same blob");
    assert!(
        layers
            .iter()
            .all(|layer| layer.media_type == DOCKER_LAYER_GZIP)
    );
    assert_eq!(image.blobs.len(), 3, "config and two distinct layers");

    let original_tars = layer_tars_in(&archive);
    for (blob, original) in image.blobs[1..].iter().zip(&original_tars) {
        let compressed = fs::read(&blob.path).unwrap();
        assert_eq!(compressed.len() as u64, blob.size);
        assert_eq!(Digest::of_bytes(&compressed), blob.digest);
        let mut decompressed = Vec::new();
        GzDecoder::new(compressed.as_slice())
            .read_to_end(&mut decompressed)
            .unwrap();
        assert_eq!(&decompressed, original);
    }
    let (config_digest, _) = Digest::of_file(&image.blobs[0].path).unwrap();
    assert_eq!(config_digest, config.digest);
}

#[test]
fn the_same_legacy_archive_always_gives_the_same_digest() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.tar");
    let second = dir.path().join("second.tar");
    fixtures::write_docker_archive(&first, "stable").unwrap();
    fixtures::write_docker_archive(&second, "stable").unwrap();
    let digest = open_docker_archive(&first).top.digest;
    assert_eq!(open_docker_archive(&first).top.digest, digest);
    assert_eq!(open_docker_archive(&second).top.digest, digest);
    fixtures::write_docker_archive(&second, "other").unwrap();
    assert_ne!(open_docker_archive(&second).top.digest, digest);
}

#[test]
fn an_already_gzipped_layer_is_kept_as_is() {
    let dir = tempfile::tempdir().unwrap();
    let gzipped = fixtures::gzip(&fixtures::layer_tar("gz", 64).unwrap()).unwrap();
    let manifest = json!([{"Config": "config.json", "RepoTags": null, "Layers": ["l/layer.tar"]}]);
    let archive = dir.path().join("image.tar");
    write_tar(
        &archive,
        &[
            (
                "config.json",
                br#"{"os":"linux","architecture":"arm64","variant":"v8"}"#.to_vec(),
            ),
            ("l/layer.tar", gzipped.clone()),
            ("manifest.json", serde_json::to_vec(&manifest).unwrap()),
        ],
    );
    let image = open_docker_archive(&archive);
    assert_eq!(image.blobs[1].digest, Digest::of_bytes(&gzipped));
    assert_eq!(image.platforms, ["linux/arm64/v8"]);
}

#[test]
fn several_images_in_a_legacy_archive_are_listed_by_tag() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = json!([
        {"Config": "a.json", "RepoTags": ["app:1"], "Layers": []},
        {"Config": "b.json", "RepoTags": ["app:2"], "Layers": []},
    ]);
    let archive = dir.path().join("image.tar");
    write_tar(
        &archive,
        &[("manifest.json", serde_json::to_vec(&manifest).unwrap())],
    );
    let message = docker_archive_error(&archive);
    assert!(
        message.contains("app:1") && message.contains("app:2"),
        "{message}"
    );
}

#[test]
fn a_manifest_json_pointing_outside_the_archive_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = json!([{"Config": "../../etc/passwd", "RepoTags": [], "Layers": []}]);
    let archive = dir.path().join("image.tar");
    write_tar(
        &archive,
        &[("manifest.json", serde_json::to_vec(&manifest).unwrap())],
    );
    assert!(docker_archive_error(&archive).contains("traversal"));
}

#[test]
fn a_docker_25_archive_is_read_as_an_oci_layout() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    let digest = fixtures::write_single_manifest_layout(&layout, "docker25", &[20]).unwrap();
    fs::write(layout.join("manifest.json"), b"[]").unwrap();
    let archive = dir.path().join("image.tar");
    fixtures::write_oci_archive(&layout, &archive).unwrap();
    assert_eq!(open_docker_archive(&archive).top.digest, digest);
}

#[test]
fn a_tar_that_is_not_a_docker_archive_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("image.tar");
    write_tar(&archive, &[("hello.txt", b"hi".to_vec())]);
    assert!(docker_archive_error(&archive).contains("docker save"));
}

fn gunzip(path: &Path) -> Vec<u8> {
    let mut plain = Vec::new();
    GzDecoder::new(fs::File::open(path).unwrap())
        .read_to_end(&mut plain)
        .unwrap();
    plain
}

#[test]
fn plain_layers_of_a_docker_25_archive_are_gzipped_the_same_way_every_time() {
    let dir = tempfile::tempdir().unwrap();
    let layer = fixtures::layer_tar("plain", 5000).unwrap();
    let archive = dir.path().join("image.tar");
    let plain_digest = fixtures::write_plain_layer_docker_archive(&archive, &layer).unwrap();
    let image = open_docker_archive(&archive);
    assert_ne!(image.top.digest, plain_digest, "the manifest is rewritten");
    let ManifestContent::Image { config, layers } = image.top.content().unwrap() else {
        panic!("expected an image manifest");
    };
    assert_eq!(layers.len(), 1);
    assert_eq!(layers[0].media_type, super::media_types::OCI_LAYER_GZIP);
    let blob = image
        .blobs
        .iter()
        .find(|b| b.digest == layers[0].digest)
        .unwrap();
    assert_eq!(
        Digest::of_file(&blob.path).unwrap(),
        (layers[0].digest.clone(), layers[0].size)
    );
    assert_eq!(gunzip(&blob.path), layer, "the same tar, compressed");
    assert!(blob.size < layer.len() as u64);
    assert!(image.blobs.iter().any(|b| b.digest == config.digest));
    assert_eq!(image.blobs.len(), 2, "the uncompressed layer is not pushed");
    assert_eq!(image.platforms, ["linux/amd64"]);
    let header = fs::read(&blob.path).unwrap();
    assert_eq!(&header[4..8], &[0, 0, 0, 0], "no timestamp");
    assert_eq!(header[9], 255, "OS unknown");
    assert_eq!(open_docker_archive(&archive).top.digest, image.top.digest);
}

#[test]
fn attestations_of_a_rewritten_manifest_are_dropped_from_its_index() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("layout");
    let layout = fixtures::LayoutBuilder::create(&root).unwrap();
    let layer = fixtures::layer_tar("indexed", 800).unwrap();
    let layer_digest = layout.add_blob(&layer).unwrap();
    let plain = super::Descriptor::new(
        fixtures::PLAIN_OCI_LAYER,
        layer_digest.clone(),
        layer.len() as u64,
    );
    let amd64: super::Platform =
        serde_json::from_value(json!({"os": "linux", "architecture": "amd64"})).unwrap();
    let config = layout.add_config(&amd64, &[layer_digest]).unwrap();
    let mut manifest = layout.add_manifest(&config, &[plain]).unwrap();
    manifest.platform = Some(amd64);
    let unknown: super::Platform =
        serde_json::from_value(json!({"os": "unknown", "architecture": "unknown"})).unwrap();
    let (statement, diff_id) = layout.add_layer("statement", 100).unwrap();
    let attestation_config = layout.add_config(&unknown, &[diff_id]).unwrap();
    let mut attestation = layout
        .add_manifest(&attestation_config, &[statement])
        .unwrap();
    attestation.platform = Some(unknown);
    attestation.annotations.insert(
        "vnd.docker.reference.digest".into(),
        manifest.digest.to_string(),
    );
    attestation.annotations.insert(
        "vnd.docker.reference.type".into(),
        "attestation-manifest".into(),
    );
    let index = layout.add_index(&[manifest.clone(), attestation]).unwrap();
    layout.write_index_json(&[(&index, "latest")]).unwrap();
    let archive = dir.path().join("image.tar");
    fixtures::write_oci_archive(&root, &archive).unwrap();

    let image = open_docker_archive(&archive);
    assert_ne!(image.top.digest, index.digest);
    let ManifestContent::Index { manifests } = image.top.content().unwrap() else {
        panic!("expected an index");
    };
    assert_eq!(
        manifests.len(),
        1,
        "the attestation is dropped: {manifests:?}"
    );
    assert_eq!(image.children.len(), 1);
    assert_eq!(manifests[0].digest, image.children[0].digest);
    assert_eq!(manifests[0].size, image.children[0].bytes.len() as u64);
    assert_ne!(manifests[0].digest, manifest.digest);
    assert_eq!(
        image.blobs.len(),
        2,
        "config and the gzipped layer: {:?}",
        image.blobs
    );
}
