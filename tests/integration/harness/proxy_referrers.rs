//! ECR's referrers API, emulated from the registry's own storage: `GET
//! /v2/<name>/referrers/<digest>` lists every manifest stored in the repository whose `subject`
//! is `digest`, as an OCI image index of descriptors carrying each one's `artifactType` (its
//! own, else its config's media type) and annotations, sorted by digest. Read from the disk
//! layout of distribution (`repositories/<name>/_manifests/revisions/sha256/<hex>/link` and
//! `blobs/sha256/<xx>/<hex>/data`), so manifests pushed around the proxy, and deleted ones,
//! count as they would in ECR. `?artifactType=` filters, with `OCI-Filters-Applied`.

use std::path::Path;

use http::{HeaderValue, Response, StatusCode, header};
use serde_json::{Value, json};

use super::ecr_proxy::ProxyBody;
use super::proxy_forward::{full, json_error};

const INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// The answer to a referrers request for `digest` in `repo`.
pub fn answer(
    storage: Option<&Path>,
    repo: &str,
    digest: &str,
    query: &str,
    authorized: bool,
) -> Response<ProxyBody> {
    if !authorized {
        return json_error(
            StatusCode::UNAUTHORIZED,
            r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
        );
    }
    let Some(storage) = storage else {
        return json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"errors":[{"code":"UNKNOWN","message":"proxy: no registry storage set"}]}"#,
        );
    };
    let wanted_type = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("artifactType="))
        .map(|t| t.replace("%2B", "+").replace("%2F", "/"));
    let mut manifests: Vec<Value> = stored_manifests(storage, repo)
        .into_iter()
        .filter(|(_, _, manifest)| manifest["subject"]["digest"] == digest)
        .map(|(hex, size, manifest)| descriptor(&hex, size, &manifest))
        .filter(|d| {
            wanted_type
                .as_deref()
                .is_none_or(|t| d["artifactType"] == t)
        })
        .collect();
    manifests.sort_by(|a, b| a["digest"].as_str().cmp(&b["digest"].as_str()));
    let body = json!({"schemaVersion": 2, "mediaType": INDEX, "manifests": manifests});
    let mut resp = Response::new(full(body.to_string()));
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(INDEX));
    if wanted_type.is_some() {
        resp.headers_mut().insert(
            "oci-filters-applied",
            HeaderValue::from_static("artifactType"),
        );
    }
    resp
}

/// Every manifest the repository links: (hex, size, parsed JSON).
fn stored_manifests(storage: &Path, repo: &str) -> Vec<(String, u64, Value)> {
    let revisions = storage
        .join("repositories")
        .join(repo)
        .join("_manifests/revisions/sha256");
    let Ok(entries) = std::fs::read_dir(&revisions) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let hex = entry.file_name().to_string_lossy().to_string();
        if !entry.path().join("link").is_file() || hex.len() < 2 {
            continue;
        }
        let data = storage
            .join("blobs/sha256")
            .join(&hex[..2])
            .join(&hex)
            .join("data");
        let Ok(bytes) = std::fs::read(&data) else {
            continue;
        };
        if let Ok(manifest) = serde_json::from_slice::<Value>(&bytes) {
            found.push((hex, bytes.len() as u64, manifest));
        }
    }
    found
}

fn descriptor(hex: &str, size: u64, manifest: &Value) -> Value {
    let artifact_type = manifest
        .get("artifactType")
        .cloned()
        .unwrap_or_else(|| manifest["config"]["mediaType"].clone());
    let mut descriptor = json!({
        "mediaType": manifest["mediaType"],
        "digest": format!("sha256:{hex}"),
        "size": size,
        "artifactType": artifact_type,
    });
    if let Some(annotations) = manifest.get("annotations") {
        descriptor["annotations"] = annotations.clone();
    }
    descriptor
}
