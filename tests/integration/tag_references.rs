//! `tags` as docker/metadata-action writes them: full references, one per line. References
//! naming a destination of the run (its ECR host or its registry endpoint, and its repository)
//! give their tag in every region; references to other registries (GHCR) are ignored with one
//! warning; when none names a destination the run is refused (exit 2) and nothing is written.

use crate::harness::TestEnv;
use crate::scenario::*;

#[tokio::test]
async fn metadata_action_references_give_their_tags_and_ghcr_is_ignored() {
    let env = TestEnv::start(&REGIONS[..2]).await;
    let (image, digest) = single_manifest_image(&env, "meta");
    let west_endpoint = env.region("eu-west-1").proxy_host();
    let tags = [
        "ghcr.io/acme/web:sha-1a2b3c".to_string(),
        format!("{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/web:sha-1a2b3c"),
        format!("{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/web:main"),
        format!("{west_endpoint}/web:latest"),
        "ghcr.io/acme/web:main".to_string(),
        "web:stable".to_string(),
    ]
    .join("\n");
    let out = push_ok(
        &env,
        &image,
        "web",
        &["--tags", &tags, "--create-repository"],
    )
    .await;
    let expected = ["sha-1a2b3c", "main", "latest", "stable"];
    assert_eq!(report(&out)["tags"], serde_json::json!(expected));
    assert_tags_everywhere(&env, "web", &expected, &digest).await;
    let warnings: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("naming no destination"))
        .collect();
    assert_eq!(warnings.len(), 1, "{out}");
    assert!(warnings[0].contains("WARN"), "{}", warnings[0]);
    assert!(
        warnings[0].contains("ignored 2 reference(s)")
            && warnings[0].contains("ghcr.io/acme/web:sha-1a2b3c"),
        "{}",
        warnings[0]
    );
}

#[tokio::test]
async fn references_that_name_no_destination_are_refused_and_nothing_is_written() {
    let env = TestEnv::start(&REGIONS[..2]).await;
    let (image, _) = single_manifest_image(&env, "meta-none");
    let tags = format!(
        "ghcr.io/acme/web:v1\n{ACCOUNT}.dkr.ecr.us-west-2.amazonaws.com/web:v1\n\
         {ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/api:v1"
    );
    let out = push(
        &env,
        &image,
        "web",
        &["--tags", &tags, "--create-repository"],
    )
    .await;
    assert_eq!(out.status, 2, "{out}");
    let last = out.stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: invalid input `tags`: no reference names a destination")
            && last.contains("ghcr.io/acme/web:v1")
            && last.contains("/web in us-east-1, eu-west-1"),
        "{out}"
    );
    assert_eq!(out.stderr.lines().count(), 1, "{out}");
    assert!(out.stdout.is_empty(), "{out}");
    assert_nothing_written(&env).await;
}
