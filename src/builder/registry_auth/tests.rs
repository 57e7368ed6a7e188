//! Tests of the builders' registry auth file: what it holds, who may read it, and the user's config
//! merged in.

use super::*;

const HOST: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";

fn login() -> BuilderLogin {
    BuilderLogin {
        host: HOST.to_owned(),
        username: "AWS".to_owned(),
        password: Secret::new("ecr-password-unit-0451"),
    }
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn no_login_writes_nothing() {
    assert!(BuildAuth::for_containers(&[], None).unwrap().is_none());
    assert!(BuildAuth::for_docker(&[], None).unwrap().is_none());
}

#[test]
fn the_auth_file_holds_the_login_only_its_owner_reads_it_and_it_goes_with_the_value() {
    let auth = BuildAuth::for_containers(&[login()], None)
        .unwrap()
        .unwrap();
    let file = auth.auth_file();
    let expected = base64::engine::general_purpose::STANDARD.encode("AWS:ecr-password-unit-0451");
    assert_eq!(
        read_json(&file),
        serde_json::json!({ "auths": { HOST: { "auth": expected } } })
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = std::fs::metadata(file.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o077, 0, "only the owner enters the directory");
    }
    assert_eq!(
        crate::secret::redact(&expected),
        crate::secret::REDACTED,
        "the Basic value is masked"
    );
    let dir = file.parent().unwrap().to_path_buf();
    drop(auth);
    assert!(!dir.exists(), "{} is deleted with the login", dir.display());
}

#[test]
fn the_users_config_is_merged_and_its_store_and_helper_for_the_host_left_out() {
    let user = tempfile::tempdir().unwrap();
    let config = user.path().join("config.json");
    let original = serde_json::json!({
        "auths": { "ghcr.io": { "auth": "b2N0bzp0b2tlbg==" }, HOST: { "auth": "b2xk" } },
        "credHelpers": { HOST: "ecr-login", "gcr.io": "gcloud" },
        "credsStore": "desktop",
        "currentContext": "ci",
    });
    std::fs::write(&config, original.to_string()).unwrap();
    std::fs::create_dir(user.path().join("cli-plugins")).unwrap();
    std::fs::write(user.path().join("cli-plugins/docker-buildx"), "#!/bin/sh\n").unwrap();

    let auth = BuildAuth::for_docker(&[login()], Some(&config))
        .unwrap()
        .unwrap();
    let merged = read_json(&auth.docker_config_dir().join("config.json"));
    assert_eq!(merged["auths"]["ghcr.io"]["auth"], "b2N0bzp0b2tlbg==");
    assert_ne!(
        merged["auths"][HOST]["auth"], "b2xk",
        "the login replaces the old entry"
    );
    assert_eq!(
        merged["credHelpers"],
        serde_json::json!({ "gcr.io": "gcloud" })
    );
    assert!(merged.get("credsStore").is_none(), "{merged}");
    assert_eq!(merged["currentContext"], "ci");
    let plugin = auth.docker_config_dir().join("cli-plugins/docker-buildx");
    assert_eq!(std::fs::read_to_string(plugin).unwrap(), "#!/bin/sh\n");
    assert_eq!(
        read_json(&config),
        original,
        "the user's own file is left as it was"
    );
    let containers = BuildAuth::for_containers(&[login()], Some(&config))
        .unwrap()
        .unwrap();
    assert!(
        !containers.docker_config_dir().join("cli-plugins").exists(),
        "buildah's auth file needs no plugins"
    );
}

#[test]
fn a_missing_user_file_is_an_empty_one_and_a_broken_one_is_refused() {
    let user = tempfile::tempdir().unwrap();
    let missing = user.path().join("config.json");
    assert!(
        BuildAuth::for_docker(&[login()], Some(&missing))
            .unwrap()
            .is_some()
    );
    std::fs::write(&missing, "[1, 2]").unwrap();
    let error = BuildAuth::for_docker(&[login()], Some(&missing)).unwrap_err();
    assert!(
        error.to_string().contains("is not a Docker config file"),
        "{error:#}"
    );
}
