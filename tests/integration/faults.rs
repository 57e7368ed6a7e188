//! Failures under injected faults: a region that refuses connections, hangs, cuts or stalls
//! an upload, throttles, fails with 5xx, expires its token or serves corrupted bytes. Every
//! failure leaves no tag moved anywhere; every transient fault is ridden out by retries; a
//! re-run after a failure converges. Results are read back with skopeo in every region.

use std::time::{Duration, Instant};

use crate::harness::fault::Fault;
use crate::harness::{TestEnv, skopeo};
use crate::scenario::*;

/// Pushes `image` tagged `prod` everywhere and returns its digest: the "old" state.
async fn seed_prod(env: &TestEnv) -> String {
    let (image, digest) = single_manifest_image(env, "old-prod");
    push_ok(
        env,
        &image,
        "web",
        &["--tags", "prod", "--create-repository"],
    )
    .await;
    digest
}

/// Asserts `prod` still points at `old` in every region.
async fn assert_prod_unmoved(env: &TestEnv, old: &str) {
    assert_tags_everywhere(env, "web", &["prod"], old).await;
}

#[tokio::test]
async fn refused_region_fails_the_run_moves_no_tag_and_a_rerun_converges() {
    let env = TestEnv::start(&REGIONS).await;
    let old = seed_prod(&env).await;
    let (image, new) = multi_platform_image(&env, "new-prod");
    env.region("eu-west-1")
        .control()
        .inject(Fault::RefuseConnections);
    let out = push(&env, &image, "web", &["--tags", "prod"]).await;
    assert_eq!(out.status, 1, "{out}");
    assert_stderr_says(
        &out,
        &[
            "region eu-west-1, repository web",
            "nothing was pushed or tagged in any region",
        ],
    );
    assert_prod_unmoved(&env, &old).await;

    env.region("eu-west-1").control().clear_faults();
    push_ok(&env, &image, "web", &["--tags", "prod"]).await;
    assert_tags_everywhere(&env, "web", &["prod"], &new).await;
}

#[tokio::test]
async fn a_region_failing_in_phase_1_holds_back_every_tag() {
    let env = TestEnv::start(&REGIONS).await;
    let old = seed_prod(&env).await;
    let (image, new) = multi_platform_image(&env, "phase-1");
    let failing = env.region("ap-southeast-2").control();
    failing.inject(Fault::Status {
        status: 503,
        count: 1000,
        kind: Some("upload-start"),
    });
    let out = push(&env, &image, "web", &["--tags", "prod"]).await;
    assert_eq!(out.status, 1, "{out}");
    assert!(
        failing.faults_fired("status-503") >= 2,
        "503s were not retried: {out}"
    );
    assert_stderr_says(
        &out,
        &[
            "region ap-southeast-2, repository web: upload blob",
            "no tag was moved in any region",
            "is stored in us-east-1, eu-west-1",
        ],
    );
    assert_prod_unmoved(&env, &old).await;
    for region in ["us-east-1", "eu-west-1"] {
        let by_digest = skopeo::manifest_digest(env.region(region), "web", &new)
            .await
            .unwrap();
        assert_eq!(by_digest, new, "{region} should hold the untagged manifest");
    }

    failing.clear_faults();
    let rerun = push_ok(&env, &image, "web", &["--tags", "prod"]).await;
    let report = report(&rerun);
    assert_eq!(
        report["regions"][0]["blobs_uploaded"], 0,
        "us-east-1 already had the blobs"
    );
    assert_tags_everywhere(&env, "web", &["prod"], &new).await;
}

#[tokio::test]
async fn a_hanging_region_fails_within_the_stall_bound() {
    let env = TestEnv::start(&REGIONS).await;
    let old = seed_prod(&env).await;
    let (image, new) = multi_platform_image(&env, "hang");
    env.region("us-east-1").control().inject(Fault::Hang);
    let started = Instant::now();
    let out = push(
        &env,
        &image,
        "web",
        &["--tags", "prod", "--stall-timeout", "2"],
    )
    .await;
    let elapsed = started.elapsed();
    assert_eq!(out.status, 1, "{out}");
    assert_stderr_says(&out, &["region us-east-1", "no progress for 2 s"]);
    assert!(
        elapsed < Duration::from_secs(20),
        "took {elapsed:?} with a 2 s stall bound"
    );
    env.region("us-east-1").control().clear_faults();
    assert_prod_unmoved(&env, &old).await;

    push_ok(&env, &image, "web", &["--tags", "prod"]).await;
    assert_tags_everywhere(&env, "web", &["prod"], &new).await;
}

#[tokio::test]
async fn an_upload_stalled_mid_blob_fails_within_the_bound() {
    let env = TestEnv::start(&REGIONS[..2]).await;
    let (image, _) = single_manifest_image(&env, "stall");
    let control = env.region("eu-west-1").control();
    control.inject(Fault::StallUploadAfter {
        bytes: 4096,
        times: 1,
    });
    let out = push(
        &env,
        &image,
        "web",
        &[
            "--tags",
            "v1",
            "--create-repository",
            "--stall-timeout",
            "2",
        ],
    )
    .await;
    assert_eq!(out.status, 1, "{out}");
    assert_eq!(control.faults_fired("stall-upload"), 1);
    assert_stderr_says(&out, &["region eu-west-1, repository web: upload blob"]);
    control.clear_faults();
    for region in env.regions() {
        assert!(
            skopeo::tags(region, "web").await.unwrap().is_empty(),
            "{}",
            region.name()
        );
    }
}

#[tokio::test]
async fn cut_uploads_throttling_and_5xx_bursts_are_ridden_out() {
    let env = TestEnv::start(&REGIONS).await;
    let (image, digest) = multi_platform_image(&env, "bursts");
    let cut = env.region("us-east-1").control();
    let unavailable = env.region("eu-west-1").control();
    let throttled = env.region("ap-southeast-2").control();
    cut.inject(Fault::CutUploadAfter {
        bytes: 200,
        times: 2,
    });
    unavailable.inject(Fault::Status {
        status: 503,
        count: 3,
        kind: None,
    });
    throttled.inject(Fault::Status {
        status: 429,
        count: 3,
        kind: None,
    });
    push_v1_created(&env, &image).await;
    assert_eq!(cut.faults_fired("cut-upload"), 2);
    assert_eq!(unavailable.faults_fired("status-503"), 3);
    assert_eq!(throttled.faults_fired("status-429"), 3);
    assert_tags_everywhere(&env, "web", &["v1"], &digest).await;
    for region in env.regions() {
        for child in children_of(&env, region.name(), &digest).await {
            assert_eq!(
                skopeo::manifest_digest(region, "web", &child)
                    .await
                    .unwrap(),
                child
            );
        }
    }
}

async fn children_of(env: &TestEnv, region: &str, digest: &str) -> Vec<String> {
    let raw = skopeo::inspect_raw(env.region(region), "web", digest)
        .await
        .unwrap();
    let index: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["digest"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn an_expired_token_is_refreshed_once_and_the_push_completes() {
    let env = TestEnv::start(&REGIONS[..2]).await;
    let (image, digest) = single_manifest_image(&env, "expiry");
    let control = env.region("eu-west-1").control();
    control.inject_after(6, Fault::TokenExpired { count: 1 });
    let logins_before = env.moto().count_calls("GetAuthorizationToken");
    push_v1_created(&env, &image).await;
    assert_eq!(control.faults_fired("token-expired"), 1);
    let logins = env.moto().count_calls("GetAuthorizationToken") - logins_before;
    assert_eq!(logins, 3, "one login per region plus one refresh");
    assert_tags_everywhere(&env, "web", &["v1"], &digest).await;
}

#[tokio::test]
async fn a_token_that_stays_expired_fails_after_one_refresh() {
    let env = TestEnv::start(&REGIONS[..2]).await;
    let (image, _) = single_manifest_image(&env, "expired");
    let control = env.region("us-east-1").control();
    control.inject(Fault::TokenExpired { count: 10_000 });
    let out = push(
        &env,
        &image,
        "web",
        &["--tags", "v1", "--create-repository"],
    )
    .await;
    assert_eq!(out.status, 1, "{out}");
    assert_stderr_says(
        &out,
        &["region us-east-1", "authorization token has expired"],
    );
    let fired = control.faults_fired("token-expired");
    assert!(
        (2..40).contains(&fired),
        "403s answered: {fired}; a blind retry loop would send more"
    );
    for region in env.regions() {
        assert!(
            skopeo::tags(region, "web").await.unwrap().is_empty(),
            "{}",
            region.name()
        );
    }
}

#[tokio::test]
async fn a_corrupted_manifest_exits_3_and_moves_no_tag() {
    let env = TestEnv::start(&REGIONS).await;
    let old = seed_prod(&env).await;
    let (image, _) = single_manifest_image(&env, "corrupt");
    let control = env.region("eu-west-1").control();
    control.reset_counts();
    let plan_gets = 1; // the plan reads the current `prod` tag once
    control.inject_after(plan_gets, Fault::CorruptManifestGet { count: 1 });
    let out = push(&env, &image, "web", &["--tags", "prod"]).await;
    assert_eq!(out.status, 3, "{out}");
    assert_eq!(control.faults_fired("corrupt-manifest-get"), 1);
    assert_stderr_says(
        &out,
        &[
            "region eu-west-1, repository web: verify",
            "served with different bytes",
        ],
    );
    assert_prod_unmoved(&env, &old).await;
}

#[tokio::test]
async fn a_tag_put_failing_for_good_is_reported_per_region_and_a_rerun_completes_it() {
    let env = TestEnv::start(&REGIONS).await;
    let old = seed_prod(&env).await;
    let (image, new) = single_manifest_image(&env, "phase-2");
    let failing = env.region("eu-west-1").control();
    // Let the plan's tag read and manifest check, the by-digest put and the verification GET
    // through; fail every manifest request after that, i.e. the tag put and its retries.
    failing.inject_after(
        4,
        Fault::Status {
            status: 503,
            count: 1000,
            kind: Some("manifest"),
        },
    );
    let out = push(&env, &image, "web", &["--tags", "prod"]).await;
    assert_eq!(out.status, 1, "{out}");
    assert!(
        failing.faults_fired("status-503") >= 2,
        "the tag put was not retried: {out}"
    );
    assert_stderr_says(
        &out,
        &[
            "region eu-west-1, repository web, tag prod: put tag",
            "tags moved in us-east-1 (prod), ap-southeast-2 (prod)",
        ],
    );
    let first = report(&out);
    let moved: Vec<_> = first["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["region"].as_str().unwrap().to_string(),
                r["tags_moved"].clone(),
            )
        })
        .collect();
    assert_eq!(
        moved[0],
        ("us-east-1".to_string(), serde_json::json!(["prod"]))
    );
    assert_eq!(moved[1], ("eu-west-1".to_string(), serde_json::json!([])));
    assert_eq!(
        moved[2],
        ("ap-southeast-2".to_string(), serde_json::json!(["prod"]))
    );
    for (region, expected) in [
        ("us-east-1", &new),
        ("eu-west-1", &old),
        ("ap-southeast-2", &new),
    ] {
        let served = skopeo::manifest_digest(env.region(region), "web", "prod")
            .await
            .unwrap();
        assert_eq!(&served, expected, "{region}");
    }

    failing.clear_faults();
    let rerun = push_ok(&env, &image, "web", &["--tags", "prod"]).await;
    assert_eq!(report(&rerun)["bytes_uploaded"], 0);
    assert_tags_everywhere(&env, "web", &["prod"], &new).await;
}
