//! Which builder runs: `builder: auto` takes docker with buildx, then classic docker, then
//! buildah, then podman, the first that works here, and says why; a named builder must work.
//! What "works" means is asked of the machine through [`ToolProbe`] (real probes run the
//! tools; tests use a fake), so the choice itself is a pure decision.

use super::buildx::{BuildxInfo, probe_buildx};
use super::stream::{ToolCommand, run_captured};
use crate::config::build::BuilderChoice;
use crate::error::InputError;

/// The builder that will run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Builder {
    Buildx(BuildxInfo),
    DockerClassic,
    Buildah,
    Podman,
}

impl Builder {
    pub fn name(&self) -> &'static str {
        match self {
            Builder::Buildx(_) => "docker buildx",
            Builder::DockerClassic => "docker (classic builder)",
            Builder::Buildah => "buildah",
            Builder::Podman => "podman",
        }
    }
}

/// Questions about the machine, each answered with `Err(why not)`.
pub trait ToolProbe {
    /// Whether a Docker daemon answers (`docker version`).
    async fn docker_daemon(&self) -> Result<(), String>;
    /// Whether the buildx plugin is installed, its version and its builder's driver.
    async fn buildx(&self) -> Result<BuildxInfo, String>;
    /// Whether `program --version` runs.
    async fn installed(&self, program: &str) -> Result<(), String>;
}

/// Probes that run the tools.
pub struct SystemProbe;

impl ToolProbe for SystemProbe {
    async fn docker_daemon(&self) -> Result<(), String> {
        let command =
            ToolCommand::new("docker").args(["version", "--format", "{{.Server.Version}}"]);
        run_captured(&command).await.map(drop)
    }

    async fn buildx(&self) -> Result<BuildxInfo, String> {
        probe_buildx().await
    }

    async fn installed(&self, program: &str) -> Result<(), String> {
        run_captured(&ToolCommand::new(program).arg("--version"))
            .await
            .map(drop)
    }
}

/// The builder for `choice`, with the reason to log. `buildkit_disabled` is
/// `DOCKER_BUILDKIT=0`, docker's own switch to its classic builder.
pub async fn choose_builder(
    choice: BuilderChoice,
    probe: &impl ToolProbe,
    buildkit_disabled: bool,
) -> Result<(Builder, String), InputError> {
    match choice {
        BuilderChoice::Auto => choose_automatically(probe, buildkit_disabled).await,
        BuilderChoice::Docker => {
            let looked = docker(probe, buildkit_disabled).await;
            looked.map_err(|notes| not_found("docker", &notes))
        }
        BuilderChoice::Buildah | BuilderChoice::Podman => {
            let (program, builder) = if choice == BuilderChoice::Buildah {
                ("buildah", Builder::Buildah)
            } else {
                ("podman", Builder::Podman)
            };
            match probe.installed(program).await {
                Ok(()) => Ok((builder, format!("builder: {program} was asked for"))),
                Err(why) => Err(not_found(program, &[format!("{program}: {why}")])),
            }
        }
    }
}

async fn choose_automatically(
    probe: &impl ToolProbe,
    buildkit_disabled: bool,
) -> Result<(Builder, String), InputError> {
    let mut notes = match docker(probe, buildkit_disabled).await {
        Ok((builder, why)) => return Ok((builder, format!("builder: auto: {why}"))),
        Err(notes) => notes,
    };
    for (program, builder) in [("buildah", Builder::Buildah), ("podman", Builder::Podman)] {
        match probe.installed(program).await {
            Ok(()) => {
                let why = format!(
                    "builder: auto: {program} is installed ({})",
                    notes.join("; ")
                );
                return Ok((builder, why));
            }
            Err(why) => notes.push(format!("{program}: {why}")),
        }
    }
    Err(not_found("auto", &notes))
}

/// buildx when installed (and not switched off), else the classic builder; `Err` holds
/// what was looked for and why it does not work.
async fn docker(
    probe: &impl ToolProbe,
    buildkit_disabled: bool,
) -> Result<(Builder, String), Vec<String>> {
    if let Err(why) = probe.docker_daemon().await {
        return Err(vec![format!("docker (with or without buildx): {why}")]);
    }
    if buildkit_disabled {
        let why = "a Docker daemon answers and DOCKER_BUILDKIT=0 asks for the classic builder";
        return Ok((Builder::DockerClassic, why.to_owned()));
    }
    match probe.buildx().await {
        Ok(info) => {
            let why = format!(
                "a Docker daemon answers and buildx {} is installed (driver {})",
                info.version, info.driver
            );
            Ok((Builder::Buildx(info), why))
        }
        Err(why) => Ok((
            Builder::DockerClassic,
            format!("a Docker daemon answers; no buildx ({why}), so the classic builder"),
        )),
    }
}

fn not_found(asked: &str, notes: &[String]) -> InputError {
    InputError::new(
        "builder",
        format!(
            "no usable builder for `builder: {asked}`; looked for: {}; install one (or start \
             the Docker daemon), choose another `builder`, or give a prebuilt `image`",
            notes.join("; ")
        ),
    )
}

#[cfg(test)]
mod tests;
