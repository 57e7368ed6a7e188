//! Blobs: presence checks (HEAD), and uploads (POST for a session, optionally asking for a
//! cross-repository mount, then one PUT carrying the whole blob: ECR discards every PATCH after
//! the first). One streamed request body per blob: either a shared single-read feed (first
//! attempt) or the file read from disk and hashed on the way, so that a corrupted file fails
//! its own upload.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION};

use super::{RegistryClient, RegistryError, RegistryErrorKind};
use crate::image::{BlobFile, Digest, Sha256Hasher, hashed_from};

/// Bytes read from disk per request-body chunk.
const READ_CHUNK: usize = 512 * 1024;

/// How a blob got into the repository.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MountOutcome {
    /// Linked from the source repository; no byte sent.
    Mounted,
    /// Uploaded (also when the registry declined a mount and opened an upload session).
    Uploaded,
}

impl RegistryClient {
    /// Whether the registry already holds `digest` in this repository (HEAD).
    pub async fn blob_exists(&self, digest: &Digest) -> Result<bool, RegistryError> {
        let url = self.url("blobs", digest.as_str());
        self.run("check blob", None, |session| {
            let request = session.authorize(self.http.head(&url));
            async move {
                let response = request
                    .send()
                    .await
                    .map_err(|e| RegistryError::from_transport(&e))?;
                match response.status() {
                    s if s.is_success() => Ok(true),
                    StatusCode::NOT_FOUND => Ok(false),
                    // HEAD has no body: a 403 may be an expired token (refreshed once).
                    StatusCode::FORBIDDEN => {
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

    /// Uploads a blob: POST to open a session, then one PUT with the whole blob streamed.
    /// The first attempt sends `shared_body` when given (a single-read fan-out feed); a retry,
    /// or a call without it, reads the file from disk, hashing it on the way, in a new upload
    /// session. `sent` counts the bytes handed to the connection, retries included. No HEAD
    /// follows the upload: the manifest PUT by digest fails on a blob the registry lacks, and
    /// verification HEADs every blob; one round trip per blob and region less.
    pub async fn push_blob_streaming(
        &self,
        blob: &BlobFile,
        sent: Arc<AtomicU64>,
        shared_body: Option<BlobBody>,
    ) -> Result<(), RegistryError> {
        self.upload(blob, None, sent, shared_body).await.map(drop)
    }

    /// Mounts `blob` from `source` (a repository of the same registry) with
    /// `POST …/blobs/uploads/?mount=<digest>&from=<source>`, or uploads it in the session the
    /// registry opens instead. A 201 means the registry linked the blob and nothing is sent. A
    /// 202 means no mount (ECR: mounting is not enabled for the account, the source is in
    /// another region, or no manifest in the source references the blob; aws/containers-roadmap
    /// 2860); its answer is an ordinary upload session, used as such with one PUT.
    pub async fn mount_or_push_blob(
        &self,
        blob: &BlobFile,
        source: &str,
        sent: Arc<AtomicU64>,
        shared_body: Option<BlobBody>,
    ) -> Result<MountOutcome, RegistryError> {
        self.upload(blob, Some(source), sent, shared_body).await
    }

    /// Asks the registry to link `blob` from `source` (a repository of the same registry)
    /// without sending it: `true` when it did (201). `false` when it opened an upload session
    /// instead (202: ECR mounts only where the account enabled `BLOB_MOUNTING` and a manifest
    /// in the source references the blob); that session is left unused, and the caller uploads
    /// the blob in a session of its own once it has the bytes.
    pub async fn mount_blob(&self, blob: &BlobFile, source: &str) -> Result<bool, RegistryError> {
        let url = format!(
            "{}/v2/{}/blobs/uploads/?mount={}&from={source}",
            self.base_url, self.repository, blob.digest
        );
        self.run("mount blob", None, |session| {
            let request = session.authorize(self.http.post(&url).header(CONTENT_LENGTH, 0));
            async move {
                let response = request
                    .send()
                    .await
                    .map_err(|e| RegistryError::from_transport(&e))?;
                match response.status() {
                    StatusCode::CREATED => Ok(true),
                    StatusCode::ACCEPTED => Ok(false),
                    status => Err(RegistryError::from_http(status, response).await),
                }
            }
        })
        .await
    }

    /// POST (with a mount request when `mount_from` is given), then, unless mounted, one PUT
    /// with the whole body and `?digest=`. Retried like every request; a retry reads the file.
    async fn upload(
        &self,
        blob: &BlobFile,
        mount_from: Option<&str>,
        sent: Arc<AtomicU64>,
        shared_body: Option<BlobBody>,
    ) -> Result<MountOutcome, RegistryError> {
        let progress = Arc::new(AtomicU64::new(0));
        let shared_body = std::sync::Mutex::new(shared_body);
        let start_url = match mount_from {
            Some(source) => format!(
                "{}/v2/{}/blobs/uploads/?mount={}&from={source}",
                self.base_url, self.repository, blob.digest
            ),
            None => format!("{}/v2/{}/blobs/uploads/", self.base_url, self.repository),
        };
        let what = if mount_from.is_some() {
            "mount or upload blob"
        } else {
            "upload blob"
        };
        self.run(what, Some(&progress), |session| {
            let counters = [sent.clone(), progress.clone()];
            let first = shared_body.lock().ok().and_then(|mut body| body.take());
            let start = session.authorize(self.http.post(&start_url).header(CONTENT_LENGTH, 0));
            let session = session.clone();
            async move {
                let response = start
                    .send()
                    .await
                    .map_err(|e| RegistryError::from_transport(&e))?;
                match response.status() {
                    StatusCode::CREATED if mount_from.is_some() => {
                        return Ok(MountOutcome::Mounted);
                    }
                    StatusCode::ACCEPTED => {}
                    status => return Err(RegistryError::from_http(status, response).await),
                }
                let location = self.session_url(&response, blob)?;
                let body = match first {
                    Some(body) => body,
                    None => file_body(blob).await?,
                };
                let put = session
                    .authorize(self.http.put(location))
                    .header(CONTENT_TYPE, "application/octet-stream")
                    .header(CONTENT_LENGTH, blob.size)
                    .body(reqwest::Body::wrap_stream(counted(body, counters)));
                let response = put
                    .send()
                    .await
                    .map_err(|e| RegistryError::from_transport(&e))?;
                let status = response.status();
                if status.is_success() {
                    Ok(MountOutcome::Uploaded)
                } else {
                    Err(RegistryError::from_http(status, response).await)
                }
            }
        })
        .await
    }

    /// The upload session's URL with `digest=` added; relative locations are resolved against
    /// the registry's base URL.
    fn session_url(
        &self,
        response: &reqwest::Response,
        blob: &BlobFile,
    ) -> Result<String, RegistryError> {
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                RegistryError::new(
                    RegistryErrorKind::Rejected,
                    "the registry opened an upload session without a Location",
                )
            })?;
        let absolute = if location.starts_with("http://") || location.starts_with("https://") {
            location.to_string()
        } else {
            format!("{}{location}", self.base_url)
        };
        let separator = if absolute.contains('?') { '&' } else { '?' };
        Ok(format!("{absolute}{separator}digest={}", blob.digest))
    }
}

/// A request body for one blob: a stream of chunks that ends in an error when the bytes do
/// not match the blob's digest.
pub type BlobBody = BoxStream<'static, Result<Bytes, std::io::Error>>;

/// The blob read from its file, hashed on the way (as it lands, for a blob still arriving).
async fn file_body(blob: &BlobFile) -> Result<BlobBody, RegistryError> {
    Ok(Box::pin(hashed_from(
        blob,
        0,
        Sha256Hasher::new(),
        READ_CHUNK,
    )))
}

/// Counts each chunk into `counters` as the connection takes it.
fn counted(
    body: BlobBody,
    counters: [Arc<AtomicU64>; 2],
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    body.inspect(move |item| {
        if let Ok(chunk) = item {
            for counter in &counters {
                counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn collect(content: &[u8], digest: Digest, size: u64) -> (Vec<u8>, Option<String>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blob");
        std::fs::write(&path, content).unwrap();
        let blob = BlobFile {
            digest,
            size,
            media_type: "application/octet-stream".into(),
            path,
            arrival: crate::image::Arrival::on_disk(),
        };
        let sent = Arc::new(AtomicU64::new(0));
        let counters = [sent.clone(), Arc::new(AtomicU64::new(0))];
        let body = file_body(&blob).await.unwrap();
        let mut stream = Box::pin(counted(body, counters));
        let mut out = Vec::new();
        while let Some(item) = stream.next().await {
            match item {
                Ok(bytes) => out.extend_from_slice(&bytes),
                Err(e) => return (out, Some(e.to_string())),
            }
        }
        assert_eq!(sent.load(Ordering::Relaxed), out.len() as u64);
        (out, None)
    }

    #[tokio::test]
    async fn streams_whole_file_in_chunks() {
        let content: Vec<u8> = (0..READ_CHUNK * 2 + 17).map(|i| (i % 251) as u8).collect();
        let digest = Digest::of_bytes(&content);
        let (out, error) = collect(&content, digest, content.len() as u64).await;
        assert_eq!(error, None);
        assert_eq!(out, content);
    }

    #[tokio::test]
    async fn corrupted_file_ends_in_an_error() {
        let digest = Digest::of_bytes(b"expected");
        let (_, error) = collect(b"tampered", digest, 8).await;
        assert!(error.unwrap().contains("changed on disk"));
    }
}
