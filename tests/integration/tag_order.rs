//! `tag-order: newer`: a tag never moves to an image created before the one it points at.
//! Pushed second, an older image leaves the tag where it is in every destination (exit 0, the
//! tag in the report's `tags_skipped`); a newer one moves it; without creation times the run
//! says it cannot decide and moves the tag. Read back with skopeo.

use crate::harness::TestEnv;
use crate::scenario::*;

/// An image created at `created`; its `oci:` source and digest.
fn created_image(env: &TestEnv, seed: &str, created: &str) -> (String, String) {
    let dir = env.path(&format!("layout-{seed}"));
    let digest = ecr_fanout::image::fixtures::write_created_layout(&dir, seed, created).unwrap();
    (format!("oci:{}", dir.display()), digest.to_string())
}

const NEWER: &[&str] = &["--tags", "prod", "--tag-order", "newer"];

/// Pushes `first` as `prod` (creating the repository), then `second` with `tag-order: newer`;
/// both must succeed. The second run's output.
async fn first_then_second(env: &TestEnv, first: &str, second: &str) -> crate::harness::RunOutput {
    push_ok(
        env,
        first,
        "web",
        &["--tags", "prod", "--create-repository"],
    )
    .await;
    push_ok(env, second, "web", NEWER).await
}

#[tokio::test]
async fn an_older_image_pushed_second_leaves_the_tag_everywhere() {
    let env = TestEnv::start(&["us-east-1", "eu-west-1"]).await;
    let (new, new_digest) = created_image(&env, "new", "2025-06-01T12:00:00Z");
    let (old, old_digest) = created_image(&env, "old", "2025-05-01T12:00:00+02:00");
    let out = first_then_second(&env, &new, &old).await;
    assert_tags_everywhere(&env, "web", &["prod"], &new_digest).await;
    let report = report(&out);
    assert_eq!(report["tags_skipped"], serde_json::json!(["prod"]), "{out}");
    for region in report["regions"].as_array().unwrap() {
        assert_eq!(region["tags"][0]["action"], "skipped", "{out}");
        assert_eq!(region["tags_moved"], serde_json::json!([]), "{out}");
    }
    assert_stderr_says(
        &out,
        &[
            &format!("tag prod stays at {new_digest} everywhere"),
            "2025-06-01T12:00:00Z",
        ],
    );
    assert_ne!(old_digest, new_digest);
}

#[tokio::test]
async fn a_newer_image_pushed_second_moves_the_tag() {
    let env = TestEnv::start(&["us-east-1", "eu-west-1"]).await;
    let (old, _) = created_image(&env, "old", "2025-05-01T12:00:00Z");
    let (new, new_digest) = created_image(&env, "new", "2025-06-01T12:00:00Z");
    let out = first_then_second(&env, &old, &new).await;
    assert_tags_everywhere(&env, "web", &["prod"], &new_digest).await;
    assert_eq!(
        report(&out)["tags_skipped"],
        serde_json::Value::Null,
        "{out}"
    );
    assert_eq!(report(&out)["convergence"]["prod"]["state"], "converged");
}

#[tokio::test]
async fn without_creation_times_the_run_cannot_decide_and_moves_the_tag() {
    let env = TestEnv::start(&["us-east-1", "eu-west-1"]).await;
    let (first, _) = single_manifest_image(&env, "undated-a");
    let (second, second_digest) = single_manifest_image(&env, "undated-b");
    let out = first_then_second(&env, &first, &second).await;
    assert_tags_everywhere(&env, "web", &["prod"], &second_digest).await;
    assert_stderr_says(&out, &["tag-order newer: cannot decide", "moving the tag"]);
}

#[tokio::test]
async fn a_newer_image_in_one_destination_keeps_the_tag_in_all_of_them() {
    let env = TestEnv::start(&["us-east-1", "eu-west-1"]).await;
    let (old, old_digest) = created_image(&env, "old", "2025-05-01T12:00:00Z");
    let (new, new_digest) = created_image(&env, "new", "2025-06-01T12:00:00Z");
    let (middle, _) = created_image(&env, "middle", "2025-05-15T12:00:00Z");
    push_ok(
        &env,
        &old,
        "web",
        &["--tags", "prod", "--create-repository"],
    )
    .await;
    let us = env.region("us-east-1");
    let mut only_us = crate::harness::ecr_fanout(&env);
    only_us
        .args(["push", "--json", "--image", &new, "--repository", "web"])
        .args(["--regions", "us-east-1", "--tags", "prod"])
        .args([
            "--registry-endpoints",
            &format!("us-east-1={}", us.proxy_url()),
        ]);
    let out = crate::harness::run(only_us).await;
    assert!(out.success(), "{out}");

    let out = push_ok(&env, &middle, "web", NEWER).await;
    assert_eq!(
        report(&out)["tags_skipped"],
        serde_json::json!(["prod"]),
        "{out}"
    );
    let served = crate::harness::skopeo::manifest_digest(us, "web", "prod")
        .await
        .unwrap();
    assert_eq!(served, new_digest);
    let eu = env.region("eu-west-1");
    let served = crate::harness::skopeo::manifest_digest(eu, "web", "prod")
        .await
        .unwrap();
    assert_eq!(
        served, old_digest,
        "eu-west-1 keeps the older image: the tag stays everywhere"
    );
}
