//! Fresh Debian `docker-registry` instances (the harness's, htpasswd Basic auth with moto's
//! password), one per simulated region (three, or ten for the scale rows), for one measured
//! run, so no run finds a blob an earlier run uploaded. Also how many blob bytes they stored,
//! for tools that do not report what they sent.

use std::path::Path;

use anyhow::{Context, Result};

use crate::harness::moto::moto_shared_password;
use crate::harness::registry::{Registry, USER};

/// The simulated regions, in order (names moto accepts); the first is the primary and the
/// 1-region target, the first three are the 3-region rows' (and the WAN's), all ten the scale
/// rows'.
pub const REGIONS: [&str; 10] = [
    "us-east-1",
    "eu-west-1",
    "ap-southeast-2",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "eu-west-2",
    "eu-central-1",
    "ap-southeast-1",
    "ap-northeast-1",
];
/// How many regions most rows push to.
pub const THREE: usize = 3;

/// One registry per region; dropping it stops them and deletes their storage.
pub struct RegistrySet {
    registries: Vec<Registry>,
}

impl RegistrySet {
    /// One registry for each of the first `count` [`REGIONS`] (at most ten).
    pub async fn start(count: usize) -> Result<RegistrySet> {
        let starts = REGIONS[..count.min(REGIONS.len())]
            .iter()
            .map(|region| async move {
                Registry::start(&moto_shared_password())
                    .await
                    .with_context(|| format!("starting the registry for {region}"))
            });
        let registries = futures::future::try_join_all(starts).await?;
        Ok(RegistrySet { registries })
    }

    /// `(region, registry)` pairs.
    pub fn regions(&self) -> impl Iterator<Item = (&'static str, &Registry)> {
        REGIONS.into_iter().zip(&self.registries)
    }

    pub fn hosts(&self) -> Vec<String> {
        self.registries.iter().map(Registry::host).collect()
    }

    /// `AWS:<password>` for `--dest-creds` and `docker login`.
    pub fn credentials(&self) -> (String, String) {
        (USER.to_owned(), moto_shared_password())
    }

    /// Bytes of the blob files (layers, configs and manifests) all registries hold.
    pub fn stored_blob_bytes(&self) -> Result<u64> {
        let mut total = 0;
        for registry in &self.registries {
            let blobs = registry.dir().join("storage/docker/registry/v2/blobs");
            total += sum_data_files(&blobs)?;
        }
        Ok(total)
    }
}

/// distribution stores each blob as `blobs/sha256/AB/ABCDEF…/data`.
fn sum_data_files(dir: &Path) -> Result<u64> {
    if !dir.exists() {
        return Ok(0);
    }
    let mut total = 0;
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            total += sum_data_files(&entry.path())?;
        } else if kind.is_file() && entry.file_name() == "data" {
            total += entry.metadata()?.len();
        }
    }
    Ok(total)
}
