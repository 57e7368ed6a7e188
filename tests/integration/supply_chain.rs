//! Signatures, SBOMs and attestations travel with the image: referrers (OCI 1.1 manifests with
//! a `subject`) of a staged image, pushed into the staging registry with plain HTTP as cosign or
//! oras would, arrive in every destination with the same digests and are listed there by the
//! referrers API (the proxy answers it from each registry's own storage, as ECR does). Read back
//! with skopeo and raw referrers requests.

use crate::harness::artifacts::{Subject, list_referrers, push_referrer, push_tagged_artifact};
use crate::harness::{TestEnv, ecr_fanout, run, skopeo};
use crate::promote::{STAGING, environment, promote_command, stage};
use crate::scenario::*;

const SIGNATURE: &str = "application/vnd.dev.cosign.artifact.sig.v1+json";
const SBOM: &str = "application/spdx+json";
const DESTINATIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

/// An image staged as `staging/web:v1`: its digest, media type and size, to refer to it.
struct Staged {
    digest: String,
    media_type: String,
    size: u64,
}

impl Staged {
    fn subject(&self) -> Subject<'_> {
        Subject {
            media_type: &self.media_type,
            digest: &self.digest,
            size: self.size,
        }
    }
}

/// `image` staged; what a referrer needs to name it.
async fn stage_and_describe(env: &TestEnv, image: &str) -> Staged {
    stage(env, image).await;
    let raw = skopeo::inspect_raw(env.region("staging"), "staging/web", "v1")
        .await
        .unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    Staged {
        digest: skopeo::sha256_digest(&raw),
        media_type: manifest["mediaType"].as_str().unwrap().to_string(),
        size: raw.len() as u64,
    }
}

/// `push --json` of `docker://STAGING/staging/web:v1` to both destinations as `web:prod`.
fn promote_cmd(env: &TestEnv, extra: &[&str]) -> std::process::Command {
    let mut cmd = promote_command(env, &format!("docker://{STAGING}/staging/web:v1"));
    cmd.args([
        "--source-registry-endpoint",
        &env.region("staging").proxy_url(),
    ])
    .args(["--tags", "prod", "--create-repository"])
    .args(extra);
    cmd
}

async fn promote(env: &TestEnv, extra: &[&str]) -> crate::harness::RunOutput {
    run(promote_cmd(env, extra)).await
}

/// Puts a referrer of `subject` into staging/web at the staging registry itself.
async fn refer(env: &TestEnv, subject: &Subject<'_>, artifact: (&str, &[u8])) -> String {
    let staging = env.region("staging");
    let direct = staging.direct_url();
    push_referrer(
        (&direct, staging.password()),
        "staging/web",
        subject,
        artifact,
    )
    .await
}

/// Every destination lists exactly `expected` for `subject`, each stored with its bytes.
async fn assert_listed_everywhere(env: &TestEnv, subject: &str, expected: &[(String, String)]) {
    let mut expected = expected.to_vec();
    expected.sort();
    for name in DESTINATIONS {
        let region = env.region(name);
        let proxy = region.proxy_url();
        let (status, mut listed) =
            list_referrers((&proxy, region.password()), "web", subject).await;
        assert_eq!(status, 200, "{name}");
        listed.sort();
        assert_eq!(listed, expected, "{name}: referrers of {subject}");
        for (digest, _) in &expected {
            let raw = skopeo::inspect_raw(region, "web", digest).await.unwrap();
            assert_eq!(
                &skopeo::sha256_digest(&raw),
                digest,
                "{name} stores {digest}"
            );
        }
    }
}

#[tokio::test]
async fn a_signature_an_sbom_and_a_cosign_tag_travel_with_a_promoted_image() {
    let env = environment().await;
    let (image, _) = single_manifest_image(&env, "signed");
    let staged = stage_and_describe(&env, &image).await;
    let (digest, subject) = (staged.digest.clone(), staged.subject());
    let signature = refer(&env, &subject, (SIGNATURE, b"a signature")).await;
    let sbom = refer(&env, &subject, (SBOM, br#"{"spdxVersion":"SPDX-2.3"}"#)).await;
    let staging = env.region("staging");
    let cosign_tag = format!("sha256-{}.sig", digest.trim_start_matches("sha256:"));
    let cosign = push_tagged_artifact(
        (&staging.direct_url(), staging.password()),
        "staging/web",
        &cosign_tag,
        (SIGNATURE, b"a classic cosign signature"),
    )
    .await;
    let out = promote(&env, &[]).await;
    assert!(out.success(), "{out}");
    for name in DESTINATIONS {
        let served = skopeo::manifest_digest(env.region(name), "web", &cosign_tag)
            .await
            .unwrap();
        assert_eq!(served, cosign, "{name}: the cosign tag");
    }
    let expected = vec![
        (signature.clone(), SIGNATURE.to_string()),
        (sbom.clone(), SBOM.to_string()),
    ];
    assert_listed_everywhere(&env, &digest, &expected).await;
    let report = report(&out);
    let mut travelled: Vec<(String, String)> = report["referrers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["tag"].is_null())
        .map(|r| {
            assert_eq!(r["subject"], digest.as_str());
            (
                r["digest"].as_str().unwrap().to_string(),
                r["artifact_type"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    travelled.sort();
    let mut sorted = expected.clone();
    sorted.sort();
    assert_eq!(travelled, sorted);
    let tagged: Vec<&serde_json::Value> = report["referrers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["tag"] == cosign_tag.as_str())
        .collect();
    assert_eq!(tagged.len(), 1);
    assert_eq!(tagged[0]["digest"], cosign.as_str());
    let again = promote(&env, &[]).await;
    assert!(again.success(), "{again}");
    assert_eq!(crate::scenario::report(&again)["bytes_uploaded"], 0);
}

#[tokio::test]
async fn a_referrer_of_an_index_child_travels_with_the_index() {
    let env = environment().await;
    let (image, _) = multi_platform_image(&env, "signed-index");
    stage(&env, &image).await;
    let staging = env.region("staging");
    let raw = skopeo::inspect_raw(staging, "staging/web", "v1")
        .await
        .unwrap();
    let index: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    let child = &index["manifests"][1];
    let child_digest = child["digest"].as_str().unwrap().to_string();
    let subject = Subject {
        media_type: child["mediaType"].as_str().unwrap(),
        digest: &child_digest,
        size: child["size"].as_u64().unwrap(),
    };
    let attestation = refer(&env, &subject, ("application/vnd.in-toto+json", b"{}")).await;
    let keep_ten = r#"{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":10},"action":{"type":"expire"}}]}"#;
    let out = promote(&env, &["--lifecycle-policy", keep_ten]).await;
    assert!(out.success(), "{out}");
    assert_stderr_says(
        &out,
        &["the lifecycle policy of us-east-1, eu-west-1 counts images (imageCountMoreThan)"],
    );
    assert_listed_everywhere(
        &env,
        &child_digest,
        &[(attestation, "application/vnd.in-toto+json".to_string())],
    )
    .await;
}

/// Writes a referrer of the layout's image into the layout as `oras attach` does: its blobs
/// and manifest under `blobs/sha256/`, an `index.json` entry with its `artifactType`.
fn attach_in_layout(dir: &std::path::Path, subject: &Subject<'_>, artifact_type: &str) -> String {
    let write_blob = |bytes: &[u8]| {
        let digest = skopeo::sha256_digest(bytes);
        let path = dir
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"));
        std::fs::write(path, bytes).unwrap();
        digest
    };
    let config = write_blob(b"{}");
    let payload = b"an sbom in a layout";
    let layer = write_blob(payload);
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": artifact_type,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": config, "size": 2},
        "layers": [{"mediaType": "application/octet-stream", "digest": layer, "size": payload.len()}],
        "subject": {"mediaType": subject.media_type, "digest": subject.digest, "size": subject.size},
    });
    let bytes = serde_json::to_vec(&manifest).unwrap();
    let digest = write_blob(&bytes);
    let index_path = dir.join("index.json");
    let mut index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&index_path).unwrap()).unwrap();
    index["manifests"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest,
            "size": bytes.len(),
            "artifactType": artifact_type,
        }));
    std::fs::write(&index_path, serde_json::to_vec(&index).unwrap()).unwrap();
    digest
}

#[tokio::test]
async fn a_referrer_in_an_oci_layout_travels_with_the_image_pushed_from_disk() {
    let env = TestEnv::start(&DESTINATIONS).await;
    let dir = env.path("layout-attached");
    let digest =
        ecr_fanout::image::fixtures::write_single_manifest_layout(&dir, "attached", &[900])
            .unwrap()
            .to_string();
    let manifest_path = dir
        .join("blobs/sha256")
        .join(digest.trim_start_matches("sha256:"));
    let size = std::fs::metadata(&manifest_path).unwrap().len();
    let subject = Subject {
        media_type: "application/vnd.oci.image.manifest.v1+json",
        digest: &digest,
        size,
    };
    let sbom = attach_in_layout(&dir, &subject, SBOM);
    // The layout lists two manifests, but only one image: no :REF is needed.
    let out = push_ok(
        &env,
        &format!("oci:{}", dir.display()),
        "web",
        &["--tags", "v1", "--create-repository"],
    )
    .await;
    assert_eq!(report(&out)["digest"], digest.as_str());
    assert_listed_everywhere(&env, &digest, &[(sbom, SBOM.to_string())]).await;
}

#[tokio::test]
async fn a_cosign_saved_layout_puts_its_signature_tag_in_every_region() {
    let env = TestEnv::start(&DESTINATIONS).await;
    let dir = env.path("cosign-saved");
    let (digest, signature) =
        ecr_fanout::image::fixtures::write_cosign_saved_layout(&dir, "cosign-saved").unwrap();
    let image = format!("oci:{}", dir.display());
    let args = ["--tags", "v1", "--create-repository"];
    let out = push_ok(&env, &image, "web", &args).await;
    assert_eq!(report(&out)["digest"], digest.as_str());
    let tag = format!("sha256-{}.sig", digest.hex());
    for region in env.regions() {
        assert_eq!(
            skopeo::manifest_digest(region, "web", &tag).await.unwrap(),
            signature.as_str(),
            "{}",
            region.name()
        );
    }
    assert_tags_everywhere(&env, "web", &["v1"], digest.as_str()).await;
    assert_eq!(report(&out)["referrers"][0]["tag"], tag.as_str());
    // A re-run finds everything in place.
    let again = push_ok(&env, &image, "web", &args).await;
    for region in report(&again)["regions"].as_array().unwrap() {
        assert_eq!(region["blobs_uploaded"], 0, "{region}");
        assert_eq!(region["manifests_put"], 0, "{region}");
    }
}

#[tokio::test]
async fn an_immutable_cosign_tag_holding_other_bytes_is_left_as_it_is() {
    let env = environment().await;
    let (image, digest) = single_manifest_image(&env, "signed-twice");
    stage(&env, &image).await;
    let staging = env.region("staging");
    let tag = format!("sha256-{}.sig", digest.trim_start_matches("sha256:"));
    let ours = push_tagged_artifact(
        (&staging.direct_url(), staging.password()),
        "staging/web",
        &tag,
        (SIGNATURE, b"the build's signature"),
    )
    .await;
    // us-east-1 signed the image itself, in a repository with immutable tags.
    let first = promote(&env, &["--image-tag-mutability", "IMMUTABLE"]).await;
    assert!(first.success(), "{first}");
    let east = env.region("us-east-1");
    // That region's own signer replaced the tag since (straight in the registry: the tag is
    // immutable for ECR).
    let theirs = push_tagged_artifact(
        (&east.direct_url(), east.password()),
        "web",
        &tag,
        (SIGNATURE, b"us-east-1's own signature"),
    )
    .await;
    let again = promote(&env, &["--image-tag-mutability", "IMMUTABLE"]).await;
    assert!(again.success(), "{again}");
    assert_stderr_says(
        &again,
        &[&format!("the tag {tag} is immutable and holds other bytes")],
    );
    assert_eq!(
        skopeo::manifest_digest(east, "web", &tag).await.unwrap(),
        theirs
    );
    let west = env.region("eu-west-1");
    assert_eq!(
        skopeo::manifest_digest(west, "web", &tag).await.unwrap(),
        ours
    );
}

/// `verify --tags prod --require-referrers KINDS` in both destinations.
async fn verify_requiring(env: &TestEnv, kinds: &str) -> crate::harness::RunOutput {
    let endpoints: Vec<String> = DESTINATIONS
        .iter()
        .map(|r| format!("{r}={}", env.region(r).proxy_url()))
        .collect();
    let mut cmd = ecr_fanout(env);
    cmd.args(["verify", "--json", "--tags", "prod", "--repository", "web"])
        .args(["--regions", &DESTINATIONS.join(",")])
        .args(["--registry-endpoints", &endpoints.join(",")])
        .args(["--require-referrers", kinds]);
    run(cmd).await
}

#[tokio::test]
async fn verify_requires_the_signature_in_every_region() {
    let env = environment().await;
    let (image, _) = single_manifest_image(&env, "drill");
    let staged = stage_and_describe(&env, &image).await;
    let (digest, subject) = (staged.digest.clone(), staged.subject());
    let signature = refer(&env, &subject, (SIGNATURE, b"the signature")).await;
    assert!(promote(&env, &[]).await.success());
    let passed = verify_requiring(&env, "signature").await;
    assert!(passed.success(), "{passed}");
    let missing = verify_requiring(&env, "signature,sbom").await;
    assert_eq!(missing.status, 3, "{missing}");
    assert_stderr_says(
        &missing,
        &[&format!("no sbom referrer of {digest} (require-referrers)")],
    );
    // The signature deleted in eu-west-1 (its link removed from the registry's storage).
    let link = env
        .region("eu-west-1")
        .registry()
        .dir()
        .join("storage/docker/registry/v2/repositories/web/_manifests/revisions/sha256")
        .join(signature.trim_start_matches("sha256:"))
        .join("link");
    std::fs::remove_file(&link).unwrap();
    let drill = verify_requiring(&env, "signature").await;
    assert_eq!(drill.status, 3, "{drill}");
    assert_stderr_says(&drill, &["eu-west-1", "no signature referrer"]);
    let bad = verify_requiring(&env, "signatures").await;
    assert_eq!(bad.status, 2, "{bad}");
    assert_stderr_says(
        &bad,
        &["invalid input `require-referrers`: 'signatures' is not valid"],
    );
}

#[tokio::test]
async fn without_the_referrers_api_the_fallback_tag_gains_the_referrer_and_keeps_the_others() {
    let env = environment().await;
    let (image, _) = single_manifest_image(&env, "fallback");
    let staged = stage_and_describe(&env, &image).await;
    let (digest, subject) = (staged.digest.clone(), staged.subject());
    let signature = refer(&env, &subject, (SIGNATURE, b"the build's signature")).await;
    // us-east-1 answers like a registry without the referrers API, and already has a fallback
    // index listing a signature someone else put there.
    let east = env.region("us-east-1");
    east.control()
        .disable(crate::harness::Emulation::ReferrersApi);
    let direct = east.direct_url();
    let other = push_referrer(
        (&direct, east.password()),
        "web",
        &subject,
        (SIGNATURE, b"another signer's signature"),
    )
    .await;
    let other_raw = skopeo::inspect_raw(east, "web", &other).await.unwrap();
    let tag = format!("sha256-{}", digest.trim_start_matches("sha256:"));
    let existing = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": other,
            "size": other_raw.len(),
            "artifactType": SIGNATURE,
        }],
    });
    let put = reqwest::Client::new()
        .put(format!("{direct}/v2/web/manifests/{tag}"))
        .basic_auth(crate::harness::registry::USER, Some(east.password()))
        .header("content-type", "application/vnd.oci.image.index.v1+json")
        .body(serde_json::to_vec(&existing).unwrap())
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "{}", put.text().await.unwrap());
    let out = promote(&env, &[]).await;
    assert!(out.success(), "{out}");
    let index: serde_json::Value =
        serde_json::from_slice(&skopeo::inspect_raw(east, "web", &tag).await.unwrap()).unwrap();
    let mut listed: Vec<&str> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["digest"].as_str().unwrap())
        .collect();
    listed.sort_unstable();
    let mut expected = [other.as_str(), signature.as_str()];
    expected.sort_unstable();
    assert_eq!(
        listed, expected,
        "us-east-1's fallback index: ours added, theirs kept"
    );
    assert!(
        skopeo::inspect_raw(env.region("eu-west-1"), "web", &tag)
            .await
            .is_err(),
        "eu-west-1 has the referrers API: no fallback tag written there"
    );
    let again = promote(&env, &[]).await;
    assert!(again.success(), "{again}");
}

#[tokio::test]
async fn attestations_as_referrers_give_lambda_a_single_manifest_that_keeps_its_provenance() {
    let env = TestEnv::start(&DESTINATIONS).await;
    let dir = env.path("layout-buildkit");
    let index = ecr_fanout::image::index_fixtures::write_index_layout(
        &dir,
        "buildkit",
        &["linux/amd64"],
        true,
    )
    .unwrap();
    let raw = std::fs::read(dir.join("blobs/sha256").join(index.hex())).unwrap();
    let index_json: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    let platform = index_json["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["platform"]["architecture"] == "amd64")
        .unwrap()["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let out = push_ok(
        &env,
        &format!("oci:{}", dir.display()),
        "web",
        &[
            "--tags",
            "v1",
            "--create-repository",
            "--attestations",
            "referrers",
            "--lambda-compatible",
        ],
    )
    .await;
    assert_eq!(
        report(&out)["digest"],
        platform.as_str(),
        "the platform manifest is the image"
    );
    let attestation = report(&out)["referrers"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    for name in DESTINATIONS {
        let region = env.region(name);
        let served = skopeo::inspect_raw(region, "web", "v1").await.unwrap();
        let served: serde_json::Value = serde_json::from_slice(&served).unwrap();
        assert_eq!(
            served["mediaType"], "application/vnd.oci.image.manifest.v1+json",
            "{name}"
        );
    }
    assert_listed_everywhere(
        &env,
        &platform,
        &[(attestation, "application/vnd.in-toto+json".to_string())],
    )
    .await;
}

#[tokio::test]
async fn a_destination_with_a_signature_of_its_own_passes_and_reports_it() {
    let env = environment().await;
    let (image, _) = single_manifest_image(&env, "own-signature");
    let staged = stage_and_describe(&env, &image).await;
    let subject = staged.subject();
    let travelled = refer(&env, &subject, (SIGNATURE, b"the build's signature")).await;
    // eu-west-1 signs what arrives there itself (as ECR managed signing does).
    let west = env.region("eu-west-1");
    let own = push_referrer(
        (&west.direct_url(), west.password()),
        "web",
        &subject,
        ("application/vnd.cncf.notary.signature", b"eu-west-1's own"),
    )
    .await;
    let summary = env.path("step-summary.md");
    let mut cmd = promote_cmd(&env, &[]);
    cmd.env("GITHUB_STEP_SUMMARY", &summary);
    let out = run(cmd).await;
    assert!(out.success(), "{out}");
    let report = report(&out);
    let listed = |region: &str| -> Vec<(String, bool)> {
        let mut listed: Vec<(String, bool)> =
            crate::repository_support::region_report(&report, region)["referrers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    (
                        r["digest"].as_str().unwrap().to_string(),
                        r["own"].as_bool().unwrap(),
                    )
                })
                .collect();
        listed.sort();
        listed
    };
    let mut west_expected = vec![(travelled.clone(), false), (own, true)];
    west_expected.sort();
    assert_eq!(listed("eu-west-1"), west_expected);
    assert_eq!(listed("us-east-1"), [(travelled, false)]);
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert!(summary.contains("| referrers |"), "{summary}");
    assert!(summary.contains("| 2 (1 its own) |"), "{summary}");
}
