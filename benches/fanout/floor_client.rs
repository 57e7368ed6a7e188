//! The floor: the simplest client that gets an image into several registries. Every blob goes
//! to every registry at once (one `POST /v2/<repo>/blobs/uploads/`, then one `PUT ?digest=`
//! streaming the file from disk, no HEAD, no retry, no verification), then each registry gets
//! the manifest. It runs as its own process (this bench binary with `--floor-client SPEC`) so
//! that `/usr/bin/time` measures it like the other contenders.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

/// What to upload where; written by the bench as JSON.
#[derive(Debug, Serialize, Deserialize)]
pub struct FloorSpec {
    /// `http://127.0.0.1:PORT` of each registry.
    pub registries: Vec<String>,
    pub user: String,
    pub password: String,
    pub repository: String,
    pub tag: String,
    pub blobs: Vec<FloorBlob>,
    pub manifest_path: PathBuf,
    pub manifest_media_type: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct FloorBlob {
    pub digest: String,
    pub size: u64,
    pub path: PathBuf,
}

pub fn run(spec_path: &Path) -> Result<()> {
    let text = std::fs::read_to_string(spec_path)
        .with_context(|| format!("reading {}", spec_path.display()))?;
    let spec: FloorSpec = serde_json::from_str(&text)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(upload_everywhere(&spec))
}

async fn upload_everywhere(spec: &FloorSpec) -> Result<()> {
    let client = reqwest::Client::builder().no_proxy().build()?;
    let registries = spec.registries.iter().map(|registry| {
        let client = &client;
        async move {
            let blobs = spec
                .blobs
                .iter()
                .map(|blob| upload_blob(client, spec, registry, blob));
            futures::future::try_join_all(blobs).await?;
            put_manifest(client, spec, registry).await
        }
    });
    futures::future::try_join_all(registries).await?;
    Ok(())
}

async fn upload_blob(
    client: &reqwest::Client,
    spec: &FloorSpec,
    registry: &str,
    blob: &FloorBlob,
) -> Result<()> {
    let start = format!("{registry}/v2/{}/blobs/uploads/", spec.repository);
    let response = client
        .post(&start)
        .basic_auth(&spec.user, Some(&spec.password))
        .send()
        .await?;
    if response.status() != reqwest::StatusCode::ACCEPTED {
        bail!("POST {start}: {}", response.status());
    }
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|value| value.to_str().ok())
        .context("upload session without Location")?;
    let mut url = reqwest::Url::parse(registry)?.join(location)?;
    url.query_pairs_mut().append_pair("digest", &blob.digest);
    let file = tokio::fs::File::open(&blob.path)
        .await
        .with_context(|| format!("opening {}", blob.path.display()))?;
    let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::with_capacity(
        file,
        256 * 1024,
    ));
    let response = client
        .put(url)
        .basic_auth(&spec.user, Some(&spec.password))
        .header(reqwest::header::CONTENT_LENGTH, blob.size)
        .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
        .body(body)
        .send()
        .await?;
    if response.status() != reqwest::StatusCode::CREATED {
        bail!("PUT {} to {registry}: {}", blob.digest, response.status());
    }
    Ok(())
}

async fn put_manifest(client: &reqwest::Client, spec: &FloorSpec, registry: &str) -> Result<()> {
    let bytes = tokio::fs::read(&spec.manifest_path).await?;
    let url = format!("{registry}/v2/{}/manifests/{}", spec.repository, spec.tag);
    let response = client
        .put(&url)
        .basic_auth(&spec.user, Some(&spec.password))
        .header(reqwest::header::CONTENT_TYPE, &spec.manifest_media_type)
        .body(bytes)
        .send()
        .await?;
    if response.status() != reqwest::StatusCode::CREATED {
        bail!("PUT {url}: {}", response.status());
    }
    Ok(())
}
