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
        let request = self
            .http
            .put(self.url("manifests", reference))
            .header(CONTENT_TYPE, &manifest.media_type)
            .body(manifest.bytes.clone());
        let response = self
            .authorized(request)
            .send()
            .await
            .map_err(|e| RegistryError::from_transport(&e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body = response.text().await.unwrap_or_default();
        Err(RegistryError::from_response(status.as_u16(), &body))
    }

    /// GETs a manifest by tag or digest; `None` when the registry answers 404.
    pub async fn get_manifest(
        &self,
        reference: &str,
    ) -> Result<Option<FetchedManifest>, RegistryError> {
        let request = self
            .http
            .get(self.url("manifests", reference))
            .header(ACCEPT, ALL_MANIFEST_TYPES.join(", "));
        let response = self
            .authorized(request)
            .send()
            .await
            .map_err(|e| RegistryError::from_transport(&e))?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(RegistryError::from_response(status.as_u16(), &body));
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

    /// Whether a manifest exists under `reference` (HEAD).
    pub async fn manifest_exists(&self, reference: &str) -> Result<bool, RegistryError> {
        let request = self
            .http
            .head(self.url("manifests", reference))
            .header(ACCEPT, ALL_MANIFEST_TYPES.join(", "));
        let response = self
            .authorized(request)
            .send()
            .await
            .map_err(|e| RegistryError::from_transport(&e))?;
        match response.status() {
            s if s.is_success() => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            s => Err(RegistryError::from_response(s.as_u16(), "")),
        }
    }
}
