//! The ECR registries a build's `cache-from` / `cache-to` lines name, which the builder must be
//! logged in to. A `type=registry` line's `ref` is in ECR when its host is an ECR registry host
//! (`ACCOUNT.dkr.ecr.REGION.amazonaws.com` and the FIPS and dual-stack forms) or the
//! `registry-endpoints` host of a destination of the run. A host that is a destination's
//! registry is logged in to as that destination is (its region, account and `role-arn`); any
//! other ECR host with the default credentials, in the region and account the host names.

use super::build_features::{BuildFeatures, CacheKind};
use super::tag_references::{ecr_host_parts, host_is_target};
use super::{AssumedRole, Target};

/// An ECR registry a cache line names, and how to log in to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheRegistry {
    /// The host as the line writes it (lower case): what the builder looks up in its auth file.
    pub host: String,
    pub region: String,
    /// The registry's account: the host's, else the destination's `registry-id`.
    pub registry_id: Option<String>,
    /// The `role-arn` of the destination whose registry this is.
    pub role: Option<AssumedRole>,
}

/// Every ECR registry of `features`' cache lines, each once, in the order first named.
pub fn ecr_cache_registries(features: &BuildFeatures, targets: &[Target]) -> Vec<CacheRegistry> {
    let mut registries: Vec<CacheRegistry> = Vec::new();
    let references = features
        .cache_from
        .iter()
        .chain(&features.cache_to)
        .filter(|spec| spec.kind == CacheKind::Registry)
        .filter_map(|spec| spec.attribute("ref"));
    for reference in references {
        let Some(registry) = ecr_registry_of(reference, targets) else {
            continue;
        };
        if !registries.iter().any(|known| known.host == registry.host) {
            registries.push(registry);
        }
    }
    registries
}

/// The ECR registry `reference` (`HOST/REPOSITORY[:TAG]`) is in, if it is in one.
fn ecr_registry_of(reference: &str, targets: &[Target]) -> Option<CacheRegistry> {
    let host = reference.split_once('/')?.0.to_ascii_lowercase();
    let account = ecr_host_parts(&host).map(|(account, _)| account.to_owned());
    if let Some(target) = targets.iter().find(|t| host_is_target(&host, t)) {
        return Some(CacheRegistry {
            registry_id: account.or_else(|| target.registry_id.clone()),
            region: target.region.clone(),
            role: target.role.clone(),
            host,
        });
    }
    let (account, region) = ecr_host_parts(&host)?;
    Some(CacheRegistry {
        registry_id: Some(account.to_owned()),
        region: region.to_owned(),
        role: None,
        host,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::build_features::CacheSpec;

    const PROD: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";

    fn registry_line(reference: &str) -> CacheSpec {
        CacheSpec {
            kind: CacheKind::Registry,
            attributes: vec![("ref".to_owned(), reference.to_owned())],
        }
    }

    fn destination(region: &str, endpoint: Option<&str>, role: Option<&str>) -> Target {
        Target {
            id: region.to_owned(),
            region: region.to_owned(),
            repository: "web".to_owned(),
            endpoint_override: endpoint.map(str::to_owned),
            role: role.map(|arn| AssumedRole {
                arn: arn.to_owned(),
                account: "210987654321".to_owned(),
                external_id: None,
                session_name: "ecr-fanout".to_owned(),
            }),
            ..Target::default()
        }
    }

    #[test]
    fn ecr_hosts_of_either_line_are_named_once_and_other_registries_not_at_all() {
        let features = BuildFeatures {
            cache_from: vec![
                registry_line(&format!("{PROD}/cache:web")),
                registry_line("ghcr.io/octo/cache:web"),
                CacheSpec {
                    kind: CacheKind::Local,
                    attributes: vec![("src".to_owned(), "/tmp/cache".to_owned())],
                },
            ],
            cache_to: vec![registry_line(&format!("{PROD}/cache:web"))],
            ..BuildFeatures::default()
        };
        let registries = ecr_cache_registries(&features, &[]);
        assert_eq!(
            registries,
            [CacheRegistry {
                host: PROD.to_owned(),
                region: "eu-west-1".to_owned(),
                registry_id: Some("123456789012".to_owned()),
                role: None,
            }]
        );
    }

    #[test]
    fn a_destinations_registry_is_logged_in_to_with_its_role() {
        let features = BuildFeatures {
            cache_to: vec![registry_line(&format!("{PROD}/cache:web"))],
            ..BuildFeatures::default()
        };
        let role = "arn:aws:iam::210987654321:role/push";
        let targets = [destination("eu-west-1", None, Some(role))];
        let registries = ecr_cache_registries(&features, &targets);
        assert_eq!(registries.len(), 1);
        assert_eq!(
            registries[0].role.as_ref().map(|r| r.arn.as_str()),
            Some(role)
        );
        assert_eq!(registries[0].registry_id.as_deref(), Some("123456789012"));
    }

    #[test]
    fn a_registry_endpoints_host_is_that_destinations_ecr_registry() {
        let features = BuildFeatures {
            cache_from: vec![registry_line("127.0.0.1:5000/cache:web")],
            cache_to: vec![registry_line("127.0.0.1:5001/cache:web")],
            ..BuildFeatures::default()
        };
        let targets = [
            destination("us-east-1", Some("http://127.0.0.1:5000"), None),
            destination("eu-west-1", Some("http://127.0.0.1:9999"), None),
        ];
        let registries = ecr_cache_registries(&features, &targets);
        assert_eq!(
            registries,
            [CacheRegistry {
                host: "127.0.0.1:5000".to_owned(),
                region: "us-east-1".to_owned(),
                registry_id: None,
                role: None,
            }],
            "127.0.0.1:5001 is no destination's registry"
        );
    }
}
