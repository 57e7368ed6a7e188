//! `TestEnv`: one moto plus N simulated ECR regions, each a docker-registry behind an
//! `EcrProxy`, all on loopback with free ports. Owns starting them together, the environment
//! the `ecr-fanout` binary runs with, and per-region accessors. Each test builds its own.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use tempfile::TempDir;

use super::ecr_proxy::{EcrProxy, ProxyControl};
use super::moto::{self, Moto};
use super::proxy_tag_rules::ControlPlane;
use super::registry::Registry;

/// The only host variables the binary (and the scripts the tests run) may see: where programs
/// are, whose home, the locale and the temporary directory. Everything else — CI, GitHub,
/// GitLab, AWS, Docker, `SOURCE_DATE_EPOCH`, `RUST_LOG`, proxies — is removed, so a test
/// behaves the same on a laptop and inside a GitHub job; each test sets what it needs.
pub const ALLOWED_HOST_VARS: &[&str] = &[
    "PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ",
];

/// One simulated region: a registry and the ECR proxy in front of it.
pub struct Region {
    /// The harness's name for it: the AWS region, or a destination id when one AWS region is
    /// simulated twice (two accounts' registries).
    name: String,
    /// The AWS region whose ECR token its registry accepts.
    aws_region: String,
    // The proxy goes first so it stops before its upstream does.
    proxy: EcrProxy,
    registry: Registry,
}

impl Region {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the binary must use: `http://127.0.0.1:PORT` of the proxy.
    pub fn proxy_url(&self) -> String {
        self.proxy.url()
    }

    /// `127.0.0.1:PORT` of the proxy.
    pub fn proxy_host(&self) -> String {
        self.proxy.host()
    }

    /// The registry itself, bypassing the proxy (for independent checks).
    pub fn direct_url(&self) -> String {
        self.registry.url()
    }

    /// `127.0.0.1:PORT` of the registry.
    pub fn direct_host(&self) -> String {
        self.registry.host()
    }

    pub fn control(&self) -> &ProxyControl {
        self.proxy.control()
    }

    /// The current ECR password (`AWS:<password>`), as moto's token for this region carries.
    pub fn password(&self) -> &str {
        self.registry.password()
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn proxy(&self) -> &EcrProxy {
        &self.proxy
    }
}

/// moto + regions. Dropping it stops everything.
pub struct TestEnv {
    regions: Vec<Region>,
    moto: Moto,
    dir: TempDir,
}

impl TestEnv {
    /// Start moto and one region per name. Panics with the failing server's log on error.
    pub async fn start(regions: &[&str]) -> TestEnv {
        let named: Vec<(&str, &str)> = regions.iter().map(|r| (*r, *r)).collect();
        Self::start_named(&named).await
    }

    /// Start moto and one registry per `(name, AWS region)`: several names may share one AWS
    /// region (destinations of two accounts there).
    pub async fn start_named(regions: &[(&str, &str)]) -> TestEnv {
        match Self::try_start(regions).await {
            Ok(env) => env,
            Err(e) => panic!("TestEnv::start({regions:?}) failed: {e:#}"),
        }
    }

    pub async fn try_start(regions: &[(&str, &str)]) -> Result<TestEnv> {
        let dir = tempfile::Builder::new().prefix("ecr-test-env-").tempdir()?;
        let moto = Moto::start();
        let starts = regions.iter().map(|(name, aws_region)| async move {
            let password = moto::moto_password(aws_region);
            let registry = Registry::start(&password)
                .await
                .with_context(|| format!("registry for {name}"))?;
            let proxy = EcrProxy::start(&registry.url())
                .await
                .with_context(|| format!("proxy for {name}"))?;
            anyhow::Ok(Region {
                name: name.to_string(),
                aws_region: aws_region.to_string(),
                proxy,
                registry,
            })
        });
        let (moto, regions) = tokio::join!(moto, futures::future::join_all(starts));
        let moto = moto?;
        let regions = regions.into_iter().collect::<Result<Vec<_>>>()?;
        for region in &regions {
            region
                .control()
                .set_registry_storage(region.registry.dir().join("storage/docker/registry/v2"));
            region.control().set_control_plane(ControlPlane {
                endpoint: moto.direct_url(),
                region: region.aws_region.clone(),
            });
        }
        Ok(TestEnv { regions, moto, dir })
    }

    pub fn region(&self, name: &str) -> &Region {
        self.regions
            .iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("TestEnv has no region {name:?}"))
    }

    pub fn regions(&self) -> &[Region] {
        &self.regions
    }

    pub fn moto(&self) -> &Moto {
        &self.moto
    }

    pub fn moto_url(&self) -> String {
        self.moto.url()
    }

    /// A scratch directory that lives as long as the env (outputs, config files, ...).
    pub fn work_dir(&self) -> &Path {
        self.dir.path()
    }

    /// `us-east-1=http://127.0.0.1:P1,eu-west-1=http://127.0.0.1:P2` — the proxies.
    pub fn registry_endpoints_arg(&self) -> String {
        self.regions
            .iter()
            .map(|r| format!("{}={}", r.name, r.proxy_url()))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Variables the binary runs with: moto as the ECR endpoint, static test credentials,
    /// no IMDS, and AWS config/credentials files that do not exist.
    pub fn env_vars(&self) -> Vec<(String, String)> {
        binary_env_vars(&self.moto.url(), self.dir.path())
    }

    /// Names of the host's variables that must not reach the binary: all but
    /// [`ALLOWED_HOST_VARS`].
    pub fn vars_to_remove() -> Vec<String> {
        let mut names: Vec<String> = std::env::vars_os()
            .filter_map(|(k, _)| k.into_string().ok())
            .filter(|k| !ALLOWED_HOST_VARS.contains(&k.as_str()))
            .collect();
        names.sort();
        names
    }

    /// Create an ECR repository in moto.
    pub async fn create_repository(&self, region: &str, name: &str) {
        self.moto
            .create_repository(region, name)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"))
    }

    /// Repository names moto has in `region`, sorted.
    pub async fn list_repositories(&self, region: &str) -> Vec<String> {
        self.moto
            .list_repositories(region)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"))
    }

    /// Path of a file in the work dir (not created).
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// The variables ecr-fanout runs with in tests and benchmarks: `ecr_endpoint` (moto) as the
/// ECR, STS and DynamoDB endpoint, static test credentials, no IMDS, and AWS config/credentials files (under
/// `scratch`) that do not exist.
pub fn binary_env_vars(ecr_endpoint: &str, scratch: &Path) -> Vec<(String, String)> {
    let missing = |name: &str| scratch.join(name).display().to_string();
    vec![
        ("AWS_ENDPOINT_URL_ECR".into(), ecr_endpoint.to_string()),
        ("AWS_ENDPOINT_URL_STS".into(), ecr_endpoint.to_string()),
        ("AWS_ENDPOINT_URL_DYNAMODB".into(), ecr_endpoint.to_string()),
        ("AWS_ACCESS_KEY_ID".into(), moto::ACCESS_KEY_ID.into()),
        (
            "AWS_SECRET_ACCESS_KEY".into(),
            moto::SECRET_ACCESS_KEY.into(),
        ),
        ("AWS_REGION".into(), "us-east-1".into()),
        ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
        ("AWS_CONFIG_FILE".into(), missing("no-aws-config")),
        (
            "AWS_SHARED_CREDENTIALS_FILE".into(),
            missing("no-aws-credentials"),
        ),
    ]
}
