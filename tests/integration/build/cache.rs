//! A layer cache in an ECR repository with buildah: a first build `cache-to` a region's
//! registry (through its ECR proxy, with the region's ECR login, which ecr-fanout obtains and
//! hands to buildah in a temporary auth file) pushes its cache images there; a second build in
//! fresh storage `cache-from` the same ref pulls them instead of running its steps. The cache
//! repository is read back with skopeo, the auth file is gone after each build, and the ECR
//! password appears nowhere in the output at -vv.

use std::path::{Path, PathBuf};

use super::busybox::{BASE, busybox_base_in};
use super::support::{build_and_push, context, logins_left};
use crate::harness::buildah::BuildahStorage;
use crate::harness::{RunOutput, TestEnv, skopeo};
use crate::scenario::*;

const CACHE_REPOSITORY: &str = "cache-repo";
const RUN_STEPS: usize = 3;

#[tokio::test]
async fn a_buildah_cache_in_ecr_is_pushed_by_one_build_and_used_by_the_next() {
    let env = TestEnv::start(&REGIONS[..1]).await;
    let region = &env.regions()[0];
    let dockerfile = format!(
        "FROM {BASE}\nRUN echo one > /one\nRUN echo two > /two\nRUN cat /one /two > /both\n"
    );
    let dir = context(&env, "cached", &dockerfile);
    // The region's registry, as `registry-endpoints` names it: ecr-fanout logs in to it as
    // to that region's ECR registry.
    let cache_ref = format!("{}/{CACHE_REPOSITORY}:buildcache", region.proxy_host());
    let cache_images = format!("{}/{CACHE_REPOSITORY}:", region.proxy_host());

    let first = build_with_cache(&env, "first", &dir, "--cache-to", &cache_ref).await;
    assert!(first.success(), "{first}");
    let pushed = tags_after(&first.stderr, &format!("--> Pushing cache {cache_images}"));
    // The three RUN steps and the LABEL steps of the standard labels; FROM is no step of
    // its own.
    let steps = first
        .stderr
        .lines()
        .filter(|l| l.starts_with("STEP "))
        .count();
    assert!(steps > RUN_STEPS, "{first}");
    assert_eq!(pushed.len(), steps - 1, "one cache image per step: {first}");
    let stored = skopeo::tags(region, CACHE_REPOSITORY).await.unwrap();
    for tag in &pushed {
        assert!(
            stored.contains(tag),
            "{tag} is not in the registry: {stored:?}"
        );
    }

    let second = build_with_cache(&env, "second", &dir, "--cache-from", &cache_ref).await;
    assert!(second.success(), "{second}");
    let pulled = tags_after(
        &second.stderr,
        &format!("--> Cache pulled from remote {cache_images}"),
    );
    assert_eq!(
        pulled, pushed,
        "every RUN step comes from the first build's cache: {second}"
    );
    assert!(second.stderr.contains("--> Using cache "), "{second}");
    assert_eq!(
        report(&second)["digest"],
        report(&first)["digest"],
        "the cached steps give the same image"
    );
}

/// `push -vv` of a buildah build of `dir` in fresh storage named `name`, with one cache line;
/// checks that the auth file it logged is gone and the password was never printed.
async fn build_with_cache(
    env: &TestEnv,
    name: &str,
    dir: &Path,
    cache_flag: &str,
    cache_ref: &str,
) -> RunOutput {
    let storage = BuildahStorage::in_dir(&env.path(&format!("buildah-{name}"))).unwrap();
    storage.require_buildah().await;
    busybox_base_in(env, &storage).await;
    let tmp = env.path(&format!("tmp-{name}"));
    std::fs::create_dir_all(&tmp).unwrap();
    let mut vars = storage.env_vars();
    vars.push(("TMPDIR".into(), tmp.display().to_string()));
    let tag = format!("{name}-v1");
    let args = [
        "-vv",
        "--builder",
        "buildah",
        "--tags",
        &tag,
        "--pull",
        "false",
        cache_flag,
        cache_ref,
    ];
    let out = build_and_push(env, vars, dir, &args).await;
    let password = env.regions()[0].password();
    assert!(
        !out.stdout.contains(password) && !out.stderr.contains(password),
        "the ECR password is printed: {out}"
    );
    let auth_file = logged_auth_file(&out.stderr)
        .unwrap_or_else(|| panic!("the build command names no --authfile: {out}"));
    assert!(auth_file.starts_with(&tmp), "{}", auth_file.display());
    assert!(
        !auth_file.exists() && !auth_file.parent().is_some_and(Path::exists),
        "{} is left after the build",
        auth_file.display()
    );
    assert_eq!(logins_left(&tmp), Vec::<String>::new());
    out
}

/// The `--authfile PATH` of the logged buildah build command line.
fn logged_auth_file(stderr: &str) -> Option<PathBuf> {
    let line = stderr
        .lines()
        .find(|l| l.contains("running buildah") && l.contains(" build "))?;
    let after = line.split(" --authfile ").nth(1)?;
    after.split_whitespace().next().map(PathBuf::from)
}

/// The tags that follow `prefix` on the lines that start with it, in order.
fn tags_after(stderr: &str, prefix: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|line| line.trim().strip_prefix(prefix))
        .map(|tag| tag.trim().to_owned())
        .collect()
}
