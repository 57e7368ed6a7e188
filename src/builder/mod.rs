//! Building the image: the builders (docker buildx, classic docker, buildah, podman) run as
//! subprocesses, their output streamed live to stderr, and each leaves its result in a
//! temporary directory as an image source `crate::image` reads (`oci:` layout, `oci-archive:`
//! or `docker-archive:`). The directory goes away with the opened image. Also exports
//! `docker-daemon:` images (`docker save`), the other subprocess the image module must not run.
//!
//! `detect` chooses the builder, `metadata` adds the standard OCI labels and annotations,
//! `registry_auth` holds the builder's temporary login to its cache registries, `stream` runs
//! the tools; one file per builder.

mod buildah;
mod buildx;
mod detect;
mod docker_classic;
pub mod feature_flags;
pub mod metadata;
mod platform_check;
mod process_group;
mod registry_auth;
pub mod stream;

use tempfile::TempDir;
use tracing::info;

use crate::config::build::BuildOptions;
use crate::config::ci_environment::CiEnvironment;
use crate::image::{ImageSource, LocalImage, open_image};
use metadata::OciMetadata;
use stream::ToolCommand;

pub use platform_check::check_built_platforms;
use registry_auth::BuildAuth;
pub use registry_auth::BuilderLogin;
pub use stream::ToolFailed;

/// Flags a build gets from its features, placed before `--file` and the context.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeatureFlags {
    pub args: Vec<String>,
    /// buildah and podman: keep intermediate layers (a cache needs them).
    pub layers: bool,
    /// Variables the build command runs with (`DOCKER_CONFIG` of a registry login).
    pub env: Vec<(String, String)>,
}

impl FeatureFlags {
    fn flag(&mut self, name: &str, value: impl Into<String>) {
        self.args.push(name.to_owned());
        self.args.push(value.into());
    }

    fn switch(&mut self, word: &str) {
        self.args.push(word.to_owned());
    }

    /// buildah and podman log in to registries with the auth file of `auth`; docker and
    /// buildx read it (and the user's plugins and builders) from its `DOCKER_CONFIG`.
    fn log_in_with(&mut self, auth: Option<&BuildAuth>, docker: bool) {
        let Some(auth) = auth else { return };
        if docker {
            let dir = auth.docker_config_dir().display().to_string();
            self.env.push(("DOCKER_CONFIG".to_owned(), dir));
        } else {
            self.flag("--authfile", auth.auth_file().display().to_string());
        }
    }

    /// `command` with these flags appended (and these variables set).
    pub fn appended_to(&self, command: ToolCommand) -> ToolCommand {
        let command = self
            .env
            .iter()
            .fold(command, |command, (key, value)| command.env(key, value));
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
/// environment read at start-up, gives `DOCKER_BUILDKIT`, the metadata's variables,
/// buildah's settings and the user's registry logins, which the builder gets with `logins`
/// (its cache registries') added, in a temporary auth file deleted when the build ends.
pub async fn build_image(
    options: &BuildOptions,
    ci: &CiEnvironment,
    logins: &[BuilderLogin],
) -> anyhow::Result<BuiltImage> {
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
    let docker = !matches!(builder, detect::Builder::Buildah | detect::Builder::Podman);
    // Lives until the build has ended, however it ends (a cancelled build drops it too).
    let auth = if docker {
        BuildAuth::for_docker(logins, ci.docker_config_file().as_deref())?
    } else {
        BuildAuth::for_containers(logins, ci.containers_auth_file().as_deref())?
    };
    let built = match &builder {
        detect::Builder::Buildx(info) => {
            let mut flags = feature_flags::buildx_flags(info, features)?;
            flags.log_in_with(auth.as_ref(), docker);
            buildx::build(info, options, &metadata, &flags, work).await
        }
        detect::Builder::DockerClassic => {
            let mut flags = feature_flags::classic_flags(features)?;
            flags.log_in_with(auth.as_ref(), docker);
            docker_classic::build(options, &metadata, &flags, work).await
        }
        detect::Builder::Buildah | detect::Builder::Podman => {
            let tool = if builder == detect::Builder::Buildah {
                buildah::ContainersTool::Buildah
            } else {
                buildah::ContainersTool::Podman
            };
            let mut flags = containers_feature_flags(tool, features).await?;
            flags.log_in_with(auth.as_ref(), docker);
            buildah::build(tool, &containers, options, &metadata, &flags, work).await
        }
    };
    if let Some(auth) = auth {
        let dir = auth.docker_config_dir().display().to_string();
        drop(auth);
        tracing::debug!("removed the builder's temporary registry login {dir}");
    }
    built
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn login() -> BuilderLogin {
        BuilderLogin {
            host: "127.0.0.1:5000".to_owned(),
            username: "AWS".to_owned(),
            password: Secret::new("build-mod-unit-password"),
        }
    }

    #[test]
    fn buildah_gets_the_auth_file_and_docker_the_config_dir() {
        let auth = BuildAuth::for_containers(&[login()], None).unwrap();
        let mut containers = FeatureFlags::default();
        containers.log_in_with(auth.as_ref(), false);
        let file = auth.as_ref().unwrap().auth_file().display().to_string();
        let command = containers.appended_to(ToolCommand::new("buildah").arg("build"));
        assert_eq!(
            command.to_string(),
            format!("buildah build --authfile {file}")
        );

        let mut docker = FeatureFlags::default();
        docker.log_in_with(auth.as_ref(), true);
        let command = docker.appended_to(ToolCommand::new("docker").arg("build"));
        let dir = auth
            .as_ref()
            .unwrap()
            .docker_config_dir()
            .display()
            .to_string();
        assert_eq!(command.env, [("DOCKER_CONFIG".to_owned(), dir)]);
        assert_eq!(command.args, ["build"]);

        let mut none = FeatureFlags::default();
        none.log_in_with(None, true);
        assert_eq!(none, FeatureFlags::default());
    }
}
