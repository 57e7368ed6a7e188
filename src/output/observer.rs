//! The screen side of a run: [`ScreenObserver`] implements the engine's
//! [`Observer`](crate::observer::Observer). Phases open and close GitHub log groups, phase 1
//! shows upload progress ([`super::progress`]), and every secret the engine receives is masked
//! in the job log ([`super::workflow_commands`]) the moment it arrives.

use std::sync::{Mutex, PoisonError};

use super::progress::{self, UploadBars};
use super::workflow_commands::{Group, WorkflowCommands};
use crate::observer::{
    FinishedDestination, LockEvent, Observer, Phase, PlannedDestination, UploadProgress,
};
use crate::secret::Secret;

/// Progress on stderr, GitHub groups and masks.
pub struct ScreenObserver {
    /// Whether groups and masks are written (a GitHub Actions step).
    workflow: WorkflowCommands,
    /// The open `::group::`, if any (GitHub does not nest them: one at a time).
    group: Mutex<Option<Group>>,
    /// Phase 1's bars or lines, while it runs.
    upload: Mutex<Option<UploadBars>>,
}

impl ScreenObserver {
    /// An observer that writes workflow commands as `workflow` says.
    pub fn new(workflow: WorkflowCommands) -> Self {
        Self {
            workflow,
            group: Mutex::new(None),
            upload: Mutex::new(None),
        }
    }
}

/// The title of a phase's log group; phases without one run in the log between groups.
fn group_title(phase: Phase) -> Option<&'static str> {
    match phase {
        Phase::Plan => Some("ecr-fanout: plan (log in, repositories, tags, missing blobs)"),
        Phase::Upload => Some("ecr-fanout: phase 1, upload blobs and manifests by digest"),
        Phase::Verify => Some("ecr-fanout: verify every region"),
        Phase::Scan => Some("ecr-fanout: scan gate (vulnerability findings before any tag moves)"),
        Phase::Tags => Some("ecr-fanout: phase 2, move tags"),
        Phase::ReplicationWait | Phase::SigningWait | Phase::Convergence => None,
    }
}

impl Observer for ScreenObserver {
    fn phase_started(&self, phase: Phase) {
        if let Some(title) = group_title(phase) {
            let mut group = self.group.lock().unwrap_or_else(PoisonError::into_inner);
            // The previous group ends before the next one starts.
            group.take();
            *group = Some(self.workflow.group(title));
        }
    }

    fn phase_finished(&self, phase: Phase) {
        if phase == Phase::Upload {
            let bars = self
                .upload
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            if let Some(bars) = bars {
                bars.finish();
            }
        }
        if group_title(phase).is_some() {
            self.group
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
        }
    }

    /// The engine logs each plan itself; nothing more to show.
    fn destination_planned(&self, _: &PlannedDestination<'_>) {}

    fn upload_started(&self, uploads: &[UploadProgress]) {
        let bars = progress::start(uploads.to_vec());
        let previous = self
            .upload
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .replace(bars);
        if let Some(previous) = previous {
            previous.finish();
        }
    }

    /// Failures are annotated from the report when it is emitted ([`super::emit`]).
    fn destination_finished(&self, _: &FinishedDestination<'_>) {}

    fn lock_changed(&self, event: &LockEvent<'_>) {
        super::lock_log::log_lock_event(event);
    }

    fn secret_received(&self, secret: &Secret) {
        self.workflow.mask(secret);
    }
}
