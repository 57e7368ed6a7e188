//! `ecr-fanout push`: resolve the configuration, open the image, run the fan-out, write the
//! outputs. Input problems surface here as `InputError`s before any network call.

use anyhow::Context;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::lambda;
use crate::config::{self, Config};
use crate::error::InputError;
use crate::fanout;
use crate::image::{LocalImage, open_image};
use crate::output;

/// Runs `push` from raw inputs.
pub async fn run(raw: &config::raw::RawInputs) -> anyhow::Result<()> {
    let config = config::resolve(raw)?;
    let task_definitions = output::ecs::load_for(&config)?;
    let image = lambda::prepare_for_lambda(open_local_image(&config).await?, &config)?;
    info!(digest = %image.top.digest, media_type = %image.top.media_type,
          platforms = ?image.platforms, blobs = image.blobs.len(), bytes = image.blob_bytes(),
          source = %config.image, "image ready");
    let cancel = CancellationToken::new();
    let _signals = cancel_on_signal(cancel.clone());
    let mut outcome = fanout::push(&config, &image, &cancel).await;
    if outcome.error.is_none() {
        let rendered =
            output::ecs::render_into_report(&task_definitions, &config, &mut outcome.report);
        outcome.error = rendered.err();
    }
    output::emit(&outcome.report, &config.outputs)?;
    match outcome.error {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// Cancels `token` on SIGINT or SIGTERM (a cancelled CI job). The task ends with the run.
fn cancel_on_signal(token: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let name = wait_for_signal().await;
        warn!("received {name}: no new work starts; tag puts in flight finish");
        token.cancel();
    })
}

#[cfg(unix)]
async fn wait_for_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut interrupt), Ok(mut terminate)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = interrupt.recv() => "SIGINT",
        _ = terminate.recv() => "SIGTERM",
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() -> &'static str {
    let _ = tokio::signal::ctrl_c().await;
    "Ctrl-C"
}

/// Opens the image off the async threads; any problem is an `image` input error.
async fn open_local_image(config: &Config) -> anyhow::Result<LocalImage> {
    let source = config.image.clone();
    let opened = tokio::task::spawn_blocking(move || open_image(&source))
        .await
        .context("internal: image reader task failed")?;
    opened.map_err(|e| InputError::new("image", format!("{e:#}")).into())
}
