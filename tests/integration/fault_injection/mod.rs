//! Proves each fault the ECR proxy can inject really happens, is counted, and goes away with
//! `clear_faults`, using raw HTTP requests (no ecr-fanout code) and skopeo/the registry
//! directly to check what landed; and that moto's call counter counts SDK calls exactly.
//! This file has the raw registry client the test modules share.

mod answers;
mod book;
mod connections;
mod moto_calls;

use std::time::Duration;

use bytes::Bytes;
use reqwest::{Client, Method, Response, StatusCode};

use crate::harness::Region;
use crate::harness::registry::USER;
use crate::harness::skopeo::sha256_digest;

const REGION: &str = "us-east-1";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// Generous bound for anything that must end "soon" on a loaded 2-core CI machine.
const SOON: Duration = Duration::from_secs(10);

fn client(timeout: Duration) -> Client {
    Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .build()
        .unwrap()
}

/// Registry API calls through one region's proxy, authenticated as ECR clients are.
struct Calls<'a> {
    region: &'a Region,
    client: Client,
}

impl<'a> Calls<'a> {
    fn new(region: &'a Region) -> Self {
        Self::with_timeout(region, Duration::from_secs(30))
    }

    fn with_timeout(region: &'a Region, timeout: Duration) -> Self {
        Calls {
            region,
            client: client(timeout),
        }
    }

    fn req(&self, method: Method, path_or_url: &str) -> reqwest::RequestBuilder {
        let url = if path_or_url.starts_with("http") {
            path_or_url.to_string()
        } else {
            format!("{}{path_or_url}", self.region.proxy_url())
        };
        self.client
            .request(method, url)
            .basic_auth(USER, Some(self.region.password()))
    }

    async fn ping(&self) -> reqwest::Result<Response> {
        self.req(Method::GET, "/v2/").send().await
    }

    async fn start_upload(&self, repo: &str) -> reqwest::Result<Response> {
        let path = format!("/v2/{repo}/blobs/uploads/");
        self.req(Method::POST, &path).send().await
    }

    /// POST, then one PUT `?digest=` with the whole blob (the monolithic upload).
    async fn upload(&self, repo: &str, blob: &[u8]) -> reqwest::Result<Response> {
        let start = self.start_upload(repo).await?;
        assert_eq!(start.status(), StatusCode::ACCEPTED, "POST upload");
        let location = start.headers()["location"].to_str().unwrap().to_string();
        let sep = if location.contains('?') { '&' } else { '?' };
        let url = format!("{location}{sep}digest={}", sha256_digest(blob));
        self.req(Method::PUT, &url)
            .header("Content-Type", "application/octet-stream")
            .body(Bytes::copy_from_slice(blob))
            .send()
            .await
    }

    async fn get_manifest(&self, repo: &str, reference: &str) -> reqwest::Result<Response> {
        let path = format!("/v2/{repo}/manifests/{reference}");
        self.req(Method::GET, &path)
            .header("Accept", OCI_MANIFEST)
            .send()
            .await
    }
}

/// `len` bytes that are not all alike.
fn blob(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// Push a one-layer image straight into the registry (no proxy); returns its manifest.
async fn seed_image(region: &Region, repo: &str, tag: &str) -> Vec<u8> {
    let direct = client(Duration::from_secs(30));
    let auth = |b: reqwest::RequestBuilder| b.basic_auth(USER, Some(region.password()));
    let layer = vec![0u8; 1024];
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [sha256_digest(&layer)]},
    }))
    .unwrap();
    for content in [&config, &layer] {
        let start = auth(direct.post(format!("{}/v2/{repo}/blobs/uploads/", region.direct_url())))
            .send()
            .await
            .unwrap();
        let location = start.headers()["location"].to_str().unwrap().to_string();
        let sep = if location.contains('?') { '&' } else { '?' };
        let put = auth(direct.put(format!("{location}{sep}digest={}", sha256_digest(content))))
            .body(content.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(put.status(), StatusCode::CREATED);
    }
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": sha256_digest(&config), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": sha256_digest(&layer), "size": layer.len()}],
    }))
    .unwrap();
    let put = auth(direct.put(format!("{}/v2/{repo}/manifests/{tag}", region.direct_url())))
        .header("Content-Type", OCI_MANIFEST)
        .body(manifest.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::CREATED);
    manifest
}
