//! Tests of the build-push-action inputs: defaults, secrets, cache lines, and refusals that never
//! show a secret.

use super::*;

fn features(pairs: &[(&'static str, &str)]) -> BuildFeatures {
    resolve_build_features(&RawInputs::from_pairs(pairs)).unwrap()
}

fn error_of(pairs: &[(&'static str, &str)]) -> String {
    resolve_build_features(&RawInputs::from_pairs(pairs))
        .unwrap_err()
        .to_string()
}

#[test]
fn nothing_asked_is_the_default() {
    assert_eq!(features(&[]), BuildFeatures::default());
}

#[test]
fn secrets_come_from_files_or_variables() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let path = file.path().display().to_string();
    let text = format!("id=npm,src={path}\nid=token,env=GIT_TOKEN\ntype=env,id=PLAIN\n");
    let secrets = features(&[("secrets", &text)]).secrets;
    assert_eq!(
        secrets,
        [
            BuildSecret {
                id: "npm".into(),
                source: SecretSource::File(file.path().to_path_buf())
            },
            BuildSecret {
                id: "token".into(),
                source: SecretSource::Env("GIT_TOKEN".into())
            },
            BuildSecret {
                id: "PLAIN".into(),
                source: SecretSource::Env("PLAIN".into())
            },
        ]
    );
    assert_eq!(secrets[1].to_flag_value(), "id=token,env=GIT_TOKEN");
}

#[test]
fn a_bad_secret_line_is_refused_without_showing_it() {
    let error = error_of(&[("secrets", "GIT_AUTH_TOKEN=ghp_abcdefghijklmnop")]);
    assert!(
        error.starts_with("invalid input `secrets`: a line has the key `git_auth_token`"),
        "{error}"
    );
    assert!(!error.contains("ghp_"), "{error}");
    let missing = error_of(&[("secrets", "id=npm,src=/no/such/file")]);
    assert!(
        missing.contains("secret `npm`: '/no/such/file' is not a file"),
        "{missing}"
    );
    let both = error_of(&[("secrets", "id=x,env=A,src=/etc/hostname")]);
    assert!(
        both.contains("needs exactly one of src=PATH or env=VARIABLE"),
        "{both}"
    );
    assert!(error_of(&[("secrets", "src=/etc/hostname")]).contains("no valid id"));
}

#[test]
fn cache_lines_take_build_push_action_syntax() {
    let found = features(&[
        (
            "cache-from",
            "type=registry,ref=r.example/app:cache\ntype=gha\nr.example/app:old",
        ),
        ("cache-to", "type=local,dest=/tmp/c,mode=max"),
    ]);
    assert_eq!(
        found.cache_from[0].to_buildx(),
        "type=registry,ref=r.example/app:cache"
    );
    assert_eq!(found.cache_from[1].kind, CacheKind::Gha);
    assert_eq!(
        found.cache_from[2].to_buildx(),
        "type=registry,ref=r.example/app:old"
    );
    assert_eq!(
        found.cache_to[0].to_buildx(),
        "type=local,dest=/tmp/c,mode=max"
    );
    for (input, line, why) in [
        ("cache-from", "type=registry", "type=registry needs ref="),
        ("cache-from", "type=local,dest=/x", "type=local needs src="),
        ("cache-to", "type=local,src=/x", "type=local needs dest="),
        ("cache-to", "type=floppy", "type `floppy` is not registry"),
        ("cache-from", "type=inline", "type=inline is for cache-to"),
    ] {
        let error = error_of(&[(input, line)]);
        assert!(
            error.starts_with(&format!("invalid input `{input}`: '{line}': {why}")),
            "{error}"
        );
    }
}

#[test]
fn annotations_keep_their_levels() {
    let found = features(&[(
        "annotations",
        "manifest:org.opencontainers.image.title=web\nindex,manifest:a=b:c\nplain=x=y\n\
         manifest[linux/amd64]:k=v",
    )])
    .annotations;
    assert_eq!(found[0].levels, ["manifest"]);
    assert!(found[0].is_manifest_only());
    assert_eq!(found[1].to_buildx(), "index,manifest:a=b:c");
    assert!(!found[1].is_manifest_only());
    assert_eq!(
        (found[2].key.as_str(), found[2].value.as_str()),
        ("plain", "x=y")
    );
    assert!(found[2].levels.is_empty() && found[2].is_manifest_only());
    assert_eq!(found[3].levels, ["manifest[linux/amd64]"]);
    let error = error_of(&[("annotations", "layer:a=b")]);
    assert!(error.contains("'layer:a=b': an unknown level"), "{error}");
    assert!(error_of(&[("annotations", "novalue")]).contains("no KEY=VALUE"));
}

#[test]
fn ssh_contexts_and_switches() {
    let found = features(&[
        ("ssh", "default\ngithub=/home/me/.ssh/id_ed25519"),
        (
            "build-contexts",
            "alpine=docker-image://alpine:3.20\nsrc=../vendor",
        ),
        ("sbom", "true"),
        ("no-cache", "true"),
        ("pull", "TRUE"),
    ]);
    assert_eq!(found.ssh, ["default", "github=/home/me/.ssh/id_ed25519"]);
    assert_eq!(found.build_contexts[1], ("src".into(), "../vendor".into()));
    assert!(found.sbom && found.no_cache && found.pull);
    assert!(error_of(&[("ssh", "bad id=x")]).starts_with("invalid input `ssh`:"));
    assert!(error_of(&[("ssh", "key=")]).starts_with("invalid input `ssh`:"));
    assert!(
        error_of(&[("build-contexts", "noequals")]).starts_with("invalid input `build-contexts`:")
    );
    assert!(error_of(&[("pull", "yes")]).starts_with("invalid input `pull`:"));
}
