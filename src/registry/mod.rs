//! A generic OCI distribution client for one repository on one registry. Knows nothing of AWS:
//! it gets a base URL, a repository, Basic credentials and, optionally, a way to get fresh
//! credentials when the registry says the token has expired.
//!
//! Plain HTTP requests (reqwest), each carrying Basic credentials: blob HEAD, blob download
//! (redirects followed without credentials), blob upload (one
//! POST, then one PUT carrying the whole blob, which is what ECR accepts), manifest PUT of the
//! exact stored bytes, manifest GET whose bytes are hashed instead of trusting
//! `Docker-Content-Digest`. (oci-client was used for blobs at first; its credential set-up
//! costs a `/v2/` round trip per operation and it re-serializes manifests, so nothing of it is
//! left.) Every request goes through [`RegistryClient::run`]: retries with backoff, one
//! credential refresh, a stall bound; a `Retry-After` on 429 or 503 sets the wait before the
//! next attempt.

mod bearer;
mod blobs;
mod crypto;
mod download;
mod error;
mod login;
mod manifests;
mod referrers;
mod retry;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use tokio::time::Instant;

use tracing::warn;

pub use blobs::{BlobBody, MountOutcome};
pub use error::{RegistryError, RegistryErrorKind};
pub use login::{Credentials, RefreshCredentials};
pub use manifests::FetchedManifest;
pub use referrers::ReferrersSource;
pub use retry::RetryPolicy;

use login::LoginState;

/// Connection settings; the defaults suit CI runners talking to ECR.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// How long to wait for a TCP/TLS connection. The default is 10 s.
    pub connect_timeout: Duration,
    /// A request that moves no byte for this long fails (no retry). The default is 60 s.
    pub stall_timeout: Duration,
    pub retry: RetryPolicy,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            stall_timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
        }
    }
}

/// A logged-in client for `repository` at `base_url`.
pub struct RegistryClient {
    http: reqwest::Client,
    /// Follows no redirect: blob downloads follow theirs by hand, without credentials.
    no_redirect: reqwest::Client,
    /// The token service of a registry that asked for Bearer tokens, and the actions asked.
    token_endpoint: std::sync::Mutex<Option<(bearer::TokenEndpoint, String)>>,
    login: LoginState,
    options: ClientOptions,
    base_url: String,
    host: String,
    repository: String,
}

impl RegistryClient {
    /// A client for `repository` at `base_url` (`https://HOST` or `http://HOST:PORT`). No
    /// request is made here: the credentials go with every request, and the first one (the
    /// plan's reads) tells whether the registry takes them.
    pub fn connect(
        base_url: &str,
        repository: &str,
        credentials: Credentials,
        refresh: Option<RefreshCredentials>,
        options: &ClientOptions,
    ) -> Result<Self, RegistryError> {
        let (scheme, host) = base_url.split_once("://").unwrap_or(("https", base_url));
        let base_url = format!("{scheme}://{host}");
        crypto::ensure_crypto_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .user_agent(login::USER_AGENT)
            .build()
            .map_err(|e| RegistryError::from_transport(&e))?;
        let no_redirect = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .user_agent(login::USER_AGENT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| RegistryError::from_transport(&e))?;
        Ok(Self {
            http,
            no_redirect,
            token_endpoint: std::sync::Mutex::new(None),
            login: LoginState::new(credentials, refresh),
            options: options.clone(),
            base_url,
            host: host.to_string(),
            repository: repository.to_string(),
        })
    }

    /// The `host[:port]` this client talks to.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Runs one request with retries, credential refresh and the stall bound. `progress`
    /// counts bytes moved by a long request (uploads); without it the bound is a plain timeout.
    async fn run<T, F, Fut>(
        &self,
        what: &str,
        progress: Option<&Arc<AtomicU64>>,
        request: F,
    ) -> Result<T, RegistryError>
    where
        F: Fn(Arc<login::Session>) -> Fut,
        Fut: Future<Output = Result<T, RegistryError>>,
    {
        let started = Instant::now();
        let mut attempts = 0;
        let mut refreshed = false;
        loop {
            let session = self.login.current().await;
            let generation = session.generation;
            attempts += 1;
            let guarded = retry::stall_guard(
                self.options.stall_timeout,
                progress.cloned(),
                request(session),
            );
            let mut error = match guarded.await {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            let login_again = matches!(
                error.kind,
                RegistryErrorKind::TokenExpired | RegistryErrorKind::Unauthorized
            );
            if login_again && !refreshed {
                refreshed = true;
                warn!(registry = %self.host, "{what}: {error}; logging in again");
                let renewed = match self.renew_token().await {
                    Ok(true) => Ok(()),
                    Ok(false) => self.login.refresh(generation).await,
                    Err(e) => Err(e),
                };
                match renewed {
                    Ok(()) => continue,
                    Err(refresh_error) => error = refresh_error,
                }
            }
            if error.kind.is_temporary() && self.options.retry.allows_another(attempts, started) {
                // The registry's own `Retry-After` wins over our backoff, within the budget.
                let delay = error
                    .retry_after
                    .unwrap_or_else(|| self.options.retry.delay(attempts - 1));
                if started.elapsed() + delay <= self.options.retry.max_elapsed {
                    warn!(registry = %self.host, attempt = attempts, "{what}: {error}; retrying in {} ms", delay.as_millis());
                    tokio::time::sleep(delay).await;
                    continue;
                }
                if let Some(wait) = error.retry_after {
                    error.detail = format!(
                        "{} (the registry asked to wait {} s, beyond the retry budget)",
                        error.detail,
                        wait.as_secs()
                    );
                }
            }
            return Err(error.after_attempts(attempts));
        }
    }

    fn url(&self, kind: &str, reference: &str) -> String {
        format!(
            "{}/v2/{}/{kind}/{reference}",
            self.base_url, self.repository
        )
    }
}

/// Whether `host` (`NAME[:PORT]`) is a loopback registry (`localhost`, `127.x.x.x`, `[::1]`),
/// which Docker reaches over plain HTTP.
pub fn is_loopback_host(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    name == "localhost" || name == "[::1]" || name.starts_with("127.")
}
