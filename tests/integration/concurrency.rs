//! Two runs pushing the same tag at the same time. Each run reads every region's tags once more
//! after all of its puts (the convergence check): converged, superseded (a later run moved the
//! tag consistently: exit 0 with a warning) or split (exit 3 naming every region's digest). The
//! interleaving is made deterministic with the proxy's hold-and-release fault; what each run
//! reports is compared with what skopeo reads from the registries.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::fault::Fault;
use crate::harness::{RunOutput, TestEnv, skopeo};
use crate::scenario::*;

const WITHIN: Duration = Duration::from_secs(120);

fn hold(method: &'static str, tag: &str) -> Fault {
    Fault::Hold {
        method,
        reference: tag.into(),
        count: 1,
    }
}

async fn with_repository(env: &TestEnv) {
    for region in env.regions() {
        env.create_repository(region.name(), "web").await;
    }
}

/// What skopeo reads for `tag` in every region.
async fn served(env: &TestEnv, tag: &str) -> BTreeMap<String, String> {
    let mut served = BTreeMap::new();
    for region in env.regions() {
        let digest = skopeo::manifest_digest(region, "web", tag).await.unwrap();
        served.insert(region.name().to_string(), digest);
    }
    served
}

/// The run's verdict for `tag` in its JSON report.
fn convergence(out: &RunOutput, tag: &str) -> Value {
    report(out)["convergence"][tag].clone()
}

fn digests_json(served: &BTreeMap<String, String>) -> Value {
    json!(served)
}

/// Drives `run` while `step` completes; the run must not finish first.
macro_rules! while_running {
    ($run:expr, $step:expr) => {
        tokio::select! {
            out = &mut $run => panic!("the run finished early: {out}"),
            value = $step => value,
        }
    };
}

#[tokio::test]
async fn a_put_held_in_one_region_while_another_run_completes_ends_split() {
    let env = TestEnv::start(&REGIONS).await;
    with_repository(&env).await;
    let (image_a, digest_a) = single_manifest_image(&env, "race-a");
    let (image_b, digest_b) = single_manifest_image(&env, "race-b");
    let late = env.region("ap-southeast-2").control();
    late.inject(hold("PUT", "race"));

    let run_a = push(&env, &image_a, "web", &["--tags", "race"]);
    tokio::pin!(run_a);
    while_running!(run_a, late.wait_until_fired("hold", 1, WITHIN));
    for name in ["us-east-1", "eu-west-1"] {
        let control = env.region(name).control();
        let put_done = |_: &[_]| control.manifest_requests("PUT", "race").contains(&201);
        while_running!(run_a, control.wait_for_log("A's tag put", WITHIN, put_done));
    }

    // B runs from start to end while A's put waits in ap-southeast-2.
    let out_b = while_running!(run_a, push(&env, &image_b, "web", &["--tags", "race"]));
    assert!(out_b.success(), "{out_b}");
    let at_b = served(&env, "race").await;
    assert!(at_b.values().all(|d| *d == digest_b), "{at_b:?}");
    assert_eq!(convergence(&out_b, "race")["state"], "converged", "{out_b}");
    assert_eq!(convergence(&out_b, "race")["digests"], digests_json(&at_b));

    late.release_held();
    let out_a = run_a.await;
    let at_a = served(&env, "race").await;
    assert_eq!(at_a["ap-southeast-2"], digest_a);
    assert_eq!(at_a["us-east-1"], digest_b);
    assert_eq!(at_a["eu-west-1"], digest_b);
    assert_eq!(out_a.status, 3, "{out_a}");
    assert_eq!(convergence(&out_a, "race")["state"], "split", "{out_a}");
    assert_eq!(convergence(&out_a, "race")["digests"], digests_json(&at_a));
    assert_stderr_says(
        &out_a,
        &[
            &format!(
                "tag race ended split across regions: {}",
                if digest_a < digest_b {
                    format!("{digest_a} in ap-southeast-2; {digest_b} in eu-west-1, us-east-1")
                } else {
                    format!("{digest_b} in eu-west-1, us-east-1; {digest_a} in ap-southeast-2")
                }
            ),
            "another run moved it concurrently",
            "concurrency:",
            "resource_group",
            "a re-run of the intended image repairs it",
        ],
    );
}

#[tokio::test]
async fn a_run_whose_final_read_comes_after_another_run_reports_superseded() {
    let env = TestEnv::start(&REGIONS).await;
    with_repository(&env).await;
    let (image_a, digest_a) = single_manifest_image(&env, "super-a");
    let (image_b, digest_b) = single_manifest_image(&env, "super-b");
    // A reads `race` three times per region: the plan, the read-back, the final read. Hold the
    // final one everywhere.
    for region in env.regions() {
        region.control().inject_after(2, hold("GET", "race"));
    }
    let run_a = push(&env, &image_a, "web", &["--tags", "race"]);
    tokio::pin!(run_a);
    for region in env.regions() {
        while_running!(run_a, region.control().wait_until_fired("hold", 1, WITHIN));
    }
    let at_a_puts = served(&env, "race").await;
    assert!(at_a_puts.values().all(|d| *d == digest_a), "{at_a_puts:?}");

    let out_b = while_running!(run_a, push(&env, &image_b, "web", &["--tags", "race"]));
    assert!(out_b.success(), "{out_b}");
    assert_eq!(convergence(&out_b, "race")["state"], "converged", "{out_b}");

    for region in env.regions() {
        region.control().release_held();
    }
    let out_a = run_a.await;
    assert!(out_a.success(), "superseded is exit 0: {out_a}");
    let at_end = served(&env, "race").await;
    assert!(at_end.values().all(|d| *d == digest_b), "{at_end:?}");
    assert_eq!(
        convergence(&out_a, "race")["state"],
        "superseded",
        "{out_a}"
    );
    assert_eq!(
        convergence(&out_a, "race")["digests"],
        digests_json(&at_end)
    );
    assert_stderr_says(
        &out_a,
        &[
            &format!("tag race now points at {digest_b} in every region"),
            "another run",
        ],
    );
}

#[tokio::test]
async fn puts_held_until_another_run_completed_leave_both_runs_converged_when_they_checked() {
    let env = TestEnv::start(&REGIONS).await;
    with_repository(&env).await;
    let (image_a, digest_a) = single_manifest_image(&env, "order-a");
    let (image_b, digest_b) = single_manifest_image(&env, "order-b");
    for region in env.regions() {
        region.control().inject(hold("PUT", "race"));
    }
    let run_b = push(&env, &image_b, "web", &["--tags", "race"]);
    tokio::pin!(run_b);
    for region in env.regions() {
        while_running!(run_b, region.control().wait_until_fired("hold", 1, WITHIN));
    }
    let out_a = while_running!(run_b, push(&env, &image_a, "web", &["--tags", "race"]));
    assert!(out_a.success(), "{out_a}");
    let at_a = served(&env, "race").await;
    assert!(at_a.values().all(|d| *d == digest_a), "{at_a:?}");
    assert_eq!(convergence(&out_a, "race")["state"], "converged", "{out_a}");

    for region in env.regions() {
        region.control().release_held();
    }
    let out_b = run_b.await;
    assert!(out_b.success(), "{out_b}");
    let at_b = served(&env, "race").await;
    assert!(at_b.values().all(|d| *d == digest_b), "{at_b:?}");
    assert_eq!(convergence(&out_b, "race")["state"], "converged", "{out_b}");
    assert_eq!(convergence(&out_b, "race")["digests"], digests_json(&at_b));
}

#[tokio::test]
async fn without_concurrency_the_check_costs_one_read_per_region_and_tag() {
    let env = TestEnv::start(&REGIONS).await;
    let (image, digest) = single_manifest_image(&env, "alone");
    let out = push_ok(
        &env,
        &image,
        "web",
        &["--tags", "v1,latest", "--create-repository"],
    )
    .await;
    for tag in ["v1", "latest"] {
        let verdict = convergence(&out, tag);
        assert_eq!(verdict["state"], "converged");
        assert_eq!(verdict["digests"], digests_json(&served(&env, tag).await));
        for region in env.regions() {
            // The plan reads no tags of a repository it creates; then one read-back after the
            // put, and the one extra read of the convergence check.
            assert_eq!(
                region.control().manifest_requests("GET", tag),
                [200, 200],
                "{} {tag}",
                region.name()
            );
        }
    }
    assert_tags_everywhere(&env, "web", &["v1", "latest"], &digest).await;

    for region in env.regions() {
        region.control().reset_counts();
    }
    push_ok(&env, &image, "web", &["--tags", "v1,latest"]).await;
    for region in env.regions() {
        for tag in ["v1", "latest"] {
            // The plan's read and the convergence check's; nothing was put, so no read-back.
            assert_eq!(
                region.control().manifest_requests("GET", tag),
                [200, 200],
                "{} {tag} on a re-run",
                region.name()
            );
        }
    }
}
