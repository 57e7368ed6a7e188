//! Replication awareness against moto: the registry in us-east-1 (the primary) replicates
//! `team/` repositories to eu-west-1, not to ap-southeast-2. The plan says so; with
//! `replication: skip-replicated` eu-west-1 gets nothing from this run. moto has no
//! DescribeImageReplicationStatus (and does not replicate), so the real run stops while
//! waiting, before any tag moves; the wait itself is unit-tested with aws-smithy-mocks.

use serde_json::Value;

use crate::harness::{TestEnv, skopeo};
use crate::repository_support::*;
use crate::scenario::*;

fn replication_of<'a>(report: &'a Value, region: &str) -> &'a Value {
    &region_report(report, region)["repository_changes"]["replication"]
}

#[tokio::test]
async fn the_plan_names_replicated_regions_and_skip_replicated_does_not_push_there() {
    let env = TestEnv::start(&REGIONS).await;
    replicate(&env, "us-east-1", "eu-west-1", "team/").await;
    let (image, digest) = single_manifest_image(&env, "replication");
    let ignore = ["--tags", "v1", "--create-repository", "--dry-run"];
    let skip = [&ignore[..], &["--replication", "skip-replicated"]].concat();

    let planned = push_ok(&env, &image, "team/web", &ignore).await;
    let plan = report(&planned);
    let eu = replication_of(&plan, "eu-west-1");
    assert_eq!(eu["from"], "us-east-1");
    assert_eq!(eu["action"], "push", "{eu}");
    assert!(
        eu["reason"]
            .as_str()
            .unwrap()
            .contains("replication: ignore"),
        "{eu}"
    );
    assert_eq!(region_report(&plan, "eu-west-1")["blobs_to_upload"], 3);
    assert!(replication_of(&plan, "us-east-1").is_null());
    assert!(replication_of(&plan, "ap-southeast-2").is_null());

    let planned = push_ok(&env, &image, "team/web", &skip).await;
    let plan = report(&planned);
    assert_eq!(replication_of(&plan, "eu-west-1")["action"], "replicated");
    assert_eq!(region_report(&plan, "eu-west-1")["blobs_to_upload"], 0);
    assert_eq!(region_report(&plan, "eu-west-1")["bytes_to_upload"], 0);
    assert_eq!(region_report(&plan, "ap-southeast-2")["blobs_to_upload"], 3);

    let outside_filter = push_ok(&env, &image, "web", &skip).await;
    let plan = report(&outside_filter);
    for region in REGIONS {
        assert!(replication_of(&plan, region).is_null(), "{region}: {plan}");
    }
    assert_nothing_written(&env).await;

    let real: Vec<&str> = skip.iter().copied().filter(|a| *a != "--dry-run").collect();
    let out = push(&env, &image, "team/web", &real).await;
    assert_eq!(out.status, 1, "{out}");
    assert!(
        out.stderr.contains("DescribeImageReplicationStatus")
            && out.stderr.contains("no tag was moved in any region"),
        "{out}"
    );
    for region in ["us-east-1", "ap-southeast-2"] {
        let stored = skopeo::inspect_raw(env.region(region), "team/web", &digest).await;
        assert!(stored.is_ok(), "{region}: the image was not pushed");
    }
    let eu = env.region("eu-west-1");
    let catalog = skopeo::catalog(eu).await.expect("catalog");
    assert!(catalog.is_empty(), "eu-west-1 was pushed to: {catalog:?}");
    assert_eq!(env.list_repositories("eu-west-1").await, ["team/web"]);
    for region in env.regions() {
        let tagged = skopeo::manifest_digest(region, "team/web", "v1").await;
        assert!(tagged.is_err(), "{}: tag v1 moved", region.name());
    }
}
