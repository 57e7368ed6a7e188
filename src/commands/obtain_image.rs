//! The image `push` sends: a prebuilt one read from disk, one read from a registry
//! (`docker://`, its blobs fetched later, only where a destination lacks them), one exported from
//! the Docker daemon (`docker-daemon:`), or one built from `context` (inside a `::group::` on GitHub, the
//! builder's output streaming to stderr, logged in to the ECR registries its cache lines name).
//! For `merge`, the index over per-platform images the destinations hold, each read from one
//! that has it. Either way the result is a `LocalImage` whose temporary files live as long as
//! it does.

use anyhow::Context as _;

use super::cache_logins::cache_logins;
use crate::builder::{self, BuiltImage};
use crate::config::Config;
use crate::config::build::ImageInput;
use crate::config::ci_environment::CiEnvironment;
use crate::error::InputError;
use crate::image::{ImageSource, LocalImage, open_image};
use crate::observer::SharedObserver;
use crate::output::workflow_commands::WorkflowCommands;
use crate::source;

/// Reads, exports or builds the configured image in `ci`, the CI environment read at start-up.
pub async fn obtain_image(
    config: &Config,
    ci: &CiEnvironment,
    observer: SharedObserver,
) -> anyhow::Result<LocalImage> {
    let workflow = WorkflowCommands::for_environment(ci);
    match &config.image {
        ImageInput::Prebuilt(ImageSource::Registry(reference)) => {
            let aws = crate::ecr::load_aws_config(config.stall_timeout).await;
            let options = source::SourceOptions {
                endpoint: config.source_endpoint.clone(),
                role: config.source_role.clone(),
                docker_config: ci.docker_config_file(),
                client: crate::registry::ClientOptions {
                    stall_timeout: config.stall_timeout,
                    ..Default::default()
                },
            };
            source::open(reference, &options, &aws, observer).await
        }
        ImageInput::Merge(request) => {
            let aws = crate::ecr::load_aws_config(config.stall_timeout).await;
            let options = crate::registry::ClientOptions {
                stall_timeout: config.stall_timeout,
                ..Default::default()
            };
            source::merged::open(&config.targets, request, &options, (&aws, observer)).await
        }
        ImageInput::Prebuilt(ImageSource::DockerDaemon { reference }) => {
            let exported = {
                let _group = workflow.group(&format!("Export docker-daemon:{reference}"));
                builder::export_from_daemon(reference).await?
            };
            open_built(exported)
                .await
                .map_err(|e| InputError::new("image", format!("{e:#}")).into())
        }
        ImageInput::Prebuilt(source) => open_prebuilt(source.clone()).await,
        ImageInput::Build(options) => {
            let built = {
                let _group = workflow.group(&format!(
                    "Build {} ({})",
                    options.file.display(),
                    options.builder.as_str()
                ));
                let logins = cache_logins(config, options, &observer).await?;
                builder::build_image(options, ci, &logins).await?
            };
            let image = open_built(built)
                .await
                .context("cannot read the image the builder produced")?;
            builder::check_built_platforms(&image.platforms, &options.platforms)?;
            Ok(image)
        }
    }
}

/// Opens a prebuilt image off the async threads; any problem is an `image` input error.
async fn open_prebuilt(source: ImageSource) -> anyhow::Result<LocalImage> {
    let opened = tokio::task::spawn_blocking(move || open_image(&source))
        .await
        .context("internal: image reader task failed")?;
    opened.map_err(|e| InputError::new("image", format!("{e:#}")).into())
}

async fn open_built(built: BuiltImage) -> anyhow::Result<LocalImage> {
    tokio::task::spawn_blocking(move || built.open())
        .await
        .context("internal: image reader task failed")?
}
