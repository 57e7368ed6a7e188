//! One measured run of each contender against a given set of registries: the floor client,
//! ecr-fanout (to some of the regions, optionally through other endpoints), and `skopeo copy`
//! to every registry of the set in parallel or in sequence; ecr-fanout and skopeo read the
//! image from disk or from the source registry ([`Origin`]). Each returns a [`Sample`].

use std::time::Duration;

use anyhow::{Context, Result};

use super::bench_env::BenchEnv;
use super::floor_client::{FloorBlob, FloorSpec};
use super::images::PreparedImage;
use super::registries::RegistrySet;
use super::source_registry::Origin;
use super::table::Sample;
use super::timed::{Timed, TimedCommand};

pub const TAG: &str = "bench";

/// The floor client (this binary, `--floor-client`) to every registry of `registries`.
pub async fn floor(
    env: &BenchEnv,
    image: &PreparedImage,
    registries: &RegistrySet,
    repository: &str,
) -> Result<Sample> {
    let (user, password) = registries.credentials();
    let top = &image.image.top;
    let spec = FloorSpec {
        registries: registries
            .regions()
            .map(|(_, registry)| registry.url())
            .collect(),
        user,
        password,
        repository: repository.to_owned(),
        tag: TAG.to_owned(),
        blobs: image
            .image
            .blobs
            .iter()
            .map(|blob| FloorBlob {
                digest: blob.digest.to_string(),
                size: blob.size,
                path: blob.path.clone(),
            })
            .collect(),
        manifest_path: image.layout.join("blobs/sha256").join(top.digest.hex()),
        manifest_media_type: top.media_type.clone(),
    };
    let spec_path = env.scratch().join("floor-spec.json");
    std::fs::write(&spec_path, serde_json::to_vec_pretty(&spec)?)?;
    let mut run = TimedCommand::new("floor client", std::env::current_exe()?, env.scratch());
    run.command().arg("--floor-client").arg(&spec_path);
    let timed = run.run().await?;
    Ok(sample(&timed, registries.stored_blob_bytes()?))
}

/// `ecr-fanout push --json` of `origin` to `endpoints` (`(region, registry URL)`), the
/// repository created in moto beforehand (untimed); bytes uploaded are what its report says.
/// `concurrency`, when given, is passed as `--concurrency` (otherwise the default applies).
pub async fn ecr_fanout(
    env: &BenchEnv,
    origin: Origin<'_>,
    endpoints: &[(&str, String)],
    repository: &str,
    label: &str,
    concurrency: Option<usize>,
) -> Result<Sample> {
    let regions: Vec<&str> = endpoints.iter().map(|(region, _)| *region).collect();
    for region in &regions {
        env.ensure_repository(region, repository).await?;
    }
    let endpoint_arg: Vec<String> = endpoints
        .iter()
        .map(|(region, url)| format!("{region}={url}"))
        .collect();
    let mut run = TimedCommand::new(label, env.ecr_fanout_binary(), env.scratch());
    let (remove, set) = env.ecr_fanout_env();
    let command = run.command();
    for key in remove {
        command.env_remove(key);
    }
    command
        .envs(set)
        .envs(origin.ecr_fanout_env())
        .current_dir(env.scratch())
        .args(["push", "--json", "--tags", TAG])
        .args(origin.ecr_fanout_args())
        .args(["--repository", repository])
        .args(["--regions", &regions.join(",")])
        .args(["--registry-endpoints", &endpoint_arg.join(",")]);
    if let Some(concurrency) = concurrency {
        command.arg("--concurrency").arg(concurrency.to_string());
    }
    let timed = run.run().await?;
    let report: serde_json::Value = serde_json::from_str(&timed.stdout)
        .with_context(|| format!("{label}: stdout is not the JSON report"))?;
    let bytes = report["bytes_uploaded"]
        .as_u64()
        .with_context(|| format!("{label}: no bytes_uploaded in the report"))?;
    Ok(sample(&timed, bytes))
}

/// Every region's registry, addressed directly.
pub fn direct_endpoints(registries: &RegistrySet) -> Vec<(&'static str, String)> {
    registries
        .regions()
        .map(|(region, registry)| (region, registry.url()))
        .collect()
}

/// `skopeo copy oci:… docker://HOST/REPO:TAG` (or `docker://SOURCE …`) to every registry at
/// the same time: wall time until the last finishes, peak RSS the sum of the processes' peaks.
pub async fn skopeo_parallel(
    env: &BenchEnv,
    origin: Origin<'_>,
    registries: &RegistrySet,
    repository: &str,
) -> Result<Sample> {
    let started = std::time::Instant::now();
    let copies = registries
        .hosts()
        .into_iter()
        .enumerate()
        .map(|(position, host)| {
            skopeo_copy(
                env,
                origin,
                registries,
                &host,
                repository,
                &format!("skopeo parallel {} {position}", origin.name()),
            )
            .run()
        });
    let timed = futures::future::try_join_all(copies).await?;
    let wall = started.elapsed();
    Ok(Sample {
        wall,
        peak_rss_kib: timed.iter().map(|run| run.peak_rss_kib).sum(),
        bytes_uploaded: registries.stored_blob_bytes()?,
        layer_downloads: None,
    })
}

/// The same copies one after the other: total wall time, the largest peak RSS.
pub async fn skopeo_sequential(
    env: &BenchEnv,
    origin: Origin<'_>,
    registries: &RegistrySet,
    repository: &str,
) -> Result<Sample> {
    let mut wall = Duration::ZERO;
    let mut peak = 0;
    for (position, host) in registries.hosts().into_iter().enumerate() {
        let label = format!("skopeo sequential {} {position}", origin.name());
        let timed = skopeo_copy(env, origin, registries, &host, repository, &label)
            .run()
            .await?;
        wall += timed.wall;
        peak = peak.max(timed.peak_rss_kib);
    }
    Ok(Sample {
        wall,
        peak_rss_kib: peak,
        bytes_uploaded: registries.stored_blob_bytes()?,
        layer_downloads: None,
    })
}

fn skopeo_copy(
    env: &BenchEnv,
    origin: Origin<'_>,
    registries: &RegistrySet,
    host: &str,
    repository: &str,
    label: &str,
) -> TimedCommand {
    let (user, password) = registries.credentials();
    let mut run = TimedCommand::new(label, "skopeo", env.scratch());
    run.command()
        .args(["copy", "--insecure-policy", "--dest-tls-verify=false"])
        .arg("--dest-creds")
        .arg(format!("{user}:{password}"))
        .args(origin.skopeo_args())
        .arg(format!("docker://{host}/{repository}:{TAG}"));
    run
}

fn sample(timed: &Timed, bytes_uploaded: u64) -> Sample {
    Sample {
        wall: timed.wall,
        peak_rss_kib: timed.peak_rss_kib,
        bytes_uploaded,
        layer_downloads: None,
    }
}
