//! Tests for `open_image` on OCI layouts and OCI archives: selection by ref, nested
//! indexes, deduplication, platforms, and rejection of broken or incompatible content.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::fixtures::{self, LayoutBuilder};
use super::media_types::{OCI_CONFIG, OCI_INDEX, OCI_MANIFEST};
use super::{Descriptor, Digest, ImageSource, LocalImage, Platform, open_image};

fn layout_source(path: &Path, reference: Option<&str>) -> ImageSource {
    ImageSource::OciLayout {
        path: path.to_path_buf(),
        reference: reference.map(str::to_owned),
    }
}

fn open_layout(path: &Path) -> LocalImage {
    open_image(&layout_source(path, None)).unwrap()
}

fn open_error(source: &ImageSource) -> String {
    format!("{:#}", open_image(source).unwrap_err())
}

fn blob_digests(image: &LocalImage) -> Vec<Digest> {
    image.blobs.iter().map(|blob| blob.digest.clone()).collect()
}

fn single_layout(dir: &Path) -> (PathBuf, Digest) {
    let layout = dir.join("layout");
    let digest = fixtures::write_single_manifest_layout(&layout, "single", &[1000, 10]).unwrap();
    (layout, digest)
}

#[test]
fn reads_a_single_manifest_layout() {
    let dir = tempfile::tempdir().unwrap();
    let (layout, digest) = single_layout(dir.path());
    let image = open_layout(&layout);
    assert_eq!(image.top.digest, digest);
    assert_eq!(image.top.media_type, OCI_MANIFEST);
    assert!(image.children.is_empty());
    let references: Vec<Digest> = image
        .top
        .references()
        .unwrap()
        .into_iter()
        .map(|d| d.digest)
        .collect();
    assert_eq!(blob_digests(&image), references);
    assert_eq!(image.blobs[0].media_type, OCI_CONFIG);
    assert_eq!(image.platforms, ["linux/amd64"]);
    let total: u64 = image
        .blobs
        .iter()
        .map(|blob| fs::metadata(&blob.path).unwrap().len())
        .sum();
    assert_eq!(image.blob_bytes(), total);
    assert_eq!(
        image.source_description(),
        format!("oci:{}", layout.display())
    );
    assert_eq!(
        open_image(&layout_source(&layout, Some("latest")))
            .unwrap()
            .top,
        image.top
    );
}

#[test]
fn reads_a_multi_platform_layout() {
    let dir = tempfile::tempdir().unwrap();
    let index_digest = fixtures::write_multi_platform_layout(dir.path(), "multi").unwrap();
    let image = open_layout(dir.path());
    assert_eq!(image.top.digest, index_digest);
    assert_eq!(image.top.media_type, OCI_INDEX);
    assert_eq!(image.platforms, ["linux/amd64", "linux/arm64/v8"]);
    let child_digests: Vec<Digest> = image
        .top
        .references()
        .unwrap()
        .into_iter()
        .map(|d| d.digest)
        .collect();
    let children: Vec<Digest> = image.children.iter().map(|c| c.digest.clone()).collect();
    assert_eq!(children, child_digests);
    // Two configs, one shared layer and two own layers: the shared layer appears once.
    assert_eq!(image.blobs.len(), 5);
    let unique: HashSet<Digest> = blob_digests(&image).into_iter().collect();
    assert_eq!(unique.len(), 5);
}

#[test]
fn nested_indexes_put_every_manifest_after_what_it_references() {
    let dir = tempfile::tempdir().unwrap();
    let layout = LayoutBuilder::create(dir.path()).unwrap();
    let (layer, diff_id) = layout.add_layer("nested", 50).unwrap();
    let mut platform_manifests = Vec::new();
    for architecture in ["amd64", "arm64"] {
        let platform = Platform {
            architecture: architecture.into(),
            os: "linux".into(),
            variant: None,
        };
        let config = layout
            .add_config(&platform, std::slice::from_ref(&diff_id))
            .unwrap();
        let mut manifest = layout
            .add_manifest(&config, std::slice::from_ref(&layer))
            .unwrap();
        manifest.platform = Some(platform);
        platform_manifests.push(manifest);
    }
    let inner = layout.add_index(&platform_manifests).unwrap();
    let attestation_config = layout.add_json(OCI_CONFIG, &json!({})).unwrap();
    let mut attestation = layout.add_manifest(&attestation_config, &[]).unwrap();
    attestation.platform = Some(Platform {
        architecture: "unknown".into(),
        os: "unknown".into(),
        variant: None,
    });
    let outer = layout
        .add_index(&[inner.clone(), attestation.clone()])
        .unwrap();
    layout.write_index_json(&[(&outer, "latest")]).unwrap();

    let image = open_layout(dir.path());
    assert_eq!(image.top.digest, outer.digest);
    let order: Vec<Digest> = image.children.iter().map(|c| c.digest.clone()).collect();
    let expected = [
        &platform_manifests[0],
        &platform_manifests[1],
        &inner,
        &attestation,
    ];
    assert_eq!(order, expected.map(|d| d.digest.clone()));
    assert_eq!(image.platforms, ["linux/amd64", "linux/arm64"]);
    assert_eq!(
        image.blobs.len(),
        4,
        "two configs, one shared layer, attestation config"
    );
}

#[test]
fn a_wrong_ref_lists_the_available_refs() {
    let dir = tempfile::tempdir().unwrap();
    let (layout, _) = single_layout(dir.path());
    let message = open_error(&layout_source(&layout, Some("nope")));
    assert!(
        message.contains("\"nope\"") && message.contains("latest ("),
        "{message}"
    );
}

#[test]
fn several_images_without_a_ref_is_an_error_listing_them() {
    let dir = tempfile::tempdir().unwrap();
    let layout = LayoutBuilder::create(dir.path()).unwrap();
    let first = layout
        .add_manifest(&layout.add_json(OCI_CONFIG, &json!({"a": 1})).unwrap(), &[])
        .unwrap();
    let second = layout
        .add_manifest(&layout.add_json(OCI_CONFIG, &json!({"b": 2})).unwrap(), &[])
        .unwrap();
    layout
        .write_index_json(&[(&first, "one"), (&second, "two")])
        .unwrap();
    let message = open_error(&layout_source(dir.path(), None));
    assert!(
        message.contains("one (") && message.contains("two ("),
        "{message}"
    );
    let image = open_image(&layout_source(dir.path(), Some("two"))).unwrap();
    assert_eq!(image.top.digest, second.digest);
    assert!(image.platforms.is_empty(), "config without os/architecture");
}

#[test]
fn a_manifest_without_media_type_is_rejected_with_the_ecr_reason() {
    let dir = tempfile::tempdir().unwrap();
    let layout = LayoutBuilder::create(dir.path()).unwrap();
    let config = layout.add_json(OCI_CONFIG, &json!({})).unwrap();
    let manifest = json!({"schemaVersion": 2, "config": config, "layers": []});
    let descriptor = layout.add_json(OCI_MANIFEST, &manifest).unwrap();
    layout.write_index_json(&[(&descriptor, "latest")]).unwrap();
    let message = open_error(&layout_source(dir.path(), None));
    assert!(
        message.contains("mediaType") && message.contains("ECR"),
        "{message}"
    );
}

#[test]
fn corrupted_manifest_bytes_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let (layout, digest) = single_layout(dir.path());
    let path = layout.join("blobs/sha256").join(digest.hex());
    let mut bytes = fs::read(&path).unwrap();
    let position = bytes.iter().position(|byte| *byte == b'2').unwrap();
    bytes[position] = b'3';
    fs::write(&path, bytes).unwrap();
    let message = open_error(&layout_source(&layout, None));
    assert!(
        message.contains("corrupted") && message.contains(digest.as_str()),
        "{message}"
    );
}

fn first_layer(layout: &Path) -> Descriptor {
    open_layout(layout).top.references().unwrap().remove(1)
}

#[test]
fn a_missing_blob_is_rejected_naming_digest_and_path() {
    let dir = tempfile::tempdir().unwrap();
    let (layout, _) = single_layout(dir.path());
    let layer = first_layer(&layout);
    fs::remove_file(layout.join("blobs/sha256").join(layer.digest.hex())).unwrap();
    let message = open_error(&layout_source(&layout, None));
    assert!(
        message.contains(layer.digest.as_str()) && message.contains("missing"),
        "{message}"
    );
    assert!(
        message.contains(layer.digest.hex()),
        "path is named: {message}"
    );
}

#[test]
fn a_blob_of_the_wrong_size_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let (layout, _) = single_layout(dir.path());
    let layer = first_layer(&layout);
    let path = layout.join("blobs/sha256").join(layer.digest.hex());
    let mut bytes = fs::read(&path).unwrap();
    bytes.push(0);
    fs::write(&path, bytes).unwrap();
    let message = open_error(&layout_source(&layout, None));
    assert!(message.contains(layer.digest.as_str()), "{message}");
    assert!(
        message.contains(&format!("says {} bytes", layer.size)),
        "{message}"
    );
}

#[test]
fn a_missing_child_manifest_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    fixtures::write_multi_platform_layout(dir.path(), "child").unwrap();
    let child = open_layout(dir.path()).children[1].digest.clone();
    fs::remove_file(dir.path().join("blobs/sha256").join(child.hex())).unwrap();
    let message = open_error(&layout_source(dir.path(), None));
    assert!(
        message.contains(child.as_str()) && message.contains("missing"),
        "{message}"
    );
}

#[test]
fn a_missing_foreign_layer_explains_that_only_local_blobs_are_pushed() {
    let dir = tempfile::tempdir().unwrap();
    let layout = LayoutBuilder::create(dir.path()).unwrap();
    let config = layout.add_json(OCI_CONFIG, &json!({})).unwrap();
    let mut foreign = serde_json::to_value(Descriptor::new(
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        Digest::of_bytes(b"elsewhere"),
        9,
    ))
    .unwrap();
    foreign["urls"] = json!(["https://example.com/layer"]);
    let manifest = json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": [foreign]});
    let descriptor = layout.add_json(OCI_MANIFEST, &manifest).unwrap();
    layout.write_index_json(&[(&descriptor, "latest")]).unwrap();
    let message = open_error(&layout_source(dir.path(), None));
    assert!(message.contains("non-distributable"), "{message}");
}

#[test]
fn a_directory_without_oci_layout_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let message = open_error(&layout_source(dir.path(), None));
    assert!(message.contains("oci-layout"), "{message}");
}

#[test]
fn an_oci_archive_gives_the_same_image_as_its_layout() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    let digest = fixtures::write_multi_platform_layout(&layout, "archive").unwrap();
    let tar_path = dir.path().join("image.tar");
    fixtures::write_oci_archive(&layout, &tar_path).unwrap();
    let source = ImageSource::OciArchive {
        path: tar_path.clone(),
        reference: Some("latest".into()),
    };
    let from_archive = open_image(&source).unwrap();
    let from_layout = open_layout(&layout);
    assert_eq!(from_archive.top, from_layout.top);
    assert_eq!(from_archive.children, from_layout.children);
    assert_eq!(blob_digests(&from_archive), blob_digests(&from_layout));
    assert_eq!(from_archive.platforms, from_layout.platforms);
    assert_eq!(from_archive.top.digest, digest);
    assert_eq!(
        from_archive.source_description(),
        format!("oci-archive:{}:latest", tar_path.display())
    );

    let extraction_dir = from_archive.extraction_dir().unwrap().to_path_buf();
    let blob_path = from_archive.blobs[0].path.clone();
    assert!(blob_path.is_file());
    let clone = from_archive.clone();
    drop(from_archive);
    assert!(
        blob_path.is_file(),
        "a clone keeps the extracted files alive"
    );
    drop(clone);
    assert!(
        !extraction_dir.exists(),
        "extracted files are removed with the image"
    );
}

#[test]
fn an_oci_archive_wrapping_the_layout_in_a_directory_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let wrapper = dir.path().join("wrapper");
    let digest =
        fixtures::write_single_manifest_layout(&wrapper.join("my-layout"), "w", &[5]).unwrap();
    let tar_path = dir.path().join("image.tar");
    fixtures::write_oci_archive(&wrapper, &tar_path).unwrap();
    let image = open_image(&ImageSource::OciArchive {
        path: tar_path,
        reference: None,
    })
    .unwrap();
    assert_eq!(image.top.digest, digest);
}

#[test]
fn a_cosign_saved_layout_carries_the_signature_as_the_image_s_sig_tag() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("saved");
    let (image_digest, signature) = fixtures::write_cosign_saved_layout(&layout, "saved").unwrap();
    // Two entries, one image: no :REF is needed.
    let image = open_layout(&layout);
    assert_eq!(image.top.digest, image_digest);
    let tags: Vec<(&str, &Digest)> = image
        .cosign_tags
        .iter()
        .map(|(tag, manifest)| (tag.as_str(), &manifest.digest))
        .collect();
    let expected = format!("sha256-{}.sig", image_digest.hex());
    assert_eq!(tags, [(expected.as_str(), &signature)]);
    // The signature's payload and config travel as blobs of the image.
    let sig = &image.cosign_tags[0].1;
    let blobs: HashSet<Digest> = blob_digests(&image).into_iter().collect();
    for reference in sig.references().unwrap() {
        assert!(blobs.contains(&reference.digest), "{}", reference.digest);
    }
    assert!(image.referrers.is_empty());
}
