//! The independent checker: reads what a region's registry really holds, bypassing the ECR
//! proxy. Manifests and tags through `skopeo`; the catalog and blob existence through plain
//! HTTP with Basic auth. Also the sha256 digest helper used to name content.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

use super::env::Region;
use super::registry::USER;
use super::support::probe_client;

/// How long one skopeo call may take.
const SKOPEO_TIMEOUT: Duration = Duration::from_secs(60);

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// `docker://127.0.0.1:PORT/<repo>:<tag>` or `...<repo>@sha256:...` on the direct registry.
fn image_ref(region: &Region, repo: &str, reference: &str) -> String {
    if reference.contains(':') {
        format!("docker://{}/{repo}@{reference}", region.direct_host())
    } else {
        format!("docker://{}/{repo}:{reference}", region.direct_host())
    }
}

async fn skopeo(args: &[String]) -> Result<Vec<u8>> {
    let mut cmd = tokio::process::Command::new("skopeo");
    cmd.args(args)
        .kill_on_drop(true)
        .stdin(std::process::Stdio::null());
    for key in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "http_proxy",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        cmd.env_remove(key);
    }
    let out = tokio::time::timeout(SKOPEO_TIMEOUT, cmd.output())
        .await
        .with_context(|| format!("skopeo {args:?} timed out"))?
        .context("running skopeo (installed by scripts/test)")?;
    if !out.status.success() {
        bail!(
            "skopeo {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(out.stdout)
}

fn common_args(region: &Region) -> Vec<String> {
    vec![
        "--tls-verify=false".into(),
        "--creds".into(),
        format!("{USER}:{}", region.password()),
    ]
}

/// The manifest bytes exactly as stored, for `reference` = tag or `sha256:...` digest.
pub async fn inspect_raw(region: &Region, repo: &str, reference: &str) -> Result<Vec<u8>> {
    let mut args = vec!["inspect".to_string(), "--raw".into()];
    args.extend(common_args(region));
    args.push(image_ref(region, repo, reference));
    skopeo(&args).await
}

/// The image config (labels, history, created) of a single-platform manifest, as parsed JSON.
pub async fn inspect_config(
    region: &Region,
    repo: &str,
    reference: &str,
) -> Result<serde_json::Value> {
    let mut args = vec!["inspect".to_string(), "--config".into()];
    args.extend(common_args(region));
    args.push(image_ref(region, repo, reference));
    let out = skopeo(&args).await?;
    serde_json::from_slice(&out).context("skopeo inspect --config output")
}

/// `sha256:...` of the stored manifest bytes.
pub async fn manifest_digest(region: &Region, repo: &str, reference: &str) -> Result<String> {
    Ok(sha256_digest(&inspect_raw(region, repo, reference).await?))
}

/// The repository's tags, sorted. Empty when the registry does not know the repository
/// (distribution answers 404 to tags/list until a manifest has been pushed).
pub async fn tags(region: &Region, repo: &str) -> Result<Vec<String>> {
    let mut args = vec!["list-tags".to_string()];
    args.extend(common_args(region));
    args.push(format!("docker://{}/{repo}", region.direct_host()));
    let out = match skopeo(&args).await {
        Ok(out) => out,
        Err(e) if format!("{e:#}").contains("404 (Not Found)") => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let json: serde_json::Value =
        serde_json::from_slice(&out).context("skopeo list-tags output")?;
    let mut tags: Vec<String> = json["Tags"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    tags.sort();
    Ok(tags)
}

/// Repositories the registry holds (GET /v2/_catalog), sorted.
pub async fn catalog(region: &Region) -> Result<Vec<String>> {
    let resp = probe_client()
        .get(format!("{}/v2/_catalog?n=1000", region.direct_url()))
        .basic_auth(USER, Some(region.password()))
        .send()
        .await?;
    let status = resp.status();
    let body = resp.text().await?;
    if !status.is_success() {
        bail!("GET /v2/_catalog answered {status}: {body}");
    }
    let json: serde_json::Value = serde_json::from_str(&body)?;
    let mut repos: Vec<String> = json["repositories"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    repos.sort();
    Ok(repos)
}

/// Whether `repo` has blob `digest` (HEAD /v2/<repo>/blobs/<digest>).
pub async fn blob_exists(region: &Region, repo: &str, digest: &str) -> Result<bool> {
    let resp = probe_client()
        .head(format!("{}/v2/{repo}/blobs/{digest}", region.direct_url()))
        .basic_auth(USER, Some(region.password()))
        .send()
        .await?;
    match resp.status().as_u16() {
        200 => Ok(true),
        404 => Ok(false),
        s => bail!("HEAD blob {repo}@{digest} answered {s}"),
    }
}

/// Copies `repo@reference` from the region's registry into the OCI layout `dir`, bytes as
/// served, so a test can read every layer.
pub async fn copy_to_layout(
    region: &Region,
    repo: &str,
    reference: &str,
    dir: &std::path::Path,
) -> Result<()> {
    let args = vec![
        "copy".to_string(),
        "--preserve-digests".into(),
        "--src-tls-verify=false".into(),
        "--src-creds".into(),
        format!("{USER}:{}", region.password()),
        image_ref(region, repo, reference),
        format!("oci:{}", dir.display()),
    ];
    skopeo(&args).await.map(drop)
}
