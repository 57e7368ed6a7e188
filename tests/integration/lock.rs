//! The lease lock in DynamoDB (`lock-table`, moto's DynamoDB): concurrent runs move a tag one
//! at a time and the run that held the lock last wins everywhere; a run killed with SIGKILL
//! loses the lock when its lease expires; SIGTERM releases it; an unreachable lock region
//! fails the run or, with `lock-on-unavailable: proceed`, tags without the lock; a missing
//! table is exit 2 unless `lock-create-table`. The interleaving is made deterministic with the
//! proxy's hold-and-release fault; results are read back with skopeo and the SDK.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::fault::Fault;
use crate::harness::lock_table::{LockTableState, lock_table_state};
use crate::harness::running::Running;
use crate::harness::support::free_port;
use crate::harness::{RunOutput, TestEnv};
use crate::scenario::*;

const WITHIN: Duration = Duration::from_secs(120);
const TABLE: &str = "ecr-fanout-locks";

/// A push with the lock table (created when missing), as run `run_id` (`CI_PIPELINE_ID`).
fn locked_push(env: &TestEnv, image: &str, run_id: &str, extra: &[&str]) -> Command {
    let mut cmd = push_command(
        env,
        image,
        "web",
        &[&["--lock-table", TABLE, "--lock-create-table"], extra].concat(),
    );
    cmd.env("CI_PIPELINE_ID", run_id);
    cmd
}

fn hold_put(tag: &str) -> Fault {
    Fault::Hold {
        method: "PUT",
        reference: tag.into(),
        count: 1,
    }
}

async fn with_repository(env: &TestEnv) {
    for region in env.regions() {
        env.create_repository(region.name(), "web").await;
    }
}

async fn table(env: &TestEnv) -> Option<LockTableState> {
    lock_table_state(env.moto(), "us-east-1", TABLE)
        .await
        .unwrap()
}

/// A holds the lock (its put of `held_tag` waits in one region) while B starts and waits,
/// logging A's run id; then A's put is released. Both outputs.
async fn b_waits_for_a(
    env: &TestEnv,
    (image_a, tags_a): (&str, &str),
    (image_b, tags_b): (&str, &str),
    held_tag: &str,
) -> (RunOutput, RunOutput) {
    let late = env.region("eu-west-1").control();
    late.inject(hold_put(held_tag));
    let a = Running::start(locked_push(env, image_a, "pipeline-a", &["--tags", tags_a]));
    late.wait_until_fired("hold", 1, WITHIN).await;
    let b = Running::start(locked_push(env, image_b, "pipeline-b", &["--tags", tags_b]));
    b.wait_for_stderr("held by run pipeline-a", WITHIN).await;
    late.release_held();
    let out_a = a.finish(WITHIN).await;
    let out_b = b.finish(WITHIN).await;
    (out_a, out_b)
}

#[tokio::test]
async fn two_runs_with_a_lock_take_turns_and_the_last_holder_wins_everywhere() {
    let env = TestEnv::start(&["us-east-1", "eu-west-1"]).await;
    with_repository(&env).await;
    let (image_a, digest_a) = single_manifest_image(&env, "lock-a");
    let (image_b, digest_b) = single_manifest_image(&env, "lock-b");
    let (out_a, out_b) = b_waits_for_a(&env, (&image_a, "race"), (&image_b, "race"), "race").await;
    assert!(out_a.success(), "{out_a}");
    assert!(out_b.success(), "{out_b}");
    assert_eq!(report(&out_a)["convergence"]["race"]["state"], "converged");
    assert_eq!(report(&out_b)["convergence"]["race"]["state"], "converged");
    assert_stderr_says(
        &out_b,
        &["waiting for the lock on 123456789012/web:race: held by run pipeline-a"],
    );
    assert!(!out_a.stderr.contains("waiting for the lock"), "{out_a}");
    assert_tags_everywhere(&env, "web", &["race"], &digest_b).await;
    assert_ne!(digest_a, digest_b);
    let left = table(&env).await.unwrap();
    assert_eq!(
        left.items,
        Vec::<String>::new(),
        "both released their items"
    );
}

#[tokio::test]
async fn overlapping_tag_sets_serialise_on_the_shared_tag() {
    let env = TestEnv::start(&["us-east-1", "eu-west-1"]).await;
    with_repository(&env).await;
    let (image_a, digest_a) = single_manifest_image(&env, "overlap-a");
    let (image_b, digest_b) = single_manifest_image(&env, "overlap-b");
    let (out_a, out_b) =
        b_waits_for_a(&env, (&image_a, "v1,latest"), (&image_b, "v2,latest"), "v1").await;
    assert!(out_a.success(), "{out_a}");
    assert!(out_b.success(), "{out_b}");
    assert_stderr_says(&out_b, &["held by run pipeline-a"]);
    assert_tags_everywhere(&env, "web", &["v1"], &digest_a).await;
    assert_tags_everywhere(&env, "web", &["v2", "latest"], &digest_b).await;
}

#[tokio::test]
async fn a_holder_killed_with_sigkill_loses_the_lock_when_its_lease_expires() {
    let env = TestEnv::start(&["us-east-1", "eu-west-1"]).await;
    with_repository(&env).await;
    let (image_a, _) = single_manifest_image(&env, "killed-a");
    let (image_b, digest_b) = single_manifest_image(&env, "killed-b");
    let short = [
        "--tags",
        "race",
        "--lock-lease",
        "2",
        "--lock-timeout",
        "60",
    ];
    let late = env.region("eu-west-1").control();
    late.inject(hold_put("race"));
    let a = Running::start(locked_push(&env, &image_a, "pipeline-a", &short));
    late.wait_until_fired("hold", 1, WITHIN).await;
    a.signal(libc::SIGKILL);
    let killed_at = Instant::now();
    let _ = a.finish(WITHIN).await;
    assert_eq!(table(&env).await.unwrap().items, ["123456789012/web:race"]);

    let out_b = crate::harness::run(locked_push(&env, &image_b, "pipeline-b", &short)).await;
    assert!(out_b.success(), "{out_b}");
    assert_stderr_says(&out_b, &["held by run pipeline-a"]);
    // The lease (2 s) plus the clock-skew margin (5 s), plus one pause between attempts.
    let took_over_after = killed_at.elapsed();
    assert!(
        took_over_after < Duration::from_secs(2 + 5 + 5 + 10),
        "{took_over_after:?}"
    );
    late.release_held();
    assert_tags_everywhere(&env, "web", &["race"], &digest_b).await;
}

#[tokio::test]
async fn sigterm_during_the_tags_releases_the_lock() {
    let env = TestEnv::start(&["us-east-1", "eu-west-1"]).await;
    with_repository(&env).await;
    let (image, _) = single_manifest_image(&env, "term");
    // Three tag puts are in flight at once per region: hold them all in eu-west-1, so that
    // the fourth has not started when the signal arrives.
    let late = env.region("eu-west-1").control();
    for tag in ["t1", "t2", "t3"] {
        late.inject(hold_put(tag));
    }
    let a = Running::start(locked_push(
        &env,
        &image,
        "pipeline-a",
        &["--tags", "t1,t2,t3,t4"],
    ));
    late.wait_until_fired("hold", 3, WITHIN).await;
    assert_eq!(table(&env).await.unwrap().items.len(), 4);
    a.signal(libc::SIGTERM);
    a.wait_for_stderr("received SIGTERM", WITHIN).await;
    late.release_held();
    let out = a.finish(WITHIN).await;
    assert_eq!(out.status, 1, "{out}");
    assert_stderr_says(
        &out,
        &[
            "cancelled before the tag was put",
            "lock released in table ecr-fanout-locks",
        ],
    );
    assert_eq!(table(&env).await.unwrap().items, Vec::<String>::new());
}

#[tokio::test]
async fn waiting_longer_than_the_timeout_fails_naming_the_holder() {
    let env = TestEnv::start(&["us-east-1", "eu-west-1"]).await;
    with_repository(&env).await;
    let (image_a, digest_a) = single_manifest_image(&env, "patient-a");
    let (image_b, _) = single_manifest_image(&env, "impatient-b");
    let late = env.region("eu-west-1").control();
    late.inject(hold_put("race"));
    let a = Running::start(locked_push(
        &env,
        &image_a,
        "pipeline-a",
        &["--tags", "race"],
    ));
    late.wait_until_fired("hold", 1, WITHIN).await;
    let b = locked_push(
        &env,
        &image_b,
        "pipeline-b",
        &["--tags", "race", "--lock-timeout", "2"],
    );
    let out_b = crate::harness::run(b).await;
    assert_eq!(out_b.status, 1, "{out_b}");
    assert_stderr_says(
        &out_b,
        &[
            "timed out after 2 s waiting for the lock on 123456789012/web:race held by run \
           pipeline-a (lock-timeout); no tag was moved in any region",
        ],
    );
    late.release_held();
    assert!(a.finish(WITHIN).await.success());
    assert_tags_everywhere(&env, "web", &["race"], &digest_a).await;
}

#[tokio::test]
async fn a_lease_taken_over_stops_further_tag_puts_and_fails_the_run() {
    let env = TestEnv::start(&["us-east-1", "eu-west-1"]).await;
    with_repository(&env).await;
    let (image, _) = single_manifest_image(&env, "taken-over");
    let late = env.region("eu-west-1").control();
    for tag in ["t1", "t2", "t3"] {
        late.inject(hold_put(tag));
    }
    let args = ["--tags", "t1,t2,t3,t4", "--lock-lease", "2"];
    let a = Running::start(locked_push(&env, &image, "pipeline-a", &args));
    late.wait_until_fired("hold", 3, WITHIN).await;
    // Another run's item replaces one of A's (as if A's lease had expired): A's next
    // renewal finds its token gone.
    take_over(&env, "123456789012/web:t2").await;
    a.wait_for_stderr("could not be renewed", WITHIN).await;
    late.release_held();
    let out = a.finish(WITHIN).await;
    assert_eq!(out.status, 1, "{out}");
    assert_stderr_says(
        &out,
        &[
            "the lock's lease could not be renewed (the lease had been taken over by another run",
            "eu-west-1, repository web, tag t4: cancelled before the tag was put",
        ],
    );
    let eu = crate::harness::skopeo::tags(env.region("eu-west-1"), "web")
        .await
        .unwrap();
    assert!(!eu.contains(&"t4".to_string()), "{eu:?}");
}

/// Puts an item of another holder under `key`, straight into moto.
async fn take_over(env: &TestEnv, key: &str) {
    use aws_sdk_dynamodb::types::AttributeValue::{N, S};
    crate::harness::lock_table::dynamodb_client(env.moto(), "us-east-1")
        .put_item()
        .table_name(TABLE)
        .item("lock_id", S(key.into()))
        .item("holder_run", S("intruder".into()))
        .item("holder_token", S("intruder-token".into()))
        .item("expires_at_ms", N(i64::MAX.to_string()))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn more_than_100_items_are_taken_100_at_a_time() {
    let env = TestEnv::start(&["us-east-1"]).await;
    with_repository(&env).await;
    let (image, digest) = single_manifest_image(&env, "many");
    let tags: Vec<String> = (0..101).map(|n| format!("t{n:03}")).collect();
    let out =
        crate::harness::run(locked_push(&env, &image, "a", &["--tags", &tags.join(",")])).await;
    assert!(out.success(), "{out}");
    // Two transactions: 100 items, then the last one (no renewal in so short a run).
    assert_eq!(env.moto().count_calls("TransactWriteItems"), 2);
    assert_stderr_says(
        &out,
        &["lock acquired in table ecr-fanout-locks (101 items)"],
    );
    assert_eq!(table(&env).await.unwrap().items, Vec::<String>::new());
    let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
    assert_tags_everywhere(&env, "web", &tags, &digest).await;
}

#[tokio::test]
async fn a_dry_run_takes_no_lock() {
    let env = TestEnv::start(&["us-east-1", "eu-west-1"]).await;
    with_repository(&env).await;
    let (image, _) = single_manifest_image(&env, "dry");
    let out = crate::harness::run(locked_push(
        &env,
        &image,
        "a",
        &["--tags", "v1", "--dry-run"],
    ))
    .await;
    assert!(out.success(), "{out}");
    for call in ["DescribeTable", "CreateTable", "TransactWriteItems"] {
        assert_eq!(env.moto().count_calls(call), 0, "{call}");
    }
    assert_eq!(table(&env).await, None);
}

/// `AWS_ENDPOINT_URL_DYNAMODB` at a port nobody listens on.
fn unreachable_lock(env: &TestEnv, image: &str, policy: &str) -> Command {
    let mut cmd = locked_push(
        env,
        image,
        "pipeline-a",
        &["--tags", "v1", "--lock-on-unavailable", policy],
    );
    let closed = free_port().unwrap();
    cmd.env(
        "AWS_ENDPOINT_URL_DYNAMODB",
        format!("http://127.0.0.1:{closed}"),
    );
    cmd
}

#[tokio::test]
async fn an_unreachable_lock_region_fails_the_run_before_any_upload() {
    let env = TestEnv::start(&["us-east-1", "eu-west-1"]).await;
    with_repository(&env).await;
    let (image, digest) = single_manifest_image(&env, "unreachable");
    let out = crate::harness::run(unreachable_lock(&env, &image, "fail")).await;
    assert_eq!(out.status, 1, "{out}");
    assert_stderr_says(
        &out,
        &[
            "lock table ecr-fanout-locks (region us-east-1) cannot be reached",
            "lock-on-unavailable: proceed",
        ],
    );
    assert_nothing_uploaded(&env, "web", &digest).await;
}

#[tokio::test]
async fn an_unreachable_lock_region_with_proceed_tags_without_the_lock() {
    let env = TestEnv::start(&["us-east-1", "eu-west-1"]).await;
    with_repository(&env).await;
    let (image, digest) = single_manifest_image(&env, "proceed");
    let out = crate::harness::run(unreachable_lock(&env, &image, "proceed")).await;
    assert!(out.success(), "{out}");
    assert_stderr_says(
        &out,
        &["cannot be reached", "moving the tags without the lock"],
    );
    assert_tags_everywhere(&env, "web", &["v1"], &digest).await;
}

#[tokio::test]
async fn a_missing_table_is_exit_2_with_the_command_unless_it_may_be_created() {
    let env = TestEnv::start(&["us-east-1", "eu-west-1"]).await;
    with_repository(&env).await;
    let (image, digest) = single_manifest_image(&env, "missing");
    let refused = push(
        &env,
        &image,
        "web",
        &["--tags", "v1", "--lock-table", TABLE],
    )
    .await;
    assert_eq!(refused.status, 2, "{refused}");
    assert_stderr_says(
        &refused,
        &[
            "lock table ecr-fanout-locks (region us-east-1) does not exist",
            "lock-create-table: true",
            "aws dynamodb create-table --region us-east-1 --table-name ecr-fanout-locks",
        ],
    );
    assert_nothing_uploaded(&env, "web", &digest).await;
    assert_eq!(table(&env).await, None);

    let out = push(
        &env,
        &image,
        "web",
        &["--tags", "v1", "--lock-table", TABLE, "--lock-create-table"],
    )
    .await;
    assert!(out.success(), "{out}");
    assert_eq!(
        table(&env).await,
        Some(LockTableState {
            status: "ACTIVE".into(),
            ttl_attribute: Some("expires_ttl".into()),
            items: Vec::new(),
        })
    );
    assert_tags_everywhere(&env, "web", &["v1"], &digest).await;
}
