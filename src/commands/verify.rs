//! `ecr-fanout verify`: resolve the inputs, verify every region (reads only), write the same
//! outputs and report as `push`. Exit 0 when every region serves the same digest whole, 3
//! when one does not (mismatch, missing tag, manifest or blob), 1 when a region could not be
//! checked, 2 for bad input. With `image: docker://…` the expected digest is the one that
//! image has in its registry.

use std::sync::Arc;

use crate::config::ci_environment::CiEnvironment;
use crate::config::raw::RawInputs;
use crate::config::verify::{VerifyReference, resolve_verify};
use crate::fanout;
use crate::output;

/// Runs `verify` from raw inputs in `ci`, the CI environment read at start-up.
pub async fn run(raw: &RawInputs, ci: &CiEnvironment) -> anyhow::Result<()> {
    let mut config = resolve_verify(raw)?;
    crate::config::name_role_sessions(
        config.targets.iter_mut().filter_map(|t| t.role.as_mut()),
        &super::role_session_name(ci),
    );
    if !config.ignored_tag_references.is_empty() {
        tracing::warn!(
            "{}",
            crate::config::tag_references::ignored_warning(&config.ignored_tag_references)
        );
    }
    let observer = Arc::new(output::observer::ScreenObserver::new(
        output::workflow_commands::WorkflowCommands::for_environment(ci),
    ));
    if let Some((reference, endpoint)) = &config.source {
        let aws =
            crate::ecr::load_aws_config(crate::registry::ClientOptions::default().stall_timeout)
                .await;
        let options = crate::source::SourceOptions {
            endpoint: endpoint.clone(),
            role: None,
            docker_config: ci.docker_config_file(),
            client: crate::registry::ClientOptions::default(),
        };
        let image = crate::source::open(reference, &options, &aws, observer.clone()).await?;
        tracing::info!(source = %reference, digest = %image.top.digest, "verifying the source's digest");
        config.reference = VerifyReference::Digest(image.top.digest.clone());
    }
    let outcome = fanout::verify_existing(&config, observer).await;
    output::emit(&outcome.report, &config.outputs, ci)?;
    match outcome.error {
        Some(error) => Err(error),
        None => Ok(()),
    }
}
