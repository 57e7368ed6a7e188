//! How a registry request is repeated: exponential backoff with full jitter for temporary
//! failures (no answer, 429, 5xx), one credential refresh on ECR's 403 "token has expired",
//! and a stall guard that fails a request that makes no progress for the configured bound.
//! Every clock here is tokio's, so tests on a paused clock measure what they claim.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use super::{RegistryError, RegistryErrorKind};

/// Retry settings. The defaults suit ECR: about 30 s of retrying at most.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Attempts per request, the first included. The default is 6.
    pub max_attempts: u32,
    /// The first backoff; it doubles per attempt. The default is 250 ms.
    pub base_delay: Duration,
    /// The largest single backoff. The default is 8 s.
    pub max_delay: Duration,
    /// No new attempt starts after this long. The default is 60 s.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
            max_elapsed: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// Full jitter: a random delay between zero and the exponential bound.
    pub fn delay(&self, retry: u32) -> Duration {
        let exponential = self
            .base_delay
            .saturating_mul(1u32 << retry.min(16))
            .min(self.max_delay);
        let millis = u64::try_from(exponential.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(fastrand::u64(millis / 4..=millis.max(1)))
    }

    /// Whether another attempt may start after `attempts` failed ones.
    pub fn allows_another(&self, attempts: u32, started: Instant) -> bool {
        attempts < self.max_attempts && started.elapsed() < self.max_elapsed
    }
}

/// Runs `request`, failing it when `progress` (bytes moved; `None` for small requests)
/// stays unchanged for `bound`.
pub async fn stall_guard<T>(
    bound: Duration,
    progress: Option<Arc<AtomicU64>>,
    request: impl Future<Output = Result<T, RegistryError>>,
) -> Result<T, RegistryError> {
    let stalled = || {
        RegistryError::new(
            RegistryErrorKind::Stalled,
            format!("no progress for {} s (stall-timeout)", bound.as_secs_f64()),
        )
    };
    let Some(progress) = progress else {
        return tokio::time::timeout(bound, request)
            .await
            .unwrap_or_else(|_| Err(stalled()));
    };
    tokio::pin!(request);
    let mut ticker = tokio::time::interval((bound / 8).max(Duration::from_millis(50)));
    let mut seen = progress.load(Ordering::Relaxed);
    let mut last_change = Instant::now();
    loop {
        tokio::select! {
            result = &mut request => return result,
            _ = ticker.tick() => {
                let now = progress.load(Ordering::Relaxed);
                if now != seen {
                    seen = now;
                    last_change = Instant::now();
                } else if last_change.elapsed() >= bound {
                    return Err(stalled());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_bounded() {
        let policy = RetryPolicy::default();
        for retry in 0..20 {
            let delay = policy.delay(retry);
            assert!(delay <= policy.max_delay, "{retry}: {delay:?}");
        }
        let first_bound = policy.base_delay;
        assert!(policy.delay(0) <= first_bound);
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_without_progress_stalls_within_its_bound() {
        let progress = Arc::new(AtomicU64::new(0));
        let never = std::future::pending::<Result<(), RegistryError>>();
        let started = Instant::now();
        let err = stall_guard(Duration::from_secs(5), Some(progress), never)
            .await
            .unwrap_err();
        assert_eq!(err.kind, RegistryErrorKind::Stalled);
        let took = started.elapsed();
        // The bound, checked every bound/8.
        assert!(took >= Duration::from_secs(5), "{took:?}");
        assert!(took <= Duration::from_millis(5_625), "{took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_stall_is_measured_from_the_last_progress() {
        let progress = Arc::new(AtomicU64::new(0));
        let moving = progress.clone();
        let stops_after_ten_seconds = async move {
            for _ in 0..10 {
                tokio::time::sleep(Duration::from_secs(1)).await;
                moving.fetch_add(1, Ordering::Relaxed);
            }
            std::future::pending::<Result<(), RegistryError>>().await
        };
        let started = Instant::now();
        let err = stall_guard(
            Duration::from_secs(3),
            Some(progress),
            stops_after_ten_seconds,
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind, RegistryErrorKind::Stalled);
        let took = started.elapsed();
        assert!(took >= Duration::from_secs(13), "{took:?}");
        assert!(took <= Duration::from_millis(13_750), "{took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn progress_keeps_a_slow_request_alive() {
        let progress = Arc::new(AtomicU64::new(0));
        let moving = progress.clone();
        let slow = async move {
            for _ in 0..20 {
                tokio::time::sleep(Duration::from_secs(1)).await;
                moving.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<_, RegistryError>(7)
        };
        let started = Instant::now();
        let result = stall_guard(Duration::from_secs(3), Some(progress), slow).await;
        assert_eq!(result.unwrap(), 7);
        assert_eq!(
            started.elapsed(),
            Duration::from_secs(20),
            "ran 20 s, 7× the bound"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn small_requests_get_a_plain_timeout() {
        let never = std::future::pending::<Result<(), RegistryError>>();
        let started = Instant::now();
        let err = stall_guard(Duration::from_secs(2), None, never)
            .await
            .unwrap_err();
        assert_eq!(err.kind, RegistryErrorKind::Stalled);
        assert_eq!(started.elapsed(), Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn no_attempt_starts_after_the_elapsed_bound() {
        let policy = RetryPolicy::default();
        let started = Instant::now();
        assert!(policy.allows_another(1, started));
        tokio::time::advance(policy.max_elapsed).await;
        assert!(!policy.allows_another(1, started));
        assert!(!RetryPolicy::default().allows_another(6, Instant::now()));
    }
}
