//! `ecr-fanout verify` on images already in the registries, every region's result read by name:
//! a consistent image passes (exit 0) with the same JSON report shape as `push`; exit 3 for a
//! region that provably lacks the image (a tag moved to another image with skopeo, tags at
//! different images, a missing tag, repository or `--digest`, a manifest served with other
//! bytes, by digest or under a tag, a blob deleted through the registry API); exit 1 for a
//! region that cannot be read, also when other regions lack the image; exit 2 for bad input,
//! before any call to moto. Error lines are checked whole.

use std::path::Path;

use serde_json::json;

use crate::harness::registry::USER;
use crate::harness::support::probe_client;
use crate::harness::{Fault, Region, RunOutput, TestEnv, ecr_fanout, run, skopeo};
use crate::repository_support::{region_report, write_calls};
use crate::scenario::*;

/// `ecr-fanout verify --json` against every region of `env` (through the proxies).
async fn verify(env: &TestEnv, repository: &str, extra: &[&str]) -> RunOutput {
    let regions: Vec<&str> = env.regions().iter().map(|r| r.name()).collect();
    let mut cmd = ecr_fanout(env);
    cmd.args(["verify", "--json", "--repository", repository])
        .args(["--regions", &regions.join(",")])
        .args(["--registry-endpoints", &env.registry_endpoints_arg()])
        .args(extra);
    run(cmd).await
}

/// Copies the `latest` image of an OCI layout straight into a region's registry under `tag`.
async fn skopeo_copy(region: &Region, layout: &Path, repository: &str, tag: &str) {
    let out = tokio::process::Command::new("skopeo")
        .args(["copy", "--dest-tls-verify=false", "--dest-creds"])
        .arg(format!("{USER}:{}", region.password()))
        .arg(format!("oci:{}:latest", layout.display()))
        .arg(format!(
            "docker://{}/{repository}:{tag}",
            region.direct_host()
        ))
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .kill_on_drop(true)
        .output()
        .await
        .expect("run skopeo");
    assert!(
        out.status.success(),
        "skopeo copy: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Deletes a blob from a region's repository through the registry API (deletes are enabled).
async fn delete_blob(region: &Region, repository: &str, digest: &str) {
    let response = probe_client()
        .delete(format!(
            "{}/v2/{repository}/blobs/{digest}",
            region.direct_url()
        ))
        .basic_auth(USER, Some(region.password()))
        .send()
        .await
        .expect("DELETE blob");
    assert_eq!(response.status().as_u16(), 202, "DELETE blob {digest}");
}

/// Deletes a manifest (and so every tag on it) from a region's repository.
async fn delete_manifest(region: &Region, repository: &str, digest: &str) {
    let response = probe_client()
        .delete(format!(
            "{}/v2/{repository}/manifests/{digest}",
            region.direct_url()
        ))
        .basic_auth(USER, Some(region.password()))
        .send()
        .await
        .expect("DELETE manifest");
    assert_eq!(response.status().as_u16(), 202, "DELETE manifest {digest}");
    assert!(skopeo::tags(region, repository).await.unwrap().is_empty());
}

/// The error as printed: its first line and the indented lines that follow it.
fn error_block(out: &RunOutput) -> String {
    let mut lines = out.stderr.lines().skip_while(|l| !l.starts_with("error:"));
    let first = lines
        .next()
        .unwrap_or_else(|| panic!("no error line:\n{out}"));
    let rest = lines.take_while(|l| l.starts_with("  ") && !l.starts_with("  caused by"));
    std::iter::once(first)
        .chain(rest)
        .collect::<Vec<_>>()
        .join("\n")
}

fn error_line(out: &RunOutput) -> &str {
    out.stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| panic!("no error line:\n{out}"))
}

#[tokio::test]
async fn a_consistent_index_passes_by_tags_and_by_digest() {
    let env = TestEnv::start(&REGIONS).await;
    let (image, digest) = multi_platform_image(&env, "verify-ok");
    let pushed = push_ok(
        &env,
        &image,
        "web",
        &["--tags", "v1,latest", "--create-repository"],
    )
    .await;
    let pushed = report(&pushed);

    let out = verify(&env, "web", &["--tags", "v1,latest"]).await;
    assert!(out.success(), "{out}");
    let verified = report(&out);
    assert_eq!(verified["command"], "verify");
    assert_eq!(verified["status"], "succeeded");
    assert_eq!(verified["digest"], digest.as_str());
    assert_eq!(verified["images"], pushed["images"]);
    assert_eq!(
        verified["platforms"],
        json!(["linux/amd64", "linux/arm64/v8"])
    );
    assert_eq!(verified["image_bytes"], pushed["image_bytes"]);
    assert_eq!(verified["bytes_uploaded"], 0);
    let same_shape = |v: &serde_json::Value| {
        let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    };
    assert_eq!(same_shape(&verified), same_shape(&pushed));
    for name in REGIONS {
        let region = region_report(&verified, name);
        assert_eq!(same_shape(region), same_shape(region_report(&pushed, name)));
        assert_eq!(region["status"], "verified", "{region}");
        for tag in region["tags"].as_array().unwrap() {
            assert_eq!(tag["current"], digest.as_str(), "{region}");
            assert_eq!(tag["action"], "verified", "{region}");
        }
    }

    let out = verify(&env, "web", &["--digest", &digest]).await;
    assert!(out.success(), "{out}");
    assert_eq!(report(&out)["digest"], digest.as_str());
}

#[tokio::test]
async fn a_region_whose_tag_points_at_another_image_fails_with_exit_3() {
    let env = TestEnv::start(&REGIONS[..2]).await;
    let (image, digest) = single_manifest_image(&env, "verify-a");
    push_v1_created(&env, &image).await;
    let standby = &env.regions()[1];
    let other_layout = env.path("layout-verify-b");
    ecr_fanout::image::fixtures::write_single_manifest_layout(&other_layout, "verify-b", &[5000])
        .unwrap();
    skopeo_copy(standby, &other_layout, "web", "v1").await;
    let other = skopeo::manifest_digest(standby, "web", "v1").await.unwrap();
    assert_ne!(other, digest);

    let out = verify(&env, "web", &["--tags", "v1"]).await;
    assert_eq!(out.status, 3, "{out}");
    let error = error_line(&out);
    assert!(
        error.contains(&format!(
            "region eu-west-1, repository web: verify: serves {other} under tag v1; region \
             us-east-1 serves {digest}"
        )),
        "{out}"
    );
    let verified = report(&out);
    assert_eq!(verified["status"], "failed");
    assert_eq!(verified["digest"], digest.as_str());
    assert_eq!(region_report(&verified, "us-east-1")["status"], "verified");
    let standby = region_report(&verified, "eu-west-1");
    assert_eq!(standby["status"], "failed");
    assert_eq!(standby["tags"][0]["current"], other.as_str());
    assert_eq!(standby["tags"][0]["action"], "differs");

    let out = verify(&env, "web", &["--tags", "v1,v2"]).await;
    assert_eq!(out.status, 3, "{out}");
    assert!(
        error_line(&out).starts_with(
            "error: repository web, tag v2: verify: the tag does not exist in 2 regions"
        ),
        "{out}"
    );
}

#[tokio::test]
async fn a_blob_deleted_in_one_region_fails_with_exit_3_naming_it() {
    let env = TestEnv::start(&REGIONS[..2]).await;
    let (image, digest) = single_manifest_image(&env, "verify-blob");
    push_v1_created(&env, &image).await;
    let opened = ecr_fanout::image::open_image(&image.parse().unwrap()).unwrap();
    let layer = opened.blobs.last().unwrap().digest.to_string();
    let standby = &env.regions()[1];
    delete_blob(standby, "web", &layer).await;
    assert!(!skopeo::blob_exists(standby, "web", &layer).await.unwrap());
    assert!(
        skopeo::blob_exists(&env.regions()[0], "web", &layer)
            .await
            .unwrap()
    );

    let out = verify(&env, "web", &["--tags", "v1"]).await;
    assert_eq!(
        out.status, 3,
        "the region provably lacks part of the image: {out}"
    );
    assert!(
        error_line(&out).contains(&format!(
            "region eu-west-1, repository web: verify: blob {layer} is missing"
        )),
        "{out}"
    );
    let verified = report(&out);
    assert_eq!(verified["digest"], digest.as_str());
    assert_eq!(region_report(&verified, "us-east-1")["status"], "verified");
    assert_eq!(region_report(&verified, "eu-west-1")["status"], "failed");
    assert_eq!(
        region_report(&verified, "eu-west-1")["error_kind"],
        "verification"
    );
    assert_eq!(verified["error_kind"], "verification");
}

#[tokio::test]
async fn a_region_that_cannot_be_read_fails_with_exit_1_naming_it() {
    let env = TestEnv::start(&REGIONS[..2]).await;
    let (image, _) = single_manifest_image(&env, "verify-denied");
    push_v1_created(&env, &image).await;
    let standby = &env.regions()[1];
    standby.control().expire_password(standby.password());

    let out = verify(&env, "web", &["--tags", "v1"]).await;
    assert_eq!(out.status, 1, "{out}");
    let error = error_line(&out);
    assert!(error.contains("region eu-west-1, repository web"), "{out}");
    assert!(!error.contains("us-east-1"), "{out}");
    let verified = report(&out);
    assert_eq!(region_report(&verified, "us-east-1")["status"], "verified");
    assert_eq!(region_report(&verified, "eu-west-1")["status"], "failed");
}

/// A second image (one 5 KB layer) in `env`'s work dir; returns its layout and digest.
fn other_image(env: &TestEnv, seed: &str) -> (std::path::PathBuf, String) {
    let layout = env.path(&format!("layout-{seed}"));
    let digest =
        ecr_fanout::image::fixtures::write_single_manifest_layout(&layout, seed, &[5000]).unwrap();
    (layout, digest.to_string())
}

/// `status` of every region in the report, by name.
fn statuses(report: &serde_json::Value, regions: &[&str]) -> Vec<String> {
    regions
        .iter()
        .map(|r| {
            let status = region_report(report, r)["status"].as_str().unwrap();
            format!("{r} {status}")
        })
        .collect()
}

#[tokio::test]
async fn a_region_without_the_repository_fails_with_exit_3_naming_it() {
    let env = TestEnv::start(&REGIONS[..2]).await;
    let primary = env.region("us-east-1");
    let (layout, digest) = other_image(&env, "verify-repo");
    env.create_repository("us-east-1", "web").await;
    skopeo_copy(primary, &layout, "web", "v1").await;

    let out = verify(&env, "web", &["--tags", "v1"]).await;
    assert_eq!(out.status, 3, "{out}");
    assert_eq!(
        error_line(&out),
        "error: region eu-west-1, repository web: verify: the repository does not exist; the \
         image could not be shown to be the same and whole in every region",
        "{out}"
    );
    let verified = report(&out);
    assert_eq!(verified["digest"], digest.as_str());
    assert_eq!(
        statuses(&verified, &REGIONS[..2]),
        ["us-east-1 verified", "eu-west-1 failed"]
    );
    assert_eq!(write_calls(&env), Vec::<String>::new(), "verify only reads");
    assert_eq!(
        env.list_repositories("eu-west-1").await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn tags_at_different_images_in_one_region_fail_with_exit_3_naming_both() {
    let env = TestEnv::start(&REGIONS[..2]).await;
    let (image, digest) = single_manifest_image(&env, "verify-split");
    push_ok(
        &env,
        &image,
        "web",
        &["--tags", "v1,latest", "--create-repository"],
    )
    .await;
    let standby = env.region("eu-west-1");
    let (layout, other) = other_image(&env, "verify-split-b");
    skopeo_copy(standby, &layout, "web", "latest").await;
    assert_eq!(
        skopeo::manifest_digest(standby, "web", "latest")
            .await
            .unwrap(),
        other
    );

    let out = verify(&env, "web", &["--tags", "v1,latest"]).await;
    assert_eq!(out.status, 3, "{out}");
    assert_eq!(
        error_line(&out),
        format!(
            "error: region eu-west-1, repository web: verify: the tags point at different \
             images (v1 → {digest}, latest → {other}); the image could not be shown to be the \
             same and whole in every region"
        ),
        "{out}"
    );
    let verified = report(&out);
    assert_eq!(verified["digest"], digest.as_str());
    assert_eq!(
        statuses(&verified, &REGIONS[..2]),
        ["us-east-1 verified", "eu-west-1 failed"]
    );
}

#[tokio::test]
async fn a_digest_absent_from_a_region_fails_with_exit_3_naming_it() {
    let env = TestEnv::start(&REGIONS[..2]).await;
    let (image, _) = single_manifest_image(&env, "verify-digest");
    push_v1_created(&env, &image).await;
    let (layout, only_primary) = other_image(&env, "verify-digest-b");
    skopeo_copy(env.region("us-east-1"), &layout, "web", "candidate").await;

    let out = verify(&env, "web", &["--digest", &only_primary]).await;
    assert_eq!(out.status, 3, "{out}");
    assert_eq!(
        error_line(&out),
        format!(
            "error: region eu-west-1, repository web: verify: manifest {only_primary} is \
             missing; the image could not be shown to be the same and whole in every region"
        ),
        "{out}"
    );
    let verified = report(&out);
    assert_eq!(verified["digest"], only_primary.as_str());
    assert_eq!(
        statuses(&verified, &REGIONS[..2]),
        ["us-east-1 verified", "eu-west-1 failed"]
    );
}

#[tokio::test]
async fn a_manifest_served_with_other_bytes_fails_with_exit_3() {
    let env = TestEnv::start(&REGIONS[..2]).await;
    let (image, digest) = single_manifest_image(&env, "verify-corrupt");
    push_v1_created(&env, &image).await;
    let standby = env.region("eu-west-1").control();
    standby.inject(Fault::CorruptManifestGet { count: 1 });

    let out = verify(&env, "web", &["--digest", &digest]).await;
    assert_eq!(out.status, 3, "{out}");
    assert_eq!(standby.faults_fired("corrupt-manifest-get"), 1);
    let error = error_line(&out);
    let prefix = format!(
        "error: region eu-west-1, repository web: verify: manifest {digest} was served with \
         different bytes (sha256 of what was served: sha256:"
    );
    assert!(error.starts_with(&prefix), "{out}");
    assert!(
        error.ends_with("); the image could not be shown to be the same and whole in every region"),
        "{out}"
    );
    assert!(!error.contains("us-east-1"), "{out}");
    assert_eq!(
        statuses(&report(&out), &REGIONS[..2]),
        ["us-east-1 verified", "eu-west-1 failed"]
    );

    // The same bytes under a tag: the tag's GET is the one corrupted.
    standby.inject(Fault::CorruptManifestGet { count: 1 });
    let out = verify(&env, "web", &["--tags", "v1"]).await;
    assert_eq!(out.status, 3, "{out}");
    assert_eq!(standby.faults_fired("corrupt-manifest-get"), 2);
    let error = error_line(&out);
    let prefix = "error: region eu-west-1, repository web: verify: tag v1 served bytes whose \
                  sha256 is sha256:";
    assert!(error.starts_with(prefix), "{out}");
    let served = &error[prefix.len() - "sha256:".len()..][..71];
    assert_ne!(served, digest, "{out}");
    assert!(
        error.ends_with(&format!(
            "{served}, a manifest the repository does not serve by digest: the manifest was \
             changed on the way or in the registry; the image could not be shown to be the same \
             and whole in every region"
        )),
        "{out}"
    );
    assert_tags_everywhere(&env, "web", &["v1"], &digest).await;
}

#[tokio::test]
async fn a_region_that_cannot_be_checked_wins_over_one_that_lacks_the_image() {
    let env = TestEnv::start(&REGIONS).await;
    let (image, digest) = single_manifest_image(&env, "verify-mixed");
    push_v1_created(&env, &image).await;
    // eu-west-1 provably lacks the tag (exit 3 alone); ap-southeast-2 cannot be read (exit 1).
    delete_manifest(env.region("eu-west-1"), "web", &digest).await;
    let unreadable = env.region("ap-southeast-2");
    unreadable.control().expire_password(unreadable.password());

    let out = verify(&env, "web", &["--tags", "v1"]).await;
    assert_eq!(out.status, 1, "{out}");
    let error = error_block(&out);
    let lines: Vec<&str> = error.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!(
        lines[0],
        "error: region eu-west-1, repository web, tag v1: verify: the tag does not exist"
    );
    assert!(
        lines[1]
            .starts_with("  region ap-southeast-2, repository web, tag v1: verify: read the tag"),
        "{out}"
    );
    assert_eq!(
        lines[2],
        "  the image could not be shown to be the same and whole in every region"
    );
    assert_eq!(
        statuses(&report(&out), &REGIONS),
        [
            "us-east-1 verified",
            "eu-west-1 failed",
            "ap-southeast-2 failed"
        ]
    );
}

#[tokio::test]
async fn regions_that_lack_the_image_in_different_ways_exit_3() {
    let env = TestEnv::start(&REGIONS).await;
    let (image, digest) = single_manifest_image(&env, "verify-all-3");
    push_v1_created(&env, &image).await;
    delete_manifest(env.region("eu-west-1"), "web", &digest).await;
    let (layout, other) = other_image(&env, "verify-all-3-b");
    skopeo_copy(env.region("ap-southeast-2"), &layout, "web", "v1").await;

    let out = verify(&env, "web", &["--tags", "v1"]).await;
    assert_eq!(out.status, 3, "{out}");
    assert_eq!(
        error_block(&out),
        format!(
            "error: region eu-west-1, repository web, tag v1: verify: the tag does not exist\n  \
             region ap-southeast-2, repository web: verify: serves {other} under tag v1; region \
             us-east-1 serves {digest}\n  the image could not be shown to be the same and \
             whole in every region"
        ),
        "{out}"
    );
}

#[tokio::test]
async fn bad_input_is_exit_2_before_any_call() {
    let env = TestEnv::start(&REGIONS[..1]).await;
    let out = verify(&env, "web", &["--digest", "sha256:abc"]).await;
    assert_eq!(out.status, 2, "{out}");
    assert!(
        error_line(&out)
            .starts_with("error: invalid input `digest`: 'sha256:abc' is not an image digest ("),
        "{out}"
    );
    assert_eq!(env.moto().calls(), vec![]);
    assert!(env.region("us-east-1").control().requests().is_empty());
}
