//! What a run tells whoever watches it: the [`Observer`] trait and its events. The engine
//! (`fanout`) and the AWS code (`ecr`) call it; `output` implements it (progress bars or CI
//! lines, GitHub log groups and masks) and `commands` hands that implementation in. So the
//! engine knows nothing of terminals or GitHub. A leaf: it imports only the secret type.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use crate::secret::Secret;

/// The steps of a push, in the order they run (a dry run stops after the plan; `verify` runs
/// no phases).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Log in, look repositories and tags up, find the blobs each destination lacks.
    Plan,
    /// Phase 1: blobs and manifests by digest, every destination at once (for an image read
    /// from a registry, each blob downloaded once alongside its uploads).
    Upload,
    /// Waiting for what ECR replication delivers: after phase 1 the image, after phase 2 the
    /// tags. It ends at once where no destination is replicated.
    ReplicationWait,
    /// Waiting for ECR managed signing where the registry signs the image. It ends at once
    /// where no registry does.
    SigningWait,
    /// Every destination's manifests and blobs read back.
    Verify,
    /// The vulnerability scan gate: findings read in the scanned destinations before any tag
    /// moves (only when `scan` is not `off`).
    Scan,
    /// Phase 2: tags moved.
    Tags,
    /// Every destination's tags read once more, after all of this run's puts.
    Convergence,
}

/// One destination's upload: what its plan has to send, and the counter that its uploads add
/// every byte sent to (the observer reads it; nothing waits on it).
#[derive(Clone, Debug)]
pub struct UploadProgress {
    /// The destination's id (its region, unless the region holds several destinations).
    pub id: String,
    pub total: u64,
    pub sent: Arc<AtomicU64>,
}

/// A destination whose plan succeeded.
#[derive(Clone, Copy, Debug)]
pub struct PlannedDestination<'a> {
    /// The destination's id (its region, unless the region holds several destinations).
    pub id: &'a str,
    pub repository: &'a str,
    pub blobs_to_upload: usize,
    pub bytes_to_upload: u64,
}

/// A destination at the end of the run, as its report records it.
#[derive(Clone, Copy, Debug)]
pub struct FinishedDestination<'a> {
    /// The destination's id (its region, unless the region holds several destinations).
    pub id: &'a str,
    pub repository: &'a str,
    /// The report's status, as the JSON report writes it (`pushed`, `unchanged`, `planned`,
    /// `failed`, `verified` or `not-started`).
    pub status: &'a str,
    pub error: Option<&'a str>,
}

/// The lease lock around the tag moves (`lock-table`), as it changes.
#[derive(Clone, Copy, Debug)]
pub enum LockEvent<'a> {
    /// Another run holds `key` (`ACCOUNT/REPOSITORY:TAG`): this run waits for it, at most
    /// `timeout` in all.
    Waiting {
        key: &'a str,
        holder: &'a str,
        timeout: std::time::Duration,
    },
    /// Every item is held by this run, after waiting `waited`.
    Acquired {
        table: &'a str,
        items: usize,
        waited: std::time::Duration,
    },
    /// The items were deleted at the end of the run (or left to expire where that failed).
    Released { table: &'a str, items: usize },
    /// The table's region cannot be reached and `lock-on-unavailable: proceed`: the tags move
    /// without the lock.
    Unavailable { reason: &'a str },
}

/// Watches a run. Synchronous and cheap: called from the tasks that do the work, never awaited.
pub trait Observer: Send + Sync {
    /// A phase begins; every started phase is also finished, on success, failure or
    /// cancellation.
    fn phase_started(&self, phase: Phase);
    fn phase_finished(&self, phase: Phase);
    fn destination_planned(&self, destination: &PlannedDestination<'_>);
    /// Phase 1 starts sending; each destination's bytes sent accumulate in its counter until
    /// [`Phase::Upload`] finishes.
    fn upload_started(&self, uploads: &[UploadProgress]);
    fn destination_finished(&self, destination: &FinishedDestination<'_>);
    fn lock_changed(&self, event: &LockEvent<'_>);
    /// A secret arrived (a registry password, an AWS key) and must be masked before anything
    /// could print it. It is already registered for log redaction ([`crate::secret`]).
    fn secret_received(&self, secret: &Secret);
}

/// The observer as the engine holds it, shared by every task of a run.
pub type SharedObserver = Arc<dyn Observer>;

/// Watches nothing: for runs that show nothing but their logs.
#[derive(Clone, Copy, Debug, Default)]
pub struct Unobserved;

impl Observer for Unobserved {
    fn phase_started(&self, _: Phase) {}
    fn phase_finished(&self, _: Phase) {}
    fn destination_planned(&self, _: &PlannedDestination<'_>) {}
    fn upload_started(&self, _: &[UploadProgress]) {}
    fn destination_finished(&self, _: &FinishedDestination<'_>) {}
    fn lock_changed(&self, _: &LockEvent<'_>) {}
    fn secret_received(&self, _: &Secret) {}
}
