//! Measurements and the tables printed from them (Markdown, so they can go into the docs): per
//! image the main table (wall time, ratios to the floor and to skopeo ×3 parallel, peak RSS,
//! bytes uploaded), with `--promote` the promotion and scale tables (the same columns, other
//! baselines), and the simulated WAN's table. The targets under them are in `targets`.

use std::time::Duration;

/// One measured run of one row.
#[derive(Debug, Clone)]
pub struct Sample {
    pub wall: Duration,
    pub peak_rss_kib: u64,
    pub bytes_uploaded: u64,
    /// Layer blobs the source registry served during the run (promotion rows only).
    pub layer_downloads: Option<usize>,
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

    pub fn wall(&self) -> Option<f64> {
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
pub const PROMOTE_THREE: &str = "ecr-fanout promote (docker://) → 3 regions";
pub const SKOPEO_PROMOTE_PARALLEL: &str = "skopeo copy docker:// ×3 parallel";
pub const PROMOTE_RERUN: &str = "ecr-fanout promote re-run → 3 regions";
pub const FLOOR_TEN: &str = "floor (every blob to 10 registries at once)";
pub const ECR_TEN: &str = "ecr-fanout → 10 regions";
pub const PROMOTE_TEN: &str = "ecr-fanout promote (docker://) → 10 regions";

/// The main table's rows, in order, and its ratio columns.
pub const MAIN_ROWS: [&str; 7] = [
    FLOOR,
    ECR_ONE,
    ECR_THREE,
    SKOPEO_PARALLEL,
    SKOPEO_SEQUENTIAL,
    DOCKER,
    RERUN,
];
pub const MAIN_RATIOS: [(&str, &str); 2] = [("× floor", FLOOR), ("× skopeo ∥", SKOPEO_PARALLEL)];
/// The promotion table: the push from disk (the main table's row) against promotion.
pub const PROMOTION_ROWS: [&str; 4] = [
    ECR_THREE,
    PROMOTE_THREE,
    SKOPEO_PROMOTE_PARALLEL,
    PROMOTE_RERUN,
];
pub const PROMOTION_RATIOS: [(&str, &str); 2] = [
    ("× skopeo docker:// ∥", SKOPEO_PROMOTE_PARALLEL),
    ("× from disk", ECR_THREE),
];
/// The scale table: ten registries.
pub const SCALE_ROWS: [&str; 3] = [FLOOR_TEN, ECR_TEN, PROMOTE_TEN];
pub const SCALE_RATIOS: [(&str, &str); 1] = [("× floor", FLOOR_TEN)];

/// A table of `rows` with one ratio column per `(header, baseline label)` of `ratios`, a
/// ratio to a baseline that is not among the rows printed as `–`.
pub fn render_image_table(title: &str, rows: &[Row], ratios: &[(&str, &str)]) -> String {
    let baselines: Vec<Option<f64>> = ratios
        .iter()
        .map(|(_, label)| {
            rows.iter()
                .find(|row| row.label == *label)
                .and_then(Row::wall)
        })
        .collect();
    let headers: String = ratios
        .iter()
        .map(|(header, _)| format!(" {header} |"))
        .collect();
    let aligns = "---:|".repeat(ratios.len());
    let mut out = format!(
        "### {title}\n\n| run | wall s |{headers} peak RSS MiB | bytes uploaded |\n\
         |---|---:|{aligns}---:|---:|\n"
    );
    for row in rows {
        match &row.outcome {
            Ok(sample) => {
                let wall = sample.wall.as_secs_f64();
                let ratios: String = baselines
                    .iter()
                    .map(|base| format!(" {} |", ratio(wall, *base)))
                    .collect();
                out += &format!(
                    "| {} | {wall:.2} |{ratios} {:.1} | {} |\n",
                    row.label,
                    sample.peak_rss_kib as f64 / 1024.0,
                    group_digits(sample.bytes_uploaded),
                );
            }
            Err(reason) => {
                out += &format!(
                    "| {} | not measured: {} |{} | |\n",
                    row.label,
                    one_line(reason),
                    " |".repeat(ratios.len()),
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
