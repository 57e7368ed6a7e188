//! The engine's side of the observer: [`in_phase`] tells it when a phase starts and, however
//! the phase ends (done, failed, or dropped by a cancellation), when it finishes; and the
//! per-destination events, read off the plans and reports.

use std::future::Future;

use super::plan::RegionPlan;
use super::session::RegionSession;
use crate::image::LocalImage;
use crate::observer::{FinishedDestination, Observer, Phase, PlannedDestination};
use crate::report::RegionReport;

/// Runs `work` as `phase`.
pub async fn in_phase<T>(
    observer: &dyn Observer,
    phase: Phase,
    work: impl Future<Output = T>,
) -> T {
    let _running = RunningPhase::start(observer, phase);
    work.await
}

/// Finishes its phase when dropped.
struct RunningPhase<'a> {
    observer: &'a dyn Observer,
    phase: Phase,
}

impl<'a> RunningPhase<'a> {
    fn start(observer: &'a dyn Observer, phase: Phase) -> Self {
        observer.phase_started(phase);
        Self { observer, phase }
    }
}

impl Drop for RunningPhase<'_> {
    fn drop(&mut self) {
        self.observer.phase_finished(self.phase);
    }
}

/// Tells the observer of a destination whose plan succeeded.
pub fn planned(
    observer: &dyn Observer,
    session: &RegionSession,
    plan: &RegionPlan,
    image: &LocalImage,
) {
    observer.destination_planned(&PlannedDestination {
        id: &session.target.id,
        repository: &session.target.repository,
        blobs_to_upload: plan.missing_blobs.len(),
        bytes_to_upload: plan.bytes_to_upload(image),
    });
}

/// Tells the observer of every destination's end, as its report records it.
pub fn finished(observer: &dyn Observer, reports: &[RegionReport]) {
    for report in reports {
        observer.destination_finished(&FinishedDestination {
            id: &report.id,
            repository: &report.repository,
            status: report.status.as_str(),
            error: report.error.as_deref(),
        });
    }
}

#[cfg(test)]
mod tests;
