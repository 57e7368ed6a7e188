//! moto's call counter: SDK calls through `AWS_ENDPOINT_URL_ECR` are counted exactly, per
//! action and region; the harness's own helpers are not.

use super::REGION;
use crate::harness::TestEnv;
use crate::harness::moto::{self, moto_password};

#[tokio::test]
async fn moto_counts_the_sdk_calls_made_through_its_front() {
    let env = TestEnv::start(&["us-east-1", "eu-west-1"]).await;
    let moto = env.moto();
    env.create_repository("us-east-1", "setup").await; // direct: not counted
    let counted = |region| moto::ecr_client(&env.moto_url(), region);

    for region in ["us-east-1", "us-east-1", "eu-west-1"] {
        let token = counted(region)
            .get_authorization_token()
            .send()
            .await
            .unwrap();
        assert_eq!(token.authorization_data().len(), 1);
    }
    let created = counted("eu-west-1")
        .create_repository()
        .repository_name("team/app")
        .send()
        .await;
    assert!(created.is_ok());
    let missing = counted("us-east-1")
        .describe_repositories()
        .repository_names("absent")
        .send()
        .await;
    assert!(missing.is_err(), "moto refuses, the call still counts");

    assert_eq!(moto.count_calls("GetAuthorizationToken"), 3);
    assert_eq!(moto.count_calls_in("us-east-1", "GetAuthorizationToken"), 2);
    assert_eq!(moto.count_calls_in("eu-west-1", "GetAuthorizationToken"), 1);
    assert_eq!(moto.count_calls("CreateRepository"), 1);
    assert_eq!(moto.count_calls("DescribeRepositories"), 1);
    assert_eq!(moto.count_calls("PutImage"), 0);
    let failed: Vec<_> = moto
        .calls()
        .into_iter()
        .filter(|c| c.status >= 400)
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(env.list_repositories("eu-west-1").await, vec!["team/app"]);
    assert_eq!(env.list_repositories("us-east-1").await, vec!["setup"]);
    assert_eq!(
        moto.count_calls("DescribeRepositories"),
        1,
        "helpers are not counted"
    );

    let env_vars = env.env_vars();
    let endpoint = env_vars.iter().find(|(k, _)| k == "AWS_ENDPOINT_URL_ECR");
    assert_eq!(endpoint.map(|(_, v)| v.clone()), Some(moto.url()));
    assert_ne!(moto.url(), moto.direct_url());
    moto.reset_calls();
    assert!(moto.calls().is_empty());
    assert_eq!(moto_password(REGION), env.region(REGION).password());
}
