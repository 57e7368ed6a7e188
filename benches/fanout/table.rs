//! Measurements and the tables printed from them (Markdown, for docs/benchmark.md):
//! one per image (wall time, ratios to the floor and to skopeo ×3 parallel, peak RSS, bytes
//! uploaded) and one per image for the simulated WAN.

use std::time::Duration;

/// One measured run of one row.
#[derive(Debug, Clone)]
pub struct Sample {
    pub wall: Duration,
    pub peak_rss_kib: u64,
    pub bytes_uploaded: u64,
}

/// A row: its median sample over the runs, or why it could not be measured.
#[derive(Clone)]
pub struct Row {
    pub label: String,
    pub outcome: Result<Sample, String>,
}

impl Row {
    /// The median-wall sample of `samples` (peak RSS: the largest seen), or the first error.
    pub fn from_samples(label: impl Into<String>, samples: Vec<Result<Sample, String>>) -> Row {
        let label = label.into();
        let mut good = Vec::new();
        for sample in samples {
            match sample {
                Ok(sample) => good.push(sample),
                Err(reason) => {
                    return Row {
                        label,
                        outcome: Err(reason),
                    };
                }
            }
        }
        good.sort_by_key(|sample| sample.wall);
        let peak = good.iter().map(|sample| sample.peak_rss_kib).max();
        let outcome = match (good.get(good.len() / 2), peak) {
            (Some(median), Some(peak)) => Ok(Sample {
                peak_rss_kib: peak,
                ..median.clone()
            }),
            _ => Err("not measured".to_owned()),
        };
        Row { label, outcome }
    }

    fn wall(&self) -> Option<f64> {
        self.outcome.as_ref().ok().map(|s| s.wall.as_secs_f64())
    }
}

pub const FLOOR: &str = "floor (every blob to 3 registries at once)";
pub const ECR_ONE: &str = "ecr-fanout → 1 region";
pub const ECR_THREE: &str = "ecr-fanout → 3 regions";
pub const SKOPEO_PARALLEL: &str = "skopeo copy ×3 parallel";
pub const SKOPEO_SEQUENTIAL: &str = "skopeo copy ×3 sequential";
pub const DOCKER: &str = "docker push ×3 sequential (dockerd)";
pub const RERUN: &str = "ecr-fanout re-run → 3 regions";

/// The per-image table.
pub fn render_image_table(title: &str, rows: &[Row]) -> String {
    let find = |label: &str| {
        rows.iter()
            .find(|row| row.label == label)
            .and_then(Row::wall)
    };
    let floor = find(FLOOR);
    let skopeo = find(SKOPEO_PARALLEL);
    let mut out = format!(
        "### {title}\n\n| run | wall s | × floor | × skopeo ∥ | peak RSS MiB | bytes uploaded |\n\
         |---|---:|---:|---:|---:|---:|\n"
    );
    for row in rows {
        match &row.outcome {
            Ok(sample) => {
                let wall = sample.wall.as_secs_f64();
                out += &format!(
                    "| {} | {wall:.2} | {} | {} | {:.1} | {} |\n",
                    row.label,
                    ratio(wall, floor),
                    ratio(wall, skopeo),
                    sample.peak_rss_kib as f64 / 1024.0,
                    group_digits(sample.bytes_uploaded),
                );
            }
            Err(reason) => {
                out += &format!(
                    "| {} | not measured: {} | | | | |\n",
                    row.label,
                    one_line(reason)
                )
            }
        }
    }
    out
}

/// The WAN table: 3 regions at once, then each region alone; the ratio of the 3-region time
/// to the slowest single region.
pub fn render_wan_table(title: &str, three: &Row, singles: &[Row]) -> String {
    let slowest = singles
        .iter()
        .filter_map(Row::wall)
        .fold(None, |max: Option<f64>, wall| {
            Some(max.map_or(wall, |max| max.max(wall)))
        });
    let mut out = format!(
        "### {title}\n\n| run | wall s | × slowest single region | peak RSS MiB | bytes uploaded |\n\
         |---|---:|---:|---:|---:|\n"
    );
    for row in std::iter::once(three).chain(singles) {
        match &row.outcome {
            Ok(sample) => {
                let wall = sample.wall.as_secs_f64();
                out += &format!(
                    "| {} | {wall:.2} | {} | {:.1} | {} |\n",
                    row.label,
                    ratio(wall, slowest),
                    sample.peak_rss_kib as f64 / 1024.0,
                    group_digits(sample.bytes_uploaded),
                );
            }
            Err(reason) => {
                out += &format!(
                    "| {} | not measured: {} | | | |\n",
                    row.label,
                    one_line(reason)
                )
            }
        }
    }
    out
}

/// The performance targets for one image, each with its measured value and met/MISSED.
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
        let seconds = rerun.wall.as_secs_f64();
        let met = seconds < 2.0 && rerun.bytes_uploaded == 0;
        let text = format!(
            "re-run under 2 s, 0 bytes: {seconds:.2} s, {} bytes",
            rerun.bytes_uploaded
        );
        lines.push(verdict(text, met));
    }
    format!("targets: {}\n", lines.join("; "))
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

fn ratio(value: f64, base: Option<f64>) -> String {
    match base {
        Some(base) if base > 0.0 => format!("{:.2}", value / base),
        _ => "–".to_owned(),
    }
}

/// 1234567 → "1 234 567".
fn group_digits(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (position, digit) in digits.chars().enumerate() {
        if position > 0 && (digits.len() - position).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(digit);
    }
    out
}

/// A reason on one table line: first line, no pipes, at most 240 characters.
fn one_line(reason: &str) -> String {
    let first = reason
        .lines()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("");
    let cleaned = first.replace('|', "/");
    match cleaned.char_indices().nth(240) {
        Some((cut, _)) => format!("{}…", &cleaned[..cut]),
        None => cleaned,
    }
}
