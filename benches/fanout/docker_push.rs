//! The common way: `docker push` to each registry in turn from a dockerd that holds the image.
//! Untimed: loading the image into the daemon (`skopeo copy oci:… docker-daemon:…`), `docker
//! login` and `docker tag`. Timed: the three pushes. Peak RSS is the daemon's (reset before the
//! pushes) plus the largest CLI's, since the daemon compresses and uploads.

use anyhow::{Context, Result};

use super::bench_env::BenchEnv;
use super::contenders::TAG;
use super::dockerd::Dockerd;
use super::images::PreparedImage;
use super::registries::RegistrySet;
use super::table::Sample;
use super::timed::TimedCommand;

/// Loads `image` into the daemon as `bench-<name>:latest` (its uncompressed layers).
pub async fn load_image(dockerd: &Dockerd, image: &PreparedImage) -> Result<String> {
    let name = format!("bench-{}:latest", image.name);
    let output = tokio::process::Command::new("skopeo")
        .args(["copy", "--insecure-policy", "--quiet", "--dest-daemon-host"])
        .arg(dockerd.host())
        .arg(image.oci_ref())
        .arg(format!("docker-daemon:{name}"))
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .context("running skopeo to load the image into dockerd")?;
    if !output.status.success() {
        anyhow::bail!(
            "loading {name} into dockerd: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(name)
}

/// `docker push` of `local` to the three registries, one after the other.
pub async fn push_sequential(
    env: &BenchEnv,
    dockerd: &Dockerd,
    local: &str,
    registries: &RegistrySet,
    repository: &str,
) -> Result<Sample> {
    let (user, password) = registries.credentials();
    let mut references = Vec::new();
    for host in registries.hosts() {
        dockerd
            .run(
                &["login", &host, "-u", &user, "--password-stdin"],
                Some(&password),
            )
            .await?;
        let reference = format!("{host}/{repository}:{TAG}");
        dockerd.run(&["tag", local, &reference], None).await?;
        references.push(reference);
    }
    dockerd.reset_peak_rss()?;
    let mut sample = Sample {
        wall: std::time::Duration::ZERO,
        peak_rss_kib: 0,
        bytes_uploaded: 0,
        layer_downloads: None,
    };
    for (position, reference) in references.iter().enumerate() {
        let label = format!("docker push {position}");
        let mut run = TimedCommand::new(&label, dockerd.cli(), env.scratch());
        run.command()
            .env("DOCKER_HOST", dockerd.host())
            .env("DOCKER_CONFIG", dockerd.config_dir())
            .args(["push", "--quiet", reference]);
        let timed = run.run().await?;
        sample.wall += timed.wall;
        sample.peak_rss_kib = sample.peak_rss_kib.max(timed.peak_rss_kib);
    }
    sample.peak_rss_kib += dockerd.peak_rss_kib()?;
    sample.bytes_uploaded = registries.stored_blob_bytes()?;
    for reference in &references {
        dockerd.run(&["rmi", reference], None).await?;
    }
    Ok(sample)
}
