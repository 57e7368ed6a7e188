//! Destinations, not regions: two accounts' registries in one region, two repositories in one
//! registry, a destination reached through an assumed role, per-destination KMS keys, and the
//! outputs keyed by destination id. Results are read back with skopeo from each registry and
//! from moto (repositories per account, AssumeRole calls, which key signed which call).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::action_support::parse_runner_outputs;
use crate::harness::moto::ACCESS_KEY_ID;
use crate::harness::{TestEnv, ecr_fanout, run, skopeo};
use crate::scenario::*;

/// The default chain's account (moto's), and the disaster-recovery account reached by a role.
const PROD: &str = "123456789012";
const DR: &str = "222222222222";

/// `ecr-fanout push --json` of `image` to the `targets` YAML, with `endpoints`, writing the
/// GitHub outputs and a dotenv file into the env's directory.
async fn push_targets(
    env: &TestEnv,
    image: &str,
    targets: &str,
    extra: &[&str],
) -> crate::harness::RunOutput {
    let outputs = env.work_dir().join("github-output");
    let mut cmd = ecr_fanout(env);
    cmd.env("GITHUB_OUTPUT", &outputs)
        .args(["push", "--json", "--image", image, "--tags", "v1"])
        .args(["--targets", targets, "--repository", "web"])
        .args(["--registry-endpoints", &env.registry_endpoints_arg()])
        .args(["--dotenv-file", "outputs.env"])
        .args(extra);
    run(cmd).await
}

fn runner_outputs(env: &TestEnv) -> BTreeMap<String, String> {
    parse_runner_outputs(&std::fs::read_to_string(env.work_dir().join("github-output")).unwrap())
}

fn dotenv(env: &TestEnv) -> String {
    std::fs::read_to_string(env.work_dir().join("outputs.env")).unwrap()
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

#[tokio::test]
async fn two_accounts_in_one_region_each_get_the_image_under_their_own_id() {
    // The second account's registry is reached as most teams reach it: through a role there
    // (registry-id defaults to the role's account).
    let env = TestEnv::start_named(&[("prod", "us-east-1"), ("dr", "us-east-1")]).await;
    let (image, digest) = single_manifest_image(&env, "two-accounts");
    let targets = format!(
        "- {{id: prod, region: us-east-1}}\n\
         - {{id: dr, region: us-east-1, role-arn: 'arn:aws:iam::{DR}:role/dr-push'}}\n"
    );
    let out = push_targets(&env, &image, &targets, &["--create-repository"]).await;
    assert!(out.success(), "{out}");
    for (id, account) in [("prod", PROD), ("dr", DR)] {
        let served = skopeo::manifest_digest(env.region(id), "web", "v1")
            .await
            .unwrap();
        assert_eq!(served, digest, "{id}");
        assert_eq!(
            env.moto()
                .list_repositories_of("us-east-1", account)
                .await
                .unwrap(),
            ["web"],
            "{id}'s repository is in account {account}"
        );
    }
    let report = report(&out);
    let uri = |account: &str| format!("{account}.dkr.ecr.us-east-1.amazonaws.com/web@{digest}");
    assert_eq!(report["images"], json!({"prod": uri(PROD), "dr": uri(DR)}));
    for (i, (id, account)) in [("prod", PROD), ("dr", DR)].into_iter().enumerate() {
        let region = &report["regions"][i];
        assert_eq!(
            (&region["id"], &region["region"], &region["registry_id"]),
            (&json!(id), &json!("us-east-1"), &json!(account))
        );
        assert_eq!(report["destinations"][i]["image"], json!(uri(account)));
        assert_eq!(report["destinations"][i]["status"], "pushed");
    }
    assert_eq!(report["convergence"]["v1"]["state"], "converged");
    let outputs = runner_outputs(&env);
    assert_eq!(outputs["image-prod"], uri(PROD));
    assert_eq!(outputs["image-dr"], uri(DR));
    assert_eq!(json_of(&outputs["regions"]), json!(["us-east-1"]));
    assert_eq!(json_of(&outputs["destinations"]), report["destinations"]);
    let dotenv = dotenv(&env);
    assert!(
        dotenv.contains(&format!("ECR_FANOUT_IMAGE_PROD={}", uri(PROD)))
            && dotenv.contains(&format!("ECR_FANOUT_IMAGE_DR={}", uri(DR)))
            && dotenv.contains("ECR_FANOUT_REGIONS=us-east-1\n"),
        "{dotenv}"
    );
}

#[tokio::test]
async fn two_repositories_in_one_registry_share_its_endpoint_by_region() {
    let env = TestEnv::start(&["us-east-1"]).await;
    let (image, digest) = single_manifest_image(&env, "two-repositories");
    let targets =
        "- {id: web, region: us-east-1}\n- {id: api, region: us-east-1, repository: api}\n";
    let out = push_targets(&env, &image, targets, &["--create-repository"]).await;
    assert!(out.success(), "{out}");
    let registry = env.region("us-east-1");
    for repository in ["web", "api"] {
        let served = skopeo::manifest_digest(registry, repository, "v1")
            .await
            .unwrap();
        assert_eq!(served, digest, "{repository}");
    }
    let outputs = runner_outputs(&env);
    assert_eq!(
        outputs["image-web"],
        pinned_uri("us-east-1", "web", &digest)
    );
    assert_eq!(
        outputs["image-api"],
        pinned_uri("us-east-1", "api", &digest)
    );
}

#[tokio::test]
async fn a_role_signs_only_its_own_destinations_calls_and_its_secrets_never_show() {
    let env = TestEnv::start(&["us-east-1", "eu-west-1"]).await;
    let (image, digest) = single_manifest_image(&env, "assumed-role");
    let targets = "- region: us-east-1\n- region: eu-west-1\n  role-arn: \
                   arn:aws:iam::123456789012:role/dr-push\n  external-id: ScanMeExternalId-7f3a\n";
    let before = env.moto().calls().len();
    let out = {
        let mut cmd = ecr_fanout(&env);
        cmd.env("GITHUB_ACTIONS", "true")
            .env("GITHUB_RUN_ID", "4242")
            .args(["-vv", "push", "--json", "--image", &image, "--tags", "v1"])
            .args([
                "--targets",
                targets,
                "--repository",
                "web",
                "--create-repository",
            ])
            .args(["--registry-endpoints", &env.registry_endpoints_arg()]);
        run(cmd).await
    };
    assert!(out.success(), "{out}");
    assert_tags_everywhere(&env, "web", &["v1"], &digest).await;
    let calls: Vec<_> = env.moto().calls().split_off(before);
    let assumed: Vec<_> = calls.iter().filter(|c| c.action == "AssumeRole").collect();
    assert_eq!(assumed.len(), 1, "one AssumeRole for the run: {calls:?}");
    let ecr_calls = |region: &str| -> Vec<Option<String>> {
        calls
            .iter()
            .filter(|c| c.action != "AssumeRole" && c.region.as_deref() == Some(region))
            .map(|c| c.access_key.clone())
            .collect()
    };
    let east = ecr_calls("us-east-1");
    let west = ecr_calls("eu-west-1");
    assert!(!east.is_empty() && !west.is_empty(), "{calls:?}");
    assert!(
        east.iter().all(|k| k.as_deref() == Some(ACCESS_KEY_ID)),
        "us-east-1 uses the default chain's key: {east:?}"
    );
    assert!(
        west.iter()
            .all(|k| k.as_deref().is_some_and(|k| k != ACCESS_KEY_ID)),
        "eu-west-1 uses the assumed role's key: {west:?}"
    );
    let mut secrets = env.moto().issued_secrets();
    assert_eq!(secrets.len(), 2, "a secret key and a session token");
    secrets.push("ScanMeExternalId-7f3a".to_string());
    for secret in &secrets {
        for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            for line in text.lines() {
                let mask = line == format!("::add-mask::{secret}");
                assert!(
                    (mask && stream == "stderr") || !line.contains(secret.as_str()),
                    "{stream} shows an assumed-role secret: {line}"
                );
            }
        }
        assert!(
            out.stderr.contains(&format!("::add-mask::{secret}")),
            "no mask for an assumed-role secret {secret}:\n{}",
            out.stderr
                .lines()
                .filter(|l| l.starts_with("::add-mask"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

#[tokio::test]
async fn each_destination_creates_its_repository_with_its_own_kms_key() {
    let env = TestEnv::start(&["us-east-1", "eu-west-1"]).await;
    let (image, _) = single_manifest_image(&env, "kms-keys");
    let key = |region: &str| format!("arn:aws:kms:{region}:123456789012:key/{region}-key");
    let targets = format!(
        "- {{region: us-east-1, kms-key: '{}'}}\n- {{region: eu-west-1, kms-key: '{}'}}\n",
        key("us-east-1"),
        key("eu-west-1")
    );
    let out = push_targets(
        &env,
        &image,
        &targets,
        &["--create-repository", "--encryption-type", "KMS"],
    )
    .await;
    assert!(out.success(), "{out}");
    for region in ["us-east-1", "eu-west-1"] {
        let found = env
            .moto()
            .kms_key_of(region, "123456789012", "web")
            .await
            .unwrap();
        assert_eq!(found, Some(key(region)), "{region}");
    }
}

#[tokio::test]
async fn destinations_that_cannot_be_told_apart_are_exit_2_and_nothing_is_written() {
    let env = TestEnv::start(&["us-east-1"]).await;
    let (image, _) = single_manifest_image(&env, "ids");
    for (targets, expected) in [
        (
            "[{region: us-east-1, registry-id: '111111111111'}, {id: dr, region: us-east-1}]",
            "error: invalid input `targets`: region us-east-1 holds 2 destinations; give each \
             of them an `id`",
        ),
        (
            "[{id: a, region: us-east-1}, {id: a, region: us-east-1, repository: api}]",
            "error: invalid input `targets`: id 'a' names two destinations; give each its own",
        ),
        (
            "[{id: a, region: us-east-1}, {id: b, region: us-east-1}]",
            "error: invalid input `targets`: destinations a and b are the same repository",
        ),
    ] {
        let out = push_targets(&env, &image, targets, &["--create-repository"]).await;
        assert_eq!(out.status, 2, "{out}");
        assert!(out.stderr.contains(expected), "{out}");
    }
    assert_nothing_written(&env).await;
}
