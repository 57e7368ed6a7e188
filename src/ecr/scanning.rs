//! Image scanning: the registry's scanning type (`GetRegistryScanningConfiguration`), starting
//! a basic scan (`StartImageScan`) and reading one image's scan status and findings
//! (`DescribeImageScanFindings`, every page), basic and enhanced (Amazon Inspector) alike.
//! What it hands back is plain data; when a scan counts as finished is the engine's decision.

use aws_sdk_ecr::operation::describe_image_scan_findings::DescribeImageScanFindingsError;
use aws_sdk_ecr::operation::start_image_scan::StartImageScanError;
use aws_sdk_ecr::types::{ImageIdentifier, ImageScanFindings, ScanStatus};

use super::EcrRegion;
use crate::report::{ScanType, Severity};

/// One finding of one image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The CVE id; Inspector's finding id when the finding names no vulnerability.
    pub id: String,
    /// Inspector's finding ARN (enhanced scanning).
    pub arn: Option<String>,
    pub severity: Severity,
    /// `fixAvailable` `YES` or `PARTIAL` (true), `NO` (false); basic scanning does not say.
    pub fix_available: Option<bool>,
}

impl Finding {
    /// Whether `id` (a CVE id, an Inspector finding id or its ARN) names this finding.
    pub fn is_named(&self, id: &str) -> bool {
        self.id.eq_ignore_ascii_case(id)
            || self
                .arn
                .as_deref()
                .is_some_and(|arn| arn == id || arn.rsplit('/').next() == Some(id))
    }
}

/// What ECR says of an image's scan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScanProgress {
    /// No scan exists for the image (basic: it must be started).
    NotStarted,
    /// `IN_PROGRESS` or `PENDING`.
    Running,
    /// `COMPLETE` (basic) or `ACTIVE` (enhanced; the findings may still be arriving).
    Done,
    /// `FAILED`, `UNSUPPORTED_IMAGE` or another final state, with ECR's description.
    Failed(String),
}

/// One read of an image's scan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanRead {
    pub progress: ScanProgress,
    pub findings: Vec<Finding>,
}

impl EcrRegion {
    /// The registry's scanning type in this region.
    pub async fn scanning_type(&self) -> anyhow::Result<ScanType> {
        let out = self
            .client
            .get_registry_scanning_configuration()
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "{}: ECR GetRegistryScanningConfiguration failed: {}",
                    self.place,
                    super::describe_sdk_error(&e)
                )
            })?;
        let enhanced = out
            .scanning_configuration()
            .and_then(|c| c.scan_type())
            .is_some_and(|t| t.as_str() == "ENHANCED");
        Ok(if enhanced {
            ScanType::Enhanced
        } else {
            ScanType::Basic
        })
    }

    /// Starts a basic scan of `digest`; `false` when ECR says the image was already scanned
    /// today (`LimitExceededException`: one scan per image per day), whose findings stand.
    pub async fn start_image_scan(&self, repository: &str, digest: &str) -> anyhow::Result<bool> {
        let result = self
            .client
            .start_image_scan()
            .set_registry_id(self.registry_id.clone())
            .repository_name(repository)
            .image_id(ImageIdentifier::builder().image_digest(digest).build())
            .customize()
            .config_override(single_attempt())
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(StartImageScanError::LimitExceededException(_))
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(self.failure(repository, "StartImageScan", &e)),
        }
    }

    /// Reads `digest`'s scan status and all its findings (every page).
    pub async fn read_scan(&self, repository: &str, digest: &str) -> anyhow::Result<ScanRead> {
        let mut read = ScanRead {
            progress: ScanProgress::NotStarted,
            findings: Vec::new(),
        };
        let mut next_token = None;
        loop {
            let result = self
                .client
                .describe_image_scan_findings()
                .set_registry_id(self.registry_id.clone())
                .repository_name(repository)
                .image_id(ImageIdentifier::builder().image_digest(digest).build())
                .max_results(1000)
                .set_next_token(next_token)
                .send()
                .await;
            let out = match result {
                Ok(out) => out,
                Err(e)
                    if matches!(
                        e.as_service_error(),
                        Some(DescribeImageScanFindingsError::ScanNotFoundException(_))
                    ) =>
                {
                    return Ok(read);
                }
                Err(e) => return Err(self.failure(repository, "DescribeImageScanFindings", &e)),
            };
            let status = out.image_scan_status();
            read.progress = progress_of(
                status.and_then(|s| s.status()),
                status.and_then(|s| s.description()).unwrap_or_default(),
            );
            if let Some(findings) = out.image_scan_findings() {
                read.findings.extend(findings_of(findings));
            }
            next_token = out.next_token().map(str::to_string);
            if next_token.is_none() {
                return Ok(read);
            }
        }
    }
}

/// One attempt only: the SDK retries `LimitExceededException` as throttling, but from
/// `StartImageScan` it means the image was already scanned today, for the rest of the day.
fn single_attempt() -> aws_sdk_ecr::config::Builder {
    aws_sdk_ecr::config::Builder::default()
        .retry_config(aws_sdk_ecr::config::retry::RetryConfig::standard().with_max_attempts(1))
}

fn progress_of(status: Option<&ScanStatus>, description: &str) -> ScanProgress {
    match status.map(ScanStatus::as_str) {
        None => ScanProgress::NotStarted,
        Some("IN_PROGRESS" | "PENDING") => ScanProgress::Running,
        Some("COMPLETE" | "ACTIVE") => ScanProgress::Done,
        Some(other) if description.is_empty() => ScanProgress::Failed(other.to_string()),
        Some(other) => ScanProgress::Failed(format!("{other}: {description}")),
    }
}

/// Basic findings (name, severity) and enhanced ones (vulnerability id, severity, fix).
fn findings_of(findings: &ImageScanFindings) -> impl Iterator<Item = Finding> + '_ {
    let basic = findings.findings().iter().map(|f| Finding {
        id: f.name().unwrap_or("unnamed finding").to_string(),
        arn: None,
        severity: Severity::from_ecr(f.severity().map_or("", |s| s.as_str())),
        fix_available: None,
    });
    let enhanced = findings.enhanced_findings().iter().map(|f| {
        let arn = f.finding_arn().map(str::to_string);
        let id = f
            .package_vulnerability_details()
            .and_then(|d| d.vulnerability_id())
            .or_else(|| f.finding_arn().and_then(|a| a.rsplit('/').next()))
            .unwrap_or("unnamed finding")
            .to_string();
        Finding {
            id,
            arn,
            severity: Severity::from_ecr(f.severity().unwrap_or_default()),
            fix_available: f.fix_available().map(|fix| fix != "NO"),
        }
    });
    basic.chain(enhanced)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecr::types::{
        EnhancedImageScanFinding, FindingSeverity, ImageScanFinding, PackageVulnerabilityDetails,
    };

    #[test]
    fn statuses_become_progress() {
        let complete = ScanStatus::Complete;
        assert_eq!(progress_of(Some(&complete), ""), ScanProgress::Done);
        assert_eq!(
            progress_of(Some(&ScanStatus::Active), ""),
            ScanProgress::Done
        );
        assert_eq!(
            progress_of(Some(&ScanStatus::InProgress), ""),
            ScanProgress::Running
        );
        assert_eq!(
            progress_of(Some(&ScanStatus::Failed), "layer too large"),
            ScanProgress::Failed("FAILED: layer too large".into())
        );
        assert_eq!(progress_of(None, ""), ScanProgress::NotStarted);
    }

    #[test]
    fn basic_and_enhanced_findings_read_alike() {
        let findings = ImageScanFindings::builder()
            .findings(
                ImageScanFinding::builder()
                    .name("CVE-2024-1")
                    .severity(FindingSeverity::High)
                    .build(),
            )
            .enhanced_findings(
                EnhancedImageScanFinding::builder()
                    .finding_arn("arn:aws:inspector2:us-east-1:123456789012:finding/abc123")
                    .severity("CRITICAL")
                    .fix_available("PARTIAL")
                    .package_vulnerability_details(
                        PackageVulnerabilityDetails::builder()
                            .vulnerability_id("CVE-2024-2")
                            .build(),
                    )
                    .build(),
            )
            .build();
        let read: Vec<Finding> = findings_of(&findings).collect();
        assert_eq!(read[0].id, "CVE-2024-1");
        assert_eq!(read[0].severity, Severity::High);
        assert_eq!(read[0].fix_available, None);
        assert_eq!(read[1].id, "CVE-2024-2");
        assert_eq!(read[1].severity, Severity::Critical);
        assert_eq!(read[1].fix_available, Some(true));
        assert!(read[1].is_named("abc123"));
        assert!(read[1].is_named("cve-2024-2"));
        assert!(!read[0].is_named("abc123"));
    }
}
