//! The builder's logins to the ECR registries its `cache-from` / `cache-to` lines name: one
//! `GetAuthorizationToken` per registry (the destination's role where the registry is a
//! destination's), made just before the build and only when such a line exists. The password
//! is masked before anything could print it; the build writes it to a temporary auth file.

use anyhow::Context as _;
use tracing::info;

use crate::builder::BuilderLogin;
use crate::config::Config;
use crate::config::build::BuildOptions;
use crate::config::cache_registries::ecr_cache_registries;
use crate::ecr::EcrRegion;
use crate::observer::SharedObserver;

/// The logins the build of `options` needs; none when no cache line names an ECR registry.
pub async fn cache_logins(
    config: &Config,
    options: &BuildOptions,
    observer: &SharedObserver,
) -> anyhow::Result<Vec<BuilderLogin>> {
    let registries = ecr_cache_registries(&options.features, &config.targets);
    if registries.is_empty() {
        return Ok(Vec::new());
    }
    let aws = crate::ecr::load_aws_config(config.stall_timeout).await;
    let mut logins = Vec::with_capacity(registries.len());
    for registry in registries {
        let ecr = EcrRegion::for_destination(
            &aws,
            (&registry.region, registry.registry_id.clone()),
            registry.role.as_ref(),
            observer.clone(),
        )
        .await;
        let login = ecr.login().await.with_context(|| {
            format!(
                "cannot log the builder in to the ECR cache registry {} (cache-from / \
                 cache-to)",
                registry.host
            )
        })?;
        info!(
            registry = %registry.host, region = %registry.region,
            "the builder logs in to its ECR cache registry with a temporary auth file"
        );
        logins.push(BuilderLogin {
            host: registry.host,
            username: login.username,
            password: login.password,
        });
    }
    Ok(logins)
}
