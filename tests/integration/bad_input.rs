//! Bad inputs: each exits 2 with one error line naming the input, and nothing is written to
//! any registry or to ECR (moto), even with `--create-repository`. A missing repository is
//! exit 2 too, also when another region fails to plan for another reason.

use crate::harness::{TestEnv, ecr_fanout, run};
use crate::scenario::*;

/// Runs push with `args` replacing the defaults of the same flag; asserts exit 2, an error
/// line naming `input`, and that nothing was written anywhere.
async fn assert_rejected(
    env: &TestEnv,
    image: &str,
    input: &str,
    overrides: &[(&str, &str)],
    removed: &[&str],
) {
    let regions: Vec<&str> = env.regions().iter().map(|r| r.name()).collect();
    let joined = regions.join(",");
    let endpoints = env.registry_endpoints_arg();
    let mut args: Vec<(&str, String)> = vec![
        ("--image", image.to_string()),
        ("--regions", joined),
        ("--repository", "web".to_string()),
        ("--tags", "v1".to_string()),
        ("--registry-endpoints", endpoints),
    ];
    args.retain(|(flag, _)| !removed.contains(flag) && !overrides.iter().any(|(f, _)| f == flag));
    args.extend(overrides.iter().map(|(f, v)| (*f, v.to_string())));
    let mut cmd = ecr_fanout(env);
    cmd.args(["push", "--create-repository"]);
    for (flag, value) in &args {
        cmd.arg(flag).arg(value);
    }
    let out = run(cmd).await;
    assert_eq!(out.status, 2, "{input}: {out}");
    let last = out.stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(&format!("error: invalid input `{input}`")),
        "{input}: last stderr line is {last:?}\n{out}"
    );
    assert!(out.stdout.is_empty(), "{input}: stdout {:?}", out.stdout);
    assert_nothing_written(env).await;
}

/// The input that must be named, flags to set, flags to leave out.
type BadInputCase<'a> = (&'a str, Vec<(&'a str, &'a str)>, Vec<&'a str>);

#[tokio::test]
async fn every_bad_input_exits_2_and_writes_nothing() {
    let env = TestEnv::start(&REGIONS).await;
    let broken_layout = env.path("not-a-layout");
    std::fs::create_dir_all(&broken_layout).unwrap();
    let broken = format!("oci:{}", broken_layout.display());
    let missing = format!("oci:{}", env.path("does-not-exist").display());
    let cases: Vec<BadInputCase> = vec![
        ("tags", vec![("--tags", "v1,-bad")], vec![]),
        ("tags", vec![], vec!["--tags"]),
        ("repository", vec![("--repository", "Web_App")], vec![]),
        ("repository", vec![], vec!["--repository"]),
        (
            "regions",
            vec![("--regions", "us-east-1,moon-base-1a")],
            vec!["--registry-endpoints"],
        ),
        (
            "regions",
            vec![("--regions", "us-east-1,eu-west-1,us-east-1")],
            vec!["--registry-endpoints"],
        ),
        ("regions", vec![], vec!["--regions", "--registry-endpoints"]),
        ("image", vec![("--image", missing.as_str())], vec![]),
        ("image", vec![("--image", broken.as_str())], vec![]),
        ("image", vec![("--image", "tarball:/tmp/x")], vec![]),
        (
            "registry-endpoints",
            vec![("--registry-endpoints", "sa-east-1=http://127.0.0.1:1")],
            vec![],
        ),
        ("concurrency", vec![("--concurrency", "0")], vec![]),
        ("registry-id", vec![("--registry-id", "12345")], vec![]),
        ("dry-run", vec![("--dry-run", "maybe")], vec![]),
        ("lock-table", vec![("--lock-table", "x")], vec![]),
        (
            "lock-lease",
            vec![("--lock-table", "locks"), ("--lock-lease", "1")],
            vec![],
        ),
        ("lock-timeout", vec![("--lock-timeout", "soon")], vec![]),
        ("lock-region", vec![("--lock-region", "moon-1")], vec![]),
        (
            "lock-on-unavailable",
            vec![("--lock-on-unavailable", "wait")],
            vec![],
        ),
        ("tag-order", vec![("--tag-order", "older")], vec![]),
    ];
    let (image, _) = single_manifest_image(&env, "bad-input");
    for (input, overrides, removed) in &cases {
        assert_rejected(&env, &image, input, overrides, removed).await;
    }
}

#[tokio::test]
async fn missing_repository_without_create_is_refused_before_any_write() {
    let env = TestEnv::start(&REGIONS).await;
    for region in &REGIONS[..2] {
        env.create_repository(region, "web").await;
    }
    let (image, _) = single_manifest_image(&env, "missing-repo");
    let out = push(&env, &image, "web", &["--tags", "v1"]).await;
    assert_eq!(out.status, 2, "{out}");
    assert_stderr_says(
        &out,
        &["region ap-southeast-2: repository web does not exist (hint: "],
    );
    for region in env.regions() {
        let catalog = crate::harness::skopeo::catalog(region).await.unwrap();
        assert!(catalog.is_empty(), "{}: {catalog:?}", region.name());
    }
}

/// Regions failing in different ways: a missing repository (exit 2 alone) and a region whose
/// registry refuses the login (exit 1 alone). Bad configuration wins: exit 2, and the error
/// names both regions' problems, so one run shows everything to fix.
#[tokio::test]
async fn a_missing_repository_wins_over_a_region_that_cannot_be_planned() {
    let env = TestEnv::start(&REGIONS).await;
    for region in ["us-east-1", "eu-west-1"] {
        env.create_repository(region, "web").await;
    }
    let unreadable = env.region("eu-west-1");
    unreadable.control().expire_password(unreadable.password());
    let (image, _) = single_manifest_image(&env, "mixed-plan");
    let out = push(&env, &image, "web", &["--tags", "v1"]).await;
    assert_eq!(out.status, 2, "{out}");
    let error = out
        .stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| panic!("no error line: {out}"));
    assert!(
        error.contains(
            "region ap-southeast-2: repository web does not exist (hint: set \
             create-repository: true, or create it)"
        ),
        "{out}"
    );
    assert!(error.contains("region eu-west-1, repository web"), "{out}");
    let report = report(&out);
    let region = |name| crate::repository_support::region_report(&report, name);
    assert_eq!(region("us-east-1")["status"], "planned");
    assert_eq!(region("us-east-1")["error"], serde_json::Value::Null);
    assert_eq!(region("eu-west-1")["status"], "failed");
    assert_eq!(
        region("ap-southeast-2")["error"],
        "region ap-southeast-2: repository web does not exist (hint: set create-repository: \
         true, or create it)"
    );
    assert_nothing_pushed(&env).await;
}

/// No registry holds any image (repositories created in moto up front stay empty).
async fn assert_nothing_pushed(env: &TestEnv) {
    for region in env.regions() {
        let catalog = crate::harness::skopeo::catalog(region).await.unwrap();
        assert!(catalog.is_empty(), "{}: {catalog:?}", region.name());
    }
}
