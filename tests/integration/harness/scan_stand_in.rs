//! `ScanStandIn`: ECR's scan calls for images that live only in the test registries. moto keys
//! images by digests of its own, so it cannot answer `DescribeImageScanFindings` for the
//! digests the binary pushed to the registries; the moto front ([`super::moto_counter`]) asks
//! this stand-in first and forwards every call it does not answer.
//!
//! A test sets, per region, the registry's scanning type (`GetRegistryScanningConfiguration`)
//! and, per region and digest, the answers of successive `DescribeImageScanFindings` reads (the
//! last repeats). A basic scan can require `StartImageScan` first (until then the read is
//! `ScanNotFoundException`, as ECR answers) or answer `LimitExceededException` (already scanned
//! today). Answers have ECR's JSON shapes, basic and enhanced (Amazon Inspector) findings
//! alike; `stand_in_tests` reads them back with aws-sdk-ecr so they cannot drift.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use http::Response;
use http_body_util::Full;
use serde_json::{Value, json};

use super::aws_json::{error, ok};

/// A registry's scanning type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanKind {
    Basic,
    Enhanced,
}

/// One finding a test sets.
#[derive(Clone, Debug)]
pub struct StandInFinding {
    /// The CVE id.
    pub id: String,
    /// `CRITICAL`, `HIGH`, ...
    pub severity: String,
    /// Enhanced findings' `fixAvailable`: `YES`, `NO` or `PARTIAL`.
    pub fix_available: Option<String>,
}

impl StandInFinding {
    pub fn new(id: &str, severity: &str) -> Self {
        Self {
            id: id.to_string(),
            severity: severity.to_string(),
            fix_available: None,
        }
    }

    pub fn fix(mut self, fix: &str) -> Self {
        self.fix_available = Some(fix.to_string());
        self
    }
}

/// One `DescribeImageScanFindings` answer.
#[derive(Clone, Debug)]
pub enum ScanAnswer {
    /// `IN_PROGRESS` (basic) or `PENDING` (enhanced), no findings.
    Running,
    /// The status (`COMPLETE` or `ACTIVE`) with these findings.
    Status(&'static str, Vec<StandInFinding>),
    /// `FAILED` with a description.
    Failed(&'static str),
}

/// How one image's scan behaves.
#[derive(Clone, Debug)]
pub struct ImageScan {
    pub kind: ScanKind,
    /// Answers in order; the last repeats.
    pub reads: Vec<ScanAnswer>,
    /// Reads answer `ScanNotFoundException` until `StartImageScan` was called.
    pub needs_start: bool,
    /// `StartImageScan` answers `LimitExceededException` (and the scan counts as started).
    pub scanned_today: bool,
}

impl ImageScan {
    /// A basic scan: not found until started, then one read in progress, then complete.
    pub fn basic(findings: Vec<StandInFinding>) -> Self {
        Self {
            kind: ScanKind::Basic,
            reads: vec![
                ScanAnswer::Running,
                ScanAnswer::Status("COMPLETE", findings),
            ],
            needs_start: true,
            scanned_today: false,
        }
    }

    /// An enhanced scan that reads `ACTIVE` with `findings` from the first read.
    pub fn enhanced(findings: Vec<StandInFinding>) -> Self {
        Self {
            kind: ScanKind::Enhanced,
            reads: vec![ScanAnswer::Status("ACTIVE", findings)],
            needs_start: false,
            scanned_today: false,
        }
    }

    /// A scan that stays in progress forever.
    pub fn never_completing() -> Self {
        Self {
            kind: ScanKind::Basic,
            reads: vec![ScanAnswer::Running],
            needs_start: false,
            scanned_today: false,
        }
    }
}

#[derive(Default)]
struct Book {
    kinds: HashMap<String, ScanKind>,
    images: HashMap<(String, String), ImageState>,
}

struct ImageState {
    scan: ImageScan,
    started: bool,
    starts: usize,
    reads: usize,
}

/// The stand-in's state, shared by the moto front and the test.
#[derive(Clone, Default)]
pub struct ScanStandIn {
    book: Arc<Mutex<Book>>,
}

impl ScanStandIn {
    fn lock(&self) -> MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `region`'s registry scans with `kind`.
    pub fn set_scanning_type(&self, region: &str, kind: ScanKind) {
        self.lock().kinds.insert(region.to_string(), kind);
    }

    /// `digest` in `region` scans as `scan` says.
    pub fn set_image(&self, region: &str, digest: &str, scan: ImageScan) {
        let state = ImageState {
            scan,
            started: false,
            starts: 0,
            reads: 0,
        };
        self.lock()
            .images
            .insert((region.to_string(), digest.to_string()), state);
    }

    /// `DescribeImageScanFindings` reads the stand-in answered for `digest` in `region`.
    pub fn reads(&self, region: &str, digest: &str) -> usize {
        let key = (region.to_string(), digest.to_string());
        self.lock().images.get(&key).map_or(0, |s| s.reads)
    }

    /// `StartImageScan` calls for `digest` in `region`.
    pub fn starts(&self, region: &str, digest: &str) -> usize {
        let key = (region.to_string(), digest.to_string());
        self.lock().images.get(&key).map_or(0, |s| s.starts)
    }

    /// The answer to `action` when the stand-in has one; `None` forwards the call to moto.
    pub fn answer(&self, action: &str, region: &str, body: &[u8]) -> Option<Response<Full<Bytes>>> {
        let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let mut book = self.lock();
        if action == "GetRegistryScanningConfiguration" {
            let kind = *book.kinds.get(region)?;
            let scan_type = if kind == ScanKind::Enhanced {
                "ENHANCED"
            } else {
                "BASIC"
            };
            let rules = json!([{"scanFrequency": "CONTINUOUS_SCAN",
                                "repositoryFilters": [{"filter": "*", "filterType": "WILDCARD"}]}]);
            return Some(ok(json!({"registryId": ACCOUNT,
                "scanningConfiguration": {"scanType": scan_type, "rules": rules}})));
        }
        let digest = request["imageId"]["imageDigest"].as_str()?.to_string();
        let state = book.images.get_mut(&(region.to_string(), digest))?;
        match action {
            "StartImageScan" => Some(start(state, &request)),
            "DescribeImageScanFindings" => Some(describe(state, region, &request)),
            _ => None,
        }
    }
}

const ACCOUNT: &str = "123456789012";

fn start(state: &mut ImageState, request: &Value) -> Response<Full<Bytes>> {
    state.starts += 1;
    let already = state.started || state.scan.scanned_today;
    state.started = true;
    if already {
        return error(
            "LimitExceededException",
            "The scan quota per image has been exceeded. Wait and try again.",
        );
    }
    ok(
        json!({"registryId": ACCOUNT, "repositoryName": request["repositoryName"],
              "imageId": request["imageId"],
              "imageScanStatus": {"status": "IN_PROGRESS", "description": "scan started"}}),
    )
}

fn describe(state: &mut ImageState, region: &str, request: &Value) -> Response<Full<Bytes>> {
    if state.scan.needs_start && !state.started {
        return error(
            "ScanNotFoundException",
            "Image scan does not exist for the image with the given imageId",
        );
    }
    let index = state.reads.min(state.scan.reads.len().saturating_sub(1));
    state.reads += 1;
    let answer = state
        .scan
        .reads
        .get(index)
        .cloned()
        .unwrap_or(ScanAnswer::Running);
    let enhanced = state.scan.kind == ScanKind::Enhanced;
    let (status, description, findings) = match answer {
        ScanAnswer::Running if enhanced => ("PENDING", "", Vec::new()),
        ScanAnswer::Running => ("IN_PROGRESS", "", Vec::new()),
        ScanAnswer::Status(status, findings) => {
            (status, "The scan was completed successfully.", findings)
        }
        ScanAnswer::Failed(why) => ("FAILED", why, Vec::new()),
    };
    let mut counts = serde_json::Map::new();
    for finding in &findings {
        let n = counts
            .get(&finding.severity)
            .and_then(Value::as_u64)
            .unwrap_or(0);
        counts.insert(finding.severity.clone(), json!(n + 1));
    }
    let listed: Vec<Value> = findings
        .iter()
        .map(|f| {
            if enhanced {
                enhanced_finding(f, region)
            } else {
                basic_finding(f)
            }
        })
        .collect();
    let key = if enhanced {
        "enhancedFindings"
    } else {
        "findings"
    };
    let mut scan_findings = json!({"findingSeverityCounts": counts, key: listed});
    if status != "IN_PROGRESS" && status != "PENDING" {
        scan_findings["imageScanCompletedAt"] = json!(1_767_225_600.0);
        scan_findings["vulnerabilitySourceUpdatedAt"] = json!(1_767_225_600.0);
    }
    ok(
        json!({"registryId": ACCOUNT, "repositoryName": request["repositoryName"],
              "imageId": request["imageId"],
              "imageScanStatus": {"status": status, "description": description},
              "imageScanFindings": scan_findings}),
    )
}

fn basic_finding(finding: &StandInFinding) -> Value {
    json!({"name": finding.id, "severity": finding.severity,
           "uri": format!("https://security-tracker.debian.org/tracker/{}", finding.id),
           "description": "a finding set by the test",
           "attributes": [{"key": "package_name", "value": "openssl"}]})
}

fn enhanced_finding(finding: &StandInFinding, region: &str) -> Value {
    let finding_id = hex_of(&finding.id);
    json!({"awsAccountId": ACCOUNT,
           "findingArn": format!("arn:aws:inspector2:{region}:{ACCOUNT}:finding/{finding_id}"),
           "description": "a finding set by the test",
           "firstObservedAt": 1_767_225_600.0, "lastObservedAt": 1_767_225_600.0,
           "updatedAt": 1_767_225_600.0,
           "severity": finding.severity, "status": "ACTIVE", "type": "PACKAGE_VULNERABILITY",
           "title": format!("{} - openssl", finding.id), "score": 7.5,
           "fixAvailable": finding.fix_available.as_deref().unwrap_or("YES"),
           "exploitAvailable": "NO",
           "packageVulnerabilityDetails": {"vulnerabilityId": finding.id, "source": "NVD",
               "vulnerablePackages": [{"name": "openssl", "version": "3.0.0"}]}})
}

/// A stable hex id for a finding (Inspector's ids are 32 hex digits).
fn hex_of(text: &str) -> String {
    let digest = super::skopeo::sha256_digest(text.as_bytes());
    digest.trim_start_matches("sha256:")[..32].to_string()
}

#[cfg(test)]
#[path = "scan_stand_in_tests.rs"]
mod tests;
