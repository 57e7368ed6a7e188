//! `ecr-fanout push`: resolve the configuration, open the image, run the fan-out, write the
//! outputs. Input problems surface here as `InputError`s before any network call.

use anyhow::Context;
use tracing::info;

use crate::config::{self, Config};
use crate::error::InputError;
use crate::fanout;
use crate::image::{LocalImage, open_image};
use crate::output;

/// Runs `push` from raw inputs.
pub async fn run(raw: &config::raw::RawInputs) -> anyhow::Result<()> {
    let config = config::resolve(raw)?;
    let image = open_local_image(&config).await?;
    info!(digest = %image.top.digest, media_type = %image.top.media_type,
          platforms = ?image.platforms, blobs = image.blobs.len(), bytes = image.blob_bytes(),
          source = %config.image, "image ready");
    let outcome = fanout::push(&config, &image).await;
    output::emit(&outcome.report, &config.outputs)?;
    match outcome.error {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// Opens the image off the async threads; any problem is an `image` input error.
async fn open_local_image(config: &Config) -> anyhow::Result<LocalImage> {
    let source = config.image.clone();
    let opened = tokio::task::spawn_blocking(move || open_image(&source))
        .await
        .context("internal: image reader task failed")?;
    opened.map_err(|e| InputError::new("image", format!("{e:#}")).into())
}
