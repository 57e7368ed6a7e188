//! The run's destinations: `regions` (with `repository` and `registry-id`), or the `targets`
//! input, a YAML list (inline or in a file) of `{id?, region, registry-id?, repository?,
//! role-arn?, external-id?, kms-key?, lifecycle-policy?, repository-policy?}` whose values
//! override the run's inputs for that destination. Each destination gets an `id` that names it
//! in every output: the region when the region appears once, else the entry's own `id`. The
//! `registry-endpoints` pairs are applied here too, by id or by region.
//!
//! YAML is read with `serde-saphyr`, a pure-Rust deserializer that reads straight into these
//! types (see CONTRIBUTING.md, "Dependencies").

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::names::{check_region, check_registry_id, check_repository};
use super::raw::{RawInputs, split_pairs};
use super::{AssumedRole, Target, policy_input};
use crate::error::InputError;
use crate::secret::Secret;

const NAME: &str = "targets";

/// One entry of the `targets` list, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TargetEntry {
    pub id: Option<String>,
    pub region: String,
    pub repository: Option<String>,
    pub registry_id: Option<String>,
    pub role_arn: Option<String>,
    pub external_id: Option<String>,
    pub kms_key: Option<String>,
    pub lifecycle_policy: Option<String>,
    pub repository_policy: Option<String>,
}

/// Parses the `targets` input: a file path when such a file exists, otherwise inline YAML.
pub fn parse_targets(value: &str) -> Result<Vec<TargetEntry>, InputError> {
    let trimmed = value.trim();
    let text = if !trimmed.contains('\n') && Path::new(trimmed).is_file() {
        std::fs::read_to_string(trimmed)
            .map_err(|e| InputError::new(NAME, format!("cannot read file '{trimmed}': {e}")))?
    } else {
        value.to_string()
    };
    let entries: Vec<TargetEntry> = serde_saphyr::from_str(&text).map_err(|e| {
        // The user-facing wording, one line, no source snippet: "unknown field `repo`, …
        // at line 2, column 3".
        let options = serde_saphyr::render_options! {
            formatter: &serde_saphyr::UserMessageFormatter,
            snippets: serde_saphyr::SnippetMode::Off,
        };
        let rendered = e.render_with_options(options);
        let first_line = rendered.lines().next().unwrap_or_default();
        InputError::new(
            NAME,
            format!(
                "not a YAML list of {{id?, region, registry-id?, repository?, role-arn?, \
                 external-id?, kms-key?, lifecycle-policy?, repository-policy?}}: {first_line}"
            ),
        )
    })?;
    if entries.is_empty() {
        return Err(InputError::new(NAME, "the list is empty"));
    }
    Ok(entries)
}

/// Every destination of the run, primary first, validated; `registry-endpoints` applied.
pub fn resolve_targets(raw: &RawInputs) -> Result<Vec<Target>, InputError> {
    let default_repository = raw.get("repository").map(|r| r.trim().to_string());
    let default_registry = raw.get("registry-id").map(|r| r.trim().to_string());
    let (input, entries) = match raw.get(NAME) {
        Some(_) if raw.get("regions").is_some() => {
            return Err(InputError::new(
                NAME,
                "cannot be combined with `regions`; list every destination in `targets`",
            ));
        }
        Some(text) => (NAME, parse_targets(text)?),
        None => ("regions", entries_from_regions(raw)?),
    };
    let ids = assign_ids(input, &entries)?;
    let mut targets: Vec<Target> = Vec::with_capacity(entries.len());
    for (entry, id) in entries.into_iter().zip(ids) {
        check_region(&entry.region).map_err(|m| InputError::new(input, m))?;
        let repository = match (entry.repository, &default_repository) {
            (Some(own), _) => check_repository(&own)
                .map(|()| own)
                .map_err(|m| InputError::new(NAME, format!("destination {id}: {m}")))?,
            (None, Some(default)) => check_repository(default)
                .map(|()| default.clone())
                .map_err(|m| InputError::new("repository", m))?,
            (None, None) => {
                return Err(InputError::new(
                    "repository",
                    format!(
                        "is required (no repository given for {})",
                        destination_words(&id, &entry.region)
                    ),
                ));
            }
        };
        let role = resolve_role(&id, entry.role_arn, entry.external_id)?;
        let registry_id = match (entry.registry_id, &default_registry) {
            (Some(own), _) => {
                check_registry_id(&own)
                    .map_err(|m| InputError::new(NAME, format!("destination {id}: {m}")))?;
                Some(own)
            }
            (None, _) if role.is_some() => role.as_ref().map(|r| r.account.clone()),
            (None, Some(default)) => {
                check_registry_id(default).map_err(|m| InputError::new("registry-id", m))?;
                Some(default.clone())
            }
            (None, None) => None,
        };
        let policy = |value: Option<String>, read: fn(&str) -> Result<_, InputError>| {
            value
                .map(|text| {
                    read(&text).map_err(|e| {
                        InputError::new(NAME, format!("destination {id}: {}", e.message))
                    })
                })
                .transpose()
        };
        let target = Target {
            lifecycle_policy: policy(entry.lifecycle_policy, policy_input::lifecycle_policy)?,
            repository_policy: policy(entry.repository_policy, policy_input::repository_policy)?,
            kms_key: entry.kms_key.map(|k| k.trim().to_string()),
            id,
            region: entry.region,
            repository,
            registry_id,
            endpoint_override: None,
            role,
        };
        if let Some(same) = targets.iter().find(|t| t.same_repository(&target)) {
            return Err(InputError::new(
                input,
                format!(
                    "destinations {} and {} are the same repository ({}); list each once",
                    same.id,
                    target.id,
                    target.describe()
                ),
            ));
        }
        targets.push(target);
    }
    apply_endpoint_overrides(raw, &mut targets)?;
    Ok(targets)
}

/// `regions` as entries (the run's `repository` and `registry-id` apply to each).
fn entries_from_regions(raw: &RawInputs) -> Result<Vec<TargetEntry>, InputError> {
    let regions = raw.list("regions");
    if regions.is_empty() {
        return Err(InputError::new(
            "regions",
            "is required (comma-separated AWS regions, e.g. us-east-1,eu-west-1) unless \
             `targets` is given",
        ));
    }
    let mut seen: Vec<&String> = Vec::new();
    for region in &regions {
        if seen.contains(&region) {
            return Err(InputError::new(
                "regions",
                format!(
                    "region '{region}' is listed twice; list each region once (for several \
                     destinations in one region use `targets` with an `id` for each)"
                ),
            ));
        }
        seen.push(region);
    }
    Ok(regions
        .into_iter()
        .map(|region| TargetEntry {
            region,
            ..TargetEntry::default()
        })
        .collect())
}

/// Each entry's id: its own, or its region when the region appears once. Ids are unique, and
/// no id is another destination's region (outputs keyed by id would be ambiguous).
fn assign_ids(input: &'static str, entries: &[TargetEntry]) -> Result<Vec<String>, InputError> {
    let mut per_region: BTreeMap<&str, usize> = BTreeMap::new();
    for entry in entries {
        *per_region.entry(entry.region.as_str()).or_default() += 1;
    }
    let mut ids: Vec<String> = Vec::with_capacity(entries.len());
    for entry in entries {
        let id = match &entry.id {
            Some(id) => {
                check_id(id)?;
                id.clone()
            }
            None if per_region.get(entry.region.as_str()) == Some(&1) => entry.region.clone(),
            None => {
                return Err(InputError::new(
                    input,
                    format!(
                        "region {} holds {} destinations; give each of them an `id` \
                         ([a-z0-9][a-z0-9-]{{0,62}}, e.g. {}-dr) to name it in the outputs",
                        entry.region,
                        per_region[entry.region.as_str()],
                        entry.region
                    ),
                ));
            }
        };
        ids.push(id);
    }
    for (entry, id) in entries.iter().zip(&ids) {
        if let Some(other) = entries
            .iter()
            .find(|e| e.region == *id && e.region != entry.region)
        {
            return Err(InputError::new(
                input,
                format!(
                    "id '{id}' is the region of another destination ({} in {}); outputs name \
                     destinations by id, so choose an id that is not a region of the run",
                    other
                        .repository
                        .as_deref()
                        .unwrap_or("the run's repository"),
                    other.region
                ),
            ));
        }
    }
    for (i, id) in ids.iter().enumerate() {
        if ids[..i].contains(id) {
            return Err(InputError::new(
                input,
                format!("id '{id}' names two destinations; give each its own"),
            ));
        }
    }
    Ok(ids)
}

/// `[a-z0-9][a-z0-9-]{0,62}`.
fn check_id(id: &str) -> Result<(), InputError> {
    let valid = (1..=63).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-');
    if valid {
        Ok(())
    } else {
        Err(InputError::new(
            NAME,
            format!(
                "id '{id}' is not valid; an id is 1-63 lowercase letters, digits and '-', \
                 starting with a letter or digit"
            ),
        ))
    }
}

/// `role-arn` (an IAM role ARN) and its optional `external-id`, of destination `id`.
fn resolve_role(
    id: &str,
    arn: Option<String>,
    external_id: Option<String>,
) -> Result<Option<AssumedRole>, InputError> {
    let names = RoleInputs {
        role_arn: (NAME, "role-arn"),
        external_id: (NAME, "external-id"),
        prefix: format!("destination {id}: "),
    };
    role(&names, arn, external_id)
}

/// How errors name a role's two inputs: `(input, word in the message)`, and what precedes.
pub(super) struct RoleInputs {
    pub role_arn: (&'static str, &'static str),
    pub external_id: (&'static str, &'static str),
    pub prefix: String,
}

/// A role ARN and its optional external id, validated.
pub(super) fn role(
    names: &RoleInputs,
    arn: Option<String>,
    external_id: Option<String>,
) -> Result<Option<AssumedRole>, InputError> {
    let RoleInputs {
        role_arn: (arn_input, arn_word),
        external_id: (external_input, external_word),
        prefix,
    } = names;
    let Some(arn) = arn.map(|a| a.trim().to_string()) else {
        if external_id.is_some() {
            return Err(InputError::new(
                external_input,
                format!("{prefix}{external_word} is only valid with {arn_word}"),
            ));
        }
        return Ok(None);
    };
    let account = role_account(&arn).ok_or_else(|| {
        InputError::new(
            arn_input,
            format!(
                "{prefix}{arn_word} '{arn}' is not an IAM role ARN \
                 (arn:aws:iam::123456789012:role/NAME)"
            ),
        )
    })?;
    let external_id = match external_id {
        Some(value) => {
            let valid = (2..=1224).contains(&value.len())
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+=,.@:/-_".contains(&b));
            if !valid {
                return Err(InputError::new(
                    external_input,
                    format!(
                        "{prefix}{external_word} is not valid (2-1224 characters of letters, \
                         digits and +=,.@:/-_)"
                    ),
                ));
            }
            Some(Secret::new(value))
        }
        None => None,
    };
    Ok(Some(AssumedRole {
        arn,
        account,
        external_id,
        session_name: "ecr-fanout".to_string(),
    }))
}

/// The account of `arn:PARTITION:iam::ACCOUNT:role/PATH/NAME`.
fn role_account(arn: &str) -> Option<String> {
    let mut parts = arn.splitn(6, ':');
    let (arn_word, partition, service, region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let name = resource.strip_prefix("role/")?;
    let valid = arn_word == "arn"
        && partition.starts_with("aws")
        && service == "iam"
        && region.is_empty()
        && check_registry_id(account).is_ok()
        && !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-/".contains(&b));
    valid.then(|| account.to_string())
}

/// `destination ID (region R)`, or `region R` when the id is the region.
fn destination_words(id: &str, region: &str) -> String {
    if id == region {
        format!("region {region}")
    } else {
        format!("destination {id} (region {region})")
    }
}

/// `registry-endpoints`: `ID=URL` or `REGION=URL` pairs; a region applies to each of its
/// destinations, and may not when they are in different accounts (the host names the account).
fn apply_endpoint_overrides(raw: &RawInputs, targets: &mut [Target]) -> Result<(), InputError> {
    const ENDPOINTS: &str = "registry-endpoints";
    let Some(text) = raw.get(ENDPOINTS) else {
        return Ok(());
    };
    for (key, url) in split_pairs(ENDPOINTS, text)? {
        let url = check_endpoint_url(&url)?;
        let chosen = select_destinations(ENDPOINTS, &key, targets)?;
        for index in chosen {
            let target = &mut targets[index];
            if target.endpoint_override.is_some() {
                return Err(InputError::new(
                    ENDPOINTS,
                    format!("destination '{}' is given twice", target.id),
                ));
            }
            target.endpoint_override = Some(url.clone());
        }
    }
    Ok(())
}

/// The destinations a pair's key names, as indexes: the one with that id, else every one in
/// that region (all in one account). Exit 2 naming the valid keys otherwise.
pub fn select_destinations(
    input: &'static str,
    key: &str,
    targets: &[Target],
) -> Result<Vec<usize>, InputError> {
    if let Some(index) = targets.iter().position(|t| t.id == key) {
        return Ok(vec![index]);
    }
    let in_region: Vec<usize> = (0..targets.len())
        .filter(|&i| targets[i].region == key)
        .collect();
    if in_region.is_empty() {
        let ids: Vec<&str> = targets.iter().map(|t| t.id.as_str()).collect();
        return Err(InputError::new(
            input,
            format!(
                "'{key}' is neither a destination id nor a region of the run; the destinations \
                 are {}",
                ids.join(", ")
            ),
        ));
    }
    let accounts: Vec<Option<&str>> = in_region
        .iter()
        .map(|&i| targets[i].registry_id.as_deref())
        .collect();
    if accounts.iter().any(|a| *a != accounts[0]) {
        let ids: Vec<&str> = in_region.iter().map(|&i| targets[i].id.as_str()).collect();
        return Err(InputError::new(
            input,
            format!(
                "region {key} holds destinations of different accounts ({}); give a value per \
                 destination id",
                ids.join(", ")
            ),
        ));
    }
    Ok(in_region)
}

/// `http://host[:port]` or `https://host[:port]`, no path; returned without a trailing slash.
pub(super) fn check_endpoint_url(url: &str) -> Result<String, InputError> {
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

#[cfg(test)]
mod tests;
