//! Tests of tag references in `tags`: metadata-action references give their tags, other registries
//! are set aside.

use super::*;

fn target(region: &str, registry_id: Option<&str>, endpoint: Option<&str>) -> Target {
    Target {
        id: region.to_string(),
        region: region.to_string(),
        repository: "team-a/web".to_string(),
        registry_id: registry_id.map(str::to_string),
        endpoint_override: endpoint.map(str::to_string),
        ..Target::default()
    }
}

fn entries(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_string()).collect()
}

fn two_regions() -> Vec<Target> {
    vec![
        target("us-east-1", None, None),
        target("eu-west-1", None, None),
    ]
}

#[test]
fn metadata_action_references_give_their_tags_once() {
    let tags = entries(&[
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/team-a/web:sha-1a2b3c",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/team-a/web:latest",
        "210987654321.dkr.ecr.eu-west-1.amazonaws.com/team-a/web:latest",
        "v2",
    ]);
    let resolved = resolve_tag_entries(&tags, &two_regions()).unwrap();
    assert_eq!(resolved.tags, ["sha-1a2b3c", "latest", "v2"]);
    assert!(resolved.ignored.is_empty());
    assert_eq!(resolved.ignored_warning(), None);
}

#[test]
fn other_registries_are_set_aside_for_one_warning() {
    let tags = entries(&[
        "ghcr.io/team-a/web:v1",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/team-a/web:v1",
        "123456789012.dkr.ecr.us-west-2.amazonaws.com/team-a/web:west",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/team-a/api:api",
    ]);
    let resolved = resolve_tag_entries(&tags, &two_regions()).unwrap();
    assert_eq!(resolved.tags, ["v1"]);
    assert_eq!(resolved.ignored.len(), 3);
    let warning = resolved.ignored_warning().unwrap();
    assert!(warning.contains("ignored 3 reference(s)"), "{warning}");
    assert!(warning.contains("ghcr.io/team-a/web:v1"), "{warning}");
}

#[test]
fn a_bare_name_and_tag_matches_the_repository() {
    let resolved = resolve_tag_entries(&entries(&["team-a/web:v3"]), &two_regions()).unwrap();
    assert_eq!(resolved.tags, ["v3"]);
    let other = resolve_tag_entries(&entries(&["web:v3", "v4"]), &two_regions()).unwrap();
    assert_eq!(other.tags, ["v4"]);
    assert_eq!(other.ignored, ["web:v3"]);
}

#[test]
fn fips_dualstack_and_china_hosts_match_their_region() {
    let targets = vec![
        target("us-gov-west-1", None, None),
        target("cn-north-1", None, None),
        target("eu-west-1", None, None),
    ];
    let tags = entries(&[
        "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com/team-a/web:fips",
        "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/team-a/web:china",
        "123456789012.dkr-ecr.eu-west-1.on.aws/team-a/web:dual",
    ]);
    let resolved = resolve_tag_entries(&tags, &targets).unwrap();
    assert_eq!(resolved.tags, ["fips", "china", "dual"]);
}

#[test]
fn a_registry_id_must_be_the_hosts_account() {
    let targets = vec![target("us-east-1", Some("111111111111"), None)];
    let tags = entries(&[
        "222222222222.dkr.ecr.us-east-1.amazonaws.com/team-a/web:theirs",
        "111111111111.dkr.ecr.us-east-1.amazonaws.com/team-a/web:ours",
    ]);
    let resolved = resolve_tag_entries(&tags, &targets).unwrap();
    assert_eq!(resolved.tags, ["ours"]);
    assert_eq!(resolved.ignored.len(), 1);
}

#[test]
fn a_registry_endpoint_host_matches_its_region() {
    let targets = vec![target("us-east-1", None, Some("http://127.0.0.1:5000"))];
    let tags = entries(&[
        "127.0.0.1:5000/team-a/web:local",
        "127.0.0.1:5001/team-a/web:x",
    ]);
    let resolved = resolve_tag_entries(&tags, &targets).unwrap();
    assert_eq!(resolved.tags, ["local"]);
    assert_eq!(resolved.ignored, ["127.0.0.1:5001/team-a/web:x"]);
}

#[test]
fn no_reference_naming_a_destination_is_refused_with_both_lists() {
    let tags = entries(&["ghcr.io/team-a/web:v1", "docker.io/team-a/web:v1"]);
    let error = resolve_tag_entries(&tags, &two_regions())
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "invalid input `tags`: no reference names a destination of this run \
         (ghcr.io/team-a/web:v1, docker.io/team-a/web:v1); the destinations are \
         ACCOUNT.dkr.ecr.REGION.amazonaws.com/team-a/web in us-east-1, eu-west-1"
    );
}

#[test]
fn malformed_references_and_bad_tags_are_refused() {
    for bad in [
        "ghcr.io/team-a/web",
        "127.0.0.1:5000/team-a/web",
        "team-a/web@sha256:abc",
        "team-a/web:",
        ":v1",
    ] {
        let error = resolve_tag_entries(&entries(&[bad]), &two_regions()).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("is neither a tag nor an image reference"),
            "{bad}: {error}"
        );
    }
    let bad_tag = entries(&["123456789012.dkr.ecr.us-east-1.amazonaws.com/team-a/web:.bad"]);
    let error = resolve_tag_entries(&bad_tag, &two_regions()).unwrap_err();
    assert!(
        error.to_string().contains("'.bad' is not a valid tag"),
        "{error}"
    );
}

#[test]
fn ecr_hosts_are_recognised_in_every_form() {
    assert_eq!(
        ecr_host_parts("123456789012.dkr.ecr.us-east-1.amazonaws.com"),
        Some(("123456789012", "us-east-1"))
    );
    for not_ecr in [
        "ghcr.io",
        "12345.dkr.ecr.us-east-1.amazonaws.com",
        "123456789012.dkr.ecr..amazonaws.com",
        "123456789012.dkr.ecr.us-east-1.example.com",
    ] {
        assert_eq!(ecr_host_parts(not_ecr), None, "{not_ecr}");
    }
}
