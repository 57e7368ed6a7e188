//! Where the image comes from: a prebuilt `image`, or (when `image` is absent) a build from
//! `context` with `builder`, `file`, `build-args`, `labels`, `target`, `platforms` and
//! `provenance`, resolved into one [`ImageInput`], the `image` field of `Config`. Which inputs
//! a prebuilt image refuses is the table's (`config::inputs`, [`BuildRole`]).

use std::fmt;
use std::path::{Path, PathBuf};

use super::build_features::{BuildFeatures, resolve_build_features};
use super::inputs::{BuildRole, build_inputs};
use super::raw::{RawInputs, split_list};
use crate::error::InputError;
use crate::image::ImageSource;

/// The image to push: read as it is, or built first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageInput {
    /// `image` was given.
    Prebuilt(ImageSource),
    /// `image` was absent: build from a context.
    Build(BuildOptions),
    /// `merge`: the index over per-platform images the destinations hold.
    Merge(super::merge::MergeRequest),
}

impl fmt::Display for ImageInput {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageInput::Prebuilt(source) => write!(formatter, "{source}"),
            ImageInput::Build(options) => write!(
                formatter,
                "build of {} ({})",
                options.context.display(),
                options.builder.as_str()
            ),
            ImageInput::Merge(request) => {
                let sources: Vec<&str> = request.sources.iter().map(|d| d.as_str()).collect();
                write!(formatter, "merge of {}", sources.join(", "))
            }
        }
    }
}

/// Which builder `builder` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BuilderChoice {
    /// docker with buildx, classic docker, buildah, podman: the first that works.
    #[default]
    Auto,
    /// docker: buildx when installed (unless `DOCKER_BUILDKIT=0`), else the classic builder.
    Docker,
    Buildah,
    Podman,
}

impl BuilderChoice {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Docker => "docker",
            Self::Buildah => "buildah",
            Self::Podman => "podman",
        }
    }
}

/// A validated build request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildOptions {
    pub builder: BuilderChoice,
    /// An existing directory.
    pub context: PathBuf,
    /// An existing Dockerfile.
    pub file: PathBuf,
    pub build_args: Vec<(String, String)>,
    pub labels: Vec<(String, String)>,
    pub target: Option<String>,
    /// `os/arch[/variant]`, unique; empty means the builder's native platform.
    pub platforms: Vec<String>,
    /// Keep buildx's provenance attestations (an index even for one platform).
    pub provenance: bool,
    /// Cache, secrets, ssh, sbom, annotations, extra contexts, no-cache, pull.
    pub features: Box<BuildFeatures>,
}

/// `image` → `Prebuilt`; no `image` → `Build` from `context`.
pub fn resolve_image_input(raw: &RawInputs) -> Result<ImageInput, InputError> {
    let builder = resolve_builder(raw)?;
    let provenance = raw.bool("provenance", false)?;
    let Some(image_text) = raw.get("image") else {
        return resolve_build(raw, builder, provenance).map(ImageInput::Build);
    };
    let image: ImageSource = image_text
        .trim()
        .parse()
        .map_err(|e: anyhow::Error| InputError::new("image", format!("{e:#}")))?;
    // A boolean feature left `false` asks for nothing, so it is accepted beside an image.
    let given = |input: &&'static str| raw.get(input).is_some_and(|v| v.trim() != "false");
    let mut refused = build_inputs(BuildRole::BuildOnly).chain(build_inputs(BuildRole::Feature));
    if let Some(input) = refused.find(given) {
        return Err(InputError::new(
            input,
            "applies only when building; it cannot be combined with `image` (remove one)",
        ));
    }
    if builder != BuilderChoice::Auto || provenance {
        let input = if provenance { "provenance" } else { "builder" };
        return Err(InputError::new(
            input,
            "applies only when building; it cannot be combined with `image` (remove one)",
        ));
    }
    Ok(ImageInput::Prebuilt(image))
}

fn resolve_builder(raw: &RawInputs) -> Result<BuilderChoice, InputError> {
    raw.choice(
        "builder",
        &[
            ("auto", BuilderChoice::Auto),
            ("docker", BuilderChoice::Docker),
            ("buildah", BuilderChoice::Buildah),
            ("podman", BuilderChoice::Podman),
        ],
    )
}

fn resolve_build(
    raw: &RawInputs,
    builder: BuilderChoice,
    provenance: bool,
) -> Result<BuildOptions, InputError> {
    let context = PathBuf::from(raw.get("context").map_or(".", str::trim));
    if !context.is_dir() {
        return Err(InputError::new(
            "context",
            format!(
                "'{}' is not a directory; give the build context directory, or a prebuilt \
                 `image` (oci:PATH, oci-archive:PATH, docker-archive:PATH, docker-daemon:NAME:TAG)",
                context.display()
            ),
        ));
    }
    Ok(BuildOptions {
        builder,
        file: resolve_dockerfile(raw, &context)?,
        context,
        build_args: key_value_lines(raw, "build-args")?,
        labels: key_value_lines(raw, "labels")?,
        target: resolve_target(raw)?,
        platforms: resolve_platforms(raw)?,
        provenance,
        features: Box::new(resolve_build_features(raw)?),
    })
}

fn resolve_dockerfile(raw: &RawInputs, context: &Path) -> Result<PathBuf, InputError> {
    if let Some(file) = raw.get("file").map(str::trim) {
        let path = PathBuf::from(file);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(InputError::new(
                "file",
                format!("'{file}' is not a file; give the Dockerfile's path"),
            ))
        };
    }
    let candidates = [context.join("Dockerfile"), context.join("Containerfile")];
    candidates
        .iter()
        .find(|path| path.is_file())
        .cloned()
        .ok_or_else(|| {
            InputError::new(
                "image",
                format!(
                    "is required unless there is a Dockerfile to build: neither {} nor {} \
                     exists (set `file` and `context`, or give a prebuilt image: oci:PATH, \
                     oci-archive:PATH, docker-archive:PATH or docker-daemon:NAME:TAG)",
                    candidates[0].display(),
                    candidates[1].display()
                ),
            )
        })
}

/// `KEY=VALUE` per line; values keep commas and `=` (`LIST=a,b`, `EXPR=x=1`).
fn key_value_lines(
    raw: &RawInputs,
    name: &'static str,
) -> Result<Vec<(String, String)>, InputError> {
    let Some(text) = raw.get(name) else {
        return Ok(Vec::new());
    };
    let mut pairs: Vec<(String, String)> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let Some((key, value)) = line.split_once('=') else {
            return Err(InputError::new(
                name,
                format!("'{line}' is not KEY=VALUE (one pair per line)"),
            ));
        };
        let key = key.trim();
        if key.is_empty() || key.chars().any(char::is_whitespace) {
            return Err(InputError::new(
                name,
                format!("'{line}': the key must be non-empty and without spaces"),
            ));
        }
        pairs.retain(|(known, _)| known != key);
        pairs.push((key.to_owned(), value.to_owned()));
    }
    Ok(pairs)
}

fn resolve_target(raw: &RawInputs) -> Result<Option<String>, InputError> {
    let Some(target) = raw.get("target").map(str::trim) else {
        return Ok(None);
    };
    let valid = target.starts_with(|c: char| c.is_ascii_alphabetic())
        && target
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(Some(target.to_owned()))
    } else {
        Err(InputError::new(
            "target",
            format!("'{target}' is not a stage name (a letter, then letters, digits, -, _ or .)"),
        ))
    }
}

fn resolve_platforms(raw: &RawInputs) -> Result<Vec<String>, InputError> {
    let mut platforms: Vec<String> = Vec::new();
    for platform in raw.get("platforms").map(split_list).unwrap_or_default() {
        let parts: Vec<&str> = platform.split('/').collect();
        let valid = (2..=3).contains(&parts.len())
            && parts.iter().all(|part| {
                !part.is_empty()
                    && part
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            });
        if !valid {
            return Err(InputError::new(
                "platforms",
                format!("'{platform}' is not OS/ARCH[/VARIANT] (e.g. linux/amd64,linux/arm64/v8)"),
            ));
        }
        if !platforms.contains(&platform) {
            platforms.push(platform);
        }
    }
    Ok(platforms)
}

#[cfg(test)]
mod tests;
