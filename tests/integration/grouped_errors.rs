//! Many regions failing alike make one short first line: a repository missing in 15 regions
//! is said once, with the list of regions and the hint, under 300 characters; a region that
//! failed for another reason gets its own line after it.

use crate::harness::TestEnv;
use crate::scenario::*;

const FIFTEEN: [&str; 15] = [
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-north-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-south-1",
    "sa-east-1",
];

/// The lines of the final error: from `error:` to the end of stderr.
fn error_lines(stderr: &str) -> Vec<&str> {
    let lines: Vec<&str> = stderr.lines().collect();
    let start = lines
        .iter()
        .rposition(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line in\n{stderr}"));
    lines[start..].to_vec()
}

#[tokio::test]
async fn a_repository_missing_in_fifteen_regions_is_one_line() {
    let env = TestEnv::start(&FIFTEEN).await;
    let (image, _) = single_manifest_image(&env, "grouped");
    let out = push(&env, &image, "team-a/web", &["--tags", "v1"]).await;
    assert_eq!(out.status, 2, "{out}");
    let lines = error_lines(&out.stderr);
    let first = lines[0];
    assert!(
        first.starts_with(
            "error: repository team-a/web does not exist in 15 regions: us-east-1, us-east-2, "
        ) && first.ends_with("; hint: set create-repository: true, or create it"),
        "{first}"
    );
    assert!(first.len() < 300, "{} characters: {first}", first.len());
    assert_eq!(first.matches("does not exist").count(), 1, "{first}");
    assert_eq!(
        lines[1..],
        ["  nothing was pushed or tagged in any region"],
        "{out}"
    );
    let report = report(&out);
    let refused = report["regions"].as_array().unwrap();
    assert_eq!(refused.len(), 15);
    for region in refused {
        assert!(
            region["error"].as_str().unwrap().contains("does not exist"),
            "{region}"
        );
    }
    assert_nothing_written(&env).await;
}

#[tokio::test]
async fn another_cause_gets_a_line_of_its_own() {
    let env = TestEnv::start(&REGIONS).await;
    let (image, old) = single_manifest_image(&env, "grouped-old");
    let immutable = [
        "--tags",
        "v1",
        "--create-repository",
        "--image-tag-mutability",
        "IMMUTABLE",
    ];
    push_ok(&env, &image, "web", &immutable).await;
    env.moto()
        .ecr_client("us-east-1")
        .delete_repository()
        .repository_name("web")
        .force(true)
        .send()
        .await
        .unwrap();
    let (other_image, new) = multi_platform_image(&env, "grouped-new");
    let out = push(&env, &other_image, "web", &["--tags", "v1"]).await;
    assert_eq!(out.status, 2, "{out}");
    let lines = error_lines(&out.stderr);
    assert_eq!(lines.len(), 4, "{out}");
    let immutable_in_two = format!(
        "error: repository web: tag v1 is immutable (mode IMMUTABLE) and already points at \
         {old}; this image is {new} in 2 regions: eu-west-1, ap-southeast-2"
    );
    assert_eq!(lines[0], immutable_in_two, "{out}");
    assert!(lines[0].len() < 300, "{} characters", lines[0].len());
    assert_eq!(lines[1], "  hint: use a new tag, such as the commit SHA");
    assert!(
        lines[2].starts_with("  region us-east-1: repository web does not exist (hint: "),
        "{out}"
    );
    assert_eq!(lines[3], "  nothing was pushed or tagged in any region");
    assert_tags_everywhere_but(&env, "us-east-1", &old).await;
}

/// `v1` still points at `digest` in every region except `skipped`.
async fn assert_tags_everywhere_but(env: &TestEnv, skipped: &str, digest: &str) {
    for region in env.regions().iter().filter(|r| r.name() != skipped) {
        let served = crate::harness::skopeo::manifest_digest(region, "web", "v1")
            .await
            .unwrap();
        assert_eq!(served, digest, "{}", region.name());
    }
}
