//! Referrers (OCI 1.1): the manifests whose `subject` is a given manifest (signatures, SBOMs,
//! provenance). Read from `GET /v2/<name>/referrers/<digest>` where the registry has the API
//! (ECR does), else from the fallback tag `sha256-<hex>` (an index of them) that tools keep on
//! registries without it.

use reqwest::StatusCode;
use reqwest::header::ACCEPT;
use serde::Deserialize;

use super::{RegistryClient, RegistryError};
use crate::image::media_types::OCI_INDEX;
use crate::image::{Descriptor, Digest};

/// Where a registry's list of referrers came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReferrersSource {
    /// The referrers API.
    Api,
    /// The fallback tag (the registry has no referrers API).
    FallbackTag,
}

#[derive(Deserialize)]
struct IndexJson {
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

impl RegistryClient {
    /// The referrers of `digest`, and where the list came from: the API, or (when the registry
    /// answers 404 there) the fallback tag, which may not exist (an empty list).
    pub async fn referrers(
        &self,
        digest: &Digest,
    ) -> Result<(Vec<Descriptor>, ReferrersSource), RegistryError> {
        let url = self.url("referrers", digest.as_str());
        let listed = self
            .run("list referrers", None, |session| {
                let request = session.authorize(self.http.get(&url).header(ACCEPT, OCI_INDEX));
                async move {
                    let response = request
                        .send()
                        .await
                        .map_err(|e| RegistryError::from_transport(&e))?;
                    match response.status() {
                        StatusCode::OK => {
                            let bytes = response
                                .bytes()
                                .await
                                .map_err(|e| RegistryError::from_transport(&e))?;
                            Ok(Some(parse_index(&bytes)?))
                        }
                        StatusCode::NOT_FOUND => Ok(None),
                        status => Err(RegistryError::from_http(status, response).await),
                    }
                }
            })
            .await?;
        if let Some(listed) = listed {
            return Ok((listed, ReferrersSource::Api));
        }
        let tag = format!("sha256-{}", digest.hex());
        let listed = match self.get_manifest(&tag).await? {
            Some(index) => parse_index(&index.bytes)?,
            None => Vec::new(),
        };
        Ok((listed, ReferrersSource::FallbackTag))
    }
}

fn parse_index(bytes: &[u8]) -> Result<Vec<Descriptor>, RegistryError> {
    serde_json::from_slice::<IndexJson>(bytes)
        .map(|index| index.manifests)
        .map_err(|e| {
            RegistryError::new(
                super::RegistryErrorKind::Rejected,
                format!("the list of referrers is not an image index: {e}"),
            )
        })
}
