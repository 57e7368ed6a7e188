//! What every measured run shares: one moto server (ECR's control plane; each run uses a new
//! repository name), a scratch directory, the release `ecr-fanout` binary, and the dockerd
//! started on first use. Registries are not here: each run starts its own.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use tempfile::TempDir;

use super::dockerd::Dockerd;
use super::registries::REGIONS;
use crate::harness::env::{self, TestEnv};
use crate::harness::moto::Moto;

pub struct BenchEnv {
    moto: Moto,
    /// `Err(reason)` once dockerd could not start, so every docker row prints the reason.
    dockerd: Option<Result<Dockerd, String>>,
    runs_started: usize,
    scratch: TempDir,
}

impl BenchEnv {
    /// Creates `repository` in moto in `region` unless it exists (untimed set-up: pipelines
    /// push to repositories that exist; the floor and skopeo need none).
    pub async fn ensure_repository(&self, region: &str, repository: &str) -> Result<()> {
        match self.moto.create_repository(region, repository).await {
            Ok(()) => Ok(()),
            Err(e) if format!("{e:#}").contains("AlreadyExists") => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Starts moto and warms up the first `regions` of [`REGIONS`].
    pub async fn start(regions: usize) -> Result<BenchEnv> {
        let scratch = tempfile::Builder::new()
            .prefix("ecr-fanout-bench-")
            .tempdir()?;
        let moto = Moto::start().await.context("starting moto")?;
        // moto builds each region's ECR backend on its first call: not in a measured run.
        for region in &REGIONS[..regions.min(REGIONS.len())] {
            moto.create_repository(region, "bench/warm-up").await?;
        }
        Ok(BenchEnv {
            moto,
            dockerd: None,
            runs_started: 0,
            scratch,
        })
    }

    /// `target/release/ecr-fanout`, built by `cargo bench` with the bench profile.
    pub fn ecr_fanout_binary(&self) -> PathBuf {
        PathBuf::from(env!("CARGO_BIN_EXE_ecr-fanout"))
    }

    pub fn scratch(&self) -> &Path {
        self.scratch.path()
    }

    /// A repository name no earlier run used, e.g. `bench/130mb-7`.
    pub fn next_repository(&mut self, image: &str) -> String {
        self.runs_started += 1;
        format!("bench/{image}-{}", self.runs_started)
    }

    /// The variables ecr-fanout runs with (the integration tests' set): moto as the ECR
    /// endpoint, static credentials, no IMDS, no AWS config files, no host AWS/CI variables;
    /// the bench's own `RUST_LOG`, if set, is passed on (for the logs of `FANOUT_BENCH_LOGS`).
    pub fn ecr_fanout_env(&self) -> (Vec<String>, Vec<(String, String)>) {
        let mut set = env::binary_env_vars(&self.moto.direct_url(), self.scratch());
        if let Ok(filter) = std::env::var("RUST_LOG") {
            set.push(("RUST_LOG".into(), filter));
        }
        (TestEnv::vars_to_remove(), set)
    }

    /// Starts the bench's dockerd unless done already; `Err` says why it cannot run here.
    pub async fn start_dockerd(&mut self) -> Result<&Dockerd, String> {
        if self.dockerd.is_none() {
            let started = Dockerd::start().await.map_err(|error| format!("{error:#}"));
            if let Err(reason) = &started {
                eprintln!("dockerd cannot run here: {reason}");
            }
            self.dockerd = Some(started);
        }
        self.dockerd()
    }

    /// The dockerd [`BenchEnv::start_dockerd`] started, or why there is none.
    pub fn dockerd(&self) -> Result<&Dockerd, String> {
        match &self.dockerd {
            Some(Ok(dockerd)) => Ok(dockerd),
            Some(Err(reason)) => Err(reason.clone()),
            None => Err("dockerd was not started".into()),
        }
    }
}
