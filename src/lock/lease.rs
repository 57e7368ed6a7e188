//! The lease's timing, without any AWS: whether another holder's item has expired (its own
//! recorded expiry against this machine's clock, with [`CLOCK_SKEW_MARGIN`]), the bounded wait
//! for a lock another run holds ([`wait_for_lock`]), and the renewal loop that keeps a lease
//! until it is released or lost ([`keep_renewed`]). The waits run on tokio's clock, so the
//! tests drive them on a paused one.

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::{Instant, sleep_until, timeout_at};
use tokio_util::sync::CancellationToken;

/// How far two machines' clocks may disagree: another run's item counts as expired only once
/// its recorded expiry lies this far in the past by this machine's clock.
pub const CLOCK_SKEW_MARGIN: Duration = Duration::from_secs(5);

/// Milliseconds since 1970 by this machine's clock, as lock items record times.
pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The expiry a lease taken or renewed at `now_millis` records.
pub fn expiry_millis(now_millis: i64, lease: Duration) -> i64 {
    now_millis.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX))
}

/// Items whose recorded expiry is before this are expired and may be taken over.
pub fn stale_before(now_millis: i64) -> i64 {
    now_millis - i64::try_from(CLOCK_SKEW_MARGIN.as_millis()).unwrap_or(0)
}

/// One attempt to take the lock: taken, or held by someone (`H` says who).
#[derive(Debug, PartialEq, Eq)]
pub enum Attempt<H> {
    Taken,
    Held(H),
}

/// How waiting for the lock ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Waited<H> {
    /// Taken, after this long.
    Taken(Duration),
    /// Still held by `H` when the timeout ran out.
    TimedOut(H),
    /// The run was cancelled (SIGINT/SIGTERM) while waiting.
    Cancelled,
}

/// The first pause between attempts; it doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(500);
const MAX_PAUSE: Duration = Duration::from_secs(5);

/// Tries `attempt` until it takes the lock, `timeout` runs out (a last attempt at the deadline)
/// or `cancel` fires, pausing with a jittered, doubling backoff. `holder_changed` is told
/// each holder once, when it is first seen. Errors of an attempt end the wait.
pub async fn wait_for_lock<H, F, Fut>(
    timeout: Duration,
    mut attempt: F,
    mut holder_changed: impl FnMut(&H),
    cancel: &CancellationToken,
) -> anyhow::Result<Waited<H>>
where
    H: PartialEq,
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Attempt<H>>>,
{
    let started = Instant::now();
    let deadline = started + timeout;
    let mut pause = FIRST_PAUSE;
    let mut last: Option<H> = None;
    loop {
        let holder = match attempt().await? {
            Attempt::Taken => return Ok(Waited::Taken(started.elapsed())),
            Attempt::Held(holder) => holder,
        };
        if last.as_ref() != Some(&holder) {
            holder_changed(&holder);
        }
        if Instant::now() >= deadline {
            return Ok(Waited::TimedOut(holder));
        }
        last = Some(holder);
        let wake = (Instant::now() + jittered(pause)).min(deadline);
        tokio::select! {
            () = sleep_until(wake) => {}
            () = cancel.cancelled() => return Ok(Waited::Cancelled),
        }
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

/// `pause` less up to a fifth, so that runs that collided do not retry in step.
fn jittered(pause: Duration) -> Duration {
    pause.mul_f64(1.0 - fastrand::f64() / 5.0)
}

/// How holding a lease ended.
#[derive(Debug, PartialEq, Eq)]
pub enum LeaseEnd {
    /// `release` fired while the lease was held.
    Released,
    /// A renewal failed, or none succeeded before the lease ran out: the reason.
    Lost(String),
}

/// Keeps a lease of `lease` taken at `taken_at`: every third of it, `renew`. Ends when
/// `release` fires, or when a renewal fails or does not succeed before the lease runs out
/// (measured from when the last successful renewal was sent).
pub async fn keep_renewed<F, Fut>(
    lease: Duration,
    taken_at: Instant,
    mut renew: F,
    release: &CancellationToken,
) -> LeaseEnd
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let mut renewed_at = taken_at;
    loop {
        tokio::select! {
            () = sleep_until(renewed_at + lease / 3) => {}
            () = release.cancelled() => return LeaseEnd::Released,
        }
        let sent_at = Instant::now();
        tokio::select! {
            renewed = timeout_at(renewed_at + lease, renew()) => match renewed {
                Ok(Ok(())) => renewed_at = sent_at,
                Ok(Err(e)) => return LeaseEnd::Lost(format!("{e:#}")),
                Err(_) => {
                    return LeaseEnd::Lost(format!(
                        "no renewal succeeded within the lease of {} s",
                        lease.as_secs()
                    ));
                }
            },
            () = release.cancelled() => return LeaseEnd::Released,
        }
    }
}

#[cfg(test)]
mod tests;
