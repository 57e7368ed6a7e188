//! `lifecycle-policy` and `repository-policy`: applied to every region's repository, read back
//! from moto; an unchanged re-run writes nothing (moto's call counter); a policy changed by
//! hand in one region shows up in the dry-run plan with a short diff and is put back, there
//! only; a malformed policy exits 2 before any request reaches ECR.

use crate::harness::{TestEnv, ecr_fanout, run};
use crate::repository_support::*;
use crate::scenario::*;

#[tokio::test]
async fn policies_are_applied_everywhere_kept_and_repaired_where_they_drift() {
    let env = TestEnv::start(&REGIONS).await;
    let (image, _) = single_manifest_image(&env, "policies");
    let (lifecycle_path, lifecycle_file) = work_file(&env, "lifecycle.json");
    std::fs::write(&lifecycle_path, LIFECYCLE).unwrap();
    let args = [
        "--tags",
        "v1",
        "--create-repository",
        "--lifecycle-policy",
        &lifecycle_file,
        "--repository-policy",
        REPOSITORY_POLICY,
    ];
    let out = push_ok(&env, &image, "web", &args).await;
    let first = report(&out);
    for region in REGIONS {
        let changes = &region_report(&first, region)["repository_changes"];
        assert_eq!(changes["lifecycle_policy"]["action"], "create", "{region}");
        assert_eq!(changes["repository_policy"]["action"], "create", "{region}");
        let lifecycle = lifecycle_policy_in(&env, region, "web").await;
        assert_eq!(lifecycle, Some(json(LIFECYCLE)), "{region}");
        let policy = repository_policy_in(&env, region, "web").await;
        assert_eq!(policy, Some(json(REPOSITORY_POLICY)), "{region}");
    }
    assert_eq!(env.moto().count_calls("PutLifecyclePolicy"), 3);
    assert_eq!(env.moto().count_calls("SetRepositoryPolicy"), 3);

    env.moto().reset_calls();
    let again = push_ok(&env, &image, "web", &args).await;
    let second = report(&again);
    for region in REGIONS {
        let changes = &region_report(&second, region)["repository_changes"];
        assert_eq!(
            changes["lifecycle_policy"]["action"], "unchanged",
            "{region}"
        );
        assert_eq!(
            changes["repository_policy"]["action"], "unchanged",
            "{region}"
        );
    }
    assert_eq!(write_calls(&env), Vec::<String>::new());
    assert_eq!(env.moto().count_calls("GetLifecyclePolicy"), 3);
    assert_eq!(env.moto().count_calls("GetRepositoryPolicy"), 3);

    drift_by_hand(&env).await;
    env.moto().reset_calls();
    let planned = push_ok(&env, &image, "web", &[&args[..], &["--dry-run"]].concat()).await;
    let plan = report(&planned);
    let eu = &region_report(&plan, "eu-west-1")["repository_changes"];
    assert_eq!(eu["lifecycle_policy"]["action"], "update");
    assert_eq!(
        eu["lifecycle_policy"]["diff"],
        serde_json::json!(["~ rules[0].selection.countNumber: 10 → 5"])
    );
    assert_eq!(eu["repository_policy"]["action"], "unchanged");
    let ap = &region_report(&plan, "ap-southeast-2")["repository_changes"];
    assert_eq!(ap["lifecycle_policy"]["action"], "unchanged");
    assert_eq!(ap["repository_policy"]["action"], "create");
    let us = &region_report(&plan, "us-east-1")["repository_changes"];
    assert_eq!(us["lifecycle_policy"]["action"], "unchanged");
    assert_eq!(us["repository_policy"]["action"], "unchanged");
    assert_eq!(write_calls(&env), Vec::<String>::new(), "the dry run wrote");

    let text = dry_run_text(&env, &image, &args).await;
    assert!(
        text.contains(
            "  lifecycle policy: would change\n    ~ rules[0].selection.countNumber: 10 → 5\n"
        ) && text.contains("  repository policy: would be set (there is none)\n"),
        "{text}"
    );

    env.moto().reset_calls();
    push_ok(&env, &image, "web", &args).await;
    let mut writes = write_calls(&env);
    writes.sort();
    assert_eq!(
        writes,
        [
            "ap-southeast-2 SetRepositoryPolicy",
            "eu-west-1 PutLifecyclePolicy"
        ]
    );
    for region in REGIONS {
        let lifecycle = lifecycle_policy_in(&env, region, "web").await;
        assert_eq!(lifecycle, Some(json(LIFECYCLE)), "{region}");
        let policy = repository_policy_in(&env, region, "web").await;
        assert_eq!(policy, Some(json(REPOSITORY_POLICY)), "{region}");
    }
}

/// Someone keeps 10 images in eu-west-1 and removes the repository policy in ap-southeast-2.
async fn drift_by_hand(env: &TestEnv) {
    let keep_ten = LIFECYCLE.replace("\"countNumber\": 5", "\"countNumber\": 10");
    assert_ne!(keep_ten, LIFECYCLE);
    env.moto()
        .ecr_client("eu-west-1")
        .put_lifecycle_policy()
        .repository_name("web")
        .lifecycle_policy_text(keep_ten)
        .send()
        .await
        .expect("moto PutLifecyclePolicy");
    env.moto()
        .ecr_client("ap-southeast-2")
        .delete_repository_policy()
        .repository_name("web")
        .send()
        .await
        .expect("moto DeleteRepositoryPolicy");
}

/// The plain-text dry-run plan.
async fn dry_run_text(env: &TestEnv, image: &str, args: &[&str]) -> String {
    let regions: Vec<&str> = env.regions().iter().map(|r| r.name()).collect();
    let mut cmd = ecr_fanout(env);
    cmd.args(["push", "--dry-run", "--image", image, "--repository", "web"])
        .args(["--regions", &regions.join(",")])
        .args(["--registry-endpoints", &env.registry_endpoints_arg()])
        .args(args);
    let out = run(cmd).await;
    assert!(out.success(), "{out}");
    out.stdout
}

#[tokio::test]
async fn each_malformed_policy_exits_2_before_any_request() {
    let env = TestEnv::start(&REGIONS[..2]).await;
    let (image, _) = single_manifest_image(&env, "malformed");
    let (missing_path, missing) = work_file(&env, "no-such-policy.json");
    assert!(!missing_path.exists());
    let priorities = LIFECYCLE.replace(
        "]\n}",
        ",{\"rulePriority\": 1, \"selection\": {\"tagStatus\": \"untagged\", \"countType\": \
         \"imageCountMoreThan\", \"countNumber\": 1}, \"action\": {\"type\": \"expire\"}}]}",
    );
    let count_unit = LIFECYCLE.replace(
        "\"countNumber\": 5",
        "\"countNumber\": 5, \"countUnit\": \"days\"",
    );
    let prefix_untagged = LIFECYCLE.replace(
        "\"tagStatus\": \"any\"",
        "\"tagStatus\": \"untagged\", \"tagPrefixList\": [\"v\"]",
    );
    let cases: Vec<(&str, &str, &str)> = vec![
        ("--lifecycle-policy", "{\"rules\": [", "is not valid JSON"),
        (
            "--lifecycle-policy",
            &priorities,
            "both have rulePriority 1",
        ),
        (
            "--lifecycle-policy",
            &count_unit,
            "\"countUnit\" is only valid with countType",
        ),
        (
            "--lifecycle-policy",
            &prefix_untagged,
            "\"tagPrefixList\" is only valid with tagStatus \"tagged\"",
        ),
        ("--lifecycle-policy", &missing, "is neither inline JSON"),
        (
            "--repository-policy",
            "{\"Statement\": ",
            "is not valid JSON",
        ),
        (
            "--repository-policy",
            "{\"Version\": \"2012-10-17\"}",
            "must have a \"Statement\"",
        ),
    ];
    for (flag, value, expected) in cases {
        env.moto().reset_calls();
        let out = push(
            &env,
            &image,
            "web",
            &["--tags", "v1", "--create-repository", flag, value],
        )
        .await;
        assert_eq!(out.status, 2, "{flag} {value}: {out}");
        let last = out.stderr.lines().last().unwrap_or_default();
        let input = flag.trim_start_matches("--");
        assert!(
            last.starts_with(&format!("error: invalid input `{input}`: "))
                && last.contains(expected),
            "{flag} {value}: last stderr line is {last:?}"
        );
        assert!(out.stdout.is_empty(), "{flag}: stdout {:?}", out.stdout);
        assert_eq!(
            env.moto().calls(),
            Vec::new(),
            "{flag} {value}: requests reached ECR"
        );
        assert_nothing_written(&env).await;
    }
}
