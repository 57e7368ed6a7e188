//! A private Docker daemon for build tests: Debian's `dockerd` (package docker.io, installed by
//! `scripts/test`) with its own socket, data root and exec root in a temporary directory, the
//! vfs storage driver and no networking (`--iptables=false --ip6tables=false --bridge=none`),
//! so it needs no kernel feature beyond what a plain root sandbox has. Ready when
//! `docker -H … version` answers; stopped with SIGTERM (so its containerd stops too) on drop.
//! The binary under test reaches it through `DOCKER_HOST` ([`Dockerd::env_vars`]).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tempfile::TempDir;

use super::support::{ChildProcess, Probe, wait_ready};

/// How long dockerd may take to answer after it started.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long dockerd may take to stop after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// A running dockerd; dropping it stops it and removes its directories.
pub struct Dockerd {
    process: Option<ChildProcess>,
    host: String,
    // Last: removed after the daemon stopped.
    dir: TempDir,
}

impl Dockerd {
    /// Starts a daemon; the error carries its log (the exact reason it cannot run here).
    pub async fn start() -> Result<Dockerd> {
        let dir = tempfile::Builder::new().prefix("ecr-dockerd-").tempdir()?;
        let root = dir.path();
        let host = format!("unix://{}", root.join("docker.sock").display());
        let mut cmd = Command::new("dockerd");
        cmd.args([
            "--iptables=false",
            "--ip6tables=false",
            "--bridge=none",
            "--storage-driver=vfs",
        ])
        .args(["-H", &host])
        .arg(format!("--data-root={}", root.join("data").display()))
        .arg(format!("--exec-root={}", root.join("exec").display()))
        .arg(format!("--pidfile={}", root.join("docker.pid").display()))
        .env_remove("DOCKER_HOST");
        let mut process = ChildProcess::spawn("dockerd", cmd, &root.join("dockerd.log"))
            .context("starting dockerd (Debian package docker.io, installed by scripts/test)")?;
        let probe_host = host.clone();
        wait_ready(&mut process, START_TIMEOUT, || {
            let host = probe_host.clone();
            async move {
                match docker_at(&host, &["version", "--format", "{{.Server.Version}}"]).await {
                    Ok(_) => Probe::Ready,
                    Err(e) => Probe::NotYet(format!("{e:#}")),
                }
            }
        })
        .await?;
        Ok(Dockerd {
            process: Some(process),
            host,
            dir,
        })
    }

    /// Starts a daemon or panics with why it cannot run in this sandbox.
    pub async fn start_or_explain() -> Dockerd {
        match Self::start().await {
            Ok(dockerd) => dockerd,
            Err(e) => panic!(
                "the Docker daemon cannot run here, so the docker build tests cannot run: {e:#}"
            ),
        }
    }

    /// `unix:///…/docker.sock`.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// What the binary under test needs to use this daemon.
    pub fn env_vars(&self) -> Vec<(String, String)> {
        vec![("DOCKER_HOST".into(), self.host.clone())]
    }

    /// Runs the docker CLI against this daemon; stdout on success.
    pub async fn docker(&self, args: &[&str]) -> Result<String> {
        docker_at(&self.host, args).await
    }

    /// A scratch directory that lives as long as the daemon.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

async fn docker_at(host: &str, args: &[&str]) -> Result<String> {
    let out = tokio::process::Command::new("docker")
        .arg("-H")
        .arg(host)
        .args(args)
        .env("DOCKER_BUILDKIT", "0")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .context("running the docker CLI")?;
    if !out.status.success() {
        bail!(
            "docker {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        let Some(mut process) = self.process.take() else {
            return;
        };
        // SIGTERM lets dockerd stop the containerd it started; SIGKILL (ChildProcess's drop)
        // would leave that containerd running.
        let _ = Command::new("kill")
            .args(["-TERM", &process.pid().to_string()])
            .status();
        let deadline = Instant::now() + STOP_TIMEOUT;
        while process.exited().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
