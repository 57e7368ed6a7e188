//! The CI files stay true to the binary: the GitLab example's dotenv report is the file the push
//! writes and the deploy job reads only variables the binary writes; the Jenkinsfile reads only
//! fields the JSON report has; GitHub workflows use only declared inputs and outputs, pin every
//! third-party action by commit SHA and set `permissions`; the IAM policy example is JSON.

use std::collections::BTreeSet;

use serde_json::Value as Json;
/// YAML files are read into JSON values (the YAML crate reads into typed values only).
use serde_json::Value as Yaml;

use crate::action_support::*;
use crate::harness::run;

/// Runs a dry run with `--json` and `--dotenv-file`; returns (report, dotenv variable names).
async fn dry_run_report_and_dotenv() -> (Json, BTreeSet<String>) {
    let dir = tempfile::tempdir().unwrap();
    let dotenv = dir.path().join("out.env");
    let image = format!("oci:{}", repo_root().join("examples/hello").display());
    let mut cmd = bare_command(dir.path());
    cmd.args(["push", "--dry-run", "--json", "--image", &image])
        .args([
            "--regions",
            "us-east-1,eu-west-1",
            "--repository",
            "web",
            "--tags",
            "v1",
        ])
        .args(["--registry-id", "123456789012", "--dotenv-file"])
        .arg(&dotenv);
    let out = run(cmd).await;
    assert!(out.success(), "{out}");
    let report: Json = serde_json::from_str(&out.stdout).expect("JSON report");
    let names = std::fs::read_to_string(&dotenv)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.to_string()))
        .collect();
    (report, names)
}

/// Identifiers (letters, digits, `_`, `-`) that follow `prefix` where it starts a word.
fn names_after(text: &str, prefix: &str) -> BTreeSet<String> {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    text.match_indices(prefix)
        .filter(|(at, _)| !text[..*at].ends_with(is_name))
        .map(|(at, _)| {
            text[at + prefix.len()..]
                .chars()
                .take_while(|c| is_name(*c))
                .collect::<String>()
        })
        .filter(|name| !name.is_empty())
        .collect()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo_root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn yaml(path: &str) -> Yaml {
    serde_saphyr::from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[tokio::test]
async fn gitlab_and_jenkins_examples_read_what_the_binary_writes() {
    let (report, dotenv_names) = dry_run_report_and_dotenv().await;

    let gitlab = yaml("examples/ci/gitlab-ci.yml");
    let push = &gitlab["push-to-ecr"];
    let report_file = push["artifacts"]["reports"]["dotenv"]
        .as_str()
        .expect("dotenv report");
    let script = serde_json::to_string(&push["script"]).unwrap();
    assert!(
        script.contains(&format!("--dotenv-file {report_file}")),
        "{script}"
    );
    assert!(script.contains("--scan gate"), "{script}");
    assert_eq!(
        push["allow_failure"]["exit_codes"],
        serde_json::json!([4]),
        "the gate is seen without blocking"
    );
    let deploy = serde_json::to_string(&gitlab["deploy"]).unwrap();
    assert!(
        deploy.contains("push-to-ecr"),
        "deploy must need the push job"
    );
    let used = names_after(&deploy, "$ECR_FANOUT_");
    assert!(!used.is_empty());
    for name in used {
        let variable = format!("ECR_FANOUT_{name}");
        assert!(
            dotenv_names.contains(&variable),
            "{variable} is not written: {dotenv_names:?}"
        );
    }

    let jenkinsfile = read("examples/ci/Jenkinsfile");
    assert!(jenkinsfile.contains("readJSON") && jenkinsfile.contains("--json"));
    let top = report.as_object().unwrap();
    for field in names_after(&jenkinsfile, "report.") {
        // `error` is present only when the run failed.
        assert!(
            top.contains_key(&field) || field == "error",
            "report has no `{field}`"
        );
    }
    let region = crate::repository_support::region_report(&report, "us-east-1")
        .as_object()
        .unwrap();
    for field in names_after(&jenkinsfile, "region.") {
        assert!(
            region.contains_key(&field),
            "region report has no `{field}`"
        );
    }
}

#[test]
fn github_workflows_pin_actions_and_use_declared_inputs_and_outputs() {
    let action = action_yml();
    for path in [
        ".github/workflows/ci.yml",
        ".github/workflows/release.yml",
        "examples/ci/github-workflow.yml",
        "examples/ci/github-multi-arch.yml",
    ] {
        let workflow = yaml(path);
        assert!(
            workflow.get("permissions").is_some(),
            "{path}: no top-level permissions"
        );
        for (job_name, job) in workflow["jobs"].as_object().unwrap() {
            for step in job["steps"].as_array().unwrap() {
                let Some(uses) = step.get("uses").and_then(Yaml::as_str) else {
                    continue;
                };
                let is_this_action = uses == "./" || uses.starts_with("OWNER/ecr-fanout@");
                if !is_this_action {
                    let sha = uses.split_once('@').map(|(_, r)| r).unwrap_or_default();
                    assert!(
                        sha.len() == 40 && sha.chars().all(|c| c.is_ascii_hexdigit()),
                        "{path} {job_name:?}: {uses} is not pinned by commit SHA"
                    );
                    continue;
                }
                for key in step["with"].as_object().unwrap().keys() {
                    assert!(
                        action.inputs.contains_key(key),
                        "{path}: unknown input {key}"
                    );
                }
                let id = step["id"].as_str().expect("the action step needs an id");
                let text = serde_json::to_string(job).unwrap();
                let outputs = names_after(&text, &format!("steps.{id}.outputs."));
                assert!(
                    !outputs.is_empty(),
                    "{path}: no output of the action is used"
                );
                for output in outputs {
                    assert!(
                        action.outputs.contains_key(&output),
                        "{path}: no output {output}"
                    );
                }
            }
        }
    }
    let policy: Json = serde_json::from_str(&read("examples/ci/iam-policy.json")).unwrap();
    assert_eq!(policy["Version"], "2012-10-17");
}

/// The shell lines of every job of a GitLab file (`before_script` then `script`), as a script.
fn gitlab_job_scripts(path: &str) -> Vec<(String, String)> {
    let gitlab = yaml(path);
    let mut scripts = Vec::new();
    for (name, job) in gitlab.as_object().unwrap() {
        let name = name.clone();
        let lines: Vec<String> = ["before_script", "script"]
            .iter()
            .filter_map(|key| job.get(*key).and_then(Yaml::as_array))
            .flatten()
            .map(|line| line.as_str().unwrap().trim().to_string())
            .collect();
        if !lines.is_empty() {
            scripts.push((name, lines.join("\n")));
        }
    }
    scripts
}

/// Every `--flag` of an `ecr-fanout SUBCOMMAND` line in `script` is one `SUBCOMMAND --help`
/// lists.
async fn assert_flags_known(path: &str, job: &str, script: &str) {
    for line in script.lines().filter(|l| l.starts_with("ecr-fanout ")) {
        let subcommand = line.split_whitespace().nth(1).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = bare_command(dir.path());
        cmd.args([subcommand, "--help"]);
        let help = run(cmd).await;
        assert!(help.success(), "{path} {job}: {subcommand} --help: {help}");
        for flag in line.split_whitespace().filter(|w| w.starts_with("--")) {
            assert!(
                help.stdout.contains(&format!("{flag} "))
                    || help.stdout.contains(&format!("{flag}\n")),
                "{path} {job}: `ecr-fanout {subcommand}` has no {flag}"
            );
        }
    }
}

#[tokio::test]
async fn gitlab_jobs_pass_shellcheck_and_use_only_flags_the_binary_has() {
    for path in [
        "examples/ci/gitlab-ci.yml",
        "examples/ci/gitlab-multi-arch.yml",
    ] {
        for (job, script) in gitlab_job_scripts(path) {
            assert_flags_known(path, &job, &script).await;
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("job.sh");
            // GitLab runs each line in one shell; CI variables come from outside (SC2154).
            std::fs::write(&file, format!("#!/bin/sh\nset -e\n{script}\n")).unwrap();
            let out = std::process::Command::new("shellcheck")
                .args(["--shell=sh", "--exclude=SC2154"])
                .arg(&file)
                .output()
                .expect("shellcheck is installed by scripts/test");
            assert!(
                out.status.success(),
                "{path} {job}:\n{}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
    }
    let merge = gitlab_job_scripts("examples/ci/gitlab-multi-arch.yml");
    let (_, build) = merge.iter().find(|(job, _)| job == "build").unwrap();
    let (_, join) = merge.iter().find(|(job, _)| job == "merge").unwrap();
    assert!(
        build.contains("--by-digest") && build.contains("digests/"),
        "{build}"
    );
    assert!(
        join.contains("ecr-fanout merge --sources-from digests"),
        "{join}"
    );
}
