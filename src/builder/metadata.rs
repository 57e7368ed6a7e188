//! The standard OCI metadata every build gets, as labels (in the image config) and annotations
//! (on the manifest, where the builder supports them): `org.opencontainers.image.revision` and
//! `.source` from the CI's variables (GitHub, GitLab, Jenkins, in that order) or the local git
//! checkout of the context, and `.created` from `SOURCE_DATE_EPOCH` or the clock. Source URLs
//! lose any credentials (`https://user:token@host/…`) before they go anywhere.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use super::stream::{ToolCommand, run_captured};
use crate::config::ci_environment::CiEnvironment;
use crate::error::InputError;

pub const REVISION: &str = "org.opencontainers.image.revision";
pub const SOURCE: &str = "org.opencontainers.image.source";
pub const CREATED: &str = "org.opencontainers.image.created";

/// What a git checkout says about itself.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GitCheckout {
    pub revision: Option<String>,
    pub remote_url: Option<String>,
}

/// The standard keys and values, plus `SOURCE_DATE_EPOCH` when set (for the builder too).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct OciMetadata {
    pub entries: Vec<(String, String)>,
    pub source_date_epoch: Option<u64>,
}

impl OciMetadata {
    /// Takes the value of a `labels` entry with a standard key, so that label and annotation
    /// agree when the user sets one of these keys.
    pub fn with_label_overrides(mut self, labels: &[(String, String)]) -> Self {
        for (key, value) in &mut self.entries {
            if let Some((_, own)) = labels.iter().find(|(label, _)| label == key) {
                value.clone_from(own);
            }
        }
        self
    }
}

/// The metadata from `ci`'s variables (blank ones unset) and, when they name no revision or
/// source, the git checkout `context` is in.
pub async fn standard_metadata(
    context: &Path,
    ci: &CiEnvironment,
) -> Result<OciMetadata, InputError> {
    let var = |name: &str| ci.non_blank(name);
    let needs_git = metadata_from(&var, None, 0)
        .map(|m| m.entries.len() < 3)
        .unwrap_or(false);
    let checkout = if needs_git {
        Some(local_checkout(context).await)
    } else {
        None
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    metadata_from(&var, checkout, now)
}

/// The metadata from variables (`var`), a checkout and the current time in Unix seconds.
pub fn metadata_from(
    var: &dyn Fn(&str) -> Option<String>,
    checkout: Option<GitCheckout>,
    now: u64,
) -> Result<OciMetadata, InputError> {
    let checkout = checkout.unwrap_or_default();
    let github_source = match (var("GITHUB_SERVER_URL"), var("GITHUB_REPOSITORY")) {
        (Some(server), Some(repository)) => {
            Some(format!("{}/{repository}", server.trim_end_matches('/')))
        }
        _ => None,
    };
    let revision = var("GITHUB_SHA")
        .or_else(|| var("CI_COMMIT_SHA"))
        .or_else(|| var("GIT_COMMIT"))
        .or(checkout.revision);
    let source = github_source
        .or_else(|| var("CI_PROJECT_URL"))
        .or_else(|| var("GIT_URL"))
        .or(checkout.remote_url)
        .and_then(|url| public_source_url(&url));
    let source_date_epoch = match var("SOURCE_DATE_EPOCH") {
        None => None,
        Some(text) => Some(text.trim().parse::<u64>().map_err(|_| {
            InputError::new(
                "SOURCE_DATE_EPOCH",
                format!(
                    "'{text}' is not a number of seconds since 1970-01-01 (unset it or fix it)"
                ),
            )
        })?),
    };
    let mut entries = Vec::new();
    if let Some(revision) = revision {
        entries.push((REVISION.to_owned(), revision.trim().to_owned()));
    }
    if let Some(source) = source {
        entries.push((SOURCE.to_owned(), source));
    }
    entries.push((
        CREATED.to_owned(),
        rfc3339_utc(source_date_epoch.unwrap_or(now)),
    ));
    Ok(OciMetadata {
        entries,
        source_date_epoch,
    })
}

/// The remote as a browsable URL without credentials: `git@host:org/repo.git` and
/// `ssh://git@host/org/repo` become `https://host/org/repo`; a `.git` suffix is dropped.
pub fn public_source_url(url: &str) -> Option<String> {
    let url = url.trim();
    let without_scheme = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .or_else(|| url.strip_prefix("ssh://"))
        .or_else(|| url.strip_prefix("git://"));
    let host_and_path = match without_scheme {
        Some(rest) => rest.to_owned(),
        // scp-like `user@host:path`
        None => {
            let (host, path) = url.split_once(':')?;
            if host.contains('/') || path.starts_with("//") {
                return None;
            }
            format!("{host}/{path}")
        }
    };
    let (authority, path) = host_and_path.split_once('/')?;
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let keep_scheme = url.starts_with("http://") || url.starts_with("https://");
    let host = if keep_scheme {
        host
    } else {
        host.split(':').next().unwrap_or(host)
    };
    let scheme = if url.starts_with("http://") {
        "http"
    } else {
        "https"
    };
    let path = path.trim_end_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    (!host.is_empty() && !path.is_empty()).then(|| format!("{scheme}://{host}/{path}"))
}

/// `git rev-parse HEAD` and the `origin` remote of the checkout `dir` is in; empty when git
/// is missing or `dir` is not in a checkout.
async fn local_checkout(dir: &Path) -> GitCheckout {
    let git = |args: &[&str]| {
        ToolCommand::new("git")
            .arg("-C")
            .arg(dir.display().to_string())
            .args(args.iter().copied())
    };
    let first_line = |out: Result<String, String>| {
        out.ok()
            .and_then(|text| text.lines().next().map(str::trim).map(str::to_owned))
            .filter(|line| !line.is_empty())
    };
    GitCheckout {
        revision: first_line(run_captured(&git(&["rev-parse", "HEAD"])).await),
        remote_url: first_line(run_captured(&git(&["remote", "get-url", "origin"])).await),
    }
}

/// `2023-11-14T22:13:20Z` for 1700000000.
pub fn rfc3339_utc(unix_seconds: u64) -> String {
    let days = unix_seconds / 86_400;
    let seconds_of_day = unix_seconds % 86_400;
    let (year, month, day) = civil_date(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        seconds_of_day / 3600,
        seconds_of_day % 3600 / 60,
        seconds_of_day % 60
    )
}

/// The proleptic Gregorian date `days` after 1970-01-01, counted in 400-year eras
/// (146 097 days each) that start on March 1st so that leap days end a year.
fn civil_date(days: u64) -> (u64, u64, u64) {
    let shifted = days + 719_468; // days from 0000-03-01 to 1970-01-01
    let era = shifted / 146_097;
    let day_of_era = shifted % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests;
