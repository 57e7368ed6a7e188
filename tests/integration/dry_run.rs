//! `--dry-run` reads (login, repositories, tags, blob presence) and writes nothing: no
//! repository, no blob, no manifest, no tag moved.

use crate::harness::{TestEnv, skopeo};
use crate::scenario::*;

#[tokio::test]
async fn dry_run_against_empty_regions_creates_nothing() {
    let env = TestEnv::start(&REGIONS).await;
    let (image, digest) = single_manifest_image(&env, "dry");
    let out = push_ok(
        &env,
        &image,
        "web",
        &["--tags", "v1", "--create-repository", "--dry-run"],
    )
    .await;
    let report = report(&out);
    assert_eq!(report["status"], "planned");
    assert_eq!(report["digest"], digest.as_str());
    for region in report["regions"].as_array().unwrap() {
        assert_eq!(region["repository_action"], "create", "{region}");
        assert_eq!(region["blobs_to_upload"], 3);
        assert_eq!(region["bytes_to_upload"].as_u64(), Some(blob_bytes(&image)));
    }
    assert_nothing_written(&env).await;
}

#[tokio::test]
async fn dry_run_shows_a_tag_move_without_making_it() {
    let env = TestEnv::start(&REGIONS).await;
    let (old_image, old) = single_manifest_image(&env, "old");
    push_ok(
        &env,
        &old_image,
        "web",
        &["--tags", "prod", "--create-repository"],
    )
    .await;
    let (new_image, new) = multi_platform_image(&env, "new");
    for region in env.regions() {
        region.control().reset_counts();
    }
    let out = push_ok(&env, &new_image, "web", &["--tags", "prod", "--dry-run"]).await;
    let report = report(&out);
    for region in report["regions"].as_array().unwrap() {
        assert_eq!(region["tags"][0]["action"], "move", "{region}");
        assert_eq!(region["tags"][0]["current"], old.as_str());
    }
    assert_tags_everywhere(&env, "web", &["prod"], &old).await;
    for region in env.regions() {
        let control = region.control();
        assert_eq!(
            control.count_upload_starts() + control.count_manifest_puts(),
            0
        );
        let present = skopeo::inspect_raw(region, "web", &new).await;
        assert!(
            present.is_err(),
            "{}: new manifest was written",
            region.name()
        );
    }
}
