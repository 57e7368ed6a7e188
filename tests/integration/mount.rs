//! Cross-repository mounts (`mount-from`): blobs already in another repository of the same
//! registry are linked instead of uploaded; when the registry declines (202, as ECR does when
//! mounting is not enabled or the source does not reference the blob) the session it opens is
//! used for an ordinary upload.

use crate::harness::{Region, TestEnv, skopeo};
use crate::scenario::*;

/// Mount requests (`POST …/uploads/?mount=…`) the region's proxy answered with `status`.
fn mount_requests(region: &Region, status: u16) -> usize {
    region
        .control()
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.uri.contains("mount=") && r.status == status)
        .count()
}

#[tokio::test]
async fn blobs_in_the_source_repository_are_mounted_not_uploaded() {
    let env = TestEnv::start(&REGIONS[..2]).await;
    let (image, digest) = single_manifest_image(&env, "mounted");
    push_ok(
        &env,
        &image,
        "base",
        &["--tags", "v1", "--create-repository"],
    )
    .await;
    for region in env.regions() {
        region.control().reset_counts();
    }
    let out = push_ok(
        &env,
        &image,
        "app",
        &[
            "--tags",
            "v1",
            "--create-repository",
            "--mount-from",
            "base",
        ],
    )
    .await;
    let report = report(&out);
    assert_eq!(report["bytes_uploaded"], 0);
    for region in report["regions"].as_array().unwrap() {
        assert_eq!(region["blobs_mounted"], 3, "{region}");
        assert_eq!(region["blobs_uploaded"], 0, "{region}");
    }
    for region in env.regions() {
        assert_eq!(mount_requests(region, 201), 3, "{}", region.name());
        assert_eq!(region.control().count_kind("PUT", "upload-session"), 0);
    }
    assert_tags_everywhere(&env, "app", &["v1"], &digest).await;
    let manifest: serde_json::Value = serde_json::from_slice(
        &skopeo::inspect_raw(&env.regions()[1], "app", "v1")
            .await
            .unwrap(),
    )
    .unwrap();
    let layer = manifest["layers"][0]["digest"].as_str().unwrap();
    assert!(
        skopeo::blob_exists(&env.regions()[1], "app", layer)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_declined_mount_falls_back_to_the_upload_session_it_opened() {
    let env = TestEnv::start(&REGIONS[..2]).await;
    let (image, digest) = multi_platform_image(&env, "declined");
    let out = push_ok(
        &env,
        &image,
        "app",
        &[
            "--tags",
            "v1",
            "--create-repository",
            "--mount-from",
            "empty-source",
        ],
    )
    .await;
    let report = report(&out);
    for region in report["regions"].as_array().unwrap() {
        assert_eq!(region["blobs_mounted"], 0, "{region}");
        assert_eq!(region["blobs_uploaded"], 5, "{region}");
    }
    for region in env.regions() {
        assert_eq!(mount_requests(region, 202), 5, "{}", region.name());
    }
    assert_tags_everywhere(&env, "app", &["v1"], &digest).await;
}
