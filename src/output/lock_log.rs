//! The lease lock's events as log lines on stderr: who holds what the run waits for, when it
//! holds the lock and lets it go, and the warning when it cannot be reached.

use tracing::{info, warn};

use crate::observer::LockEvent;

/// Logs one lock event.
pub fn log_lock_event(event: &LockEvent<'_>) {
    match *event {
        LockEvent::Waiting {
            key,
            holder,
            timeout,
        } => info!(
            key,
            holder,
            "waiting for the lock on {key}: held by run {holder} (at most {} s, lock-timeout)",
            timeout.as_secs()
        ),
        LockEvent::Acquired {
            table,
            items,
            waited,
        } => info!(
            table,
            items,
            waited_seconds = waited.as_secs_f64(),
            "lock acquired in table {table} ({items} items)"
        ),
        LockEvent::Released { table, items } => {
            info!(table, items, "lock released in table {table}");
        }
        LockEvent::Unavailable { reason } => warn!(
            "{reason}; moving the tags without the lock (lock-on-unavailable: proceed): a \
             concurrent run may interleave with this one"
        ),
    }
}
