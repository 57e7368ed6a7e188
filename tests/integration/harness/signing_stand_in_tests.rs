//! The signing stand-in's answers read back with aws-sdk-ecr through the moto front, so that
//! their shapes cannot drift from what the binary parses.

use aws_sdk_ecr::operation::get_signing_configuration::GetSigningConfigurationError;
use aws_sdk_ecr::types::{ImageIdentifier, SigningStatus};

use super::*;
use crate::harness::moto::ecr_client;
use crate::harness::moto_counter::MotoCounter;

const DIGEST: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

#[tokio::test]
async fn signing_answers_read_as_the_sdk_expects() {
    // The upstream refuses connections: only the stand-in can answer.
    let front = MotoCounter::start("http://127.0.0.1:9").await.unwrap();
    let profile = profile_arn("eu-west-1", "release");
    front.signing().set_region(
        "eu-west-1",
        RegionSigning {
            rules: vec![(profile.clone(), vec!["team/*".to_string()])],
            reads: vec![
                SigningAnswer::NotStarted,
                SigningAnswer::InProgress,
                SigningAnswer::Failed("SIGNING_PROFILE_REVOKED", "revoked"),
            ],
        },
    );
    let unset = ecr_client(&front.url(), "us-east-1")
        .get_signing_configuration()
        .send()
        .await
        .unwrap_err();
    assert!(matches!(
        unset.as_service_error(),
        Some(GetSigningConfigurationError::SigningConfigurationNotFoundException(_))
    ));
    let ecr = ecr_client(&front.url(), "eu-west-1");
    let config = ecr.get_signing_configuration().send().await.unwrap();
    let rule = &config.signing_configuration().unwrap().rules()[0];
    assert_eq!(rule.signing_profile_arn(), profile);
    assert_eq!(rule.repository_filters()[0].filter(), "team/*");
    let read = || {
        ecr.describe_image_signing_status()
            .repository_name("team/web")
            .image_id(ImageIdentifier::builder().image_digest(DIGEST).build())
            .send()
    };
    assert!(read().await.unwrap().signing_statuses().is_empty());
    let running = read().await.unwrap();
    assert_eq!(
        running.signing_statuses()[0].status(),
        Some(&SigningStatus::InProgress)
    );
    let failed = read().await.unwrap();
    let status = &failed.signing_statuses()[0];
    assert_eq!(status.status(), Some(&SigningStatus::Failed));
    assert_eq!(status.failure_code(), Some("SIGNING_PROFILE_REVOKED"));
    assert_eq!(status.signing_profile_arn(), Some(profile.as_str()));
    assert_eq!(front.signing().reads("eu-west-1"), 3);
}
