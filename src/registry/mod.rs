//! A generic OCI distribution client for one repository on one registry. Knows nothing of AWS:
//! it gets a base URL, a repository and Basic credentials.
//!
//! Blob presence and streamed blob uploads go through oci-client (monolithic mode: one POST,
//! then one PUT carrying the whole blob, which is what ECR accepts). Manifests use our own
//! requests, because oci-client re-serializes manifests and can panic on a by-digest PUT
//! answered without `Location` (ECR): we PUT the exact stored bytes and, on GET, hash the bytes
//! served instead of trusting `Docker-Content-Digest`.

mod blobs;
mod error;
mod manifests;

use std::time::Duration;

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use oci_client::{Reference, RegistryOperation};

use crate::image::Digest;
use crate::secret::Secret;

pub use error::{RegistryError, RegistryErrorKind};
pub use manifests::FetchedManifest;

/// Connection settings; the defaults suit CI runners talking to ECR.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// How long to wait for a TCP/TLS connection. The default is 10 s.
    pub connect_timeout: Duration,
    /// How long a response (or the next part of one) may take. The default is 60 s.
    pub read_timeout: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
        }
    }
}

/// A logged-in client for `repository` at `base_url`.
pub struct RegistryClient {
    oci: oci_client::Client,
    http: reqwest::Client,
    base_url: String,
    host: String,
    repository: String,
    username: String,
    password: Secret,
}

impl RegistryClient {
    /// Logs in to `base_url` (`https://HOST` or `http://HOST:PORT`) for `repository`.
    pub async fn connect(
        base_url: &str,
        repository: &str,
        username: &str,
        password: Secret,
        options: &ClientOptions,
    ) -> Result<Self, RegistryError> {
        let (protocol, host) = match base_url.split_once("://") {
            Some(("http", host)) => (ClientProtocol::Http, host),
            Some((_, host)) => (ClientProtocol::Https, host),
            None => (ClientProtocol::Https, base_url),
        };
        let oci = oci_client::Client::new(ClientConfig {
            protocol,
            use_monolithic_push: true,
            connect_timeout: Some(options.connect_timeout),
            read_timeout: Some(options.read_timeout),
            user_agent: concat!("ecr-fanout/", env!("CARGO_PKG_VERSION")),
            ..ClientConfig::default()
        });
        let http = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .read_timeout(options.read_timeout)
            .user_agent(concat!("ecr-fanout/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| RegistryError::from_transport(&e))?;
        let client = Self {
            oci,
            http,
            base_url: format!(
                "{}://{host}",
                base_url.split_once("://").map_or("https", |p| p.0)
            ),
            host: host.to_string(),
            repository: repository.to_string(),
            username: username.to_string(),
            password,
        };
        client.authenticate().await?;
        Ok(client)
    }

    /// Hands the Basic credentials to oci-client for both pulls and pushes.
    async fn authenticate(&self) -> Result<(), RegistryError> {
        let auth = RegistryAuth::Basic(self.username.clone(), self.password.expose().to_string());
        let reference = self.reference_for(None);
        for operation in [RegistryOperation::Pull, RegistryOperation::Push] {
            self.oci
                .auth(&reference, &auth, operation)
                .await
                .map_err(RegistryError::from_oci)?;
        }
        Ok(())
    }

    /// The `host[:port]` this client talks to.
    pub fn host(&self) -> &str {
        &self.host
    }

    fn reference_for(&self, digest: Option<&Digest>) -> Reference {
        match digest {
            Some(d) => {
                Reference::with_digest(self.host.clone(), self.repository.clone(), d.to_string())
            }
            None => Reference::with_tag(
                self.host.clone(),
                self.repository.clone(),
                "latest".to_string(),
            ),
        }
    }

    fn url(&self, kind: &str, reference: &str) -> String {
        format!(
            "{}/v2/{}/{kind}/{reference}",
            self.base_url, self.repository
        )
    }

    fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        request.basic_auth(&self.username, Some(self.password.expose()))
    }
}
