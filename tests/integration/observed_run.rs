//! The engine in-process with a recording observer: a real push to three simulated regions
//! shows every phase in the order it runs, each destination planned and finished, and each
//! login's secrets before any upload.

use std::sync::{Arc, Mutex};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ecr::config::{Credentials, SharedCredentialsProvider};
use ecr_fanout::config::build::ImageInput;
use ecr_fanout::config::raw::RawInputs;
use ecr_fanout::observer::{
    FinishedDestination, Observer, Phase, PlannedDestination, SharedObserver, UploadProgress,
};
use ecr_fanout::secret::Secret;
use tokio_util::sync::CancellationToken;

use crate::harness::TestEnv;
use crate::harness::moto;
use crate::scenario::*;

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
        self.push(format!("planned {}", d.id));
    }
    fn upload_started(&self, uploads: &[UploadProgress]) {
        self.push(format!("upload {}", uploads.len()));
    }
    fn destination_finished(&self, d: &FinishedDestination<'_>) {
        self.push(format!("finished {} {}", d.id, d.status));
    }
    fn lock_changed(&self, _: &ecr_fanout::observer::LockEvent<'_>) {
        self.push("lock".to_string());
    }
    fn secret_received(&self, _: &Secret) {
        self.push("secret".to_string());
    }
}

#[tokio::test]
async fn a_push_shows_every_phase_in_order_to_its_observer() {
    let env = TestEnv::start(&REGIONS).await;
    let (image_source, _) = single_manifest_image(&env, "observed");
    let mut raw = RawInputs::default();
    for (name, value) in [
        ("regions", REGIONS.join(",")),
        ("repository", "web".to_string()),
        ("tags", "v1".to_string()),
        ("image", image_source),
        ("create-repository", "true".to_string()),
        ("registry-endpoints", env.registry_endpoints_arg()),
    ] {
        raw.set(name, Some(value));
    }
    let config = ecr_fanout::config::resolve(&raw).unwrap();
    let ImageInput::Prebuilt(source) = &config.image else {
        panic!("a prebuilt image");
    };
    let image = ecr_fanout::image::open_image(source).unwrap();
    let credentials = Credentials::new(
        moto::ACCESS_KEY_ID,
        moto::SECRET_ACCESS_KEY,
        None,
        None,
        "test",
    );
    let aws = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(ecr_fanout::ecr::https_client())
        .region(Region::new("us-east-1"))
        .endpoint_url(env.moto_url())
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .build();
    let recording = Arc::new(Recording::default());
    let observer: SharedObserver = recording.clone();
    let outcome = ecr_fanout::fanout::push_with_aws(
        &config,
        &image,
        &aws,
        observer,
        &CancellationToken::new(),
    )
    .await;
    assert!(outcome.error.is_none(), "{:?}", outcome.error);

    let events = recording.events();
    let phases: Vec<&str> = events
        .iter()
        .map(String::as_str)
        .filter(|e| e.starts_with("start ") || e.starts_with("finish "))
        .collect();
    assert_eq!(
        phases,
        [
            "start Plan",
            "finish Plan",
            "start Upload",
            "finish Upload",
            "start ReplicationWait",
            "finish ReplicationWait",
            "start SigningWait",
            "finish SigningWait",
            "start Verify",
            "finish Verify",
            "start Tags",
            "finish Tags",
            "start ReplicationWait",
            "finish ReplicationWait",
            "start Convergence",
            "finish Convergence",
        ],
        "{events:#?}"
    );
    let position = |event: &str| events.iter().position(|e| e == event).unwrap();
    for region in REGIONS {
        assert!(position(&format!("planned {region}")) < position("finish Plan"));
        assert!(position(&format!("finished {region} pushed")) > position("finish Convergence"));
    }
    // Each region's login: its password and the Basic value, told before any byte is sent.
    let secrets_before_upload = events[..position("start Upload")]
        .iter()
        .filter(|e| *e == "secret")
        .count();
    assert!(secrets_before_upload >= 2 * REGIONS.len(), "{events:#?}");
    assert_eq!(events[position("start Upload") + 1], "upload 3");
}
