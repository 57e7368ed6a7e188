//! The `--promote` rows, one round at a time: promotion (`ecr-fanout push --image docker://…`
//! from the source registry) to three fresh registries and its identical re-run, against three
//! parallel `skopeo copy docker://… docker://…` from the same source; and the scale rows (the
//! floor, the push from disk and the promotion to ten fresh registries).

use super::args::BenchOptions;
use super::bench_env::BenchEnv;
use super::contenders::{self, direct_endpoints};
use super::images::PreparedImage;
use super::registries::{REGIONS, THREE};
use super::rounds::{SampleBook, on_fresh_registries, push_and_rerun};
use super::source_registry::{Origin, SourceRegistry};
use super::table::{
    ECR_TEN, FLOOR_TEN, PROMOTE_RERUN, PROMOTE_TEN, PROMOTE_THREE, SKOPEO_PROMOTE_PARALLEL,
};

/// Promotion to three and its re-run, then skopeo ×3 parallel from the same source.
pub async fn measure_promotion_round(
    env: &mut BenchEnv,
    image: &PreparedImage,
    source: &SourceRegistry,
    options: &BenchOptions,
    book: &mut SampleBook,
) {
    let origin = Origin::Registry(source);
    if options.measures("ecr-fanout") {
        let labels = (PROMOTE_THREE, PROMOTE_RERUN);
        let (first, rerun) = push_and_rerun(env, image.name, origin, THREE, labels).await;
        book.record(PROMOTE_THREE, first);
        book.record(PROMOTE_RERUN, rerun);
    }
    if options.measures("skopeo") {
        let outcome = on_fresh_registries(env, image.name, THREE, async |env, sets, repository| {
            contenders::skopeo_parallel(env, origin, sets, repository).await
        });
        book.record(SKOPEO_PROMOTE_PARALLEL, outcome.await);
    }
}

/// The floor, the push from disk and the promotion, each to ten fresh registries.
pub async fn measure_scale_round(
    env: &mut BenchEnv,
    image: &PreparedImage,
    source: &SourceRegistry,
    options: &BenchOptions,
    book: &mut SampleBook,
) {
    let ten = REGIONS.len();
    if options.measures("floor") {
        let outcome = on_fresh_registries(env, image.name, ten, async |env, sets, repository| {
            contenders::floor(env, image, sets, repository).await
        });
        book.record(FLOOR_TEN, outcome.await);
    }
    if !options.measures("ecr-fanout") {
        return;
    }
    let origins = [
        (ECR_TEN, Origin::Disk(image)),
        (PROMOTE_TEN, Origin::Registry(source)),
    ];
    for (label, origin) in origins {
        let outcome = on_fresh_registries(env, image.name, ten, async |env, sets, repository| {
            let endpoints = direct_endpoints(sets);
            contenders::ecr_fanout(env, origin, &endpoints, repository, label, None).await
        });
        book.record(label, outcome.await);
    }
}
