//! Tests of builder detection: which builder `auto` and each choice pick on a given machine, and
//! why.

use std::cell::RefCell;

use super::*;

/// A machine described by what each probe answers; records which probes ran.
struct FakeMachine {
    daemon: Result<(), String>,
    buildx: Result<BuildxInfo, String>,
    buildah: bool,
    podman: bool,
    asked: RefCell<Vec<String>>,
}

fn machine() -> FakeMachine {
    FakeMachine {
        daemon: Err("Cannot connect to the Docker daemon".into()),
        buildx: Err("'buildx' is not a docker command".into()),
        buildah: false,
        podman: false,
        asked: RefCell::new(Vec::new()),
    }
}

fn buildx_info() -> BuildxInfo {
    BuildxInfo {
        version: "0.12.1".into(),
        driver: "docker-container".into(),
    }
}

impl ToolProbe for FakeMachine {
    async fn docker_daemon(&self) -> Result<(), String> {
        self.asked.borrow_mut().push("docker".into());
        self.daemon.clone()
    }
    async fn buildx(&self) -> Result<BuildxInfo, String> {
        self.asked.borrow_mut().push("buildx".into());
        self.buildx.clone()
    }
    async fn installed(&self, program: &str) -> Result<(), String> {
        self.asked.borrow_mut().push(program.into());
        let present = if program == "buildah" {
            self.buildah
        } else {
            self.podman
        };
        if present {
            Ok(())
        } else {
            Err(format!("`{program}` is not on PATH"))
        }
    }
}

async fn choose(
    choice: BuilderChoice,
    machine: &FakeMachine,
    buildkit_disabled: bool,
) -> Result<Builder, String> {
    choose_builder(choice, machine, buildkit_disabled)
        .await
        .map(|(builder, _)| builder)
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn auto_prefers_buildx_then_classic_docker() {
    let mut with_buildx = machine();
    with_buildx.daemon = Ok(());
    with_buildx.buildx = Ok(buildx_info());
    with_buildx.buildah = true;
    let (builder, why) = choose_builder(BuilderChoice::Auto, &with_buildx, false)
        .await
        .unwrap();
    assert_eq!(builder, Builder::Buildx(buildx_info()));
    assert!(why.contains("buildx 0.12.1 is installed"), "{why}");
    assert_eq!(*with_buildx.asked.borrow(), ["docker", "buildx"]);

    let mut classic = machine();
    classic.daemon = Ok(());
    let (builder, why) = choose_builder(BuilderChoice::Auto, &classic, false)
        .await
        .unwrap();
    assert_eq!(builder, Builder::DockerClassic);
    assert!(
        why.contains("no buildx ('buildx' is not a docker command)"),
        "{why}"
    );
}

#[tokio::test]
async fn docker_buildkit_0_asks_for_the_classic_builder() {
    let mut machine = machine();
    machine.daemon = Ok(());
    machine.buildx = Ok(buildx_info());
    assert_eq!(
        choose(BuilderChoice::Docker, &machine, true).await,
        Ok(Builder::DockerClassic)
    );
}

#[tokio::test]
async fn auto_falls_back_to_buildah_then_podman_and_says_why() {
    let mut buildah = machine();
    buildah.buildah = true;
    buildah.podman = true;
    let (builder, why) = choose_builder(BuilderChoice::Auto, &buildah, false)
        .await
        .unwrap();
    assert_eq!(builder, Builder::Buildah);
    assert!(why.contains("Cannot connect to the Docker daemon"), "{why}");

    let mut podman = machine();
    podman.podman = true;
    assert_eq!(
        choose(BuilderChoice::Auto, &podman, false).await,
        Ok(Builder::Podman)
    );
}

#[tokio::test]
async fn nothing_found_lists_everything_looked_for() {
    let error = choose(BuilderChoice::Auto, &machine(), false)
        .await
        .unwrap_err();
    assert!(
        error.starts_with("invalid input `builder`: no usable builder for `builder: auto`"),
        "{error}"
    );
    for looked_for in [
        "docker (with or without buildx): Cannot connect to the Docker daemon",
        "buildah: `buildah` is not on PATH",
        "podman: `podman` is not on PATH",
    ] {
        assert!(
            error.contains(looked_for),
            "{looked_for} missing from {error}"
        );
    }
}

#[tokio::test]
async fn a_named_builder_must_be_there() {
    let error = choose(BuilderChoice::Podman, &machine(), false)
        .await
        .unwrap_err();
    assert!(
        error.contains("`builder: podman`") && error.contains("podman: `podman` is not on PATH")
    );
    let error = choose(BuilderChoice::Docker, &machine(), false)
        .await
        .unwrap_err();
    assert!(
        error.contains("Cannot connect to the Docker daemon"),
        "{error}"
    );
    let mut buildah = machine();
    buildah.buildah = true;
    assert_eq!(
        choose(BuilderChoice::Buildah, &buildah, false).await,
        Ok(Builder::Buildah)
    );
    assert_eq!(*buildah.asked.borrow(), ["buildah"]);
}
