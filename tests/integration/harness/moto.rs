//! `Moto`: moto's server (the ECR control plane: repositories, GetAuthorizationToken) on a free
//! loopback port, killed on drop. Owns locating the binary (failing loudly when `scripts/test`
//! has not installed it), the password moto's tokens carry, and small aws-sdk-ecr helpers.
//! The binary under test reaches moto through a [`MotoCounter`] (`url()`), which counts its
//! API calls; the harness's own helpers go to moto directly (`direct_url()`), uncounted.
//!
//! How moto makes tokens (moto 5.2.5, `moto/ecr/responses.py` `get_authorization_token`): for
//! each registry id (default: the caller's account) the password is `"{account_id}-auth-token"`
//! and the token is `base64("AWS:" + password)`; only `proxyEndpoint` mentions the region. So
//! moto's password is the SAME in every region; the front gives each region its own. `expiresAt` is a fixed 2015-01-01, in the past.
//! The caller's account is moto's default (123456789012, [`ACCOUNT_ID`]), so the password is
//! known up front; `MOTO_ACCOUNT_ID` is not set, so that credentials from STS AssumeRole act
//! as the role's account, as they do on AWS (destinations in another account).

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use aws_sdk_ecr::config::{BehaviorVersion, Credentials, Region};
use tempfile::TempDir;

use super::moto_counter::{ApiCall, MotoCounter};
use super::support::{
    ChildProcess, PORT_RETRIES, Probe, free_port, is_addr_in_use, probe_client, wait_ready,
};

/// The account moto is started with (also moto's own default).
pub const ACCOUNT_ID: &str = "123456789012";
/// Static credentials every client of the test moto uses.
pub const ACCESS_KEY_ID: &str = "testing";
pub const SECRET_ACCESS_KEY: &str = "testing";
/// moto imports a lot of Python on start; a loaded 2-core machine needs the slack.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// The password in `region`'s GetAuthorizationToken answer as the binary sees it: moto's own
/// password (`{account}-auth-token`, the same everywhere) made region-specific by the
/// [`MotoCounter`] front, as real ECR passwords are.
pub fn moto_password(region: &str) -> String {
    format!("{ACCOUNT_ID}-auth-token-{region}")
}

/// moto's own password, the same in every region: what a client reaching moto directly (not
/// through the front) gets, as the benchmark's runs do.
pub fn moto_shared_password() -> String {
    format!("{ACCOUNT_ID}-auth-token")
}

/// The full token the binary gets: base64 of `AWS:<password>`.
pub fn moto_token(region: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("AWS:{}", moto_password(region)))
}

/// `$ECR_FANOUT_TEST_MOTO`, else `target/test-tools/venv/bin/moto_server` in this checkout.
pub fn moto_binary() -> Result<PathBuf> {
    let path = match std::env::var_os("ECR_FANOUT_TEST_MOTO") {
        Some(p) => PathBuf::from(p),
        None => {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-tools/venv/bin/moto_server")
        }
    };
    if !path.is_file() {
        bail!(
            "moto_server not found at {} — run `scripts/test` (it installs moto into \
             target/test-tools/venv and exports ECR_FANOUT_TEST_MOTO)",
            path.display()
        );
    }
    Ok(path)
}

/// A running moto server. Dropping it kills the process.
pub struct Moto {
    port: u16,
    // Stops before the process it forwards to.
    counter: MotoCounter,
    process: ChildProcess,
    _dir: TempDir,
}

impl Moto {
    pub async fn start() -> Result<Moto> {
        let binary = moto_binary()?;
        let dir = tempfile::Builder::new()
            .prefix("ecr-test-moto-")
            .tempdir()?;
        let mut last_err = None;
        for _ in 0..PORT_RETRIES {
            let port = free_port()?;
            match start_on(&binary, &dir, port).await {
                Ok(process) => {
                    let counter = MotoCounter::start(&direct_url(port)).await?;
                    return Ok(Moto {
                        port,
                        counter,
                        process,
                        _dir: dir,
                    });
                }
                Err(e) if is_addr_in_use(&e) => last_err = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_err.unwrap()).context("moto_server: every port tried was taken")
    }

    /// The endpoint the binary uses (`AWS_ENDPOINT_URL_ECR`): moto behind the call counter.
    pub fn url(&self) -> String {
        self.counter.url()
    }

    /// moto itself, `http://127.0.0.1:PORT`; calls made here are not counted.
    pub fn direct_url(&self) -> String {
        direct_url(self.port)
    }

    /// API calls of `action` (e.g. "GetAuthorizationToken", "PutImage") made through
    /// [`Moto::url`], in any region, whatever moto answered.
    pub fn count_calls(&self, action: &str) -> usize {
        self.counter.count(action)
    }

    /// Same, only calls signed for `region`.
    pub fn count_calls_in(&self, region: &str, action: &str) -> usize {
        self.counter.count_in(region, action)
    }

    /// Every call made through [`Moto::url`], in order.
    pub fn calls(&self) -> Vec<ApiCall> {
        self.counter.calls()
    }

    /// The scan stand-in in front of moto (scanning types and findings a test sets).
    pub fn scans(&self) -> &super::scan_stand_in::ScanStandIn {
        self.counter.scans()
    }

    /// The managed signing stand-in in front of moto (signing rules and statuses a test sets).
    pub fn signing(&self) -> &super::signing_stand_in::SigningStandIn {
        self.counter.signing()
    }

    /// The secret keys and session tokens STS issued to the binary (AssumeRole answers).
    pub fn issued_secrets(&self) -> Vec<String> {
        self.counter.issued_secrets()
    }

    /// An ECR client acting as `account`: moto binds the credentials of an STS AssumeRole
    /// answer to the role's account, as AWS does. Not counted.
    pub async fn ecr_client_as(&self, region: &str, account: &str) -> Result<aws_sdk_ecr::Client> {
        let form = format!(
            "Action=AssumeRole&Version=2011-06-15&RoleSessionName=harness&RoleArn=arn%3Aaws%3Aiam%3A%3A{account}%3Arole%2Fharness"
        );
        let answer = reqwest::Client::new()
            .post(self.direct_url())
            .header("content-type", "application/x-www-form-urlencoded")
            .header(
                "authorization",
                format!(
                    "AWS4-HMAC-SHA256 Credential={ACCESS_KEY_ID}/20260101/{region}/sts/aws4_request, \
                     SignedHeaders=host, Signature=0"
                ),
            )
            .body(form)
            .send()
            .await?
            .text()
            .await?;
        let element = |name: &str| {
            answer
                .split(&format!("<{name}>"))
                .nth(1)
                .and_then(|rest| rest.split(&format!("</{name}>")).next())
                .map(String::from)
                .with_context(|| format!("moto AssumeRole answer without {name}: {answer}"))
        };
        let config = aws_sdk_ecr::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .http_client(ecr_fanout::ecr::https_client())
            .endpoint_url(self.direct_url())
            .region(Region::new(region.to_string()))
            .credentials_provider(Credentials::new(
                element("AccessKeyId")?,
                element("SecretAccessKey")?,
                Some(element("SessionToken")?),
                None,
                "ecr-fanout-test-assumed",
            ))
            .build();
        Ok(aws_sdk_ecr::Client::from_conf(config))
    }

    /// Repository names in `region` of the registry of `account`, sorted (read as that
    /// account).
    pub async fn list_repositories_of(&self, region: &str, account: &str) -> Result<Vec<String>> {
        let out = self
            .ecr_client_as(region, account)
            .await?
            .describe_repositories()
            .send()
            .await
            .with_context(|| format!("moto DescribeRepositories of {account} in {region}"))?;
        let mut names: Vec<String> = out
            .repositories()
            .iter()
            .filter(|r| r.registry_id() == Some(account))
            .filter_map(|r| r.repository_name().map(String::from))
            .collect();
        names.sort();
        Ok(names)
    }

    /// The KMS key of `name` in `region` of `account`'s registry, if it is KMS-encrypted.
    pub async fn kms_key_of(
        &self,
        region: &str,
        account: &str,
        name: &str,
    ) -> Result<Option<String>> {
        let out = self
            .ecr_client(region)
            .describe_repositories()
            .registry_id(account)
            .repository_names(name)
            .send()
            .await
            .with_context(|| format!("moto DescribeRepositories {name} in {region}"))?;
        Ok(out
            .repositories()
            .first()
            .and_then(|r| r.encryption_configuration())
            .and_then(|e| e.kms_key())
            .map(String::from))
    }

    /// Forget the calls counted so far.
    pub fn reset_calls(&self) {
        self.counter.reset()
    }

    pub fn log(&self) -> String {
        self.process.log()
    }

    /// An ECR client for `region` talking to this moto with the test credentials.
    /// Not counted: it talks to moto directly.
    pub fn ecr_client(&self, region: &str) -> aws_sdk_ecr::Client {
        ecr_client(&self.direct_url(), region)
    }

    pub async fn create_repository(&self, region: &str, name: &str) -> Result<()> {
        self.ecr_client(region)
            .create_repository()
            .repository_name(name)
            .send()
            .await
            .with_context(|| format!("moto CreateRepository {name} in {region}"))?;
        Ok(())
    }

    /// Create a repository with a tag mutability mode and exclusion filters (none for
    /// `MUTABLE` and `IMMUTABLE`).
    pub async fn create_repository_with_rules(
        &self,
        region: &str,
        name: &str,
        mode: &str,
        filters: &[&str],
    ) -> Result<()> {
        self.ecr_client(region)
            .create_repository()
            .repository_name(name)
            .image_tag_mutability(mode.into())
            .set_image_tag_mutability_exclusion_filters(exclusion_filters(filters))
            .send()
            .await
            .with_context(|| format!("moto CreateRepository {name} ({mode}) in {region}"))?;
        Ok(())
    }

    /// Set a repository's mode and exclusion filters.
    pub async fn put_tag_rules(
        &self,
        region: &str,
        name: &str,
        mode: &str,
        filters: &[&str],
    ) -> Result<()> {
        self.ecr_client(region)
            .put_image_tag_mutability()
            .repository_name(name)
            .image_tag_mutability(mode.into())
            .set_image_tag_mutability_exclusion_filters(exclusion_filters(filters))
            .send()
            .await
            .with_context(|| format!("moto PutImageTagMutability {name} ({mode}) in {region}"))?;
        Ok(())
    }

    /// A repository's mode and exclusion filters, as moto stores them.
    pub async fn tag_rules(&self, region: &str, name: &str) -> Result<(String, Vec<String>)> {
        let out = self
            .ecr_client(region)
            .describe_repositories()
            .repository_names(name)
            .send()
            .await
            .with_context(|| format!("moto DescribeRepositories {name} in {region}"))?;
        let repo = out
            .repositories()
            .first()
            .with_context(|| format!("moto has no repository {name} in {region}"))?;
        let mode = repo
            .image_tag_mutability()
            .map_or("MUTABLE", |m| m.as_str())
            .to_string();
        let filters = repo
            .image_tag_mutability_exclusion_filters()
            .iter()
            .map(|f| f.filter().to_string())
            .collect();
        Ok((mode, filters))
    }

    /// Repository names in `region`, sorted.
    pub async fn list_repositories(&self, region: &str) -> Result<Vec<String>> {
        let client = self.ecr_client(region);
        let mut names = Vec::new();
        let mut pages = client.describe_repositories().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.with_context(|| format!("moto DescribeRepositories in {region}"))?;
            names.extend(
                page.repositories()
                    .iter()
                    .filter_map(|r| r.repository_name().map(String::from)),
            );
        }
        names.sort();
        Ok(names)
    }

    /// The raw token GetAuthorizationToken returns in `region` through the front, as the binary
    /// gets it (this call is counted).
    pub async fn authorization_token(&self, region: &str) -> Result<String> {
        let out = ecr_client(&self.url(), region)
            .get_authorization_token()
            .send()
            .await?;
        let data = out.authorization_data();
        let first = data
            .first()
            .context("GetAuthorizationToken returned no authorizationData")?;
        first
            .authorization_token()
            .map(String::from)
            .context("authorizationData without authorizationToken")
    }
}

/// WILDCARD filters for the SDK; `None` when there are none.
fn exclusion_filters(
    filters: &[&str],
) -> Option<Vec<aws_sdk_ecr::types::ImageTagMutabilityExclusionFilter>> {
    use aws_sdk_ecr::types::{
        ImageTagMutabilityExclusionFilter, ImageTagMutabilityExclusionFilterType,
    };
    (!filters.is_empty()).then(|| {
        filters
            .iter()
            .map(|f| {
                ImageTagMutabilityExclusionFilter::builder()
                    .filter_type(ImageTagMutabilityExclusionFilterType::Wildcard)
                    .filter(*f)
                    .build()
                    .expect("filter type and filter are set")
            })
            .collect()
    })
}

fn direct_url(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

/// An ECR client for `region` against `endpoint`, isolated from the host's AWS config.
pub fn ecr_client(endpoint: &str, region: &str) -> aws_sdk_ecr::Client {
    let config = aws_sdk_ecr::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(ecr_fanout::ecr::https_client())
        .endpoint_url(endpoint)
        .region(Region::new(region.to_string()))
        .credentials_provider(test_credentials())
        .build();
    aws_sdk_ecr::Client::from_conf(config)
}

/// The static credentials every client of the test moto signs with.
pub fn test_credentials() -> Credentials {
    Credentials::new(
        ACCESS_KEY_ID,
        SECRET_ACCESS_KEY,
        None,
        None,
        "ecr-fanout-test",
    )
}

async fn start_on(binary: &PathBuf, dir: &TempDir, port: u16) -> Result<ChildProcess> {
    let mut cmd = Command::new(binary);
    cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .env_remove("MOTO_ACCOUNT_ID")
        .env("PYTHONUNBUFFERED", "1")
        .env_remove("AWS_PROFILE")
        .env_remove("TEST_SERVER_MODE");
    let log_path = dir.path().join(format!("moto-{port}.log"));
    let mut process = ChildProcess::spawn("moto_server", cmd, &log_path)?;
    let client = probe_client();
    let url = format!("http://127.0.0.1:{port}/moto-api/data.json");
    // werkzeug prints "Running on http://127.0.0.1:PORT" once it holds the port; requiring
    // it makes sure the answer comes from this process.
    let running = format!("Running on http://127.0.0.1:{port}");
    wait_ready(&mut process, READY_TIMEOUT, || {
        let client = client.clone();
        let url = url.clone();
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        let running = running.clone();
        async move {
            if log.contains("Address already in use") || log.contains("address already in use") {
                return Probe::Failed("address already in use".into());
            }
            if !log.contains(&running) {
                return Probe::NotYet(format!("log does not say {running:?} yet"));
            }
            match client
                .get(&url)
                .timeout(Duration::from_secs(5))
                .send()
                .await
            {
                Ok(resp) if resp.status().is_success() => Probe::Ready,
                Ok(resp) => Probe::NotYet(format!(
                    "GET /moto-api/data.json answered {}",
                    resp.status()
                )),
                Err(e) => Probe::NotYet(format!("GET /moto-api/data.json: {e}")),
            }
        }
    })
    .await?;
    Ok(process)
}
