//! Where the image comes from: a prebuilt `image`, or (when `image` is absent) a build from
//! `context` with `builder`, `file`, `build-args`, `labels`, `target`, `platforms` and
//! `provenance`. The flags live here (`BuildArgs`, flattened into `push`) and resolve into
//! one [`ImageInput`], the `image` field of `Config`.

use std::fmt;
use std::path::{Path, PathBuf};

use clap::Args;

use super::build_features::{BuildFeatures, FEATURE_INPUTS, resolve_build_features};
use super::raw::{RawInputs, split_list};
use crate::error::InputError;
use crate::image::ImageSource;

/// The build flags of `push`. List flags may be repeated or hold one item per line.
#[derive(Debug, Default, Args)]
pub struct BuildArgs {
    /// auto, docker, buildah or podman; auto picks docker with buildx, classic docker,
    /// buildah, then podman [default: auto].
    #[arg(long)]
    pub builder: Option<String>,
    /// Build context directory, used when `image` is not given [default: .].
    #[arg(long)]
    pub context: Option<String>,
    /// Dockerfile [default: CONTEXT/Dockerfile, else CONTEXT/Containerfile].
    #[arg(long)]
    pub file: Option<String>,
    /// KEY=VALUE build arguments, one per line (or repeat the flag).
    #[arg(long, action = clap::ArgAction::Append)]
    pub build_args: Vec<String>,
    /// KEY=VALUE image labels, one per line (or repeat the flag).
    #[arg(long, action = clap::ArgAction::Append)]
    pub labels: Vec<String>,
    /// Dockerfile stage to build.
    #[arg(long)]
    pub target: Option<String>,
    /// Platforms to build, comma-separated (linux/amd64,linux/arm64) [default: the builder's].
    #[arg(long)]
    pub platforms: Option<String>,
    /// Let buildx attach provenance attestations (makes an index) [default: false].
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub provenance: Option<String>,
    /// The build-push-action inputs (cache, secrets, ssh, sbom, annotations, …).
    #[command(flatten)]
    pub features: FeatureArgs,
}

/// build-push-action's build inputs, in its syntax; list inputs take one item per line (or
/// repeat the flag).
#[derive(Debug, Default, Args)]
pub struct FeatureArgs {
    /// Cache sources: type=registry,ref=REPO:TAG, type=gha, type=local,src=DIR, or a reference.
    #[arg(long, action = clap::ArgAction::Append)]
    pub cache_from: Vec<String>,
    /// Cache destinations: type=registry,ref=REPO:TAG, type=gha, type=local,dest=DIR.
    #[arg(long, action = clap::ArgAction::Append)]
    pub cache_to: Vec<String>,
    /// Build secrets: id=ID,src=PATH or id=ID,env=VARIABLE.
    #[arg(long, action = clap::ArgAction::Append)]
    pub secrets: Vec<String>,
    /// SSH agent sockets or keys: default, or ID=SOCKET|KEY[,KEY].
    #[arg(long, action = clap::ArgAction::Append)]
    pub ssh: Vec<String>,
    /// Attach an SBOM attestation [default: false].
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub sbom: Option<String>,
    /// Annotations: [LEVEL[,LEVEL]:]KEY=VALUE (manifest, index, …).
    #[arg(long, action = clap::ArgAction::Append)]
    pub annotations: Vec<String>,
    /// Extra named build contexts: NAME=DIR, NAME=docker-image://IMAGE, ….
    #[arg(long, action = clap::ArgAction::Append)]
    pub build_contexts: Vec<String>,
    /// Build without the builder's layer cache [default: false].
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub no_cache: Option<String>,
    /// Always pull base images, even those stored locally [default: false].
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub pull: Option<String>,
}

impl FeatureArgs {
    fn add_to(self, raw: &mut RawInputs) {
        let joined = |values: Vec<String>| Some(values.join("\n"));
        raw.set("cache-from", joined(self.cache_from));
        raw.set("cache-to", joined(self.cache_to));
        raw.set("secrets", joined(self.secrets));
        raw.set("ssh", joined(self.ssh));
        raw.set("sbom", self.sbom);
        raw.set("annotations", joined(self.annotations));
        raw.set("build-contexts", joined(self.build_contexts));
        raw.set("no-cache", self.no_cache);
        raw.set("pull", self.pull);
    }
}

impl BuildArgs {
    /// Adds the flags to `raw` under their input names.
    pub fn add_to(self, raw: &mut RawInputs) {
        let joined = |values: Vec<String>| Some(values.join("\n"));
        raw.set("builder", self.builder);
        raw.set("context", self.context);
        raw.set("file", self.file);
        raw.set("build-args", joined(self.build_args));
        raw.set("labels", joined(self.labels));
        raw.set("target", self.target);
        raw.set("platforms", self.platforms);
        raw.set("provenance", self.provenance);
        self.features.add_to(raw);
    }
}

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

/// Inputs that only mean something for a build, refused next to `image`.
const BUILD_ONLY_INPUTS: &[&str] = &[
    "context",
    "file",
    "build-args",
    "labels",
    "target",
    "platforms",
];

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
    let given = |input: &&&'static str| raw.get(input).is_some_and(|v| v.trim() != "false");
    if let Some(input) = BUILD_ONLY_INPUTS.iter().chain(FEATURE_INPUTS).find(given) {
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
#[path = "build_tests.rs"]
mod tests;
