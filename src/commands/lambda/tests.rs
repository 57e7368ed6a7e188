//! `lambda_image` on every index shape a builder writes: what passes as it is, what is
//! unwrapped to its one platform manifest, and the exact refusal for the rest.

use std::path::Path;

use super::*;
use serde_json::json;

use crate::image::fixtures::{
    LayoutBuilder, write_multi_platform_layout, write_single_manifest_layout,
};
use crate::image::index_fixtures::{
    write_attestations_only_layout, write_index_layout, write_nested_index_layout,
    write_platform_layout,
};
use crate::image::media_types::OCI_CONFIG;
use crate::image::{ImageSource, open_image};

fn open(dir: &Path) -> LocalImage {
    let source: ImageSource = format!("oci:{}", dir.display()).parse().unwrap();
    open_image(&source).unwrap()
}

fn refusal_of(dir: &Path) -> String {
    lambda_image(open(dir)).unwrap_err().to_string()
}

#[test]
fn single_manifests_lambda_runs_pass_unchanged() {
    for platform in ["linux/amd64", "linux/arm64", "linux/arm64/v8"] {
        let dir = tempfile::tempdir().unwrap();
        let digest = write_platform_layout(dir.path(), "pass", platform).unwrap();
        let image = lambda_image(open(dir.path())).unwrap();
        assert_eq!(image.top.digest, digest, "{platform}");
        assert_eq!(image.platforms, [platform]);
    }
}

#[test]
fn a_single_manifest_for_another_platform_is_refused_naming_it() {
    for platform in ["linux/s390x", "linux/arm/v7", "windows/amd64"] {
        let dir = tempfile::tempdir().unwrap();
        let digest = write_platform_layout(dir.path(), "other", platform).unwrap();
        assert_eq!(
            refusal_of(dir.path()),
            format!(
                "invalid input `lambda-compatible`: the image {digest} is for {platform}; AWS \
                 Lambda runs only linux/amd64 (x86_64) and linux/arm64"
            )
        );
    }
}

#[test]
fn a_config_that_names_no_platform_is_left_to_lambda() {
    let dir = tempfile::tempdir().unwrap();
    let layout = LayoutBuilder::create(dir.path()).unwrap();
    let (layer, diff_id) = layout.add_layer("unnamed", 100).unwrap();
    let config = layout
        .add_json(
            OCI_CONFIG,
            &json!({"config": {}, "rootfs": {"type": "layers", "diff_ids": [diff_id]}}),
        )
        .unwrap();
    let manifest = layout.add_manifest(&config, &[layer]).unwrap();
    layout.write_index_json(&[(&manifest, "latest")]).unwrap();
    let digest = manifest.digest;
    let image = lambda_image(open(dir.path())).unwrap();
    assert_eq!(image.top.digest, digest);
    assert!(image.platforms.is_empty(), "{:?}", image.platforms);
}

#[test]
fn a_one_platform_index_with_its_attestation_becomes_the_platform_manifest() {
    let dir = tempfile::tempdir().unwrap();
    write_index_layout(dir.path(), "one", &["linux/arm64"], true).unwrap();
    let index = open(dir.path());
    let entries = index.index_entries().unwrap().unwrap();
    assert_eq!(entries.attestations.len(), 1);
    let platform_manifest = entries.platform_images[0].digest.clone();
    let image = lambda_image(index).unwrap();
    assert_eq!(image.top.digest, platform_manifest);
    assert!(!image.top.is_index() && image.children.is_empty());
    assert_eq!(image.platforms, ["linux/arm64"]);
    let referenced: Vec<_> = image.top.references().unwrap();
    assert_eq!(image.blobs.len(), 2, "config and layer only");
    for blob in &image.blobs {
        assert!(referenced.iter().any(|d| d.digest == blob.digest));
    }
}

#[test]
fn a_one_platform_index_for_another_platform_is_refused_after_unwrapping() {
    let dir = tempfile::tempdir().unwrap();
    let index_digest = write_index_layout(dir.path(), "s390x", &["linux/s390x"], true).unwrap();
    let index = open(dir.path());
    let entries = index.index_entries().unwrap().unwrap();
    let platform_manifest = &entries.platform_images[0].digest;
    assert_eq!(
        refusal_of(dir.path()),
        format!(
            "invalid input `lambda-compatible`: the image {platform_manifest} (the one platform \
             manifest of the index {index_digest}) is for linux/s390x; AWS Lambda runs only \
             linux/amd64 (x86_64) and linux/arm64"
        )
    );
}

#[test]
fn several_platforms_are_refused_counting_platforms_and_attestations() {
    let dir = tempfile::tempdir().unwrap();
    let digest = write_multi_platform_layout(dir.path(), "two").unwrap();
    assert_eq!(
        refusal_of(dir.path()),
        format!(
            "invalid input `lambda-compatible`: the image {digest} is an index of 2 platforms \
             (linux/amd64, linux/arm64/v8); {WHY}. Build for one platform (e.g. --platform \
             linux/arm64), or set lambda-compatible: false"
        )
    );
    let dir = tempfile::tempdir().unwrap();
    let digest =
        write_index_layout(dir.path(), "three", &["linux/amd64", "linux/arm64"], true).unwrap();
    assert_eq!(
        refusal_of(dir.path()),
        format!(
            "invalid input `lambda-compatible`: the image {digest} is an index of 2 platforms \
             (linux/amd64, linux/arm64) plus 2 attestation manifest(s); {WHY}. Build for one \
             platform (e.g. --platform linux/arm64), or set lambda-compatible: false"
        )
    );
}

#[test]
fn an_index_of_attestations_only_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let digest = write_attestations_only_layout(dir.path(), "only").unwrap();
    assert_eq!(
        refusal_of(dir.path()),
        format!(
            "invalid input `lambda-compatible`: the index {digest} holds no runnable image, \
             only 2 attestation manifest(s); {WHY}"
        )
    );
}

#[test]
fn an_empty_index_is_refused_as_empty() {
    let dir = tempfile::tempdir().unwrap();
    let layout = LayoutBuilder::create(dir.path()).unwrap();
    let index = layout.add_index(&[]).unwrap();
    layout.write_index_json(&[(&index, "latest")]).unwrap();
    assert_eq!(
        refusal_of(dir.path()),
        format!(
            "invalid input `lambda-compatible`: the index {} is empty: it holds no image \
             manifest to push",
            index.digest
        )
    );
}

#[test]
fn an_index_of_indexes_is_refused_even_with_one_platform_inside() {
    let dir = tempfile::tempdir().unwrap();
    let (outer, _) = write_nested_index_layout(dir.path(), "nested").unwrap();
    assert_eq!(
        refusal_of(dir.path()),
        format!(
            "invalid input `lambda-compatible`: the image {outer} is an index of indexes; {WHY}"
        )
    );
}

/// The push configuration for `dir`'s image, with `lambda-compatible` as given.
fn config(dir: &Path, lambda_compatible: &str) -> Config {
    let mut raw = crate::config::raw::RawInputs::default();
    for (name, value) in [
        ("regions", "us-east-1"),
        ("repository", "fn"),
        ("tags", "v1"),
        ("lambda-compatible", lambda_compatible),
    ] {
        raw.set(name, Some(value.to_string()));
    }
    raw.set("image", Some(format!("oci:{}", dir.display())));
    crate::config::resolve(&raw).unwrap()
}

#[test]
fn the_input_switches_the_check_on_and_off() {
    let dir = tempfile::tempdir().unwrap();
    let (outer, _) = write_nested_index_layout(dir.path(), "switch").unwrap();
    let image = prepare_for_lambda(open(dir.path()), &config(dir.path(), "false")).unwrap();
    assert_eq!(image.top.digest, outer);
    let refused = prepare_for_lambda(open(dir.path()), &config(dir.path(), "true"));
    assert!(refused.is_err());

    let dir = tempfile::tempdir().unwrap();
    let digest = write_single_manifest_layout(dir.path(), "switch", &[10]).unwrap();
    let image = prepare_for_lambda(open(dir.path()), &config(dir.path(), "true")).unwrap();
    assert_eq!(image.top.digest, digest);
}
