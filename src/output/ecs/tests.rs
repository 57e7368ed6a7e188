//! Tests of rendered ECS task definitions: only the named containers change, field order kept, bad
//! files refused.

use super::*;

const URI: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:\
                   e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// A describe-task-definition style document: keys deliberately not in sorted order, a
/// sidecar, unknown fields at both levels, read-only fields, nulls and numbers.
const SOURCE: &str = r#"{
  "family": "web",
  "taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7",
  "containerDefinitions": [
    {
      "name": "app",
      "image": "placeholder",
      "cpu": 256,
      "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
      "x-future-field": {"b": 1, "a": [true, null]}
    },
    {
      "name": "log-router",
      "image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable",
      "essential": false
    }
  ],
  "revision": 7,
  "cpu": "512",
  "requiresCompatibilities": ["FARGATE"],
  "zz-unknown-top-level": 1.5,
  "networkMode": "awsvpc"
}"#;

fn source() -> Value {
    serde_json::from_str(SOURCE).unwrap()
}

fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

#[test]
fn renders_only_the_named_container_and_keeps_everything_else_in_order() {
    let text = render(&source(), &["app".into()], URI).unwrap();
    assert!(text.ends_with("}\n"));
    let rendered: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(keys(&rendered), keys(&source()));
    let app = &rendered["containerDefinitions"][0];
    assert_eq!(app["image"], URI);
    assert_eq!(
        keys(app),
        ["name", "image", "cpu", "portMappings", "x-future-field"]
    );
    assert_eq!(
        app["x-future-field"],
        source()["containerDefinitions"][0]["x-future-field"]
    );
    assert_eq!(
        rendered["containerDefinitions"][1],
        source()["containerDefinitions"][1]
    );
    let mut expected = source();
    expected["containerDefinitions"][0]["image"] = Value::String(URI.into());
    assert_eq!(rendered, expected);
    assert_eq!(rendered["zz-unknown-top-level"], 1.5);
    assert_eq!(rendered["taskDefinitionArn"], source()["taskDefinitionArn"]);
}

#[test]
fn several_containers_and_a_missing_image_field() {
    let mut document = source();
    document["containerDefinitions"][1]
        .as_object_mut()
        .unwrap()
        .remove("image");
    let wanted = ["app".to_string(), "log-router".to_string()];
    let rendered: Value = serde_json::from_str(&render(&document, &wanted, URI).unwrap()).unwrap();
    assert_eq!(rendered["containerDefinitions"][0]["image"], URI);
    let sidecar = &rendered["containerDefinitions"][1];
    assert_eq!(sidecar["image"], URI);
    assert_eq!(keys(sidecar), ["name", "essential", "image"]);
}

#[test]
fn an_unknown_container_name_lists_the_names_there_are() {
    let err = check_containers(&source(), &["app".into(), "web".into()]).unwrap_err();
    assert_eq!(
        err,
        "container 'web' is not in the task definition; its containers are: app, log-router"
    );
    assert!(check_containers(&source(), &["log-router".into()]).is_ok());
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn rendering(sources: &[(&str, &Path)], names: &[&str]) -> EcsRendering {
    EcsRendering {
        sources: sources
            .iter()
            .map(|(r, p)| ((*r).to_string(), p.to_path_buf()))
            .collect(),
        container_names: names.iter().map(|n| (*n).to_string()).collect(),
    }
}

#[test]
fn loading_checks_every_region_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "task.json", SOURCE);
    let other = write(
        dir.path(),
        "eu.json",
        r#"{"family":"web","containerDefinitions":[{"name":"web","image":"x"}]}"#,
    );
    let loaded = load_task_definitions(&rendering(
        &[("us-east-1", &good), ("eu-west-1", &good)],
        &["app"],
    ))
    .unwrap();
    assert_eq!(loaded.len(), 2);
    assert_eq!(loaded[1].document, source());
    let err = load_task_definitions(&rendering(
        &[("us-east-1", &good), ("eu-west-1", &other)],
        &["app"],
    ))
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "invalid input `ecs-container-name`: container 'app' is not in the task definition; \
         its containers are: web (eu-west-1)"
    );
}

#[test]
fn files_that_are_not_task_definitions_are_input_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("broken.json", "{", "is not valid JSON"),
        ("list.json", "[]", "is not a JSON object"),
        (
            "described.json",
            r#"{"taskDefinition":{"containerDefinitions":[]}}"#,
            "--query taskDefinition",
        ),
    ];
    for (name, text, expected) in cases {
        let path = write(dir.path(), name, text);
        let err = load_task_definitions(&rendering(&[("us-east-1", &path)], &["app"]))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("invalid input `ecs-task-definition`"),
            "{err}"
        );
        assert!(err.contains(expected), "{err}");
    }
    let missing = dir.path().join("missing.json");
    let err = load_task_definitions(&rendering(&[("us-east-1", &missing)], &["app"]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot read"), "{err}");
}

#[test]
fn files_go_under_the_runner_temp_directory_or_the_working_directory() {
    let runner = output_dir(Some(PathBuf::from("/runner/temp"))).unwrap();
    assert_eq!(runner, PathBuf::from("/runner/temp/ecr-fanout"));
    let local = output_dir(None).unwrap();
    assert!(local.is_absolute(), "{}", local.display());
    assert!(
        local.ends_with("ecr-fanout-task-definitions"),
        "{}",
        local.display()
    );
}
