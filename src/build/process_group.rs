//! A builder runs in a process group of its own, so that a cancelled build (SIGINT or SIGTERM
//! while it runs: the build future is dropped) stops the builder and everything it started
//! (buildah's RUN steps, the docker CLI), not only the direct child. [`GroupGuard`] kills the
//! group when dropped before the builder exited.

/// Puts the command's process in a new process group (its pid is the group id).
pub fn own_group(command: &mut tokio::process::Command) {
    #[cfg(unix)]
    command.process_group(0);
    #[cfg(not(unix))]
    let _ = command;
}

/// Kills the process group `pid` on drop, unless [`GroupGuard::exited`] was called.
pub struct GroupGuard {
    pid: Option<u32>,
}

impl GroupGuard {
    pub fn new(pid: Option<u32>) -> Self {
        Self { pid }
    }

    /// The builder exited by itself: nothing to kill.
    pub fn exited(mut self) {
        self.pid = None;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        let Some(pid) = self.pid.and_then(|p| i32::try_from(p).ok()) else {
            return;
        };
        tracing::warn!(pid, "stopping the builder and its process group");
        #[cfg(unix)]
        // SAFETY: kill(2) with a negative pid signals the process group; no memory is touched.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dropping_the_guard_kills_the_whole_group() {
        // A shell that starts a grandchild and waits: both must die with the group.
        let mut command = tokio::process::Command::new("sh");
        command.args(["-c", "sleep 300 & echo $!; wait"]);
        command.stdout(std::process::Stdio::piped());
        own_group(&mut command);
        let mut child = command.spawn().unwrap();
        let mut stdout = tokio::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        tokio::io::AsyncBufReadExt::read_line(&mut stdout, &mut line)
            .await
            .unwrap();
        let grandchild: i32 = line.trim().parse().unwrap();
        drop(GroupGuard::new(child.id()));
        let status = child.wait().await.unwrap();
        assert!(!status.success());
        // The grandchild is gone too (it may linger as a zombie of init only briefly: kill(0)
        // fails once it was reaped; before that its state is Z).
        let state = std::fs::read_to_string(format!("/proc/{grandchild}/stat")).unwrap_or_default();
        assert!(
            state.is_empty() || state.split_whitespace().nth(2) == Some("Z"),
            "grandchild still runs: {state}"
        );
    }
}
