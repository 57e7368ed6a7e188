//! Running the `ecr-fanout` binary under test: `ecr_fanout(env)` builds the `Command` (test
//! environment applied, host CI/GitHub/AWS variables removed) and `run` executes it without
//! blocking the async runtime the proxies live on, with a bounded time.

use std::process::{Command, Stdio};
use std::time::Duration;

use super::env::TestEnv;

/// Longest a single run may take before it is killed and the test fails.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(300);

/// A `Command` for the binary with the env's variables. Add arguments, then pass it to [`run`].
pub fn ecr_fanout(env: &TestEnv) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ecr-fanout"));
    for key in TestEnv::vars_to_remove() {
        cmd.env_remove(key);
    }
    cmd.envs(env.env_vars());
    cmd.current_dir(env.work_dir());
    cmd
}

/// What a finished run left behind.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// Exit code; -1 when killed by a signal.
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl RunOutput {
    pub fn success(&self) -> bool {
        self.status == 0
    }
}

impl std::fmt::Display for RunOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// Run to completion (stdin closed). The proxies keep serving meanwhile: this awaits a tokio
/// child process, it never blocks the runtime thread. Panics after [`RUN_TIMEOUT`].
pub async fn run(cmd: Command) -> RunOutput {
    run_with_timeout(cmd, RUN_TIMEOUT).await
}

pub async fn run_with_timeout(cmd: Command, timeout: Duration) -> RunOutput {
    let description = format!("{cmd:?}");
    let mut cmd = tokio::process::Command::from(cmd);
    cmd.stdin(Stdio::null()).kill_on_drop(true);
    let out = match tokio::time::timeout(timeout, cmd.output()).await {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => panic!("could not run {description}: {e}"),
        Err(_) => panic!("{description} did not finish within {timeout:?}"),
    };
    let output = RunOutput {
        status: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    keep_report(&output);
    output
}

/// With `ECR_FANOUT_TEST_REPORTS=DIR`, every JSON report a run printed is kept as
/// `DIR/<test>.<n>.json`, so that two builds' reports over the whole suite can be compared
/// (`scripts/compare-reports`).
fn keep_report(output: &RunOutput) {
    static RUNS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let Some(dir) = std::env::var_os("ECR_FANOUT_TEST_REPORTS") else {
        return;
    };
    if serde_json::from_str::<serde_json::Value>(&output.stdout).is_err() {
        return;
    }
    let test = std::thread::current()
        .name()
        .unwrap_or("unnamed")
        .replace("::", ".");
    let n = {
        let mut runs = RUNS.lock().unwrap_or_else(|e| e.into_inner());
        runs.push(test.clone());
        runs.iter().filter(|t| **t == test).count()
    };
    let path = std::path::Path::new(&dir).join(format!("{test}.{n:04}.json"));
    std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(&path, &output.stdout))
        .unwrap_or_else(|e| panic!("keep the report in {}: {e}", path.display()));
}
