//! Cross-repository mounts: `POST /v2/<repo>/blobs/uploads/?mount=<digest>&from=<source>`.
//! A 201 means the registry linked the blob and nothing needs sending. A 202 means no mount
//! (ECR: mounting is not enabled for the account, the source is in another region, or no
//! manifest in the source references the blob; aws/containers-roadmap 2860); its answer is an
//! ordinary upload session, used as such with one PUT carrying the whole blob.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use reqwest::StatusCode;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION};

use super::blobs::{BlobBody, counted_io, file_body};
use super::{RegistryClient, RegistryError, RegistryErrorKind};
use crate::image::BlobFile;

/// How a blob got into the repository.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MountOutcome {
    /// Linked from the source repository; no byte sent.
    Mounted,
    /// The registry declined the mount; the blob was uploaded in the session it opened.
    Uploaded,
}

impl RegistryClient {
    /// Mounts `blob` from `source` (a repository of the same registry), or uploads it in the
    /// session the registry opens instead. Retried like every request; a retry reads the file.
    pub async fn mount_or_push_blob(
        &self,
        blob: &BlobFile,
        source: &str,
        sent: Arc<AtomicU64>,
        shared_body: Option<BlobBody>,
    ) -> Result<MountOutcome, RegistryError> {
        let progress = Arc::new(AtomicU64::new(0));
        let shared_body = std::sync::Mutex::new(shared_body);
        let start_url = format!(
            "{}/v2/{}/blobs/uploads/?mount={}&from={source}",
            self.base_url, self.repository, blob.digest
        );
        self.run("mount or upload blob", Some(&progress), |session| {
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
                    StatusCode::CREATED => return Ok(MountOutcome::Mounted),
                    StatusCode::ACCEPTED => {}
                    status => {
                        let body = response.text().await.unwrap_or_default();
                        return Err(RegistryError::from_response(status.as_u16(), &body));
                    }
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
                    .body(reqwest::Body::wrap_stream(counted_io(body, counters)));
                let response = put
                    .send()
                    .await
                    .map_err(|e| RegistryError::from_transport(&e))?;
                if response.status().is_success() {
                    Ok(MountOutcome::Uploaded)
                } else {
                    let status = response.status().as_u16();
                    let body = response.text().await.unwrap_or_default();
                    Err(RegistryError::from_response(status, &body))
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
