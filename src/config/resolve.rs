//! `RawInputs` → `Config`: every rule that can be checked without the network. The first
//! problem found is returned as an `InputError` naming the input.

use super::names::check_repository;
use super::raw::{RawInputs, split_pairs};
use super::tag_references::{ResolvedTags, resolve_tag_entries};
pub(super) use super::targets::resolve_targets;
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
    resolve_with((raw, image), targets, tags, handoff)
}

/// `merge`'s configuration: `push`'s, with the index over `sources` as the image.
pub fn resolve_merge(raw: &RawInputs) -> Result<Config, InputError> {
    let request = super::merge::resolve_merge(raw)?;
    let targets = resolve_targets(raw)?;
    let tags = resolve_tags(raw, &targets)?;
    let handoff = super::handoff::resolve_handoff(raw, &targets)?;
    resolve_with(
        (raw, super::build::ImageInput::Merge(request)),
        targets,
        tags,
        handoff,
    )
}

fn resolve_with(
    (raw, image): (&RawInputs, super::build::ImageInput),
    targets: Vec<Target>,
    tags: ResolvedTags,
    handoff: super::handoff::HandoffOptions,
) -> Result<Config, InputError> {
    let repository_settings = resolve_repository_settings(raw)?;
    let source_endpoint = resolve_source_endpoint(raw, &image)?;
    let source_role = resolve_source_role(raw, &image)?;
    if let (Some(target), Encryption::Aes256) = (
        targets.iter().find(|t| t.kms_key.is_some()),
        &repository_settings.encryption,
    ) {
        return Err(InputError::new(
            "targets",
            format!(
                "destination {}: kms-key is only valid with encryption-type KMS or KMS_DSSE",
                target.id
            ),
        ));
    }
    let lock = super::lock::resolve_lock(raw, &targets[0].region)?;
    Ok(Config {
        image,
        lock,
        targets,
        tags: tags.tags,
        ignored_tag_references: tags.ignored,
        repository_settings,
        management: super::management::resolve_management(raw)?,
        dry_run: raw.bool("dry-run", false)?,
        verify: raw.bool("verify", true)?,
        concurrency: resolve_concurrency(raw)?,
        stall_timeout: resolve_stall_timeout(raw)?,
        mount_from: resolve_mount_from(raw)?,
        source_endpoint,
        source_role,
        endpoint_style: resolve_endpoint_style(raw)?,
        outputs: OutputOptions {
            json: raw.bool("json", false)?,
            dotenv_file: raw.get("dotenv-file").map(|p| p.trim().into()),
            summary: raw.bool("summary", true)?,
        },
        handoff,
        scan: super::scan::resolve_scan(raw)?,
        tag_order: super::lock::resolve_tag_order(raw)?,
        signing_timeout: raw.seconds(
            "signing-timeout",
            DEFAULT_SIGNING_TIMEOUT_SECS,
            1..=86_400,
        )?,
    })
}

/// `tags`: bare tags and image references (see [`super::tag_references`]).
pub(super) fn resolve_tags(
    raw: &RawInputs,
    targets: &[Target],
) -> Result<ResolvedTags, InputError> {
    let entries = raw.list("tags");
    let by_digest = raw.bool("by-digest", false)?;
    match (entries.is_empty(), by_digest) {
        (true, false) => Err(InputError::new(
            "tags",
            "is required (comma-separated image tags, e.g. v1.2.3,latest) unless by-digest is true",
        )),
        (true, true) => Ok(ResolvedTags::default()),
        (false, true) => Err(InputError::new(
            "by-digest",
            "moves no tag, but tags are given; leave tags empty, or set by-digest to false",
        )),
        (false, false) => resolve_tag_entries(&entries, targets),
    }
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

/// `source-role-arn` and `source-external-id`: the role a `docker://` image's ECR registry is
/// read with.
fn resolve_source_role(
    raw: &RawInputs,
    image: &super::build::ImageInput,
) -> Result<Option<super::AssumedRole>, InputError> {
    let names = super::targets::RoleInputs {
        role_arn: ("source-role-arn", "source-role-arn"),
        external_id: ("source-external-id", "source-external-id"),
        prefix: String::new(),
    };
    let arn = raw.get("source-role-arn").map(str::to_string);
    let external_id = raw.get("source-external-id").map(str::to_string);
    let role = super::targets::role(&names, arn, external_id)?;
    if role.is_some() && !is_registry_image(image) {
        return Err(InputError::new(
            "source-role-arn",
            "is only valid with an image read from a registry (image: docker://HOST/REPOSITORY:TAG)",
        ));
    }
    Ok(role)
}

fn is_registry_image(image: &super::build::ImageInput) -> bool {
    matches!(
        image,
        super::build::ImageInput::Prebuilt(crate::image::ImageSource::Registry(_))
    )
}

/// `source-registry-endpoint`: an http(s) URL, only with a `docker://` image.
fn resolve_source_endpoint(
    raw: &RawInputs,
    image: &super::build::ImageInput,
) -> Result<Option<String>, InputError> {
    const NAME: &str = "source-registry-endpoint";
    let Some(url) = raw.get(NAME).map(str::trim) else {
        return Ok(None);
    };
    if !is_registry_image(image) {
        return Err(InputError::new(
            NAME,
            "is only valid with an image read from a registry (image: docker://HOST/REPOSITORY:TAG)",
        ));
    }
    super::targets::check_endpoint_url(url)
        .map(Some)
        .map_err(|e| InputError::new(NAME, e.message))
}

/// The default bound of the wait for ECR managed signing, in seconds.
pub const DEFAULT_SIGNING_TIMEOUT_SECS: u64 = 600;

/// The default stall bound, in seconds.
pub const DEFAULT_STALL_TIMEOUT_SECS: u64 = 60;

fn resolve_stall_timeout(raw: &RawInputs) -> Result<std::time::Duration, InputError> {
    raw.seconds("stall-timeout", DEFAULT_STALL_TIMEOUT_SECS, 1..=3600)
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
mod tests;
