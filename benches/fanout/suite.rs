//! The whole benchmark: machine description, then per image the rows (each measured `runs`
//! times on fresh registries; the median is printed), with `--promote` the promotion and scale
//! rows in the same rounds, and with `--wan` the WAN rows. Tables go to stdout, progress to
//! stderr.

use std::time::Instant;

use anyhow::Result;

use super::args::BenchOptions;
use super::bench_env::BenchEnv;
use super::contenders::{self, direct_endpoints};
use super::docker_push;
use super::images::{self, BenchImage, PreparedImage};
use super::promotion::{measure_promotion_round, measure_scale_round};
use super::registries::{REGIONS, RegistrySet, THREE};
use super::rounds::{SampleBook, on_fresh_registries, push_and_rerun, report_progress};
use super::source_registry::{Origin, SourceRegistry};
use super::table::{
    self, DOCKER, ECR_ONE, ECR_THREE, FLOOR, MAIN_RATIOS, MAIN_ROWS, PROMOTION_RATIOS,
    PROMOTION_ROWS, RERUN, Row, SCALE_RATIOS, SCALE_ROWS, SKOPEO_PARALLEL, SKOPEO_SEQUENTIAL,
    Sample,
};
use super::targets;
use super::timed::check_gnu_time;
use super::wan_rows;

pub fn run(options: BenchOptions) -> Result<()> {
    check_gnu_time()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run_all(options))
}

async fn run_all(options: BenchOptions) -> Result<()> {
    let started = Instant::now();
    let regions = if options.promote {
        REGIONS.len()
    } else {
        THREE
    };
    let mut env = BenchEnv::start(regions).await?;
    println!("{}", super::machine::describe(&env.ecr_fanout_binary()));
    for image in &options.images {
        let image_started = Instant::now();
        let prepared = tokio::task::spawn_blocking({
            let image = *image;
            move || images::prepare(image)
        })
        .await??;
        println!("{}\n", prepared.describe());
        let book = measure_image(&mut env, &prepared, &options).await;
        let rows = book.rows(&MAIN_ROWS);
        let title = format!("{} ({} run(s), median)", prepared.name, options.runs);
        println!("{}", table::render_image_table(&title, &rows, &MAIN_RATIOS));
        println!("{}", targets::render_targets(&rows));
        if options.promote {
            print_promotion_tables(&prepared, &book, options.runs);
        }
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
            println!(
                "{}",
                table::render_image_table(&title, &sweep, &MAIN_RATIOS)
            );
        }
        if options.wan {
            wan_rows::measure_and_print(&mut env, &prepared, options.runs).await;
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

/// Whether the scale rows (ten registries) are measured for `image`: the 130 MB image only.
fn measures_scale(image: &PreparedImage) -> bool {
    image.name == BenchImage::Mb130.name()
}

fn print_promotion_tables(image: &PreparedImage, book: &SampleBook, runs: usize) {
    let rows = book.rows(&PROMOTION_ROWS);
    let title = format!(
        "{}: promotion from a registry ({runs} run(s), median)",
        image.name
    );
    println!(
        "{}",
        table::render_image_table(&title, &rows, &PROMOTION_RATIOS)
    );
    // A single manifest: its config and its layers.
    let layers = image.image.blobs.len().saturating_sub(1);
    println!("{}", targets::render_promotion_targets(&rows, layers));
    if measures_scale(image) {
        let rows = book.rows(&SCALE_ROWS);
        let title = format!("{}: ten regions ({runs} run(s), median)", image.name);
        println!(
            "{}",
            table::render_image_table(&title, &rows, &SCALE_RATIOS)
        );
        println!("{}", targets::render_scale_targets(&rows));
    }
}

/// Every row of one image, `runs` rounds of them (with `--promote`, the promotion and scale
/// rows are part of each round, from a source registry staged once before the first).
async fn measure_image(
    env: &mut BenchEnv,
    image: &PreparedImage,
    options: &BenchOptions,
) -> SampleBook {
    let mut book = SampleBook::new(image.name);
    let docker_image = if options.measures("docker") {
        Some(load_into_dockerd(env, image).await)
    } else {
        None
    };
    let source = if options.promote {
        let staged = SourceRegistry::stage(image, env.scratch()).await;
        Some(staged.map_err(|error| format!("{error:#}")))
    } else {
        None
    };
    for _ in 0..options.runs {
        measure_round_from_disk(env, image, options, &mut book).await;
        if let Some(loaded) = &docker_image {
            let outcome = match loaded {
                Ok(local) => docker_push_run(env, image, local).await,
                Err(reason) => Err(reason.clone()),
            };
            book.record(DOCKER, outcome);
        }
        match &source {
            Some(Ok(source)) => {
                measure_promotion_round(env, image, source, options, &mut book).await;
                if measures_scale(image) {
                    measure_scale_round(env, image, source, options, &mut book).await;
                }
            }
            Some(Err(reason)) => book.record(table::PROMOTE_THREE, Err(reason.clone())),
            None => {}
        }
    }
    book
}

/// One round of the rows that read the image from disk: floor, ecr-fanout to one and three
/// (and the re-run), skopeo in parallel and in sequence.
async fn measure_round_from_disk(
    env: &mut BenchEnv,
    image: &PreparedImage,
    options: &BenchOptions,
    book: &mut SampleBook,
) {
    let disk = Origin::Disk(image);
    let name = image.name;
    if options.measures("floor") {
        let outcome = on_fresh_registries(env, name, THREE, async |env, registries, repository| {
            contenders::floor(env, image, registries, repository).await
        });
        book.record(FLOOR, outcome.await);
    }
    if options.measures("ecr-fanout") {
        let outcome = on_fresh_registries(env, name, THREE, async |env, registries, repository| {
            let endpoints = &direct_endpoints(registries)[..1];
            contenders::ecr_fanout(env, disk, endpoints, repository, ECR_ONE, None).await
        });
        book.record(ECR_ONE, outcome.await);
        let (three, rerun) = push_and_rerun(env, name, disk, THREE, (ECR_THREE, RERUN)).await;
        book.record(ECR_THREE, three);
        book.record(RERUN, rerun);
    }
    if options.measures("skopeo") {
        let outcome = on_fresh_registries(env, name, THREE, async |env, registries, repository| {
            contenders::skopeo_parallel(env, disk, registries, repository).await
        });
        book.record(SKOPEO_PARALLEL, outcome.await);
        let outcome = on_fresh_registries(env, name, THREE, async |env, registries, repository| {
            contenders::skopeo_sequential(env, disk, registries, repository).await
        });
        book.record(SKOPEO_SEQUENTIAL, outcome.await);
    }
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
            let outcome = on_fresh_registries(env, image.name, THREE, async |env, sets, repo| {
                let endpoints = direct_endpoints(sets);
                let disk = Origin::Disk(image);
                contenders::ecr_fanout(env, disk, &endpoints, repo, label, Some(*n)).await
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
    let registries = RegistrySet::start(THREE)
        .await
        .map_err(|error| format!("{error:#}"))?;
    let dockerd = env.dockerd()?;
    docker_push::push_sequential(env, dockerd, local, &registries, &repository)
        .await
        .map_err(|error| format!("{error:#}"))
}
