//! Connection-level faults: refused connections, hung requests, cut and stalled uploads.

use std::time::{Duration, Instant};

use reqwest::{Response, StatusCode};

use super::{Calls, REGION, SOON, blob, client};
use crate::harness::registry::USER;
use crate::harness::skopeo::{self, sha256_digest};
use crate::harness::{Fault, Region, TestEnv};

#[tokio::test]
async fn refused_connections_fail_at_connect_and_clearing_listens_again_on_the_same_port() {
    let env = TestEnv::start(&[REGION]).await;
    let region = env.region(REGION);
    let control = region.control();
    let calls = Calls::new(region);
    assert_eq!(calls.ping().await.unwrap().status(), StatusCode::OK);
    assert_eq!(
        control.open_connections(),
        1,
        "the client keeps its connection"
    );

    control.inject(Fault::RefuseConnections);
    assert_eq!(
        control.faults_fired("refuse-connections"),
        1,
        "the open connection was closed"
    );
    let err = std::net::TcpStream::connect(region.proxy_host()).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    let err = Calls::new(region).ping().await.unwrap_err();
    assert!(err.is_connect(), "a fresh client fails to connect: {err:?}");
    assert!(
        calls.ping().await.is_err(),
        "the pooled connection is gone too"
    );
    assert_eq!(control.requests().len(), 1, "nothing reached the proxy");

    control.clear_faults();
    assert_eq!(calls.ping().await.unwrap().status(), StatusCode::OK);
    assert!(std::net::TcpStream::connect(region.proxy_host()).is_ok());
    assert!(control.armed_faults().is_empty());
    assert_eq!(control.requests().len(), 2);
}

#[tokio::test]
async fn hung_request_times_out_on_the_client_and_ends_when_cleared_or_dropped() {
    let env = TestEnv::start(&[REGION]).await;
    let region = env.region(REGION);
    let control = region.control().clone();
    control.inject(Fault::Hang);

    let started = Instant::now();
    let err = Calls::with_timeout(region, Duration::from_secs(1))
        .ping()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(control.faults_fired("hang"), 1);

    // A request hanging when the faults are cleared is closed without an answer.
    let hanging = spawn_ping(region);
    control.wait_until_fired("hang", 2, SOON).await;
    control.clear_faults();
    let released = tokio::time::timeout(SOON, hanging).await.unwrap().unwrap();
    let err = released.unwrap_err();
    assert!(!err.is_timeout(), "closed, not timed out: {err:?}");
    assert_eq!(
        Calls::new(region).ping().await.unwrap().status(),
        StatusCode::OK
    );

    // A request hanging when the proxy is dropped ends too: tests never hang.
    control.inject(Fault::Hang);
    let hanging = spawn_ping(region);
    control.wait_until_fired("hang", 3, SOON).await;
    drop(env);
    let ended = tokio::time::timeout(SOON, hanging).await.unwrap().unwrap();
    assert!(ended.is_err());
    // The first hung request ended when its client gave up, the second when cleared.
    let statuses: Vec<u16> = control.requests().iter().map(|r| r.status).collect();
    assert_eq!(
        statuses[..3],
        [0, 0, 200],
        "hung requests are logged unanswered"
    );
}

/// `GET /v2/` in a task of its own, with a 30 s client timeout.
fn spawn_ping(region: &Region) -> tokio::task::JoinHandle<reqwest::Result<Response>> {
    let request = client(Duration::from_secs(30))
        .get(format!("{}/v2/", region.proxy_url()))
        .basic_auth(USER, Some(region.password()));
    tokio::spawn(request.send())
}

#[tokio::test]
async fn upload_cut_after_n_bytes_leaves_no_blob_and_the_next_upload_lands() {
    let env = TestEnv::start(&[REGION]).await;
    let region = env.region(REGION);
    let control = region.control();
    let data = blob(1024 * 1024);
    let digest = sha256_digest(&data);
    control.inject(Fault::CutUploadAfter {
        bytes: 100_000,
        times: 1,
    });

    let err = Calls::new(region).upload("app", &data).await.unwrap_err();
    assert!(!err.is_timeout(), "cut, not hung: {err:?}");
    assert_eq!(control.faults_fired("cut-upload"), 1);
    let cut = control.requests().pop().unwrap();
    assert_eq!(
        (cut.method.as_str(), cut.status, cut.forwarded),
        ("PUT", 0, true)
    );
    assert!(!skopeo::blob_exists(region, "app", &digest).await.unwrap());

    // The budget is spent: the same upload, in a new session, lands.
    let put = Calls::new(region).upload("app", &data).await.unwrap();
    assert_eq!(put.status(), StatusCode::CREATED);
    assert!(skopeo::blob_exists(region, "app", &digest).await.unwrap());
    assert_eq!(control.faults_fired("cut-upload"), 1);
    assert!(control.armed_faults().is_empty());
}

#[tokio::test]
async fn stalled_upload_times_out_on_the_client_and_lands_nothing() {
    let env = TestEnv::start(&[REGION]).await;
    let region = env.region(REGION);
    let control = region.control();
    let data = blob(256 * 1024);
    control.inject(Fault::StallUploadAfter {
        bytes: 10_000,
        times: 1,
    });
    let calls = Calls::with_timeout(region, Duration::from_secs(1));
    let err = calls.upload("app", &data).await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(control.faults_fired("stall-upload"), 1);
    control.clear_faults();
    let digest = sha256_digest(&data);
    assert!(!skopeo::blob_exists(region, "app", &digest).await.unwrap());
    let put = Calls::new(region).upload("app", &data).await.unwrap();
    assert_eq!(put.status(), StatusCode::CREATED);
}
