//! Tests of buildx command lines: one platform, several platforms, provenance.

use std::path::PathBuf;

use super::*;
use crate::config::build::BuilderChoice;

fn info(version: &str, driver: &str) -> BuildxInfo {
    BuildxInfo {
        version: version.into(),
        driver: driver.into(),
    }
}

fn options(platforms: &[&str], provenance: bool) -> BuildOptions {
    BuildOptions {
        builder: BuilderChoice::Docker,
        context: PathBuf::from("ctx"),
        file: PathBuf::from("ctx/Dockerfile"),
        build_args: vec![("GREETING".into(), "hi".into())],
        labels: vec![],
        target: None,
        platforms: platforms.iter().map(|p| (*p).to_owned()).collect(),
        provenance,
        features: Default::default(),
    }
}

fn revision() -> OciMetadata {
    OciMetadata {
        entries: vec![("org.opencontainers.image.revision".into(), "abc".into())],
        source_date_epoch: None,
    }
}

fn command_line(info: &BuildxInfo, options: &BuildOptions) -> String {
    build_command(
        info,
        options,
        &revision(),
        &FeatureFlags::default(),
        Path::new("/w"),
    )
    .args
    .join(" ")
}

#[test]
fn one_platform_is_an_oci_archive_without_provenance() {
    assert_eq!(
        command_line(&info("0.12.1", "docker-container"), &options(&[], false)),
        "buildx build --progress=plain --provenance=false --build-arg GREETING=hi \
         --label org.opencontainers.image.revision=abc \
         --annotation manifest:org.opencontainers.image.revision=abc \
         --output type=oci,dest=/w/image.tar --file ctx/Dockerfile ctx"
    );
}

#[test]
fn several_platforms_annotate_the_index_too_and_provenance_can_be_asked_for() {
    let line = command_line(
        &info("0.17.0", "docker-container"),
        &options(&["linux/amd64", "linux/arm64"], true),
    );
    assert!(
        line.starts_with(
            "buildx build --progress=plain --provenance=true --platform linux/amd64,linux/arm64 "
        ),
        "{line}"
    );
    assert!(line.contains(" --annotation index,manifest:org.opencontainers.image.revision=abc "));
}

#[test]
fn source_date_epoch_becomes_a_build_arg() {
    let metadata = OciMetadata {
        entries: vec![],
        source_date_epoch: Some(1_700_000_000),
    };
    let command = build_command(
        &info("0.12.1", "docker-container"),
        &options(&[], false),
        &metadata,
        &FeatureFlags::default(),
        Path::new("/w"),
    );
    let line = command.args.join(" ");
    assert!(
        line.contains("--build-arg GREETING=hi --build-arg SOURCE_DATE_EPOCH=1700000000 "),
        "{line}"
    );
}

#[test]
fn old_buildx_gets_no_flags_it_does_not_know() {
    let line = command_line(&info("0.9.1", "docker-container"), &options(&[], false));
    assert!(
        !line.contains("--provenance") && !line.contains("--annotation"),
        "{line}"
    );
    let line = command_line(&info("0.11.2", "docker-container"), &options(&[], false));
    assert!(
        line.contains("--provenance=false") && !line.contains("--annotation"),
        "{line}"
    );
}

#[test]
fn the_docker_driver_loads_into_the_daemon_instead() {
    let line = command_line(&info("0.12.1", "docker"), &options(&[], false));
    assert!(
        line.ends_with("--output type=docker --iidfile /w/image-id --file ctx/Dockerfile ctx"),
        "{line}"
    );
    assert!(!line.contains("--annotation"), "{line}");
}

#[tokio::test]
async fn several_platforms_on_the_docker_driver_are_refused_before_building() {
    let work = tempfile::tempdir().unwrap();
    let error = build(
        &info("0.12.1", "docker"),
        &options(&["linux/amd64", "linux/arm64"], false),
        &revision(),
        &FeatureFlags::default(),
        work,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(error.starts_with("invalid input `platforms`:"), "{error}");
}

#[test]
fn version_and_driver_are_read_from_buildx_output() {
    assert_eq!(
        parse_version("github.com/docker/buildx v0.12.1 30feaa1a\n"),
        "0.12.1"
    );
    assert_eq!(
        parse_version("github.com/docker/buildx 0.13.1+ds1-3 \n"),
        "0.13.1+ds1-3"
    );
    let inspect = "Name:          default\nDriver:        docker\n\nNodes:\nName: default\n";
    assert_eq!(parse_driver(inspect).as_deref(), Some("docker"));
    assert_eq!(parse_driver("Name: x\n"), None);
    assert!(info("0.13.1+ds1-3", "docker").knows_annotations());
    assert!(!info("0.11.9", "docker").knows_annotations());
}
