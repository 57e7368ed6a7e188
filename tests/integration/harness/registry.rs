//! One Debian `docker-registry` (CNCF distribution 2.8) on a free loopback port: filesystem
//! storage in a TempDir, deletes enabled, htpasswd Basic auth for user `AWS`. Owns writing
//! its config and htpasswd file, starting it (retrying on a lost port race), waiting until
//! `GET /v2/` answers 401, and killing it on drop.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};
use tempfile::TempDir;

use super::support::{
    ChildProcess, PORT_RETRIES, Probe, free_port, is_addr_in_use, probe_client, wait_ready,
};

/// The Basic-auth user name ECR uses.
pub const USER: &str = "AWS";
/// The htpasswd realm announced in `WWW-Authenticate`.
pub const REALM: &str = "ecr-test";
/// How long a registry may take to answer its first `GET /v2/`.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// The binary started; `ECR_FANOUT_TEST_REGISTRY` overrides it.
fn registry_binary() -> String {
    std::env::var("ECR_FANOUT_TEST_REGISTRY").unwrap_or_else(|_| "docker-registry".to_string())
}

/// A running registry. Dropping it kills the process and deletes its storage.
pub struct Registry {
    port: u16,
    password: String,
    process: ChildProcess,
    // Dropped after `process` (fields drop in declaration order).
    dir: TempDir,
}

impl Registry {
    /// Start a registry accepting `AWS:<password>`.
    pub async fn start(password: &str) -> Result<Registry> {
        let dir = tempfile::Builder::new()
            .prefix("ecr-test-registry-")
            .tempdir()?;
        write_htpasswd(&dir.path().join("htpasswd"), password)?;
        let mut last_err = None;
        for _ in 0..PORT_RETRIES {
            let port = free_port()?;
            match start_on(dir.path(), port).await {
                Ok(process) => {
                    return Ok(Registry {
                        port,
                        password: password.to_string(),
                        process,
                        dir,
                    });
                }
                Err(e) if is_addr_in_use(&e) => last_err = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_err.unwrap()).context("docker-registry: every port tried was taken")
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `127.0.0.1:PORT`, as used in image references.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn password(&self) -> &str {
        &self.password
    }

    /// The registry's own log so far.
    pub fn log(&self) -> String {
        self.process.log()
    }

    /// Where storage, config and log live.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// htpasswd line for `AWS:<password>`, bcrypt cost 4 with the `$2y$` prefix distribution's
/// documentation uses (Go's bcrypt accepts any minor version letter).
fn write_htpasswd(path: &Path, password: &str) -> Result<()> {
    let hash = bcrypt::hash_with_result(password, 4)?.format_for_version(bcrypt::Version::TwoY);
    std::fs::write(path, format!("{USER}:{hash}\n"))?;
    Ok(())
}

fn config_yaml(dir: &Path, port: u16) -> String {
    let storage = dir.join("storage");
    let htpasswd = dir.join("htpasswd");
    format!(
        r#"version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:{port}
  secret: ecr-fanout-test-secret
auth:
  htpasswd:
    realm: {REALM}
    path: {htpasswd}
"#,
        storage = storage.display(),
        htpasswd = htpasswd.display(),
    )
}

async fn start_on(dir: &Path, port: u16) -> Result<ChildProcess> {
    let config = dir.join("config.yml");
    std::fs::write(&config, config_yaml(dir, port))?;
    let mut cmd = Command::new(registry_binary());
    cmd.arg("serve")
        .arg(&config)
        .env_remove("REGISTRY_HTTP_ADDR");
    // Keep OTEL/proxy-style variables of the host from reaching it.
    for (key, _) in std::env::vars() {
        if key.starts_with("REGISTRY_") {
            cmd.env_remove(key);
        }
    }
    let mut process = ChildProcess::spawn(
        "docker-registry",
        cmd,
        &dir.join(format!("registry-{port}.log")),
    )
    .context("is Debian's docker-registry installed? run scripts/test")?;
    let client = probe_client();
    let url = format!("http://127.0.0.1:{port}/v2/");
    let log_path = process.log_path().to_path_buf();
    // distribution logs "listening on ADDR" once it holds the port, and exits with
    // "bind: address already in use" otherwise; checking the log first makes sure the 401 we
    // see comes from this process and not from another server that won the port.
    let listening = format!("listening on 127.0.0.1:{port}");
    wait_ready(&mut process, READY_TIMEOUT, || {
        let client = client.clone();
        let url = url.clone();
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        let listening = listening.clone();
        async move {
            if log.contains("address already in use") {
                return Probe::Failed("address already in use".into());
            }
            if !log.contains(&listening) {
                return Probe::NotYet(format!("log does not say {listening:?} yet"));
            }
            match client
                .get(&url)
                .timeout(Duration::from_secs(2))
                .send()
                .await
            {
                Ok(resp) if resp.status() == 401 => Probe::Ready,
                Ok(resp) => Probe::NotYet(format!("GET /v2/ answered {}", resp.status())),
                Err(e) => Probe::NotYet(format!("GET /v2/: {e}")),
            }
        }
    })
    .await?;
    Ok(process)
}
