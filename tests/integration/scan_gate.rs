//! The scan gate end to end: findings set in the scan stand-in in front of moto, read by the
//! binary between verification and phase 2; tags read back with skopeo straight from the
//! registries. A refused gate is exit 4 with no tag anywhere; a scan that never completes is
//! exit 1 within `scan-timeout`; `report` passes and counts.

use std::time::{Duration, Instant};

use crate::harness::scan_stand_in::{ImageScan, ScanAnswer, ScanKind, ScanStandIn, StandInFinding};
use crate::harness::{RunOutput, TestEnv, ecr_fanout, run, skopeo};
use crate::scenario::*;

const CVE: &str = "CVE-2026-0001";

fn scans(env: &TestEnv) -> &ScanStandIn {
    env.moto().scans()
}

/// Every region scans basic, and `digest` has no findings there.
fn clean_everywhere(env: &TestEnv, digest: &str) {
    for region in env.regions() {
        scans(env).set_scanning_type(region.name(), ScanKind::Basic);
        scans(env).set_image(region.name(), digest, ImageScan::basic(vec![]));
    }
}

fn high() -> Vec<StandInFinding> {
    vec![
        StandInFinding::new(CVE, "HIGH"),
        StandInFinding::new("CVE-2026-0002", "LOW"),
    ]
}

/// No registry has a tag in `repository`.
async fn assert_no_tag_anywhere(env: &TestEnv, repository: &str) {
    for region in env.regions() {
        let tags = skopeo::tags(region, repository).await.unwrap_or_default();
        assert!(tags.is_empty(), "{} has tags {tags:?}", region.name());
    }
}

/// Every `DescribeImageScanFindings` the binary made was answered by the stand-in.
fn assert_scans_answered_by_stand_in(env: &TestEnv) {
    let reads: Vec<_> = env
        .moto()
        .calls()
        .into_iter()
        .filter(|c| c.action == "DescribeImageScanFindings")
        .collect();
    assert!(!reads.is_empty(), "no scan was read");
    assert!(reads.iter().all(|c| c.stand_in), "{reads:?}");
}

async fn gate(env: &TestEnv, image: &str, extra: &[&str]) -> RunOutput {
    let mut args = vec!["--tags", "v1", "--create-repository", "--scan", "gate"];
    args.extend(extra);
    push(env, image, "web", &args).await
}

#[tokio::test]
async fn a_high_finding_in_one_of_three_regions_refuses_the_run_and_no_tag_moves() {
    let env = TestEnv::start(&REGIONS).await;
    let (image, digest) = single_manifest_image(&env, "scan-high");
    clean_everywhere(&env, &digest);
    scans(&env).set_image("eu-west-1", &digest, ImageScan::basic(high()));
    let out = gate(&env, &image, &["--scan-destinations", "all"]).await;
    assert_eq!(out.status, 4, "{out}");
    assert_no_tag_anywhere(&env, "web").await;
    assert_stderr_says(
        &out,
        &[
            "region eu-west-1",
            "scan gate refused",
            "1 HIGH",
            CVE,
            "no tag was moved",
        ],
    );
    let report = report(&out);
    assert_eq!(report["error_kind"], "gate");
    let eu = &report["regions"][1];
    assert_eq!(eu["scan"]["counts"]["HIGH"], 1);
    assert_eq!(eu["scan"]["counts"]["LOW"], 1);
    assert_eq!(eu["scan"]["worst"][0]["id"], CVE);
    assert_eq!(eu["error_kind"], "gate");
    for region in env.regions() {
        assert_eq!(
            scans(&env).starts(region.name(), &digest),
            1,
            "{}",
            region.name()
        );
        assert!(
            scans(&env).reads(region.name(), &digest) >= 2,
            "{}",
            region.name()
        );
    }
    assert_scans_answered_by_stand_in(&env);
}

#[tokio::test]
async fn an_ignored_finding_passes_and_an_expired_ignore_refuses() {
    let env = TestEnv::start(&REGIONS).await;
    let (image, digest) = single_manifest_image(&env, "scan-ignore");
    clean_everywhere(&env, &digest);
    scans(&env).set_image("us-east-1", &digest, ImageScan::basic(high()));
    let expired = format!("{CVE} until=2020-01-01");
    let out = gate(&env, &image, &["--scan-ignore", &expired]).await;
    assert_eq!(out.status, 4, "{out}");
    assert_stderr_says(&out, &["has expired", "region us-east-1", CVE]);
    assert_no_tag_anywhere(&env, "web").await;

    // The second run finds the first run's scan and reads it without starting another.
    let ignore = format!("{CVE} until=2999-12-31");
    let out = gate(&env, &image, &["--scan-ignore", &ignore]).await;
    assert!(out.success(), "{out}");
    assert_tags_everywhere(&env, "web", &["v1"], &digest).await;
    let scan = &report(&out)["regions"][0]["scan"];
    assert_eq!(scan["ignored"], 1);
    assert_eq!(scan["counts"], serde_json::json!({"LOW": 1}));
    assert_eq!(scans(&env).starts("us-east-1", &digest), 1);
    assert_eq!(
        scans(&env).starts("eu-west-1", &digest),
        0,
        "only the primary is scanned"
    );
}

#[tokio::test]
async fn report_mode_passes_and_counts_in_the_report_summary_and_outputs() {
    let env = TestEnv::start(&REGIONS).await;
    let (image, digest) = single_manifest_image(&env, "scan-report");
    clean_everywhere(&env, &digest);
    scans(&env).set_image("us-east-1", &digest, ImageScan::basic(high()));
    let (summary, summary_arg) = work_file(&env, "summary.md");
    let (outputs, outputs_arg) = work_file(&env, "outputs");
    let (dotenv, dotenv_arg) = work_file(&env, "scan.env");
    let mut cmd = push_command(
        &env,
        &image,
        "web",
        &["--tags", "v1", "--create-repository"],
    );
    cmd.args(["--scan", "report", "--dotenv-file", &dotenv_arg]);
    cmd.env("GITHUB_STEP_SUMMARY", &summary_arg)
        .env("GITHUB_OUTPUT", &outputs_arg);
    let out = run(cmd).await;
    assert!(out.success(), "{out}");
    assert_tags_everywhere(&env, "web", &["v1"], &digest).await;
    let report = report(&out);
    let scan = &report["regions"][0]["scan"];
    assert_eq!(scan["status"], "complete");
    assert_eq!(scan["type"], "BASIC");
    assert_eq!(scan["counts"]["HIGH"], 1);
    assert_eq!(scan["gate"], false);
    assert!(report["regions"][1].get("scan").is_none());
    let summary = std::fs::read_to_string(summary).unwrap();
    assert!(
        summary.contains("| us-east-1 | BASIC | complete | 1 HIGH, 1 LOW |"),
        "{summary}"
    );
    let outputs = std::fs::read_to_string(outputs).unwrap();
    assert!(
        outputs
            .contains("scan-findings<<ECR_FANOUT_EOF_0\n{\"us-east-1\":{\"LOW\":1,\"HIGH\":1}}\n"),
        "{outputs}"
    );
    let dotenv = std::fs::read_to_string(dotenv).unwrap();
    assert!(!dotenv.contains("SCAN"), "{dotenv}");
}

#[tokio::test]
async fn a_scan_that_never_completes_fails_within_the_timeout_and_moves_no_tag() {
    let env = TestEnv::start(&REGIONS).await;
    let (image, digest) = single_manifest_image(&env, "scan-timeout");
    clean_everywhere(&env, &digest);
    scans(&env).set_image("us-east-1", &digest, ImageScan::never_completing());
    let started = Instant::now();
    let out = gate(&env, &image, &["--scan-timeout", "3"]).await;
    let seconds = started.elapsed();
    assert_eq!(out.status, 1, "{out}");
    assert!(seconds < Duration::from_secs(60), "took {seconds:?}");
    assert_stderr_says(
        &out,
        &[
            "region us-east-1",
            "did not complete within scan-timeout (3 s)",
        ],
    );
    assert_no_tag_anywhere(&env, "web").await;
    assert_eq!(report(&out)["regions"][0]["scan"]["status"], "timed-out");
}

#[tokio::test]
async fn enhanced_findings_that_arrive_after_complete_still_refuse() {
    let env = TestEnv::start(&REGIONS).await;
    let (image, digest) = single_manifest_image(&env, "scan-late");
    scans(&env).set_scanning_type("us-east-1", ScanKind::Enhanced);
    let late = vec![StandInFinding::new(CVE, "CRITICAL").fix("YES")];
    let scan = ImageScan {
        reads: vec![
            ScanAnswer::Running,
            ScanAnswer::Status("COMPLETE", vec![]),
            ScanAnswer::Status("ACTIVE", late),
        ],
        ..ImageScan::enhanced(vec![])
    };
    scans(&env).set_image("us-east-1", &digest, scan);
    let out = gate(&env, &image, &["--scan-fixable-only", "true"]).await;
    assert_eq!(out.status, 4, "{out}");
    assert_stderr_says(&out, &["1 CRITICAL", CVE, "with a fix available"]);
    assert_no_tag_anywhere(&env, "web").await;
    let scan = &report(&out)["regions"][0]["scan"];
    assert_eq!(scan["type"], "ENHANCED");
    assert_eq!(scan["worst"][0]["fix_available"], true);
    assert_eq!(scans(&env).starts("us-east-1", &digest), 0);
    assert!(scans(&env).reads("us-east-1", &digest) >= 4);
}

#[tokio::test]
async fn each_platform_of_an_index_is_scanned() {
    let env = TestEnv::start(&REGIONS).await;
    let (image, _) = multi_platform_image(&env, "scan-index");
    let local = ecr_fanout::image::open_image(&image.parse().unwrap()).unwrap();
    let platforms = local.index_entries().unwrap().unwrap().platform_images;
    let children: Vec<String> = platforms.iter().map(|d| d.digest.to_string()).collect();
    assert_eq!(children.len(), 2);
    scans(&env).set_scanning_type("us-east-1", ScanKind::Basic);
    // Already scanned today: StartImageScan answers LimitExceeded, once (no retry), and that
    // scan's findings are read.
    let scanned_today = ImageScan {
        scanned_today: true,
        ..ImageScan::basic(vec![])
    };
    scans(&env).set_image("us-east-1", &children[0], scanned_today);
    scans(&env).set_image("us-east-1", &children[1], ImageScan::basic(high()));
    let out = gate(&env, &image, &[]).await;
    assert_eq!(out.status, 4, "{out}");
    assert_no_tag_anywhere(&env, "web").await;
    for child in &children {
        assert_eq!(scans(&env).starts("us-east-1", child), 1, "{child}");
    }
    let scan = &report(&out)["regions"][0]["scan"];
    assert_eq!(scan["manifests"], serde_json::json!(children));
    assert_scans_answered_by_stand_in(&env);
}

#[tokio::test]
async fn the_dry_run_says_what_would_be_scanned_and_how() {
    let env = TestEnv::start(&["us-east-1", "eu-west-1"]).await;
    let (image, _) = single_manifest_image(&env, "scan-dry");
    scans(&env).set_scanning_type("us-east-1", ScanKind::Enhanced);
    scans(&env).set_scanning_type("eu-west-1", ScanKind::Basic);
    let mut cmd = ecr_fanout(&env);
    cmd.args([
        "push",
        "--image",
        &image,
        "--repository",
        "web",
        "--tags",
        "v1",
    ])
    .args([
        "--regions",
        "us-east-1,eu-west-1",
        "--create-repository",
        "--dry-run",
    ])
    .args(["--registry-endpoints", &env.registry_endpoints_arg()])
    .args(["--scan", "gate", "--scan-destinations", "all"]);
    let out = run(cmd).await;
    assert!(out.success(), "{out}");
    assert!(
        out.stdout.contains("scan: would scan 1 manifest(s), gate: findings at or above HIGH refuse the run (enhanced scanning"),
        "{out}"
    );
    assert!(
        out.stdout.contains("(basic scanning: a scan is started"),
        "{out}"
    );
    assert_eq!(env.moto().count_calls("DescribeImageScanFindings"), 0);
    assert_eq!(env.moto().count_calls("StartImageScan"), 0);
}

#[tokio::test]
async fn a_bad_scan_input_is_one_line_naming_the_input() {
    let env = TestEnv::start(&["us-east-1"]).await;
    let (image, _) = single_manifest_image(&env, "scan-bad");
    let out = push(
        &env,
        &image,
        "web",
        &["--tags", "v1", "--scan-severity-threshold", "SEVERE"],
    )
    .await;
    assert_eq!(out.status, 2, "{out}");
    assert_stderr_says(
        &out,
        &[
            "invalid input `scan-severity-threshold`: 'SEVERE' is not valid; use CRITICAL, HIGH, MEDIUM or LOW",
        ],
    );
}
