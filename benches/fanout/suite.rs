//! The whole benchmark: machine description, then per image the rows (each measured `runs`
//! times on three fresh registries; the median is printed) and, with `--wan`, the WAN rows.
//! Tables go to stdout, progress to stderr.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Result;

use super::args::BenchOptions;
use super::bench_env::BenchEnv;
use super::contenders::{self, direct_endpoints};
use super::docker_push;
use super::images::{self, PreparedImage};
use super::registries::{REGIONS, RegistrySet};
use super::table::{
    self, DOCKER, ECR_ONE, ECR_THREE, FLOOR, RERUN, Row, SKOPEO_PARALLEL, SKOPEO_SEQUENTIAL, Sample,
};
use super::timed::check_gnu_time;
use super::wan_proxy::{Link, WanProxy, time_new_connection_request};

/// Round trip per simulated region (same order as [`REGIONS`]) and the bandwidth of each
/// connection.
const WAN_ROUND_TRIPS_MS: [u64; 3] = [20, 80, 200];
const WAN_BYTES_PER_SECOND: u64 = 50_000_000;
const WAN_THREE: &str = "ecr-fanout → 3 regions (20, 80, 200 ms)";
const WAN_SINGLES: [&str; 3] = [
    "ecr-fanout → us-east-1 alone (20 ms)",
    "ecr-fanout → eu-west-1 alone (80 ms)",
    "ecr-fanout → ap-southeast-2 alone (200 ms)",
];

pub fn run(options: BenchOptions) -> Result<()> {
    check_gnu_time()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run_all(options))
}

async fn run_all(options: BenchOptions) -> Result<()> {
    let started = Instant::now();
    let mut env = BenchEnv::start().await?;
    println!("{}", super::machine::describe(&env.ecr_fanout_binary()));
    for image in &options.images {
        let image_started = Instant::now();
        let prepared = tokio::task::spawn_blocking({
            let image = *image;
            move || images::prepare(image)
        })
        .await??;
        println!("{}\n", prepared.describe());
        let rows = measure_image(&mut env, &prepared, &options).await;
        let title = format!("{} ({} run(s), median)", prepared.name, options.runs);
        println!("{}", table::render_image_table(&title, &rows));
        println!("{}", table::render_targets(&rows));
        if !options.concurrency.is_empty() {
            let mut sweep: Vec<Row> = rows
                .iter()
                .filter(|row| row.label == FLOOR)
                .cloned()
                .collect();
            sweep.extend(measure_concurrency(&mut env, &prepared, &options).await);
            let title = format!(
                "{}: ecr-fanout → 3 regions by --concurrency ({} run(s), median)",
                prepared.name, options.runs
            );
            println!("{}", table::render_image_table(&title, &sweep));
        }
        if options.wan {
            let (three, singles) = measure_wan(&mut env, &prepared, options.runs).await;
            let title = format!(
                "{} through the simulated WAN ({} MB/s per connection)",
                prepared.name,
                WAN_BYTES_PER_SECOND / 1_000_000
            );
            println!("{}", table::render_wan_table(&title, &three, &singles));
            println!("{}", table::render_wan_target(&three, &singles));
            println!("{}\n", check_wan_links().await);
        }
        let took = image_started.elapsed().as_secs_f64();
        println!(
            "{} took {took:.0} s (generation, registry starts and untimed steps included)\n",
            image.name()
        );
    }
    println!("bench took {:.0} s in all", started.elapsed().as_secs_f64());
    Ok(())
}

async fn measure_image(
    env: &mut BenchEnv,
    image: &PreparedImage,
    options: &BenchOptions,
) -> Vec<Row> {
    let mut samples: Vec<(&'static str, Vec<Result<Sample, String>>)> = Vec::new();
    let mut record = |label: &'static str, outcome: Result<Sample, String>| {
        report_progress(image.name, label, &outcome);
        match samples.iter_mut().find(|(known, _)| *known == label) {
            Some((_, list)) => list.push(outcome),
            None => samples.push((label, vec![outcome])),
        }
    };
    let docker_image = if options.measures("docker") {
        Some(load_into_dockerd(env, image).await)
    } else {
        None
    };
    for _ in 0..options.runs {
        if options.measures("floor") {
            let outcome = on_fresh_registries(env, image, async |env, registries, repository| {
                contenders::floor(env, image, registries, repository).await
            });
            record(FLOOR, outcome.await);
        }
        if options.measures("ecr-fanout") {
            let outcome = on_fresh_registries(env, image, async |env, registries, repository| {
                let endpoints = &direct_endpoints(registries)[..1];
                contenders::ecr_fanout(env, image, endpoints, repository, ECR_ONE, None).await
            });
            record(ECR_ONE, outcome.await);
            let (three, rerun) = ecr_fanout_and_rerun(env, image).await;
            record(ECR_THREE, three);
            record(RERUN, rerun);
        }
        if options.measures("skopeo") {
            let outcome = on_fresh_registries(env, image, async |env, registries, repository| {
                contenders::skopeo_parallel(env, image, registries, repository).await
            });
            record(SKOPEO_PARALLEL, outcome.await);
            let outcome = on_fresh_registries(env, image, async |env, registries, repository| {
                contenders::skopeo_sequential(env, image, registries, repository).await
            });
            record(SKOPEO_SEQUENTIAL, outcome.await);
        }
        if let Some(loaded) = &docker_image {
            let outcome = match loaded {
                Ok(local) => docker_push_run(env, image, local).await,
                Err(reason) => Err(reason.clone()),
            };
            record(DOCKER, outcome);
        }
    }
    let order = [
        FLOOR,
        ECR_ONE,
        ECR_THREE,
        SKOPEO_PARALLEL,
        SKOPEO_SEQUENTIAL,
        DOCKER,
        RERUN,
    ];
    order
        .into_iter()
        .filter_map(|label| {
            let position = samples.iter().position(|(known, _)| *known == label)?;
            let (label, list) = samples.swap_remove(position);
            Some(Row::from_samples(label, list))
        })
        .collect()
}

/// ecr-fanout to three fresh registries at each `--concurrency` of the sweep; the values take
/// turns within a round, so that drift on the machine spreads over all of them.
async fn measure_concurrency(
    env: &mut BenchEnv,
    image: &PreparedImage,
    options: &BenchOptions,
) -> Vec<Row> {
    let labels: Vec<String> = options
        .concurrency
        .iter()
        .map(|n| format!("ecr-fanout → 3 regions, --concurrency {n}"))
        .collect();
    let mut samples: Vec<Vec<Result<Sample, String>>> = vec![Vec::new(); labels.len()];
    for _ in 0..options.runs {
        for ((n, label), list) in options.concurrency.iter().zip(&labels).zip(&mut samples) {
            let outcome = on_fresh_registries(env, image, async |env, registries, repository| {
                let endpoints = direct_endpoints(registries);
                contenders::ecr_fanout(env, image, &endpoints, repository, label, Some(*n)).await
            })
            .await;
            report_progress(image.name, label, &outcome);
            list.push(outcome);
        }
    }
    labels
        .into_iter()
        .zip(samples)
        .map(|(label, list)| Row::from_samples(label, list))
        .collect()
}

/// Starts three fresh registries and a new repository name, then measures `run` on them.
async fn on_fresh_registries<F>(
    env: &mut BenchEnv,
    image: &PreparedImage,
    run: F,
) -> Result<Sample, String>
where
    F: AsyncFnOnce(&BenchEnv, &RegistrySet, &str) -> Result<Sample>,
{
    let repository = env.next_repository(image.name);
    let outcome = async {
        let registries = RegistrySet::start().await?;
        run(env, &registries, &repository).await
    };
    outcome.await.map_err(|error| format!("{error:#}"))
}

/// ecr-fanout to three fresh registries, then the identical command again (must upload 0).
async fn ecr_fanout_and_rerun(
    env: &mut BenchEnv,
    image: &PreparedImage,
) -> (Result<Sample, String>, Result<Sample, String>) {
    let repository = env.next_repository(image.name);
    let registries = match RegistrySet::start().await {
        Ok(registries) => registries,
        Err(error) => return (Err(format!("{error:#}")), Err("no registries".into())),
    };
    let endpoints = direct_endpoints(&registries);
    let push = || contenders::ecr_fanout(env, image, &endpoints, &repository, ECR_THREE, None);
    let first = push().await.map_err(|error| format!("{error:#}"));
    if first.is_err() {
        return (first, Err("the first push failed".into()));
    }
    let rerun = push().await.map_err(|error| format!("{error:#}"));
    (first, rerun)
}

async fn load_into_dockerd(env: &mut BenchEnv, image: &PreparedImage) -> Result<String, String> {
    let dockerd = env.start_dockerd().await?;
    eprintln!("loading {} into dockerd (untimed)", image.name);
    docker_push::load_image(dockerd, image)
        .await
        .map_err(|error| format!("{error:#}"))
}

async fn docker_push_run(
    env: &mut BenchEnv,
    image: &PreparedImage,
    local: &str,
) -> Result<Sample, String> {
    let repository = env.next_repository(image.name);
    let registries = RegistrySet::start()
        .await
        .map_err(|error| format!("{error:#}"))?;
    let dockerd = env.dockerd()?;
    docker_push::push_sequential(env, dockerd, local, &registries, &repository)
        .await
        .map_err(|error| format!("{error:#}"))
}

/// ecr-fanout through a shaping proxy per region: all three regions, then each alone.
async fn measure_wan(env: &mut BenchEnv, image: &PreparedImage, runs: usize) -> (Row, Vec<Row>) {
    let mut three = Vec::new();
    let mut singles: Vec<Vec<Result<Sample, String>>> = vec![Vec::new(); REGIONS.len()];
    for _ in 0..runs {
        let outcome = wan_run(env, image, &[0, 1, 2], WAN_THREE).await;
        report_progress(image.name, WAN_THREE, &outcome);
        three.push(outcome);
        for (position, label) in WAN_SINGLES.into_iter().enumerate() {
            let outcome = wan_run(env, image, &[position], label).await;
            report_progress(image.name, label, &outcome);
            singles[position].push(outcome);
        }
    }
    let singles = WAN_SINGLES
        .into_iter()
        .zip(singles)
        .map(|(label, samples)| Row::from_samples(label, samples))
        .collect();
    (Row::from_samples(WAN_THREE, three), singles)
}

async fn wan_run(
    env: &mut BenchEnv,
    image: &PreparedImage,
    regions: &[usize],
    label: &str,
) -> Result<Sample, String> {
    let repository = env.next_repository(image.name);
    let outcome = async {
        let registries = RegistrySet::start().await?;
        let mut proxies = Vec::new();
        let mut endpoints = Vec::new();
        for (position, (region, registry)) in registries.regions().enumerate() {
            if !regions.contains(&position) {
                continue;
            }
            let link = Link {
                round_trip: Duration::from_millis(WAN_ROUND_TRIPS_MS[position]),
                bytes_per_second: WAN_BYTES_PER_SECOND,
            };
            let upstream = SocketAddr::from(([127, 0, 0, 1], registry.port()));
            let proxy = WanProxy::start(upstream, link).await?;
            endpoints.push((region, proxy.url()));
            proxies.push(proxy);
        }
        contenders::ecr_fanout(env, image, &endpoints, &repository, label, None).await
    };
    outcome.await.map_err(|error| format!("{error:#}"))
}

/// One line saying what a request on a new connection takes through each region's proxy.
async fn check_wan_links() -> String {
    let checked = async {
        let registries = RegistrySet::start().await?;
        let mut lines = Vec::new();
        for (position, (region, registry)) in registries.regions().enumerate() {
            let round_trip = WAN_ROUND_TRIPS_MS[position];
            let link = Link {
                round_trip: Duration::from_millis(round_trip),
                bytes_per_second: WAN_BYTES_PER_SECOND,
            };
            let upstream = SocketAddr::from(([127, 0, 0, 1], registry.port()));
            let proxy = WanProxy::start(upstream, link).await?;
            let took = time_new_connection_request(&proxy.url()).await?;
            lines.push(format!(
                "{region} {} ms (expected about {} ms)",
                took.as_millis(),
                2 * round_trip
            ));
        }
        anyhow::Ok(lines.join(", "))
    };
    match checked.await {
        Ok(lines) => format!("link check, GET /v2/ on a new connection: {lines}"),
        Err(error) => format!("link check failed: {error:#}"),
    }
}

fn report_progress(image: &str, label: &str, outcome: &Result<Sample, String>) {
    match outcome {
        Ok(sample) => eprintln!("{image}: {label}: {:.2} s", sample.wall.as_secs_f64()),
        Err(reason) => eprintln!("{image}: {label}: not measured: {reason}"),
    }
}
