//! A destination's `role-arn`: STS AssumeRole on top of the default credential chain, with a
//! fixed session name, for that destination's ECR calls and registry logins only. The SDK's
//! identity cache refreshes the credentials before they expire; every set the provider hands
//! out is registered as secret (and the observer told, for masks) before anything can use it.

use std::sync::Arc;

use aws_config::sts::AssumeRoleProvider;
use aws_config::{Region, SdkConfig};
use aws_credential_types::provider::{self, ProvideCredentials, future};

use crate::observer::Observer;

/// The role, how to assume it, and who is told of the credentials.
pub struct RoleRequest<'a> {
    pub arn: &'a str,
    pub external_id: Option<&'a str>,
    /// `ecr-fanout-<run id>`.
    pub session_name: &'a str,
}

/// A credentials provider for `region` that assumes the role with the shared configuration's
/// credentials.
pub async fn assumed_role_provider(
    shared: &SdkConfig,
    region: &str,
    role: &RoleRequest<'_>,
    observer: Arc<dyn Observer>,
) -> AnnouncingProvider {
    let mut builder = AssumeRoleProvider::builder(role.arn)
        .configure(shared)
        .region(Region::new(region.to_string()))
        .session_name(role.session_name);
    if let Some(external_id) = role.external_id {
        builder = builder.external_id(external_id);
    }
    AnnouncingProvider {
        inner: Arc::new(builder.build().await),
        observer,
    }
}

/// Hands out the inner provider's credentials, announcing their secret parts first.
#[derive(Clone)]
pub struct AnnouncingProvider {
    inner: Arc<AssumeRoleProvider>,
    observer: Arc<dyn Observer>,
}

impl std::fmt::Debug for AnnouncingProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnnouncingProvider").finish_non_exhaustive()
    }
}

impl ProvideCredentials for AnnouncingProvider {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            let credentials: provider::Result = self.inner.provide_credentials().await;
            if let Ok(credentials) = &credentials {
                super::announce_credential(self.observer.as_ref(), credentials.secret_access_key());
                if let Some(token) = credentials.session_token() {
                    super::announce_credential(self.observer.as_ref(), token);
                }
            }
            credentials
        })
    }
}
