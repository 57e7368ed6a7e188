//! OCI 1.1 artifacts pushed with plain HTTP requests, as cosign or oras would: a referrer
//! (an image manifest with `artifactType`, an empty `{}` config and one payload layer, and a
//! `subject`) put by digest into a registry, or a cosign-style signature under its
//! `sha256-<hex>.sig` tag. Used to give images signatures and SBOMs without
//! those tools.

use reqwest::StatusCode;
use serde_json::json;

use super::registry::USER;
use super::skopeo::sha256_digest;

/// The manifest a referrer points at.
pub struct Subject<'a> {
    pub media_type: &'a str,
    pub digest: &'a str,
    pub size: u64,
}

/// Puts a referrer of `subject` of `artifact_type` carrying `payload` into `repo` at
/// `base_url` (the registry or its proxy) with Basic `password`; its digest.
pub async fn push_referrer(
    registry: (&str, &str),
    repo: &str,
    subject: &Subject<'_>,
    artifact: (&str, &[u8]),
) -> String {
    push_artifact(registry, repo, Some(subject), artifact, None).await
}

/// Puts a cosign-style signature (no `subject`) under the tag `tag`; its digest.
pub async fn push_tagged_artifact(
    registry: (&str, &str),
    repo: &str,
    tag: &str,
    artifact: (&str, &[u8]),
) -> String {
    push_artifact(registry, repo, None, artifact, Some(tag)).await
}

async fn push_artifact(
    (base_url, password): (&str, &str),
    repo: &str,
    subject: Option<&Subject<'_>>,
    (artifact_type, payload): (&str, &[u8]),
    tag: Option<&str>,
) -> String {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let config = b"{}".to_vec();
    for blob in [&config, &payload.to_vec()] {
        let digest = sha256_digest(blob);
        let started = client
            .post(format!("{base_url}/v2/{repo}/blobs/uploads/"))
            .basic_auth(USER, Some(password))
            .send()
            .await
            .unwrap();
        assert_eq!(started.status(), StatusCode::ACCEPTED, "POST upload");
        let location = started.headers()["location"].to_str().unwrap().to_string();
        let location = if location.starts_with("http") {
            location
        } else {
            format!("{base_url}{location}")
        };
        let sep = if location.contains('?') { '&' } else { '?' };
        let put = client
            .put(format!("{location}{sep}digest={digest}"))
            .basic_auth(USER, Some(password))
            .body(blob.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(put.status(), StatusCode::CREATED, "PUT blob");
    }
    let mut manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": artifact_type,
        "config": {
            "mediaType": "application/vnd.oci.empty.v1+json",
            "digest": sha256_digest(&config),
            "size": config.len(),
        },
        "layers": [{
            "mediaType": "application/octet-stream",
            "digest": sha256_digest(payload),
            "size": payload.len(),
        }],
        "annotations": {"org.opencontainers.image.created": "2026-01-01T00:00:00Z"},
    });
    if let Some(subject) = subject {
        manifest["subject"] = json!({
            "mediaType": subject.media_type,
            "digest": subject.digest,
            "size": subject.size,
        });
    }
    let bytes = serde_json::to_vec(&manifest).unwrap();
    let digest = sha256_digest(&bytes);
    let reference = tag.map_or_else(|| digest.clone(), str::to_string);
    let put = client
        .put(format!("{base_url}/v2/{repo}/manifests/{reference}"))
        .basic_auth(USER, Some(password))
        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(
        put.status(),
        StatusCode::CREATED,
        "PUT referrer: {}",
        put.text().await.unwrap_or_default()
    );
    digest
}

/// The referrers `base_url` lists for `digest` in `repo`: (status, [(digest, artifactType)]).
pub async fn list_referrers(
    (base_url, password): (&str, &str),
    repo: &str,
    digest: &str,
) -> (u16, Vec<(String, String)>) {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let resp = client
        .get(format!("{base_url}/v2/{repo}/referrers/{digest}"))
        .basic_auth(USER, Some(password))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    if status != 200 {
        return (status, Vec::new());
    }
    let index: serde_json::Value = resp.json().await.unwrap();
    let listed = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["digest"].as_str().unwrap().to_string(),
                d["artifactType"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    (status, listed)
}
