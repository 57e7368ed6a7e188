//! Building from a Dockerfile, then pushing exactly what was built: buildah (vfs storage,
//! chroot isolation) and classic docker (a private dockerd) build `FROM scratch` COPY-only
//! Dockerfiles (no base image to pull, no emulation for other platforms), and every region is
//! read back with skopeo: digests, labels (build args through `LABEL`), the standard OCI
//! labels, platforms. docker buildx is not in Debian: its command lines are unit-tested.

mod busybox;
mod cache;
mod compressed_layers;
mod secrets;
pub mod support;

use std::process::Command;

use serde_json::Value;

use crate::harness::buildah::BuildahStorage;
use crate::harness::dockerd::Dockerd;
use crate::harness::{TestEnv, ecr_fanout, run, skopeo};
use crate::scenario::*;
use support::*;

#[tokio::test]
async fn buildah_builds_args_and_labels_and_every_region_serves_the_build() {
    let env = TestEnv::start(&REGIONS).await;
    let storage = BuildahStorage::in_dir(&env.path("buildah")).unwrap();
    storage.require_buildah().await;
    let dir = context(&env, "app", ARG_AND_LABEL);
    let args = [
        "--builder",
        "buildah",
        "--tags",
        "v1",
        "--build-args",
        "GREETING=bonjour",
        "--labels",
        "team=web",
    ];
    let out = build_and_push(&env, storage.env_vars(), &dir, &args).await;
    assert!(out.success(), "{out}");
    assert!(
        out.stderr.contains("STEP 1/"),
        "buildah's output is streamed: {out}"
    );
    let digest = report(&out)["digest"].as_str().unwrap().to_owned();
    assert_tags_everywhere(&env, "web", &["v1"], &digest).await;
    assert_arg_and_standard_labels(&labels_everywhere(&env, "v1").await);
    let manifest: Value = serde_json::from_slice(
        &skopeo::inspect_raw(&env.regions()[0], "web", "v1")
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.revision"],
        SHA
    );
    let config = skopeo::inspect_config(&env.regions()[0], "web", "v1")
        .await
        .unwrap();
    assert_eq!(
        config["created"], CREATED,
        "SOURCE_DATE_EPOCH pins the dates"
    );

    // Pinned dates make the build reproducible: a rebuild is the same image, nothing is sent.
    let again = build_and_push(&env, storage.env_vars(), &dir, &args).await;
    assert!(again.success(), "{again}");
    assert_eq!(report(&again)["digest"], digest.as_str());
    assert_eq!(report(&again)["bytes_uploaded"], 0);
    let images = storage
        .buildah(&["images", "--format", "{{.Name}}"])
        .await
        .unwrap();
    assert!(
        !images.contains("ecr-fanout-build"),
        "the build's name is removed: {images}"
    );
}

#[tokio::test]
async fn classic_docker_builds_args_and_labels_for_three_regions_in_a_github_group() {
    let dockerd = Dockerd::start_or_explain().await;
    let env = TestEnv::start(&REGIONS).await;
    let dir = context(&env, "app", ARG_AND_LABEL);
    let mut vars = dockerd.env_vars();
    vars.push(("GITHUB_ACTIONS".into(), "true".into()));
    let args = [
        "--builder",
        "docker",
        "--tags",
        "v1",
        "--build-args",
        "GREETING=bonjour",
        "--labels",
        "team=web",
    ];
    let out = build_and_push(&env, vars, &dir, &args).await;
    assert!(out.success(), "{out}");
    let group = out.stderr.find("::group::Build").expect("a build group");
    let built = out
        .stderr
        .find("Successfully built")
        .expect("docker's output");
    let end = out.stderr[built..].find("::endgroup::").map(|i| i + built);
    assert!(
        group < built && end.is_some(),
        "docker's output inside the group: {out}"
    );
    let report = report(&out);
    let digest = report["digest"].as_str().unwrap();
    assert_eq!(
        report["platforms"],
        serde_json::json!(["linux/amd64"]),
        "{report}"
    );
    assert_tags_everywhere(&env, "web", &["v1"], digest).await;
    assert_arg_and_standard_labels(&labels_everywhere(&env, "v1").await);
}

#[tokio::test]
async fn a_docker_daemon_image_is_pushed_with_its_own_config() {
    let dockerd = Dockerd::start_or_explain().await;
    let env = TestEnv::start(&REGIONS[..2]).await;
    let dir = context(&env, "prebuilt", ARG_AND_LABEL);
    let context_arg = dir.display().to_string();
    dockerd
        .docker(&["build", "-q", "-t", "prebuilt:v7", &context_arg])
        .await
        .unwrap();
    let image_id = dockerd
        .docker(&["inspect", "--format", "{{.Id}}", "prebuilt:v7"])
        .await
        .unwrap();
    let mut cmd = ecr_fanout(&env);
    cmd.envs(dockerd.env_vars());
    let out = push_with(&env, cmd, "docker-daemon:prebuilt:v7", &["--tags", "v7"]).await;
    assert!(out.success(), "{out}");
    let digest = report(&out)["digest"].as_str().unwrap().to_owned();
    assert_tags_everywhere(&env, "web", &["v7"], &digest).await;
    for region in env.regions() {
        let raw = skopeo::inspect_raw(region, "web", "v7").await.unwrap();
        let manifest: Value = serde_json::from_slice(&raw).unwrap();
        assert_eq!(
            manifest["config"]["digest"],
            image_id.trim(),
            "{}: the config is the daemon's image",
            region.name()
        );
    }
}

#[tokio::test]
async fn buildah_builds_two_platforms_into_one_index() {
    let env = TestEnv::start(&REGIONS[..2]).await;
    let storage = BuildahStorage::in_dir(&env.path("buildah")).unwrap();
    storage.require_buildah().await;
    let dir = context(&env, "multi", "FROM scratch\nCOPY hello.txt /hello.txt\n");
    let args = [
        "--builder",
        "buildah",
        "--tags",
        "multi",
        "--platforms",
        "linux/amd64,linux/arm64",
    ];
    let out = build_and_push(&env, storage.env_vars(), &dir, &args).await;
    assert!(out.success(), "{out}");
    let report = report(&out);
    let mut platforms: Vec<&str> = report["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    platforms.sort_unstable();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64"]);
    let digest = report["digest"].as_str().unwrap();
    assert_tags_everywhere(&env, "web", &["multi"], digest).await;
    for region in env.regions() {
        let raw = skopeo::inspect_raw(region, "web", "multi").await.unwrap();
        let index: Value = serde_json::from_slice(&raw).unwrap();
        assert_eq!(
            index["mediaType"],
            "application/vnd.oci.image.index.v1+json"
        );
        let mut architectures = Vec::new();
        for child in index["manifests"].as_array().unwrap() {
            let child_digest = child["digest"].as_str().unwrap();
            let config = skopeo::inspect_config(region, "web", child_digest)
                .await
                .unwrap();
            assert_eq!(config["architecture"], child["platform"]["architecture"]);
            architectures.push(config["architecture"].as_str().unwrap().to_owned());
        }
        architectures.sort();
        assert_eq!(architectures, ["amd64", "arm64"], "{}", region.name());
    }
}

#[tokio::test]
async fn a_broken_dockerfile_exits_1_with_the_builders_error_and_writes_nothing() {
    let env = TestEnv::start(&REGIONS[..1]).await;
    let storage = BuildahStorage::in_dir(&env.path("buildah")).unwrap();
    storage.require_buildah().await;
    let dir = context(&env, "broken", "FROM scratch\nCOPY no-such-file.txt /\n");
    let args = ["--builder", "buildah", "--tags", "v1"];
    let out = build_and_push(&env, storage.env_vars(), &dir, &args).await;
    assert_eq!(out.status, 1, "{out}");
    let start = out
        .stderr
        .find("error: the buildah build failed (exit status: ");
    let error = &out.stderr[start.unwrap_or_else(|| panic!("no build error: {out}"))..];
    let first_line = error.lines().next().unwrap_or_default();
    assert!(
        first_line.contains("no-such-file.txt"),
        "the builder's own error on the first line: {out}"
    );
    assert_nothing_written(&env).await;
}

#[tokio::test]
async fn no_builder_at_all_is_exit_2_listing_what_was_looked_for() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    let empty_path = dir.path().join("bin");
    std::fs::create_dir(&empty_path).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ecr-fanout"));
    cmd.current_dir(dir.path())
        .env("PATH", &empty_path)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args([
            "push",
            "--dry-run",
            "--regions",
            "us-east-1",
            "--repository",
            "web",
        ])
        .args(["--tags", "v1", "--registry-id", ACCOUNT]);
    let out = run(cmd).await;
    assert_eq!(out.status, 2, "{out}");
    for looked_for in [
        "invalid input `builder`: no usable builder for `builder: auto`",
        "docker (with or without buildx): `docker` is not on PATH",
        "buildah: `buildah` is not on PATH",
        "podman: `podman` is not on PATH",
    ] {
        assert!(out.stderr.contains(looked_for), "{looked_for}: {out}");
    }
}
