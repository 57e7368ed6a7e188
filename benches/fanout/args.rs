//! The bench's command line: what Cargo passes (`--bench` under `cargo bench`, nothing under
//! `cargo test`), the user's options after `--`, and the internal `--floor-client SPEC` mode.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use super::images::BenchImage;

pub const USAGE: &str = "\
usage: cargo bench --bench fanout -- [--quick] [--images small,130mb,1gib] [--wan] [--runs N]
                                    [--skip LIST] [--concurrency LIST] [--promote]

  --quick          only the small and the 130 MB image (a few minutes)
  --images LIST    comma-separated images to measure: small, 130mb, 1gib (default: all three),
                   16x8mb (16 layers of 8 MB, for --concurrency sweeps; only when named)
  --wan            also measure ecr-fanout through a latency/bandwidth shaping proxy per region
  --runs N         measure every row N times on fresh registries and print the median (default 1)
  --skip LIST      leave rows out: floor, ecr-fanout, skopeo, docker (default: none)
  --concurrency LIST
                   also measure ecr-fanout → 3 regions at each --concurrency given (e.g.
                   1,2,4,8), in a table of its own per image
  --promote        also measure promotion from a source registry (docker://) to 3 regions, its
                   re-run and skopeo copy docker:// ×3 parallel, per image; and for the 130 MB
                   image the floor, the push from disk and the promotion to 10 regions";

/// What this process was started to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Mode {
    /// Started by `cargo test --all-targets` (no `--bench`): do nothing.
    NotBenchmarking,
    Help,
    Bench(BenchOptions),
    /// The floor's upload client, run by the bench itself under `/usr/bin/time`.
    FloorClient(PathBuf),
}

#[derive(Debug, PartialEq, Eq)]
pub struct BenchOptions {
    pub images: Vec<BenchImage>,
    pub wan: bool,
    pub runs: usize,
    pub skip: Vec<String>,
    /// `--concurrency` values to sweep; empty: no sweep.
    pub concurrency: Vec<usize>,
    /// `--promote`: the promotion and scale rows.
    pub promote: bool,
}

impl BenchOptions {
    pub fn measures(&self, contender: &str) -> bool {
        !self.skip.iter().any(|skipped| skipped == contender)
    }
}

const CONTENDERS: [&str; 4] = ["floor", "ecr-fanout", "skopeo", "docker"];

pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Mode> {
    let mut args = args.into_iter();
    let mut benchmarking = false;
    let mut quick = false;
    let mut images: Option<Vec<BenchImage>> = None;
    let mut wan = false;
    let mut promote = false;
    let mut runs = 1;
    let mut skip = Vec::new();
    let mut concurrency = Vec::new();
    while let Some(arg) = args.next() {
        let (flag, inline_value) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_owned(), Some(value.to_owned())),
            None => (arg.clone(), None),
        };
        let mut value = |name: &str| {
            inline_value
                .clone()
                .or_else(|| args.next())
                .with_context(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "--bench" => benchmarking = true,
            "--quick" => quick = true,
            "--wan" => wan = true,
            "--promote" => promote = true,
            "--help" | "-h" => return Ok(Mode::Help),
            "--images" => images = Some(parse_images(&value("--images")?)?),
            "--runs" => runs = parse_runs(&value("--runs")?)?,
            "--skip" => skip = parse_skip(&value("--skip")?)?,
            "--concurrency" => concurrency = parse_concurrency(&value("--concurrency")?)?,
            "--floor-client" => return Ok(Mode::FloorClient(value("--floor-client")?.into())),
            other => bail!("unknown argument `{other}`"),
        }
    }
    if !benchmarking {
        return Ok(Mode::NotBenchmarking);
    }
    let images = images.unwrap_or_else(|| {
        if quick {
            vec![BenchImage::Small, BenchImage::Mb130]
        } else {
            BenchImage::ALL.to_vec()
        }
    });
    Ok(Mode::Bench(BenchOptions {
        images,
        wan,
        runs,
        skip,
        concurrency,
        promote,
    }))
}

fn parse_images(list: &str) -> Result<Vec<BenchImage>> {
    let mut images = Vec::new();
    for name in list
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
    {
        let image = BenchImage::KNOWN
            .into_iter()
            .find(|image| image.name() == name)
            .with_context(|| {
                format!("--images: unknown image `{name}`; valid: small, 130mb, 1gib, 16x8mb")
            })?;
        if !images.contains(&image) {
            images.push(image);
        }
    }
    if images.is_empty() {
        bail!("--images: name at least one of small, 130mb, 1gib");
    }
    Ok(images)
}

fn parse_runs(value: &str) -> Result<usize> {
    match value.parse::<usize>() {
        Ok(runs @ 1..=20) => Ok(runs),
        _ => bail!("--runs: `{value}` is not a number from 1 to 20"),
    }
}

fn parse_concurrency(list: &str) -> Result<Vec<usize>> {
    let mut values = Vec::new();
    for item in list
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
    {
        match item.parse::<usize>() {
            Ok(n @ 1..=64) if !values.contains(&n) => values.push(n),
            Ok(1..=64) => {}
            _ => bail!("--concurrency: `{item}` is not a number from 1 to 64"),
        }
    }
    if values.is_empty() {
        bail!("--concurrency: give at least one number, such as 1,2,4,8");
    }
    Ok(values)
}

fn parse_skip(list: &str) -> Result<Vec<String>> {
    let names: Vec<String> = list.split(',').map(|name| name.trim().to_owned()).collect();
    if let Some(unknown) = names
        .iter()
        .find(|name| !CONTENDERS.contains(&name.as_str()))
    {
        bail!(
            "--skip: unknown row `{unknown}`; valid: {}",
            CONTENDERS.join(", ")
        );
    }
    Ok(names)
}
