//! ECS task definitions rendered per region, and `image-uri-format`: the rendered files are
//! parsed and compared field by field with the source (a sidecar left alone, unknown and
//! read-only fields kept in their order), the outputs are read from the dotenv file, the
//! `$GITHUB_OUTPUT` file (by the runner's rules) and the JSON report, and the URIs are resolved
//! against the registries with skopeo. A dry run and a failed push render nothing and output
//! `{}`; on a runner the files go under `$RUNNER_TEMP/ecr-fanout`, an empty `RUNNER_TEMP` means
//! the working directory.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::action_support::parse_runner_outputs;
use crate::harness::{Fault, TestEnv, run, skopeo};
use crate::repository_support::region_report;
use crate::scenario::*;

/// A task definition as `aws ecs describe-task-definition --query taskDefinition` prints it,
/// keys deliberately unsorted, with a sidecar and fields ECS does not know (yet).
fn task_definition(family: &str) -> Value {
    serde_json::from_str(&format!(
        r#"{{
  "taskDefinitionArn": "arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/{family}:3",
  "family": "{family}",
  "containerDefinitions": [
    {{
      "name": "app",
      "image": "to-be-replaced",
      "essential": true,
      "portMappings": [{{"containerPort": 8080, "hostPort": 8080, "protocol": "tcp"}}],
      "environment": [{{"name": "MODE", "value": "blue"}}],
      "x-team-annotation": {{"owner": "web", "pager": null}}
    }},
    {{
      "name": "log-router",
      "image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable",
      "essential": false,
      "firelensConfiguration": {{"type": "fluentbit"}}
    }}
  ],
  "revision": 3,
  "status": "ACTIVE",
  "requiresCompatibilities": ["FARGATE"],
  "networkMode": "awsvpc",
  "cpu": "256",
  "memory": "512",
  "zFutureSetting": 1.25
}}"#
    ))
    .expect("task definition JSON")
}

fn keys(value: &Value) -> Vec<String> {
    value.as_object().expect("object").keys().cloned().collect()
}

fn write_json(env: &TestEnv, name: &str, value: &Value) -> String {
    let (path, text) = work_file(env, name);
    std::fs::write(&path, serde_json::to_string_pretty(value).unwrap()).unwrap();
    text
}

fn parse_dotenv(env: &TestEnv, name: &str) -> BTreeMap<String, String> {
    std::fs::read_to_string(env.path(name))
        .expect("dotenv file")
        .lines()
        .map(|line| {
            let (k, v) = line.split_once('=').expect("KEY=VALUE");
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// The rendered file must equal the source with only `app`'s image changed, keys in order.
fn assert_rendered(path: &str, source: &Value, uri: &str) {
    let rendered: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("rendered file")).unwrap();
    let mut expected = source.clone();
    expected["containerDefinitions"][0]["image"] = json!(uri);
    assert_eq!(rendered, expected, "{path}");
    assert_eq!(keys(&rendered), keys(source), "{path}: top-level order");
    for (got, want) in rendered["containerDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .zip(source["containerDefinitions"].as_array().unwrap())
    {
        assert_eq!(keys(got), keys(want), "{path}: container field order");
    }
    assert_eq!(
        rendered["containerDefinitions"][1], source["containerDefinitions"][1],
        "{path}: the sidecar is untouched"
    );
}

#[tokio::test]
async fn task_definitions_are_rendered_for_three_regions_field_by_field() {
    let env = TestEnv::start(&REGIONS).await;
    let (image, digest) = single_manifest_image(&env, "ecs");
    let source = task_definition("web");
    let source_arg = write_json(&env, "task-definition.json", &source);
    let (_, dotenv_arg) = work_file(&env, "push.env");
    let out = push_ok(
        &env,
        &image,
        "web",
        &[
            "--tags",
            "v1",
            "--create-repository",
            "--ecs-task-definition",
            &source_arg,
            "--ecs-container-name",
            "app",
            "--dotenv-file",
            &dotenv_arg,
        ],
    )
    .await;

    let dotenv = parse_dotenv(&env, "push.env");
    let paths: BTreeMap<String, String> =
        serde_json::from_value(report(&out)["task_definitions"].clone()).unwrap();
    assert_eq!(paths.len(), 3, "{paths:?}");
    assert!(!dotenv.contains_key("ECR_FANOUT_TASK_DEFINITIONS"));
    let directory = env.work_dir().join("ecr-fanout-task-definitions");
    for region in env.regions() {
        let name = region.name();
        let variable = format!(
            "ECR_FANOUT_TASK_DEFINITION_{}",
            name.to_uppercase().replace('-', "_")
        );
        assert_eq!(dotenv[&variable], paths[name]);
        assert_eq!(
            std::path::Path::new(&paths[name]),
            directory.join(format!("task-definition-{name}.json"))
        );
        let uri = pinned_uri(name, "web", &digest);
        assert_rendered(&paths[name], &source, &uri);
        let pinned = uri.rsplit_once('@').unwrap().1;
        assert_eq!(
            skopeo::manifest_digest(region, "web", pinned)
                .await
                .unwrap(),
            digest
        );
    }
    // The source file itself is not changed.
    let unchanged: Value =
        serde_json::from_str(&std::fs::read_to_string(&source_arg).unwrap()).unwrap();
    assert_eq!(unchanged, source);
}

#[tokio::test]
async fn image_uri_format_reaches_every_output_and_rendered_file() {
    let env = TestEnv::start(&REGIONS[..2]).await;
    let (image, digest) = single_manifest_image(&env, "formats");
    let us = write_json(&env, "us.json", &task_definition("web-us"));
    let eu = write_json(&env, "eu.json", &task_definition("web-eu"));
    let pairs = format!("us-east-1={us}\neu-west-1={eu}");
    let (_, dotenv_arg) = work_file(&env, "push.env");
    for format in ["digest", "tag", "tag-and-digest"] {
        let out = push(
            &env,
            &image,
            "team/web",
            &[
                "--tags",
                "v7,latest",
                "--create-repository",
                "--image-uri-format",
                format,
                "--ecs-task-definition",
                &pairs,
                "--ecs-container-name",
                "app",
                "--dotenv-file",
                &dotenv_arg,
            ],
        )
        .await;
        assert!(out.success(), "{format}: {out}");
        let report = report(&out);
        let dotenv = parse_dotenv(&env, "push.env");
        for region in &REGIONS[..2] {
            let repository_uri = format!("{ACCOUNT}.dkr.ecr.{region}.amazonaws.com/team/web");
            let expected = match format {
                "digest" => format!("{repository_uri}@{digest}"),
                "tag" => format!("{repository_uri}:v7"),
                _ => format!("{repository_uri}:v7@{digest}"),
            };
            let variable = format!(
                "ECR_FANOUT_IMAGE_{}",
                region.to_uppercase().replace('-', "_")
            );
            assert_eq!(dotenv[&variable], expected, "{format}");
            assert_eq!(report["images"][region], expected.as_str(), "{format}");
            let path = report["task_definitions"][region].as_str().unwrap();
            let family = if *region == "us-east-1" {
                "web-us"
            } else {
                "web-eu"
            };
            assert_rendered(path, &task_definition(family), &expected);
        }
        let primary = format!("{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/team/web");
        assert!(
            dotenv["ECR_FANOUT_IMAGE"].starts_with(&primary),
            "{format}: {}",
            dotenv["ECR_FANOUT_IMAGE"]
        );
        assert_eq!(
            dotenv["ECR_FANOUT_IMAGE"],
            report["image"].as_str().unwrap()
        );
    }
    // The tag form names a tag the registries really serve the image under.
    assert_tags_everywhere(&env, "team/web", &["v7"], &digest).await;
}

#[tokio::test]
async fn a_container_name_missing_from_the_file_is_refused_before_any_write() {
    let env = TestEnv::start(&REGIONS[..1]).await;
    let (image, _) = single_manifest_image(&env, "ecs-bad");
    let source_arg = write_json(&env, "task-definition.json", &task_definition("web"));
    let out = push(
        &env,
        &image,
        "web",
        &[
            "--tags",
            "v1",
            "--create-repository",
            "--ecs-task-definition",
            &source_arg,
            "--ecs-container-name",
            "app,web",
        ],
    )
    .await;
    assert_eq!(out.status, 2, "{out}");
    assert!(
        out.stderr.contains(
            "invalid input `ecs-container-name`: container 'web' is not in the task \
             definition; its containers are: app, log-router (us-east-1)"
        ),
        "{out}"
    );
    assert_nothing_written(&env).await;
    assert!(!env.work_dir().join("ecr-fanout-task-definitions").exists());
}

/// The ECS flags for `source_arg` (one file for every region) and container `app`.
fn ecs_flags<'a>(source_arg: &'a str, dotenv_arg: &'a str) -> Vec<&'a str> {
    vec![
        "--tags",
        "v1",
        "--create-repository",
        "--ecs-task-definition",
        source_arg,
        "--ecs-container-name",
        "app",
        "--dotenv-file",
        dotenv_arg,
    ]
}

/// No file rendered: `{}` in the report, `$GITHUB_OUTPUT` and the dotenv file, no
/// `task-definition-<region>` anywhere, and no directory in the working directory.
fn assert_no_task_definitions(env: &TestEnv, out: &crate::harness::RunOutput) {
    let report = report(out);
    assert_eq!(report["task_definitions"], json!({}), "{out}");
    let outputs =
        parse_runner_outputs(&std::fs::read_to_string(env.path("github-output")).unwrap());
    assert_eq!(outputs["task-definitions"], "{}");
    let dotenv = parse_dotenv(env, "push.env");
    // The dotenv file carries no aggregates; no task-definition variable at all.
    assert!(
        !dotenv
            .keys()
            .any(|k| k.starts_with("ECR_FANOUT_TASK_DEFINITION")),
        "{dotenv:?}"
    );
    for region in env.regions() {
        let name = region.name();
        assert!(
            !outputs.contains_key(&format!("task-definition-{name}")),
            "{outputs:?}"
        );
        let variable = format!(
            "ECR_FANOUT_TASK_DEFINITION_{}",
            name.to_uppercase().replace('-', "_")
        );
        assert!(!dotenv.contains_key(&variable), "{dotenv:?}");
    }
    assert!(!env.work_dir().join("ecr-fanout-task-definitions").exists());
}

#[tokio::test]
async fn a_dry_run_renders_nothing_and_outputs_an_empty_object() {
    let env = TestEnv::start(&REGIONS[..2]).await;
    let (image, _) = single_manifest_image(&env, "ecs-dry");
    let source_arg = write_json(&env, "task-definition.json", &task_definition("web"));
    let (_, dotenv_arg) = work_file(&env, "push.env");
    let (outputs_path, _) = work_file(&env, "github-output");
    let mut flags = ecs_flags(&source_arg, &dotenv_arg);
    flags.push("--dry-run");
    let mut cmd = push_command(&env, &image, "web", &flags);
    cmd.env("GITHUB_OUTPUT", &outputs_path);
    let out = run(cmd).await;
    assert!(out.success(), "{out}");
    assert_eq!(report(&out)["status"], "planned");
    assert_no_task_definitions(&env, &out);
    assert_nothing_written(&env).await;
}

#[tokio::test]
async fn a_failed_push_renders_nothing_and_outputs_an_empty_object() {
    let env = TestEnv::start(&REGIONS[..2]).await;
    let (image, _) = single_manifest_image(&env, "ecs-failed");
    let source_arg = write_json(&env, "task-definition.json", &task_definition("web"));
    let (_, dotenv_arg) = work_file(&env, "push.env");
    let (outputs_path, _) = work_file(&env, "github-output");
    // The only manifest GET answered 200 is eu-west-1's verification: it fails, exit 3.
    let failing = env.region("eu-west-1").control();
    failing.inject(Fault::CorruptManifestGet { count: 1 });
    let mut cmd = push_command(&env, &image, "web", &ecs_flags(&source_arg, &dotenv_arg));
    cmd.env("GITHUB_OUTPUT", &outputs_path);
    let out = run(cmd).await;
    assert_eq!(out.status, 3, "{out}");
    assert_eq!(failing.faults_fired("corrupt-manifest-get"), 1);
    let report = report(&out);
    assert_eq!(report["status"], "failed");
    assert_eq!(region_report(&report, "eu-west-1")["status"], "failed");
    assert_no_task_definitions(&env, &out);
    for region in env.regions() {
        assert!(skopeo::tags(region, "web").await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn on_a_github_runner_the_files_go_under_runner_temp() {
    let env = TestEnv::start(&REGIONS[..2]).await;
    let (image, digest) = single_manifest_image(&env, "ecs-runner");
    let source = task_definition("web");
    let source_arg = write_json(&env, "task-definition.json", &source);
    let (_, dotenv_arg) = work_file(&env, "push.env");
    let (outputs_path, _) = work_file(&env, "github-output");
    let runner_temp = env.path("runner-temp");
    std::fs::create_dir(&runner_temp).unwrap();
    let mut cmd = push_command(&env, &image, "web", &ecs_flags(&source_arg, &dotenv_arg));
    cmd.env("GITHUB_OUTPUT", &outputs_path)
        .env("RUNNER_TEMP", &runner_temp);
    let out = run(cmd).await;
    assert!(out.success(), "{out}");

    let report = report(&out);
    let outputs = parse_runner_outputs(&std::fs::read_to_string(&outputs_path).unwrap());
    let paths: BTreeMap<String, String> =
        serde_json::from_str(&outputs["task-definitions"]).unwrap();
    assert_eq!(report["task_definitions"], json!(paths));
    for region in env.regions() {
        let name = region.name();
        let expected = runner_temp
            .join("ecr-fanout")
            .join(format!("task-definition-{name}.json"));
        assert_eq!(std::path::Path::new(&paths[name]), expected);
        assert_eq!(outputs[&format!("task-definition-{name}")], paths[name]);
        assert_rendered(&paths[name], &source, &pinned_uri(name, "web", &digest));
    }
    assert!(!env.work_dir().join("ecr-fanout-task-definitions").exists());
}

#[tokio::test]
async fn an_empty_runner_temp_means_the_working_directory() {
    let env = TestEnv::start(&REGIONS[..1]).await;
    let (image, digest) = single_manifest_image(&env, "ecs-empty-temp");
    let source = task_definition("web");
    let source_arg = write_json(&env, "task-definition.json", &source);
    let (_, dotenv_arg) = work_file(&env, "push.env");
    let mut cmd = push_command(&env, &image, "web", &ecs_flags(&source_arg, &dotenv_arg));
    cmd.env("RUNNER_TEMP", "");
    let out = run(cmd).await;
    assert!(out.success(), "{out}");
    let path = env
        .work_dir()
        .join("ecr-fanout-task-definitions")
        .join("task-definition-us-east-1.json");
    assert_eq!(
        report(&out)["task_definitions"]["us-east-1"],
        path.display().to_string()
    );
    assert_rendered(
        &path.display().to_string(),
        &source,
        &pinned_uri("us-east-1", "web", &digest),
    );
}
