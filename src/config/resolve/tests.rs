//! Tests of resolving `RawInputs` into a `Config`: defaults, missing and bad inputs named.

use super::*;
use crate::config::{TagMutability, TagRules};

fn minimal() -> Vec<(&'static str, &'static str)> {
    vec![
        ("regions", "us-east-1,eu-west-1"),
        ("repository", "team-a/web"),
        ("tags", "v1,latest"),
        ("image", "oci:examples/hello"),
    ]
}

fn error_of(pairs: &[(&'static str, &str)]) -> String {
    resolve(&RawInputs::from_pairs(pairs))
        .unwrap_err()
        .to_string()
}

fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut pairs = minimal();
    for (name, value) in extra {
        pairs.retain(|(n, _)| n != name);
        pairs.push((name, value));
    }
    pairs
}

#[test]
fn minimal_inputs_give_defaults() {
    let config = resolve(&RawInputs::from_pairs(&minimal())).unwrap();
    assert_eq!(config.targets.len(), 2);
    assert_eq!(config.primary().region, "us-east-1");
    assert_eq!(config.targets[1].repository, "team-a/web");
    assert_eq!(config.tags, ["v1", "latest"]);
    assert_eq!(config.concurrency, DEFAULT_CONCURRENCY);
    assert!(config.verify && !config.dry_run && config.outputs.summary);
    assert_eq!(
        config.repository_settings.tag_rules,
        TagRules::of(TagMutability::Mutable)
    );
    assert_eq!(config.repository_settings.encryption, Encryption::Aes256);
}

#[test]
fn missing_required_inputs_are_named() {
    let no_regions: Vec<_> = minimal()
        .into_iter()
        .filter(|(n, _)| *n != "regions")
        .collect();
    assert!(error_of(&no_regions).starts_with("invalid input `regions`: is required"));
    let no_tags: Vec<_> = minimal()
        .into_iter()
        .filter(|(n, _)| *n != "tags")
        .collect();
    assert!(error_of(&no_tags).starts_with("invalid input `tags`: is required"));
    let no_repo: Vec<_> = minimal()
        .into_iter()
        .filter(|(n, _)| *n != "repository")
        .collect();
    assert!(error_of(&no_repo).starts_with("invalid input `repository`: is required"));
    // Without `image` the context is built; with no Dockerfile there, `image` is required.
    let empty_context = tempfile::tempdir().unwrap();
    let empty_context = empty_context.path().display().to_string();
    let mut no_image: Vec<(&'static str, &str)> = minimal()
        .into_iter()
        .filter(|(n, _)| *n != "image")
        .collect();
    no_image.push(("context", &empty_context));
    assert!(error_of(&no_image).starts_with("invalid input `image`: is required"));
}

#[test]
fn bad_names_are_rejected() {
    assert!(error_of(&with(&[("tags", "v1,.bad")])).starts_with("invalid input `tags`: '.bad'"));
    assert!(
        error_of(&with(&[("regions", "us-east-1,mars-1")]))
            .starts_with("invalid input `regions`: 'mars-1'")
    );
    assert!(
        error_of(&with(&[("repository", "Team/Web")]))
            .starts_with("invalid input `repository`: 'Team/Web'")
    );
    assert!(error_of(&with(&[("registry-id", "42")])).starts_with("invalid input `registry-id`"));
}

#[test]
fn duplicate_regions_are_rejected() {
    let err = error_of(&with(&[("regions", "us-east-1,eu-west-1,us-east-1")]));
    assert_eq!(
        err,
        "invalid input `regions`: region 'us-east-1' is listed twice; list each region once (for \
         several destinations in one region use `targets` with an `id` for each)"
    );
}

#[test]
fn endpoint_overrides_must_name_targets() {
    let config = resolve(&RawInputs::from_pairs(&with(&[(
        "registry-endpoints",
        "eu-west-1=http://127.0.0.1:5001/",
    )])))
    .unwrap();
    assert_eq!(
        config.targets[1].endpoint_override.as_deref(),
        Some("http://127.0.0.1:5001")
    );
    assert_eq!(config.targets[0].endpoint_override, None);
    let err = error_of(&with(&[(
        "registry-endpoints",
        "ap-south-1=http://127.0.0.1:5001",
    )]));
    assert_eq!(
        err,
        "invalid input `registry-endpoints`: 'ap-south-1' is neither a destination id nor a \
         region of the run; the destinations are us-east-1, eu-west-1"
    );
    let err = error_of(&with(&[("registry-endpoints", "eu-west-1=ftp://x")]));
    assert!(err.contains("expected http(s)://HOST[:PORT]"), "{err}");
}

#[test]
fn targets_yaml_overrides_per_entry() {
    let config = resolve(&RawInputs::from_pairs(&[
        ("targets", "- region: us-east-1\n- region: eu-west-1\n  repository: web-eu\n  registry-id: '210987654321'\n"),
        ("repository", "web"),
        ("tags", "v1"),
        ("image", "oci:x"),
    ]))
    .unwrap();
    assert_eq!(config.targets[0].repository, "web");
    assert_eq!(config.targets[1].repository, "web-eu");
    assert_eq!(
        config.targets[1].registry_id.as_deref(),
        Some("210987654321")
    );
}

#[test]
fn targets_and_regions_conflict() {
    let err = error_of(&with(&[("targets", "- region: us-east-1\n")]));
    assert!(err.starts_with("invalid input `targets`: cannot be combined with `regions`"));
}

#[test]
fn repository_settings_are_checked() {
    let err = error_of(&with(&[("image-tag-mutability", "SOMETIMES")]));
    assert!(
        err.contains("use MUTABLE, IMMUTABLE, MUTABLE_WITH_EXCLUSION or IMMUTABLE_WITH_EXCLUSION")
    );
    let err = error_of(&with(&[("kms-key", "alias/x")]));
    assert!(err.starts_with("invalid input `kms-key`"));
    let config = resolve(&RawInputs::from_pairs(&with(&[
        ("encryption-type", "KMS"),
        ("kms-key", "alias/x"),
    ])))
    .unwrap();
    assert_eq!(
        config.repository_settings.encryption,
        Encryption::Kms {
            key: Some("alias/x".into())
        }
    );
}

#[test]
fn concurrency_is_bounded() {
    assert!(error_of(&with(&[("concurrency", "0")])).contains("from 1 to 64"));
    assert!(error_of(&with(&[("concurrency", "many")])).contains("from 1 to 64"));
    assert_eq!(
        resolve(&RawInputs::from_pairs(&with(&[("concurrency", "8")])))
            .unwrap()
            .concurrency,
        8
    );
}

#[test]
fn image_transport_is_checked() {
    let err = error_of(&with(&[("image", "tarball:/x")]));
    assert!(err.starts_with("invalid input `image`"), "{err}");
}
