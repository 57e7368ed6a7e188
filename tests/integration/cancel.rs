//! Cancellation: SIGTERM (a cancelled CI job) during phase 1 stops the run promptly, moves no
//! tag anywhere, and says what happened per region.

use std::process::Stdio;
use std::time::Duration;

use crate::harness::fault::Fault;
use crate::harness::{TestEnv, ecr_fanout, skopeo};
use crate::scenario::*;

#[tokio::test]
async fn sigterm_during_upload_moves_no_tag() {
    let env = TestEnv::start(&REGIONS[..2]).await;
    let (image, _) = single_manifest_image(&env, "cancel");
    let stalled = env.region("eu-west-1").control();
    stalled.inject(Fault::StallUploadAfter {
        bytes: 1000,
        times: 1,
    });
    let mut cmd = ecr_fanout(&env);
    cmd.args([
        "push",
        "--json",
        "--image",
        &image,
        "--repository",
        "web",
        "--tags",
        "v1",
    ])
    .args(["--regions", &REGIONS[..2].join(","), "--create-repository"])
    .args(["--registry-endpoints", &env.registry_endpoints_arg()]);
    let child = tokio::process::Command::from(cmd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn ecr-fanout");

    // Readiness, not a sleep: wait until the upload is really stuck in the proxy.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while stalled.faults_fired("stall-upload") == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the upload never reached the proxy"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pid = child.id().expect("pid").to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());

    let out = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .expect("the run did not stop within 20 s of SIGTERM")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("received SIGTERM"), "{stderr}");
    assert!(
        stderr.contains("repository web: upload: cancelled in 2 regions: us-east-1, eu-west-1"),
        "{stderr}"
    );
    assert!(
        stderr.contains("no tag was moved in any region"),
        "{stderr}"
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(report["status"], "failed");
    stalled.clear_faults();
    for region in env.regions() {
        assert!(
            skopeo::tags(region, "web").await.unwrap().is_empty(),
            "{}",
            region.name()
        );
    }
}
