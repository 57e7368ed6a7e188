//! The stand-in's answers read back with aws-sdk-ecr through the moto front, so that their
//! shapes cannot drift from what the binary parses; and calls the stand-in does not answer
//! still go to moto.

use aws_sdk_ecr::operation::describe_image_scan_findings::DescribeImageScanFindingsError;
use aws_sdk_ecr::operation::start_image_scan::StartImageScanError;
use aws_sdk_ecr::types::{FindingSeverity, ImageIdentifier, ScanStatus, ScanType};

use super::*;
use crate::harness::moto::ecr_client;
use crate::harness::moto_counter::MotoCounter;

const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

/// A front whose upstream refuses connections: only the stand-in can answer.
async fn front() -> MotoCounter {
    MotoCounter::start("http://127.0.0.1:9").await.unwrap()
}

fn image() -> ImageIdentifier {
    ImageIdentifier::builder().image_digest(DIGEST).build()
}

#[tokio::test]
async fn a_basic_scan_reads_as_the_sdk_expects_not_found_then_started_then_complete() {
    let front = front().await;
    let high = StandInFinding::new("CVE-2026-0001", "HIGH");
    front
        .scans()
        .set_image("eu-west-1", DIGEST, ImageScan::basic(vec![high]));
    front
        .scans()
        .set_scanning_type("eu-west-1", ScanKind::Basic);
    let ecr = ecr_client(&front.url(), "eu-west-1");
    let describe = || {
        ecr.describe_image_scan_findings()
            .repository_name("web")
            .image_id(image())
            .send()
    };
    let config = ecr
        .get_registry_scanning_configuration()
        .send()
        .await
        .unwrap();
    let scan_type = config.scanning_configuration().and_then(|c| c.scan_type());
    assert_eq!(scan_type, Some(&ScanType::Basic));
    let missing = describe().await.unwrap_err();
    assert!(matches!(
        missing.as_service_error(),
        Some(DescribeImageScanFindingsError::ScanNotFoundException(_))
    ));
    let started = ecr
        .start_image_scan()
        .repository_name("web")
        .image_id(image())
        .send();
    let status = started.await.unwrap().image_scan_status().cloned().unwrap();
    assert_eq!(status.status(), Some(&ScanStatus::InProgress));
    let again = ecr
        .start_image_scan()
        .repository_name("web")
        .image_id(image())
        .send();
    assert!(matches!(
        again.await.unwrap_err().as_service_error(),
        Some(StartImageScanError::LimitExceededException(_))
    ));
    let running = describe().await.unwrap();
    assert_eq!(
        running.image_scan_status().unwrap().status(),
        Some(&ScanStatus::InProgress)
    );
    let complete = describe().await.unwrap();
    assert_eq!(
        complete.image_scan_status().unwrap().status(),
        Some(&ScanStatus::Complete)
    );
    let findings = complete.image_scan_findings().unwrap();
    assert_eq!(findings.findings()[0].name(), Some("CVE-2026-0001"));
    assert_eq!(
        findings.findings()[0].severity(),
        Some(&FindingSeverity::High)
    );
    let counts = findings.finding_severity_counts().unwrap();
    assert_eq!(counts.get(&FindingSeverity::High), Some(&1));
    assert_eq!(front.scans().reads("eu-west-1", DIGEST), 2);
    // The SDK retries LimitExceededException as throttling; the binary turns that off.
    assert!(front.scans().starts("eu-west-1", DIGEST) >= 2);
    assert!(
        front.calls().iter().all(|c| c.stand_in),
        "{:?}",
        front.calls()
    );
}

#[tokio::test]
async fn enhanced_findings_read_as_the_sdk_expects() {
    let front = front().await;
    front
        .scans()
        .set_scanning_type("us-east-1", ScanKind::Enhanced);
    let finding = StandInFinding::new("CVE-2026-0002", "CRITICAL").fix("NO");
    front
        .scans()
        .set_image("us-east-1", DIGEST, ImageScan::enhanced(vec![finding]));
    let ecr = ecr_client(&front.url(), "us-east-1");
    let config = ecr
        .get_registry_scanning_configuration()
        .send()
        .await
        .unwrap();
    let configuration = config.scanning_configuration().unwrap();
    assert_eq!(configuration.scan_type(), Some(&ScanType::Enhanced));
    assert_eq!(configuration.rules().len(), 1);
    let read = ecr
        .describe_image_scan_findings()
        .repository_name("web")
        .image_id(image())
        .send()
        .await
        .unwrap();
    assert_eq!(
        read.image_scan_status().unwrap().status(),
        Some(&ScanStatus::Active)
    );
    let enhanced = &read.image_scan_findings().unwrap().enhanced_findings()[0];
    assert_eq!(enhanced.severity(), Some("CRITICAL"));
    assert_eq!(enhanced.fix_available(), Some("NO"));
    let details = enhanced.package_vulnerability_details().unwrap();
    assert_eq!(details.vulnerability_id(), Some("CVE-2026-0002"));
    assert!(
        enhanced
            .finding_arn()
            .unwrap()
            .starts_with("arn:aws:inspector2:us-east-1:")
    );
}

#[tokio::test]
async fn calls_the_stand_in_does_not_answer_go_to_moto() {
    let front = front().await;
    let ecr = ecr_client(&front.url(), "us-east-1");
    let unknown = ecr
        .describe_image_scan_findings()
        .repository_name("web")
        .image_id(image())
        .send()
        .await;
    assert!(unknown.is_err());
    let calls = front.calls();
    assert!(
        !calls.is_empty() && calls.iter().all(|c| !c.stand_in && c.status == 502),
        "{calls:?}"
    );
}
