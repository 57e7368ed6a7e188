//! The dotenv file for GitLab's `artifacts: reports: dotenv`: `ECR_FANOUT_<NAME>=value`, one
//! line each. GitLab keeps quotes literally and allows no multi-line values, no blank lines and
//! no comments, so values are written bare and newlines are refused. It refuses a report over
//! [`MAX_BYTES`] and keeps at most [`MAX_VARIABLES`] variables (free tier), so the file holds
//! scalars and one variable per region, never the JSON aggregates; when the per-region values
//! in full would not fit, their compact forms stand in (see [`PerRegionForm`]), with a warning.

use std::path::Path;

use anyhow::{Context, bail};

use crate::report::Report;

/// GitLab's limit on a dotenv report's size, in bytes.
pub const MAX_BYTES: usize = 5_120;
/// GitLab's limit (free tier) on a dotenv report's variables.
pub const MAX_VARIABLES: usize = 50;

/// `image-eu-west-1` → `ECR_FANOUT_IMAGE_EU_WEST_1`.
pub fn variable_name(output: &str) -> String {
    format!(
        "ECR_FANOUT_{}",
        output.to_ascii_uppercase().replace('-', "_")
    )
}

/// How a per-region family of values is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PerRegionForm {
    /// `ECR_FANOUT_IMAGE_<REGION>` / `ECR_FANOUT_TASK_DEFINITION_<REGION>`: the value itself.
    Full,
    /// `ECR_FANOUT_REGISTRY_<REGION>` (the image is `${REGISTRY}/${REPOSITORY}@${DIGEST}`) /
    /// `ECR_FANOUT_TASK_DEFINITION_DIR` (the files are `<source stem>-<region>.json` in it).
    Compact,
}

/// The file's text, and the warning to log when compact forms had to stand in.
pub fn dotenv_text(report: &Report) -> anyhow::Result<(String, Option<String>)> {
    use PerRegionForm::{Compact, Full};
    let attempts = [(Full, Full), (Full, Compact), (Compact, Compact)];
    let mut text = String::new();
    for (images, task_definitions) in attempts {
        let no_task_definitions = report.task_definitions.is_empty();
        if (images, task_definitions) == (Full, Compact) && no_task_definitions {
            continue;
        }
        text = render(&variables(report, images, task_definitions))?;
        if fits(&text) {
            let compacted = (images, task_definitions) != (Full, Full);
            let warning =
                compact_warning(images, task_definitions == Compact && !no_task_definitions);
            return Ok((text, compacted.then_some(warning)));
        }
    }
    let warning = format!(
        "{}; even so the file has {} bytes and {} variables, over GitLab's limits",
        compact_warning(Compact, !report.task_definitions.is_empty()),
        text.len(),
        text.lines().count()
    );
    Ok((text, Some(warning)))
}

/// Writes (replaces) the dotenv file, and warns when it holds the compact forms.
pub fn write_dotenv(path: &Path, report: &Report) -> anyhow::Result<()> {
    let (text, warning) = dotenv_text(report)?;
    if let Some(warning) = warning {
        tracing::warn!("{warning}");
    }
    std::fs::write(path, text).with_context(|| format!("write dotenv file {}", path.display()))
}

fn fits(text: &str) -> bool {
    text.len() <= MAX_BYTES && text.lines().count() <= MAX_VARIABLES
}

fn compact_warning(images: PerRegionForm, task_definitions: bool) -> String {
    let mut written = Vec::new();
    if images == PerRegionForm::Compact {
        written.push(
            "each region's registry host as ECR_FANOUT_REGISTRY_<REGION> instead of its image URI \
             (the image is ${ECR_FANOUT_REGISTRY_<REGION>}/${ECR_FANOUT_REPOSITORY}@${ECR_FANOUT_DIGEST})",
        );
    }
    if task_definitions {
        written.push(
            "the rendered task definitions' directory as ECR_FANOUT_TASK_DEFINITION_DIR instead \
             of each path (the files are <source stem>-<region>.json in it)",
        );
    }
    format!(
        "dotenv: the per-region values in full would exceed GitLab's limits ({MAX_BYTES} bytes, \
         {MAX_VARIABLES} variables); writing {}",
        written.join(", and ")
    )
}

/// `(output name, value)` pairs: the scalars, then the per-region values in the given forms.
fn variables(
    report: &Report,
    images: PerRegionForm,
    task_definitions: PerRegionForm,
) -> Vec<(String, String)> {
    let primary_repository = report
        .regions
        .first()
        .map(|r| r.repository.clone())
        .unwrap_or_default();
    let regions = report.unique_regions();
    let mut values = vec![
        ("digest".to_string(), report.digest.to_string()),
        ("image".to_string(), report.image.clone()),
        ("registry".to_string(), report.registry.clone()),
        ("repository".to_string(), primary_repository.clone()),
        ("tags".to_string(), report.tags.join(",")),
        ("regions".to_string(), regions.join(",")),
        ("platforms".to_string(), report.platforms.join(",")),
        (
            "bytes-uploaded".to_string(),
            report.bytes_uploaded.to_string(),
        ),
    ];
    for region in &report.regions {
        match images {
            PerRegionForm::Full => {
                values.push((format!("image-{}", region.id), region.image.clone()));
            }
            PerRegionForm::Compact => {
                values.push((format!("registry-{}", region.id), region.registry.clone()));
                if region.repository != primary_repository {
                    values.push((
                        format!("repository-{}", region.id),
                        region.repository.clone(),
                    ));
                }
            }
        }
    }
    match task_definitions {
        PerRegionForm::Full => values.extend(
            report
                .regions
                .iter()
                .filter_map(|r| Some((r, report.task_definitions.get(&r.id)?)))
                .map(|(r, path)| (format!("task-definition-{}", r.id), path.clone())),
        ),
        PerRegionForm::Compact => {
            let dir = report
                .task_definitions
                .values()
                .next()
                .and_then(|p| Path::new(p).parent())
                .map(|d| d.display().to_string());
            values.extend(dir.map(|d| ("task-definition-dir".to_string(), d)));
        }
    }
    values
}

fn render(values: &[(String, String)]) -> anyhow::Result<String> {
    let mut text = String::new();
    for (name, value) in values {
        if value.contains('\n') {
            bail!("output {name} has several lines, which a dotenv file cannot hold");
        }
        text.push_str(&format!("{}={value}\n", variable_name(name)));
    }
    Ok(text)
}

#[cfg(test)]
mod tests;
