//! The lease's timing on tokio's paused clock: renewals every third of the lease, a lease lost
//! to a failed or a hanging renewal, and the bounded wait for another holder.

use std::sync::{Arc, Mutex};

use super::*;

const LEASE: Duration = Duration::from_secs(60);

/// The instants (seconds after `start`) at which `renew` was called.
type Calls = Arc<Mutex<Vec<u64>>>;

fn seconds_since(start: Instant) -> u64 {
    Instant::now().duration_since(start).as_secs()
}

#[tokio::test(start_paused = true)]
async fn a_held_lease_is_renewed_every_third_until_released() {
    let start = Instant::now();
    let calls = Calls::default();
    let release = CancellationToken::new();
    let keeping = keep_renewed(
        LEASE,
        start,
        || {
            let calls = calls.clone();
            async move {
                calls.lock().unwrap().push(seconds_since(start));
                Ok(())
            }
        },
        &release,
    );
    let releasing = async {
        sleep_until(start + Duration::from_secs(70)).await;
        release.cancel();
    };
    let (end, ()) = tokio::join!(keeping, releasing);
    assert_eq!(end, LeaseEnd::Released);
    assert_eq!(*calls.lock().unwrap(), [20, 40, 60]);
}

#[tokio::test(start_paused = true)]
async fn a_failed_renewal_loses_the_lease_at_once() {
    let start = Instant::now();
    let release = CancellationToken::new();
    let mut renewals = 0;
    let end = keep_renewed(
        LEASE,
        start,
        || {
            renewals += 1;
            let fails = renewals == 2;
            async move {
                if fails {
                    anyhow::bail!("ConditionalCheckFailed: another run holds it");
                }
                Ok(())
            }
        },
        &release,
    )
    .await;
    assert_eq!(
        end,
        LeaseEnd::Lost("ConditionalCheckFailed: another run holds it".into())
    );
    assert_eq!(seconds_since(start), 40);
}

#[tokio::test(start_paused = true)]
async fn a_renewal_that_hangs_loses_the_lease_when_it_runs_out() {
    let start = Instant::now();
    let release = CancellationToken::new();
    let end = keep_renewed(LEASE, start, std::future::pending, &release).await;
    assert_eq!(
        end,
        LeaseEnd::Lost("no renewal succeeded within the lease of 60 s".into())
    );
    assert_eq!(seconds_since(start), 60);
}

#[tokio::test(start_paused = true)]
async fn waiting_tells_each_holder_once_and_ends_when_the_lock_is_taken() {
    let mut answers = vec![
        Attempt::Held("run-a"),
        Attempt::Held("run-a"),
        Attempt::Held("run-b"),
        Attempt::Taken,
    ]
    .into_iter();
    let mut told = Vec::new();
    let waited = wait_for_lock(
        Duration::from_secs(600),
        || {
            let answer = answers.next().unwrap();
            async move { Ok(answer) }
        },
        |holder: &&str| told.push(*holder),
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(told, ["run-a", "run-b"]);
    // Three pauses: 0.5 s, 1 s and 2 s, each less up to a fifth.
    let Waited::Taken(after) = waited else {
        panic!("{waited:?}")
    };
    assert!(
        after >= Duration::from_millis(2800) && after <= Duration::from_millis(3500),
        "{after:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn waiting_is_bounded_by_the_timeout_with_a_last_attempt_at_the_deadline() {
    let start = Instant::now();
    let attempts = Arc::new(Mutex::new(Vec::new()));
    let waited = wait_for_lock(
        Duration::from_secs(30),
        || {
            attempts.lock().unwrap().push(Instant::now());
            async { Ok(Attempt::Held("run-a")) }
        },
        |_: &&str| {},
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(waited, Waited::TimedOut("run-a"));
    assert_eq!(seconds_since(start), 30);
    let attempts = attempts.lock().unwrap();
    assert_eq!(
        attempts.last().copied(),
        Some(start + Duration::from_secs(30))
    );
    // Pauses grow to 5 s at most: about 9 attempts in 30 s, never one per poll of a busy loop.
    assert!((7..=12).contains(&attempts.len()), "{}", attempts.len());
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_run_stops_waiting() {
    let cancel = CancellationToken::new();
    let cancelling = async {
        tokio::time::sleep(Duration::from_secs(3)).await;
        cancel.cancel();
    };
    let waiting = wait_for_lock(
        Duration::from_secs(600),
        || async { Ok(Attempt::Held("run-a")) },
        |_: &&str| {},
        &cancel,
    );
    let (waited, ()) = tokio::join!(waiting, cancelling);
    assert_eq!(waited.unwrap(), Waited::Cancelled);
}

#[test]
fn another_holders_item_expires_only_after_the_clock_skew_margin() {
    let taken = 1_000_000;
    let expires = expiry_millis(taken, Duration::from_secs(2));
    assert_eq!(expires, 1_002_000);
    // By our clock the lease ran out, but its holder's clock may be up to the margin behind.
    assert!(expires >= stale_before(expires + 4_999));
    assert!(expires < stale_before(expires + 5_001));
}
