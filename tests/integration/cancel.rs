//! Cancellation in every phase: SIGINT or SIGTERM (a cancelled CI job) during the build, the
//! plan, the uploads or the tag puts stops the run promptly with exit 1, writes nothing that
//! was not yet in flight, and the report says exactly what each region holds (checked with
//! skopeo). Signals come from the test process itself; every wait is on an event (a fault that
//! fired, a line on stderr), never a sleep.

use std::time::Duration;

use crate::build::support::{build_command, logins_left};
use crate::harness::fault::Fault;
use crate::harness::running::Running;
use crate::harness::{RunOutput, TestEnv, skopeo};
use crate::repository_support::region_report;
use crate::scenario::*;

const WITHIN: Duration = Duration::from_secs(120);
/// How long a run may take to stop after the signal.
const STOPS_WITHIN: Duration = Duration::from_secs(20);

fn hold(method: &'static str, reference: &str) -> Fault {
    Fault::Hold {
        method,
        reference: reference.into(),
        count: 1,
    }
}

/// Sends `signal` once the run said it is where the test wants it, then collects the output.
async fn signal_and_finish(run: Running, signal: i32) -> RunOutput {
    run.signal(signal);
    run.finish(STOPS_WITHIN).await
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGINT => "SIGINT",
        _ => "SIGTERM",
    }
}

#[tokio::test]
async fn sigterm_during_upload_moves_no_tag() {
    let env = TestEnv::start(&REGIONS[..2]).await;
    let (image, _) = single_manifest_image(&env, "cancel");
    let stalled = env.region("eu-west-1").control();
    stalled.inject(Fault::StallUploadAfter {
        bytes: 1000,
        times: 1,
    });
    let run = Running::start(push_command(
        &env,
        &image,
        "web",
        &["--tags", "v1", "--create-repository"],
    ));
    stalled.wait_until_fired("stall-upload", 1, WITHIN).await;
    let out = signal_and_finish(run, libc::SIGTERM).await;
    assert_eq!(out.status, 1, "{out}");
    assert_stderr_says(
        &out,
        &[
            "received SIGTERM",
            "repository web: upload: cancelled in 2 regions: us-east-1, eu-west-1",
            "no tag was moved in any region",
        ],
    );
    assert_eq!(report(&out)["status"], "failed");
    stalled.clear_faults();
    for region in env.regions() {
        assert!(
            skopeo::tags(region, "web").await.unwrap().is_empty(),
            "{}",
            region.name()
        );
    }
}

#[tokio::test]
async fn sigint_and_sigterm_during_the_plan_write_nothing() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let env = TestEnv::start(&REGIONS).await;
        for region in env.regions() {
            env.create_repository(region.name(), "web").await;
        }
        let (image, digest) = single_manifest_image(&env, "plan-signal");
        // The plan reads the tag's current digest; hold that read in one region.
        let slow = env.region("ap-southeast-2").control();
        slow.inject(hold("GET", "v1"));
        let run = Running::start(push_command(&env, &image, "web", &["--tags", "v1"]));
        slow.wait_until_fired("hold", 1, WITHIN).await;
        let out = signal_and_finish(run, signal).await;
        let name = signal_name(signal);
        assert_eq!(out.status, 1, "{name}: {out}");
        assert_stderr_says(
            &out,
            &[
                &format!("received {name}"),
                "cancelled during the plan; nothing was written",
            ],
        );
        slow.release_held();
        assert_nothing_uploaded(&env, "web", &digest).await;
    }
}

#[tokio::test]
async fn sigterm_during_tag_puts_lets_only_the_puts_in_flight_land() {
    let env = TestEnv::start(&REGIONS).await;
    let (image, digest) = single_manifest_image(&env, "tag-signal");
    let tags = ["t1", "t2", "t3", "t4", "t5"];
    // Three tag puts are in flight at once per region: hold all three in eu-west-1.
    let slow = env.region("eu-west-1").control();
    for tag in &tags[..3] {
        slow.inject(hold("PUT", tag));
    }
    let run = Running::start(push_command(
        &env,
        &image,
        "web",
        &["--tags", &tags.join(","), "--create-repository"],
    ));
    slow.wait_until_fired("hold", 3, WITHIN).await;
    run.signal(libc::SIGTERM);
    run.wait_for_stderr("received SIGTERM", STOPS_WITHIN).await;
    slow.release_held();
    let out = run.finish(STOPS_WITHIN).await;
    assert_eq!(out.status, 1, "{out}");
    assert_stderr_says(&out, &["cancelled before the tag was put"]);
    let report = report(&out);
    for region in env.regions() {
        let mut served = skopeo::tags(region, "web").await.unwrap();
        served.sort();
        let mut moved: Vec<String> =
            serde_json::from_value(region_report(&report, region.name())["tags_moved"].clone())
                .unwrap();
        moved.sort();
        assert_eq!(
            moved,
            served,
            "{}: the report says what landed",
            region.name()
        );
        for tag in &served {
            let at = skopeo::manifest_digest(region, "web", tag).await.unwrap();
            assert_eq!(at, digest, "{} {tag}", region.name());
        }
    }
    let mut in_flight = skopeo::tags(env.region("eu-west-1"), "web").await.unwrap();
    in_flight.sort();
    assert_eq!(
        in_flight,
        ["t1", "t2", "t3"],
        "the held puts finished; t4, t5 never started"
    );
}

#[tokio::test]
async fn sigterm_during_a_buildah_build_stops_the_builder_and_removes_its_login() {
    let env = TestEnv::start(&REGIONS[..1]).await;
    let storage = crate::harness::buildah::BuildahStorage::in_dir(&env.path("buildah")).unwrap();
    storage.require_buildah().await;
    // A COPY of a large (sparse) file keeps buildah busy for seconds.
    let context = env.path("slow-build");
    std::fs::create_dir_all(&context).unwrap();
    let big = std::fs::File::create(context.join("big.bin")).unwrap();
    big.set_len(8 << 30).unwrap();
    std::fs::write(
        context.join("Dockerfile"),
        "FROM scratch\nCOPY big.bin /big.bin\n",
    )
    .unwrap();
    // A cache in the region's ECR registry: the builder runs logged in to it.
    let cache = format!("{}/cache:build", env.regions()[0].proxy_host());
    let args = ["--builder", "buildah", "--tags", "v1", "--cache-to", &cache];
    let tmp = env.path("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let mut vars = storage.env_vars();
    vars.push(("TMPDIR".into(), tmp.display().to_string()));
    let cmd = build_command(&env, vars, &context, &args);
    let run = Running::start(cmd);
    run.wait_for_stderr("COPY big.bin", WITHIN).await;
    let out = signal_and_finish(run, libc::SIGTERM).await;
    assert_eq!(out.status, 1, "{out}");
    assert_stderr_says(
        &out,
        &[
            "received SIGTERM",
            "cancelled while obtaining the image (the builder was stopped)",
        ],
    );
    let context_arg = context.display().to_string();
    let still_running = processes_naming(&context_arg);
    assert!(
        still_running.is_empty(),
        "builder processes left: {still_running:?}"
    );
    assert!(skopeo::catalog(&env.regions()[0]).await.unwrap().is_empty());
    assert!(out.stderr.contains(" --authfile "), "{out}");
    assert_eq!(logins_left(&tmp), Vec::<String>::new(), "the login is left");
}

/// Processes whose command line mentions `text` (from /proc), zombies left out.
fn processes_naming(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let path = entry.path();
        let Ok(cmdline) = std::fs::read(path.join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let stat = std::fs::read_to_string(path.join("stat")).unwrap_or_default();
        let zombie = stat.rsplit(") ").next().is_some_and(|s| s.starts_with('Z'));
        if cmdline.contains(text) && !zombie {
            found.push(cmdline);
        }
    }
    found
}
