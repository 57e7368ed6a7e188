//! Inputs that shape what `push` hands to the deploy step: `image-uri-format` (how every URI
//! output names the image), `lambda-compatible` (refuse what AWS Lambda cannot run), and
//! `ecs-task-definition` / `ecs-container-name` (a task definition rendered per region). The
//! flags live here, and are validated into one [`HandoffOptions`].

use std::path::PathBuf;

use clap::Args;

use super::Target;
use super::names::check_region;
use super::raw::{RawInputs, split_list};
use crate::error::InputError;

/// The `push` flags of this module, flattened into `PushArgs`.
#[derive(Debug, Args)]
pub struct HandoffArgs {
    /// Task definition JSON to render per region: one path, or REGION=PATH pairs.
    #[arg(long)]
    pub ecs_task_definition: Option<String>,
    /// Container(s) whose `image` is set, comma-separated; required with ecs-task-definition.
    #[arg(long)]
    pub ecs_container_name: Option<String>,
    /// digest (REPO@sha256:…), tag (REPO:TAG) or tag-and-digest (REPO:TAG@sha256:…)
    /// [default: digest].
    #[arg(long)]
    pub image_uri_format: Option<String>,
    /// Refuse images AWS Lambda cannot run; a one-platform index is pushed as its one manifest
    /// [default: false].
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub lambda_compatible: Option<String>,
}

impl HandoffArgs {
    /// Adds the flags to `raw` under their design names.
    pub fn add_to(self, raw: &mut RawInputs) {
        raw.set("ecs-task-definition", self.ecs_task_definition);
        raw.set("ecs-container-name", self.ecs_container_name);
        raw.set("image-uri-format", self.image_uri_format);
        raw.set("lambda-compatible", self.lambda_compatible);
    }
}

/// How URIs in outputs and rendered files name the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImageUriFormat {
    /// `HOST/REPO@sha256:…`
    #[default]
    Digest,
    /// `HOST/REPO:TAG` (the first of `tags`)
    Tag,
    /// `HOST/REPO:TAG@sha256:…`
    TagAndDigest,
}

impl ImageUriFormat {
    /// Reads `image-uri-format`; absent gives `digest`.
    pub fn from_input(raw: &RawInputs) -> Result<Self, InputError> {
        raw.choice(
            "image-uri-format",
            &[
                ("digest", Self::Digest),
                ("tag", Self::Tag),
                ("tag-and-digest", Self::TagAndDigest),
            ],
        )
    }

    /// Whether the URI names a tag, so that a tag must be known.
    pub fn needs_tag(self) -> bool {
        self != Self::Digest
    }
}

/// Validated hand-off inputs; one field of `Config`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HandoffOptions {
    pub uri_format: ImageUriFormat,
    /// Refuse indexes Lambda cannot run; unwrap a one-platform index.
    pub lambda_compatible: bool,
    /// ECS task definitions to render after a successful push, if asked for.
    pub ecs: Option<EcsRendering>,
}

/// Which task definition file each region gets, and which containers get the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcsRendering {
    /// `(region, source file)` in target order. With `REGION=PATH` pairs, regions left out get
    /// no task definition.
    pub sources: Vec<(String, PathBuf)>,
    /// Container names whose `image` is set, unique, as given.
    pub container_names: Vec<String>,
}

/// Validates the hand-off inputs against the resolved targets.
pub fn resolve_handoff(raw: &RawInputs, targets: &[Target]) -> Result<HandoffOptions, InputError> {
    Ok(HandoffOptions {
        uri_format: ImageUriFormat::from_input(raw)?,
        lambda_compatible: raw.bool("lambda-compatible", false)?,
        ecs: resolve_ecs(raw, targets)?,
    })
}

fn resolve_ecs(raw: &RawInputs, targets: &[Target]) -> Result<Option<EcsRendering>, InputError> {
    let names = unique(raw.list("ecs-container-name"));
    let Some(text) = raw.get("ecs-task-definition") else {
        if names.is_empty() {
            return Ok(None);
        }
        return Err(InputError::new(
            "ecs-container-name",
            "is only valid with ecs-task-definition (the task definition file to render)",
        ));
    };
    if names.is_empty() {
        return Err(InputError::new(
            "ecs-container-name",
            "is required with ecs-task-definition: name the container(s) whose image to set",
        ));
    }
    let sources = match region_pairs(text)? {
        Some(pairs) => pairs_for_targets(pairs, targets)?,
        None => targets
            .iter()
            .map(|t| (t.region.clone(), PathBuf::from(text.trim())))
            .collect(),
    };
    Ok(Some(EcsRendering {
        sources,
        container_names: names,
    }))
}

/// `REGION=PATH` pairs when items have that shape; `None` means one path for every region.
fn region_pairs(text: &str) -> Result<Option<Vec<(String, String)>>, InputError> {
    let items = split_list(text);
    let pairs: Vec<(String, String)> = items
        .iter()
        .filter_map(|item| item.split_once('='))
        .filter(|(region, _)| check_region(region.trim()).is_ok())
        .map(|(region, path)| (region.trim().to_string(), path.trim().to_string()))
        .collect();
    match pairs.len() {
        0 => Ok(None),
        n if n == items.len() => Ok(Some(pairs)),
        _ => Err(InputError::new(
            "ecs-task-definition",
            "mixes REGION=PATH pairs and plain paths; give one path, or a pair for each region",
        )),
    }
}

fn pairs_for_targets(
    pairs: Vec<(String, String)>,
    targets: &[Target],
) -> Result<Vec<(String, PathBuf)>, InputError> {
    const NAME: &str = "ecs-task-definition";
    let mut by_region: Vec<(String, PathBuf)> = Vec::new();
    for (region, path) in pairs {
        if !targets.iter().any(|t| t.region == region) {
            let known: Vec<&str> = targets.iter().map(|t| t.region.as_str()).collect();
            return Err(InputError::new(
                NAME,
                format!(
                    "region '{region}' is not a target; the targets are {}",
                    known.join(", ")
                ),
            ));
        }
        if path.is_empty() {
            return Err(InputError::new(
                NAME,
                format!("region '{region}' has no file path"),
            ));
        }
        if by_region.iter().any(|(r, _)| *r == region) {
            return Err(InputError::new(
                NAME,
                format!("region '{region}' is listed twice"),
            ));
        }
        by_region.push((region, PathBuf::from(path)));
    }
    let mut ordered = Vec::with_capacity(by_region.len());
    for target in targets {
        if let Some(found) = by_region.iter().find(|(r, _)| *r == target.region) {
            ordered.push(found.clone());
        }
    }
    Ok(ordered)
}

fn unique(items: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

#[cfg(test)]
#[path = "handoff_tests.rs"]
mod tests;
