//! The output names and their values for `$GITHUB_OUTPUT`, computed once from a `Report` (the
//! dotenv file has its own, smaller set: `dotenv.rs`).

use serde_json::json;

use crate::report::Report;

/// `(name, value)` pairs in the documented order; JSON values are compact, one line.
pub fn output_values(report: &Report) -> Vec<(String, String)> {
    let regions = report.unique_regions();
    let mut values = vec![
        ("digest".to_string(), report.digest.to_string()),
        ("image".to_string(), report.image.clone()),
        ("images".to_string(), json!(report.images).to_string()),
    ];
    for region in &report.regions {
        values.push((format!("image-{}", region.id), region.image.clone()));
    }
    values.extend([
        ("tags".to_string(), json!(report.tags).to_string()),
        ("regions".to_string(), json!(regions).to_string()),
        ("platforms".to_string(), json!(report.platforms).to_string()),
        ("registry".to_string(), report.registry.clone()),
        (
            "registries".to_string(),
            json!(report.registries).to_string(),
        ),
        (
            "task-definitions".to_string(),
            json!(report.task_definitions).to_string(),
        ),
    ]);
    for region in &report.regions {
        if let Some(path) = report.task_definitions.get(&region.id) {
            values.push((format!("task-definition-{}", region.id), path.clone()));
        }
    }
    values.push((
        "bytes-uploaded".to_string(),
        report.bytes_uploaded.to_string(),
    ));
    values.push((
        "destinations".to_string(),
        json!(report.destinations).to_string(),
    ));
    values.push(("source".to_string(), json!(report.source).to_string()));
    if let Some(findings) = scan_findings(report) {
        values.push(("scan-findings".to_string(), findings.to_string()));
    }
    values
}

/// `scan-findings`: destination id → counts by severity, for each scanned destination; `None`
/// when no destination was scanned (`scan: off`).
fn scan_findings(report: &Report) -> Option<serde_json::Value> {
    let scanned: serde_json::Map<String, serde_json::Value> = report
        .regions
        .iter()
        .filter_map(|r| Some((r.id.clone(), json!(r.scan.as_ref()?.counts))))
        .collect();
    (!scanned.is_empty()).then_some(serde_json::Value::Object(scanned))
}
