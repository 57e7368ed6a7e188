//! Faults the proxy answers by itself or adds to an answer: status bursts, latency, expired
//! tokens, corrupted manifests; and that faults are per region and clear completely.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use super::{Calls, REGION, SOON, blob, client, seed_image};
use crate::harness::ecr_proxy::TOKEN_EXPIRED_BODY;
use crate::harness::proxy_faults::{SERVICE_UNAVAILABLE_BODY, TOO_MANY_REQUESTS_BODY};
use crate::harness::skopeo::{self, sha256_digest};
use crate::harness::{Fault, TestEnv};

#[tokio::test]
async fn status_bursts_answer_k_requests_then_forward_again() {
    let env = TestEnv::start(&[REGION]).await;
    let region = env.region(REGION);
    let control = region.control();
    let calls = Calls::new(region);
    control.inject(Fault::Status {
        status: 503,
        count: 2,
        kind: Some("upload-start"),
    });
    control.inject(Fault::Status {
        status: 429,
        count: 3,
        kind: None,
    });

    for _ in 0..2 {
        let r = calls.start_upload("app").await.unwrap();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.text().await.unwrap(), SERVICE_UNAVAILABLE_BODY);
    }
    for _ in 0..3 {
        let r = calls.ping().await.unwrap();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["errors"][0]["code"], "TOOMANYREQUESTS");
        assert_eq!(body.to_string(), TOO_MANY_REQUESTS_BODY);
    }
    assert_eq!(calls.ping().await.unwrap().status(), StatusCode::OK);
    assert_eq!(
        calls.start_upload("app").await.unwrap().status(),
        StatusCode::ACCEPTED
    );

    assert_eq!(control.faults_fired("status-503"), 2);
    assert_eq!(control.faults_fired("status-429"), 3);
    assert!(control.armed_faults().is_empty());
    let forwarded: Vec<bool> = control.requests().iter().map(|r| r.forwarded).collect();
    assert_eq!(forwarded, [false, false, false, false, false, true, true]);
}

#[tokio::test]
async fn latency_delays_every_request_and_latencies_add_up() {
    let env = TestEnv::start(&[REGION]).await;
    let region = env.region(REGION);
    let control = region.control();
    let calls = Calls::new(region);
    control.inject(Fault::Latency(Duration::from_millis(200)));
    for _ in 0..2 {
        let started = Instant::now();
        assert_eq!(calls.ping().await.unwrap().status(), StatusCode::OK);
        assert!(started.elapsed() >= Duration::from_millis(200));
    }
    control.inject(Fault::Latency(Duration::from_millis(150)));
    let started = Instant::now();
    assert_eq!(calls.ping().await.unwrap().status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(350));
    assert_eq!(control.faults_fired("latency"), 3, "counted per request");

    control.clear_faults();
    assert_eq!(calls.ping().await.unwrap().status(), StatusCode::OK);
    assert_eq!(control.faults_fired("latency"), 3);
}

#[tokio::test]
async fn token_expired_burst_gets_403_then_the_same_credentials_work() {
    let env = TestEnv::start(&[REGION]).await;
    let region = env.region(REGION);
    let control = region.control();
    let calls = Calls::new(region);
    control.inject(Fault::TokenExpired { count: 2 });

    let anonymous = client(SOON).get(format!("{}/v2/", region.proxy_url()));
    let anonymous = anonymous.send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED, "not counted");
    for _ in 0..2 {
        let r = calls.ping().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert_eq!(r.text().await.unwrap(), TOKEN_EXPIRED_BODY);
    }
    assert_eq!(calls.ping().await.unwrap().status(), StatusCode::OK);
    assert_eq!(control.faults_fired("token-expired"), 2);

    // Expiring mid-push: the first authenticated request passes, the next one does not.
    control.inject_after(1, Fault::TokenExpired { count: 1 });
    let statuses = [
        calls.ping().await.unwrap().status(),
        calls.ping().await.unwrap().status(),
        calls.ping().await.unwrap().status(),
    ];
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::FORBIDDEN, StatusCode::OK]
    );
    assert_eq!(control.faults_fired("token-expired"), 3);
    let denied = control.requests().into_iter().filter(|r| r.status == 403);
    assert!(
        denied.map(|r| r.forwarded).all(|f| !f),
        "answered by the proxy"
    );
}

#[tokio::test]
async fn corrupted_manifest_get_keeps_the_length_and_changes_the_digest() {
    let env = TestEnv::start(&[REGION]).await;
    let region = env.region(REGION);
    let control = region.control();
    let stored = seed_image(region, "app", "v1").await;
    let digest = sha256_digest(&stored);
    let calls = Calls::new(region);
    control.inject(Fault::CorruptManifestGet { count: 1 });

    let missing = calls.get_manifest("app", "absent").await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(control.faults_fired("corrupt-manifest-get"), 0, "only 200s");

    let served = calls.get_manifest("app", &digest).await.unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    let length = served.headers()["content-length"]
        .to_str()
        .unwrap()
        .to_string();
    let body = served.bytes().await.unwrap();
    assert_eq!(length, stored.len().to_string());
    assert_eq!(body.len(), stored.len());
    assert_ne!(
        sha256_digest(&body),
        digest,
        "a client hashing it sees the mismatch"
    );
    assert!(
        serde_json::from_slice::<serde_json::Value>(&body).is_ok(),
        "still JSON"
    );
    assert_eq!(control.faults_fired("corrupt-manifest-get"), 1);

    let again = calls.get_manifest("app", "v1").await.unwrap();
    assert_eq!(again.bytes().await.unwrap(), stored, "budget spent");
    let in_registry = skopeo::inspect_raw(region, "app", &digest).await.unwrap();
    assert_eq!(in_registry, stored, "the stored manifest is untouched");
}

#[tokio::test]
async fn faults_are_per_region_and_clearing_restores_everything() {
    let env = TestEnv::start(&["us-east-1", "eu-west-1"]).await;
    let (east, west) = (env.region("us-east-1"), env.region("eu-west-1"));
    let stored = seed_image(west, "app", "v1").await;
    let control = west.control();
    control.inject(Fault::Status {
        status: 500,
        count: 5,
        kind: None,
    });
    control.inject(Fault::TokenExpired { count: 5 });
    control.inject(Fault::CorruptManifestGet { count: 5 });
    control.inject(Fault::CutUploadAfter { bytes: 1, times: 5 });
    control.inject(Fault::Latency(Duration::from_millis(1)));
    assert_eq!(control.armed_faults().len(), 5);
    assert_eq!(
        Calls::new(east).ping().await.unwrap().status(),
        StatusCode::OK
    );
    assert!(
        east.control().all_faults_fired().is_empty(),
        "the other region is untouched"
    );
    let r = Calls::new(west).ping().await.unwrap();
    assert_eq!(
        r.status(),
        StatusCode::INTERNAL_SERVER_ERROR,
        "first armed wins"
    );

    control.clear_faults();
    let calls = Calls::new(west);
    assert_eq!(calls.ping().await.unwrap().status(), StatusCode::OK);
    let served = calls.get_manifest("app", "v1").await.unwrap();
    assert_eq!(served.bytes().await.unwrap(), stored);
    let put = calls.upload("app", &blob(4096)).await.unwrap();
    assert_eq!(put.status(), StatusCode::CREATED);
    assert_eq!(control.faults_fired("status-500"), 1);
    control.reset_counts();
    assert!(control.all_faults_fired().is_empty());
}
