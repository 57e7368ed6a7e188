//! Tests of the hand-off inputs: URI formats, Lambda checks and which task definition each
//! destination gets.

use super::*;

fn targets(regions: &[&str]) -> Vec<Target> {
    regions
        .iter()
        .map(|region| Target {
            id: (*region).to_string(),
            region: (*region).to_string(),
            repository: "web".into(),
            ..Target::default()
        })
        .collect()
}

fn resolve(pairs: &[(&'static str, &str)]) -> Result<HandoffOptions, InputError> {
    resolve_handoff(
        &RawInputs::from_pairs(pairs),
        &targets(&["us-east-1", "eu-west-1"]),
    )
}

#[test]
fn defaults_are_digest_uris_no_lambda_check_no_ecs() {
    let options = resolve(&[]).unwrap();
    assert_eq!(options, HandoffOptions::default());
    assert_eq!(options.uri_format, ImageUriFormat::Digest);
}

#[test]
fn uri_formats() {
    for (text, format) in [
        ("digest", ImageUriFormat::Digest),
        ("tag", ImageUriFormat::Tag),
        ("tag-and-digest", ImageUriFormat::TagAndDigest),
    ] {
        let options = resolve(&[("image-uri-format", text)]).unwrap();
        assert_eq!(options.uri_format, format);
    }
    let err = resolve(&[("image-uri-format", "sha")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid input `image-uri-format`: 'sha' is not valid; use digest, tag or tag-and-digest"
    );
}

#[test]
fn one_task_definition_serves_every_region() {
    let options = resolve(&[
        ("ecs-task-definition", "deploy/task.json"),
        ("ecs-container-name", "app, app\nworker"),
    ])
    .unwrap();
    let ecs = options.ecs.unwrap();
    assert_eq!(
        ecs.sources,
        [
            ("us-east-1".to_string(), PathBuf::from("deploy/task.json")),
            ("eu-west-1".to_string(), PathBuf::from("deploy/task.json")),
        ]
    );
    assert_eq!(ecs.container_names, ["app", "worker"]);
}

#[test]
fn region_pairs_follow_target_order_and_may_leave_regions_out() {
    let options = resolve(&[
        (
            "ecs-task-definition",
            "eu-west-1=eu.json\nus-east-1 = us.json",
        ),
        ("ecs-container-name", "app"),
    ])
    .unwrap();
    let sources = options.ecs.unwrap().sources;
    assert_eq!(sources[0], ("us-east-1".into(), PathBuf::from("us.json")));
    assert_eq!(sources[1], ("eu-west-1".into(), PathBuf::from("eu.json")));
    let only_one = resolve(&[
        ("ecs-task-definition", "eu-west-1=eu.json"),
        ("ecs-container-name", "app"),
    ])
    .unwrap();
    assert_eq!(only_one.ecs.unwrap().sources.len(), 1);
}

#[test]
fn bad_task_definition_inputs_name_the_input() {
    let cases: [(&[(&'static str, &str)], &str); 5] = [
        (
            &[("ecs-task-definition", "task.json")],
            "invalid input `ecs-container-name`: is required with ecs-task-definition",
        ),
        (
            &[("ecs-container-name", "app")],
            "invalid input `ecs-container-name`: is only valid with ecs-task-definition",
        ),
        (
            &[
                ("ecs-task-definition", "ap-south-1=a.json"),
                ("ecs-container-name", "app"),
            ],
            "'ap-south-1' is neither a destination id nor a region of the run; the destinations \
             are us-east-1, eu-west-1",
        ),
        (
            &[
                ("ecs-task-definition", "us-east-1=a.json,us-east-1=b.json"),
                ("ecs-container-name", "app"),
            ],
            "destination 'us-east-1' is given twice",
        ),
        (
            &[
                ("ecs-task-definition", "us-east-1=a.json,b.json"),
                ("ecs-container-name", "app"),
            ],
            "mixes ID=PATH pairs and plain paths",
        ),
    ];
    for (pairs, expected) in cases {
        let err = resolve(pairs).unwrap_err().to_string();
        assert!(err.contains(expected), "{err}");
    }
}

#[test]
fn lambda_compatible_is_a_strict_boolean() {
    assert!(
        resolve(&[("lambda-compatible", "true")])
            .unwrap()
            .lambda_compatible
    );
    let err = resolve(&[("lambda-compatible", "yes")])
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("invalid input `lambda-compatible`"),
        "{err}"
    );
}
