//! GitHub Actions workflow commands: `::add-mask::` for registry passwords and AWS
//! credentials, `::group::` per phase and `::error title=…::` annotations (redacted). Written
//! only in a GitHub Actions step ([`WorkflowCommands`], from `GITHUB_ACTIONS=true` in the CI
//! environment read at start-up), and to **stderr**: the runner reads commands from both
//! streams of a step (actions/runner, `ScriptHandler.cs`, one `OutputManager` per stream),
//! stderr is where the logs go, so a mask is registered before any later log line, and stdout
//! stays pure data (`--json | jq`, or a redirect to a file that would otherwise receive the
//! password inside the mask command).

use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::config::action_env::ActionInputError;
use crate::config::ci_environment::CiEnvironment;
use crate::error::InputError;
use crate::report::{RegionStatus, Report};
use crate::secret::Secret;

/// Whether workflow commands are written: decided once from the CI environment and handed to
/// each writer (the observer's masks and groups, the build's group, `emit`'s annotations and
/// `main`'s error annotation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkflowCommands {
    enabled: bool,
}

impl WorkflowCommands {
    /// On when `ci` is a GitHub Actions step (`GITHUB_ACTIONS=true`).
    pub fn for_environment(ci: &CiEnvironment) -> Self {
        Self {
            enabled: ci.github_actions(),
        }
    }

    /// Registers `secret` for redaction of every later log line and masks it in the job log.
    pub fn mask(self, secret: &Secret) {
        if secret.expose().is_empty() {
            return;
        }
        crate::secret::register(secret.expose());
        if self.enabled {
            write_command(&command("add-mask", &[], secret.expose()));
        }
    }

    /// Starts `::group::TITLE` (GitHub does not nest groups: keep one open at a time).
    pub fn group(self, title: &str) -> Group {
        let open = self.enabled;
        if open {
            write_command(&command("group", &[], title));
        }
        Group { open }
    }

    /// One `::error` annotation per region that failed or was refused, titled with the region.
    pub fn annotate_region_failures(self, report: &Report) {
        if !self.enabled {
            return;
        }
        for region in &report.regions {
            if let Some(error) = &region.error {
                // A region with an error that did not fail was refused by the plan.
                let outcome = if region.status == RegionStatus::Failed {
                    "failed"
                } else {
                    "refused"
                };
                let title = format!(
                    "ecr-fanout: {} {outcome} (repository {})",
                    region.label(),
                    region.repository
                );
                let error = super::redaction::redact_line(error);
                write_command(&command("error", &[("title", &title)], &error));
                REGIONS_ANNOTATED.store(true, Ordering::Relaxed);
            }
        }
    }

    /// An `::error` annotation for the run's error, unless the regions were already annotated.
    pub fn annotate_error(self, error: &anyhow::Error) {
        if !self.enabled || REGIONS_ANNOTATED.load(Ordering::Relaxed) {
            return;
        }
        let input = error.chain().find_map(|c| c.downcast_ref::<InputError>());
        let title = match input {
            Some(input) => format!("ecr-fanout: invalid input `{}`", input.input),
            None if error.is::<ActionInputError>() => {
                "ecr-fanout: unknown action input".to_string()
            }
            None => "ecr-fanout failed".to_string(),
        };
        write_command(&command(
            "error",
            &[("title", &title)],
            &super::redaction::redact_line(&format!("{error:#}")),
        ));
    }
}

/// A collapsible log group; it ends when the value is dropped.
#[must_use = "the group ends when this value is dropped"]
pub struct Group {
    open: bool,
}

impl Drop for Group {
    fn drop(&mut self) {
        if self.open {
            write_command("::endgroup::");
        }
    }
}

/// Set once a region's failure was annotated, so the final error does not repeat it.
static REGIONS_ANNOTATED: AtomicBool = AtomicBool::new(false);

/// `::NAME k=v,k=v::DATA`, escaped by the runner's rules.
fn command(name: &str, properties: &[(&str, &str)], data: &str) -> String {
    let properties: Vec<String> = properties
        .iter()
        .map(|(k, v)| format!("{k}={}", escape_property(v)))
        .collect();
    let separator = if properties.is_empty() { "" } else { " " };
    format!(
        "::{name}{separator}{}::{}",
        properties.join(","),
        escape_data(data)
    )
}

fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// One whole line on stderr, written under the lock so that no log line splits it.
fn write_command(line: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr
        .write_all(format!("{line}\n").as_bytes())
        .and_then(|()| stderr.flush());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_escape_data_and_properties() {
        assert_eq!(command("add-mask", &[], "s3cr%t"), "::add-mask::s3cr%25t");
        assert_eq!(
            command("error", &[("title", "a: b, c")], "line 1\nline 2"),
            "::error title=a%3A b%2C c::line 1%0Aline 2"
        );
        assert_eq!(command("group", &[], "Plan"), "::group::Plan");
    }
}
