//! Promotion from a registry: `--image docker://…` reads an image from a staging account's ECR
//! (an ECR-faithful proxy whose blob GETs redirect to a presigned URL that refuses
//! credentials) and pushes the same bytes to two regions. Checked with skopeo in each region,
//! and at the source: each blob downloaded once for both regions, nothing but manifests on a
//! re-run.

use crate::harness::fault::{Fault, RequestMatch};
use crate::harness::moto::{ACCESS_KEY_ID, moto_password};
use crate::harness::running::Running;
use crate::harness::token_registry::TokenRegistry;
use crate::harness::{Emulation, RunOutput, TestEnv, ecr_fanout, run, skopeo};
use crate::scenario::*;

/// The staging registry's ECR host (the "staging" region of the test environment).
pub(crate) const STAGING: &str = "123456789012.dkr.ecr.us-west-2.amazonaws.com";

/// A staging registry (us-west-2) and two destinations, us-east-1 and eu-west-1.
pub(crate) async fn environment() -> TestEnv {
    TestEnv::start_named(&[
        ("staging", "us-west-2"),
        ("us-east-1", "us-east-1"),
        ("eu-west-1", "eu-west-1"),
    ])
    .await
}

/// Puts `image` as `staging/web:v1` into the staging registry with ecr-fanout itself.
pub(crate) async fn stage(env: &TestEnv, image: &str) {
    let staging = env.region("staging");
    let mut cmd = ecr_fanout(env);
    cmd.args([
        "push",
        "--image",
        image,
        "--tags",
        "v1",
        "--create-repository",
    ])
    .args(["--regions", "us-west-2", "--repository", "staging/web"])
    .args([
        "--registry-endpoints",
        &format!("us-west-2={}", staging.proxy_url()),
    ]);
    let out = run(cmd).await;
    assert!(out.success(), "staging push: {out}");
}

/// `push --json --image IMAGE` to us-east-1 and eu-west-1 as `web`, as a GitHub step.
pub(crate) fn promote_command(env: &TestEnv, image: &str) -> std::process::Command {
    let endpoints = format!(
        "us-east-1={},eu-west-1={}",
        env.region("us-east-1").proxy_url(),
        env.region("eu-west-1").proxy_url()
    );
    let mut cmd = ecr_fanout(env);
    cmd.env("GITHUB_ACTIONS", "true")
        .args(["push", "--json", "--image", image])
        .args(["--regions", "us-east-1,eu-west-1", "--repository", "web"])
        .args(["--registry-endpoints", &endpoints]);
    cmd
}

/// `push --image docker://STAGING/staging/web:REF` through the staging proxy.
async fn promote(env: &TestEnv, reference: &str, extra: &[&str]) -> RunOutput {
    let image = format!("docker://{STAGING}/staging/web{reference}");
    let mut cmd = promote_command(env, &image);
    cmd.args([
        "--source-registry-endpoint",
        &env.region("staging").proxy_url(),
    ])
    .args(extra);
    run(cmd).await
}

/// Neither destination registry holds any repository (read with skopeo).
async fn assert_destinations_hold_nothing(env: &TestEnv) {
    for region in ["us-east-1", "eu-west-1"] {
        let catalog = skopeo::catalog(env.region(region)).await.unwrap();
        assert!(catalog.is_empty(), "{region} holds {catalog:?}");
    }
}

fn blob_downloads(env: &TestEnv) -> usize {
    env.region("staging").control().count_kind("GET", "blob")
}

#[tokio::test]
async fn a_staged_image_is_promoted_with_its_digest_each_blob_read_once() {
    let env = environment().await;
    let (image, digest) = single_manifest_image(&env, "promote");
    stage(&env, &image).await;
    let staged = skopeo::manifest_digest(env.region("staging"), "staging/web", "v1")
        .await
        .unwrap();
    assert_eq!(staged, digest);
    let logins_before = env
        .moto()
        .count_calls_in("us-west-2", "GetAuthorizationToken");
    let out = promote(&env, ":v1", &["--tags", "prod", "--create-repository"]).await;
    assert!(out.success(), "{out}");
    for region in ["us-east-1", "eu-west-1"] {
        let served = skopeo::manifest_digest(env.region(region), "web", "prod")
            .await
            .unwrap();
        assert_eq!(served, digest, "{region} serves the staged bytes");
    }
    let promoted = report(&out);
    assert_eq!(promoted["digest"], digest.as_str());
    assert_eq!(
        promoted["source"],
        serde_json::json!({"reference": format!("docker://{STAGING}/staging/web:v1"), "digest": digest})
    );
    assert!(
        env.moto()
            .count_calls_in("us-west-2", "GetAuthorizationToken")
            > logins_before,
        "the source was logged in to with ECR's token of its region"
    );
    // Three blobs (config and two layers), each downloaded once for both regions; the
    // config was read during the plan for the platform, and not again.
    assert_eq!(
        blob_downloads(&env),
        3,
        "{:?}",
        env.region("staging").control().requests()
    );
    assert_eq!(promoted["platforms"], serde_json::json!(["linux/amd64"]));

    let again = promote(&env, ":v1", &["--tags", "prod"]).await;
    assert!(again.success(), "{again}");
    assert_eq!(report(&again)["bytes_uploaded"], 0);
    assert_eq!(
        blob_downloads(&env),
        4,
        "a re-run reads only the config (for the platform), no layer"
    );
}

#[tokio::test]
async fn an_index_is_promoted_with_every_child_and_the_source_token_is_masked() {
    let env = environment().await;
    let (image, digest) = multi_platform_image(&env, "promote-index");
    stage(&env, &image).await;
    let out = {
        let image = format!("docker://{STAGING}/staging/web@{digest}");
        let mut cmd = promote_command(&env, &image);
        cmd.env("RUST_LOG", "debug")
            .args(["--tags", "v1", "--create-repository"])
            .args([
                "--source-registry-endpoint",
                &env.region("staging").proxy_url(),
            ]);
        run(cmd).await
    };
    assert!(out.success(), "{out}");
    let promoted = report(&out);
    assert_eq!(promoted["digest"], digest.as_str());
    assert_eq!(
        promoted["platforms"],
        serde_json::json!(["linux/amd64", "linux/arm64/v8"])
    );
    for region in ["us-east-1", "eu-west-1"] {
        let raw = skopeo::inspect_raw(env.region(region), "web", "v1")
            .await
            .unwrap();
        assert_eq!(
            skopeo::sha256_digest(&raw),
            digest,
            "{region}: the index's exact bytes"
        );
        let index: serde_json::Value = serde_json::from_slice(&raw).unwrap();
        for child in index["manifests"].as_array().unwrap() {
            let child = child["digest"].as_str().unwrap();
            let served = skopeo::manifest_digest(env.region(region), "web", child)
                .await
                .unwrap();
            assert_eq!(served, child, "{region} holds child {child}");
        }
    }
    let password = moto_password("us-west-2");
    assert!(
        out.stderr.contains(&format!("::add-mask::{password}")),
        "the source's ECR password is masked"
    );
    for line in out.stderr.lines().chain(out.stdout.lines()) {
        assert!(
            line == format!("::add-mask::{password}") || !line.contains(&password),
            "a line shows the source's password: {line}"
        );
    }
}

#[tokio::test]
async fn a_registry_that_asks_for_bearer_tokens_is_read_anonymously_with_a_pull_token() {
    let env = environment().await;
    let (image, digest) = single_manifest_image(&env, "promote-bearer");
    stage(&env, &image).await;
    let staging = env.region("staging");
    let public = TokenRegistry::start(&staging.direct_url(), staging.password())
        .await
        .unwrap();
    let mut cmd = promote_command(&env, &format!("docker://{}/staging/web:v1", public.host()));
    cmd.args(["--tags", "v1", "--create-repository"]);
    let out = run(cmd).await;
    assert!(out.success(), "{out}");
    for region in ["us-east-1", "eu-west-1"] {
        let served = skopeo::manifest_digest(env.region(region), "web", "v1")
            .await
            .unwrap();
        assert_eq!(served, digest, "{region}");
    }
    assert_eq!(public.scopes(), ["repository:staging/web:pull"]);
    let token = &public.tokens()[0];
    assert!(
        out.stderr.contains(&format!("::add-mask::{token}")),
        "the pull token is masked"
    );
}

#[tokio::test]
async fn a_source_that_refuses_or_stalls_its_blobs_fails_the_run_naming_it_with_no_tag() {
    let env = environment().await;
    let (image, _) = single_manifest_image(&env, "promote-faults");
    stage(&env, &image).await;
    let staging = env.region("staging").control();
    staging.inject(Fault::only(
        RequestMatch::kind("GET", "blob"),
        Fault::Status {
            status: 403,
            count: 100,
            kind: None,
        },
    ));
    let refused = promote(&env, ":v1", &["--tags", "prod", "--create-repository"]).await;
    assert_eq!(refused.status, 1, "{refused}");
    assert_stderr_says(
        &refused,
        &[
            &format!("source docker://{STAGING}/staging/web:v1: download blob"),
            "no manifest was stored and no tag was moved in any region",
        ],
    );
    staging.clear_faults();
    staging.inject(Fault::only(RequestMatch::kind("GET", "blob"), Fault::Hang));
    let started = std::time::Instant::now();
    let stalled = promote(
        &env,
        ":v1",
        &[
            "--tags",
            "prod",
            "--create-repository",
            "--stall-timeout",
            "2",
        ],
    )
    .await;
    assert_eq!(stalled.status, 1, "{stalled}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "the stall bound ends the run: {:?}",
        started.elapsed()
    );
    assert_stderr_says(&stalled, &["download blob", "no progress for 2 s"]);
    for region in ["us-east-1", "eu-west-1"] {
        let tags = skopeo::tags(env.region(region), "web")
            .await
            .unwrap_or_default();
        assert!(tags.is_empty(), "{region} has tags {tags:?}");
    }
}

#[tokio::test]
async fn docker_config_auths_and_credential_helpers_log_in_to_the_source() {
    use base64::Engine;
    use std::os::unix::fs::PermissionsExt;
    let env = environment().await;
    let (image, digest) = single_manifest_image(&env, "promote-docker-config");
    stage(&env, &image).await;
    let staging = env.region("staging");
    let host = staging.direct_host();
    let source = format!("docker://{host}/staging/web:v1");
    let docker_config = env.work_dir().join("docker-config");
    std::fs::create_dir_all(&docker_config).unwrap();
    let with_config = |config: String, tag: &str| {
        std::fs::write(docker_config.join("config.json"), config).unwrap();
        let mut cmd = promote_command(&env, &source);
        cmd.env("DOCKER_CONFIG", &docker_config)
            .args(["--tags", tag, "--create-repository"]);
        cmd
    };
    // Without credentials the registry's Basic challenge stands: exit 1 naming the source.
    let anonymous = run(with_config("{}".into(), "v1")).await;
    assert_eq!(anonymous.status, 1, "{anonymous}");
    assert_stderr_says(
        &anonymous,
        &[&format!("source {source}: read the manifest")],
    );
    let auth =
        base64::engine::general_purpose::STANDARD.encode(format!("AWS:{}", staging.password()));
    let auths = format!(r#"{{"auths": {{"{host}": {{"auth": "{auth}"}}}}}}"#);
    let out = run(with_config(auths, "v1")).await;
    assert!(out.success(), "{out}");
    assert!(
        out.stderr
            .contains(&format!("::add-mask::{}", staging.password())),
        "the source password is masked"
    );
    // A credential helper on PATH answers for the host.
    let bin = env.work_dir().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helper = bin.join("docker-credential-test");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\nread host\n[ \"$host\" = \"{host}\" ] || exit 1\n\
             printf '{{\"Username\":\"AWS\",\"Secret\":\"{}\"}}'\n",
            staging.password()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let helpers = format!(r#"{{"credHelpers": {{"{host}": "test"}}}}"#);
    let mut cmd = with_config(helpers, "v2");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    cmd.env("PATH", path);
    let out = run(cmd).await;
    assert!(out.success(), "{out}");
    for region in ["us-east-1", "eu-west-1"] {
        for tag in ["v1", "v2"] {
            let served = skopeo::manifest_digest(env.region(region), "web", tag)
                .await
                .unwrap();
            assert_eq!(served, digest, "{region} {tag}");
        }
    }
}

#[tokio::test]
async fn a_source_role_reads_the_staging_registry_and_only_it() {
    let env = environment().await;
    let (image, digest) = single_manifest_image(&env, "promote-role");
    stage(&env, &image).await;
    let before = env.moto().calls().len();
    let out = promote(
        &env,
        ":v1",
        &[
            "--tags",
            "prod",
            "--create-repository",
            "--source-role-arn",
            "arn:aws:iam::123456789012:role/staging-read",
            "--source-external-id",
            "ScanMeSourceExternal-42",
        ],
    )
    .await;
    assert!(out.success(), "{out}");
    for region in ["us-east-1", "eu-west-1"] {
        let served = skopeo::manifest_digest(env.region(region), "web", "prod")
            .await
            .unwrap();
        assert_eq!(served, digest, "{region}");
    }
    let calls = env.moto().calls().split_off(before);
    assert_eq!(
        calls.iter().filter(|c| c.action == "AssumeRole").count(),
        1,
        "{calls:?}"
    );
    let logins = |region: &str| -> Vec<Option<String>> {
        calls
            .iter()
            .filter(|c| c.action == "GetAuthorizationToken" && c.region.as_deref() == Some(region))
            .map(|c| c.access_key.clone())
            .collect()
    };
    let source = logins("us-west-2");
    assert!(
        !source.is_empty()
            && source
                .iter()
                .all(|k| k.as_deref().is_some_and(|k| k != ACCESS_KEY_ID)),
        "the source is read with the role: {source:?}"
    );
    let destination = logins("us-east-1");
    assert!(
        destination
            .iter()
            .all(|k| k.as_deref() == Some(ACCESS_KEY_ID)),
        "destinations keep the default chain: {destination:?}"
    );
    assert!(out.stderr.contains("::add-mask::ScanMeSourceExternal-42"));
}

#[tokio::test]
async fn verify_compares_the_regions_with_the_image_in_the_build_registry() {
    let env = environment().await;
    let (image, digest) = single_manifest_image(&env, "promote-verify");
    stage(&env, &image).await;
    let promoted = promote(&env, ":v1", &["--tags", "prod", "--create-repository"]).await;
    assert!(promoted.success(), "{promoted}");
    let verify = |reference: &str| {
        let endpoints = format!(
            "us-east-1={},eu-west-1={}",
            env.region("us-east-1").proxy_url(),
            env.region("eu-west-1").proxy_url()
        );
        let mut cmd = ecr_fanout(&env);
        cmd.args(["verify", "--json"])
            .args([
                "--image",
                &format!("docker://{STAGING}/staging/web:{reference}"),
            ])
            .args([
                "--source-registry-endpoint",
                &env.region("staging").proxy_url(),
            ])
            .args(["--regions", "us-east-1,eu-west-1", "--repository", "web"])
            .args(["--registry-endpoints", &endpoints]);
        run(cmd)
    };
    let same = verify("v1").await;
    assert!(same.success(), "{same}");
    assert_eq!(report(&same)["digest"], digest.as_str());
    // The build registry moves on: the regions no longer serve what it names.
    let (newer, newer_digest) = single_manifest_image(&env, "promote-verify-2");
    let mut cmd = ecr_fanout(&env);
    cmd.args(["push", "--image", &newer, "--tags", "v1"])
        .args(["--regions", "us-west-2", "--repository", "staging/web"])
        .args([
            "--registry-endpoints",
            &format!("us-west-2={}", env.region("staging").proxy_url()),
        ]);
    assert!(run(cmd).await.success());
    let differs = verify("v1").await;
    assert_eq!(differs.status, 3, "{differs}");
    assert_stderr_says(&differs, &[&format!("manifest {newer_digest} is missing")]);
}

#[tokio::test]
async fn a_source_blob_served_with_other_bytes_fails_with_exit_3_and_no_manifest_is_stored() {
    let env = environment().await;
    let (image, _) = single_manifest_image(&env, "promote-corrupt");
    stage(&env, &image).await;
    let staging = env.region("staging");
    let raw = skopeo::inspect_raw(staging, "staging/web", "v1")
        .await
        .unwrap();
    let digest = skopeo::sha256_digest(&raw);
    let manifest: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    let layer = manifest["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let hex = layer.trim_start_matches("sha256:");
    let data = staging
        .registry()
        .dir()
        .join("storage/docker/registry/v2/blobs/sha256")
        .join(&hex[..2])
        .join(hex)
        .join("data");
    let mut bytes = std::fs::read(&data).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&data, bytes).unwrap();
    let out = promote(&env, ":v1", &["--tags", "prod", "--create-repository"]).await;
    assert_eq!(out.status, 3, "{out}");
    assert_stderr_says(
        &out,
        &[
            &format!("source docker://{STAGING}/staging/web:v1: download blob"),
            &format!("blob {layer} arrived as"),
            "no manifest was stored and no tag was moved in any region",
        ],
    );
    // The corrupt layer and the manifest are stored nowhere (the config blob may have been
    // uploaded before the layer's download ended: harmless, a re-run reuses it).
    for region in ["us-east-1", "eu-west-1"] {
        let region = env.region(region);
        let stored = region
            .registry()
            .dir()
            .join("storage/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex);
        assert!(
            !stored.exists(),
            "{}: the corrupt layer is stored",
            region.name()
        );
        assert!(
            skopeo::inspect_raw(region, "web", &digest).await.is_err(),
            "{}: the manifest is stored",
            region.name()
        );
        assert!(
            skopeo::tags(region, "web")
                .await
                .unwrap_or_default()
                .is_empty(),
            "{}",
            region.name()
        );
    }
}

#[tokio::test]
async fn a_missing_source_tag_is_exit_2_naming_it_and_nothing_is_written() {
    let env = environment().await;
    let (image, _) = single_manifest_image(&env, "promote-missing");
    stage(&env, &image).await;
    let out = promote(&env, ":v9", &["--tags", "prod", "--create-repository"]).await;
    assert_eq!(out.status, 2, "{out}");
    assert_stderr_says(
        &out,
        &[&format!(
            "invalid input `image`: docker://{STAGING}/staging/web:v9 does not exist at the source"
        )],
    );
    assert_destinations_hold_nothing(&env).await;
}

#[tokio::test]
async fn a_layer_goes_on_to_the_destinations_while_it_downloads_and_a_cut_download_resumes() {
    let env = environment().await;
    let dir = env.path("layout-streamed");
    let digest = ecr_fanout::image::fixtures::write_single_manifest_layout(
        &dir,
        "streamed",
        &[6_000_000, 10_000],
    )
    .unwrap()
    .to_string();
    stage(&env, &format!("oci:{}", dir.display())).await;
    let staging = env.region("staging");
    let manifest = skopeo::inspect_raw(staging, "staging/web", "v1")
        .await
        .unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
    let layer = manifest["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    // Served by the registry itself (no redirect), so that the proxy can stall the body: the
    // layer's download stops after 1 MiB until the fault is cleared, then its connection closes.
    staging.control().disable(Emulation::PresignedBlobRedirect);
    staging.control().inject(Fault::only(
        RequestMatch {
            method: Some("GET"),
            kind: Some("blob"),
            reference: Some(layer.clone()),
        },
        Fault::StallDownloadAfter {
            bytes: 1 << 20,
            times: 1,
        },
    ));
    let us_east = env.region("us-east-1").control();
    us_east.inject(Fault::StallUploadAfter {
        bytes: 512 * 1024,
        times: 1,
    });
    let mut cmd = promote_command(&env, &format!("docker://{STAGING}/staging/web:v1"));
    cmd.args(["--source-registry-endpoint", &staging.proxy_url()])
        .args(["--tags", "prod", "--create-repository"]);
    let running = Running::start(cmd);
    let within = std::time::Duration::from_secs(60);
    staging
        .control()
        .wait_until_fired("stall-download", 1, within)
        .await;
    // Half a MiB of the layer has reached us-east-1 while its download is stuck at 1 MiB: the
    // upload runs alongside the download.
    us_east.wait_until_fired("stall-upload", 1, within).await;
    us_east.clear_faults();
    staging.control().clear_faults();
    let out = running.finish(within).await;
    assert!(out.success(), "{out}");
    for region in ["us-east-1", "eu-west-1"] {
        let served = skopeo::manifest_digest(env.region(region), "web", "prod")
            .await
            .unwrap();
        assert_eq!(served, digest, "{region}");
    }
    // The cut download carried on where it stopped (206), instead of starting again.
    let layer_gets: Vec<u16> = staging
        .control()
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.uri.ends_with(&layer))
        .map(|r| r.status)
        .collect();
    assert_eq!(layer_gets, [200, 206], "GETs of the layer at the source");
}

#[tokio::test]
async fn a_throttled_source_is_asked_again_after_its_retry_after() {
    let env = environment().await;
    let (image, digest) = single_manifest_image(&env, "promote-throttled");
    stage(&env, &image).await;
    let staging = env.region("staging").control();
    let staged = staging.requests().len();
    staging.inject(Fault::only(
        RequestMatch::kind("GET", "manifest"),
        Fault::Throttle {
            count: 1,
            retry_after: 2,
        },
    ));
    let out = promote(&env, ":v1", &["--tags", "prod", "--create-repository"]).await;
    assert!(out.success(), "{out}");
    assert_eq!(
        skopeo::manifest_digest(env.region("us-east-1"), "web", "prod")
            .await
            .unwrap(),
        digest
    );
    let gets: Vec<_> = staging
        .requests()
        .into_iter()
        .skip(staged)
        .filter(|r| r.method == "GET" && r.uri.ends_with("/manifests/v1"))
        .collect();
    assert_eq!(
        gets.iter().map(|r| r.status).collect::<Vec<_>>(),
        [429, 200]
    );
    let waited = gets[1].received - gets[0].received;
    assert!(
        waited >= std::time::Duration::from_secs(2),
        "asked again after {waited:?}, before the 2 s Retry-After"
    );
}

#[tokio::test]
async fn a_destination_in_the_source_registry_mounts_every_blob_instead_of_downloading_it() {
    let env = environment().await;
    let (image, digest) = single_manifest_image(&env, "promote-mounted");
    stage(&env, &image).await;
    let staging = env.region("staging");
    let staged = staging.control().requests().len();
    let endpoints = format!(
        "us-west-2={},us-east-1={}",
        staging.proxy_url(),
        env.region("us-east-1").proxy_url()
    );
    let mut cmd = ecr_fanout(&env);
    cmd.args(["push", "--json", "--image"])
        .arg(format!("docker://{STAGING}/staging/web:v1"))
        .args([
            "--regions",
            "us-west-2,us-east-1",
            "--repository",
            "prod/web",
        ])
        .args(["--registry-endpoints", &endpoints])
        .args(["--source-registry-endpoint", &staging.proxy_url()])
        .args(["--tags", "prod", "--create-repository"]);
    let out = run(cmd).await;
    assert!(out.success(), "{out}");
    for region in ["staging", "us-east-1"] {
        let served = skopeo::manifest_digest(env.region(region), "prod/web", "prod")
            .await
            .unwrap();
        assert_eq!(served, digest, "{region}");
    }
    let report = report(&out);
    let regions = report["regions"].as_array().unwrap();
    let by_region = |name: &str| regions.iter().find(|r| r["region"] == name).unwrap();
    // Three blobs (a config and two layers): linked from staging/web in its own registry, sent
    // to the other, each downloaded once, for the other only.
    assert_eq!(by_region("us-west-2")["blobs_mounted"], 3);
    assert_eq!(by_region("us-west-2")["bytes_uploaded"], 0);
    assert_eq!(by_region("us-east-1")["blobs_uploaded"], 3);
    let since: Vec<_> = staging
        .control()
        .requests()
        .into_iter()
        .skip(staged)
        .collect();
    let mounted = since
        .iter()
        .filter(|r| r.method == "POST" && r.uri.contains("from=staging/web") && r.status == 201)
        .count();
    assert_eq!(
        mounted, 3,
        "mount requests answered 201 at the source registry"
    );
    assert!(
        !since
            .iter()
            .any(|r| r.method == "PUT" && r.uri.contains("/blobs/uploads/")),
        "no blob was uploaded into the source's registry"
    );
    let downloads = since
        .iter()
        .filter(|r| r.method == "GET" && r.uri.contains("/blobs/sha256:"))
        .count();
    assert_eq!(downloads, 3, "each blob downloaded once, for us-east-1");
}

#[tokio::test]
async fn a_source_token_that_expires_mid_copy_is_refreshed_once() {
    let env = environment().await;
    let (image, digest) = single_manifest_image(&env, "promote-expired");
    stage(&env, &image).await;
    let staging = env.region("staging").control();
    let logins_before = env
        .moto()
        .count_calls_in("us-west-2", "GetAuthorizationToken");
    // The manifests are read; the token has expired by the first layer download.
    staging.inject(Fault::only(
        RequestMatch::kind("GET", "blob"),
        Fault::TokenExpired { count: 1 },
    ));
    let out = promote(&env, ":v1", &["--tags", "prod", "--create-repository"]).await;
    assert!(out.success(), "{out}");
    assert_eq!(staging.faults_fired("token-expired"), 1);
    assert_eq!(
        env.moto()
            .count_calls_in("us-west-2", "GetAuthorizationToken")
            - logins_before,
        2,
        "the source logged in, then once more after its token expired"
    );
    for region in ["us-east-1", "eu-west-1"] {
        let served = skopeo::manifest_digest(env.region(region), "web", "prod")
            .await
            .unwrap();
        assert_eq!(served, digest, "{region}");
    }
}

#[tokio::test]
async fn sigterm_while_a_layer_downloads_moves_no_tag_anywhere() {
    let env = environment().await;
    let dir = env.path("layout-cancelled");
    ecr_fanout::image::fixtures::write_single_manifest_layout(&dir, "cancelled", &[3_000_000])
        .unwrap();
    stage(&env, &format!("oci:{}", dir.display())).await;
    let staging = env.region("staging");
    staging.control().disable(Emulation::PresignedBlobRedirect);
    staging.control().inject(Fault::StallDownloadAfter {
        bytes: 1 << 20,
        times: 100,
    });
    let mut cmd = promote_command(&env, &format!("docker://{STAGING}/staging/web:v1"));
    cmd.args(["--source-registry-endpoint", &staging.proxy_url()])
        .args(["--tags", "prod", "--create-repository"]);
    let running = Running::start(cmd);
    let within = std::time::Duration::from_secs(60);
    staging
        .control()
        .wait_until_fired("stall-download", 1, within)
        .await;
    running.signal(libc::SIGTERM);
    let out = running.finish(within).await;
    staging.control().clear_faults();
    assert_eq!(out.status, 1, "{out}");
    assert_stderr_says(&out, &["cancelled"]);
    for region in ["us-east-1", "eu-west-1"] {
        let tags = skopeo::tags(env.region(region), "web")
            .await
            .unwrap_or_default();
        assert!(tags.is_empty(), "{region} has tags {tags:?}");
    }
}
