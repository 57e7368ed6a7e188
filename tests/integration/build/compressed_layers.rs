//! A Docker 25+ `docker save` archive with uncompressed layers is pushed gzip-compressed:
//! every region serves gzip layers under the reported digest, a second push gives the same
//! digest and uploads nothing, and Docker pulls and runs the result.

use serde_json::Value;

use super::busybox::busybox_docker_archive;
use super::support::push_with;
use crate::harness::dockerd::Dockerd;
use crate::harness::{TestEnv, ecr_fanout, skopeo};
use crate::scenario::*;

#[tokio::test]
async fn plain_layers_are_pushed_gzipped_with_the_same_digest_twice_and_docker_runs_them() {
    let env = TestEnv::start(&REGIONS[..2]).await;
    let archive = env.path("plain.tar");
    let plain_digest = busybox_docker_archive(&archive);
    let image = format!("docker-archive:{}", archive.display());
    let first = push_with(&env, ecr_fanout(&env), &image, &["--tags", "v1"]).await;
    assert!(first.success(), "{first}");
    let digest = report(&first)["digest"].as_str().unwrap().to_owned();
    assert_ne!(
        digest, plain_digest,
        "the manifest was rewritten for gzip layers"
    );
    assert_tags_everywhere(&env, "web", &["v1"], &digest).await;
    for region in env.regions() {
        let raw = skopeo::inspect_raw(region, "web", &digest).await.unwrap();
        assert_eq!(skopeo::sha256_digest(&raw), digest);
        let manifest: Value = serde_json::from_slice(&raw).unwrap();
        let layer = &manifest["layers"][0];
        assert_eq!(
            layer["mediaType"],
            "application/vnd.oci.image.layer.v1.tar+gzip"
        );
        let size = layer["size"].as_u64().unwrap();
        let plain = std::fs::metadata(super::busybox::BUSYBOX).unwrap().len();
        assert!(
            size < plain * 3 / 4,
            "{}: {size} bytes is not compressed",
            region.name()
        );
    }

    let second = push_with(&env, ecr_fanout(&env), &image, &["--tags", "v1"]).await;
    assert!(second.success(), "{second}");
    assert_eq!(
        report(&second)["digest"],
        digest.as_str(),
        "the same bytes every run"
    );
    assert_eq!(report(&second)["bytes_uploaded"], 0);

    let dockerd = Dockerd::start_or_explain().await;
    let region = &env.regions()[0];
    let config_dir = env.path("docker-config");
    std::fs::create_dir_all(&config_dir).unwrap();
    let auth = base64_basic(&format!("AWS:{}", region.password()));
    let config = serde_json::json!({"auths": {region.direct_host(): {"auth": auth}}});
    std::fs::write(config_dir.join("config.json"), config.to_string()).unwrap();
    let reference = format!("{}/web@{digest}", region.direct_host());
    let config_arg = config_dir.display().to_string();
    dockerd
        .docker(&["--config", &config_arg, "pull", &reference])
        .await
        .unwrap();
    let said = dockerd
        .docker(&[
            "run",
            "--rm",
            "--network",
            "none",
            &reference,
            "/bin/sh",
            "-c",
            "echo ran-$((6*7))",
        ])
        .await
        .unwrap();
    assert_eq!(said.trim(), "ran-42");
}

fn base64_basic(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}
