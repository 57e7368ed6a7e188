//! Replication statuses against `aws-smithy-mocks` (moto has no
//! DescribeImageReplicationStatus), and which targets replication rules reach.

use aws_sdk_ecr::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_ecr::operation::describe_image_replication_status::DescribeImageReplicationStatusOutput;
use aws_sdk_ecr::operation::describe_registry::DescribeRegistryOutput;
use aws_sdk_ecr::types::{
    ImageReplicationStatus, ReplicationConfiguration, ReplicationDestination, ReplicationRule,
    ReplicationStatus, RepositoryFilter, RepositoryFilterType,
};
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};

use super::*;

const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const ACCOUNT: &str = "123456789012";

fn primary_with(rules: &[&Rule]) -> EcrRegion {
    let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::Sequential);
    for rule in rules {
        interceptor = interceptor.with_rule(rule);
    }
    let config = aws_sdk_ecr::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "mock"))
        .http_client(create_mock_http_client())
        .interceptor(interceptor)
        .build();
    EcrRegion {
        client: aws_sdk_ecr::Client::from_conf(config),
        region: "us-east-1".into(),
        place: "region us-east-1".into(),
        registry_id: None,
        observer: std::sync::Arc::new(crate::observer::Unobserved),
    }
}

fn target(region: &str) -> ReplicationTarget {
    ReplicationTarget {
        region: region.into(),
        registry_id: ACCOUNT.into(),
    }
}

/// A DescribeImageReplicationStatus answer listing `(region, status)`.
fn statuses(list: &[(&str, ReplicationStatus)]) -> DescribeImageReplicationStatusOutput {
    let mut out = DescribeImageReplicationStatusOutput::builder().repository_name("team/web");
    for (region, status) in list {
        let mut entry = ImageReplicationStatus::builder()
            .region(*region)
            .registry_id(ACCOUNT)
            .status(status.clone());
        if *status == ReplicationStatus::Failed {
            entry = entry.failure_code("KMS_KEY_NOT_FOUND");
        }
        out = out.replication_statuses(entry.build());
    }
    out.build()
}

#[tokio::test]
async fn statuses_are_read_per_target_and_an_unlisted_target_is_pending() {
    use ReplicationStatus::{Complete, Failed};
    let poll = mock!(aws_sdk_ecr::Client::describe_image_replication_status)
        .match_requests(|req| {
            req.repository_name() == Some("team/web")
                && req.image_id().and_then(|i| i.image_digest()) == Some(DIGEST)
        })
        .then_output(|| statuses(&[("ap-south-1", Failed), ("eu-west-1", Complete)]));
    let primary = primary_with(&[&poll]);
    let found = primary
        .replication_statuses(
            "team/web",
            DIGEST,
            &[
                target("eu-west-1"),
                target("ap-south-1"),
                target("sa-east-1"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        summarize_replication(&found),
        "eu-west-1 COMPLETE, ap-south-1 FAILED, sa-east-1 PENDING"
    );
    assert_eq!(found[1].failure_code.as_deref(), Some("KMS_KEY_NOT_FOUND"));
    assert_eq!(poll.num_calls(), 1);
}

#[tokio::test]
async fn registry_rules_are_read_from_describe_registry() {
    let describe = mock!(aws_sdk_ecr::Client::describe_registry).then_output(|| {
        let rule = ReplicationRule::builder()
            .destinations(
                ReplicationDestination::builder()
                    .region("eu-west-1")
                    .registry_id(ACCOUNT)
                    .build()
                    .unwrap(),
            )
            .repository_filters(
                RepositoryFilter::builder()
                    .filter("team/")
                    .filter_type(RepositoryFilterType::PrefixMatch)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        DescribeRegistryOutput::builder()
            .registry_id(ACCOUNT)
            .replication_configuration(
                ReplicationConfiguration::builder()
                    .rules(rule)
                    .build()
                    .unwrap(),
            )
            .build()
    });
    let rules = primary_with(&[&describe])
        .replication_rules()
        .await
        .unwrap();
    assert_eq!(rules.registry_id, ACCOUNT);
    assert_eq!(rules.rules[0].destinations, [target("eu-west-1")]);
    assert_eq!(rules.rules[0].prefixes, ["team/"]);
}

#[test]
fn rules_reach_destinations_by_region_account_and_prefix() {
    let rules = ReplicationRules {
        registry_id: ACCOUNT.into(),
        rules: vec![
            ReplicationRuleView {
                destinations: vec![target("eu-west-1")],
                prefixes: vec![],
            },
            ReplicationRuleView {
                destinations: vec![target("ap-south-1")],
                prefixes: vec!["team-a/".into(), "base".into()],
            },
        ],
    };
    assert!(rules.reaches("anything", &target("eu-west-1")));
    assert!(rules.reaches("team-a/web", &target("ap-south-1")));
    assert!(rules.reaches("base-images", &target("ap-south-1")));
    assert!(!rules.reaches("team-b/web", &target("ap-south-1")));
    assert!(!rules.reaches("team-a/web", &target("us-west-2")));
    let other_account = ReplicationTarget {
        region: "eu-west-1".into(),
        registry_id: "210987654321".into(),
    };
    assert!(!rules.reaches("team-a/web", &other_account));
    assert!(!ReplicationRules::default().reaches("web", &target("eu-west-1")));
}
