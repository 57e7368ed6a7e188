//! ECS task definitions rendered per region, and `image-uri-format`: the rendered files are
//! parsed and compared field by field with the source (a sidecar left alone, unknown and
//! read-only fields kept in their order), the outputs are read from the dotenv file and the
//! JSON report, and the URIs are resolved against the registries with skopeo.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::harness::{TestEnv, skopeo};
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
