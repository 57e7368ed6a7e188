//! The one polling loop of every bounded wait after phase 1 (ECR replication, ECR managed
//! signing): ask, log progress when it changes and at least every minute, give up with the
//! caller's error once another interval would pass the timeout.

use std::time::Duration;

use tokio::time::Instant;
use tracing::info;

/// A progress line at least this often while waiting, and whenever a status changes.
const PROGRESS_EVERY: Duration = Duration::from_secs(60);

/// How long a wait may take, and how often it asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wait {
    pub timeout: Duration,
    pub interval: Duration,
}

/// What one poll of a wait found.
#[derive(Debug, PartialEq, Eq)]
pub enum Poll {
    Done,
    /// Still waiting, for what this says.
    Waiting(String),
}

/// The one polling loop of every wait (ECR replication, managed signing): asks `poll` every `wait.interval` until it
/// is done, logs `progress(pending)` when the state changes and at least every minute, and
/// fails with `timed_out(pending, timeout)` once another interval would pass the timeout.
pub async fn poll_until<F, Fut>(
    wait: Wait,
    what: &str,
    mut poll: F,
    progress: impl Fn(&str) -> String,
    timed_out: impl FnOnce(&str, Duration) -> anyhow::Error,
) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Poll>>,
{
    let started = Instant::now();
    let mut logged = Progress::default();
    loop {
        let pending = match poll().await? {
            Poll::Done => return Ok(()),
            Poll::Waiting(pending) => pending,
        };
        let waited = started.elapsed();
        logged.report(what, &progress(&pending), waited);
        if waited + wait.interval > wait.timeout {
            return Err(timed_out(&pending, wait.timeout));
        }
        tokio::time::sleep(wait.interval).await;
    }
}

/// Logs a wait's state when it changes, and at least every [`PROGRESS_EVERY`].
#[derive(Default)]
struct Progress {
    last: Option<(String, Duration)>,
}

impl Progress {
    fn report(&mut self, what: &str, state: &str, waited: Duration) {
        let due = match &self.last {
            Some((last, at)) => last != state || waited >= *at + PROGRESS_EVERY,
            None => true,
        };
        if due {
            info!(waited_secs = waited.as_secs(), "{what}: {state}");
            self.last = Some((state.to_string(), waited));
        }
    }
}

#[cfg(test)]
mod tests {
    use anyhow::anyhow;

    use super::*;

    const WAIT: Wait = Wait {
        timeout: Duration::from_secs(40),
        interval: Duration::from_secs(10),
    };

    #[tokio::test(start_paused = true)]
    async fn the_loop_polls_every_interval_until_done() {
        let mut polls = 0;
        let started = Instant::now();
        let result = poll_until(
            WAIT,
            "test wait",
            || {
                polls += 1;
                let answer = if polls < 3 {
                    Poll::Waiting(format!("poll {polls}"))
                } else {
                    Poll::Done
                };
                async move { Ok(answer) }
            },
            |pending| pending.to_string(),
            |_, _| anyhow!("timed out"),
        )
        .await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(polls, 3);
        assert_eq!(started.elapsed(), Duration::from_secs(20));
    }

    #[tokio::test(start_paused = true)]
    async fn the_loop_is_bounded_and_names_what_is_pending() {
        let mut polls = 0;
        let error = poll_until(
            WAIT,
            "test wait",
            || {
                polls += 1;
                async { Ok(Poll::Waiting("eu-west-1 IN_PROGRESS".into())) }
            },
            |pending| pending.to_string(),
            |pending, timeout| anyhow!("did not complete within {timeout:?} ({pending})"),
        )
        .await
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "did not complete within 40s (eu-west-1 IN_PROGRESS)"
        );
        // Polls at 0, 10, 20, 30 and 40 s; after the last, another interval would pass the
        // timeout.
        assert_eq!(polls, 5);
    }

    #[tokio::test(start_paused = true)]
    async fn a_poll_error_ends_the_loop_at_once() {
        let mut polls = 0;
        let error = poll_until(
            WAIT,
            "test wait",
            || {
                polls += 1;
                async { Err::<Poll, _>(anyhow!("DescribeImageReplicationStatus failed")) }
            },
            |pending| pending.to_string(),
            |_, _| anyhow!("timed out"),
        )
        .await
        .unwrap_err();
        assert_eq!(error.to_string(), "DescribeImageReplicationStatus failed");
        assert_eq!(polls, 1);
    }

    #[test]
    fn progress_is_logged_on_change_and_at_least_every_minute() {
        let mut progress = Progress::default();
        let mut logged = Vec::new();
        for (state, secs) in [
            ("a", 0),
            ("a", 10),
            ("b", 20),
            ("b", 70),
            ("b", 80),
            ("b", 130),
        ] {
            let before = progress.last.clone();
            progress.report("test", state, Duration::from_secs(secs));
            if progress.last != before {
                logged.push(secs);
            }
        }
        assert_eq!(logged, [0, 20, 80]);
    }
}
