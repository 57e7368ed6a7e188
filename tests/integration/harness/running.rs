//! `Running`: the binary started in the background, for tests that act while it runs: wait
//! until its stderr says something (readiness, never a sleep), send it a signal from the test
//! process itself (no `kill` binary needed), then collect its output like `run` does.

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::run::RunOutput;

/// A started run of the binary.
pub struct Running {
    child: tokio::process::Child,
    stderr: Arc<Mutex<String>>,
    stderr_grew: Arc<Notify>,
    stderr_task: JoinHandle<()>,
    stdout_task: JoinHandle<String>,
}

impl Running {
    /// Starts `cmd` (stdin closed; stdout and stderr captured).
    pub fn start(cmd: Command) -> Running {
        let mut child = tokio::process::Command::from(cmd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn ecr-fanout");
        let stderr = Arc::new(Mutex::new(String::new()));
        let stderr_grew = Arc::new(Notify::new());
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let (text, grew) = (stderr.clone(), stderr_grew.clone());
        let stderr_task = tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let mut text = text.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
                grew.notify_waiters();
            }
        });
        let mut stdout = child.stdout.take().expect("stdout");
        let stdout_task = tokio::spawn(async move {
            let mut text = String::new();
            let _ = stdout.read_to_string(&mut text).await;
            text
        });
        Running {
            child,
            stderr,
            stderr_grew,
            stderr_task,
            stdout_task,
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id().expect("still running") as i32
    }

    /// Waits until stderr contains `text`; panics after `within` with what it said so far.
    pub async fn wait_for_stderr(&self, text: &str, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let grew = self.stderr_grew.notified();
            tokio::pin!(grew);
            grew.as_mut().enable();
            if self.stderr.lock().unwrap().contains(text) {
                return;
            }
            if tokio::time::timeout_at(deadline, grew).await.is_err() {
                panic!(
                    "stderr did not say {text:?} within {within:?}:\n{}",
                    self.stderr.lock().unwrap()
                );
            }
        }
    }

    /// Sends `signal` (`libc::SIGTERM`, `libc::SIGINT`) to the process.
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on our own child's pid.
        let sent = unsafe { libc::kill(self.pid(), signal) };
        assert_eq!(sent, 0, "kill({}, {signal})", self.pid());
    }

    /// Waits for the exit; panics after `within`.
    pub async fn finish(mut self, within: Duration) -> RunOutput {
        let status = tokio::time::timeout(within, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("the run did not end within {within:?}"))
            .expect("wait");
        let _ = (&mut self.stderr_task).await;
        let stdout = (&mut self.stdout_task).await.unwrap_or_default();
        let stderr = self.stderr.lock().unwrap().clone();
        RunOutput {
            status: status.code().unwrap_or(-1),
            stdout,
            stderr,
        }
    }
}
