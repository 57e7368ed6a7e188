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

/// `ecr-fanout SUBCOMMAND --help`.
async fn help_of(subcommand: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = bare_command(dir.path());
    cmd.args([subcommand, "--help"]);
    let help = run(cmd).await;
    assert!(help.success(), "{subcommand} --help: {help}");
    help.stdout
}

/// The `--flag` names in `text`: words that start with `--` (`--flag=VALUE` gives `--flag`).
fn flags_in(text: &str) -> BTreeSet<String> {
    text.split_whitespace()
        .filter(|word| word.starts_with("--"))
        .map(|word| {
            let name: String = word[2..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            format!("--{name}")
        })
        .filter(|flag| flag.len() > 2)
        .collect()
}

/// Whether `help` lists `flag`.
fn help_lists(help: &str, flag: &str) -> bool {
    help.contains(&format!("{flag} ")) || help.contains(&format!("{flag}\n"))
}

/// Every `--flag` of an `ecr-fanout SUBCOMMAND` line in `script` (lines joined where they end in
/// `\`) is one `SUBCOMMAND --help` lists.
async fn assert_flags_known(path: &str, job: &str, script: &str) {
    let joined = script.replace("\\\n", " ");
    for line in joined.lines().map(str::trim) {
        let Some(command) = line.strip_prefix("ecr-fanout ") else {
            continue;
        };
        let subcommand = command.split_whitespace().next().unwrap();
        let help = help_of(subcommand).await;
        for flag in flags_in(command) {
            assert!(
                help_lists(&help, &flag),
                "{path} {job}: `ecr-fanout {subcommand}` has no {flag}"
            );
        }
    }
}

/// Runs shellcheck on `script` as a POSIX sh script that stops at the first failing command.
/// Variables from outside (CI variables, job inputs) are not flagged (SC2154).
fn assert_shellcheck_passes(what: &str, script: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("job.sh");
    std::fs::write(&file, format!("#!/bin/sh\nset -e\n{script}\n")).unwrap();
    let out = std::process::Command::new("shellcheck")
        .args(["--shell=sh", "--exclude=SC2154"])
        .arg(&file)
        .output()
        .expect("shellcheck is installed by scripts/test");
    assert!(
        out.status.success(),
        "{what}:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[tokio::test]
async fn gitlab_jobs_pass_shellcheck_and_use_only_flags_the_binary_has() {
    for path in [
        "examples/ci/gitlab-ci.yml",
        "examples/ci/gitlab-multi-arch.yml",
    ] {
        for (job, script) in gitlab_job_scripts(path) {
            assert_flags_known(path, &job, &script).await;
            // GitLab runs each line in one shell.
            assert_shellcheck_passes(&format!("{path} {job}"), &script);
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
    // The published image builds with `--builder buildah`; no job calls buildah itself.
    for path in [
        "examples/ci/gitlab-ci.yml",
        "examples/ci/gitlab-multi-arch.yml",
    ] {
        let text = read(path);
        assert!(text.contains("image: ghcr.io/OWNER/ecr-fanout:0"), "{path}");
        for (job, script) in gitlab_job_scripts(path) {
            assert!(
                !script.lines().any(|line| line.starts_with("buildah ")),
                "{path} {job}: {script}"
            );
        }
    }
    let push = gitlab_job_scripts("examples/ci/gitlab-ci.yml");
    let (_, push) = push.iter().find(|(job, _)| job == "push-to-ecr").unwrap();
    assert!(push.contains("--builder buildah --context ."), "{push}");
}

/// The CI/CD component: its `spec:` header and its job, the two YAML documents of the file.
struct Component {
    inputs: serde_json::Map<String, Json>,
    /// The job part as written (before interpolation).
    body: String,
    job_name: String,
    job: Json,
}

const COMPONENT: &str = "templates/push.yml";

fn component() -> Component {
    let text = read(COMPONENT);
    let (header, body) = text
        .split_once("\n---\n")
        .expect("a `spec:` header, `---`, then the job");
    let header: Json = serde_saphyr::from_str(header).unwrap();
    let inputs = header["spec"]["inputs"].as_object().unwrap().clone();
    let jobs: Json = serde_saphyr::from_str(body).unwrap();
    let jobs = jobs.as_object().unwrap();
    assert_eq!(jobs.len(), 1, "one job");
    let (job_name, job) = jobs.iter().next().unwrap();
    Component {
        inputs,
        body: body.to_string(),
        job_name: job_name.clone(),
        job: job.clone(),
    }
}

/// The names in `$[[ inputs.NAME ]]` interpolations of `text`.
fn interpolated_inputs(text: &str) -> BTreeSet<String> {
    text.split("$[[")
        .skip(1)
        .map(|rest| {
            let inner = rest.split_once("]]").expect("`]]` closes `$[[`").0.trim();
            inner
                .strip_prefix("inputs.")
                .unwrap_or_else(|| panic!("not an input: {inner}"))
                .to_string()
        })
        .collect()
}

/// `text` with every `$[[ inputs.NAME ]]` replaced by `values[NAME]`, else the input's default.
fn interpolate(component: &Component, text: &str, values: &[(&str, &str)]) -> String {
    let mut out = text.to_string();
    for (name, spec) in &component.inputs {
        let value = match values.iter().find(|(n, _)| n == name) {
            Some((_, value)) => value.to_string(),
            None => match &spec["default"] {
                Json::String(text) => text.clone(),
                other => other.to_string(),
            },
        };
        for spelling in [
            format!("$[[ inputs.{name} ]]"),
            format!("$[[inputs.{name}]]"),
        ] {
            out = out.replace(&spelling, &value);
        }
    }
    out
}

/// The job's script, its lines joined, as written.
fn component_script(component: &Component) -> String {
    component.job["script"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line.as_str().unwrap().trim().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn component_inputs_are_typed_described_and_all_used() {
    let component = component();
    let used = interpolated_inputs(&component.body);
    for (name, spec) in &component.inputs {
        assert!(used.contains(name), "input {name} is not used by the job");
        assert!(
            spec["description"].as_str().is_some_and(|d| !d.is_empty()),
            "input {name} has no description"
        );
        let kind = spec["type"].as_str().unwrap_or("string");
        let default = &spec["default"];
        match kind {
            "string" => assert!(default.is_string(), "{name}: default {default}"),
            "boolean" => assert!(default.is_boolean(), "{name}: default {default}"),
            other => panic!("{name}: unexpected type {other}"),
        }
        if let Some(options) = spec.get("options") {
            let options = options.as_array().unwrap();
            assert!(
                options.contains(default),
                "{name}: default not among {options:?}"
            );
        }
    }
    for name in &used {
        assert!(
            component.inputs.contains_key(name),
            "the job uses an undeclared input {name}"
        );
    }
    assert_eq!(component.job_name, "$[[ inputs.job-name ]]");
    assert_eq!(
        component.job["artifacts"]["reports"]["dotenv"],
        "$[[ inputs.dotenv-file ]]"
    );
    assert!(
        component.inputs["ecr-fanout-image"]["default"]
            .as_str()
            .unwrap()
            .starts_with("ghcr.io/OWNER/ecr-fanout:")
    );
    // Each variable the job defines is read by its script, and the script reads no other
    // `ECRFANOUT_INPUT_*` variable.
    let script = component_script(&component);
    let defined: BTreeSet<String> = component.job["variables"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let read_by_script: BTreeSet<String> = names_after(&script, "$ECRFANOUT_INPUT_")
        .into_iter()
        .map(|name| format!("ECRFANOUT_INPUT_{name}"))
        .collect();
    assert_eq!(defined, read_by_script);
    assert!(
        defined.iter().all(|name| !name.starts_with("ECR_FANOUT_")),
        "ECR_FANOUT_* names are the outputs'"
    );
}

#[tokio::test]
async fn component_passes_shellcheck_and_maps_inputs_to_real_flags() {
    let component = component();
    let script = interpolate(&component, &component_script(&component), &[]);
    assert_shellcheck_passes(COMPONENT, &script);
    let help = help_of("push").await;
    let flags = flags_in(&script);
    for flag in &flags {
        assert!(
            help_lists(&help, flag),
            "{COMPONENT}: `ecr-fanout push` has no {flag}"
        );
    }
    // An input named like a flag of `push` is passed as that flag.
    for name in component.inputs.keys() {
        let flag = format!("--{name}");
        if help_lists(&help, &flag) {
            assert!(
                flags.contains(&flag),
                "{COMPONENT}: input {name} is not passed as {flag}"
            );
        }
    }
}

/// Runs the component's job script as GitLab would, with `values` for some inputs and the
/// others at their defaults, in `dir`, with the binary on `PATH`.
async fn run_component(
    dir: &std::path::Path,
    values: &[(&str, &str)],
) -> crate::harness::RunOutput {
    let component = component();
    let script = interpolate(&component, &component_script(&component), values);
    let base = bare_command(dir);
    let mut cmd = std::process::Command::new("sh");
    cmd.args(["-e", "-c", &script]).current_dir(dir);
    for (key, value) in base.get_envs() {
        match value {
            Some(value) => cmd.env(key, value),
            None => cmd.env_remove(key),
        };
    }
    for (name, value) in component.job["variables"].as_object().unwrap() {
        cmd.env(
            name,
            interpolate(&component, value.as_str().unwrap(), values),
        );
    }
    let binary_dir = std::path::Path::new(env!("CARGO_BIN_EXE_ecr-fanout"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![binary_dir];
    dirs.extend(std::env::split_paths(&path));
    cmd.env("PATH", std::env::join_paths(dirs).unwrap());
    run(cmd).await
}

#[tokio::test]
async fn component_job_runs_a_dry_run_and_writes_its_reports() {
    let dir = tempfile::tempdir().unwrap();
    let image = format!("oci:{}", repo_root().join("examples/hello").display());
    let out = run_component(
        dir.path(),
        &[
            ("image", &image),
            ("regions", "us-east-1,eu-west-1"),
            ("repository", "team-a/web"),
            ("tags", "v1,latest"),
            ("registry-id", "123456789012"),
            ("dry-run", "true"),
            ("args", "--concurrency 2  --tag-order newer"),
        ],
    )
    .await;
    assert!(out.success(), "{out}");
    let report: Json = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("ecr-fanout-report.json")).unwrap(),
    )
    .expect("the JSON report");
    assert_eq!(report["status"], "planned", "{report}");
    assert_eq!(report["command"], "push");
    let dotenv = std::fs::read_to_string(dir.path().join("ecr-fanout.env")).unwrap();
    assert!(dotenv.contains("ECR_FANOUT_IMAGE_EU_WEST_1="), "{dotenv}");
    assert!(dotenv.contains("ECR_FANOUT_TAGS=v1,latest"), "{dotenv}");

    // A prebuilt image takes no build input: the job passes `builder` and `context` only when
    // it builds, so a bad input is the binary's refusal (exit 2), not the script's.
    let refused = run_component(
        dir.path(),
        &[
            ("image", &image),
            ("regions", "us-east-1"),
            ("repository", "team-a/web"),
        ],
    )
    .await;
    assert_eq!(refused.status, 2, "{refused}");
    assert!(refused.stderr.contains("`tags`"), "{refused}");
}

/// The shell scripts of the Jenkinsfile's `sh` steps (`'''…'''` blocks), with Groovy's `\\`
/// read as one backslash.
fn jenkins_shell_steps(jenkinsfile: &str) -> Vec<String> {
    let parts: Vec<&str> = jenkinsfile.split("'''").collect();
    assert!(parts.len() % 2 == 1, "unbalanced ''' in the Jenkinsfile");
    parts
        .iter()
        .skip(1)
        .step_by(2)
        .map(|block| block.replace("\\\\", "\\"))
        .collect()
}

#[tokio::test]
async fn jenkins_steps_pass_shellcheck_and_use_only_flags_the_binary_has() {
    let jenkinsfile = read("examples/ci/Jenkinsfile");
    let steps = jenkins_shell_steps(&jenkinsfile);
    assert_eq!(steps.len(), 2, "install, then build and push");
    for (n, step) in steps.iter().enumerate() {
        assert_shellcheck_passes(&format!("Jenkinsfile sh step {}", n + 1), step);
        assert_flags_known("examples/ci/Jenkinsfile", &format!("step {}", n + 1), step).await;
    }
    let push = &steps[1];
    assert!(
        push.contains("ecr-fanout push --json --builder \"$builder\""),
        "{push}"
    );
    assert!(push.contains("builder=docker") && push.contains("builder=buildah"));
    // The report is read only when the step left one.
    let exists = jenkinsfile
        .find("fileExists('ecr-fanout-report.json')")
        .unwrap();
    let read_json = jenkinsfile
        .find("readJSON(file: 'ecr-fanout-report.json')")
        .unwrap();
    assert!(exists < read_json);
    // The asset names are the release workflow's.
    let release = read(".github/workflows/release.yml");
    for arch in ["x86_64", "aarch64"] {
        assert!(release.contains(&format!("{arch}-unknown-linux-musl")));
        assert!(steps[0].contains(&format!("arch={arch}")));
    }
    assert!(steps[0].contains("asset=\"ecr-fanout-$arch-unknown-linux-musl\""));
}

/// Runs the Jenkinsfile's install step in `workspace` against a release mirror at `mirror`.
async fn run_jenkins_install(
    workspace: &std::path::Path,
    mirror: &std::path::Path,
) -> crate::harness::RunOutput {
    let step = jenkins_shell_steps(&read("examples/ci/Jenkinsfile")).remove(0);
    let mut cmd = std::process::Command::new("sh");
    cmd.args(["-e", "-c", &step])
        .current_dir(workspace)
        .env("ECRFANOUT_VERSION", "0.1.0")
        .env("RELEASE_BASE_URL", format!("file://{}", mirror.display()));
    run(cmd).await
}

#[tokio::test]
async fn jenkins_install_step_checks_the_release_sha256() {
    let mirror = tempfile::tempdir().unwrap();
    let release = mirror.path().join("v0.1.0");
    std::fs::create_dir_all(&release).unwrap();
    let asset = format!("ecr-fanout-{}-unknown-linux-musl", std::env::consts::ARCH);
    let binary = std::fs::read(env!("CARGO_BIN_EXE_ecr-fanout")).unwrap();
    std::fs::write(release.join(&asset), &binary).unwrap();
    use sha2::Digest;
    let sum = hex::encode(sha2::Sha256::digest(&binary));
    let other = "ecr-fanout-other-unknown-linux-musl";
    std::fs::write(
        release.join("SHA256SUMS"),
        format!("{}  {other}\n{sum}  {asset}\n", "0".repeat(64)),
    )
    .unwrap();

    let workspace = tempfile::tempdir().unwrap();
    let out = run_jenkins_install(workspace.path(), mirror.path()).await;
    assert!(out.success(), "{out}");
    assert!(out.stdout.contains(env!("CARGO_PKG_VERSION")), "{out}");
    assert!(
        workspace
            .path()
            .join(".ecr-fanout/bin/ecr-fanout")
            .is_file()
    );

    // Other bytes than SHA256SUMS lists: refused, nothing installed.
    std::fs::write(release.join(&asset), b"not the release").unwrap();
    let workspace = tempfile::tempdir().unwrap();
    let out = run_jenkins_install(workspace.path(), mirror.path()).await;
    assert!(!out.success(), "{out}");
    assert!(
        out.stderr
            .contains(&format!("SHA256SUMS of v0.1.0 lists {sum}")),
        "{out}"
    );
    assert!(!workspace.path().join(".ecr-fanout/bin/ecr-fanout").exists());
}
