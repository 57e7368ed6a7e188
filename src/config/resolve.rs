//! `RawInputs` → `Config`: every rule that can be checked without the network. The first
//! problem found is returned as an `InputError` naming the input.

use std::collections::BTreeSet;

use super::names::{check_region, check_registry_id, check_repository};
use super::raw::{RawInputs, split_pairs};
use super::tag_references::{ResolvedTags, resolve_tag_entries};
use super::targets::{TargetEntry, parse_targets};
use super::{Config, Encryption, EndpointStyle, OutputOptions, RepositorySettings, Target};
use crate::error::InputError;

/// The default number of concurrent blob uploads per region.
pub const DEFAULT_CONCURRENCY: usize = 4;
const MAX_CONCURRENCY: usize = 64;

/// Validates raw inputs into a `Config`. Does not open the image or touch the network.
pub fn resolve(raw: &RawInputs) -> Result<Config, InputError> {
    let targets = resolve_targets(raw)?;
    let tags = resolve_tags(raw, &targets)?;
    let handoff = super::handoff::resolve_handoff(raw, &targets)?;
    let image = super::build::resolve_image_input(raw)?;
    Ok(Config {
        image,
        targets,
        tags: tags.tags,
        ignored_tag_references: tags.ignored,
        repository_settings: resolve_repository_settings(raw)?,
        management: super::management::resolve_management(raw)?,
        dry_run: raw.bool("dry-run", false)?,
        verify: raw.bool("verify", true)?,
        concurrency: resolve_concurrency(raw)?,
        stall_timeout: resolve_stall_timeout(raw)?,
        mount_from: resolve_mount_from(raw)?,
        endpoint_style: resolve_endpoint_style(raw)?,
        outputs: OutputOptions {
            json: raw.bool("json", false)?,
            dotenv_file: raw.get("dotenv-file").map(|p| p.trim().into()),
            summary: raw.bool("summary", true)?,
        },
        handoff,
    })
}

pub(super) fn resolve_targets(raw: &RawInputs) -> Result<Vec<Target>, InputError> {
    let default_repository = raw.get("repository").map(|r| r.trim().to_string());
    let default_registry = raw.get("registry-id").map(|r| r.trim().to_string());
    let entries = match raw.get("targets") {
        Some(text) => {
            if raw.get("regions").is_some() {
                return Err(InputError::new(
                    "targets",
                    "cannot be combined with `regions`; list every region in `targets`",
                ));
            }
            parse_targets(text)?
        }
        None => {
            let regions = raw.list("regions");
            if regions.is_empty() {
                return Err(InputError::new(
                    "regions",
                    "is required (comma-separated AWS regions, e.g. us-east-1,eu-west-1) \
                     unless `targets` is given",
                ));
            }
            regions
                .into_iter()
                .map(|region| TargetEntry {
                    region,
                    repository: None,
                    registry_id: None,
                })
                .collect()
        }
    };
    let mut seen = BTreeSet::new();
    let mut targets = Vec::with_capacity(entries.len());
    for entry in entries {
        let input = if raw.get("targets").is_some() {
            "targets"
        } else {
            "regions"
        };
        check_region(&entry.region).map_err(|m| InputError::new(input, m))?;
        if !seen.insert(entry.region.clone()) {
            return Err(InputError::new(
                input,
                format!(
                    "region '{}' is listed twice; list each region once",
                    entry.region
                ),
            ));
        }
        let repository = match (entry.repository, &default_repository) {
            (Some(own), _) => check_repository(&own)
                .map(|()| own)
                .map_err(|m| InputError::new("targets", m))?,
            (None, Some(default)) => check_repository(default)
                .map(|()| default.clone())
                .map_err(|m| InputError::new("repository", m))?,
            (None, None) => {
                return Err(InputError::new(
                    "repository",
                    format!(
                        "is required (no repository given for region {})",
                        entry.region
                    ),
                ));
            }
        };
        let registry_id = match (entry.registry_id, &default_registry) {
            (Some(own), _) => {
                check_registry_id(&own).map_err(|m| InputError::new("targets", m))?;
                Some(own)
            }
            (None, Some(default)) => {
                check_registry_id(default).map_err(|m| InputError::new("registry-id", m))?;
                Some(default.clone())
            }
            (None, None) => None,
        };
        targets.push(Target {
            region: entry.region,
            repository,
            registry_id,
            endpoint_override: None,
        });
    }
    apply_endpoint_overrides(raw, &mut targets)?;
    Ok(targets)
}

fn apply_endpoint_overrides(raw: &RawInputs, targets: &mut [Target]) -> Result<(), InputError> {
    const NAME: &str = "registry-endpoints";
    let Some(text) = raw.get(NAME) else {
        return Ok(());
    };
    for (region, url) in split_pairs(NAME, text)? {
        let Some(target) = targets.iter_mut().find(|t| t.region == region) else {
            let known: Vec<&str> = targets.iter().map(|t| t.region.as_str()).collect();
            return Err(InputError::new(
                NAME,
                format!(
                    "region '{region}' is not a target; the targets are {}",
                    known.join(", ")
                ),
            ));
        };
        if target.endpoint_override.is_some() {
            return Err(InputError::new(
                NAME,
                format!("region '{region}' is listed twice"),
            ));
        }
        target.endpoint_override = Some(check_endpoint_url(&url)?);
    }
    Ok(())
}

/// `http://host[:port]` or `https://host[:port]`, no path; returned without a trailing slash.
fn check_endpoint_url(url: &str) -> Result<String, InputError> {
    let invalid = || {
        InputError::new(
            "registry-endpoints",
            format!("'{url}' is not a registry URL; expected http(s)://HOST[:PORT] without a path"),
        )
    };
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(invalid)?;
    let host = rest.strip_suffix('/').unwrap_or(rest);
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    if host_ok {
        Ok(url.trim_end_matches('/').to_string())
    } else {
        Err(invalid())
    }
}

/// `tags`: bare tags and image references (see [`super::tag_references`]).
pub(super) fn resolve_tags(
    raw: &RawInputs,
    targets: &[Target],
) -> Result<ResolvedTags, InputError> {
    let entries = raw.list("tags");
    if entries.is_empty() {
        return Err(InputError::new(
            "tags",
            "is required (comma-separated image tags, e.g. v1.2.3,latest)",
        ));
    }
    resolve_tag_entries(&entries, targets)
}

fn resolve_repository_settings(raw: &RawInputs) -> Result<RepositorySettings, InputError> {
    let tag_rules = super::tag_mutability::resolve_tag_rules(raw)?;
    let key = raw.get("kms-key").map(|k| k.trim().to_string());
    let encryption = match raw.get("encryption-type").map(str::trim) {
        None | Some("AES256") if key.is_none() => Encryption::Aes256,
        None | Some("AES256") => {
            return Err(InputError::new(
                "kms-key",
                "is only valid with encryption-type KMS or KMS_DSSE",
            ));
        }
        Some("KMS") => Encryption::Kms { key },
        Some("KMS_DSSE") => Encryption::KmsDsse { key },
        Some(other) => {
            return Err(InputError::new(
                "encryption-type",
                format!("'{other}' is not valid; use AES256, KMS or KMS_DSSE"),
            ));
        }
    };
    let tags = match raw.get("repository-tags") {
        Some(text) => split_pairs("repository-tags", text)?,
        None => Vec::new(),
    };
    Ok(RepositorySettings {
        create: raw.bool("create-repository", false)?,
        tag_rules,
        scan_on_push: raw.bool("scan-on-push", false)?,
        encryption,
        tags,
    })
}

pub(super) fn resolve_concurrency(raw: &RawInputs) -> Result<usize, InputError> {
    let Some(text) = raw.get("concurrency") else {
        return Ok(DEFAULT_CONCURRENCY);
    };
    match text.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_CONCURRENCY).contains(&n) => Ok(n),
        _ => Err(InputError::new(
            "concurrency",
            format!("'{text}' is not valid; use a whole number from 1 to {MAX_CONCURRENCY}"),
        )),
    }
}

fn resolve_mount_from(raw: &RawInputs) -> Result<Option<String>, InputError> {
    let Some(name) = raw.get("mount-from").map(str::trim) else {
        return Ok(None);
    };
    check_repository(name).map_err(|m| InputError::new("mount-from", m))?;
    Ok(Some(name.to_string()))
}

/// The default stall bound, in seconds.
pub const DEFAULT_STALL_TIMEOUT_SECS: u64 = 60;

fn resolve_stall_timeout(raw: &RawInputs) -> Result<std::time::Duration, InputError> {
    let Some(text) = raw.get("stall-timeout") else {
        return Ok(std::time::Duration::from_secs(DEFAULT_STALL_TIMEOUT_SECS));
    };
    match text.trim().parse::<u64>() {
        Ok(n) if (1..=3600).contains(&n) => Ok(std::time::Duration::from_secs(n)),
        _ => Err(InputError::new(
            "stall-timeout",
            format!("'{text}' is not valid; use whole seconds from 1 to 3600"),
        )),
    }
}

pub(super) fn resolve_endpoint_style(raw: &RawInputs) -> Result<EndpointStyle, InputError> {
    raw.choice(
        "endpoint-style",
        &[
            ("standard", EndpointStyle::Standard),
            ("fips", EndpointStyle::Fips),
            ("dualstack", EndpointStyle::Dualstack),
        ],
    )
}

#[cfg(test)]
#[path = "resolve_tests.rs"]
mod tests;
