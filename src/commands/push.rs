//! `ecr-fanout push`: resolve the configuration, read or build the image, run the fan-out, write the
//! outputs. Input problems surface here as `InputError`s before any network call.

use std::sync::Arc;

use anyhow::bail;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::lambda;
use super::obtain_image::obtain_image;
use crate::config;
use crate::config::ci_environment::CiEnvironment;
use crate::fanout;
use crate::output;

/// Runs `push` from raw inputs in `ci`, the CI environment read at start-up.
pub async fn run(raw: &config::raw::RawInputs, ci: &CiEnvironment) -> anyhow::Result<()> {
    run_resolved(raw, config::resolve, ci).await
}

/// Runs a push whose configuration `resolve` makes from `raw` (`push`'s, or `merge`'s with the
/// merged index as its image); writes the outputs with `command` in the report.
pub(super) async fn run_resolved(
    raw: &config::raw::RawInputs,
    resolve: fn(&config::raw::RawInputs) -> Result<config::Config, crate::error::InputError>,
    ci: &CiEnvironment,
) -> anyhow::Result<()> {
    // From the first moment: a signal during the build stops the builder and exits 1.
    let cancel = CancellationToken::new();
    let _signals = cancel_on_signal(cancel.clone());
    let mut config = resolve(raw)?;
    let roles = config.targets.iter_mut().filter_map(|t| t.role.as_mut());
    config::name_role_sessions(
        roles.chain(config.source_role.as_mut()),
        &super::role_session_name(ci),
    );
    if let Some(lock) = config.lock.as_mut() {
        lock.run_id = super::run_id(ci);
    }
    if !config.ignored_tag_references.is_empty() {
        warn!(
            "{}",
            config::tag_references::ignored_warning(&config.ignored_tag_references)
        );
    }
    let task_definitions = output::ecs::load_for(&config)?;
    let observer = Arc::new(output::observer::ScreenObserver::new(
        output::workflow_commands::WorkflowCommands::for_environment(ci),
    ));
    let obtained = tokio::select! {
        image = obtain_image(&config, ci, observer.clone()) => image?,
        () = cancel.cancelled() => bail!(
            "cancelled while obtaining the image (the builder was stopped); nothing was pushed \
             or tagged in any region"
        ),
    };
    let obtained = if config.handoff.attestations_as_referrers {
        crate::image::attestation_referrers::attestations_as_referrers(obtained)
            .map_err(|e| crate::error::InputError::new("attestations", format!("{e:#}")))?
    } else {
        obtained
    };
    let image = lambda::prepare_for_lambda(obtained, &config)?;
    info!(digest = %image.top.digest, media_type = %image.top.media_type,
          platforms = ?image.platforms, blobs = image.blobs.len(), bytes = image.blob_bytes(),
          source = %config.image, "image ready");
    let mut outcome = fanout::push(&config, &image, observer, &cancel).await;
    if matches!(config.image, config::build::ImageInput::Merge(_)) {
        outcome.report.command = fanout::ReportCommand::Merge;
    }
    if outcome.error.is_none() {
        let rendered =
            output::ecs::render_into_report(&task_definitions, &config, &mut outcome.report, ci);
        outcome.error = rendered.err();
    }
    output::emit(&outcome.report, &config.outputs, ci)?;
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
