//! Repository settings: created repositories get every requested setting (read back from moto);
//! an existing repository's differing settings are listed in the plan, changed only with
//! `update-repository-settings: true` and only where ECR can change them in place (mutability,
//! scan on push, tags); an encryption difference stays a warning.

use aws_sdk_ecr::types::Repository;
use serde_json::{Value, json};

use crate::harness::TestEnv;
use crate::repository_support::*;
use crate::scenario::*;

const KMS_KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const TWO_REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

async fn describe(env: &TestEnv, region: &str, name: &str) -> Repository {
    let out = env
        .moto()
        .ecr_client(region)
        .describe_repositories()
        .repository_names(name)
        .send()
        .await
        .expect("moto DescribeRepositories");
    out.repositories()[0].clone()
}

async fn tags_of(env: &TestEnv, region: &str, repository: &Repository) -> Vec<(String, String)> {
    let out = env
        .moto()
        .ecr_client(region)
        .list_tags_for_resource()
        .resource_arn(repository.repository_arn().unwrap())
        .send()
        .await
        .expect("moto ListTagsForResource");
    let mut tags: Vec<(String, String)> = out
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    tags.sort();
    tags
}

#[tokio::test]
async fn created_repositories_get_every_requested_setting() {
    let env = TestEnv::start(&TWO_REGIONS).await;
    let (image, _) = single_manifest_image(&env, "created-settings");
    let settings = [
        "--tags",
        "v1",
        "--image-tag-mutability",
        "IMMUTABLE",
        "--scan-on-push",
        "--encryption-type",
        "KMS",
        "--kms-key",
        KMS_KEY,
        "--repository-tags",
        "team=web,env=prod",
    ];
    push_ok(
        &env,
        &image,
        "team/web",
        &[&settings[..], &["--create-repository"]].concat(),
    )
    .await;
    for region in TWO_REGIONS {
        let repository = describe(&env, region, "team/web").await;
        let mutability = repository.image_tag_mutability().map(|m| m.as_str());
        assert_eq!(mutability, Some("IMMUTABLE"), "{region}");
        let scanning = repository.image_scanning_configuration();
        assert_eq!(scanning.map(|s| s.scan_on_push()), Some(true), "{region}");
        let encryption = repository.encryption_configuration().expect("encryption");
        assert_eq!(encryption.encryption_type().as_str(), "KMS", "{region}");
        assert_eq!(encryption.kms_key(), Some(KMS_KEY), "{region}");
        assert_eq!(
            tags_of(&env, region, &repository).await,
            [("env".into(), "prod".into()), ("team".into(), "web".into())],
            "{region}"
        );
    }

    env.moto().reset_calls();
    let planned = push_ok(
        &env,
        &image,
        "team/web",
        &[&settings[..], &["--dry-run"]].concat(),
    )
    .await;
    let plan = report(&planned);
    for region in TWO_REGIONS {
        let changes = &region_report(&plan, region)["repository_changes"];
        assert_eq!(changes["settings"], json!([]), "{region}: {changes}");
    }
    assert_eq!(env.moto().count_calls("ListTagsForResource"), 2);
}

/// What the plan says about each setting, as (setting, current, wanted, action).
fn setting_rows(report: &Value, region: &str) -> Vec<(String, String, String, String)> {
    let changes = &region_report(report, region)["repository_changes"]["settings"];
    changes
        .as_array()
        .unwrap_or_else(|| panic!("no settings list: {changes}"))
        .iter()
        .map(|c| {
            let field = |name: &str| c[name].as_str().unwrap_or_default().to_string();
            (
                field("setting"),
                field("current"),
                field("wanted"),
                field("action"),
            )
        })
        .collect()
}

fn rows(list: &[(&str, &str, &str, &str)]) -> Vec<(String, String, String, String)> {
    list.iter()
        .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()))
        .collect()
}

#[tokio::test]
async fn existing_settings_are_reported_and_changed_only_when_asked() {
    let env = TestEnv::start(&TWO_REGIONS).await;
    for region in TWO_REGIONS {
        env.create_repository(region, "web").await;
    }
    let eu = describe(&env, "eu-west-1", "web").await;
    env.moto()
        .ecr_client("eu-west-1")
        .tag_resource()
        .resource_arn(eu.repository_arn().unwrap())
        .tags(
            aws_sdk_ecr::types::Tag::builder()
                .key("team")
                .value("old")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("moto TagResource");
    let (image, digest) = single_manifest_image(&env, "existing-settings");
    let wanted = [
        "--tags",
        "v1",
        "--image-tag-mutability",
        "IMMUTABLE",
        "--scan-on-push",
        "--repository-tags",
        "team=web",
        "--encryption-type",
        "KMS",
    ];

    env.moto().reset_calls();
    let planned = push_ok(&env, &image, "web", &[&wanted[..], &["--dry-run"]].concat()).await;
    let plan = report(&planned);
    let expected = |tags_now: &str| {
        rows(&[
            (
                "image-tag-mutability",
                "MUTABLE",
                "IMMUTABLE",
                "report-only",
            ),
            ("scan-on-push", "false", "true", "report-only"),
            ("encryption-type", "AES256", "KMS", "cannot-change"),
            ("repository-tags", tags_now, "team=web", "report-only"),
        ])
    };
    assert_eq!(setting_rows(&plan, "us-east-1"), expected("team unset"));
    assert_eq!(setting_rows(&plan, "eu-west-1"), expected("team=old"));
    assert_eq!(write_calls(&env), Vec::<String>::new(), "the dry run wrote");

    let pushed = push_ok(&env, &image, "web", &wanted).await;
    assert!(
        pushed
            .stderr
            .contains("set update-repository-settings: true to change it"),
        "{pushed}"
    );
    for region in TWO_REGIONS {
        let repository = describe(&env, region, "web").await;
        assert_eq!(
            repository.image_tag_mutability().map(|m| m.as_str()),
            Some("MUTABLE")
        );
        assert_eq!(
            repository
                .image_scanning_configuration()
                .map(|s| s.scan_on_push()),
            Some(false)
        );
    }
    assert_eq!(
        write_calls(&env),
        Vec::<String>::new(),
        "settings changed without being asked"
    );

    env.moto().reset_calls();
    let updated = push_ok(
        &env,
        &image,
        "web",
        &[&wanted[..], &["--update-repository-settings"]].concat(),
    )
    .await;
    assert!(
        updated
            .stderr
            .contains("ECR cannot change it without recreating the repository"),
        "{updated}"
    );
    for region in TWO_REGIONS {
        let repository = describe(&env, region, "web").await;
        assert_eq!(
            repository.image_tag_mutability().map(|m| m.as_str()),
            Some("IMMUTABLE")
        );
        assert_eq!(
            repository
                .image_scanning_configuration()
                .map(|s| s.scan_on_push()),
            Some(true)
        );
        let encryption = repository.encryption_configuration().expect("encryption");
        assert_eq!(encryption.encryption_type().as_str(), "AES256", "{region}");
        assert_eq!(
            tags_of(&env, region, &repository).await,
            [("team".into(), "web".into())],
            "{region}"
        );
    }
    let after = report(&updated);
    for region in TWO_REGIONS {
        let actions: Vec<String> = setting_rows(&after, region)
            .into_iter()
            .map(|r| r.3)
            .collect();
        assert_eq!(
            actions,
            ["update", "update", "cannot-change", "update"],
            "{region}"
        );
        assert_eq!(
            region_report(&after, region)["status"],
            "pushed",
            "{region}"
        );
    }
    let mut writes = write_calls(&env);
    writes.sort();
    let mut expected_writes: Vec<String> = TWO_REGIONS
        .iter()
        .flat_map(|r| {
            [
                "PutImageScanningConfiguration",
                "PutImageTagMutability",
                "TagResource",
            ]
            .map(|action| format!("{r} {action}"))
        })
        .collect();
    expected_writes.sort();
    assert_eq!(writes, expected_writes);
    assert_tags_everywhere(&env, "web", &["v1"], &digest).await;
}
