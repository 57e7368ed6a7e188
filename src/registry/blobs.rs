//! Blobs: presence checks and uploads, one streamed request body per blob: either a shared
//! single-read feed (first attempt) or the file read from disk and hashed on the way, so that
//! a corrupted file fails its own upload.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use oci_client::errors::OciDistributionError;
use tokio::io::AsyncReadExt;

use super::{RegistryClient, RegistryError, RegistryErrorKind};
use crate::image::{BlobFile, Digest, Sha256Hasher};

/// Bytes read from disk per request-body chunk.
const READ_CHUNK: usize = 512 * 1024;

impl RegistryClient {
    /// Whether the registry already holds `digest` in this repository (HEAD).
    pub async fn blob_exists(&self, digest: &Digest) -> Result<bool, RegistryError> {
        let reference = self.reference_for(digest);
        self.run("check blob", None, |session| {
            let reference = reference.clone();
            async move {
                session
                    .oci
                    .blob_exists(&reference, digest.as_str())
                    .await
                    .map_err(RegistryError::from_oci)
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
        let progress = Arc::new(AtomicU64::new(0));
        let reference = self.reference_for(&blob.digest);
        let shared_body = std::sync::Mutex::new(shared_body);
        self.run("upload blob", Some(&progress), |session| {
            let (reference, counters) = (reference.clone(), [sent.clone(), progress.clone()]);
            let first = shared_body.lock().ok().and_then(|mut body| body.take());
            async move {
                let body = match first {
                    Some(body) => body,
                    None => file_body(blob).await?,
                };
                let stream = counted(body, counters);
                let pushed = session
                    .oci
                    .push_blob_stream(&reference, stream, blob.digest.as_str(), Some(blob.size))
                    .await;
                match pushed {
                    Ok(_) => Ok(()),
                    // The upload completed; only the Location header is missing.
                    Err(OciDistributionError::RegistryNoLocationError) => Ok(()),
                    Err(e) => Err(RegistryError::from_oci(e)),
                }
            }
        })
        .await
    }
}

/// A request body for one blob: a stream of chunks that ends in an error when the bytes do
/// not match the blob's digest.
pub type BlobBody = BoxStream<'static, Result<Bytes, std::io::Error>>;

/// The blob read from its file, hashed on the way.
pub(super) async fn file_body(blob: &BlobFile) -> Result<BlobBody, RegistryError> {
    let file = tokio::fs::File::open(&blob.path).await.map_err(|e| {
        RegistryError::new(
            RegistryErrorKind::Rejected,
            format!("cannot open {}: {e}", blob.path.display()),
        )
    })?;
    Ok(Box::pin(hashed_file_stream(
        file,
        blob.digest.clone(),
        blob.size,
    )))
}

/// Counts each chunk into `counters` as the connection takes it (for our own requests).
pub(super) fn counted_io(
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

/// Counts each chunk into `counters` as oci-client takes it.
fn counted(
    body: BlobBody,
    counters: [Arc<AtomicU64>; 2],
) -> impl Stream<Item = Result<Bytes, OciDistributionError>> + Send + 'static {
    body.map(move |item| {
        let chunk = item.map_err(OciDistributionError::IoError)?;
        for counter in &counters {
            counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        }
        Ok(chunk)
    })
}

/// Reads `file` in chunks, hashing them; the stream ends with an error instead of
/// its last chunk when the content does not match `digest` and `size`.
fn hashed_file_stream(
    file: tokio::fs::File,
    digest: Digest,
    size: u64,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    struct State {
        file: tokio::fs::File,
        hasher: Option<Sha256Hasher>,
        digest: Digest,
        size: u64,
    }
    let state = State {
        file,
        hasher: Some(Sha256Hasher::new()),
        digest,
        size,
    };
    futures::stream::unfold(state, |mut state| async move {
        let hasher = state.hasher.as_mut()?;
        let mut buffer = vec![0u8; READ_CHUNK];
        match state.file.read(&mut buffer).await {
            Err(e) => {
                state.hasher = None;
                Some((Err(e), state))
            }
            Ok(0) => {
                let hasher = state.hasher.take()?;
                let (read, got) = (hasher.bytes_hashed(), hasher.finish());
                if got == state.digest && read == state.size {
                    None
                } else {
                    let message = format!(
                        "blob file changed on disk: expected {} ({} bytes), read {got} ({read} bytes)",
                        state.digest, state.size
                    );
                    Some((Err(std::io::Error::other(message)), state))
                }
            }
            Ok(n) => {
                buffer.truncate(n);
                hasher.update(&buffer);
                Some((Ok(Bytes::from(buffer)), state))
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
        let file = tokio::fs::File::open(&path).await.unwrap();
        let sent = Arc::new(AtomicU64::new(0));
        let counters = [sent.clone(), Arc::new(AtomicU64::new(0))];
        let body: BlobBody = Box::pin(hashed_file_stream(file, digest, size));
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
        assert!(error.unwrap().contains("blob file changed on disk"));
    }
}
