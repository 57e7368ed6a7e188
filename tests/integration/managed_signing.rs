//! ECR managed signing end to end, with the signing stand-in in front of moto: the binary reads
//! each region's signing configuration at plan time and, where a rule signs the repository,
//! waits for ECR's signature before verification and the tags. Tags are read back with skopeo
//! straight from the registries: none moves while a signature is missing somewhere.

use std::time::Duration;

use crate::harness::running::Running;
use crate::harness::signing_stand_in::{RegionSigning, SigningAnswer, SigningStandIn, profile_arn};
use crate::harness::{TestEnv, skopeo};
use crate::scenario::*;

fn signing(env: &TestEnv) -> &SigningStandIn {
    env.moto().signing()
}

/// The arguments of every push here: tag `v1`, repositories created.
const PUSH: [&str; 3] = ["--tags", "v1", "--create-repository"];

/// `region`'s registry signs repositories matching `filters` (none: all) with one profile,
/// answering status reads with `reads` (the last repeats); the profile's ARN.
fn signs(env: &TestEnv, region: &str, filters: &[&str], reads: Vec<SigningAnswer>) -> String {
    let profile = profile_arn(region, "release");
    let filters = filters.iter().map(|f| f.to_string()).collect();
    signing(env).set_region(
        region,
        RegionSigning {
            rules: vec![(profile.clone(), filters)],
            reads,
        },
    );
    profile
}

/// No registry has a tag in `repository`.
async fn assert_no_tag_anywhere(env: &TestEnv, repository: &str) {
    for region in env.regions() {
        let tags = skopeo::tags(region, repository).await.unwrap_or_default();
        assert!(tags.is_empty(), "{} has tags {tags:?}", region.name());
    }
}

#[tokio::test]
async fn tags_move_only_after_the_signing_region_reports_its_signature_complete() {
    let env = TestEnv::start(&REGIONS).await;
    let (image, digest) = single_manifest_image(&env, "signed-eu");
    let profile = profile_arn("eu-west-1", "release");
    signing(&env).set_region("eu-west-1", RegionSigning::completing_after(&profile, 2));
    let out = push_ok(&env, &image, "web", &PUSH).await;
    assert_tags_everywhere(&env, "web", &["v1"], &digest).await;
    // Two reads in progress, the third complete: the run waited for it.
    assert_eq!(signing(&env).reads("eu-west-1"), 3);
    assert_eq!(signing(&env).reads("us-east-1"), 0);
    let report = report(&out);
    let eu = &report["regions"][1];
    assert_eq!(eu["region"], "eu-west-1");
    assert_eq!(eu["signing"]["state"], "complete");
    assert_eq!(eu["signing"]["profiles"], serde_json::json!([profile]));
    assert!(report["regions"][0].get("signing").is_none(), "{report}");
    // Every signing call was answered by the stand-in (moto has none).
    let calls: Vec<_> = env
        .moto()
        .calls()
        .into_iter()
        .filter(|c| c.action.contains("Signing"))
        .collect();
    assert_eq!(
        calls
            .iter()
            .filter(|c| c.action == "GetSigningConfiguration")
            .count(),
        3
    );
    assert!(
        calls.iter().all(|c| c.stand_in && c.status < 500),
        "{calls:?}"
    );
}

#[tokio::test]
async fn a_signature_that_never_completes_fails_within_the_timeout_and_no_tag_moves() {
    let env = TestEnv::start(&REGIONS).await;
    let (image, digest) = single_manifest_image(&env, "signing-stuck");
    let reads = vec![SigningAnswer::NotStarted, SigningAnswer::InProgress];
    let profile = signs(&env, "ap-southeast-2", &["web"], reads);
    let args = [&PUSH[..], &["--signing-timeout", "3"]].concat();
    let out = push(&env, &image, "web", &args).await;
    assert_eq!(out.status, 1, "{out}");
    assert_stderr_says(
        &out,
        &[
            "region ap-southeast-2",
            &format!("ECR managed signing of {digest} did not finish within 3s"),
            &format!("waiting for {profile}"),
            "no tag was moved in any region",
        ],
    );
    assert_no_tag_anywhere(&env, "web").await;
    let report = report(&out);
    assert_eq!(report["regions"][2]["signing"]["state"], "timed-out");
    assert_eq!(report["regions"][2]["status"], "failed");
}

#[tokio::test]
async fn a_failed_signing_names_the_destination_and_its_reason_and_no_tag_moves() {
    let env = TestEnv::start(&REGIONS).await;
    let (image, _digest) = single_manifest_image(&env, "signing-failed");
    let reads = vec![
        SigningAnswer::InProgress,
        SigningAnswer::Failed("SIGNING_PROFILE_REVOKED", "the signing profile was revoked"),
    ];
    let profile = signs(&env, "us-east-1", &[], reads);
    let out = push(&env, &image, "web", &PUSH).await;
    assert_eq!(out.status, 1, "{out}");
    assert_stderr_says(
        &out,
        &[
            "region us-east-1",
            &format!("profile {profile}: SIGNING_PROFILE_REVOKED: the signing profile was revoked"),
            "no tag was moved in any region",
        ],
    );
    assert_no_tag_anywhere(&env, "web").await;
    let signing_report = &report(&out)["regions"][0]["signing"];
    assert_eq!(signing_report["state"], "failed");
}

#[tokio::test]
async fn a_rule_for_other_repositories_is_not_waited_for() {
    let env = TestEnv::start(&REGIONS[..1]).await;
    let (image, digest) = single_manifest_image(&env, "signing-other");
    signs(
        &env,
        "us-east-1",
        &["team/*", "*prod*"],
        vec![SigningAnswer::InProgress],
    );
    let out = push_ok(&env, &image, "web", &PUSH).await;
    assert_tags_everywhere(&env, "web", &["v1"], &digest).await;
    assert_eq!(signing(&env).reads("us-east-1"), 0);
    assert!(report(&out)["regions"][0].get("signing").is_none());
}

#[tokio::test]
async fn sigterm_while_waiting_for_a_signature_moves_no_tag() {
    let env = TestEnv::start(&REGIONS[..2]).await;
    let (image, digest) = single_manifest_image(&env, "signing-cancel");
    signs(&env, "eu-west-1", &[], vec![SigningAnswer::InProgress]);
    let run = Running::start(push_command(&env, &image, "web", &PUSH));
    // The wait's first progress line: phase 1 is over and the run is polling.
    run.wait_for_stderr("ECR managed signing: ", Duration::from_secs(120))
        .await;
    run.signal(libc::SIGTERM);
    let out = run.finish(Duration::from_secs(20)).await;
    assert_eq!(out.status, 1, "{out}");
    assert_stderr_says(
        &out,
        &["cancelled while waiting for ECR managed signing; no tag was moved in any region"],
    );
    assert_no_tag_anywhere(&env, "web").await;
    // The image itself is stored by digest everywhere; a re-run finds it.
    for region in env.regions() {
        assert!(skopeo::inspect_raw(region, "web", &digest).await.is_ok());
    }
}
