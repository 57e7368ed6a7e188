//! Tests of OCI labels and annotations from the CI environment: GitHub, GitLab, Jenkins, the
//! checkout, SOURCE_DATE_EPOCH.

use std::collections::HashMap;

use super::*;

fn metadata(vars: &[(&str, &str)], checkout: Option<GitCheckout>) -> OciMetadata {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    metadata_from(&|name| vars.get(name).cloned(), checkout, 1_700_000_000).unwrap()
}

fn entry<'a>(metadata: &'a OciMetadata, key: &str) -> Option<&'a str> {
    metadata
        .entries
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[test]
fn github_variables_come_first() {
    let found = metadata(
        &[
            ("GITHUB_SHA", "abc123"),
            ("GITHUB_SERVER_URL", "https://github.com/"),
            ("GITHUB_REPOSITORY", "octo/web"),
            ("CI_COMMIT_SHA", "gitlab-sha"),
            ("GIT_COMMIT", "jenkins-sha"),
        ],
        None,
    );
    assert_eq!(entry(&found, REVISION), Some("abc123"));
    assert_eq!(entry(&found, SOURCE), Some("https://github.com/octo/web"));
    assert_eq!(entry(&found, CREATED), Some("2023-11-14T22:13:20Z"));
    assert_eq!(found.source_date_epoch, None);
}

#[test]
fn gitlab_then_jenkins_then_the_checkout() {
    let gitlab = metadata(
        &[
            ("CI_COMMIT_SHA", "gl"),
            ("CI_PROJECT_URL", "https://gitlab.example.com/team/web"),
        ],
        None,
    );
    assert_eq!(entry(&gitlab, REVISION), Some("gl"));
    assert_eq!(
        entry(&gitlab, SOURCE),
        Some("https://gitlab.example.com/team/web")
    );
    let jenkins = metadata(
        &[
            ("GIT_COMMIT", "jk"),
            (
                "GIT_URL",
                "https://jenkins:t0ken@git.example.com/team/web.git",
            ),
        ],
        None,
    );
    assert_eq!(entry(&jenkins, REVISION), Some("jk"));
    assert_eq!(
        entry(&jenkins, SOURCE),
        Some("https://git.example.com/team/web")
    );
    let checkout = GitCheckout {
        revision: Some("local".into()),
        remote_url: Some("git@github.com:octo/web.git".into()),
    };
    let local = metadata(&[], Some(checkout));
    assert_eq!(entry(&local, REVISION), Some("local"));
    assert_eq!(entry(&local, SOURCE), Some("https://github.com/octo/web"));
}

#[test]
fn only_created_when_nothing_is_known() {
    let found = metadata(&[], None);
    assert_eq!(
        found.entries,
        [(CREATED.to_owned(), "2023-11-14T22:13:20Z".to_owned())]
    );
}

#[test]
fn source_date_epoch_sets_created() {
    let found = metadata(&[("SOURCE_DATE_EPOCH", "0")], None);
    assert_eq!(entry(&found, CREATED), Some("1970-01-01T00:00:00Z"));
    assert_eq!(found.source_date_epoch, Some(0));
    let error = metadata_from(
        &|name| (name == "SOURCE_DATE_EPOCH").then(|| "yesterday".to_owned()),
        None,
        0,
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.starts_with("invalid input `SOURCE_DATE_EPOCH`: 'yesterday'"),
        "{error}"
    );
}

#[test]
fn dates_are_rfc3339_utc() {
    for (seconds, expected) in [
        (0, "1970-01-01T00:00:00Z"),
        (951_782_400, "2000-02-29T00:00:00Z"),
        (951_868_799, "2000-02-29T23:59:59Z"),
        (1_709_251_199, "2024-02-29T23:59:59Z"),
        (4_102_444_800, "2100-01-01T00:00:00Z"),
        (4_107_542_400, "2100-03-01T00:00:00Z"),
    ] {
        assert_eq!(rfc3339_utc(seconds), expected, "{seconds}");
    }
}

#[test]
fn source_urls_lose_credentials_and_become_https() {
    for (remote, expected) in [
        (
            "https://github.com/octo/web",
            Some("https://github.com/octo/web"),
        ),
        (
            "https://x-access-token:ghs_abc@github.com/octo/web.git",
            Some("https://github.com/octo/web"),
        ),
        (
            "http://git.local:8080/team/web/",
            Some("http://git.local:8080/team/web"),
        ),
        (
            "ssh://git@git.example.com:2222/team/web.git",
            Some("https://git.example.com/team/web"),
        ),
        (
            "git@gitlab.com:group/sub/web.git",
            Some("https://gitlab.com/group/sub/web"),
        ),
        ("/srv/git/web.git", None),
        ("file:///srv/git/web.git", None),
    ] {
        assert_eq!(public_source_url(remote).as_deref(), expected, "{remote}");
    }
}

#[test]
fn a_label_with_a_standard_key_wins() {
    let found = metadata(&[("GITHUB_SHA", "abc")], None)
        .with_label_overrides(&[(REVISION.to_owned(), "v1.2.3-sha".to_owned())]);
    assert_eq!(entry(&found, REVISION), Some("v1.2.3-sha"));
}

#[test]
fn blank_ci_variables_count_as_unset() {
    let ci = crate::config::ci_environment::CiEnvironment::from_vars([
        ("GITHUB_SHA", "  "),
        ("CI_COMMIT_SHA", "gitlab-sha"),
        ("SOURCE_DATE_EPOCH", " "),
    ]);
    let found = metadata_from(&|name| ci.non_blank(name), None, 1_700_000_000).unwrap();
    assert_eq!(entry(&found, REVISION), Some("gitlab-sha"));
    assert_eq!(found.source_date_epoch, None);
    assert_eq!(entry(&found, CREATED), Some("2023-11-14T22:13:20Z"));
}
