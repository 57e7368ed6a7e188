//! Blob downloads (an image read from a registry): one GET, streamed to a file while it is
//! hashed, the digest and size checked before the file counts. Readers follow the file as it
//! lands (the [`Landing`] says how far it is written), so the bytes can be sent on before the
//! download ends. A repeated attempt carries on where the file ends (`Range`), or skips what is
//! written when the registry sends the whole blob again. ECR answers a blob GET with a
//! redirect (307) to a presigned S3 URL on another host, and S3 refuses a request that carries
//! both the presigned query and an `Authorization` header: the redirect is followed here, by
//! hand, without the registry's credentials.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::BytesMut;
use futures::StreamExt;
use reqwest::StatusCode;
use reqwest::header::{LOCATION, RANGE};
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

use super::{RegistryClient, RegistryError, RegistryErrorKind};
use crate::image::{BlobFile, Landing, Sha256Hasher};

/// Bytes gathered before they are written to the file and told to the readers.
const WRITE_BATCH: usize = 256 * 1024;

/// What earlier attempts wrote: the file, its length and the hash of its bytes.
struct Written {
    file: Option<tokio::fs::File>,
    hasher: Sha256Hasher,
}

impl RegistryClient {
    /// Downloads `blob` to `blob.path`, verifying its digest and size, telling `landing` how far
    /// the file is written. `received` counts the bytes read, for progress and the stall bound.
    pub async fn download_blob(
        &self,
        blob: &BlobFile,
        received: Arc<AtomicU64>,
        landing: &Landing,
    ) -> Result<(), RegistryError> {
        let url = self.url("blobs", blob.digest.as_str());
        let written = Mutex::new(Written {
            file: None,
            hasher: Sha256Hasher::new(),
        });
        self.run("download blob", Some(&received), |session| {
            let received = received.clone();
            let (url, written) = (&url, &written);
            async move {
                let mut written = written.lock().await;
                let offset = written.hasher.bytes_hashed();
                let mut request = session.authorize(self.no_redirect.get(url));
                if offset > 0 {
                    request = request.header(RANGE, format!("bytes={offset}-"));
                }
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
                    let mut presigned = self.no_redirect.get(&location);
                    if offset > 0 {
                        presigned = presigned.header(RANGE, format!("bytes={offset}-"));
                    }
                    response = presigned
                        .send()
                        .await
                        .map_err(|e| RegistryError::from_transport(&e))?;
                }
                let skip = match response.status() {
                    StatusCode::OK => offset,
                    StatusCode::PARTIAL_CONTENT if offset > 0 => 0,
                    status => return Err(RegistryError::from_http(status, response).await),
                };
                write_verified(response, blob, (&mut written, skip), (&received, landing)).await
            }
        })
        .await
    }
}

/// Streams the answer into `blob.path` after what earlier attempts wrote (the first `skip`
/// bytes of the answer are those again), hashing, telling `landing` each batch written. A
/// digest or size mismatch at the end is [`RegistryErrorKind::Corrupt`].
async fn write_verified(
    response: reqwest::Response,
    blob: &BlobFile,
    (written, mut skip): (&mut Written, u64),
    (received, landing): (&AtomicU64, &Landing),
) -> Result<(), RegistryError> {
    let io = |e: std::io::Error| {
        RegistryError::new(
            RegistryErrorKind::Rejected,
            format!("write {}: {e}", blob.path.display()),
        )
    };
    if written.file.is_none() {
        written.file = Some(tokio::fs::File::create(&blob.path).await.map_err(io)?);
    }
    let Written { file, hasher } = written;
    let file = file
        .as_mut()
        .ok_or_else(|| io(std::io::Error::other("the file is not open")))?;
    let mut batch = BytesMut::with_capacity(WRITE_BATCH);
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| RegistryError::from_transport(&e))?;
        received.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        let skipped = usize::try_from(skip).unwrap_or(usize::MAX).min(chunk.len());
        skip -= skipped as u64;
        let fresh = &chunk[skipped..];
        if hasher.bytes_hashed() + batch.len() as u64 + fresh.len() as u64 > blob.size {
            return Err(corrupt(blob, "more bytes than its size"));
        }
        batch.extend_from_slice(fresh);
        if batch.len() >= WRITE_BATCH {
            write_batch(file, hasher, &mut batch, landing)
                .await
                .map_err(io)?;
        }
    }
    write_batch(file, hasher, &mut batch, landing)
        .await
        .map_err(io)?;
    let (size, digest) = (hasher.bytes_hashed(), hasher.clone().finish());
    if digest != blob.digest || size != blob.size {
        return Err(corrupt(
            blob,
            &format!(
                "{size} bytes hashing to {digest} (expected {} bytes)",
                blob.size
            ),
        ));
    }
    Ok(())
}

/// Writes `batch` to the file (through to the OS, so that other handles read it), hashes it and
/// tells the readers.
async fn write_batch(
    file: &mut tokio::fs::File,
    hasher: &mut Sha256Hasher,
    batch: &mut BytesMut,
    landing: &Landing,
) -> std::io::Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    file.write_all(batch).await?;
    file.flush().await?;
    hasher.update(batch);
    batch.clear();
    landing.written(hasher.bytes_hashed());
    Ok(())
}

fn corrupt(blob: &BlobFile, what: &str) -> RegistryError {
    RegistryError::new(
        RegistryErrorKind::Corrupt,
        format!("blob {} arrived as {what}", blob.digest),
    )
}
