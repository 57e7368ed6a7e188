//! The `docker push` rows' daemon: the test harness's private Debian dockerd
//! (`harness/dockerd.rs`: vfs, no iptables or bridge, own socket, data and exec root; stopped
//! with SIGTERM on drop), plus what the bench needs on top: a private `DOCKER_CONFIG` for
//! logins, Debian's own CLI, and the daemon's peak RSS, which can be reset and read
//! (`/proc/PID/clear_refs`, `VmHWM`) because `docker push` does its work in the daemon.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{Context, Result, bail};

use super::timed::tail;
use crate::harness::dockerd::Dockerd as HarnessDockerd;

pub struct Dockerd {
    daemon: HarnessDockerd,
    cli: PathBuf,
    pid: u32,
}

impl Dockerd {
    /// Starts the daemon; the error says why it cannot run here (its log included).
    pub async fn start() -> Result<Dockerd> {
        let daemon = HarnessDockerd::start().await?;
        let pid_file = daemon.dir().join("docker.pid");
        let pid = std::fs::read_to_string(&pid_file)
            .with_context(|| format!("reading {}", pid_file.display()))?
            .trim()
            .parse()
            .with_context(|| format!("{} holds no pid", pid_file.display()))?;
        std::fs::create_dir_all(daemon.dir().join("config"))?;
        // Debian's CLI goes with Debian's daemon; another `docker` on PATH may be much newer.
        let debian_cli = Path::new("/usr/bin/docker");
        let cli = if debian_cli.is_file() {
            debian_cli.to_path_buf()
        } else {
            PathBuf::from("docker")
        };
        Ok(Dockerd { daemon, cli, pid })
    }

    pub fn cli(&self) -> &Path {
        &self.cli
    }

    /// `unix:///…/docker.sock`.
    pub fn host(&self) -> &str {
        self.daemon.host()
    }

    /// Where `docker login` keeps its credentials (not the user's `~/.docker`).
    pub fn config_dir(&self) -> PathBuf {
        self.daemon.dir().join("config")
    }

    /// Runs `docker ARGS` against this daemon (stdin `input`), failing with its stderr.
    pub async fn run(&self, args: &[&str], input: Option<&str>) -> Result<String> {
        use tokio::io::AsyncWriteExt;
        let mut command = tokio::process::Command::new(&self.cli);
        command
            .env("DOCKER_HOST", self.host())
            .env("DOCKER_CONFIG", self.config_dir())
            .args(args)
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
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
        let path = format!("/proc/{}/clear_refs", self.pid);
        std::fs::write(&path, "5").with_context(|| format!("writing {path}"))
    }

    /// The daemon's peak RSS since start or the last reset (`VmHWM`), KiB.
    pub fn peak_rss_kib(&self) -> Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .context("no VmHWM in dockerd's /proc status")
    }
}
