//! The simulated WAN's rows (`--wan`): ecr-fanout through a shaping proxy per region, to the
//! three regions at once and to each alone, the table and its target, and a check that the
//! proxies shape (a request on a new connection takes about two round trips).

use std::net::SocketAddr;
use std::time::Duration;

use super::bench_env::BenchEnv;
use super::contenders;
use super::images::PreparedImage;
use super::registries::{RegistrySet, THREE};
use super::rounds::report_progress;
use super::source_registry::Origin;
use super::table::{self, Row, Sample};
use super::targets;
use super::wan_proxy::{Link, WanProxy, time_new_connection_request};

/// Round trip per simulated region (the first three regions, in order) and the bandwidth of
/// each connection.
const WAN_ROUND_TRIPS_MS: [u64; 3] = [20, 80, 200];
const WAN_BYTES_PER_SECOND: u64 = 50_000_000;
const WAN_THREE: &str = "ecr-fanout → 3 regions (20, 80, 200 ms)";
const WAN_SINGLES: [&str; 3] = [
    "ecr-fanout → us-east-1 alone (20 ms)",
    "ecr-fanout → eu-west-1 alone (80 ms)",
    "ecr-fanout → ap-southeast-2 alone (200 ms)",
];

/// Measures the WAN rows `runs` times and prints their table, target and link check.
pub async fn measure_and_print(env: &mut BenchEnv, image: &PreparedImage, runs: usize) {
    let (three, singles) = measure_wan(env, image, runs).await;
    let title = format!(
        "{} through the simulated WAN ({} MB/s per connection)",
        image.name,
        WAN_BYTES_PER_SECOND / 1_000_000
    );
    println!("{}", table::render_wan_table(&title, &three, &singles));
    println!("{}", targets::render_wan_target(&three, &singles));
    println!("{}\n", check_wan_links().await);
}

/// ecr-fanout through a shaping proxy per region: all three regions, then each alone.
async fn measure_wan(env: &mut BenchEnv, image: &PreparedImage, runs: usize) -> (Row, Vec<Row>) {
    let mut three = Vec::new();
    let mut singles: Vec<Vec<Result<Sample, String>>> = vec![Vec::new(); WAN_SINGLES.len()];
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
        let registries = RegistrySet::start(THREE).await?;
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
        let disk = Origin::Disk(image);
        contenders::ecr_fanout(env, disk, &endpoints, &repository, label, None).await
    };
    outcome.await.map_err(|error| format!("{error:#}"))
}

/// One line saying what a request on a new connection takes through each region's proxy.
async fn check_wan_links() -> String {
    let checked = async {
        let registries = RegistrySet::start(THREE).await?;
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
