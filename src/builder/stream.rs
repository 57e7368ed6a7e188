//! Running builder subprocesses. [`ToolCommand`] is a command line as data (so tests can check
//! exactly what would run); [`run_streaming`] runs one with its stdout and stderr copied live,
//! line by line, to our stderr (stdout stays for data) and keeps the last lines for the error
//! when it fails (known secrets masked in both); [`run_captured`] runs a short probe (`docker version`, `git rev-parse`) with
//! a time bound and returns what it printed. Each runs in a process group of its own, stopped
//! whole when the run is cancelled.

use std::collections::VecDeque;
use std::fmt;
use std::io::Write as _;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use tokio::io::{AsyncBufReadExt as _, AsyncRead, BufReader};

use super::process_group::{GroupGuard, own_group};

/// How many of a failed builder's last output lines the error carries.
pub const ERROR_TAIL_LINES: usize = 25;
/// How long a probe may take before it counts as failed.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

/// A program, its arguments and extra environment variables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolCommand {
    pub program: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

impl ToolCommand {
    pub fn new(program: &str) -> Self {
        Self {
            program: program.to_owned(),
            args: Vec::new(),
            env: Vec::new(),
        }
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    fn to_tokio(&self) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(&self.program);
        command
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .kill_on_drop(true);
        own_group(&mut command);
        command
    }
}

/// The command line for logs; build-arg values are left out (they may carry tokens).
impl fmt::Display for ToolCommand {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (key, value) in &self.env {
            write!(formatter, "{key}={value} ")?;
        }
        write!(formatter, "{}", self.program)?;
        let mut after_build_arg = false;
        for arg in &self.args {
            match arg.split_once('=') {
                Some((key, _)) if after_build_arg => write!(formatter, " {key}=…")?,
                _ => write!(formatter, " {arg}")?,
            }
            after_build_arg = arg == "--build-arg";
        }
        Ok(())
    }
}

/// A builder that ran and exited with an error (exit code 1). The first line of the message
/// ends with the tool's last error line (its last line on stderr, else its last line); the
/// last lines of its output follow.
#[derive(Debug, thiserror::Error)]
#[error("{what} failed ({status}): {cause}\n--- its last output lines ---\n{tail}")]
pub struct ToolFailed {
    pub what: String,
    pub status: String,
    pub cause: String,
    pub tail: String,
}

/// The last lines of both streams, in arrival order, and the last line of stderr alone.
#[derive(Default)]
struct OutputTail {
    lines: VecDeque<String>,
    last_error_line: Option<String>,
}

/// Runs `command`, copying its output to stderr as it comes; fails with the last lines.
pub async fn run_streaming(command: &ToolCommand, what: &str) -> anyhow::Result<()> {
    tracing::info!("running {command}");
    let mut child = command
        .to_tokio()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run `{}` for {what}", command.program))?;
    // Dropped unfinished (the build was cancelled), this stops the builder's whole group.
    let group = GroupGuard::new(child.id());
    let tail = Arc::new(Mutex::new(OutputTail::default()));
    let stdout = child.stdout.take().context("internal: no stdout pipe")?;
    let stderr = child.stderr.take().context("internal: no stderr pipe")?;
    let (status, (), ()) = tokio::join!(
        child.wait(),
        copy_lines(stdout, tail.clone(), false),
        copy_lines(stderr, tail.clone(), true)
    );
    group.exited();
    let status = status.with_context(|| format!("waiting for `{}`", command.program))?;
    if status.success() {
        return Ok(());
    }
    let tail = tail
        .lock()
        .map(|mut t| std::mem::take(&mut *t))
        .unwrap_or_default();
    let lines = Vec::from(tail.lines);
    let cause = tail
        .last_error_line
        .or_else(|| lines.iter().rev().find(|l| !l.trim().is_empty()).cloned())
        .unwrap_or_else(|| "no output".to_owned());
    Err(ToolFailed {
        what: what.to_owned(),
        status: status.to_string(),
        cause: cause.trim().to_owned(),
        tail: lines.join("\n"),
    }
    .into())
}

/// Copies each line of `stream` to stderr, known secrets masked, and remembers the last
/// [`ERROR_TAIL_LINES`].
async fn copy_lines(stream: impl AsyncRead + Unpin, tail: Arc<Mutex<OutputTail>>, is_stderr: bool) {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line);
        // A builder never prints a registry password it was given; masked all the same.
        let text = crate::secret::redact(text.trim_end_matches(['\n', '\r']));
        let text = text.as_ref();
        {
            let mut stderr = std::io::stderr().lock();
            let _ = writeln!(stderr, "{text}").and_then(|()| stderr.flush());
        }
        if let Ok(mut tail) = tail.lock() {
            if tail.lines.len() == ERROR_TAIL_LINES {
                tail.lines.pop_front();
            }
            tail.lines.push_back(text.to_owned());
            if is_stderr && !text.trim().is_empty() {
                tail.last_error_line = Some(text.to_owned());
            }
        }
    }
}

/// What a probe printed, or why it did not succeed (not found, non-zero exit with the first
/// line of its error output, timeout).
pub async fn run_captured(command: &ToolCommand) -> Result<String, String> {
    let output = command
        .to_tokio()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output();
    match tokio::time::timeout(PROBE_TIMEOUT, output).await {
        Err(_) => Err(format!(
            "`{command}` did not answer within {PROBE_TIMEOUT:?}"
        )),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(format!("`{}` is not on PATH", command.program))
        }
        Ok(Err(e)) => Err(format!("cannot run `{command}`: {e}")),
        Ok(Ok(out)) if out.status.success() => Ok(String::from_utf8_lossy(&out.stdout).into()),
        Ok(Ok(out)) => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let first = stderr.lines().find(|l| !l.trim().is_empty());
            Err(format!(
                "`{command}` failed ({}): {}",
                out.status,
                first.unwrap_or("no error output").trim()
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_arg_values_stay_out_of_the_log_line() {
        let command = ToolCommand::new("docker")
            .env("DOCKER_BUILDKIT", "0")
            .args([
                "build",
                "--build-arg",
                "TOKEN=s3cret",
                "--label",
                "a=b",
                ".",
            ]);
        assert_eq!(
            command.to_string(),
            "DOCKER_BUILDKIT=0 docker build --build-arg TOKEN=… --label a=b ."
        );
    }

    #[tokio::test]
    async fn a_failing_tool_reports_its_last_lines() {
        // One stream, so that the order of the lines is fixed.
        let script = "exec >&2; for i in $(seq 1 40); do echo line $i; done; echo oops; exit 3";
        let command = ToolCommand::new("sh").args(["-c", script]);
        let error = run_streaming(&command, "the test build").await.unwrap_err();
        let failed = error.downcast_ref::<ToolFailed>().unwrap();
        assert_eq!(failed.what, "the test build");
        assert!(failed.status.contains('3'), "{}", failed.status);
        let lines: Vec<&str> = failed.tail.lines().collect();
        assert_eq!(lines.len(), ERROR_TAIL_LINES);
        assert_eq!(lines.last(), Some(&"oops"));
        assert!(lines.contains(&"line 40") && !lines.contains(&"line 1"));
        let message = error.to_string();
        let first_line = message.lines().next().unwrap();
        assert_eq!(first_line, "the test build failed (exit status: 3): oops");
    }

    #[tokio::test]
    async fn the_cause_is_the_last_error_line_even_before_later_output() {
        let script = "echo 'Error: COPY failed' >&2; echo cleaning up; exit 1";
        let command = ToolCommand::new("sh").args(["-c", script]);
        let error = run_streaming(&command, "a build").await.unwrap_err();
        let message = error.to_string();
        assert!(
            message.starts_with("a build failed (exit status: 1): Error: COPY failed\n"),
            "{message}"
        );
        assert!(message.contains("\ncleaning up"), "{message}");
    }

    #[tokio::test]
    async fn a_known_secret_the_tool_prints_is_masked() {
        let _known = crate::secret::Secret::new("stream-unit-secret-8812");
        let script = "echo 'login stream-unit-secret-8812 refused' >&2; exit 1";
        let command = ToolCommand::new("sh").args(["-c", script]);
        let message = run_streaming(&command, "a build")
            .await
            .unwrap_err()
            .to_string();
        assert!(message.contains("login *** refused"), "{message}");
        assert!(!message.contains("stream-unit-secret-8812"), "{message}");
    }

    #[tokio::test]
    async fn a_succeeding_tool_is_ok() {
        let command = ToolCommand::new("sh").args(["-c", "echo built"]);
        run_streaming(&command, "a build").await.unwrap();
    }

    #[tokio::test]
    async fn probes_say_why_they_failed() {
        let missing = ToolCommand::new("ecr-fanout-no-such-tool");
        assert_eq!(
            run_captured(&missing).await.unwrap_err(),
            "`ecr-fanout-no-such-tool` is not on PATH"
        );
        let script = "echo; echo cannot connect >&2; echo see --help >&2; exit 1";
        let failing = ToolCommand::new("sh").args(["-c", script]);
        let error = run_captured(&failing).await.unwrap_err();
        assert!(
            error.ends_with("(exit status: 1): cannot connect"),
            "{error}"
        );
        let fine = ToolCommand::new("sh").args(["-c", "echo 1.2.3"]);
        assert_eq!(run_captured(&fine).await.unwrap(), "1.2.3\n");
    }
}
