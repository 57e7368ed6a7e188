//! buildah and podman (same flags, no daemon): `build --tag NAME`, then `push NAME oci:DIR`;
//! for several platforms `build --platform a,b --manifest NAME`, then
//! `manifest push --all NAME oci:DIR`. NAME is unique to the run and removed afterwards.
//!
//! The storage driver and isolation come from the variables buildah itself reads,
//! `STORAGE_DRIVER` and `BUILDAH_ISOLATION` (as the CI environment read at start-up has them),
//! passed as explicit flags so that podman gets them
//! too (unprivileged containers: `STORAGE_DRIVER=vfs BUILDAH_ISOLATION=chroot`). Storage
//! locations follow `CONTAINERS_STORAGE_CONF` as usual. `SOURCE_DATE_EPOCH` becomes
//! `--timestamp`, which pins the image's dates and so its digest. podman builds run without
//! its layer cache (`--layers=false`, see [`plan`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use super::metadata::OciMetadata;
use super::stream::{ToolCommand, run_streaming};
use super::{BuiltImage, FeatureFlags};
use crate::config::build::BuildOptions;
use crate::config::ci_environment::CiEnvironment;
use crate::image::ImageSource;

const LAYOUT_DIR: &str = "layout";

/// Which of the two tools runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainersTool {
    Buildah,
    Podman,
}

impl ContainersTool {
    pub fn program(self) -> &'static str {
        match self {
            Self::Buildah => "buildah",
            Self::Podman => "podman",
        }
    }
}

/// Storage driver and isolation for every call, from the CI environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainersSettings {
    pub storage_driver: Option<String>,
    pub isolation: Option<String>,
}

impl ContainersSettings {
    /// `STORAGE_DRIVER` and `BUILDAH_ISOLATION` of `ci`, when set and not blank.
    pub fn from_ci(ci: &CiEnvironment) -> Self {
        Self {
            storage_driver: ci.non_blank("STORAGE_DRIVER"),
            isolation: ci.non_blank("BUILDAH_ISOLATION"),
        }
    }
}

/// The commands of one build: build, export, clean up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainersPlan {
    pub build: ToolCommand,
    pub export: ToolCommand,
    pub cleanup: ToolCommand,
}

/// Builds with buildah or podman (with `settings`) and exports the result into `work` as an
/// OCI layout.
pub async fn build(
    tool: ContainersTool,
    settings: &ContainersSettings,
    options: &BuildOptions,
    metadata: &OciMetadata,
    flags: &FeatureFlags,
    work: tempfile::TempDir,
) -> anyhow::Result<BuiltImage> {
    let name = unique_name();
    let layout = work.path().join(LAYOUT_DIR);
    let plan = plan(
        tool,
        settings,
        options,
        metadata,
        flags,
        &name,
        &layout.display().to_string(),
    );
    let what = format!("the {} build", tool.program());
    run_streaming(&plan.build, &what).await?;
    let exported = run_streaming(&plan.export, &format!("{} push", tool.program())).await;
    if let Err(e) = run_streaming(&plan.cleanup, "removing the build's local name").await {
        tracing::warn!(
            "could not remove {name} from {}'s storage: {e:#}",
            tool.program()
        );
    }
    exported?;
    let source = ImageSource::OciLayout {
        path: layout,
        reference: None,
    };
    Ok(BuiltImage::new(source, work))
}

/// The command lines for building `name` and exporting it to `oci:layout`.
pub fn plan(
    tool: ContainersTool,
    settings: &ContainersSettings,
    options: &BuildOptions,
    metadata: &OciMetadata,
    flags: &FeatureFlags,
    name: &str,
    layout: &str,
) -> ContainersPlan {
    let base = || {
        let command = ToolCommand::new(tool.program());
        match &settings.storage_driver {
            Some(driver) => command.args(["--storage-driver", driver]),
            None => command,
        }
    };
    let several = options.platforms.len() > 1;
    let mut build = base().arg("build");
    if let Some(isolation) = &settings.isolation {
        build = build.args(["--isolation", isolation]);
    }
    if !options.platforms.is_empty() {
        build = build.args(["--platform".to_owned(), options.platforms.join(",")]);
    }
    if tool == ContainersTool::Podman {
        // podman 4.3's layer cache hands a `FROM scratch` step built for one platform to a
        // build for another (a one-platform list, or an arm64 image on amd64); buildah does
        // not cache unless asked. A `cache-from`/`cache-to` asks (`flags.layers`).
        build = build.arg(format!("--layers={}", flags.layers));
    } else if flags.layers {
        build = build.arg("--layers");
    }
    if let Some(epoch) = metadata.source_date_epoch {
        build = build.args(["--timestamp".to_owned(), epoch.to_string()]);
    }
    build = super::common_build_flags(build, options, metadata);
    for (key, value) in &metadata.entries {
        build = build.args(["--annotation".to_owned(), format!("{key}={value}")]);
    }
    build = flags.appended_to(build);
    let destination = format!("oci:{layout}");
    let (build, export, cleanup) = if several {
        (
            build.args(["--manifest", name]),
            base().args(["manifest", "push", "--all", name, &destination]),
            base().args(["manifest", "rm", name]),
        )
    } else {
        (
            build.args(["--tag", name]),
            base().args(["push", name, &destination]),
            base().args(["rmi", name]),
        )
    };
    let build = build
        .args(["--file".to_owned(), options.file.display().to_string()])
        .arg(options.context.display().to_string());
    ContainersPlan {
        build,
        export,
        cleanup,
    }
}

/// `localhost/ecr-fanout-build:PID-NANOS`: a name no other run uses, so a manifest list
/// never collects platforms from an earlier run.
fn unique_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "localhost/ecr-fanout-build:{}-{nanos}-{count}",
        std::process::id()
    )
}

#[cfg(test)]
mod tests;
