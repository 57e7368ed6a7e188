//! A builder runs in a process group of its own, so that a cancelled build (SIGINT or SIGTERM
//! while it runs: the build future is dropped) stops the builder and everything it started
//! (buildah's RUN steps, the docker CLI), not only the direct child. [`GroupGuard`] kills the
//! group when dropped before the builder exited, and waits (bounded) until it is gone.

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
        kill_group_and_wait(pid);
    }
}

/// How long a cancelled run waits for its builder to be gone (a process killed mid-write may
/// take a moment to die).
#[cfg(unix)]
const GONE_WITHIN: std::time::Duration = std::time::Duration::from_secs(10);

/// SIGKILL to the group, then wait (bounded) until the leader is reaped and no member is left,
/// so that the run never exits while its builder still writes.
#[cfg(unix)]
fn kill_group_and_wait(pid: i32) {
    let deadline = std::time::Instant::now() + GONE_WITHIN;
    // SAFETY: kill(2) and waitpid(2) on our own child and its group; no memory is shared.
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
        let mut reaped = false;
        while std::time::Instant::now() < deadline {
            if !reaped {
                let mut status = 0;
                let r = libc::waitpid(pid, &mut status, libc::WNOHANG);
                reaped = r == pid || r == -1;
            }
            if reaped && libc::kill(-pid, 0) == -1 {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
    tracing::warn!(
        pid,
        "the builder's process group did not end within {GONE_WITHIN:?}"
    );
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
        let leader = child.id().unwrap() as i32;
        // The guard kills the group and returns only once it is gone (it reaps the leader).
        drop(GroupGuard::new(child.id()));
        for pid in [leader, grandchild] {
            let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            assert!(
                state.is_empty()
                    || state
                        .rsplit(") ")
                        .next()
                        .is_some_and(|s| s.starts_with('Z')),
                "{pid} still runs: {state}"
            );
        }
        // SAFETY: kill(2) with signal 0 only asks whether the group has members.
        assert_eq!(unsafe { libc::kill(-leader, 0) }, -1, "the group is empty");
    }
}
