//! A destination's vulnerability scan as the report gives it: the registry's scanning type,
//! how the scan ended, the findings' counts by severity and the worst findings. Severities are
//! ordered, so a threshold is a comparison.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

/// A finding's severity, as ECR (basic scanning) and Amazon Inspector (enhanced) name them;
/// ordered from least to most severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Severity {
    /// `UNDEFINED` (basic) or `UNTRIAGED` (enhanced): no severity assigned yet.
    Undefined,
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// The word ECR and the inputs use: `CRITICAL`, `HIGH`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Undefined => "UNDEFINED",
            Self::Informational => "INFORMATIONAL",
            Self::Low => "LOW",
            Self::Medium => "MEDIUM",
            Self::High => "HIGH",
            Self::Critical => "CRITICAL",
        }
    }

    /// ECR's or Inspector's word; anything unknown (`UNTRIAGED`) is [`Severity::Undefined`].
    pub fn from_ecr(word: &str) -> Self {
        match word.to_ascii_uppercase().as_str() {
            "CRITICAL" => Self::Critical,
            "HIGH" => Self::High,
            "MEDIUM" => Self::Medium,
            "LOW" => Self::Low,
            "INFORMATIONAL" => Self::Informational,
            _ => Self::Undefined,
        }
    }
}

display_as_word!(Severity);

/// The registry's scanning type in a region (`GetRegistryScanningConfiguration`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ScanType {
    /// ECR's own scan: one `StartImageScan` per image per day.
    Basic,
    /// Amazon Inspector, scanning continuously.
    Enhanced,
}

impl ScanType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Basic => "BASIC",
            Self::Enhanced => "ENHANCED",
        }
    }
}

display_as_word!(ScanType);

/// How a destination's scan ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScanState {
    /// A dry run: the destination would be scanned.
    Planned,
    /// Every manifest's findings were read: complete (basic) or settled (enhanced).
    Complete,
    /// ECR reported the scan as failed (or the image as unsupported).
    Failed,
    /// `scan-timeout` passed before the findings were complete.
    TimedOut,
}

impl ScanState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Planned => "planned",
            Self::Complete => "complete",
            Self::Failed => "failed",
            Self::TimedOut => "timed-out",
        }
    }
}

display_as_word!(ScanState);

/// One finding in the report's short list of the worst.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WorstFinding {
    /// The CVE id (or Inspector's finding id when there is none).
    pub id: String,
    pub severity: Severity,
    /// Whether a fix is available (enhanced scanning only says).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix_available: Option<bool>,
}

impl fmt::Display for WorstFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.id, self.severity)
    }
}

/// A destination's scan in the report (`scan` in the JSON report's region).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScanReport {
    pub status: ScanState,
    /// Whether findings refuse the run (`scan: gate`) or are only reported.
    pub gate: bool,
    /// The severity at or above which findings refuse the run under `gate`.
    pub threshold: Severity,
    /// `BASIC` or `ENHANCED`; `null` when it could not be read (dry run without AWS access).
    #[serde(rename = "type")]
    pub scan_type: Option<ScanType>,
    /// The manifests scanned (each platform manifest of an index).
    pub manifests: Vec<String>,
    /// Findings by severity, ignored ones apart (each finding once, however many platforms
    /// have it).
    pub counts: BTreeMap<Severity, usize>,
    /// Findings left out because `scan-ignore` names them.
    pub ignored: usize,
    /// The worst findings, most severe first (at most [`WORST_LISTED`]).
    pub worst: Vec<WorstFinding>,
    /// Why the scan did not complete, when it did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// How many findings a report lists by name.
pub const WORST_LISTED: usize = 5;

impl ScanReport {
    /// A scan with no findings read yet.
    pub fn new(status: ScanState, scan_type: Option<ScanType>, manifests: Vec<String>) -> Self {
        Self {
            status,
            gate: false,
            threshold: Severity::High,
            scan_type,
            manifests,
            counts: BTreeMap::new(),
            ignored: 0,
            worst: Vec::new(),
            error: None,
        }
    }

    /// `2 CRITICAL, 1 HIGH`, most severe first; `no findings` when there are none.
    pub fn counts_text(&self) -> String {
        let parts: Vec<String> = self
            .counts
            .iter()
            .rev()
            .map(|(severity, n)| format!("{n} {severity}"))
            .collect();
        if parts.is_empty() {
            "no findings".to_string()
        } else {
            parts.join(", ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_are_ordered_and_read_as_ecr_writes_them() {
        assert!(Severity::Critical > Severity::High);
        assert!(Severity::Low > Severity::Informational);
        assert_eq!(Severity::from_ecr("high"), Severity::High);
        assert_eq!(Severity::from_ecr("UNTRIAGED"), Severity::Undefined);
        assert_eq!(
            serde_json::to_string(&Severity::Critical).unwrap(),
            "\"CRITICAL\""
        );
    }

    #[test]
    fn states_serialise_to_their_words() {
        crate::report::assert_words(&[
            (ScanState::Planned, "planned"),
            (ScanState::Complete, "complete"),
            (ScanState::Failed, "failed"),
            (ScanState::TimedOut, "timed-out"),
        ]);
    }

    #[test]
    fn counts_read_most_severe_first() {
        let mut scan = ScanReport::new(ScanState::Complete, Some(ScanType::Basic), vec![]);
        assert_eq!(scan.counts_text(), "no findings");
        scan.counts.insert(Severity::High, 1);
        scan.counts.insert(Severity::Critical, 2);
        assert_eq!(scan.counts_text(), "2 CRITICAL, 1 HIGH");
        let json = serde_json::to_value(&scan).unwrap();
        assert_eq!(json["type"], "BASIC");
        assert_eq!(json["counts"]["CRITICAL"], 2);
    }
}
