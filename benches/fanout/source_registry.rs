//! The promotion rows' source: one more `docker-registry` per image holding the bench image,
//! staged once (untimed) with `skopeo copy --preserve-digests` from the layout; the Docker
//! config through which ecr-fanout logs in to it; how many layer downloads it has served (read
//! from its access log); and [`Origin`], where a contender reads the image from.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::images::PreparedImage;
use super::timed::TimedCommand;
use crate::harness::moto::moto_shared_password;
use crate::harness::registry::{Registry, USER};

/// The tag the image is staged under at the source.
const SOURCE_TAG: &str = "staged";

/// A registry holding one bench image as `staging/<image>:staged`; dropping it stops it.
pub struct SourceRegistry {
    registry: Registry,
    repository: String,
    /// `DOCKER_CONFIG` for ecr-fanout: `auths` for this registry's host.
    docker_config: PathBuf,
    /// The image's layer digests (not its config), to count layer downloads.
    layers: Vec<String>,
}

impl SourceRegistry {
    /// Starts the registry and copies `image` into it (untimed set-up).
    pub async fn stage(image: &PreparedImage, scratch: &Path) -> Result<SourceRegistry> {
        let registry = Registry::start(&moto_shared_password())
            .await
            .context("starting the source registry")?;
        let repository = format!("staging/{}", image.name);
        let docker_config = scratch.join(format!("docker-config-{}", registry.port()));
        write_docker_config(&docker_config, &registry)?;
        let source = SourceRegistry {
            layers: layer_digests(image)?,
            registry,
            repository,
            docker_config,
        };
        eprintln!("staging {} in the source registry (untimed)", image.name);
        let mut copy = TimedCommand::new("stage source", "skopeo", scratch);
        copy.command()
            .args(["copy", "--insecure-policy", "--preserve-digests"])
            .args(["--dest-tls-verify=false", "--dest-creds", &source.creds()])
            .arg(image.oci_ref())
            .arg(source.reference());
        copy.run().await.context("staging the source image")?;
        Ok(source)
    }

    /// `docker://127.0.0.1:PORT/staging/<image>:staged`.
    pub fn reference(&self) -> String {
        format!(
            "docker://{}/{}:{SOURCE_TAG}",
            self.registry.host(),
            self.repository
        )
    }

    /// `AWS:<password>`, for skopeo's `--src-creds`.
    fn creds(&self) -> String {
        format!("{USER}:{}", self.registry.password())
    }

    /// Layer blobs served so far (`GET …/blobs/<layer digest>` lines of the access log).
    pub fn layer_downloads(&self) -> usize {
        let log = self.registry.log();
        self.layers
            .iter()
            .map(|digest| {
                let request = format!("\"GET /v2/{}/blobs/{digest} ", self.repository);
                log.matches(&request).count()
            })
            .sum()
    }
}

/// Where a contender reads the image from: the OCI layout on disk, or the source registry.
#[derive(Clone, Copy)]
pub enum Origin<'a> {
    Disk(&'a PreparedImage),
    Registry(&'a SourceRegistry),
}

impl Origin<'_> {
    /// `oci` or `docker`, for the names of logs.
    pub fn name(&self) -> &'static str {
        match self {
            Origin::Disk(_) => "oci",
            Origin::Registry(_) => "docker",
        }
    }

    /// ecr-fanout's `--image …` (and the source's endpoint).
    pub fn ecr_fanout_args(&self) -> Vec<String> {
        match self {
            Origin::Disk(image) => vec!["--image".into(), image.oci_ref()],
            Origin::Registry(source) => vec![
                "--image".into(),
                source.reference(),
                "--source-registry-endpoint".into(),
                source.registry.url(),
            ],
        }
    }

    /// The variables ecr-fanout needs on top of the bench's: the source's Docker config.
    pub fn ecr_fanout_env(&self) -> Vec<(String, String)> {
        match self {
            Origin::Disk(_) => Vec::new(),
            Origin::Registry(source) => vec![(
                "DOCKER_CONFIG".into(),
                source.docker_config.display().to_string(),
            )],
        }
    }

    /// skopeo's source argument (with its credentials and plain HTTP for a registry).
    pub fn skopeo_args(&self) -> Vec<String> {
        match self {
            Origin::Disk(image) => vec![image.oci_ref()],
            Origin::Registry(source) => vec![
                "--src-tls-verify=false".into(),
                "--src-creds".into(),
                source.creds(),
                source.reference(),
            ],
        }
    }

    /// The source registry's layer downloads so far; `None` for the layout.
    pub fn layer_downloads(&self) -> Option<usize> {
        match self {
            Origin::Disk(_) => None,
            Origin::Registry(source) => Some(source.layer_downloads()),
        }
    }
}

fn write_docker_config(dir: &Path, registry: &Registry) -> Result<()> {
    use base64::Engine;
    std::fs::create_dir_all(dir)?;
    let auth =
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{}", registry.password()));
    let config = serde_json::json!({"auths": {registry.host(): {"auth": auth}}});
    std::fs::write(dir.join("config.json"), serde_json::to_vec_pretty(&config)?)
        .with_context(|| format!("writing {}", dir.display()))
}

/// The `layers[].digest` of the image's manifest.
fn layer_digests(image: &PreparedImage) -> Result<Vec<String>> {
    let manifest: serde_json::Value = serde_json::from_slice(&image.image.top.bytes)?;
    let layers = manifest["layers"]
        .as_array()
        .context("the bench image's manifest has no layers")?;
    layers
        .iter()
        .map(|layer| {
            layer["digest"]
                .as_str()
                .map(str::to_owned)
                .context("a layer without a digest")
        })
        .collect()
}
