//! Manifests: PUT the exact stored bytes with their media type, GET with all four manifest
//! types accepted and hash what was served, HEAD for presence.

use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE};

use super::{RegistryClient, RegistryError};
use crate::image::media_types::ALL_MANIFEST_TYPES;
use crate::image::{Digest, ManifestBlob};

/// A manifest as served: its bytes, the media type the registry declared, and the sha256 of
/// the bytes (never a header's claim).
#[derive(Clone, Debug)]
pub struct FetchedManifest {
    pub bytes: Bytes,
    pub media_type: String,
    pub digest: Digest,
}

impl RegistryClient {
    /// PUTs `manifest` under `reference` (its digest, or a tag), byte for byte.
    pub async fn put_manifest(
        &self,
        reference: &str,
        manifest: &ManifestBlob,
    ) -> Result<(), RegistryError> {
        let url = self.url("manifests", reference);
        self.run("put manifest", None, |session| {
            let request = self
                .http
                .put(&url)
                .header(CONTENT_TYPE, &manifest.media_type)
                .body(manifest.bytes.clone());
            async move {
                let response = send(session.authorize(request)).await?;
                let status = response.status();
                if status.is_success() {
                    return Ok(());
                }
                Err(RegistryError::from_http(status, response).await)
            }
        })
        .await
    }

    /// GETs a manifest by tag or digest; `None` when the registry answers 404.
    pub async fn get_manifest(
        &self,
        reference: &str,
    ) -> Result<Option<FetchedManifest>, RegistryError> {
        let url = self.url("manifests", reference);
        self.run("get manifest", None, |session| {
            let request = self
                .http
                .get(&url)
                .header(ACCEPT, ALL_MANIFEST_TYPES.join(", "));
            async move {
                let response = send(session.authorize(request)).await?;
                let status = response.status();
                if status == StatusCode::NOT_FOUND {
                    return Ok(None);
                }
                if !status.is_success() {
                    return Err(RegistryError::from_http(status, response).await);
                }
                let media_type = response
                    .headers()
                    .get(CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                let bytes = response
                    .bytes()
                    .await
                    .map_err(|e| RegistryError::from_transport(&e))?;
                Ok(Some(FetchedManifest {
                    digest: Digest::of_bytes(&bytes),
                    bytes,
                    media_type,
                }))
            }
        })
        .await
    }

    /// Whether a manifest exists under `reference` (HEAD).
    pub async fn manifest_exists(&self, reference: &str) -> Result<bool, RegistryError> {
        let url = self.url("manifests", reference);
        self.run("check manifest", None, |session| {
            let request = self
                .http
                .head(&url)
                .header(ACCEPT, ALL_MANIFEST_TYPES.join(", "));
            async move {
                let response = send(session.authorize(request)).await?;
                match response.status() {
                    s if s.is_success() => Ok(true),
                    StatusCode::NOT_FOUND => Ok(false),
                    // HEAD has no body: a 403 may be an expired token (refreshed once).
                    s if s == StatusCode::FORBIDDEN => {
                        Err(RegistryError::from_response(403, "token has expired?"))
                    }
                    s => Err(RegistryError::from_response(s.as_u16(), "").waiting(
                        super::error::retry_after(response.headers(), std::time::SystemTime::now()),
                    )),
                }
            }
        })
        .await
    }
}

async fn send(request: reqwest::RequestBuilder) -> Result<reqwest::Response, RegistryError> {
    request
        .send()
        .await
        .map_err(|e| RegistryError::from_transport(&e))
}
