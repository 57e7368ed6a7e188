//! Tests for what the observer sees: a dry run without AWS access (no network call) through
//! the same phase driver as a push, and phases that end early.

use std::sync::{Arc, Mutex};

use aws_config::{BehaviorVersion, SdkConfig};
use tokio_util::sync::CancellationToken;

use super::*;
use crate::config::build::ImageInput;
use crate::config::raw::RawInputs;
use crate::observer::{Phase, UploadProgress};
use crate::secret::Secret;

/// Every event, in the order it came.
#[derive(Default)]
struct Recording(Mutex<Vec<String>>);

impl Recording {
    fn push(&self, event: String) {
        self.0.lock().unwrap().push(event);
    }

    fn events(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

impl Observer for Recording {
    fn phase_started(&self, phase: Phase) {
        self.push(format!("start {phase:?}"));
    }
    fn phase_finished(&self, phase: Phase) {
        self.push(format!("finish {phase:?}"));
    }
    fn destination_planned(&self, d: &PlannedDestination<'_>) {
        self.push(format!("planned {} {}", d.id, d.repository));
    }
    fn upload_started(&self, uploads: &[UploadProgress]) {
        self.push(format!("upload {}", uploads.len()));
    }
    fn destination_finished(&self, d: &FinishedDestination<'_>) {
        self.push(format!("finished {} {}", d.id, d.status));
    }
    fn lock_changed(&self, _: &crate::observer::LockEvent<'_>) {
        self.push("lock".to_string());
    }
    fn secret_received(&self, _: &Secret) {
        self.push("secret".to_string());
    }
}

fn dry_run_config() -> crate::config::Config {
    let mut raw = RawInputs::default();
    for (name, value) in [
        ("regions", "us-east-1,eu-west-1"),
        ("repository", "team-a/web"),
        ("tags", "v1"),
        ("image", "oci:examples/hello"),
        ("dry-run", "true"),
    ] {
        raw.set(name, Some(value.to_string()));
    }
    crate::config::resolve(&raw).unwrap()
}

#[tokio::test]
async fn a_dry_run_without_aws_access_shows_the_plan_phase_and_every_destination() {
    let config = dry_run_config();
    let ImageInput::Prebuilt(source) = &config.image else {
        panic!("the example image is prebuilt");
    };
    let image = crate::image::open_image(source).unwrap();
    // No credential provider at all: the run knows at once that it has no AWS access.
    let aws = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .build();
    let recording = Arc::new(Recording::default());
    let observer: crate::observer::SharedObserver = recording.clone();
    let outcome =
        crate::fanout::push_with_aws(&config, &image, &aws, observer, &CancellationToken::new())
            .await;
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    assert_eq!(outcome.report.status, crate::fanout::RunStatus::Planned);
    assert_eq!(
        recording.events(),
        [
            "start Plan",
            "planned us-east-1 team-a/web",
            "planned eu-west-1 team-a/web",
            "finish Plan",
            "finished us-east-1 planned",
            "finished eu-west-1 planned",
        ]
    );
}

#[tokio::test]
async fn a_phase_finishes_when_it_fails_and_when_it_is_dropped() {
    let recording = Recording::default();
    let failed: Result<(), &str> = in_phase(&recording, Phase::Upload, async { Err("no") }).await;
    assert!(failed.is_err());
    // A cancellation drops the phase's future while it waits.
    tokio::select! {
        () = tokio::time::sleep(std::time::Duration::from_millis(5)) => {}
        () = in_phase(&recording, Phase::Tags, std::future::pending()) => {}
    }
    assert_eq!(
        recording.events(),
        ["start Upload", "finish Upload", "start Tags", "finish Tags"]
    );
}
