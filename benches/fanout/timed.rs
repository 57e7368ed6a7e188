//! Running one measured command under GNU `/usr/bin/time -v`: wall time measured around the
//! process, peak RSS parsed from time's "Maximum resident set size" (written to its own file
//! with `-o`, so the command's stderr stays apart), stdout kept, a bounded run time.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

pub const GNU_TIME: &str = "/usr/bin/time";
/// Where to keep every measured command's stderr, if set.
const LOGS_VAR: &str = "FANOUT_BENCH_LOGS";
/// No measured command may take longer than this (the 1 GiB docker push is the slowest).
const RUN_LIMIT: Duration = Duration::from_secs(30 * 60);

/// What one finished command took.
#[derive(Debug, Clone)]
pub struct Timed {
    pub wall: Duration,
    pub peak_rss_kib: u64,
    pub stdout: String,
}

/// A command wrapped in `/usr/bin/time -v -o REPORT`.
pub struct TimedCommand {
    label: String,
    report: PathBuf,
    command: tokio::process::Command,
}

impl TimedCommand {
    /// `scratch` receives time's report; `label` names the command in errors.
    pub fn new(label: &str, program: impl AsRef<OsStr>, scratch: &Path) -> TimedCommand {
        let report = scratch.join(format!("time-{}.txt", sanitize(label)));
        let mut command = tokio::process::Command::new(GNU_TIME);
        command.arg("-v").arg("-o").arg(&report).arg(program);
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group, so a run over the limit is killed whole.
            .process_group(0);
        for key in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"] {
            command.env_remove(key).env_remove(key.to_ascii_lowercase());
        }
        TimedCommand {
            label: label.to_owned(),
            report,
            command,
        }
    }

    pub fn command(&mut self) -> &mut tokio::process::Command {
        &mut self.command
    }

    /// Runs to the end; a non-zero exit is an error carrying the end of its stderr.
    pub async fn run(mut self) -> Result<Timed> {
        let started = Instant::now();
        let child = self
            .command
            .spawn()
            .with_context(|| format!("{}: cannot start {GNU_TIME}", self.label))?;
        let group = child.id();
        let output = match tokio::time::timeout(RUN_LIMIT, child.wait_with_output()).await {
            Ok(output) => output.with_context(|| format!("{}: waiting", self.label))?,
            Err(_) => {
                if let Some(group) = group {
                    kill_group(group).await;
                }
                bail!("{}: still running after {RUN_LIMIT:?}, killed", self.label);
            }
        };
        let wall = started.elapsed();
        if !output.status.success() {
            keep_log(&self.label, &output.stderr, "");
            let stderr = String::from_utf8_lossy(&output.stderr);
            bail!(
                "{} failed ({}): {}",
                self.label,
                output.status,
                tail(&stderr, 12)
            );
        }
        let report = std::fs::read_to_string(&self.report)
            .with_context(|| format!("{}: reading {}", self.label, self.report.display()))?;
        keep_log(&self.label, &output.stderr, &report);
        Ok(Timed {
            wall,
            peak_rss_kib: parse_peak_rss_kib(&report)
                .with_context(|| format!("{}: no peak RSS in {report}", self.label))?,
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        })
    }
}

/// With `FANOUT_BENCH_LOGS=DIR`, every measured command's stderr and GNU time's report are
/// appended to `DIR/<label>.log` (for timestamps of ecr-fanout's phases, run with
/// `RUST_LOG=ecr_fanout=debug`).
fn keep_log(label: &str, stderr: &[u8], time_report: &str) {
    let Some(dir) = std::env::var_os(LOGS_VAR) else {
        return;
    };
    let path = Path::new(&dir).join(format!("{}.log", sanitize(label)));
    let written = std::fs::create_dir_all(&dir).and_then(|()| {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        writeln!(file, "----- run")?;
        file.write_all(stderr)?;
        file.write_all(time_report.as_bytes())
    });
    if let Err(e) = written {
        eprintln!("{LOGS_VAR}: cannot write {}: {e}", path.display());
    }
}

/// GNU time's "Maximum resident set size (kbytes): N".
pub fn parse_peak_rss_kib(report: &str) -> Option<u64> {
    report
        .lines()
        .find_map(|line| {
            line.trim()
                .strip_prefix("Maximum resident set size (kbytes):")
        })
        .and_then(|value| value.trim().parse().ok())
}

/// Says how to install GNU time when it is missing.
pub fn check_gnu_time() -> Result<()> {
    if Path::new(GNU_TIME).is_file() {
        return Ok(());
    }
    bail!("{GNU_TIME} (GNU time, for peak RSS) is missing: apt-get install time")
}

async fn kill_group(group: u32) {
    if let Ok(group) = i32::try_from(group) {
        // SAFETY: kill(2) on the process group the bench started; no memory is touched.
        unsafe {
            libc::kill(-group, libc::SIGKILL);
        }
    }
}

fn sanitize(label: &str) -> String {
    label
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.trim_end().lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
