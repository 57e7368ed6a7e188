//! What every measured row shares: a run on fresh registries under a new repository name, an
//! ecr-fanout push followed by its identical re-run, and the book that collects each row's
//! samples over the rounds (progress on stderr) and hands out the rows as medians.

use anyhow::Result;

use super::bench_env::BenchEnv;
use super::contenders::{self, direct_endpoints};
use super::registries::RegistrySet;
use super::source_registry::Origin;
use super::table::{Row, Sample};

/// Every sample of one image, by row label, in the order first recorded.
pub struct SampleBook {
    image: &'static str,
    samples: Vec<(&'static str, Vec<Result<Sample, String>>)>,
}

impl SampleBook {
    pub fn new(image: &'static str) -> SampleBook {
        SampleBook {
            image,
            samples: Vec::new(),
        }
    }

    pub fn record(&mut self, label: &'static str, outcome: Result<Sample, String>) {
        report_progress(self.image, label, &outcome);
        match self.samples.iter_mut().find(|(known, _)| *known == label) {
            Some((_, list)) => list.push(outcome),
            None => self.samples.push((label, vec![outcome])),
        }
    }

    /// The rows of `labels` that were measured, in that order.
    pub fn rows(&self, labels: &[&str]) -> Vec<Row> {
        labels
            .iter()
            .filter_map(|label| {
                let (label, list) = self.samples.iter().find(|(known, _)| known == label)?;
                Some(Row::from_samples(*label, list.clone()))
            })
            .collect()
    }
}

/// Starts `count` fresh registries and a new repository name, then measures `run` on them.
pub async fn on_fresh_registries<F>(
    env: &mut BenchEnv,
    image: &str,
    count: usize,
    run: F,
) -> Result<Sample, String>
where
    F: AsyncFnOnce(&BenchEnv, &RegistrySet, &str) -> Result<Sample>,
{
    let repository = env.next_repository(image);
    let outcome = async {
        let registries = RegistrySet::start(count).await?;
        run(env, &registries, &repository).await
    };
    outcome.await.map_err(|error| format!("{error:#}"))
}

/// ecr-fanout of `origin` to `count` fresh registries, then the identical command again (must
/// upload 0 bytes). From a registry, each sample says how many layers the source served.
pub async fn push_and_rerun(
    env: &mut BenchEnv,
    image: &str,
    origin: Origin<'_>,
    count: usize,
    labels: (&str, &str),
) -> (Result<Sample, String>, Result<Sample, String>) {
    let repository = env.next_repository(image);
    let registries = match RegistrySet::start(count).await {
        Ok(registries) => registries,
        Err(error) => return (Err(format!("{error:#}")), Err("no registries".into())),
    };
    let endpoints = direct_endpoints(&registries);
    let push = async |label| {
        let before = origin.layer_downloads();
        let pushed = contenders::ecr_fanout(env, origin, &endpoints, &repository, label, None);
        let mut sample = pushed.await.map_err(|error| format!("{error:#}"))?;
        sample.layer_downloads = origin
            .layer_downloads()
            .zip(before)
            .map(|(after, before)| after - before);
        Ok(sample)
    };
    let first = push(labels.0).await;
    if first.is_err() {
        return (first, Err("the first push failed".into()));
    }
    (first, push(labels.1).await)
}

pub fn report_progress(image: &str, label: &str, outcome: &Result<Sample, String>) {
    match outcome {
        Ok(sample) => eprintln!("{image}: {label}: {:.2} s", sample.wall.as_secs_f64()),
        Err(reason) => eprintln!("{image}: {label}: not measured: {reason}"),
    }
}
