//! Failures under injected faults: a region that refuses connections, hangs, cuts or stalls
//! an upload, throttles, fails with 5xx, expires its token or serves corrupted bytes. Every
//! failure leaves no tag moved anywhere; every transient fault is ridden out by retries; a
//! re-run after a failure converges. Results are read back with skopeo in every region.

use std::time::{Duration, Instant};

use crate::harness::fault::{Fault, RequestMatch};
use crate::harness::{Emulation, TestEnv, skopeo};
use crate::repository_support::region_report;
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
        region_report(&report, "us-east-1")["blobs_uploaded"],
        0,
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
        (Duration::from_secs(2)..Duration::from_secs(20)).contains(&elapsed),
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
    let started = Instant::now();
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
    let elapsed = started.elapsed();
    assert_eq!(out.status, 1, "{out}");
    assert_eq!(control.faults_fired("stall-upload"), 1);
    // Ignoring --stall-timeout would take the default 60 s.
    assert!(
        (Duration::from_secs(2)..Duration::from_secs(20)).contains(&elapsed),
        "took {elapsed:?} with a 2 s stall bound"
    );
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
async fn concurrent_403s_on_blob_heads_share_exactly_one_refresh() {
    let env = TestEnv::start(&REGIONS[..2]).await;
    let (image, digest) = single_manifest_image(&env, "expiry");
    for region in env.regions() {
        env.create_repository(region.name(), "web").await;
    }
    let control = env.region("eu-west-1").control();
    // The plan HEADs the config and both layers at once; all three get ECR's expired-token 403
    // (a HEAD answer has no body to say so).
    control.inject(Fault::only(
        RequestMatch::kind("HEAD", "blob"),
        Fault::TokenExpired { count: 3 },
    ));
    env.moto().reset_calls();
    push_ok(&env, &image, "web", &["--tags", "v1"]).await;
    assert_eq!(control.faults_fired("token-expired"), 3);
    assert_eq!(
        env.moto()
            .count_calls_in("eu-west-1", "GetAuthorizationToken"),
        2,
        "one login and one refresh shared by the three requests"
    );
    assert_eq!(
        env.moto()
            .count_calls_in("us-east-1", "GetAuthorizationToken"),
        1
    );
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
    // The repository is new, so the plan reads nothing there; phase 1 starts the three blob
    // uploads (config and two layers) at once. Each got its 403, all shared one refresh, and
    // each was repeated exactly once: six upload POSTs, nothing else.
    assert_eq!(
        env.moto()
            .count_calls_in("us-east-1", "GetAuthorizationToken"),
        2
    );
    let sent: Vec<(String, u16)> = control
        .requests()
        .into_iter()
        .map(|r| (format!("{} {}", r.method, r.uri), r.status))
        .collect();
    let post = ("POST /v2/web/blobs/uploads/".to_string(), 403);
    assert_eq!(sent, vec![post; 6]);
    assert_eq!(control.faults_fired("token-expired"), 6);
    for region in env.regions() {
        assert!(
            skopeo::tags(region, "web").await.unwrap().is_empty(),
            "{}",
            region.name()
        );
    }
}

/// A push whose verification GET of the manifest in `region` is served with one digit changed
/// exits 3, names the region and step, and moves no tag. With `digest_header`, the registry's
/// own Docker-Content-Digest (of the uncorrupted bytes) reaches the client too: a client that
/// trusted it would find nothing wrong.
async fn corrupted_manifest_exits_3(region: &str, seed: &str, digest_header: bool) {
    let env = TestEnv::start(&REGIONS).await;
    let old = seed_prod(&env).await;
    let (image, new) = single_manifest_image(&env, seed);
    let control = env.region(region).control();
    if digest_header {
        control.disable(Emulation::NoDigestOnManifestGet);
    }
    control.inject(Fault::only(
        RequestMatch::manifest("GET", &new),
        Fault::CorruptManifestGet { count: 1 },
    ));
    let out = push(&env, &image, "web", &["--tags", "prod"]).await;
    assert_eq!(out.status, 3, "{out}");
    assert_eq!(control.faults_fired("corrupt-manifest-get"), 1);
    assert_stderr_says(
        &out,
        &[
            &format!("region {region}, repository web: verify"),
            "served with different bytes",
        ],
    );
    assert_prod_unmoved(&env, &old).await;
}

#[tokio::test]
async fn a_corrupted_manifest_exits_3_and_moves_no_tag() {
    corrupted_manifest_exits_3("eu-west-1", "corrupt", false).await;
}

#[tokio::test]
async fn a_corrupted_manifest_exits_3_even_when_the_digest_header_is_served() {
    corrupted_manifest_exits_3("us-east-1", "corrupt-with-header", true).await;
}

#[tokio::test]
async fn a_tag_put_failing_for_good_is_reported_per_region_and_a_rerun_completes_it() {
    let env = TestEnv::start(&REGIONS).await;
    let old = seed_prod(&env).await;
    let (image, new) = single_manifest_image(&env, "phase-2");
    let failing = env.region("eu-west-1").control();
    failing.reset_counts();
    failing.inject(Fault::only(
        RequestMatch::manifest("PUT", "prod"),
        Fault::Status {
            status: 503,
            count: 1000,
            kind: None,
        },
    ));
    let out = push(&env, &image, "web", &["--tags", "prod"]).await;
    assert_eq!(out.status, 1, "{out}");
    assert_eq!(
        failing.manifest_requests("PUT", "prod"),
        [503; 6],
        "a permanent 503 costs exactly 6 attempts: {out}"
    );
    assert_stderr_says(
        &out,
        &[
            "region eu-west-1, repository web, tag prod: put tag",
            "tags moved in us-east-1 (prod), ap-southeast-2 (prod)",
        ],
    );
    let first = report(&out);
    for (region, moved) in [
        ("us-east-1", serde_json::json!(["prod"])),
        ("eu-west-1", serde_json::json!([])),
        ("ap-southeast-2", serde_json::json!(["prod"])),
    ] {
        assert_eq!(
            region_report(&first, region)["tags_moved"],
            moved,
            "{region}"
        );
    }
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

#[tokio::test]
async fn a_400_is_not_retried() {
    let env = TestEnv::start(&REGIONS).await;
    let old = seed_prod(&env).await;
    let (image, _) = single_manifest_image(&env, "bad-request");
    let failing = env.region("eu-west-1").control();
    failing.reset_counts();
    failing.inject(Fault::only(
        RequestMatch::manifest("PUT", "prod"),
        Fault::Status {
            status: 400,
            count: 1000,
            kind: None,
        },
    ));
    let out = push(&env, &image, "web", &["--tags", "prod"]).await;
    assert_eq!(out.status, 1, "{out}");
    assert_eq!(failing.manifest_requests("PUT", "prod"), [400], "{out}");
    assert_stderr_says(
        &out,
        &["region eu-west-1, repository web, tag prod: put tag"],
    );
    assert_eq!(
        skopeo::manifest_digest(env.region("eu-west-1"), "web", "prod")
            .await
            .unwrap(),
        old
    );
}

#[tokio::test]
async fn a_failed_region_and_a_corrupted_one_exit_1_with_both_kinds_in_the_report() {
    let env = TestEnv::start(&REGIONS).await;
    let old = seed_prod(&env).await;
    let (image, new) = single_manifest_image(&env, "two-kinds");
    // ap-southeast-2 cannot upload (operation); eu-west-1 serves the manifest with other bytes
    // (verification). Both are found in the same run.
    env.region("ap-southeast-2")
        .control()
        .inject(Fault::Status {
            status: 503,
            count: 1000,
            kind: Some("upload-start"),
        });
    env.region("eu-west-1").control().inject(Fault::only(
        RequestMatch::manifest("GET", &new),
        Fault::CorruptManifestGet { count: 1 },
    ));
    let out = push(&env, &image, "web", &["--tags", "prod"]).await;
    assert_eq!(
        out.status, 1,
        "an operation failure wins over a mismatch: {out}"
    );
    let report = report(&out);
    assert_eq!(report["error_kind"], "operation");
    for (region, kind) in [
        ("ap-southeast-2", serde_json::json!("operation")),
        ("eu-west-1", serde_json::json!("verification")),
        ("us-east-1", serde_json::Value::Null),
    ] {
        assert_eq!(
            region_report(&report, region)["error_kind"],
            kind,
            "{region}"
        );
    }
    assert_stderr_says(
        &out,
        &[
            "region ap-southeast-2, repository web: upload blob",
            "region eu-west-1, repository web: verify",
            "served with different bytes",
            "no tag was moved in any region",
        ],
    );
    assert_prod_unmoved(&env, &old).await;
}
