//! ecr-fanout: build or read a container image, push the same bytes to Amazon ECR in several
//! regions, verify them everywhere, then move tags and emit outputs for the deploy step.
//!
//! The pipeline reads top to bottom: `config` → `builder` → `image` → `registry` / `ecr` →
//! `fanout` → `output`; `report` is the result model the engine writes and `output` renders. Dependencies point one way; `main.rs` only parses, runs and maps exit
//! codes.

pub mod builder;
pub mod commands;
pub mod config;
pub mod ecr;
pub mod error;
pub mod fanout;
pub mod image;
pub mod lock;
pub mod observer;
pub mod output;
pub mod registry;
pub mod report;
pub mod secret;
pub mod source;

use config::ci_environment::CiEnvironment;
use config::cli::{Cli, Invocation};

/// Runs the parsed command line in `ci`, the CI environment read at start-up. The commands get
/// `ci` passed down; the missing-credentials hint is fixed from it here, as the engine does
/// not hand it on to `ecr`.
pub async fn run(cli: Cli, ci: &CiEnvironment) -> anyhow::Result<()> {
    ecr::set_credentials_hint_environment(ci);
    match cli.command {
        Invocation::Push(raw) => commands::push::run(&raw, ci).await,
        Invocation::Merge(raw) => commands::merge::run(&raw, ci).await,
        Invocation::Action => commands::action::run(ci).await,
        Invocation::Verify(raw) => commands::verify::run(&raw, ci).await,
    }
}
