//! Distributed multi-platform builds: each platform pushed `--by-digest` (no tag anywhere),
//! then `merge` joins them into one OCI index in every region, copying a child a region lacks
//! from a region that has it, verifying, then tagging. Read back with skopeo in every region:
//! the index, each child's config architecture, the tags.

use serde_json::Value;

use crate::build::support::{build_command, context};
use crate::harness::artifacts::{Subject, list_referrers, push_referrer, push_tagged_artifact};
use crate::harness::buildah::BuildahStorage;
use crate::harness::fault::{Fault, RequestMatch};
use crate::harness::{RunOutput, TestEnv, ecr_fanout, run, skopeo};
use crate::scenario::*;

/// A one-platform layout for `architecture`, pushed by digest to `regions` as `web`; its digest.
async fn push_platform(env: &TestEnv, seed: &str, architecture: &str, regions: &[&str]) -> String {
    let dir = env.path(&format!("layout-{seed}"));
    let variant = (architecture == "arm64").then_some("v8");
    let digest = ecr_fanout::image::fixtures::write_platform_layout(
        &dir,
        seed,
        &[2_000],
        (architecture, variant),
    )
    .unwrap();
    let endpoints: Vec<String> = regions
        .iter()
        .map(|r| format!("{r}={}", env.region(r).proxy_url()))
        .collect();
    let mut cmd = ecr_fanout(env);
    cmd.args(["push", "--json", "--by-digest", "--create-repository"])
        .args(["--image", &format!("oci:{}", dir.display())])
        .args(["--regions", &regions.join(","), "--repository", "web"])
        .args(["--registry-endpoints", &endpoints.join(",")]);
    let out = run(cmd).await;
    assert!(out.success(), "{out}");
    assert_eq!(report(&out)["digest"], digest.as_str());
    digest.to_string()
}

/// `merge --json` to every region of `env` as `web`.
async fn merge(env: &TestEnv, extra: &[&str]) -> RunOutput {
    let regions: Vec<&str> = env.regions().iter().map(|r| r.name()).collect();
    let mut cmd = ecr_fanout(env);
    cmd.args(["merge", "--json", "--repository", "web"])
        .args(["--regions", &regions.join(",")])
        .args(["--registry-endpoints", &env.registry_endpoints_arg()])
        .args(extra);
    run(cmd).await
}

/// Every region serves `tag` as an OCI index of exactly `children` (digest → architecture),
/// each child's config saying its architecture.
async fn assert_index_everywhere(
    env: &TestEnv,
    tag: &str,
    digest: &str,
    children: &[(&str, &str)],
) {
    for region in env.regions() {
        let served = skopeo::manifest_digest(region, "web", tag).await.unwrap();
        assert_eq!(served, digest, "{}", region.name());
        let index: Value =
            serde_json::from_slice(&skopeo::inspect_raw(region, "web", tag).await.unwrap())
                .unwrap();
        assert_eq!(
            index["mediaType"],
            "application/vnd.oci.image.index.v1+json"
        );
        let listed: Vec<(String, String)> = index["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["digest"].as_str().unwrap().to_string(),
                    m["platform"]["architecture"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let expected: Vec<(String, String)> = children
            .iter()
            .map(|(d, a)| (d.to_string(), a.to_string()))
            .collect();
        assert_eq!(listed, expected, "{}", region.name());
        for (child, architecture) in children {
            let config = skopeo::inspect_config(region, "web", child).await.unwrap();
            assert_eq!(
                config["architecture"],
                *architecture,
                "{} {child}",
                region.name()
            );
        }
    }
}

async fn assert_no_tags(env: &TestEnv) {
    for region in env.regions() {
        let tags = skopeo::tags(region, "web").await.unwrap_or_default();
        assert!(tags.is_empty(), "{} has tags {tags:?}", region.name());
    }
}

#[tokio::test]
async fn buildah_platform_builds_by_digest_meet_in_one_index_whatever_the_order() {
    let env = TestEnv::start(&REGIONS).await;
    let storage = BuildahStorage::in_dir(&env.path("buildah")).unwrap();
    storage.require_buildah().await;
    let dir = context(&env, "matrix", "FROM scratch\nCOPY hello.txt /hello.txt\n");
    let mut digests = Vec::new();
    for platform in ["linux/amd64", "linux/arm64"] {
        let args = [
            "--builder",
            "buildah",
            "--by-digest",
            "--platforms",
            platform,
        ];
        let out = run(build_command(&env, storage.env_vars(), &dir, &args)).await;
        assert!(out.success(), "{platform}: {out}");
        let report = report(&out);
        assert_eq!(report["platforms"], serde_json::json!([platform]));
        digests.push(report["digest"].as_str().unwrap().to_string());
    }
    assert_no_tags(&env).await;
    let sources = digests.join(",");
    let out = merge(&env, &["--sources", &sources, "--tags", "v1,latest"]).await;
    assert!(out.success(), "{out}");
    let merged = report(&out);
    assert_eq!(merged["command"], "merge");
    assert_eq!(
        merged["platforms"],
        serde_json::json!(["linux/amd64", "linux/arm64"])
    );
    let index = merged["digest"].as_str().unwrap().to_string();
    assert_index_everywhere(
        &env,
        "v1",
        &index,
        &[(&digests[0], "amd64"), (&digests[1], "arm64")],
    )
    .await;
    assert_tags_everywhere(&env, "web", &["v1", "latest"], &index).await;
    // The other order, from a directory of per-job artifacts named by bare hex: same index,
    // nothing uploaded.
    let artifacts = env.path("digests");
    std::fs::create_dir_all(&artifacts).unwrap();
    for digest in digests.iter().rev() {
        std::fs::write(artifacts.join(digest.trim_start_matches("sha256:")), "").unwrap();
    }
    let again = merge(
        &env,
        &[
            "--sources-from",
            artifacts.to_str().unwrap(),
            "--tags",
            "v1",
        ],
    )
    .await;
    assert!(again.success(), "{again}");
    assert_eq!(report(&again)["digest"], index.as_str());
    assert_eq!(report(&again)["bytes_uploaded"], 0);
}

#[tokio::test]
async fn a_child_held_by_one_region_is_copied_to_the_others_before_the_tag_moves() {
    let env = TestEnv::start(&REGIONS).await;
    let amd64 = push_platform(&env, "spread-amd64", "amd64", &REGIONS).await;
    let arm64 = push_platform(&env, "spread-arm64", "arm64", &REGIONS[..1]).await;
    let sources = format!("{arm64}\n{amd64}");
    let planned = merge(&env, &["--sources", &sources, "--tags", "v1", "--dry-run"]).await;
    assert!(planned.success(), "{planned}");
    for region in &env.regions()[1..] {
        let config = skopeo::inspect_config(region, "web", &arm64).await;
        assert!(
            config.is_err(),
            "{}: the dry run copied nothing",
            region.name()
        );
    }
    assert_no_tags(&env).await;
    let out = merge(&env, &["--sources", &sources, "--tags", "v1"]).await;
    assert!(out.success(), "{out}");
    let index = report(&out)["digest"].as_str().unwrap().to_string();
    assert_index_everywhere(&env, "v1", &index, &[(&amd64, "amd64"), (&arm64, "arm64")]).await;
    let merged = report(&out);
    for region in merged["regions"].as_array().unwrap() {
        // The arm64 child's config and layer went to the two regions that lacked them.
        let expected = if region["region"] == REGIONS[0] { 0 } else { 2 };
        assert_eq!(region["blobs_uploaded"], expected, "{region}");
    }
}

#[tokio::test]
async fn a_signature_made_in_one_region_of_a_child_reaches_every_region_with_the_index() {
    let env = TestEnv::start(&REGIONS).await;
    let amd64 = push_platform(&env, "signed-amd64", "amd64", &REGIONS).await;
    let arm64 = push_platform(&env, "signed-arm64", "arm64", &REGIONS).await;
    // The arm64 image was signed in the primary only, as an OCI 1.1 referrer; the amd64 image
    // has a cosign .sig tag there.
    let primary = env.region(REGIONS[0]);
    let direct = (primary.direct_url(), primary.password());
    let raw = skopeo::inspect_raw(primary, "web", &arm64).await.unwrap();
    let subject = Subject {
        media_type: "application/vnd.oci.image.manifest.v1+json",
        digest: &arm64,
        size: raw.len() as u64,
    };
    let signature_type = "application/vnd.dev.cosign.artifact.sig.v1+json";
    let signature = push_referrer(
        (&direct.0, direct.1),
        "web",
        &subject,
        (signature_type, b"arm64 signed in us-east-1"),
    )
    .await;
    let sig_tag = format!("sha256-{}.sig", amd64.trim_start_matches("sha256:"));
    let cosign = push_tagged_artifact(
        (&direct.0, direct.1),
        "web",
        &sig_tag,
        (signature_type, b"amd64 signed the older way"),
    )
    .await;
    let sources = format!("{amd64}\n{arm64}");
    let out = merge(&env, &["--sources", &sources, "--tags", "v1"]).await;
    assert!(out.success(), "{out}");
    for region in env.regions() {
        let (status, listed) =
            list_referrers((&region.proxy_url(), region.password()), "web", &arm64).await;
        assert_eq!(status, 200, "{}", region.name());
        assert_eq!(
            listed,
            [(signature.clone(), signature_type.to_string())],
            "{}",
            region.name()
        );
        assert_eq!(
            skopeo::manifest_digest(region, "web", &sig_tag)
                .await
                .unwrap(),
            cosign,
            "{}",
            region.name()
        );
    }
    let merged = report(&out);
    let travelled: Vec<&str> = merged["referrers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["digest"].as_str().unwrap())
        .collect();
    assert_eq!(travelled, [signature.as_str(), cosign.as_str()]);
}

#[tokio::test]
async fn a_missing_child_or_two_images_of_one_platform_are_refused_before_anything_moves() {
    let env = TestEnv::start(&REGIONS[..2]).await;
    let amd64 = push_platform(&env, "refused-amd64", "amd64", &REGIONS[..2]).await;
    let other_amd64 = push_platform(&env, "refused-amd64-b", "amd64", &REGIONS[..2]).await;
    let missing = format!("sha256:{}", "0".repeat(64));
    let out = merge(
        &env,
        &["--sources", &format!("{amd64},{missing}"), "--tags", "v1"],
    )
    .await;
    assert_eq!(out.status, 2, "{out}");
    assert_stderr_says(
        &out,
        &[&format!(
            "invalid input `sources`: {missing} is in none of the destinations"
        )],
    );
    let out = merge(
        &env,
        &[
            "--sources",
            &format!("{amd64},{other_amd64}"),
            "--tags",
            "v1",
        ],
    )
    .await;
    assert_eq!(out.status, 2, "{out}");
    assert_stderr_says(
        &out,
        &[&format!(
            "{amd64} and {other_amd64} are both linux/amd64; give one image per platform"
        )],
    );
    let out = merge(
        &env,
        &[
            "--sources",
            &amd64,
            "--platforms",
            "linux/amd64,linux/arm64/v8",
            "--tags",
            "v1",
        ],
    )
    .await;
    assert_eq!(out.status, 2, "{out}");
    assert_stderr_says(
        &out,
        &["invalid input `platforms`: no source is for linux/arm64/v8"],
    );
    let out = merge(
        &env,
        &["--sources", &amd64, "--context", ".", "--tags", "v1"],
    )
    .await;
    assert_eq!(out.status, 2, "{out}");
    assert_no_tags(&env).await;
}

#[tokio::test]
async fn a_region_failing_during_the_merge_leaves_no_tag_anywhere_and_by_digest_moves_none() {
    let env = TestEnv::start(&REGIONS).await;
    let amd64 = push_platform(&env, "failing-amd64", "amd64", &REGIONS).await;
    let arm64 = push_platform(&env, "failing-arm64", "arm64", &REGIONS).await;
    let sources = format!("{amd64},{arm64}");
    env.region("eu-west-1").control().inject(Fault::only(
        RequestMatch::kind("PUT", "manifest"),
        Fault::Status {
            status: 403,
            count: 100,
            kind: None,
        },
    ));
    let out = merge(&env, &["--sources", &sources, "--tags", "v1"]).await;
    assert_eq!(out.status, 1, "{out}");
    assert_stderr_says(&out, &["eu-west-1", "no tag was moved in any region"]);
    assert_no_tags(&env).await;
    env.region("eu-west-1").control().clear_faults();
    let by_digest = merge(&env, &["--sources", &sources, "--by-digest"]).await;
    assert!(by_digest.success(), "{by_digest}");
    let index = report(&by_digest)["digest"].as_str().unwrap().to_string();
    assert_no_tags(&env).await;
    for region in env.regions() {
        let raw = skopeo::inspect_raw(region, "web", &index).await.unwrap();
        assert_eq!(
            ecr_fanout::image::Digest::of_bytes(&raw).as_str(),
            index,
            "{} holds the index by digest",
            region.name()
        );
    }
}

#[tokio::test]
async fn the_action_merges_with_command_merge_and_every_other_input_at_its_default() {
    let env = TestEnv::start(&REGIONS[..2]).await;
    let amd64 = push_platform(&env, "action-amd64", "amd64", &REGIONS[..2]).await;
    let arm64 = push_platform(&env, "action-arm64", "arm64", &REGIONS[..2]).await;
    let action = crate::action_support::action_yml();
    let regions = REGIONS[..2].join(",");
    let sources = format!("{amd64}\n{arm64}");
    let endpoints = env.registry_endpoints_arg();
    let mut cmd = ecr_fanout(&env);
    cmd.arg("action").envs(action.input_env(&[
        ("command", "merge"),
        ("regions", &regions),
        ("repository", "web"),
        ("registry-endpoints", &endpoints),
        ("sources", &sources),
        ("tags", "v1"),
        ("json", "true"),
    ]));
    let out = run(cmd).await;
    assert!(out.success(), "{out}");
    let index = report(&out)["digest"].as_str().unwrap().to_string();
    assert_tags_everywhere(&env, "web", &["v1"], &index).await;
    let mut cmd = ecr_fanout(&env);
    cmd.arg("action").envs(action.input_env(&[
        ("command", "merge"),
        ("regions", &regions),
        ("repository", "web"),
        ("sources", &sources),
        ("tags", "v2"),
        ("builder", "buildah"),
    ]));
    let refused = run(cmd).await;
    assert_eq!(refused.status, 2, "{refused}");
    assert_stderr_says(
        &refused,
        &["invalid input `builder`: is not an input of merge (command: merge)"],
    );
}
