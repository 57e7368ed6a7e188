//! Tests of buildah command lines: one platform, manifest lists, unique names per run.

use std::path::PathBuf;

use super::*;
use crate::config::build::BuilderChoice;

fn options(platforms: &[&str]) -> BuildOptions {
    BuildOptions {
        builder: BuilderChoice::Buildah,
        context: PathBuf::from("ctx"),
        file: PathBuf::from("ctx/Containerfile"),
        build_args: vec![("GREETING".into(), "hi".into())],
        labels: vec![("team".into(), "web".into())],
        target: Some("final".into()),
        platforms: platforms.iter().map(|p| (*p).to_owned()).collect(),
        provenance: false,
        features: Default::default(),
    }
}

fn metadata(epoch: Option<u64>) -> OciMetadata {
    OciMetadata {
        entries: vec![(
            "org.opencontainers.image.created".into(),
            "1970-01-01T00:00:00Z".into(),
        )],
        source_date_epoch: epoch,
    }
}

fn vfs_chroot() -> ContainersSettings {
    ContainersSettings {
        storage_driver: Some("vfs".into()),
        isolation: Some("chroot".into()),
    }
}

#[test]
fn one_platform_is_tagged_pushed_to_a_layout_and_untagged() {
    let plan = plan(
        ContainersTool::Buildah,
        &vfs_chroot(),
        &options(&[]),
        &metadata(Some(0)),
        &FeatureFlags::default(),
        "localhost/x:1",
        "/w/layout",
    );
    assert_eq!(
        plan.build.to_string(),
        "buildah --storage-driver vfs build --isolation chroot --timestamp 0 --target final \
         --build-arg GREETING=… --label org.opencontainers.image.created=1970-01-01T00:00:00Z \
         --label team=web --annotation org.opencontainers.image.created=1970-01-01T00:00:00Z \
         --tag localhost/x:1 --file ctx/Containerfile ctx"
    );
    assert_eq!(
        plan.export.to_string(),
        "buildah --storage-driver vfs push localhost/x:1 oci:/w/layout"
    );
    assert_eq!(
        plan.cleanup.to_string(),
        "buildah --storage-driver vfs rmi localhost/x:1"
    );
}

#[test]
fn several_platforms_make_a_manifest_list_pushed_whole() {
    let plan = plan(
        ContainersTool::Podman,
        &ContainersSettings::default(),
        &options(&["linux/amd64", "linux/arm64"]),
        &metadata(None),
        &FeatureFlags::default(),
        "localhost/x:1",
        "/w/layout",
    );
    let build = plan.build.to_string();
    assert!(
        build.starts_with(
            "podman build --platform linux/amd64,linux/arm64 --layers=false --target final"
        ),
        "{build}"
    );
    assert!(build.contains(" --manifest localhost/x:1 ") && !build.contains("--tag"));
    assert!(!build.contains("--timestamp") && !build.contains("--isolation"));
    assert_eq!(
        plan.export.to_string(),
        "podman manifest push --all localhost/x:1 oci:/w/layout"
    );
    assert_eq!(plan.cleanup.to_string(), "podman manifest rm localhost/x:1");
}

#[test]
fn names_are_unique_per_run() {
    let first = unique_name();
    assert!(first.starts_with("localhost/ecr-fanout-build:"));
    assert_ne!(first, unique_name());
}

#[test]
fn settings_come_from_the_ci_environment_blank_ones_unset() {
    let ci = CiEnvironment::from_vars([("STORAGE_DRIVER", "vfs"), ("BUILDAH_ISOLATION", "chroot")]);
    assert_eq!(ContainersSettings::from_ci(&ci), vfs_chroot());
    let blank = CiEnvironment::from_vars([("STORAGE_DRIVER", " "), ("BUILDAH_ISOLATION", "")]);
    assert_eq!(
        ContainersSettings::from_ci(&blank),
        ContainersSettings::default()
    );
}
