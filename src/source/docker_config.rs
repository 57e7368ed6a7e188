//! Credentials for a registry from Docker's `config.json`, as `docker login` leaves them:
//! `credHelpers` (a `docker-credential-NAME get` per host), then `auths` (base64
//! `user:password`), then `credsStore` (the default helper). `None` when the file names none
//! for the host: the source is then read without credentials.

use std::path::Path;
use std::process::Stdio;

use anyhow::{Context, bail};
use base64::Engine;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use crate::secret::Secret;

/// A user name and its secret (a password or token).
pub struct HostCredentials {
    pub username: String,
    pub secret: Secret,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct DockerConfig {
    #[serde(default)]
    auths: std::collections::BTreeMap<String, AuthEntry>,
    #[serde(default)]
    cred_helpers: std::collections::BTreeMap<String, String>,
    creds_store: Option<String>,
}

#[derive(Deserialize, Default)]
struct AuthEntry {
    auth: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct HelperAnswer {
    username: String,
    secret: String,
}

/// The credentials `file` holds for `host`; a missing file holds none.
pub async fn credentials_for(file: &Path, host: &str) -> anyhow::Result<Option<HostCredentials>> {
    let text = match tokio::fs::read_to_string(file).await {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("read {}", file.display())),
    };
    let config: DockerConfig = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a Docker config file", file.display()))?;
    if let Some(helper) = config.cred_helpers.get(host) {
        return run_helper(helper, host).await.map(Some);
    }
    let entry = config.auths.iter().find(|(key, _)| names_host(key, host));
    if let Some((_, AuthEntry { auth: Some(auth) })) = entry {
        return decode_auth(auth, file).map(Some);
    }
    match &config.creds_store {
        Some(store) => run_helper(store, host).await.map(Some),
        None => Ok(None),
    }
}

/// `auths` keys are `host`, `https://host` or `https://host/v1/` (Docker Hub's).
fn names_host(key: &str, host: &str) -> bool {
    let bare = key
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let bare = bare.split('/').next().unwrap_or(bare);
    bare == host || (host == "registry-1.docker.io" && bare == "index.docker.io")
}

fn decode_auth(auth: &str, file: &Path) -> anyhow::Result<HostCredentials> {
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(auth.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .with_context(|| format!("an `auths` entry of {} is not base64", file.display()))?;
    let Some((username, password)) = decoded.split_once(':') else {
        bail!(
            "an `auths` entry of {} is not user:password",
            file.display()
        );
    };
    Ok(HostCredentials {
        username: username.to_string(),
        secret: Secret::new(password.to_string()),
    })
}

/// `docker-credential-NAME get` with the host on stdin; its JSON answer.
async fn run_helper(name: &str, host: &str) -> anyhow::Result<HostCredentials> {
    let program = format!("docker-credential-{name}");
    let mut child = tokio::process::Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("run {program} (named by the Docker config for {host})"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(host.as_bytes()).await?;
    }
    let out = child.wait_with_output().await?;
    if !out.status.success() {
        bail!(
            "{program} get found no credentials for {host}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let answer: HelperAnswer = serde_json::from_slice(&out.stdout)
        .with_context(|| format!("{program} get answered something other than its JSON"))?;
    Ok(HostCredentials {
        username: answer.username,
        secret: Secret::new(answer.secret),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn auths_entries_are_read_by_host() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.json");
        let auth = base64::engine::general_purpose::STANDARD.encode("ci:s3cret-pass");
        std::fs::write(
            &file,
            format!(r#"{{"auths": {{"https://ghcr.io": {{"auth": "{auth}"}}}}}}"#),
        )
        .unwrap();
        let found = credentials_for(&file, "ghcr.io").await.unwrap().unwrap();
        assert_eq!(
            (found.username.as_str(), found.secret.expose()),
            ("ci", "s3cret-pass")
        );
        assert!(credentials_for(&file, "quay.io").await.unwrap().is_none());
        let missing = dir.path().join("none.json");
        assert!(
            credentials_for(&missing, "ghcr.io")
                .await
                .unwrap()
                .is_none()
        );
    }
}
