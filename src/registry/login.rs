//! Credentials for one registry and their renewal. Every request carries HTTP Basic
//! credentials from the current session; a refresh swaps in a new session with fresh ones, while
//! requests in flight keep the session they started with, and concurrent requests that hit an
//! expired token share one refresh (a generation number tells whether someone else already
//! renewed).

use std::sync::Arc;

use futures::future::BoxFuture;
use tokio::sync::{Mutex, RwLock};

use super::{RegistryError, RegistryErrorKind};
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

/// One set of credentials (and, for a registry that asked for one, a Bearer token obtained
/// with them) and its generation.
pub struct Session {
    pub credentials: Credentials,
    pub bearer: Option<Secret>,
    pub generation: u64,
}

impl Session {
    /// Adds the Bearer token, else the Basic credentials, else nothing (anonymous).
    pub fn authorize(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.bearer {
            Some(token) => request.bearer_auth(token.expose()),
            None => self.basic(request),
        }
    }

    /// The Basic credentials only (asking a token server for a token); none when anonymous.
    pub fn basic(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        if self.credentials.username.is_empty() {
            request
        } else {
            request.basic_auth(
                &self.credentials.username,
                Some(self.credentials.password.expose()),
            )
        }
    }
}

/// The current session and how to renew it.
pub struct LoginState {
    current: RwLock<Arc<Session>>,
    refreshing: Mutex<()>,
    refresh: Option<RefreshCredentials>,
}

impl LoginState {
    pub fn new(credentials: Credentials, refresh: Option<RefreshCredentials>) -> Self {
        let session = Session {
            credentials,
            bearer: None,
            generation: 0,
        };
        Self {
            current: RwLock::new(Arc::new(session)),
            refreshing: Mutex::new(()),
            refresh,
        }
    }

    pub async fn current(&self) -> Arc<Session> {
        self.current.read().await.clone()
    }

    /// Takes fresh credentials when a refresher is set (otherwise the same ones again), unless
    /// a session newer than `seen_generation` exists.
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
        let session = Session {
            credentials,
            bearer: None,
            generation: seen_generation + 1,
        };
        *self.current.write().await = Arc::new(session);
        Ok(())
    }

    /// A new session with the same credentials and `token` as its Bearer token.
    pub async fn use_bearer(&self, token: Secret) {
        let mut current = self.current.write().await;
        let session = Session {
            credentials: current.credentials.clone(),
            bearer: Some(token),
            generation: current.generation + 1,
        };
        *current = Arc::new(session);
    }
}
