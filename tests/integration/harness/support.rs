//! Shared plumbing for the harness: finding a free loopback port, bounded readiness polling,
//! and `ChildProcess`, a spawned server whose output goes to a log file and which is killed
//! on drop (its log tail is printed when the dropping thread is panicking, i.e. a test failed).

use std::fs::File;
use std::future::Future;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// How many times a server start is retried when its port was taken between our probe and
/// its bind (the probe socket is closed before the server binds, so a race is possible).
pub const PORT_RETRIES: usize = 5;

/// A port that was free on 127.0.0.1 a moment ago.
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// A spawned server process with its stdout and stderr captured in `log_path`.
pub struct ChildProcess {
    name: String,
    child: Child,
    log_path: PathBuf,
}

impl ChildProcess {
    /// Spawn `cmd` with stdin closed and stdout+stderr appended to `log_path`.
    pub fn spawn(name: &str, mut cmd: Command, log_path: &Path) -> Result<Self> {
        let log =
            File::create(log_path).with_context(|| format!("creating {}", log_path.display()))?;
        let log2 = log.try_clone()?;
        cmd.stdin(Stdio::null()).stdout(log).stderr(log2);
        let child = cmd
            .spawn()
            .with_context(|| format!("spawning {name}: {:?}", cmd.get_program()))?;
        Ok(Self {
            name: name.to_string(),
            child,
            log_path: log_path.to_path_buf(),
        })
    }

    /// `Some(description)` if the process has already exited.
    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(e) => Some(format!("unknown ({e})")),
        }
    }

    /// The whole captured log (stdout and stderr interleaved).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_else(|e| format!("<no log: {e}>"))
    }

    /// The last `lines` lines of the log.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = self.log();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "---- {} log (last 60 lines of {}) ----\n{}\n---- end of {} log ----",
                self.name,
                self.log_path.display(),
                self.log_tail(60),
                self.name
            );
        }
    }
}

/// Outcome of one readiness probe.
pub enum Probe {
    Ready,
    NotYet(String),
    /// Give up at once (e.g. the log says the port was taken).
    Failed(String),
}

/// Poll `probe` every 50 ms until it reports ready, fails, the process exits, or `timeout`
/// passes.
/// The error names the last probe result and carries the process log.
pub async fn wait_ready<F, Fut>(
    proc_: &mut ChildProcess,
    timeout: Duration,
    mut probe: F,
) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Probe>,
{
    let deadline = Instant::now() + timeout;
    let mut last = String::from("never probed");
    loop {
        if let Some(status) = proc_.exited() {
            bail!(
                "{} exited before becoming ready ({status}); last probe: {last}\n--- log ---\n{}",
                proc_.name,
                proc_.log_tail(60)
            );
        }
        match probe().await {
            Probe::Ready => return Ok(()),
            Probe::NotYet(why) => last = why,
            Probe::Failed(why) => {
                bail!(
                    "{} failed to start: {why}\n--- log ---\n{}",
                    proc_.name,
                    proc_.log_tail(60)
                )
            }
        }
        if Instant::now() >= deadline {
            bail!(
                "{} not ready after {timeout:?}; last probe: {last}\n--- log ---\n{}",
                proc_.name,
                proc_.log_tail(60)
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// True when a failed start looks like a lost race for the port.
pub fn is_addr_in_use(err: &anyhow::Error) -> bool {
    let text = format!("{err:#}").to_ascii_lowercase();
    text.contains("address already in use") || text.contains("address in use")
}

/// A reqwest client for probes and checks: no proxy, no redirects, short timeouts.
pub fn probe_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(30))
        .build()
        .expect("building reqwest client")
}
