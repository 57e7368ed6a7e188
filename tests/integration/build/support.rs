//! Shared steps of the build tests: a context directory with a Dockerfile, a build-and-push
//! run as a GitHub job of a known commit with `SOURCE_DATE_EPOCH` set, reading the pushed
//! configs' labels back from every region with skopeo, and the builder logins a run left.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::harness::{RunOutput, TestEnv, ecr_fanout, run, skopeo};

pub const ARG_AND_LABEL: &str =
    "FROM scratch\nARG GREETING=hi\nLABEL greeting=$GREETING\nCOPY hello.txt /hello.txt\n";
pub const SOURCE_DATE_EPOCH: &str = "1700000000";
pub const CREATED: &str = "2023-11-14T22:13:20Z";
pub const SHA: &str = "0123456789abcdef0123456789abcdef01234567";
/// Host variables that would otherwise decide the standard OCI labels.
const METADATA_VARS: &[&str] = &["CI_COMMIT_SHA", "CI_PROJECT_URL", "GIT_COMMIT", "GIT_URL"];

/// A context directory with `hello.txt` and this Dockerfile.
pub fn context(env: &TestEnv, name: &str, dockerfile: &str) -> PathBuf {
    let dir = env.path(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("hello.txt"), format!("hello from {name}\n")).unwrap();
    std::fs::write(dir.join("Dockerfile"), dockerfile).unwrap();
    dir
}

/// `push --json --create-repository` of a build of `context` to every region, as a GitHub
/// run of commit [`SHA`] with `SOURCE_DATE_EPOCH` set.
pub async fn build_and_push(
    env: &TestEnv,
    vars: Vec<(String, String)>,
    context: &Path,
    args: &[&str],
) -> RunOutput {
    run(build_command(env, vars, context, args)).await
}

/// The command [`build_and_push`] runs, to start it in the background instead.
pub fn build_command(
    env: &TestEnv,
    vars: Vec<(String, String)>,
    context: &Path,
    args: &[&str],
) -> Command {
    let regions: Vec<&str> = env.regions().iter().map(|r| r.name()).collect();
    let mut cmd = ecr_fanout(env);
    for name in METADATA_VARS {
        cmd.env_remove(name);
    }
    cmd.envs(vars)
        .env("GITHUB_SHA", SHA)
        .env("GITHUB_SERVER_URL", "https://github.example.com")
        .env("GITHUB_REPOSITORY", "octo/web")
        .env("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH)
        .args([
            "push",
            "--json",
            "--create-repository",
            "--repository",
            "web",
        ])
        .args(["--context", &context.display().to_string()])
        .args(["--regions", &regions.join(",")])
        .args(["--registry-endpoints", &env.registry_endpoints_arg()])
        .args(args);
    cmd
}

/// The builder logins (`ecr-fanout-auth-*` directories) left in the temporary directory `tmp`.
pub fn logins_left(tmp: &Path) -> Vec<String> {
    std::fs::read_dir(tmp)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("ecr-fanout-auth-"))
        .collect()
}

/// The labels of `web:TAG`'s config, read with skopeo from every region; all alike.
pub async fn labels_everywhere(env: &TestEnv, tag: &str) -> Value {
    let mut seen: Option<Value> = None;
    for region in env.regions() {
        let config = skopeo::inspect_config(region, "web", tag).await.unwrap();
        let labels = config["config"]["Labels"].clone();
        if let Some(first) = &seen {
            assert_eq!(&labels, first, "{} serves other labels", region.name());
        }
        seen = Some(labels);
    }
    seen.unwrap()
}

pub fn assert_arg_and_standard_labels(labels: &Value) {
    assert_eq!(
        labels["greeting"], "bonjour",
        "the build arg, through LABEL: {labels}"
    );
    assert_eq!(labels["team"], "web", "the `labels` input: {labels}");
    assert_eq!(labels["org.opencontainers.image.revision"], SHA);
    assert_eq!(
        labels["org.opencontainers.image.source"],
        "https://github.example.com/octo/web"
    );
    assert_eq!(labels["org.opencontainers.image.created"], CREATED);
}

/// `push --json --create-repository --repository web` of `image` with a prepared command.
pub async fn push_with(env: &TestEnv, mut cmd: Command, image: &str, args: &[&str]) -> RunOutput {
    let regions: Vec<&str> = env.regions().iter().map(|r| r.name()).collect();
    cmd.args([
        "push",
        "--json",
        "--create-repository",
        "--repository",
        "web",
    ])
    .args(["--image", image])
    .args(["--regions", &regions.join(",")])
    .args(["--registry-endpoints", &env.registry_endpoints_arg()])
    .args(args);
    run(cmd).await
}
