//! Classic docker (the legacy builder, `DOCKER_BUILDKIT=0 docker build`) and the Docker
//! daemon as an image source: a build leaves an image in the daemon (its ID in an `--iidfile`),
//! which `docker save` exports as a docker-archive; `crate::image` reads that (legacy layers
//! gzipped once, deterministically; Docker 25+ archives hold an OCI layout read as it is).
//! `docker-daemon:NAME:TAG` takes the same export path without a build.

use std::path::Path;

use anyhow::Context as _;

use super::metadata::OciMetadata;
use super::stream::{ToolCommand, run_streaming};
use super::{BuiltImage, FeatureFlags};
use crate::config::build::BuildOptions;
use crate::error::InputError;
use crate::image::ImageSource;

const IMAGE_ID_FILE: &str = "image-id";
const ARCHIVE_FILE: &str = "image.tar";

/// Builds with the classic builder into the daemon, then exports the image into `work`.
pub async fn build(
    options: &BuildOptions,
    metadata: &OciMetadata,
    flags: &FeatureFlags,
    work: tempfile::TempDir,
) -> anyhow::Result<BuiltImage> {
    if options.platforms.len() > 1 {
        return Err(InputError::new(
            "platforms",
            "the classic docker builder builds one platform; for several use buildx, buildah \
             or podman (builder: buildah)",
        )
        .into());
    }
    let command = build_command(options, metadata, flags, work.path());
    run_streaming(&command, "the docker build").await?;
    let image_id = read_image_id(work.path())?;
    save_from_daemon(&image_id, work).await
}

/// The `docker build` command line of the classic builder.
pub fn build_command(
    options: &BuildOptions,
    metadata: &OciMetadata,
    flags: &FeatureFlags,
    work: &Path,
) -> ToolCommand {
    let mut command = ToolCommand::new("docker")
        .env("DOCKER_BUILDKIT", "0")
        .arg("build");
    if let Some(platform) = options.platforms.first() {
        command = command.args(["--platform", platform]);
    }
    command = super::common_build_flags(command, options, metadata);
    flags
        .appended_to(command)
        .args([
            "--iidfile".to_owned(),
            work.join(IMAGE_ID_FILE).display().to_string(),
        ])
        .args(["--file".to_owned(), options.file.display().to_string()])
        .arg(options.context.display().to_string())
}

/// The `sha256:…` a build wrote to its `--iidfile` in `work`.
pub fn read_image_id(work: &Path) -> anyhow::Result<String> {
    let path = work.join(IMAGE_ID_FILE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("the build wrote no image ID to {}", path.display()))?;
    let id = text.trim();
    anyhow::ensure!(
        !id.is_empty(),
        "the build wrote an empty image ID to {}",
        path.display()
    );
    Ok(id.to_owned())
}

/// `docker save -o WORK/image.tar REFERENCE`, as a `docker-archive:` source.
pub async fn save_from_daemon(
    reference: &str,
    work: tempfile::TempDir,
) -> anyhow::Result<BuiltImage> {
    let archive = work.path().join(ARCHIVE_FILE);
    run_streaming(&save_command(reference, &archive), "docker save").await?;
    Ok(BuiltImage::new(
        ImageSource::DockerArchive { path: archive },
        work,
    ))
}

fn save_command(reference: &str, archive: &Path) -> ToolCommand {
    ToolCommand::new("docker")
        .args(["save", "-o"])
        .arg(archive.display().to_string())
        .arg(reference)
}

/// Exports `docker-daemon:REFERENCE`; a daemon that cannot give it is an `image` input error.
pub async fn export_named_image(reference: &str) -> anyhow::Result<BuiltImage> {
    let work = super::work_dir()?;
    save_from_daemon(reference, work).await.map_err(|e| {
        InputError::new(
            "image",
            format!("cannot export docker-daemon:{reference} with `docker save`: {e:#}"),
        )
        .into()
    })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::config::build::BuilderChoice;

    fn options() -> BuildOptions {
        BuildOptions {
            builder: BuilderChoice::Docker,
            context: PathBuf::from("ctx"),
            file: PathBuf::from("ctx/Dockerfile"),
            build_args: vec![("GREETING".into(), "hi".into())],
            labels: vec![("team".into(), "web".into())],
            target: Some("final".into()),
            platforms: vec!["linux/arm64".into()],
            provenance: false,
            features: Default::default(),
        }
    }

    #[test]
    fn the_classic_build_writes_an_image_id_file() {
        let metadata = OciMetadata {
            entries: vec![("org.opencontainers.image.revision".into(), "abc".into())],
            source_date_epoch: None,
        };
        let command = build_command(
            &options(),
            &metadata,
            &FeatureFlags::default(),
            Path::new("/w"),
        );
        assert_eq!(command.env, [("DOCKER_BUILDKIT".into(), "0".into())]);
        assert_eq!(
            command.args.join(" "),
            "build --platform linux/arm64 --target final --build-arg GREETING=hi \
             --label org.opencontainers.image.revision=abc --label team=web \
             --iidfile /w/image-id --file ctx/Dockerfile ctx"
        );
    }

    #[test]
    fn save_names_the_archive_and_the_image() {
        let command = save_command("web:v1", Path::new("/w/image.tar"));
        assert_eq!(command.to_string(), "docker save -o /w/image.tar web:v1");
    }

    #[test]
    fn an_image_id_is_read_from_the_iidfile() {
        let work = tempfile::tempdir().unwrap();
        assert!(read_image_id(work.path()).is_err());
        std::fs::write(work.path().join(IMAGE_ID_FILE), "sha256:abc\n").unwrap();
        assert_eq!(read_image_id(work.path()).unwrap(), "sha256:abc");
    }
}
