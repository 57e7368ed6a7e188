//! Building the image: the builders (docker buildx, classic docker, buildah, podman) run as
//! subprocesses, their output streamed live to stderr, and each leaves its result in a
//! temporary directory as an image source `crate::image` reads (`oci:` layout, `oci-archive:`
//! or `docker-archive:`). The directory goes away with the opened image. Also exports
//! `docker-daemon:` images (`docker save`), the other subprocess the image module must not run.
//!
//! `detect` chooses the builder, `metadata` adds the standard OCI labels and annotations,
//! `stream` runs the tools; one file per builder.

mod buildah;
mod buildx;
mod detect;
mod docker_classic;
pub mod feature_flags;
pub mod metadata;
mod platform_check;
mod process_group;
pub mod stream;

use tempfile::TempDir;
use tracing::info;

use crate::config::build::BuildOptions;
use crate::config::ci_environment::CiEnvironment;
use crate::image::{ImageSource, LocalImage, open_image};
use metadata::OciMetadata;
use stream::ToolCommand;

pub use platform_check::check_built_platforms;
pub use stream::ToolFailed;

/// Flags a build gets from its features, placed before `--file` and the context.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeatureFlags {
    pub args: Vec<String>,
    /// buildah and podman: keep intermediate layers (a cache needs them).
    pub layers: bool,
}

impl FeatureFlags {
    fn flag(&mut self, name: &str, value: impl Into<String>) {
        self.args.push(name.to_owned());
        self.args.push(value.into());
    }

    fn switch(&mut self, word: &str) {
        self.args.push(word.to_owned());
    }

    /// `command` with these flags appended.
    pub fn appended_to(&self, command: ToolCommand) -> ToolCommand {
        command.args(self.args.iter().cloned())
    }
}

/// A builder's result on disk: the source to read and the directory it lives in.
#[derive(Debug)]
pub struct BuiltImage {
    pub source: ImageSource,
    work: TempDir,
}

impl BuiltImage {
    fn new(source: ImageSource, work: TempDir) -> Self {
        Self { source, work }
    }

    /// Reads the image (blocking: archives are extracted, legacy layers compressed). The
    /// temporary directory is removed when the returned image is dropped, or at once when
    /// reading extracted everything elsewhere (an archive).
    pub fn open(self) -> anyhow::Result<LocalImage> {
        let image = open_image(&self.source)?;
        if image.extraction_dir().is_some() {
            return Ok(image);
        }
        Ok(image.keeping_alive(self.work))
    }

    /// The directory the builder wrote into.
    pub fn work_dir(&self) -> &std::path::Path {
        self.work.path()
    }
}

/// Chooses the builder, builds `options` and returns where the result is. `ci`, the CI
/// environment read at start-up, gives `DOCKER_BUILDKIT`, the metadata's variables and
/// buildah's settings.
pub async fn build_image(options: &BuildOptions, ci: &CiEnvironment) -> anyhow::Result<BuiltImage> {
    let (builder, why) = detect::choose_builder(
        options.builder,
        &detect::SystemProbe,
        ci.docker_buildkit_disabled(),
    )
    .await?;
    info!(
        "building {} with {} ({why})",
        options.file.display(),
        builder.name()
    );
    if options.provenance && !matches!(builder, detect::Builder::Buildx(_)) {
        tracing::warn!(
            "provenance: true only has an effect with docker buildx; {} attaches no \
             attestations",
            builder.name()
        );
    }
    let metadata = metadata::standard_metadata(&options.context, ci)
        .await?
        .with_label_overrides(&options.labels);
    let containers = buildah::ContainersSettings::from_ci(ci);
    let features = &options.features;
    let work = work_dir()?;
    match &builder {
        detect::Builder::Buildx(info) => {
            let flags = feature_flags::buildx_flags(info, features)?;
            buildx::build(info, options, &metadata, &flags, work).await
        }
        detect::Builder::DockerClassic => {
            let flags = feature_flags::classic_flags(features)?;
            docker_classic::build(options, &metadata, &flags, work).await
        }
        detect::Builder::Buildah | detect::Builder::Podman => {
            let tool = if builder == detect::Builder::Buildah {
                buildah::ContainersTool::Buildah
            } else {
                buildah::ContainersTool::Podman
            };
            let flags = containers_feature_flags(tool, features).await?;
            buildah::build(tool, &containers, options, &metadata, &flags, work).await
        }
    }
}

/// buildah's or podman's flags for `features`; their help is asked only when a feature is.
async fn containers_feature_flags(
    tool: buildah::ContainersTool,
    features: &crate::config::build_features::BuildFeatures,
) -> anyhow::Result<FeatureFlags> {
    if *features == crate::config::build_features::BuildFeatures::default() {
        return Ok(FeatureFlags::default());
    }
    let help = feature_flags::probe_containers(tool).await?;
    Ok(feature_flags::containers_flags(tool, &help, features)?)
}

/// Exports `docker-daemon:REFERENCE` with `docker save` into a temporary docker-archive.
pub async fn export_from_daemon(reference: &str) -> anyhow::Result<BuiltImage> {
    docker_classic::export_named_image(reference).await
}

fn work_dir() -> anyhow::Result<TempDir> {
    tempfile::Builder::new()
        .prefix("ecr-fanout-build-")
        .tempdir()
        .map_err(|e| anyhow::anyhow!("cannot create a temporary directory for the build: {e}"))
}

/// Flags every builder takes alike: `--target`, `--build-arg`s, and the labels: the standard
/// OCI ones first, then `labels` (which win over a standard one with the same key).
fn common_build_flags(
    mut command: ToolCommand,
    options: &BuildOptions,
    metadata: &OciMetadata,
) -> ToolCommand {
    if let Some(target) = &options.target {
        command = command.args(["--target", target]);
    }
    for (key, value) in &options.build_args {
        command = command.args(["--build-arg".to_owned(), format!("{key}={value}")]);
    }
    let standard = metadata
        .entries
        .iter()
        .filter(|(key, _)| !options.labels.iter().any(|(own, _)| own == key));
    for (key, value) in standard.chain(&options.labels) {
        command = command.args(["--label".to_owned(), format!("{key}={value}")]);
    }
    command
}
