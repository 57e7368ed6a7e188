//! `RegionSession`: everything one region needs for a run (ECR client, login, registry host
//! for URIs, transport URL, registry client), set up during the plan.

use anyhow::Context;
use aws_config::SdkConfig;

use super::image_uri::UriNaming;
use crate::config::{Config, EndpointStyle, Target};

use crate::ecr::{EcrRegion, RegistryLogin, registry_host, registry_host_for_account};
use crate::observer::SharedObserver;
use crate::registry::{ClientOptions, RegistryClient};
use crate::report::RegionReport;

/// A region's connection state.
pub struct RegionSession {
    pub target: Target,
    pub ecr: EcrRegion,
    pub login: Option<RegistryLogin>,
    /// The host written into image URIs (`ACCOUNT.dkr.ecr.REGION.amazonaws.com`).
    pub uri_host: String,
    /// Where requests go: the `registry-endpoints` override or `https://` + `uri_host`.
    pub base_url: String,
    pub client: Option<RegistryClient>,
    /// How image URIs are spelled (`image-uri-format`).
    pub naming: UriNaming,
}

/// Placeholder account in URIs when neither `registry-id` nor ECR told us the account.
pub const UNKNOWN_ACCOUNT: &str = "ACCOUNT";

impl RegionSession {
    /// A session before login: URIs from `registry-id` when given. `observer` is told of the
    /// secrets of every login.
    pub async fn new(
        config: &Config,
        target: &Target,
        aws: &SdkConfig,
        observer: SharedObserver,
    ) -> Self {
        let naming = UriNaming::new(config.handoff.uri_format, &config.tags);
        Self::for_target(target, (config.endpoint_style, naming), aws, observer).await
    }

    /// A session before login, for callers without a push `Config` (`verify`).
    pub async fn for_target(
        target: &Target,
        (endpoint_style, naming): (EndpointStyle, UriNaming),
        aws: &SdkConfig,
        observer: SharedObserver,
    ) -> Self {
        let account = target.registry_id.as_deref().unwrap_or(UNKNOWN_ACCOUNT);
        let uri_host = registry_host_for_account(account, &target.region, endpoint_style);
        let mut session = Self {
            target: target.clone(),
            ecr: EcrRegion::for_destination(
                aws,
                (&target.region, target.registry_id.clone()),
                target.role.as_ref(),
                observer,
            )
            .await
            .naming(target.place()),
            login: None,
            base_url: String::new(),
            uri_host,
            client: None,
            naming,
        };
        session.base_url = session.transport_url();
        session
    }

    /// Logs in to ECR; the reported host replaces the placeholder unless `registry-id` is set.
    /// Host names are spelled in `endpoint_style`.
    pub async fn log_in(&mut self, endpoint_style: EndpointStyle) -> anyhow::Result<()> {
        let login = self.ecr.login().await?;
        if self.target.registry_id.is_none() && !login.proxy_host.is_empty() {
            self.uri_host = registry_host(&login.proxy_host, &self.target.region, endpoint_style);
        }
        self.base_url = self.transport_url();
        self.login = Some(login);
        Ok(())
    }

    /// Opens the registry client (after login; the repository must exist). On ECR's "token
    /// has expired" the client calls `GetAuthorizationToken` again through `ecr`.
    pub fn connect_registry(&mut self, options: &ClientOptions) -> anyhow::Result<&RegistryClient> {
        let login = self
            .login
            .as_ref()
            .context("internal: registry connection before login")?;
        let client = RegistryClient::connect(
            &self.base_url,
            &self.target.repository,
            login.credentials(),
            Some(self.ecr.refresher()),
            options,
        )
        .with_context(|| format!("{}: set up registry {}", self.describe(), self.base_url))?;
        Ok(self.client.insert(client))
    }

    pub fn registry(&self) -> anyhow::Result<&RegistryClient> {
        self.client
            .as_ref()
            .with_context(|| format!("internal: {} has no registry connection", self.describe()))
    }

    /// `region us-east-1, repository team/web` (with the destination's id and account when the
    /// region holds several), for error lines.
    pub fn describe(&self) -> String {
        self.target.describe()
    }

    /// The account of the destination's registry: `registry-id` (or the role's), else the one
    /// its login reported; `None` before a login.
    pub fn account(&self) -> Option<String> {
        self.target.registry_id.clone().or_else(|| {
            let account = self.uri_host.split('.').next()?;
            (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()))
                .then(|| account.to_string())
        })
    }

    /// The region's report before anything happened: its URI naming `digest`, every tag
    /// unread, all counts zero.
    pub fn blank_report(&self, digest: &str, tags: &[String]) -> RegionReport {
        let target = &self.target;
        let mut report = RegionReport::blank(
            (&target.id, &target.region, &target.repository),
            (self.uri_host.clone(), self.image_uri(digest)),
            tags,
        );
        report.registry_id = self.account();
        report
    }

    /// `HOST/REPOSITORY@DIGEST`.
    pub fn pinned_uri(&self, digest: &str) -> String {
        format!("{}/{}@{digest}", self.uri_host, self.target.repository)
    }

    /// The image's URI as outputs give it, in the `image-uri-format` of the run.
    pub fn image_uri(&self, digest: &str) -> String {
        let repository_uri = format!("{}/{}", self.uri_host, self.target.repository);
        self.naming.uri(&repository_uri, digest)
    }

    fn transport_url(&self) -> String {
        self.target
            .endpoint_override
            .clone()
            .unwrap_or_else(|| format!("https://{}", self.uri_host))
    }
}
