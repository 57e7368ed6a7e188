//! Shared steps for the push scenarios: make an image on disk, run `ecr-fanout push` against a
//! `TestEnv`, and read results back with independent clients (skopeo, the registry API, moto).

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::harness::{RunOutput, TestEnv, ecr_fanout, run, skopeo};

pub const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-2"];
pub const ACCOUNT: &str = "123456789012";

/// A single-manifest OCI layout in the env's work dir; returns its `oci:` source and digest.
pub fn single_manifest_image(env: &TestEnv, seed: &str) -> (String, String) {
    let dir = env.path(&format!("layout-{seed}"));
    let digest =
        ecr_fanout::image::fixtures::write_single_manifest_layout(&dir, seed, &[40_000, 12_000])
            .expect("write layout");
    (format!("oci:{}", dir.display()), digest.to_string())
}

/// A two-platform OCI index layout; returns its `oci:` source and the index digest.
pub fn multi_platform_image(env: &TestEnv, seed: &str) -> (String, String) {
    let dir = env.path(&format!("index-{seed}"));
    let digest =
        ecr_fanout::image::fixtures::write_multi_platform_layout(&dir, seed).expect("write layout");
    (format!("oci:{}", dir.display()), digest.to_string())
}

/// `ecr-fanout push` to every region of `env` with the proxies as endpoints, `--json`.
pub async fn push(env: &TestEnv, image: &str, repository: &str, extra: &[&str]) -> RunOutput {
    run(push_command(env, image, repository, extra)).await
}

/// The command [`push`] runs: to start it in the background, or to add variables first.
pub fn push_command(env: &TestEnv, image: &str, repository: &str, extra: &[&str]) -> Command {
    let regions: Vec<&str> = env.regions().iter().map(|r| r.name()).collect();
    let mut cmd = ecr_fanout(env);
    cmd.args([
        "push",
        "--json",
        "--image",
        image,
        "--repository",
        repository,
    ])
    .args(["--regions", &regions.join(",")])
    .args(["--registry-endpoints", &env.registry_endpoints_arg()])
    .args(extra);
    cmd
}

/// Every phrase appears in the run's stderr (an error must name region, repository and step).
pub fn assert_stderr_says(out: &RunOutput, phrases: &[&str]) {
    for phrase in phrases {
        assert!(
            out.stderr.contains(phrase),
            "stderr lacks {phrase:?}: {out}"
        );
    }
}

/// `push`, which must succeed, and must never have sent a PATCH (ECR drops every PATCH after
/// the first of an upload: each blob goes up in one streamed request).
pub async fn push_ok(env: &TestEnv, image: &str, repository: &str, extra: &[&str]) -> RunOutput {
    let out = push(env, image, repository, extra).await;
    assert!(out.success(), "{out}");
    assert_no_patch(env);
    out
}

/// No region's proxy saw an upload start or a manifest put, and no region stores `digest`
/// (checked with skopeo): the run wrote nothing of that image anywhere.
pub async fn assert_nothing_uploaded(env: &TestEnv, repository: &str, digest: &str) {
    for region in env.regions() {
        let (control, name) = (region.control(), region.name());
        assert_eq!(
            control.count_upload_starts(),
            0,
            "{name}: an upload started"
        );
        assert_eq!(
            control.count_manifest_puts(),
            0,
            "{name}: a manifest was put"
        );
        assert!(
            skopeo::inspect_raw(region, repository, digest)
                .await
                .is_err(),
            "{name} holds {digest}"
        );
    }
}

/// No region's proxy saw a PATCH.
pub fn assert_no_patch(env: &TestEnv) {
    for region in env.regions() {
        assert_eq!(
            region.control().count("PATCH"),
            0,
            "{} got a PATCH: uploads must be one streamed request",
            region.name()
        );
    }
}

/// `push` to repository `web` with tag `v1`, creating the repository; it must succeed.
pub async fn push_v1_created(env: &TestEnv, image: &str) -> RunOutput {
    push_ok(env, image, "web", &["--tags", "v1", "--create-repository"]).await
}

/// The JSON report on stdout; panics with the whole run when it is not JSON.
pub fn report(out: &RunOutput) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{out}"))
}

/// Asserts that every region serves `digest` under every tag, read with skopeo directly
/// from the registry (bypassing the proxy and our client).
pub async fn assert_tags_everywhere(env: &TestEnv, repository: &str, tags: &[&str], digest: &str) {
    for region in env.regions() {
        for tag in tags {
            let served = skopeo::manifest_digest(region, repository, tag)
                .await
                .unwrap_or_else(|e| panic!("{} {repository}:{tag}: {e:#}", region.name()));
            assert_eq!(served, digest, "{} {repository}:{tag}", region.name());
        }
    }
}

/// Asserts that no registry holds any repository and moto has no repository, in any region.
pub async fn assert_nothing_written(env: &TestEnv) {
    for region in env.regions() {
        let catalog = skopeo::catalog(region).await.expect("catalog");
        assert!(
            catalog.is_empty(),
            "{} registry holds {catalog:?}",
            region.name()
        );
        let repos = env.list_repositories(region.name()).await;
        assert!(repos.is_empty(), "{} moto has {repos:?}", region.name());
    }
}

/// The digest-pinned URI the outputs must give for a region.
pub fn pinned_uri(region: &str, repository: &str, digest: &str) -> String {
    format!("{ACCOUNT}.dkr.ecr.{region}.amazonaws.com/{repository}@{digest}")
}

/// A path in the env's work dir, as a string argument.
pub fn work_file(env: &TestEnv, name: &str) -> (PathBuf, String) {
    let path = env.path(name);
    let text = path.display().to_string();
    (path, text)
}

/// Reads a layout's blob sizes (config and layers) from disk, for byte counts.
pub fn blob_bytes(source: &str) -> u64 {
    let image = ecr_fanout::image::open_image(&source.parse().expect("source")).expect("open");
    image.blob_bytes()
}
