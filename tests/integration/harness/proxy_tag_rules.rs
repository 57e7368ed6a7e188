//! The proxy's tag-immutability emulation ([`Emulation::TagImmutability`]): before a manifest
//! PUT by tag is forwarded, read the repository's mode and exclusion filters from moto (which
//! stores both but enforces neither on the registry), decide as ECR does, and refuse a put of an
//! immutable tag that already exists (even at the same digest) with ECR's `TAG_INVALID`.
//!
//! The wildcard matching here is written independently of the product's, on purpose: a test
//! that asked the product's own matcher whether the product matched right would prove nothing.
//!
//! [`Emulation::TagImmutability`]: super::proxy_control::Emulation::TagImmutability

use http::{HeaderMap, Method, StatusCode, header};

use super::proxy_forward::{ProxyBody, Shared, json_error};

/// Where the proxy reads its region's repository settings.
#[derive(Clone, Debug)]
pub struct ControlPlane {
    /// moto itself (uncounted).
    pub endpoint: String,
    pub region: String,
}

/// Every manifest media type, so a HEAD by tag finds whatever is stored.
const ACCEPT_ALL: &str = "application/vnd.oci.image.manifest.v1+json, \
    application/vnd.oci.image.index.v1+json, \
    application/vnd.docker.distribution.manifest.v2+json, \
    application/vnd.docker.distribution.manifest.list.v2+json";

/// ECR's answer; the same text ECR gives for every immutable mode.
fn tag_invalid(tag: &str, repo: &str) -> http::Response<ProxyBody> {
    let message = format!(
        "The image tag '{tag}' already exists in the '{repo}' repository and cannot be \
         overwritten because the tag is immutable."
    );
    let body = serde_json::json!({"errors": [{"code": "TAG_INVALID", "message": message}]});
    json_error(StatusCode::BAD_REQUEST, &body.to_string())
}

/// `Some(answer)` when ECR would refuse this tag put; `None` to forward it.
pub(crate) async fn refuse_immutable_tag(
    shared: &Shared,
    plane: &ControlPlane,
    repo: &str,
    tag: &str,
    request_headers: &HeaderMap,
) -> Option<http::Response<ProxyBody>> {
    if tag.contains(':') {
        return None; // by digest: no tag moves
    }
    let (mode, filters) = repository_rules(plane, repo).await?;
    if !is_immutable(&mode, &filters, tag) || !tag_exists(shared, repo, tag, request_headers).await
    {
        return None;
    }
    Some(tag_invalid(tag, repo))
}

/// The repository's mode and filters at moto; `None` when moto has no such repository (then
/// nothing is enforced, as for a registry without ECR in front).
async fn repository_rules(plane: &ControlPlane, repo: &str) -> Option<(String, Vec<String>)> {
    let client = super::moto::ecr_client(&plane.endpoint, &plane.region);
    let out = client
        .describe_repositories()
        .repository_names(repo)
        .send()
        .await
        .ok()?;
    let repository = out.repositories().first()?;
    let mode = repository
        .image_tag_mutability()
        .map_or("MUTABLE", |m| m.as_str())
        .to_string();
    let filters = repository
        .image_tag_mutability_exclusion_filters()
        .iter()
        .map(|f| f.filter().to_string())
        .collect();
    Some((mode, filters))
}

/// ECR's rule: in the `_WITH_EXCLUSION` modes a tag matching a filter is the exception.
fn is_immutable(mode: &str, filters: &[String], tag: &str) -> bool {
    let excepted = mode.ends_with("_WITH_EXCLUSION") && filters.iter().any(|f| glob(f, tag));
    mode.starts_with("IMMUTABLE") != excepted
}

/// Whole-string wildcard match, `*` = any run of characters (dynamic programming over both).
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    // row[j]: does p[..i] match t[..j]?
    let mut row = vec![false; t.len() + 1];
    row[0] = true;
    for &pc in &p {
        let mut next = vec![false; t.len() + 1];
        if pc == '*' {
            next[0] = row[0];
            for j in 1..=t.len() {
                next[j] = row[j] || next[j - 1];
            }
        } else {
            for j in 1..=t.len() {
                next[j] = row[j - 1] && t[j - 1] == pc;
            }
        }
        row = next;
    }
    row[t.len()]
}

/// Whether the registry has the tag now (HEAD with the client's credentials).
async fn tag_exists(shared: &Shared, repo: &str, tag: &str, request_headers: &HeaderMap) -> bool {
    let url = format!("{}/v2/{repo}/manifests/{tag}", shared.upstream);
    let mut request = shared
        .client
        .request(Method::HEAD, url)
        .header(header::ACCEPT, ACCEPT_ALL);
    if let Some(auth) = request_headers.get(header::AUTHORIZATION) {
        request = request.header(header::AUTHORIZATION, auth.clone());
    }
    matches!(request.send().await, Ok(r) if r.status() == StatusCode::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_and_modes() {
        assert!(glob("latest", "latest") && !glob("latest", "latest2"));
        assert!(glob("v*", "v1") && !glob("v*", "xv1") && glob("*", ""));
        assert!(glob("a*b*c", "axbyc") && !glob("a*b*c", "acb"));
        let latest = vec!["latest".to_string()];
        assert!(!is_immutable("IMMUTABLE_WITH_EXCLUSION", &latest, "latest"));
        assert!(is_immutable("IMMUTABLE_WITH_EXCLUSION", &latest, "v1"));
        assert!(is_immutable("MUTABLE_WITH_EXCLUSION", &latest, "latest"));
        assert!(!is_immutable("MUTABLE_WITH_EXCLUSION", &latest, "v1"));
        assert!(is_immutable("IMMUTABLE", &[], "latest"));
        assert!(!is_immutable("MUTABLE", &latest, "latest"));
    }
}
