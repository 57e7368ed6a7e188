//! From a destination's findings to its scan report and the gate's verdict: each finding once
//! (the most severe reading when platforms differ), `scan-ignore` entries that still apply set
//! apart, counts by severity, the worst findings, and which findings the gate refuses.

use std::collections::BTreeMap;

use crate::config::scan::{IgnoredFinding, ScanOptions};
use crate::ecr::Finding;
use crate::report::{ScanReport, ScanState, ScanType, WORST_LISTED, WorstFinding};

/// The report of a completed scan and the findings that refuse the image under `gate`.
pub struct Verdict {
    pub report: ScanReport,
    pub refusing: Vec<WorstFinding>,
}

/// Judges `findings` (of every scanned manifest) by `options`; `today` is in days since
/// 1970-01-01, for `until=` dates.
pub fn judge(
    options: &ScanOptions,
    (scan_type, manifests): (ScanType, Vec<String>),
    findings: Vec<Finding>,
    today: i64,
) -> Verdict {
    let active: Vec<&IgnoredFinding> = options
        .ignore
        .iter()
        .filter(|i| i.applies_on(today))
        .collect();
    let mut report = ScanReport::new(ScanState::Complete, Some(scan_type), manifests);
    report.gate = options.mode == crate::config::scan::ScanMode::Gate;
    report.threshold = options.threshold;
    let mut kept: Vec<Finding> = Vec::new();
    for finding in once_each(findings) {
        if active.iter().any(|i| finding.is_named(&i.id)) {
            report.ignored += 1;
        } else {
            *report.counts.entry(finding.severity).or_insert(0) += 1;
            kept.push(finding);
        }
    }
    kept.sort_by(|a, b| b.severity.cmp(&a.severity).then_with(|| a.id.cmp(&b.id)));
    let listed = |f: &Finding| WorstFinding {
        id: f.id.clone(),
        severity: f.severity,
        fix_available: f.fix_available,
    };
    report.worst = kept.iter().take(WORST_LISTED).map(listed).collect();
    let refusing = kept
        .iter()
        .filter(|f| f.severity >= options.threshold)
        .filter(|f| !options.fixable_only || f.fix_available == Some(true))
        .map(listed)
        .collect();
    Verdict { report, refusing }
}

/// Each finding id once, at its most severe (a CVE in two platforms counts once).
fn once_each(findings: Vec<Finding>) -> Vec<Finding> {
    let mut by_id: BTreeMap<String, Finding> = BTreeMap::new();
    for finding in findings {
        match by_id.get_mut(&finding.id) {
            Some(seen) if seen.severity >= finding.severity => {
                seen.fix_available = seen.fix_available.or(finding.fix_available);
            }
            _ => {
                by_id.insert(finding.id.clone(), finding);
            }
        }
    }
    by_id.into_values().collect()
}

/// The `scan-ignore` entries whose date has passed, as written, for a warning.
pub fn expired(options: &ScanOptions, today: i64) -> Vec<String> {
    options
        .ignore
        .iter()
        .filter(|i| !i.applies_on(today))
        .map(|i| match &i.until {
            Some((date, _)) => format!("{} until={date}", i.id),
            None => i.id.clone(),
        })
        .collect()
}

/// `1 HIGH at or above HIGH: CVE-1 (HIGH), CVE-2 (HIGH)` for the gate's error.
pub fn refusal_text(options: &ScanOptions, refusing: &[WorstFinding]) -> String {
    let mut counts: BTreeMap<crate::report::Severity, usize> = BTreeMap::new();
    for finding in refusing {
        *counts.entry(finding.severity).or_insert(0) += 1;
    }
    let counts: Vec<String> = counts
        .iter()
        .rev()
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    let worst: Vec<String> = refusing
        .iter()
        .take(WORST_LISTED)
        .map(ToString::to_string)
        .collect();
    let fixable = if options.fixable_only {
        " with a fix available"
    } else {
        ""
    };
    format!(
        "{} finding(s) at or above {}{fixable} ({}): {}",
        refusing.len(),
        options.threshold,
        counts.join(", "),
        worst.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::scan::{ScanMode, days_of_date};
    use crate::report::Severity;

    fn finding(id: &str, severity: Severity, fix: Option<bool>) -> Finding {
        Finding {
            id: id.into(),
            arn: None,
            severity,
            fix_available: fix,
        }
    }

    fn gate(ignore: &[(&str, Option<&str>)], fixable_only: bool) -> ScanOptions {
        ScanOptions {
            mode: ScanMode::Gate,
            ignore: ignore
                .iter()
                .map(|(id, until)| IgnoredFinding {
                    id: (*id).into(),
                    until: until.map(|d| (d.to_string(), days_of_date(d).unwrap())),
                })
                .collect(),
            fixable_only,
            ..ScanOptions::default()
        }
    }

    fn judged(options: &ScanOptions, findings: Vec<Finding>) -> Verdict {
        let today = days_of_date("2026-03-01").unwrap();
        judge(
            options,
            (ScanType::Basic, vec!["sha256:a".into()]),
            findings,
            today,
        )
    }

    #[test]
    fn findings_at_or_above_the_threshold_refuse_and_lower_ones_are_only_counted() {
        let verdict = judged(
            &gate(&[], false),
            vec![
                finding("CVE-low", Severity::Low, None),
                finding("CVE-high", Severity::High, None),
                finding("CVE-crit", Severity::Critical, None),
            ],
        );
        let refusing: Vec<&str> = verdict.refusing.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(refusing, ["CVE-crit", "CVE-high"]);
        assert_eq!(verdict.report.counts_text(), "1 CRITICAL, 1 HIGH, 1 LOW");
        assert_eq!(verdict.report.worst[0].id, "CVE-crit");
        assert_eq!(
            refusal_text(&gate(&[], false), &verdict.refusing),
            "2 finding(s) at or above HIGH (1 CRITICAL, 1 HIGH): CVE-crit (CRITICAL), CVE-high (HIGH)"
        );
    }

    #[test]
    fn an_ignored_id_does_not_refuse_until_its_date_has_passed() {
        let findings = || vec![finding("CVE-1", Severity::High, None)];
        let ignored = judged(&gate(&[("CVE-1", Some("2026-03-01"))], false), findings());
        assert!(ignored.refusing.is_empty());
        assert_eq!(ignored.report.ignored, 1);
        let options = gate(&[("CVE-1", Some("2026-02-28"))], false);
        assert_eq!(judged(&options, findings()).refusing.len(), 1);
        let today = days_of_date("2026-03-01").unwrap();
        assert_eq!(expired(&options, today), ["CVE-1 until=2026-02-28"]);
    }

    #[test]
    fn fixable_only_refuses_only_findings_with_a_fix() {
        let verdict = judged(
            &gate(&[], true),
            vec![
                finding("CVE-nofix", Severity::Critical, Some(false)),
                finding("CVE-fix", Severity::High, Some(true)),
            ],
        );
        let refusing: Vec<&str> = verdict.refusing.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(refusing, ["CVE-fix"]);
    }

    #[test]
    fn a_finding_in_two_platforms_counts_once_at_its_worst() {
        let verdict = judged(
            &gate(&[], false),
            vec![
                finding("CVE-1", Severity::Medium, None),
                finding("CVE-1", Severity::High, None),
            ],
        );
        assert_eq!(verdict.report.counts_text(), "1 HIGH");
    }
}
