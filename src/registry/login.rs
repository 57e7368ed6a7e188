//! Credentials for one registry and their renewal. oci-client caches Basic credentials for
//! good, so a refresh builds a fresh oci-client with the new password; requests in flight keep
//! the session they started with, and concurrent requests that hit an expired token share one
//! refresh (a generation number tells whether someone else already renewed).

use std::sync::Arc;

use futures::future::BoxFuture;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use oci_client::{Reference, RegistryOperation};
use tokio::sync::{Mutex, RwLock};

use super::{ClientOptions, RegistryError, RegistryErrorKind};
use crate::secret::Secret;

pub const USER_AGENT: &str = concat!("ecr-fanout/", env!("CARGO_PKG_VERSION"));

/// HTTP Basic credentials.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub username: String,
    pub password: Secret,
}

/// Gets fresh credentials (for ECR: `GetAuthorizationToken` again).
pub type RefreshCredentials =
    Arc<dyn Fn() -> BoxFuture<'static, anyhow::Result<Credentials>> + Send + Sync>;

/// One set of credentials and the oci-client that carries them.
pub struct Session {
    pub oci: oci_client::Client,
    pub credentials: Credentials,
    pub generation: u64,
    reference: Reference,
    probe: reqwest::RequestBuilder,
}

impl Session {
    /// Hands the Basic credentials to oci-client for pulls and pushes. oci-client asks `/v2/`
    /// for a challenge and, when the answer has none (a 503, say), silently goes on without
    /// credentials; so `/v2/` is also asked here, and an unavailable registry is an error. The
    /// three requests go out at once: one round trip to the registry, not three.
    pub async fn authenticate(&self) -> Result<(), RegistryError> {
        let probe = self.probe.try_clone().ok_or_else(|| {
            RegistryError::new(
                RegistryErrorKind::Rejected,
                "internal: cannot clone the probe",
            )
        })?;
        let probe = async {
            let response = probe
                .send()
                .await
                .map_err(|e| RegistryError::from_transport(&e))?;
            let status = response.status();
            if status.is_server_error() || status.as_u16() == 429 {
                let body = response.text().await.unwrap_or_default();
                return Err(RegistryError::from_response(status.as_u16(), &body));
            }
            Ok(())
        };
        let auth = RegistryAuth::Basic(
            self.credentials.username.clone(),
            self.credentials.password.expose().to_string(),
        );
        let hand_over = |operation| {
            let auth = &auth;
            async move {
                self.oci
                    .auth(&self.reference, auth, operation)
                    .await
                    .map(|_| ())
                    .map_err(RegistryError::from_oci)
            }
        };
        let (probed, pull, push) = tokio::join!(
            probe,
            hand_over(RegistryOperation::Pull),
            hand_over(RegistryOperation::Push)
        );
        probed.and(pull).and(push)
    }

    pub fn authorize(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        request.basic_auth(
            &self.credentials.username,
            Some(self.credentials.password.expose()),
        )
    }
}

/// The current session and how to renew it.
pub struct LoginState {
    current: RwLock<Arc<Session>>,
    refreshing: Mutex<()>,
    refresh: Option<RefreshCredentials>,
    http: reqwest::Client,
    base_url: String,
    options: ClientOptions,
    reference: Reference,
}

impl LoginState {
    pub fn new(
        http: &reqwest::Client,
        base_url: &str,
        host: &str,
        repository: &str,
        credentials: Credentials,
        refresh: Option<RefreshCredentials>,
        options: &ClientOptions,
    ) -> Self {
        let reference =
            Reference::with_tag(host.to_string(), repository.to_string(), "latest".into());
        let session = new_session(http, base_url, options, &reference, credentials, 0);
        Self {
            current: RwLock::new(Arc::new(session)),
            refreshing: Mutex::new(()),
            refresh,
            http: http.clone(),
            base_url: base_url.to_string(),
            options: options.clone(),
            reference,
        }
    }

    pub async fn current(&self) -> Arc<Session> {
        self.current.read().await.clone()
    }

    /// Logs in again, with fresh credentials when a refresher is set (otherwise the same
    /// ones, in a fresh oci-client), unless a session newer than `seen_generation` exists.
    pub async fn refresh(&self, seen_generation: u64) -> Result<(), RegistryError> {
        let _only_one = self.refreshing.lock().await;
        let current = self.current().await;
        if current.generation > seen_generation {
            return Ok(());
        }
        let credentials = match &self.refresh {
            Some(refresh) => refresh().await.map_err(|e| {
                RegistryError::new(
                    RegistryErrorKind::Denied,
                    format!("cannot renew the login: {e:#}"),
                )
            })?,
            None => current.credentials.clone(),
        };
        let session = new_session(
            &self.http,
            &self.base_url,
            &self.options,
            &self.reference,
            credentials,
            seen_generation + 1,
        );
        session.authenticate().await?;
        *self.current.write().await = Arc::new(session);
        Ok(())
    }
}

fn new_session(
    http: &reqwest::Client,
    base_url: &str,
    options: &ClientOptions,
    reference: &Reference,
    credentials: Credentials,
    generation: u64,
) -> Session {
    let plain_http = base_url.starts_with("http://");
    let oci = oci_client::Client::new(ClientConfig {
        protocol: if plain_http {
            ClientProtocol::Http
        } else {
            ClientProtocol::Https
        },
        use_monolithic_push: true,
        connect_timeout: Some(options.connect_timeout),
        read_timeout: Some(options.stall_timeout),
        user_agent: USER_AGENT,
        ..ClientConfig::default()
    });
    Session {
        oci,
        credentials,
        generation,
        reference: reference.clone(),
        probe: http.get(format!("{base_url}/v2/")),
    }
}
