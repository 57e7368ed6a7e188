//! GitHub Actions files: `$GITHUB_OUTPUT` (every value in the delimiter form, so multi-line
//! values are safe) and the Markdown step summary in `$GITHUB_STEP_SUMMARY`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use anyhow::Context;

use std::collections::BTreeMap;

use crate::report::{Convergence, ConvergenceState, Report, RunStatus};

/// Appends `name<<DELIMITER` blocks to the outputs file.
pub fn append_outputs(path: &Path, values: &[(String, String)]) -> anyhow::Result<()> {
    let mut text = String::new();
    for (name, value) in values {
        let delimiter = delimiter_for(value);
        let _ = writeln!(text, "{name}<<{delimiter}\n{value}\n{delimiter}");
    }
    append(path, &text).with_context(|| format!("write GitHub outputs to {}", path.display()))
}

/// A delimiter that does not occur in `value`.
fn delimiter_for(value: &str) -> String {
    let mut n = 0u32;
    loop {
        let candidate = format!("ECR_FANOUT_EOF_{n}");
        if !value.contains(&candidate) {
            return candidate;
        }
        n += 1;
    }
}

/// Appends the run's table to the step summary.
pub fn append_summary(path: &Path, report: &Report) -> anyhow::Result<()> {
    let title = match report.status {
        RunStatus::Planned => "ecr-fanout dry run".to_string(),
        RunStatus::Failed => format!("ecr-fanout {} failed", report.command),
        RunStatus::Succeeded => format!("ecr-fanout {}", report.command),
    };
    // The referrers column appears when some destination lists referrers for the image.
    let with_referrers = report.regions.iter().any(|r| !r.referrers.is_empty());
    let (referrers_head, referrers_rule) = if with_referrers {
        (" referrers |", "---:|")
    } else {
        ("", "")
    };
    let mut text = format!(
        "### {title}\n\nDigest `{}` · tags {} · {} image bytes\n\n| region | repository | image | bytes uploaded | time | status |{referrers_head}\n|---|---|---|---:|---:|---|{referrers_rule}\n",
        report.digest,
        report
            .tags
            .iter()
            .map(|t| format!("`{t}`"))
            .collect::<Vec<_>>()
            .join(", "),
        report.image_bytes
    );
    for r in &report.regions {
        let referrers = if with_referrers {
            let own = r.referrers.iter().filter(|l| l.own).count();
            match own {
                0 => format!(" {} |", r.referrers.len()),
                own => format!(" {} ({own} its own) |", r.referrers.len()),
            }
        } else {
            String::new()
        };
        let _ = writeln!(
            text,
            "| {} | {} | `{}` | {} | {:.1} s | {} |{referrers}",
            r.label(),
            r.repository,
            r.image,
            r.bytes_uploaded,
            r.seconds,
            r.status
        );
    }
    convergence_alerts(&mut text, &report.convergence);
    scan_table(&mut text, report);
    if let Some(error) = &report.error {
        let _ = writeln!(text, "\n**Error:** {}", error.replace('\n', " "));
    }
    append(path, &text).with_context(|| format!("write GitHub step summary to {}", path.display()))
}

/// A split tag as a red CAUTION alert, a superseded one as a WARNING, with what each region
/// serves.
fn convergence_alerts(text: &mut String, convergence: &BTreeMap<String, Convergence>) {
    for (tag, verdict) in convergence {
        let (alert, what) = match verdict.state {
            ConvergenceState::Converged => continue,
            ConvergenceState::Split => ("CAUTION", "ended **split** across regions"),
            ConvergenceState::Superseded => (
                "WARNING",
                "was moved by another run after this one, to the same image in every region",
            ),
        };
        let _ = writeln!(text, "\n> [!{alert}]\n> Tag `{tag}` {what}:");
        for (region, digest) in &verdict.digests {
            let served = digest
                .as_ref()
                .map_or_else(|| "no such tag".to_string(), |d| format!("`{d}`"));
            let _ = writeln!(text, "> - {region}: {served}");
        }
    }
}

/// The scanned destinations' findings: type, status, counts and the worst findings.
fn scan_table(text: &mut String, report: &Report) {
    let scanned: Vec<_> = report
        .regions
        .iter()
        .filter_map(|r| Some((r, r.scan.as_ref()?)))
        .collect();
    if scanned.is_empty() {
        return;
    }
    text.push_str("\n| scanned | type | status | findings | worst |\n|---|---|---|---|---|\n");
    for (region, scan) in scanned {
        let worst: Vec<String> = scan.worst.iter().map(|f| format!("`{f}`")).collect();
        let scan_type = scan.scan_type.map_or("unknown", |t| t.as_str());
        let _ = writeln!(
            text,
            "| {} | {scan_type} | {} | {} | {} |",
            region.label(),
            scan.status,
            scan.counts_text(),
            worst.join(", ")
        );
    }
}

fn append(path: &Path, text: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiter_avoids_the_value() {
        assert_eq!(delimiter_for("plain"), "ECR_FANOUT_EOF_0");
        assert_eq!(delimiter_for("x ECR_FANOUT_EOF_0 y"), "ECR_FANOUT_EOF_1");
    }

    #[test]
    fn outputs_use_the_delimiter_form() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        append_outputs(
            &path,
            &[("a".into(), "1".into()), ("b".into(), "x\ny".into())],
        )
        .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "a<<ECR_FANOUT_EOF_0\n1\nECR_FANOUT_EOF_0\nb<<ECR_FANOUT_EOF_0\nx\ny\nECR_FANOUT_EOF_0\n"
        );
    }

    #[test]
    fn a_split_tag_is_a_red_caution_and_a_superseded_one_a_warning() {
        let ours: crate::image::Digest = format!("sha256:{}", "1".repeat(64)).parse().unwrap();
        let theirs: crate::image::Digest = format!("sha256:{}", "2".repeat(64)).parse().unwrap();
        let split = Convergence::of(
            &ours,
            BTreeMap::from([
                ("eu-west-1".to_string(), Some(theirs.clone())),
                ("us-east-1".to_string(), Some(ours.clone())),
            ]),
        );
        let superseded = Convergence::of(
            &ours,
            BTreeMap::from([("us-east-1".to_string(), Some(theirs.clone()))]),
        );
        let converged = Convergence::of(
            &ours,
            BTreeMap::from([("us-east-1".to_string(), Some(ours.clone()))]),
        );
        let mut text = String::new();
        let verdicts = BTreeMap::from([
            ("latest".to_string(), superseded),
            ("race".to_string(), split),
            ("v1".to_string(), converged),
        ]);
        convergence_alerts(&mut text, &verdicts);
        assert_eq!(
            text,
            format!(
                "\n> [!WARNING]\n> Tag `latest` was moved by another run after this one, to the \
                 same image in every region:\n> - us-east-1: `{theirs}`\n\n> [!CAUTION]\n> Tag \
                 `race` ended **split** across regions:\n> - eu-west-1: `{theirs}`\n> - \
                 us-east-1: `{ours}`\n"
            )
        );
    }
}
