//! Tests of the build-push-action inputs as builder flags: buildx, buildah and podman, and what
//! each cannot do.

use super::*;
use crate::config::build_features::{BuildSecret, SecretSource};

const ECR_CACHE: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web";

fn registry(reference: &str) -> CacheSpec {
    CacheSpec {
        kind: CacheKind::Registry,
        attributes: vec![("ref".into(), reference.into())],
    }
}

fn kind(kind: CacheKind, key: &str, value: &str) -> CacheSpec {
    CacheSpec {
        kind,
        attributes: vec![(key.into(), value.into())],
    }
}

fn annotation(levels: &[&str], key: &str) -> Annotation {
    Annotation {
        levels: levels.iter().map(|l| (*l).to_owned()).collect(),
        key: key.into(),
        value: "v".into(),
    }
}

/// One of every input.
fn everything() -> BuildFeatures {
    BuildFeatures {
        cache_from: vec![registry(&format!("{ECR_CACHE}:cache"))],
        cache_to: vec![registry(&format!("{ECR_CACHE}:cache"))],
        secrets: vec![
            BuildSecret {
                id: "npm".into(),
                source: SecretSource::File("/run/npmrc".into()),
            },
            BuildSecret {
                id: "tok".into(),
                source: SecretSource::Env("GIT_TOKEN".into()),
            },
        ],
        ssh: vec!["default".into()],
        sbom: true,
        annotations: vec![annotation(&["manifest"], "title")],
        build_contexts: vec![("base".into(), "docker-image://alpine:3.20".into())],
        no_cache: true,
        pull: true,
    }
}

/// [`everything`] with only `input` set.
fn only(input: &str) -> BuildFeatures {
    let all = everything();
    let mut one = BuildFeatures::default();
    match input {
        "cache-from" => one.cache_from = all.cache_from,
        "cache-to" => one.cache_to = all.cache_to,
        "secrets" => one.secrets = all.secrets,
        "ssh" => one.ssh = all.ssh,
        "sbom" => one.sbom = all.sbom,
        "annotations" => one.annotations = all.annotations,
        "build-contexts" => one.build_contexts = all.build_contexts,
        "no-cache" => one.no_cache = all.no_cache,
        "pull" => one.pull = all.pull,
        other => panic!("no build input {other}"),
    }
    one
}

fn buildx(version: &str, driver: &str) -> BuildxInfo {
    BuildxInfo {
        version: version.into(),
        driver: driver.into(),
    }
}

/// buildah 1.28's `build --help`, reduced to the flags that matter here.
fn buildah_1_28() -> ContainersHelp {
    ContainersHelp {
        version: "buildah version 1.28.2 (image-spec 1.1.0-rc2, runtime-spec 1.0.2-dev)".into(),
        help: "      --annotation stringArray   set metadata\n\
               --build-context argument=value   extra context\n\
               --cache-from string   remote repository\n      --cache-to string   x\n\
               --layers   cache intermediate layers\n      --no-cache   x\n\
               --pull string[=\"true\"]   pull policy\n      --secret stringArray   x\n\
               --ssh stringArray   x\n"
            .into(),
    }
}

fn with_sbom(mut help: ContainersHelp) -> ContainersHelp {
    help.help.push_str("      --sbom preset   scan\n");
    help
}

fn line(flags: &FeatureFlags) -> String {
    flags.args.join(" ")
}

#[test]
fn buildx_takes_every_input_and_an_ecr_cache_gets_its_options() {
    let flags = buildx_flags(&buildx("0.17.1", "docker-container"), &everything()).unwrap();
    assert_eq!(
        line(&flags),
        format!(
            "--cache-from type=registry,ref={ECR_CACHE}:cache \
             --cache-to type=registry,ref={ECR_CACHE}:cache,image-manifest=true,oci-mediatypes=true \
             --secret id=npm,src=/run/npmrc --secret id=tok,env=GIT_TOKEN --ssh default \
             --build-context base=docker-image://alpine:3.20 --no-cache --pull --sbom=true \
             --annotation manifest:title=v"
        )
    );
}

#[test]
fn an_explicit_cache_option_and_a_cache_elsewhere_are_kept_as_written() {
    let mut own = registry(&format!("{ECR_CACHE}:c"));
    own.attributes
        .push(("image-manifest".into(), "false".into()));
    let features = BuildFeatures {
        cache_to: vec![
            own,
            registry("ghcr.io/acme/web:cache"),
            kind(CacheKind::Gha, "scope", "web"),
        ],
        ..BuildFeatures::default()
    };
    let flags = buildx_flags(&buildx("0.17.1", "docker-container"), &features).unwrap();
    assert_eq!(
        line(&flags),
        format!(
            "--cache-to type=registry,ref={ECR_CACHE}:c,image-manifest=false,oci-mediatypes=true \
             --cache-to type=registry,ref=ghcr.io/acme/web:cache --cache-to type=gha,scope=web"
        )
    );
}

#[test]
fn buildx_refuses_what_its_version_or_driver_cannot_do() {
    let only = |features: BuildFeatures, info: BuildxInfo| buildx_flags(&info, &features);
    for (features, info, input) in [
        (
            BuildFeatures {
                sbom: true,
                ..Default::default()
            },
            buildx("0.9.1", "docker-container"),
            "sbom",
        ),
        (
            BuildFeatures {
                sbom: true,
                ..Default::default()
            },
            buildx("0.17.0", "docker"),
            "sbom",
        ),
        (
            BuildFeatures {
                annotations: vec![annotation(&[], "a")],
                ..Default::default()
            },
            buildx("0.11.2", "docker-container"),
            "annotations",
        ),
        (
            BuildFeatures {
                cache_to: vec![kind(CacheKind::Gha, "scope", "x")],
                ..Default::default()
            },
            buildx("0.17.0", "docker"),
            "cache-to",
        ),
    ] {
        let error = only(features, info.clone()).unwrap_err().to_string();
        assert!(
            error.starts_with(&format!(
                "invalid input `{input}`: docker buildx {} cannot do this:",
                info.version
            )),
            "{error}"
        );
    }
    let inline = BuildFeatures {
        cache_to: vec![CacheSpec {
            kind: CacheKind::Inline,
            attributes: vec![],
        }],
        ..Default::default()
    };
    assert_eq!(
        line(&only(inline, buildx("0.17.0", "docker")).unwrap()),
        "--cache-to type=inline"
    );
}

#[test]
fn classic_docker_takes_cache_from_an_image_no_cache_and_pull_only() {
    let features = BuildFeatures {
        cache_from: vec![registry("web:previous")],
        no_cache: true,
        pull: true,
        ..BuildFeatures::default()
    };
    assert_eq!(
        line(&classic_flags(&features).unwrap()),
        "--cache-from web:previous --no-cache --pull"
    );
    let refusals = [
        ("cache-to", only("cache-to")),
        ("secrets", only("secrets")),
        ("ssh", only("ssh")),
        ("sbom", only("sbom")),
        ("annotations", only("annotations")),
        ("build-contexts", only("build-contexts")),
        (
            "cache-from",
            BuildFeatures {
                cache_from: vec![kind(CacheKind::Gha, "scope", "x")],
                ..Default::default()
            },
        ),
    ];
    for (input, features) in refusals {
        let error = classic_flags(&features).unwrap_err().to_string();
        assert!(
            error.starts_with(&format!(
                "invalid input `{input}`: docker (classic builder) cannot do this:"
            )),
            "{error}"
        );
    }
}

#[test]
fn buildah_caches_in_a_repository_keeps_layers_and_pulls_by_policy() {
    let features = BuildFeatures {
        sbom: false,
        ..everything()
    };
    let flags = containers_flags(ContainersTool::Buildah, &buildah_1_28(), &features).unwrap();
    assert!(flags.layers);
    assert_eq!(
        line(&flags),
        format!(
            "--cache-from {ECR_CACHE} --cache-to {ECR_CACHE} --secret id=npm,src=/run/npmrc \
             --secret id=tok,env=GIT_TOKEN --ssh default \
             --build-context base=docker-image://alpine:3.20 --no-cache --annotation title=v \
             --pull=always"
        )
    );
    let with = containers_flags(
        ContainersTool::Podman,
        &with_sbom(buildah_1_28()),
        &everything(),
    );
    assert!(line(&with.unwrap()).contains(" --sbom syft "));
    let old_pull = ContainersHelp {
        version: "buildah version 1.23.1".into(),
        help: "--pull   x\n--pull-always   x\n".into(),
    };
    let pull = BuildFeatures {
        pull: true,
        ..Default::default()
    };
    let flags = containers_flags(ContainersTool::Buildah, &old_pull, &pull).unwrap();
    assert_eq!(line(&flags), "--pull-always");
    assert!(!flags.layers);
}

#[test]
fn buildah_refuses_by_its_help_and_by_what_it_can_express() {
    let sbom = BuildFeatures {
        sbom: true,
        ..Default::default()
    };
    let error = containers_flags(ContainersTool::Buildah, &buildah_1_28(), &sbom)
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "invalid input `sbom`: buildah version 1.28.2 (image-spec 1.1.0-rc2, runtime-spec \
         1.0.2-dev) cannot do this: its `build` has no --sbom (a newer version has)"
    );
    let bare = ContainersHelp {
        version: "podman version 3.0.1".into(),
        help: String::new(),
    };
    for (input, features) in [
        ("secrets", only("secrets")),
        ("ssh", only("ssh")),
        ("cache-from", only("cache-from")),
        ("build-contexts", only("build-contexts")),
    ] {
        let error = containers_flags(ContainersTool::Podman, &bare, &features)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with(&format!(
                "invalid input `{input}`: podman version 3.0.1 cannot do this:"
            )),
            "{error}"
        );
    }
    for (input, features, why) in [
        (
            "annotations",
            BuildFeatures {
                annotations: vec![annotation(&["index"], "a")],
                ..Default::default()
            },
            "not `index:`",
        ),
        (
            "cache-to",
            BuildFeatures {
                cache_to: vec![kind(CacheKind::Local, "dest", "/c")],
                ..Default::default()
            },
            "not type=local",
        ),
        (
            "cache-from",
            BuildFeatures {
                cache_from: vec![registry("r.example/a@sha256:00")],
                ..Default::default()
            },
            "not a reference by digest",
        ),
    ] {
        let error = containers_flags(ContainersTool::Buildah, &buildah_1_28(), &features)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with(&format!("invalid input `{input}`: buildah")),
            "{error}"
        );
        assert!(error.contains(why), "{error}");
    }
}

#[test]
fn a_repository_with_a_port_keeps_it() {
    let spec = registry("localhost:5000/team/web:cache");
    assert_eq!(
        cache_repository("cache-to", "buildah", &spec).unwrap(),
        "localhost:5000/team/web"
    );
    let spec = registry("localhost:5000/team/web");
    assert_eq!(
        cache_repository("cache-to", "buildah", &spec).unwrap(),
        "localhost:5000/team/web"
    );
}

#[test]
fn a_cache_on_a_loopback_registry_is_reached_without_tls_verification() {
    let features = BuildFeatures {
        cache_to: vec![registry("127.0.0.1:5000/cache:build")],
        ..Default::default()
    };
    let flags = containers_flags(ContainersTool::Buildah, &buildah_1_28(), &features).unwrap();
    assert_eq!(
        line(&flags),
        "--cache-to 127.0.0.1:5000/cache --tls-verify=false"
    );
    let elsewhere = containers_flags(ContainersTool::Buildah, &buildah_1_28(), &only("cache-to"));
    assert!(!line(&elsewhere.unwrap()).contains("--tls-verify"));
}

#[test]
fn help_flags_are_whole_words() {
    let help = buildah_1_28();
    assert!(help.has("--cache-from") && help.has("--pull") && !help.has("--sbom"));
    assert!(!help.has("--cache"));
    assert!(help.has("--build-context"));
}

#[test]
fn ecr_references_are_recognised() {
    assert_eq!(
        ecr_registry_of(&format!("{ECR_CACHE}:cache")),
        Some((
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com".into(),
            "123456789012".into(),
            "eu-west-1".into()
        ))
    );
    assert_eq!(ecr_registry_of("ghcr.io/acme/web:cache"), None);
}
