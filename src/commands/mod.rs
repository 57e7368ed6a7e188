//! One file per subcommand: each turns parsed arguments into a run and returns its result.

pub mod action;
mod cache_logins;
mod lambda;
pub mod merge;
mod obtain_image;
pub mod push;
pub mod verify;

use crate::config::ci_environment::CiEnvironment;

/// The STS session name of assumed roles in this run: the CI run's id, else host and pid.
fn role_session_name(ci: &CiEnvironment) -> String {
    ci.role_session_name(&host_name(), std::process::id())
}

/// The run's id as the lock names its holder: the CI run's id, else host and pid.
fn run_id(ci: &CiEnvironment) -> String {
    ci.run_id(&host_name(), std::process::id())
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}
