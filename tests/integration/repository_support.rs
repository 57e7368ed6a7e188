//! Shared steps for the repository-management tests: sample policies, reading a repository's
//! policies and settings back from moto with aws-sdk-ecr (an independent client), and the
//! write calls the binary made, from the moto call counter.

use aws_sdk_ecr::types::{
    ReplicationConfiguration, ReplicationDestination, ReplicationRule, RepositoryFilter,
    RepositoryFilterType,
};
use serde_json::Value;

use crate::harness::TestEnv;
use crate::scenario::ACCOUNT;

/// Keep the last five images.
pub const LIFECYCLE: &str = r#"{
  "rules": [
    {"rulePriority": 1, "description": "keep the last 5 images",
     "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 5},
     "action": {"type": "expire"}}
  ]
}"#;

/// Let another account pull.
pub const REPOSITORY_POLICY: &str = r#"{"Version": "2012-10-17", "Statement": [{"Sid": "pull",
  "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::210987654321:root"},
  "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]}]}"#;

pub fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("test JSON")
}

/// The lifecycle policy moto holds for the repository, parsed; `None` when it has none.
pub async fn lifecycle_policy_in(env: &TestEnv, region: &str, repository: &str) -> Option<Value> {
    let out = env
        .moto()
        .ecr_client(region)
        .get_lifecycle_policy()
        .repository_name(repository)
        .send()
        .await;
    out.ok().and_then(|o| o.lifecycle_policy_text().map(json))
}

/// The repository policy moto holds, parsed; `None` when it has none.
pub async fn repository_policy_in(env: &TestEnv, region: &str, repository: &str) -> Option<Value> {
    let out = env
        .moto()
        .ecr_client(region)
        .get_repository_policy()
        .repository_name(repository)
        .send()
        .await;
    out.ok().and_then(|o| o.policy_text().map(json))
}

/// Every call the binary made to moto that changes something, as `region Action`.
pub fn write_calls(env: &TestEnv) -> Vec<String> {
    const READ_PREFIXES: [&str; 5] = ["Get", "Describe", "List", "BatchCheck", "BatchGet"];
    env.moto()
        .calls()
        .into_iter()
        .filter(|c| !READ_PREFIXES.iter().any(|p| c.action.starts_with(p)))
        .map(|c| format!("{} {}", c.region.unwrap_or_default(), c.action))
        .collect()
}

/// The region's entry of a JSON report.
pub fn region_report<'a>(report: &'a Value, region: &str) -> &'a Value {
    report["regions"]
        .as_array()
        .and_then(|all| all.iter().find(|r| r["region"] == region))
        .unwrap_or_else(|| panic!("no region {region} in {report}"))
}

/// Configures the registry in `source` to replicate repositories starting with `prefix` to
/// `destination` (same account).
pub async fn replicate(env: &TestEnv, source: &str, destination: &str, prefix: &str) {
    let rule = ReplicationRule::builder()
        .destinations(
            ReplicationDestination::builder()
                .region(destination)
                .registry_id(ACCOUNT)
                .build()
                .unwrap(),
        )
        .repository_filters(
            RepositoryFilter::builder()
                .filter(prefix)
                .filter_type(RepositoryFilterType::PrefixMatch)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    env.moto()
        .ecr_client(source)
        .put_replication_configuration()
        .replication_configuration(
            ReplicationConfiguration::builder()
                .rules(rule)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("moto PutReplicationConfiguration");
}
