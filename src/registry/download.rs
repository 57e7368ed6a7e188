//! Blob downloads (an image read from a registry): one GET, streamed to a file while it is
//! hashed, the digest and size checked before the file counts. ECR answers a blob GET with a
//! redirect (307) to a presigned S3 URL on another host, and S3 refuses a request that carries
//! both the presigned query and an `Authorization` header: the redirect is followed here, by
//! hand, without the registry's credentials.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::StreamExt;
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use tokio::io::AsyncWriteExt;

use super::{RegistryClient, RegistryError, RegistryErrorKind};
use crate::image::{BlobFile, Sha256Hasher};

impl RegistryClient {
    /// Downloads `blob` to `blob.path` (replacing a partial file), verifying its digest and
    /// size. `received` counts the bytes read, for progress and the stall bound.
    pub async fn download_blob(
        &self,
        blob: &BlobFile,
        received: Arc<AtomicU64>,
    ) -> Result<(), RegistryError> {
        let url = self.url("blobs", blob.digest.as_str());
        self.run("download blob", Some(&received), |session| {
            let request = session.authorize(self.no_redirect.get(&url));
            let received = received.clone();
            async move {
                let mut response = request
                    .send()
                    .await
                    .map_err(|e| RegistryError::from_transport(&e))?;
                if response.status().is_redirection() {
                    let location = response
                        .headers()
                        .get(LOCATION)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string)
                        .ok_or_else(|| {
                            RegistryError::new(
                                RegistryErrorKind::Rejected,
                                "a blob redirect without a Location",
                            )
                        })?;
                    // The presigned URL carries its own authorization; ours must not follow.
                    response = self
                        .no_redirect
                        .get(&location)
                        .send()
                        .await
                        .map_err(|e| RegistryError::from_transport(&e))?;
                }
                let status = response.status();
                if status != StatusCode::OK {
                    let body = response.text().await.unwrap_or_default();
                    return Err(RegistryError::from_response(status.as_u16(), &body));
                }
                write_verified(response, blob, &received).await
            }
        })
        .await
    }
}

/// Streams the answer into `blob.path`, hashing; a digest or size mismatch removes the file.
async fn write_verified(
    response: reqwest::Response,
    blob: &BlobFile,
    received: &AtomicU64,
) -> Result<(), RegistryError> {
    let io = |e: std::io::Error| {
        RegistryError::new(
            RegistryErrorKind::Rejected,
            format!("write {}: {e}", blob.path.display()),
        )
    };
    let mut file = tokio::fs::File::create(&blob.path).await.map_err(io)?;
    let mut hasher = Sha256Hasher::new();
    let mut size = 0u64;
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| RegistryError::from_transport(&e))?;
        hasher.update(&chunk);
        size += chunk.len() as u64;
        received.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        file.write_all(&chunk).await.map_err(io)?;
    }
    file.flush().await.map_err(io)?;
    let digest = hasher.finish();
    if digest != blob.digest || size != blob.size {
        remove(&blob.path).await;
        return Err(RegistryError::new(
            RegistryErrorKind::Corrupt,
            format!(
                "blob {} arrived as {size} bytes hashing to {digest} (expected {} bytes)",
                blob.digest, blob.size
            ),
        ));
    }
    Ok(())
}

async fn remove(path: &Path) {
    let _ = tokio::fs::remove_file(path).await;
}
