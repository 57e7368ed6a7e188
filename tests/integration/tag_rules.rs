//! Tag mutability with exclusion filters, decided per tag in the plan as ECR decides it: a tag
//! that the repository's mode and filters make immutable, and that already points at other
//! bytes, refuses the run before any upload anywhere; a mutable tag moves in every region.
//! The proxy enforces ECR's rules (read from moto), so a wrong plan decision would show as a
//! TAG_INVALID in phase 2 and a tag split across regions. Results are read back with skopeo.

use crate::harness::{RunOutput, TestEnv, skopeo};
use crate::repository_support::region_report;
use crate::scenario::*;

async fn create_everywhere(env: &TestEnv, name: &str, mode: &str, filters: &[&str]) {
    for region in env.regions() {
        env.moto()
            .create_repository_with_rules(region.name(), name, mode, filters)
            .await
            .unwrap();
    }
}

/// Asserts the run was refused in the plan: exit 2, and nothing of `digest` written anywhere.
async fn assert_refused_before_upload(env: &TestEnv, out: &RunOutput, digest: &str) {
    assert_eq!(out.status, 2, "{out}");
    assert_nothing_uploaded(env, "web", digest).await;
}

fn reset_counts(env: &TestEnv) {
    for region in env.regions() {
        region.control().reset_counts();
    }
}

#[tokio::test]
async fn immutable_with_exclusion_moves_latest_and_refuses_v1() {
    let env = TestEnv::start(&REGIONS).await;
    create_everywhere(&env, "web", "IMMUTABLE_WITH_EXCLUSION", &["latest"]).await;
    let (first, first_digest) = single_manifest_image(&env, "exclusion-a");
    let (second, second_digest) = single_manifest_image(&env, "exclusion-b");
    push_ok(&env, &first, "web", &["--tags", "v1,latest"]).await;
    // The same image again: both tags are already there, so nothing is put (ECR would refuse
    // even an identical put of the immutable v1).
    push_ok(&env, &first, "web", &["--tags", "v1,latest"]).await;

    let moved = push_ok(&env, &second, "web", &["--tags", "latest"]).await;
    let moved = report(&moved);
    for region in REGIONS {
        assert_eq!(
            region_report(&moved, region)["tags_moved"],
            serde_json::json!(["latest"])
        );
    }
    assert_tags_everywhere(&env, "web", &["latest"], &second_digest).await;

    let (third, third_digest) = single_manifest_image(&env, "exclusion-c");
    reset_counts(&env);
    let refused = push(&env, &third, "web", &["--tags", "latest,v1"]).await;
    assert_refused_before_upload(&env, &refused, &third_digest).await;
    assert_stderr_says(
        &refused,
        &[
            "tag v1 is immutable (mode IMMUTABLE_WITH_EXCLUSION, no exclusion filter (latest) \
             matches it) and already points at",
            &first_digest,
            &third_digest,
            "us-east-1",
            "eu-west-1",
            "ap-southeast-2",
        ],
    );
    assert!(
        !refused.stderr.contains("tag latest is immutable"),
        "{refused}"
    );
    assert_tags_everywhere(&env, "web", &["v1"], &first_digest).await;
    assert_tags_everywhere(&env, "web", &["latest"], &second_digest).await;
}

#[tokio::test]
async fn mutable_with_exclusion_refuses_v1_and_moves_latest() {
    let env = TestEnv::start(&REGIONS).await;
    create_everywhere(&env, "web", "MUTABLE_WITH_EXCLUSION", &["v*"]).await;
    let (first, first_digest) = single_manifest_image(&env, "mirror-a");
    let (second, second_digest) = single_manifest_image(&env, "mirror-b");
    push_ok(&env, &first, "web", &["--tags", "v1,latest"]).await;

    reset_counts(&env);
    let refused = push(&env, &second, "web", &["--tags", "v1,latest"]).await;
    assert_refused_before_upload(&env, &refused, &second_digest).await;
    assert_stderr_says(
        &refused,
        &[
            "tag v1 is immutable (mode MUTABLE_WITH_EXCLUSION, exclusion filter 'v*' matches \
             it) and already points at",
            &first_digest,
            &second_digest,
        ],
    );
    assert_tags_everywhere(&env, "web", &["v1", "latest"], &first_digest).await;

    push_ok(&env, &second, "web", &["--tags", "latest"]).await;
    assert_tags_everywhere(&env, "web", &["latest"], &second_digest).await;
    assert_tags_everywhere(&env, "web", &["v1"], &first_digest).await;
}

#[tokio::test]
async fn one_region_with_another_mode_refuses_the_run_before_any_upload() {
    let env = TestEnv::start(&REGIONS).await;
    env.create_repository("us-east-1", "web").await;
    env.create_repository("eu-west-1", "web").await;
    env.moto()
        .create_repository_with_rules("ap-southeast-2", "web", "IMMUTABLE", &[])
        .await
        .unwrap();
    let (first, first_digest) = single_manifest_image(&env, "modes-a");
    let (second, second_digest) = single_manifest_image(&env, "modes-b");
    push_ok(&env, &first, "web", &["--tags", "v1"]).await;

    reset_counts(&env);
    let refused = push(&env, &second, "web", &["--tags", "v1"]).await;
    assert_refused_before_upload(&env, &refused, &second_digest).await;
    assert_stderr_says(
        &refused,
        &[
            "region ap-southeast-2",
            "tag v1 is immutable (mode IMMUTABLE) and already points at",
            "nothing was pushed or tagged in any region",
        ],
    );
    assert!(
        !refused
            .stderr
            .contains("region us-east-1, repository web: tag"),
        "{refused}"
    );
    assert_tags_everywhere(&env, "web", &["v1"], &first_digest).await;
}

#[tokio::test]
async fn a_bad_exclusion_filter_is_refused_before_anything_is_written() {
    let env = TestEnv::start(&REGIONS).await;
    let (image, _) = single_manifest_image(&env, "bad-filter");
    let out = push(
        &env,
        &image,
        "web",
        &[
            "--tags",
            "v1",
            "--create-repository",
            "--image-tag-mutability",
            "IMMUTABLE_WITH_EXCLUSION",
            "--image-tag-mutability-exclusion-filters",
            "latest,release/*",
        ],
    )
    .await;
    assert_eq!(out.status, 2, "{out}");
    assert_eq!(
        out.stderr.lines().find(|l| l.contains("invalid input")),
        Some(
            "error: invalid input `image-tag-mutability-exclusion-filters`: 'release/*' is not a \
             valid filter; use 1 to 128 characters of letters, digits, '.', '_', '-' and '*' \
             (any run of characters)"
        ),
        "{out}"
    );
    assert_nothing_written(&env).await;
}

#[tokio::test]
async fn created_repositories_get_the_mode_and_filters() {
    let env = TestEnv::start(&REGIONS).await;
    let (image, digest) = single_manifest_image(&env, "create-rules");
    let rules = [
        "--image-tag-mutability",
        "IMMUTABLE_WITH_EXCLUSION",
        "--image-tag-mutability-exclusion-filters",
        "latest,release-*",
    ];
    let args = [&["--tags", "v1,latest", "--create-repository"][..], &rules].concat();
    push_ok(&env, &image, "web", &args).await;
    for region in REGIONS {
        let (mode, filters) = env.moto().tag_rules(region, "web").await.unwrap();
        assert_eq!(mode, "IMMUTABLE_WITH_EXCLUSION", "{region}");
        assert_eq!(filters, ["latest", "release-*"], "{region}");
    }
    assert_tags_everywhere(&env, "web", &["v1", "latest"], &digest).await;
}

#[tokio::test]
async fn drift_of_mode_or_filters_is_reported_and_repaired_on_request() {
    let env = TestEnv::start(&REGIONS).await;
    create_everywhere(&env, "web", "IMMUTABLE_WITH_EXCLUSION", &["latest"]).await;
    let (image, _) = single_manifest_image(&env, "drift-rules");
    let wanted = [
        "--tags",
        "v1",
        "--image-tag-mutability",
        "IMMUTABLE_WITH_EXCLUSION",
        "--image-tag-mutability-exclusion-filters",
        "latest,dev-*",
    ];
    let reported = report(&push_ok(&env, &image, "web", &wanted).await);
    for region in REGIONS {
        let settings = &region_report(&reported, region)["repository_changes"]["settings"];
        assert_eq!(
            settings,
            &serde_json::json!([{
                "setting": "image-tag-mutability",
                "current": "IMMUTABLE_WITH_EXCLUSION (latest)",
                "wanted": "IMMUTABLE_WITH_EXCLUSION (latest, dev-*)",
                "action": "report-only",
            }]),
            "{region}"
        );
        let (_, filters) = env.moto().tag_rules(region, "web").await.unwrap();
        assert_eq!(filters, ["latest"], "{region}: only reported");
    }
    let update = [&wanted[..], &["--update-repository-settings"]].concat();
    push_ok(&env, &image, "web", &update).await;
    for region in REGIONS {
        let (mode, filters) = env.moto().tag_rules(region, "web").await.unwrap();
        assert_eq!(mode, "IMMUTABLE_WITH_EXCLUSION", "{region}");
        assert_eq!(filters, ["latest", "dev-*"], "{region}: repaired");
    }
}

#[tokio::test]
async fn settings_changed_during_the_run_name_the_regions_that_moved_and_the_repair() {
    let env = TestEnv::start(&REGIONS).await;
    for region in env.regions() {
        env.create_repository(region.name(), "web").await;
    }
    let (first, first_digest) = single_manifest_image(&env, "midrun-a");
    let (second, second_digest) = single_manifest_image(&env, "midrun-b");
    push_ok(&env, &first, "web", &["--tags", "v1"]).await;

    // The run plans v1 as mutable everywhere; its put in ap-southeast-2 waits while someone
    // makes that repository IMMUTABLE.
    let late = env.region("ap-southeast-2").control();
    late.inject(crate::harness::fault::Fault::Hold {
        method: "PUT",
        reference: "v1".into(),
        count: 1,
    });
    let run = push(&env, &second, "web", &["--tags", "v1"]);
    tokio::pin!(run);
    tokio::select! {
        out = &mut run => panic!("finished while its put was held: {out}"),
        () = late.wait_until_fired("hold", 1, std::time::Duration::from_secs(120)) => {}
    }
    env.moto()
        .put_tag_rules("ap-southeast-2", "web", "IMMUTABLE", &[])
        .await
        .unwrap();
    late.release_held();
    let out = run.await;
    assert_eq!(out.status, 1, "{out}");
    assert_stderr_says(
        &out,
        &[
            "region ap-southeast-2",
            "tag v1 was refused as immutable in phase 2 although the plan found it mutable",
            &first_digest,
            &second_digest,
            "tags moved in",
            "make the repositories' tag mutability and exclusion filters agree in every region",
            "then re-run once",
        ],
    );
    let moved_line = out
        .stderr
        .lines()
        .find(|l| l.contains("tags moved in"))
        .unwrap();
    assert!(
        moved_line.contains("us-east-1 (v1)") && moved_line.contains("eu-west-1 (v1)"),
        "{out}"
    );
    assert_eq!(
        skopeo::manifest_digest(env.region("ap-southeast-2"), "web", "v1")
            .await
            .unwrap(),
        first_digest
    );
    for name in ["us-east-1", "eu-west-1"] {
        let served = skopeo::manifest_digest(env.region(name), "web", "v1")
            .await
            .unwrap();
        assert_eq!(served, second_digest, "{name}");
    }
}
