//! The `targets:` line under each table: every goal of the benchmark with its measured value
//! and `met` or `MISSED`. The main table: 3 regions ≤ 1.15 × the floor, faster than skopeo ×3
//! parallel, a re-run under 2 s with 0 bytes. The WAN: 3 regions ≤ 1.2 × the slowest single
//! region. Promotion: ≤ 0.7 × three parallel `skopeo copy docker://`, ≤ 1.2 × the push from
//! disk, peak RSS under 64 MiB, each layer downloaded once, a re-run under 2 s uploading 0 bytes
//! and downloading no layer.
//! Scale: from disk and promoted to 10 regions ≤ 1.15 × the floor for 10, under 64 MiB.

use super::table::{
    ECR_TEN, ECR_THREE, FLOOR, FLOOR_TEN, PROMOTE_RERUN, PROMOTE_TEN, PROMOTE_THREE, RERUN, Row,
    SKOPEO_PARALLEL, SKOPEO_PROMOTE_PARALLEL, Sample,
};

/// The bound on peak RSS of a promotion (and of any push to ten regions).
const RSS_BOUND_MIB: f64 = 64.0;

/// The main table's targets, each with its measured value and met/MISSED.
pub fn render_targets(rows: &[Row]) -> String {
    let find = |label: &str| rows.iter().find(|row| row.label == label);
    let wall = |label: &str| find(label).and_then(Row::wall);
    let mut lines = Vec::new();
    if let (Some(three), Some(floor)) = (wall(ECR_THREE), wall(FLOOR)) {
        let ratio = three / floor;
        lines.push(verdict(
            format!("3 regions ≤ 1.15 × floor: {ratio:.2}"),
            ratio <= 1.15,
        ));
    }
    if let (Some(three), Some(skopeo)) = (wall(ECR_THREE), wall(SKOPEO_PARALLEL)) {
        let ratio = three / skopeo;
        lines.push(verdict(
            format!("3 regions faster than skopeo ×3 parallel: {ratio:.2}"),
            ratio < 1.0,
        ));
    }
    if let Some(Ok(rerun)) = find(RERUN).map(|row| &row.outcome) {
        lines.push(rerun_verdict(rerun));
    }
    format!("targets: {}\n", lines.join("; "))
}

/// The promotion table's targets; `layers` is how many layers the image has (the promotion
/// must download each once).
pub fn render_promotion_targets(rows: &[Row], layers: usize) -> String {
    let find = |label: &str| rows.iter().find(|row| row.label == label);
    let wall = |label: &str| find(label).and_then(Row::wall);
    let mut lines = Vec::new();
    if let Some(promote) = wall(PROMOTE_THREE) {
        for (name, baseline, bound) in [
            ("skopeo docker:// ×3 parallel", SKOPEO_PROMOTE_PARALLEL, 0.7),
            ("the push from disk", ECR_THREE, 1.2),
        ] {
            if let Some(base) = wall(baseline) {
                let ratio = promote / base;
                let text = format!("promotion ≤ {bound} × {name}: {ratio:.2}");
                lines.push(verdict(text, ratio <= bound));
            }
        }
    }
    if let Some(Ok(promote)) = find(PROMOTE_THREE).map(|row| &row.outcome) {
        lines.push(rss_verdict("promotion", promote));
        if let Some(downloads) = promote.layer_downloads {
            let text = format!("each of {layers} layers downloaded once: {downloads} downloads");
            lines.push(verdict(text, downloads == layers));
        }
    }
    if let Some(Ok(rerun)) = find(PROMOTE_RERUN).map(|row| &row.outcome) {
        lines.push(rerun_verdict(rerun));
    }
    format!("targets: {}\n", lines.join("; "))
}

/// The scale table's targets: each push to ten within 1.15 × the floor for ten, bounded RSS.
pub fn render_scale_targets(rows: &[Row]) -> String {
    let find = |label: &str| rows.iter().find(|row| row.label == label);
    let floor = find(FLOOR_TEN).and_then(Row::wall);
    let mut lines = Vec::new();
    for (name, label) in [("from disk", ECR_TEN), ("promoted", PROMOTE_TEN)] {
        let Some(Ok(sample)) = find(label).map(|row| &row.outcome) else {
            continue;
        };
        if let Some(floor) = floor {
            let ratio = sample.wall.as_secs_f64() / floor;
            let text = format!("{name} → 10 ≤ 1.15 × floor: {ratio:.2}");
            lines.push(verdict(text, ratio <= 1.15));
        }
        lines.push(rss_verdict(name, sample));
    }
    format!("targets: {}\n", lines.join("; "))
}

/// A re-run under 2 s with 0 bytes uploaded (and, for a promotion, no layer downloaded).
fn rerun_verdict(rerun: &Sample) -> String {
    let seconds = rerun.wall.as_secs_f64();
    let mut met = seconds < 2.0 && rerun.bytes_uploaded == 0;
    let mut text = format!(
        "re-run under 2 s, 0 bytes: {seconds:.2} s, {} bytes",
        rerun.bytes_uploaded
    );
    if let Some(downloads) = rerun.layer_downloads {
        met &= downloads == 0;
        text = format!(
            "re-run under 2 s, 0 bytes, no layer downloaded: {seconds:.2} s, {} bytes, \
             {downloads} layer downloads",
            rerun.bytes_uploaded
        );
    }
    verdict(text, met)
}

fn rss_verdict(name: &str, sample: &Sample) -> String {
    let mib = sample.peak_rss_kib as f64 / 1024.0;
    let text = format!("{name} peak RSS < {RSS_BOUND_MIB} MiB: {mib:.1}");
    verdict(text, mib < RSS_BOUND_MIB)
}

/// The WAN target: 3 regions within 1.2 × the slowest single region.
pub fn render_wan_target(three: &Row, singles: &[Row]) -> String {
    let slowest = singles.iter().filter_map(Row::wall).reduce(f64::max);
    match (three.wall(), slowest) {
        (Some(three), Some(slowest)) => {
            let ratio = three / slowest;
            let text = format!("3 regions ≤ 1.2 × slowest single region: {ratio:.2}");
            format!("target: {}\n", verdict(text, ratio <= 1.2))
        }
        _ => "target: not measured\n".to_owned(),
    }
}

fn verdict(text: String, met: bool) -> String {
    format!("{text} ({})", if met { "met" } else { "MISSED" })
}
