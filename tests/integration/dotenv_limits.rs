//! The dotenv file fits GitLab's limits (5,120 bytes, 50 variables): 25 regions with a
//! 64-character repository name get each region's registry host instead of its image URI, and
//! one warning; a short name keeps the full URIs. Rendered task definitions that would not fit
//! as paths are written as their directory. The values are read back and the images rebuilt
//! from them, as a later job would.

use std::collections::BTreeMap;
use std::path::Path;

use crate::action_support::{bare_command, repo_root};
use crate::harness::{RunOutput, TestEnv, run};
use crate::scenario::*;

const MAX_BYTES: usize = 5_120;
const MAX_VARIABLES: usize = 50;

/// 25 AWS regions (the commercial ones of 2026, roughly).
const TWENTY_FIVE: [&str; 25] = [
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "ca-west-1",
    "sa-east-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "me-south-1",
    "me-central-1",
    "il-central-1",
    "af-south-1",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "ap-northeast-2",
];

/// A 64-character repository name (ECR allows 256).
fn long_repository() -> String {
    let name = format!("platform-team/services/payments/{}", "x".repeat(32));
    assert_eq!(name.len(), 64);
    name
}

fn variable_suffix(region: &str) -> String {
    region.to_uppercase().replace('-', "_")
}

/// A dry run to 25 regions without AWS access (no network) writing a dotenv file.
async fn dry_run_dotenv(repository: &str) -> (RunOutput, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let dotenv = dir.path().join("push.env");
    let image = format!("oci:{}", repo_root().join("examples/hello").display());
    let mut cmd = bare_command(dir.path());
    cmd.args(["push", "--dry-run", "--json", "--image", &image])
        .args([
            "--regions",
            &TWENTY_FIVE.join(","),
            "--repository",
            repository,
        ])
        .args(["--tags", "v1.2.3,latest", "--registry-id", ACCOUNT])
        .arg("--dotenv-file")
        .arg(&dotenv);
    let out = run(cmd).await;
    assert!(out.success(), "{out}");
    let text = std::fs::read_to_string(&dotenv).unwrap();
    let digest = report(&out)["digest"].as_str().unwrap().to_string();
    (out, text, digest)
}

fn parse(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(|l| {
            let (k, v) = l.split_once('=').expect("KEY=VALUE");
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn assert_within_limits(text: &str) {
    assert!(text.len() <= MAX_BYTES, "{} bytes:\n{text}", text.len());
    let count = text.lines().count();
    assert!(count <= MAX_VARIABLES, "{count} variables:\n{text}");
    assert!(
        !text.contains(['{', '[']),
        "a JSON aggregate in the dotenv file:\n{text}"
    );
}

fn dotenv_warnings(out: &RunOutput) -> Vec<&str> {
    out.stderr
        .lines()
        .filter(|l| l.contains("dotenv:"))
        .collect()
}

#[tokio::test]
async fn twenty_five_regions_with_a_long_name_get_registry_hosts() {
    let repository = long_repository();
    let (out, text, digest) = dry_run_dotenv(&repository).await;
    assert_within_limits(&text);
    let vars = parse(&text);
    assert_eq!(vars["ECR_FANOUT_REPOSITORY"], repository);
    assert_eq!(vars["ECR_FANOUT_DIGEST"], digest);
    assert_eq!(vars["ECR_FANOUT_TAGS"], "v1.2.3,latest");
    assert_eq!(vars["ECR_FANOUT_REGIONS"], TWENTY_FIVE.join(","));
    let images = &report(&out)["images"];
    for region in TWENTY_FIVE {
        let suffix = variable_suffix(region);
        assert!(!vars.contains_key(&format!("ECR_FANOUT_IMAGE_{suffix}")));
        let registry = &vars[&format!("ECR_FANOUT_REGISTRY_{suffix}")];
        let rebuilt = format!(
            "{registry}/{}@{}",
            vars["ECR_FANOUT_REPOSITORY"], vars["ECR_FANOUT_DIGEST"]
        );
        assert_eq!(rebuilt, images[region].as_str().unwrap(), "{region}");
    }
    let warnings = dotenv_warnings(&out);
    assert_eq!(warnings.len(), 1, "{out}");
    assert!(
        warnings[0].contains("ECR_FANOUT_REGISTRY_<REGION>"),
        "{}",
        warnings[0]
    );
}

#[tokio::test]
async fn twenty_five_regions_with_a_short_name_keep_the_image_uris() {
    let (out, text, _) = dry_run_dotenv("web").await;
    assert_within_limits(&text);
    let vars = parse(&text);
    let images = &report(&out)["images"];
    for region in TWENTY_FIVE {
        let variable = format!("ECR_FANOUT_IMAGE_{}", variable_suffix(region));
        assert_eq!(vars[&variable], images[region].as_str().unwrap());
    }
    assert!(
        !vars.keys().any(|k| k.starts_with("ECR_FANOUT_REGISTRY_")),
        "{text}"
    );
    assert!(dotenv_warnings(&out).is_empty(), "{out}");
}

/// Fifteen regions with a long name and a rendered task definition each: the images fit, the
/// paths do not, so the file names the directory and the files follow the pattern.
#[tokio::test]
async fn task_definitions_that_do_not_fit_are_written_as_their_directory() {
    const FIFTEEN: usize = 15;
    let env = TestEnv::start(&TWENTY_FIVE[..FIFTEEN]).await;
    let (image, _) = single_manifest_image(&env, "dotenv-ecs");
    let source = env.path("task-definition.json");
    let document = serde_json::json!({
        "family": "payments",
        "containerDefinitions": [{ "name": "app", "image": "placeholder" }]
    });
    std::fs::write(&source, document.to_string()).unwrap();
    let (dotenv_path, dotenv_arg) = work_file(&env, "push.env");
    let repository = long_repository();
    let out = push_ok(
        &env,
        &image,
        &repository,
        &[
            "--tags",
            "v1",
            "--create-repository",
            "--ecs-task-definition",
            &source.display().to_string(),
            "--ecs-container-name",
            "app",
            "--dotenv-file",
            &dotenv_arg,
        ],
    )
    .await;
    let text = std::fs::read_to_string(&dotenv_path).unwrap();
    assert_within_limits(&text);
    let vars = parse(&text);
    let report = report(&out);
    let dir = Path::new(&vars["ECR_FANOUT_TASK_DEFINITION_DIR"]);
    for region in env.regions() {
        let name = region.name();
        let suffix = variable_suffix(name);
        assert_eq!(
            vars[&format!("ECR_FANOUT_IMAGE_{suffix}")],
            report["images"][name].as_str().unwrap()
        );
        assert!(!vars.contains_key(&format!("ECR_FANOUT_TASK_DEFINITION_{suffix}")));
        let path = dir.join(format!("task-definition-{name}.json"));
        assert_eq!(
            path.display().to_string(),
            report["task_definitions"][name].as_str().unwrap()
        );
        let rendered: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(
            rendered["containerDefinitions"][0]["image"],
            report["images"][name]
        );
    }
    let warnings = dotenv_warnings(&out);
    assert_eq!(warnings.len(), 1, "{out}");
    assert!(
        warnings[0].contains("ECR_FANOUT_TASK_DEFINITION_DIR")
            && !warnings[0].contains("ECR_FANOUT_REGISTRY_<REGION>"),
        "{}",
        warnings[0]
    );
}
