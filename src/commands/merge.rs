//! `ecr-fanout merge`: the per-platform images earlier jobs pushed by digest, joined into one
//! OCI index in every destination. The index is built from the sources read back from the
//! destinations; then it is a push like any other (plan, copy what a destination lacks, verify,
//! tags, outputs).

use super::push::run_resolved;
use crate::config;
use crate::config::ci_environment::CiEnvironment;

/// Runs `merge` from raw inputs in `ci`, the CI environment read at start-up.
pub async fn run(raw: &config::raw::RawInputs, ci: &CiEnvironment) -> anyhow::Result<()> {
    run_resolved(raw, config::resolve_merge, ci).await
}
