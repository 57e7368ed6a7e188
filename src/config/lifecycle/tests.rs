//! Tests of lifecycle-policy validation: documents ECR accepts, and each refusal with where it is.

use serde_json::{Value, json};

use super::validate_lifecycle_policy;

/// "Keep the last 5 release images, expire untagged after 14 days, nothing older than 90."
fn valid_policy() -> Value {
    json!({"rules": [
        {"rulePriority": 1, "description": "keep the last 5 releases",
         "selection": {"tagStatus": "tagged", "tagPrefixList": ["v"],
                       "countType": "imageCountMoreThan", "countNumber": 5},
         "action": {"type": "expire"}},
        {"rulePriority": 2,
         "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed",
                       "countUnit": "days", "countNumber": 14},
         "action": {"type": "expire"}},
        {"rulePriority": 10,
         "selection": {"tagStatus": "any", "countType": "sinceImagePushed",
                       "countUnit": "days", "countNumber": 90},
         "action": {"type": "expire"}}
    ]})
}

/// The error for `valid_policy()` after `change` was applied to it.
fn error_after(change: impl FnOnce(&mut Value)) -> String {
    let mut policy = valid_policy();
    change(&mut policy);
    validate_lifecycle_policy(&policy).expect_err("policy should be refused")
}

fn assert_refused(change: impl FnOnce(&mut Value), expected: &str) {
    let error = error_after(change);
    assert!(
        error.contains(expected),
        "{error:?} does not contain {expected:?}"
    );
}

#[test]
fn a_typical_policy_is_accepted() {
    validate_lifecycle_policy(&valid_policy()).unwrap();
}

#[test]
fn tag_patterns_and_archive_transitions_are_accepted() {
    let policy = json!({"rules": [
        {"rulePriority": 1,
         "selection": {"tagStatus": "tagged", "tagPatternList": ["prod*", "*rc*1*2*"],
                       "countType": "sinceImagePulled", "countUnit": "days", "countNumber": 30},
         "action": {"type": "transition", "targetStorageClass": "archive"}},
        {"rulePriority": 2,
         "selection": {"tagStatus": "any", "storageClass": "archive",
                       "countType": "sinceImageTransitioned", "countUnit": "days",
                       "countNumber": 365},
         "action": {"type": "expire"}}
    ]});
    validate_lifecycle_policy(&policy).unwrap();
}

#[test]
fn the_document_must_be_an_object_with_rules() {
    for (policy, expected) in [
        (json!([]), "must be a JSON object"),
        (json!({}), "must have a \"rules\" list"),
        (json!({"rules": {}}), "must have a \"rules\" list"),
        (json!({"rules": []}), "\"rules\" is empty"),
        (json!({"rules": [1]}), "rule 1: must be a JSON object"),
    ] {
        let error = validate_lifecycle_policy(&policy).unwrap_err();
        assert!(error.contains(expected), "{policy}: {error}");
    }
    assert_refused(
        |p| p["Rules"] = json!([]),
        "the policy has an unknown property \"Rules\"",
    );
}

#[test]
fn priorities_must_be_unique_positive_integers() {
    assert_refused(
        |p| p["rules"][1]["rulePriority"] = json!(1),
        "rules 1 and 2 both have rulePriority 1",
    );
    assert_refused(
        |p| p["rules"][0]["rulePriority"] = json!(0),
        "rule 1: \"rulePriority\" is 0",
    );
    assert_refused(
        |p| p["rules"][0]["rulePriority"] = json!("1"),
        "rule 1: \"rulePriority\" is \"1\"",
    );
    assert_refused(
        |p| p["rules"][0]["rulePriority"] = json!(1.5),
        "whole number",
    );
    assert_refused(
        |p| {
            p["rules"][2]
                .as_object_mut()
                .unwrap()
                .remove("rulePriority");
        },
        "rule 3: \"rulePriority\" is missing",
    );
}

#[test]
fn the_any_rule_must_come_last() {
    assert_refused(
        |p| p["rules"][2]["rulePriority"] = json!(2),
        "rules 2 and 3 both have rulePriority 2",
    );
    let mut policy = valid_policy();
    policy["rules"][1]["rulePriority"] = json!(20);
    let error = validate_lifecycle_policy(&policy).unwrap_err();
    assert!(
        error.contains("rule 3 has tagStatus \"any\" but rulePriority 10")
            && error.contains("20 is higher"),
        "{error}"
    );
}

#[test]
fn tag_status_must_be_known() {
    assert_refused(
        |p| p["rules"][0]["selection"]["tagStatus"] = json!("TAGGED"),
        "rule 1: \"tagStatus\" is \"TAGGED\"; use \"tagged\", \"untagged\", \"any\"",
    );
    assert_refused(
        |p| {
            p["rules"][1]["selection"]
                .as_object_mut()
                .unwrap()
                .remove("tagStatus");
        },
        "rule 2: \"tagStatus\" is missing",
    );
}

#[test]
fn tag_lists_only_with_tagged() {
    assert_refused(
        |p| p["rules"][1]["selection"]["tagPrefixList"] = json!(["v"]),
        "rule 2: \"tagPrefixList\" is only valid with tagStatus \"tagged\", not \"untagged\"",
    );
    assert_refused(
        |p| p["rules"][2]["selection"]["tagPatternList"] = json!(["v*"]),
        "rule 3: \"tagPatternList\" is only valid with tagStatus \"tagged\", not \"any\"",
    );
    assert_refused(
        |p| {
            p["rules"][0]["selection"]
                .as_object_mut()
                .unwrap()
                .remove("tagPrefixList");
        },
        "rule 1: tagStatus \"tagged\" needs a \"tagPrefixList\" or a \"tagPatternList\"",
    );
    assert_refused(
        |p| p["rules"][0]["selection"]["tagPrefixList"] = json!([]),
        "\"tagPrefixList\" must be a non-empty list of strings",
    );
    assert_refused(
        |p| p["rules"][0]["selection"]["tagPrefixList"] = json!("v"),
        "\"tagPrefixList\" must be a non-empty list of strings",
    );
    assert_refused(
        |p| p["rules"][0]["selection"]["tagPrefixList"] = json!(["v", ""]),
        "must contain only non-empty strings",
    );
    assert_refused(
        |p| p["rules"][0]["selection"]["tagPatternList"] = json!(["a*b*c*d*e*f"]),
        "has more than 4 '*' wildcards",
    );
}

#[test]
fn count_unit_exactly_with_time_based_count_types() {
    assert_refused(
        |p| p["rules"][0]["selection"]["countUnit"] = json!("days"),
        "rule 1: \"countUnit\" is only valid with countType sinceImagePushed or \
         sinceImagePulled or sinceImageTransitioned, not \"imageCountMoreThan\"",
    );
    assert_refused(
        |p| {
            p["rules"][1]["selection"]
                .as_object_mut()
                .unwrap()
                .remove("countUnit");
        },
        "rule 2: countType \"sinceImagePushed\" needs \"countUnit\": \"days\"",
    );
    assert_refused(
        |p| p["rules"][1]["selection"]["countUnit"] = json!("weeks"),
        "rule 2: \"countUnit\" is \"weeks\"; use \"days\"",
    );
    assert_refused(
        |p| p["rules"][1]["selection"]["countType"] = json!("sinceImageCreated"),
        "rule 2: \"countType\" is \"sinceImageCreated\"",
    );
}

#[test]
fn count_number_must_be_a_positive_integer() {
    for bad in [json!(0), json!(-1), json!("5"), json!(2.5), Value::Null] {
        let error = error_after(|p| p["rules"][0]["selection"]["countNumber"] = bad.clone());
        assert!(error.contains("rule 1: \"countNumber\""), "{bad}: {error}");
    }
}

#[test]
fn actions_are_expire_or_transition_to_archive() {
    assert_refused(
        |p| p["rules"][0]["action"]["type"] = json!("delete"),
        "rule 1: \"type\" is \"delete\"; use \"expire\", \"transition\"",
    );
    assert_refused(
        |p| p["rules"][0]["action"] = json!({"type": "transition"}),
        "needs \"targetStorageClass\": \"archive\"",
    );
    assert_refused(
        |p| p["rules"][0]["action"]["targetStorageClass"] = json!("archive"),
        "\"targetStorageClass\" is only valid with action \"transition\"",
    );
    assert_refused(
        |p| {
            p["rules"][0]["action"] = json!({"type": "transition", "targetStorageClass": "glacier"})
        },
        "\"targetStorageClass\" is \"glacier\"",
    );
    assert_refused(
        |p| {
            p["rules"][0].as_object_mut().unwrap().remove("action");
        },
        "rule 1: \"action\" is missing",
    );
}

#[test]
fn unknown_properties_are_refused_at_every_level() {
    assert_refused(
        |p| p["rules"][0]["priority"] = json!(1),
        "rule 1: the rule has an unknown property \"priority\"",
    );
    assert_refused(
        |p| p["rules"][0]["selection"]["countnumber"] = json!(1),
        "rule 1: selection has an unknown property \"countnumber\"",
    );
    assert_refused(
        |p| p["rules"][0]["action"]["Type"] = json!("expire"),
        "rule 1: action has an unknown property \"Type\"",
    );
}

#[test]
fn description_and_storage_class_are_checked() {
    assert_refused(
        |p| p["rules"][0]["description"] = json!(5),
        "\"description\" must be a string",
    );
    assert_refused(
        |p| p["rules"][0]["selection"]["storageClass"] = json!("cold"),
        "\"storageClass\" is \"cold\"",
    );
}
