//! docker buildx: `docker buildx build --output type=oci,dest=WORK/image.tar`, read back as an
//! `oci-archive:`. Provenance attestations are off (`--provenance=false`) unless `provenance`
//! asks for them: they turn even a one-platform image into an index, which AWS Lambda refuses.
//! A builder on the `docker` driver cannot export OCI archives, so there the image is loaded
//! into the daemon (`--load`) and exported with `docker save` like a classic build.
//!
//! Debian has no buildx package, so these command lines are checked by unit tests only.

use std::path::Path;

use super::docker_classic::save_from_daemon;
use super::metadata::OciMetadata;
use super::stream::{ToolCommand, run_captured, run_streaming};
use super::{BuiltImage, FeatureFlags};
use crate::config::build::BuildOptions;
use crate::error::InputError;
use crate::image::ImageSource;

/// What `docker buildx version` and `docker buildx inspect` say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildxInfo {
    /// `0.12.1`, or the whole word when it does not parse.
    pub version: String,
    /// The current builder's driver: `docker`, `docker-container`, `kubernetes`, `remote`.
    pub driver: String,
}

impl BuildxInfo {
    pub(super) fn at_least(&self, major: u64, minor: u64) -> bool {
        let mut numbers = self.version.split(['.', '+', '-']).map(str::parse::<u64>);
        match (numbers.next(), numbers.next()) {
            (Some(Ok(found_major)), Some(Ok(found_minor))) => {
                (found_major, found_minor) >= (major, minor)
            }
            _ => true,
        }
    }

    /// `--provenance` exists from buildx 0.10 (attestations came with it).
    fn knows_provenance(&self) -> bool {
        self.at_least(0, 10)
    }

    /// `--annotation` exists from buildx 0.12.
    fn knows_annotations(&self) -> bool {
        self.at_least(0, 12)
    }

    fn exports_oci(&self) -> bool {
        self.driver != "docker"
    }
}

/// Asks `docker buildx version` and `docker buildx inspect`.
pub async fn probe_buildx() -> Result<BuildxInfo, String> {
    let version = run_captured(&ToolCommand::new("docker").args(["buildx", "version"])).await?;
    let inspect = run_captured(&ToolCommand::new("docker").args(["buildx", "inspect"])).await?;
    Ok(BuildxInfo {
        version: parse_version(&version),
        driver: parse_driver(&inspect).unwrap_or_else(|| "unknown".to_owned()),
    })
}

/// `github.com/docker/buildx v0.12.1 30feaa1` → `0.12.1`.
fn parse_version(output: &str) -> String {
    let word = output.split_whitespace().nth(1).unwrap_or("unknown");
    word.strip_prefix('v').unwrap_or(word).to_owned()
}

/// The first `Driver:` line of `docker buildx inspect`.
fn parse_driver(output: &str) -> Option<String> {
    output.lines().find_map(|line| {
        let value = line.trim().strip_prefix("Driver:")?.trim();
        (!value.is_empty()).then(|| value.to_owned())
    })
}

/// Builds with buildx into `work`.
pub async fn build(
    info: &BuildxInfo,
    options: &BuildOptions,
    metadata: &OciMetadata,
    flags: &FeatureFlags,
    work: tempfile::TempDir,
) -> anyhow::Result<BuiltImage> {
    if !info.exports_oci() && options.platforms.len() > 1 {
        return Err(InputError::new(
            "platforms",
            "several platforms need a buildx builder that exports OCI archives; the current \
             one uses the `docker` driver (create one with `docker buildx create --use`, or \
             use builder: buildah or podman)",
        )
        .into());
    }
    let command = build_command(info, options, metadata, flags, work.path());
    run_streaming(&command, "the docker buildx build").await?;
    if info.exports_oci() {
        let source = ImageSource::OciArchive {
            path: work.path().join("image.tar"),
            reference: None,
        };
        return Ok(BuiltImage::new(source, work));
    }
    let image_id = super::docker_classic::read_image_id(work.path())?;
    save_from_daemon(&image_id, work).await
}

/// The `docker buildx build` command line.
pub fn build_command(
    info: &BuildxInfo,
    options: &BuildOptions,
    metadata: &OciMetadata,
    flags: &FeatureFlags,
    work: &Path,
) -> ToolCommand {
    let mut command = ToolCommand::new("docker").args(["buildx", "build", "--progress=plain"]);
    if info.knows_provenance() {
        command = command.arg(format!("--provenance={}", options.provenance));
    }
    if !options.platforms.is_empty() {
        command = command.args(["--platform".to_owned(), options.platforms.join(",")]);
    }
    command = super::common_build_flags(command, options, metadata);
    let user_epoch = options
        .build_args
        .iter()
        .any(|(k, _)| k == "SOURCE_DATE_EPOCH");
    if let (Some(epoch), false) = (metadata.source_date_epoch, user_epoch) {
        // BuildKit pins image dates to this build arg (buildx >= 0.10 also passes it itself).
        command = command.args([
            "--build-arg".to_owned(),
            format!("SOURCE_DATE_EPOCH={epoch}"),
        ]);
    }
    if info.knows_annotations() && info.exports_oci() {
        let levels = if options.platforms.len() > 1 {
            "index,manifest"
        } else {
            "manifest"
        };
        for (key, value) in &metadata.entries {
            command = command.args(["--annotation".to_owned(), format!("{levels}:{key}={value}")]);
        }
    }
    command = flags.appended_to(command);
    let output = if info.exports_oci() {
        format!("type=oci,dest={}", work.join("image.tar").display())
    } else {
        "type=docker".to_owned()
    };
    command = command.args(["--output".to_owned(), output]);
    if !info.exports_oci() {
        command = command.args([
            "--iidfile".to_owned(),
            work.join("image-id").display().to_string(),
        ]);
    }
    command
        .args(["--file".to_owned(), options.file.display().to_string()])
        .arg(options.context.display().to_string())
}

#[cfg(test)]
mod tests;
