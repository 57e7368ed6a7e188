//! Tests of the image input: a prebuilt image read as it is, the build inputs it refuses, and the
//! build options made from a context.

use super::*;

fn error_of(pairs: &[(&'static str, &str)]) -> String {
    resolve_image_input(&RawInputs::from_pairs(pairs))
        .unwrap_err()
        .to_string()
}

/// A context directory with a Dockerfile; returns (dir guard, context path as text).
fn context_with(file_name: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(file_name), "FROM scratch\n").unwrap();
    let text = dir.path().display().to_string();
    (dir, text)
}

fn build_options(pairs: &[(&'static str, &str)]) -> BuildOptions {
    match resolve_image_input(&RawInputs::from_pairs(pairs)).unwrap() {
        ImageInput::Build(options) => options,
        other => panic!("expected a build, got {other:?}"),
    }
}

#[test]
fn an_image_is_read_as_it_is() {
    let input =
        resolve_image_input(&RawInputs::from_pairs(&[("image", "docker-daemon:web:v1")])).unwrap();
    assert_eq!(
        input,
        ImageInput::Prebuilt(ImageSource::DockerDaemon {
            reference: "web:v1".into()
        })
    );
    // The defaults of builder and provenance are accepted beside an image (action.yml sends them).
    let with_defaults = RawInputs::from_pairs(&[
        ("image", "oci:examples/hello"),
        ("builder", "auto"),
        ("provenance", "false"),
    ]);
    assert!(matches!(
        resolve_image_input(&with_defaults).unwrap(),
        ImageInput::Prebuilt(_)
    ));
}

#[test]
fn build_inputs_next_to_an_image_are_refused() {
    for (name, value) in [
        ("context", "."),
        ("file", "Dockerfile"),
        ("build-args", "A=1"),
        ("labels", "a=b"),
        ("target", "final"),
        ("platforms", "linux/amd64"),
        ("builder", "buildah"),
        ("provenance", "true"),
    ] {
        let error = error_of(&[("image", "oci:examples/hello"), (name, value)]);
        assert!(
            error.starts_with(&format!(
                "invalid input `{name}`: applies only when building"
            )),
            "{name}: {error}"
        );
    }
}

#[test]
fn without_an_image_the_context_is_built() {
    let (_dir, context) = context_with("Dockerfile");
    let options = build_options(&[
        ("context", &context),
        (
            "build-args",
            "GREETING=hello, world\nEXPR=a=b\nGREETING=bonjour",
        ),
        ("labels", "team=web"),
        ("target", "final"),
        ("platforms", "linux/amd64, linux/arm64/v8,linux/amd64"),
        ("builder", "buildah"),
    ]);
    assert_eq!(options.builder, BuilderChoice::Buildah);
    assert_eq!(options.file, Path::new(&context).join("Dockerfile"));
    assert_eq!(
        options.build_args,
        [
            ("EXPR".to_string(), "a=b".to_string()),
            ("GREETING".to_string(), "bonjour".to_string())
        ]
    );
    assert_eq!(options.labels, [("team".to_string(), "web".to_string())]);
    assert_eq!(options.target.as_deref(), Some("final"));
    assert_eq!(options.platforms, ["linux/amd64", "linux/arm64/v8"]);
    assert!(!options.provenance);
}

#[test]
fn a_containerfile_is_found_when_there_is_no_dockerfile() {
    let (_dir, context) = context_with("Containerfile");
    let options = build_options(&[("context", &context)]);
    assert_eq!(options.file, Path::new(&context).join("Containerfile"));
    assert_eq!(options.builder, BuilderChoice::Auto);
}

#[test]
fn nothing_to_build_names_image_and_both_file_names() {
    let empty = tempfile::tempdir().unwrap();
    let context = empty.path().display().to_string();
    let error = error_of(&[("context", &context)]);
    assert!(
        error.starts_with("invalid input `image`: is required unless there is a Dockerfile"),
        "{error}"
    );
    assert!(error.contains("Containerfile") && error.contains("docker-daemon:NAME:TAG"));
}

#[test]
fn bad_build_inputs_are_named() {
    let (_dir, context) = context_with("Dockerfile");
    let cases = [
        (
            "builder",
            "kaniko",
            "invalid input `builder`: 'kaniko' is not valid",
        ),
        ("context", "/does/not/exist", "invalid input `context`:"),
        (
            "file",
            "/does/not/exist/Dockerfile",
            "invalid input `file`:",
        ),
        (
            "build-args",
            "JUSTKEY",
            "invalid input `build-args`: 'JUSTKEY' is not KEY=VALUE",
        ),
        ("labels", "=x", "invalid input `labels`: '=x': the key"),
        ("target", "1st stage", "invalid input `target`:"),
        ("platforms", "amd64", "invalid input `platforms`: 'amd64'"),
        ("platforms", "linux/AMD64", "invalid input `platforms`:"),
        ("provenance", "maybe", "invalid input `provenance`:"),
    ];
    for (name, value, expected) in cases {
        let mut pairs = vec![(name, value)];
        if name != "context" {
            pairs.push(("context", context.as_str()));
        }
        let error = error_of(&pairs);
        assert!(error.starts_with(expected), "{name}={value}: {error}");
    }
}

#[test]
fn build_push_action_inputs_reach_the_build_and_are_refused_next_to_an_image() {
    let (_dir, context) = context_with("Dockerfile");
    let options = build_options(&[
        ("context", &context),
        ("no-cache", "true"),
        ("cache-from", "type=gha"),
    ]);
    assert!(options.features.no_cache);
    assert_eq!(options.features.cache_from.len(), 1);
    for (name, value) in [
        ("secrets", "id=a,env=A"),
        ("cache-to", "type=gha"),
        ("pull", "true"),
    ] {
        let error = error_of(&[("image", "oci:examples/hello"), (name, value)]);
        assert!(
            error.starts_with(&format!(
                "invalid input `{name}`: applies only when building"
            )),
            "{name}: {error}"
        );
    }
    let switched_off = RawInputs::from_pairs(&[
        ("image", "oci:examples/hello"),
        ("pull", "false"),
        ("sbom", "false"),
    ]);
    assert!(matches!(
        resolve_image_input(&switched_off).unwrap(),
        ImageInput::Prebuilt(_)
    ));
}
