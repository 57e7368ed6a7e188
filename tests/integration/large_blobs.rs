//! Layers larger than the fan-out's 8 MiB window, end to end: each blob is read once and fed
//! to every region in 256 KiB chunks; a region that falls a whole window behind is detached and
//! reads the rest itself; every upload is one streamed request (no PATCH); a cut upload of a
//! large blob starts again in a new upload session. Read back with skopeo in every region.

use std::time::Duration;

use crate::harness::fault::{Fault, RequestMatch};
use crate::harness::{TestEnv, skopeo};
use crate::scenario::*;

const MIB: usize = 1 << 20;

/// A layout with a 9.5 MiB and a 16 MiB layer (incompressible) and a small one.
fn large_image(env: &TestEnv, seed: &str) -> (String, String) {
    let dir = env.path(&format!("large-{seed}"));
    let sizes = [9 * MIB + MIB / 2, 16 * MIB, 40_000];
    let digest = ecr_fanout::image::fixtures::write_single_manifest_layout(&dir, seed, &sizes)
        .expect("write layout");
    (format!("oci:{}", dir.display()), digest.to_string())
}

/// Every region serves the image whole: manifest by digest and tag, every blob present.
async fn assert_served_whole(env: &TestEnv, repository: &str, digest: &str) {
    assert_tags_everywhere(env, repository, &["v1"], digest).await;
    for region in env.regions() {
        let raw = skopeo::inspect_raw(region, repository, digest)
            .await
            .unwrap();
        let manifest: serde_json::Value = serde_json::from_slice(&raw).unwrap();
        let layers = manifest["layers"].as_array().unwrap();
        assert_eq!(layers.len(), 3);
        for blob in layers.iter().chain([&manifest["config"]]) {
            let blob = blob["digest"].as_str().unwrap();
            assert!(
                skopeo::blob_exists(region, repository, blob).await.unwrap(),
                "{} lacks {blob}",
                region.name()
            );
        }
    }
}

#[tokio::test]
async fn large_layers_reach_every_region_and_a_late_region_is_detached() {
    let env = TestEnv::start(&REGIONS).await;
    let (image, digest) = large_image(&env, "detach");
    // ap-southeast-2 opens its uploads 3 s late: the others run a whole window ahead of it.
    env.region("ap-southeast-2").control().inject(Fault::only(
        RequestMatch::kind("POST", "upload-start"),
        Fault::Latency(Duration::from_secs(3)),
    ));
    let out = push_ok(
        &env,
        &image,
        "web",
        &["-v", "--tags", "v1", "--create-repository"],
    )
    .await;
    assert_stderr_says(
        &out,
        &["a region fell a whole buffer behind; it reads the rest itself"],
    );
    assert_eq!(report(&out)["bytes_uploaded"], 3 * blob_bytes(&image));
    assert_served_whole(&env, "web", &digest).await;
}

#[tokio::test]
async fn large_layers_at_concurrency_1_and_8() {
    let env = TestEnv::start(&REGIONS).await;
    let (image, digest) = large_image(&env, "concurrency");
    for (concurrency, repository) in [("1", "web-one"), ("8", "web-eight")] {
        let args = [
            "--tags",
            "v1",
            "--create-repository",
            "--concurrency",
            concurrency,
        ];
        let out = push_ok(&env, &image, repository, &args).await;
        assert_eq!(report(&out)["bytes_uploaded"], 3 * blob_bytes(&image));
        assert_served_whole(&env, repository, &digest).await;
    }
}

#[tokio::test]
async fn a_cut_upload_of_a_large_blob_starts_again_in_a_new_session() {
    let env = TestEnv::start(&REGIONS).await;
    let (image, digest) = large_image(&env, "cut");
    let cut = env.region("eu-west-1").control();
    cut.inject(Fault::CutUploadAfter {
        bytes: 5 * MIB as u64,
        times: 1,
    });
    push_ok(
        &env,
        &image,
        "web",
        &["--tags", "v1", "--create-repository"],
    )
    .await;
    assert_eq!(cut.faults_fired("cut-upload"), 1);
    // Four blobs (the config and three layers), one of them twice: the retry opens a new
    // upload session with a fresh POST.
    assert_eq!(cut.count_upload_starts(), 5);
    assert_eq!(env.region("us-east-1").control().count_upload_starts(), 4);
    assert_served_whole(&env, "web", &digest).await;
}
