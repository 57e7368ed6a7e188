//! Everything the run hands on: the report on stdout (JSON with `--json`, text otherwise),
//! GitHub outputs and step summary when the runner's files are set (in the CI environment read
//! at start-up), and the dotenv file. The only module that writes to stdout.

mod dotenv;
pub mod ecs;
mod github_files;
mod human;
mod lock_log;
pub mod logging;
pub mod observer;
pub mod progress;
mod redaction;
mod repository_changes;
mod values;
pub mod workflow_commands;

use anyhow::Context;
use std::io::Write as _;

use crate::config::OutputOptions;
use crate::config::ci_environment::CiEnvironment;
use crate::report::Report;

pub use dotenv::variable_name;
pub use values::output_values;

/// Writes the report everywhere it was asked for; the runner's files are those `ci` names.
pub fn emit(report: &Report, options: &OutputOptions, ci: &CiEnvironment) -> anyhow::Result<()> {
    workflow_commands::WorkflowCommands::for_environment(ci).annotate_region_failures(report);
    let values = output_values(report);
    if let Some(path) = ci.github_output() {
        github_files::append_outputs(&path, &values)?;
    }
    if options.summary
        && let Some(path) = ci.github_step_summary()
    {
        github_files::append_summary(&path, report)?;
    }
    if let Some(path) = &options.dotenv_file {
        dotenv::write_dotenv(path, report)?;
    }
    let text = if options.json {
        let mut json = serde_json::to_string_pretty(report).context("serialize the report")?;
        json.push('\n');
        json
    } else {
        human::render(report)
    };
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .context("write the report to stdout")
}

/// `error: <first line>`, the error's further lines indented (one per further cause when
/// regions failed differently), and one `caused by:` line per cause in the chain; redacted.
pub fn render_error(error: &anyhow::Error) -> String {
    let mut text = format!("error: {}", error.to_string().replace('\n', "\n  "));
    for cause in error.chain().skip(1) {
        text.push_str(&format!("\n  caused by: {cause}"));
    }
    redaction::redact_line(&text)
}
