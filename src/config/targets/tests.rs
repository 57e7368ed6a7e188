//! Destinations: the `targets` list, ids, roles, per-destination values and the pairs that
//! name destinations by id or region.

use super::*;

fn targets(yaml: &str) -> Result<Vec<Target>, String> {
    resolve_targets(&RawInputs::from_pairs(&[
        ("targets", yaml),
        ("repository", "web"),
    ]))
    .map_err(|e| e.to_string())
}

fn error(yaml: &str) -> String {
    targets(yaml).unwrap_err()
}

#[test]
fn inline_list() {
    let entries = parse_targets(
        "- region: us-east-1\n- region: eu-west-1\n  repository: web-eu\n  registry-id: '123456789012'\n",
    )
    .unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1].repository.as_deref(), Some("web-eu"));
    assert_eq!(entries[1].registry_id.as_deref(), Some("123456789012"));
}

#[test]
fn flow_style_list() {
    let entries = parse_targets("[{region: us-east-1}, {region: us-west-2}]").unwrap();
    assert_eq!(entries[1].region, "us-west-2");
}

#[test]
fn unknown_key_is_named() {
    let err = parse_targets("- region: us-east-1\n  repo: web\n").unwrap_err();
    assert!(err.to_string().contains("unknown field `repo`"), "{err}");
}

#[test]
fn from_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("targets.yml");
    std::fs::write(&path, "- region: ap-south-1\n").unwrap();
    let entries = parse_targets(path.to_str().unwrap()).unwrap();
    assert_eq!(entries[0].region, "ap-south-1");
}

#[test]
fn empty_list_is_an_error() {
    assert!(parse_targets("[]").is_err());
}

#[test]
fn a_region_listed_once_is_its_own_id() {
    let found = targets("[{region: us-east-1}, {region: eu-west-1, id: dr}]").unwrap();
    let ids: Vec<&str> = found.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["us-east-1", "dr"]);
    assert_eq!(found[0].describe(), "region us-east-1, repository web");
    assert_eq!(
        found[1].describe(),
        "destination dr (region eu-west-1, account the caller's account, repository web)"
    );
}

#[test]
fn two_accounts_in_one_region_each_need_an_id() {
    let found = targets(
        "- {id: prod, region: us-east-1, registry-id: '111111111111'}\n\
         - {id: dr, region: us-east-1, registry-id: '222222222222'}\n",
    )
    .unwrap();
    assert_eq!(found[1].registry_id.as_deref(), Some("222222222222"));
    assert_eq!(
        error(
            "- {region: us-east-1, registry-id: '111111111111'}\n\
             - {id: dr, region: us-east-1, registry-id: '222222222222'}\n"
        ),
        "invalid input `targets`: region us-east-1 holds 2 destinations; give each of them an \
         `id` ([a-z0-9][a-z0-9-]{0,62}, e.g. us-east-1-dr) to name it in the outputs"
    );
}

#[test]
fn ids_are_unique_valid_and_not_another_destinations_region() {
    assert_eq!(
        error("[{id: a, region: us-east-1}, {id: a, region: eu-west-1}]"),
        "invalid input `targets`: id 'a' names two destinations; give each its own"
    );
    assert_eq!(
        error("[{id: eu-west-1, region: us-east-1}, {region: eu-west-1, repository: api}]"),
        "invalid input `targets`: id 'eu-west-1' is the region of another destination (api in \
         eu-west-1); outputs name destinations by id, so choose an id that is not a region of \
         the run"
    );
    assert!(
        error("[{id: Prod, region: us-east-1}]")
            .starts_with("invalid input `targets`: id 'Prod' is not valid; an id is 1-63")
    );
}

#[test]
fn the_same_repository_twice_is_refused() {
    assert_eq!(
        error("[{id: a, region: us-east-1}, {id: b, region: us-east-1}]"),
        "invalid input `targets`: destinations a and b are the same repository (destination b \
         (region us-east-1, account the caller's account, repository web)); list each once"
    );
    let two_repositories =
        targets("[{id: web, region: us-east-1}, {id: api, region: us-east-1, repository: api}]")
            .unwrap();
    assert_eq!(two_repositories[1].repository, "api");
}

#[test]
fn a_role_gives_its_account_and_keeps_the_external_id_secret() {
    let found = targets(
        "- region: us-east-1\n  role-arn: arn:aws:iam::333333333333:role/ci/ecr-push\n  \
         external-id: s3cret-value\n",
    )
    .unwrap();
    let role = found[0].role.as_ref().unwrap();
    assert_eq!(role.account, "333333333333");
    assert_eq!(found[0].registry_id.as_deref(), Some("333333333333"));
    assert_eq!(
        role.external_id.as_ref().map(|s| s.expose()),
        Some("s3cret-value")
    );
    assert!(!format!("{found:?}").contains("s3cret-value"));
    assert_eq!(
        error("[{region: us-east-1, role-arn: 'arn:aws:iam::1:user/x'}]"),
        "invalid input `targets`: destination us-east-1: role-arn 'arn:aws:iam::1:user/x' is not \
         an IAM role ARN (arn:aws:iam::123456789012:role/NAME)"
    );
    assert_eq!(
        error("[{region: us-east-1, external-id: abc}]"),
        "invalid input `targets`: destination us-east-1: external-id is only valid with role-arn"
    );
}

#[test]
fn per_destination_policies_are_validated_like_the_inputs() {
    let found = targets(
        "- region: us-east-1\n  lifecycle-policy: '{\"rules\": [{\"rulePriority\": 1, \
         \"selection\": {\"tagStatus\": \"untagged\", \"countType\": \"imageCountMoreThan\", \
         \"countNumber\": 1}, \"action\": {\"type\": \"expire\"}}]}'\n- region: eu-west-1\n",
    )
    .unwrap();
    assert!(found[0].lifecycle_policy.is_some());
    assert!(found[1].lifecycle_policy.is_none());
    let err = error("[{region: us-east-1, repository-policy: 'not json'}]");
    assert!(
        err.starts_with("invalid input `targets`: destination us-east-1: "),
        "{err}"
    );
}

#[test]
fn endpoints_name_a_destination_by_id_or_every_one_of_a_region() {
    let yaml = "- {id: web, region: us-east-1}\n- {id: api, region: us-east-1, repository: api}\n\
                - {region: eu-west-1}\n";
    let with_endpoints = |endpoints: &str| {
        resolve_targets(&RawInputs::from_pairs(&[
            ("targets", yaml),
            ("repository", "web"),
            ("registry-endpoints", endpoints),
        ]))
    };
    let by_region = with_endpoints("us-east-1=http://127.0.0.1:5000").unwrap();
    assert_eq!(
        by_region[1].endpoint_override.as_deref(),
        Some("http://127.0.0.1:5000")
    );
    assert_eq!(by_region[2].endpoint_override, None);
    let by_id =
        with_endpoints("api=http://127.0.0.1:5001,eu-west-1=http://127.0.0.1:5002").unwrap();
    assert_eq!(by_id[0].endpoint_override, None);
    assert_eq!(
        by_id[2].endpoint_override.as_deref(),
        Some("http://127.0.0.1:5002")
    );
    let accounts = "- {id: prod, region: us-east-1, registry-id: '111111111111'}\n\
                    - {id: dr, region: us-east-1, registry-id: '222222222222'}\n";
    let err = resolve_targets(&RawInputs::from_pairs(&[
        ("targets", accounts),
        ("repository", "web"),
        ("registry-endpoints", "us-east-1=http://127.0.0.1:5000"),
    ]))
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "invalid input `registry-endpoints`: region us-east-1 holds destinations of different \
         accounts (prod, dr); give a value per destination id"
    );
}

#[test]
fn entries_carry_exactly_the_inputs_the_table_marks_in_targets() {
    for input in crate::config::inputs::INPUTS {
        let yaml = format!("- region: us-east-1\n  {}: x\n", input.name);
        assert_eq!(
            parse_targets(&yaml).is_ok(),
            input.in_targets,
            "`{}` in a targets entry",
            input.name
        );
    }
}

#[test]
fn yaml_errors_are_one_line_with_their_place() {
    let err = parse_targets("- region: us-east-1\n  repo: web\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.ends_with(
            "unknown field `repo`, expected one of id, region, repository, registry-id, \
             role-arn, external-id, kms-key, lifecycle-policy, repository-policy at line 2, column 3"
        ),
        "{err}"
    );
    for (yaml, wanted) in [
        (
            "region: us-east-1",
            "expected sequence start at line 1, column 1",
        ),
        ("- [a", "unclosed bracket '[' at line 1, column 3"),
        (
            "- repository: web\n",
            "missing field `region` at line 1, column 3",
        ),
        (
            "- region: us-east-1\n  region: eu-west-1\n",
            "duplicate mapping key `region` is not allowed here at line 2, column 3",
        ),
    ] {
        let err = parse_targets(yaml).unwrap_err().to_string();
        assert!(!err.contains('\n'), "{err}");
        assert!(err.ends_with(wanted), "{yaml:?}: {err}");
    }
}

#[test]
fn plain_scalars_are_read_as_text() {
    // An unquoted account id is a YAML integer; it is still the 12 digits typed.
    let entries =
        parse_targets("- region: us-east-1\n  registry-id: 012345678901\n  id: 7\n").unwrap();
    assert_eq!(entries[0].registry_id.as_deref(), Some("012345678901"));
    assert_eq!(entries[0].id.as_deref(), Some("7"));
}
