//! A private Debian dockerd for the `docker push` rows: no iptables, no bridge, the vfs
//! storage driver, its own unix socket, data root and exec root in a temporary directory, a
//! private `DOCKER_CONFIG` for logins. Registries on 127.0.0.0/8 are insecure-allowed by
//! default. Its peak RSS can be reset and read (`/proc/PID/clear_refs`, `VmHWM`), because
//! `docker push` does its work in the daemon, not in the CLI. Stopped with SIGTERM on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tempfile::TempDir;

use super::timed::tail;

const READY_LIMIT: Duration = Duration::from_secs(60);
const STOP_LIMIT: Duration = Duration::from_secs(20);

pub struct Dockerd {
    child: Child,
    cli: PathBuf,
    dir: TempDir,
}

impl Dockerd {
    pub async fn start() -> Result<Dockerd> {
        let daemon = first_existing(&["/usr/sbin/dockerd", "/usr/bin/dockerd"])
            .context("dockerd not found (Debian: apt-get install docker.io)")?;
        // Debian's CLI matches Debian's daemon; another `docker` on PATH may be much newer.
        let cli = first_existing(&["/usr/bin/docker"]).unwrap_or_else(|| PathBuf::from("docker"));
        let dir = tempfile::Builder::new()
            .prefix("ecr-bench-dockerd-")
            .tempdir()?;
        let root = dir.path();
        let log = std::fs::File::create(root.join("dockerd.log"))?;
        let child = Command::new(&daemon)
            .args(["--iptables=false", "--ip6tables=false", "--bridge=none"])
            .args(["--storage-driver=vfs", "-H"])
            .arg(format!("unix://{}", root.join("docker.sock").display()))
            .arg("--data-root")
            .arg(root.join("data"))
            .arg("--exec-root")
            .arg(root.join("exec"))
            .arg("--pidfile")
            .arg(root.join("docker.pid"))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", daemon.display()))?;
        std::fs::create_dir_all(root.join("config"))?;
        let mut dockerd = Dockerd { child, cli, dir };
        dockerd.wait_ready().await?;
        Ok(dockerd)
    }

    /// `docker` talking to this daemon, with its own config directory.
    pub fn docker(&self) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(&self.cli);
        command
            .env("DOCKER_HOST", self.host())
            .env("DOCKER_CONFIG", self.dir.path().join("config"))
            .stdin(Stdio::null());
        command
    }

    pub fn cli(&self) -> &Path {
        &self.cli
    }

    pub fn host(&self) -> String {
        format!("unix://{}", self.dir.path().join("docker.sock").display())
    }

    pub fn config_dir(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    /// Runs `docker ARGS` (stdin `input`), failing with its stderr.
    pub async fn run(&self, args: &[&str], input: Option<&str>) -> Result<String> {
        use tokio::io::AsyncWriteExt;
        let mut command = self.docker();
        command
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if input.is_some() {
            command.stdin(Stdio::piped());
        }
        let mut child = command.spawn().context("starting docker")?;
        if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
            stdin.write_all(input.as_bytes()).await?;
        }
        let output = child.wait_with_output().await?;
        if !output.status.success() {
            bail!(
                "docker {}: {}",
                args.first().unwrap_or(&""),
                tail(&String::from_utf8_lossy(&output.stderr), 5)
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Resets the daemon's peak RSS to its current RSS (`clear_refs` value 5).
    pub fn reset_peak_rss(&self) -> Result<()> {
        let path = format!("/proc/{}/clear_refs", self.child.id());
        std::fs::write(&path, "5").with_context(|| format!("writing {path}"))
    }

    /// The daemon's peak RSS since start or the last reset (`VmHWM`), KiB.
    pub fn peak_rss_kib(&self) -> Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .context("no VmHWM in dockerd's /proc status")
    }

    async fn wait_ready(&mut self) -> Result<()> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("dockerd exited ({status}): {}", self.log_tail());
            }
            let probe = self.run(&["version", "--format", "{{.Server.Version}}"], None);
            if probe.await.is_ok() {
                return Ok(());
            }
            if started.elapsed() > READY_LIMIT {
                bail!(
                    "dockerd not ready after {READY_LIMIT:?}: {}",
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("dockerd.log")).unwrap_or_default();
        tail(&log, 3).replace('\n', " / ")
    }
}

impl Drop for Dockerd {
    /// SIGTERM, so dockerd also stops the containerd it started; SIGKILL after a while.
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + STOP_LIMIT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn first_existing(paths: &[&str]) -> Option<PathBuf> {
    paths.iter().map(PathBuf::from).find(|path| path.is_file())
}
