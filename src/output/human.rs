//! The plain-text rendering of a report for stdout: the plan of a dry run, or one line per
//! region with its digest-pinned URI after a push.

use std::fmt::Write as _;

use crate::report::{RegionReport, Report, RepositoryAction, ScanType};

/// The text for stdout.
pub fn render(report: &Report) -> String {
    let mut text = String::new();
    if report.dry_run {
        let _ = writeln!(
            text,
            "dry run: nothing was written. Image {} ({}{}), {} blob bytes; tags {}",
            report.digest,
            report.media_type,
            platforms(&report.platforms),
            human_bytes(report.image_bytes),
            report.tags.join(", ")
        );
        for region in &report.regions {
            render_plan(&mut text, region);
        }
    } else {
        for region in &report.regions {
            let _ = writeln!(
                text,
                "{}\t{}\t{}\t{} uploaded in {:.1} s",
                region.label(),
                region.image,
                region.status,
                human_bytes(region.bytes_uploaded),
                region.seconds
            );
            if let Some(changes) = super::repository_changes::summary(&region.repository_changes) {
                let _ = writeln!(text, "  repository: {changes}");
            }
            if let Some(scan) = &region.scan {
                let _ = writeln!(text, "  scan: {} ({})", scan.status, scan.counts_text());
            }
        }
    }
    text
}

fn render_plan(text: &mut String, region: &RegionReport) {
    let repository = match &region.repository_action {
        RepositoryAction::Exists {
            tag_mutability,
            exclusion_filters,
        } if !exclusion_filters.is_empty() => {
            format!(
                "exists, {tag_mutability} ({})",
                exclusion_filters.join(", ")
            )
        }
        RepositoryAction::Exists { tag_mutability, .. } => format!("exists, {tag_mutability}"),
        RepositoryAction::Create => "would be created".to_string(),
        RepositoryAction::Missing => "MISSING (create-repository is false)".to_string(),
        RepositoryAction::Unchecked => "not checked".to_string(),
    };
    let tags: Vec<String> = region
        .tags
        .iter()
        .map(|t| match &t.current {
            Some(current) => format!("{} {} (now {current})", t.tag, t.action),
            None => format!("{} {}", t.tag, t.action),
        })
        .collect();
    let _ = writeln!(
        text,
        "\n{} ({}): repository {} [{repository}]\n  upload: {} of {} blobs, {}\n  tags: {}\n  image: {}",
        region.label(),
        region.registry,
        region.repository,
        region.blobs_to_upload,
        region.blobs_to_upload + region.blobs_skipped,
        human_bytes(region.bytes_to_upload),
        tags.join(", "),
        region.image
    );
    super::repository_changes::render_plan(text, &region.repository_changes);
    if let Some(scan) = &region.scan {
        let how = match scan.scan_type {
            Some(ScanType::Basic) => "basic scanning: a scan is started, then read until COMPLETE",
            Some(ScanType::Enhanced) => {
                "enhanced scanning (Amazon Inspector): read until ACTIVE and the findings stop changing"
            }
            None => "scanning type not checked",
        };
        let rule = if scan.gate {
            format!(
                "gate: findings at or above {} refuse the run",
                scan.threshold
            )
        } else {
            "report only".to_string()
        };
        let _ = writeln!(
            text,
            "  scan: would scan {} manifest(s), {rule} ({how})",
            scan.manifests.len()
        );
    }
    for item in &region.unchecked {
        let _ = writeln!(text, "  not checked: {item}");
    }
    if let Some(error) = &region.error {
        let _ = writeln!(text, "  refused: {error}");
    }
}

fn platforms(platforms: &[String]) -> String {
    if platforms.is_empty() {
        String::new()
    } else {
        format!(", {}", platforms.join(", "))
    }
}

/// `1.5 MiB`, `512 B`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 * 1024 * 1024), "3.0 MiB");
    }
}
