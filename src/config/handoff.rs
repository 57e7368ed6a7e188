//! Inputs that shape what `push` hands to the deploy step: `image-uri-format` (how every URI
//! output names the image), `lambda-compatible` (refuse what AWS Lambda cannot run), and
//! `ecs-task-definition` / `ecs-container-name` (a task definition rendered per region),
//! validated into one [`HandoffOptions`].

use std::path::PathBuf;

use super::Target;
use super::names::check_region;
use super::raw::{RawInputs, split_list};
use super::targets::select_destinations;
use crate::error::InputError;

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
    /// `attestations: referrers`: BuildKit's attestation manifests leave the index and travel
    /// as referrers of their platform manifests (`index`, the default, keeps them in it).
    pub attestations_as_referrers: bool,
    /// ECS task definitions to render after a successful push, if asked for.
    pub ecs: Option<EcsRendering>,
}

/// Which task definition file each destination gets, and which containers get the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcsRendering {
    /// `(destination id, source file)` in destination order. With `ID=PATH` or `REGION=PATH`
    /// pairs, destinations left out get no task definition.
    pub sources: Vec<(String, PathBuf)>,
    /// Container names whose `image` is set, unique, as given.
    pub container_names: Vec<String>,
}

/// Validates the hand-off inputs against the resolved targets.
pub fn resolve_handoff(raw: &RawInputs, targets: &[Target]) -> Result<HandoffOptions, InputError> {
    Ok(HandoffOptions {
        uri_format: ImageUriFormat::from_input(raw)?,
        lambda_compatible: raw.bool("lambda-compatible", false)?,
        attestations_as_referrers: match raw.get("attestations").map(str::trim) {
            None | Some("index") => false,
            Some("referrers") => true,
            Some(other) => {
                return Err(InputError::new(
                    "attestations",
                    format!("'{other}' is not valid; use index or referrers"),
                ));
            }
        },
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
    let sources = match destination_pairs(text, targets)? {
        Some(pairs) => pairs_for_targets(pairs, targets)?,
        None => targets
            .iter()
            .map(|t| (t.id.clone(), PathBuf::from(text.trim())))
            .collect(),
    };
    Ok(Some(EcsRendering {
        sources,
        container_names: names,
    }))
}

/// `ID=PATH` or `REGION=PATH` pairs when items have that shape (the key an id or a region of
/// the run); `None` means one path for every destination.
fn destination_pairs(
    text: &str,
    targets: &[Target],
) -> Result<Option<Vec<(String, String)>>, InputError> {
    let items = split_list(text);
    let names_destination = |key: &str| {
        check_region(key).is_ok() || targets.iter().any(|t| t.id == key || t.region == key)
    };
    let pairs: Vec<(String, String)> = items
        .iter()
        .filter_map(|item| item.split_once('='))
        .filter(|(key, _)| names_destination(key.trim()))
        .map(|(key, path)| (key.trim().to_string(), path.trim().to_string()))
        .collect();
    match pairs.len() {
        0 => Ok(None),
        n if n == items.len() => Ok(Some(pairs)),
        _ => Err(InputError::new(
            "ecs-task-definition",
            "mixes ID=PATH pairs and plain paths; give one path, or a pair for each destination \
             (by id or region)",
        )),
    }
}

/// Destination id → file, in destination order; a region's pair applies to each of its
/// destinations.
fn pairs_for_targets(
    pairs: Vec<(String, String)>,
    targets: &[Target],
) -> Result<Vec<(String, PathBuf)>, InputError> {
    const NAME: &str = "ecs-task-definition";
    let mut by_id: Vec<(String, PathBuf)> = Vec::new();
    for (key, path) in pairs {
        if path.is_empty() {
            return Err(InputError::new(NAME, format!("'{key}' has no file path")));
        }
        for index in select_destinations(NAME, &key, targets)? {
            let id = &targets[index].id;
            if by_id.iter().any(|(i, _)| i == id) {
                return Err(InputError::new(
                    NAME,
                    format!("destination '{id}' is given twice"),
                ));
            }
            by_id.push((id.clone(), PathBuf::from(&path)));
        }
    }
    let mut ordered = Vec::with_capacity(by_id.len());
    for target in targets {
        if let Some(found) = by_id.iter().find(|(i, _)| *i == target.id) {
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
mod tests;
