//! `ecr-fanout push` end to end: one image to three simulated regions through the
//! ECR-faithful proxies, every result read back with skopeo straight from the registries.

use crate::harness::{TestEnv, skopeo};
use crate::scenario::*;

#[tokio::test]
async fn single_manifest_reaches_three_regions_with_every_tag() {
    let env = TestEnv::start(&REGIONS).await;
    let (image, digest) = single_manifest_image(&env, "single");
    let out = push_ok(
        &env,
        &image,
        "web",
        &["--tags", "v1,latest", "--create-repository"],
    )
    .await;
    let report = report(&out);
    assert_eq!(report["digest"], digest.as_str());
    assert_eq!(report["status"], "succeeded");
    assert_tags_everywhere(&env, "web", &["v1", "latest"], &digest).await;
    for region in env.regions() {
        assert_eq!(
            report["images"][region.name()],
            pinned_uri(region.name(), "web", &digest).as_str()
        );
        assert_eq!(env.list_repositories(region.name()).await, ["web"]);
        let mut tags = skopeo::tags(region, "web").await.unwrap();
        tags.sort();
        assert_eq!(tags, ["latest", "v1"]);
    }
    assert_eq!(
        report["image"],
        pinned_uri("us-east-1", "web", &digest).as_str()
    );
    assert_eq!(
        report["bytes_uploaded"].as_u64(),
        Some(3 * blob_bytes(&image))
    );
}

#[tokio::test]
async fn two_platform_index_reaches_three_regions_with_its_children() {
    let env = TestEnv::start(&REGIONS).await;
    let (image, digest) = multi_platform_image(&env, "multi");
    let out = push_ok(
        &env,
        &image,
        "web",
        &["--tags", "v2", "--create-repository"],
    )
    .await;
    let report = report(&out);
    assert_eq!(report["digest"], digest.as_str());
    assert_eq!(
        report["platforms"],
        serde_json::json!(["linux/amd64", "linux/arm64/v8"])
    );
    assert_tags_everywhere(&env, "web", &["v2"], &digest).await;
    let index: serde_json::Value = serde_json::from_slice(
        &skopeo::inspect_raw(&env.regions()[0], "web", "v2")
            .await
            .unwrap(),
    )
    .unwrap();
    let children: Vec<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["digest"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(children.len(), 2);
    for region in env.regions() {
        for child in &children {
            let served = skopeo::manifest_digest(region, "web", child).await.unwrap();
            assert_eq!(&served, child, "{} child {child}", region.name());
        }
    }
}

#[tokio::test]
async fn namespaced_repository_in_existing_repositories() {
    let env = TestEnv::start(&REGIONS).await;
    for region in REGIONS {
        env.create_repository(region, "team-a/web-app").await;
    }
    let (image, digest) = single_manifest_image(&env, "namespaced");
    let out = push_ok(&env, &image, "team-a/web-app", &["--tags", "main"]).await;
    assert_tags_everywhere(&env, "team-a/web-app", &["main"], &digest).await;
    assert_eq!(
        report(&out)["images"]["eu-west-1"],
        pinned_uri("eu-west-1", "team-a/web-app", &digest).as_str()
    );
}

#[tokio::test]
async fn identical_rerun_uploads_nothing() {
    let env = TestEnv::start(&REGIONS).await;
    let (image, digest) = single_manifest_image(&env, "rerun");
    let args = ["--tags", "v1", "--create-repository"];
    push_ok(&env, &image, "web", &args).await;
    for region in env.regions() {
        region.control().reset_counts();
    }
    let second = push_ok(&env, &image, "web", &args).await;
    let report = report(&second);
    assert_eq!(report["bytes_uploaded"], 0);
    for region in report["regions"].as_array().unwrap() {
        assert_eq!(region["status"], "unchanged", "{region}");
        assert_eq!(region["blobs_uploaded"], 0);
        assert_eq!(region["manifests_put"], 0);
    }
    for region in env.regions() {
        assert_eq!(
            region.control().count_upload_starts(),
            0,
            "{}",
            region.name()
        );
        assert_eq!(
            region.control().count_manifest_puts(),
            0,
            "{}",
            region.name()
        );
    }
    assert_tags_everywhere(&env, "web", &["v1"], &digest).await;
}

#[tokio::test]
async fn moving_a_tag_reuses_shared_blobs() {
    let env = TestEnv::start(&REGIONS).await;
    let (first_image, _) = single_manifest_image(&env, "first");
    push_ok(
        &env,
        &first_image,
        "web",
        &["--tags", "latest", "--create-repository"],
    )
    .await;
    let (second_image, second) = multi_platform_image(&env, "second");
    let out = push_ok(&env, &second_image, "web", &["--tags", "latest"]).await;
    let report = report(&out);
    for region in env.regions() {
        let tags = &crate::repository_support::region_report(&report, region.name())["tags"];
        assert_eq!(tags[0]["tag"], "latest");
        assert_eq!(tags[0]["action"], "move", "{}", region.name());
    }
    assert_tags_everywhere(&env, "web", &["latest"], &second).await;
}

#[tokio::test]
async fn archives_push_the_same_bytes_as_their_layout() {
    let env = TestEnv::start(&REGIONS[..1]).await;
    let (image, digest) = single_manifest_image(&env, "archived");
    let (tar, tar_text) = work_file(&env, "image.tar");
    ecr_fanout::image::fixtures::write_oci_archive(
        std::path::Path::new(image.trim_start_matches("oci:")),
        &tar,
    )
    .unwrap();
    push_ok(
        &env,
        &format!("oci-archive:{tar_text}"),
        "web",
        &["--tags", "oci", "--create-repository"],
    )
    .await;
    assert_tags_everywhere(&env, "web", &["oci"], &digest).await;

    let (docker_tar, docker_text) = work_file(&env, "docker.tar");
    ecr_fanout::image::fixtures::write_docker_archive(&docker_tar, "docker").unwrap();
    let out = push_ok(
        &env,
        &format!("docker-archive:{docker_text}"),
        "web",
        &["--tags", "docker"],
    )
    .await;
    let pushed = report(&out)["digest"].as_str().unwrap().to_string();
    assert_tags_everywhere(&env, "web", &["docker"], &pushed).await;
    let manifest: serde_json::Value = serde_json::from_slice(
        &skopeo::inspect_raw(&env.regions()[0], "web", "docker")
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        manifest["mediaType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
}

/// Round trips are what a WAN charges for. A push into a repository it creates asks about
/// each blob once per region (verification's HEAD; the plan reads nothing from a repository
/// that does not exist yet) and uploads it with one POST and one PUT, with no HEAD after the
/// upload. A re-run asks twice (the plan's HEAD and verification's) and sends nothing.
#[tokio::test]
async fn each_blob_costs_one_upload_and_no_extra_round_trip() {
    let env = TestEnv::start(&REGIONS).await;
    let (image, _) = single_manifest_image(&env, "round-trips");
    let blobs = ecr_fanout::image::open_image(&image.parse().expect("source"))
        .expect("open")
        .blobs
        .len();
    push_v1_created(&env, &image).await;
    for region in env.regions() {
        let control = region.control();
        let name = region.name();
        assert_eq!(control.count_kind("HEAD", "blob"), blobs, "{name}");
        assert_eq!(control.count_upload_starts(), blobs, "{name}");
        assert_eq!(control.count_kind("PUT", "upload-session"), blobs, "{name}");
        assert_eq!(control.count_kind("GET", "blob"), 0, "{name}");
        control.reset_counts();
    }
    push_v1_created(&env, &image).await;
    for region in env.regions() {
        let control = region.control();
        let name = region.name();
        assert_eq!(control.count_kind("HEAD", "blob"), 2 * blobs, "{name}");
        assert_eq!(control.count_upload_starts(), 0, "{name}");
        assert_eq!(control.count_manifest_puts(), 0, "{name}");
    }
}
