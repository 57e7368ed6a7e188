//! IMMUTABLE repositories: the same digest again is a no-op success; another digest under an
//! existing tag is refused in the plan, before anything is uploaded anywhere.

use crate::harness::TestEnv;
use crate::scenario::*;

#[tokio::test]
async fn immutable_tag_same_digest_is_a_no_op_and_other_digest_is_refused() {
    let env = TestEnv::start(&REGIONS).await;
    let (image, digest) = single_manifest_image(&env, "immutable-a");
    let create = [
        "--tags",
        "v1",
        "--create-repository",
        "--image-tag-mutability",
        "IMMUTABLE",
    ];
    push_ok(&env, &image, "web", &create).await;

    let again = push_ok(&env, &image, "web", &["--tags", "v1"]).await;
    assert_eq!(report(&again)["bytes_uploaded"], 0);

    let (other_image, other) = multi_platform_image(&env, "immutable-b");
    for region in env.regions() {
        region.control().reset_counts();
    }
    let refused = push(&env, &other_image, "web", &["--tags", "v1"]).await;
    assert_eq!(refused.status, 2, "{refused}");
    assert!(refused.stderr.contains("tag v1 is immutable"), "{refused}");
    assert!(
        refused.stderr.contains(&digest) && refused.stderr.contains(&other),
        "{refused}"
    );
    assert_nothing_uploaded(&env, "web", &other).await;
    assert_tags_everywhere(&env, "web", &["v1"], &digest).await;
}
