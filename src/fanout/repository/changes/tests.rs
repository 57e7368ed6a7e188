//! Tests of repository changes: which settings are compared, every difference listed, what cannot
//! change.

use serde_json::json;

use super::*;
use crate::config::management::ExplicitSettings;
use crate::config::{TagMutability, TagRules, policy_input};
use crate::report::RepositoryChanges;

fn existing() -> CurrentSettings {
    CurrentSettings {
        arn: "arn:aws:ecr:us-east-1:123456789012:repository/web".into(),
        tag_rules: TagRules::of(TagMutability::Mutable),
        scan_on_push: false,
        encryption_type: "AES256".into(),
        kms_key: None,
        tags: Some(vec![
            ("team".into(), "web".into()),
            ("cost".into(), "a".into()),
        ]),
    }
}

fn wanted() -> RepositorySettings {
    RepositorySettings {
        create: false,
        tag_rules: TagRules::of(TagMutability::Immutable),
        scan_on_push: true,
        encryption: Encryption::Kms {
            key: Some("1234abcd-12ab-34cd-56ef-1234567890ab".into()),
        },
        tags: vec![("team".into(), "web".into()), ("env".into(), "prod".into())],
    }
}

fn management(explicit: ExplicitSettings, update: bool) -> RepositoryManagement {
    RepositoryManagement {
        explicit,
        update_settings: update,
        ..Default::default()
    }
}

const ALL: ExplicitSettings = ExplicitSettings {
    mutability: true,
    scan_on_push: true,
    encryption: true,
    tags: true,
};

#[test]
fn only_explicit_settings_are_compared() {
    let changes = compare_settings(
        &existing(),
        &wanted(),
        &management(ExplicitSettings::default(), true),
    );
    assert!(changes.is_empty(), "{changes:?}");
    let only_scan = ExplicitSettings {
        scan_on_push: true,
        ..Default::default()
    };
    let changes = compare_settings(&existing(), &wanted(), &management(only_scan, true));
    assert_eq!(
        changes,
        [SettingChange {
            setting: Setting::ScanOnPush,
            current: "false".into(),
            wanted: "true".into(),
            action: SettingAction::Update,
        }]
    );
}

#[test]
fn every_difference_is_listed_and_encryption_cannot_change() {
    let changes = compare_settings(&existing(), &wanted(), &management(ALL, false));
    let summary: Vec<(Setting, &str, &str, SettingAction)> = changes
        .iter()
        .map(|c| (c.setting, c.current.as_str(), c.wanted.as_str(), c.action))
        .collect();
    assert_eq!(
        summary,
        [
            (
                Setting::TagMutability,
                "MUTABLE",
                "IMMUTABLE",
                SettingAction::ReportOnly
            ),
            (
                Setting::ScanOnPush,
                "false",
                "true",
                SettingAction::ReportOnly
            ),
            (
                Setting::Encryption,
                "AES256",
                "KMS 1234abcd-12ab-34cd-56ef-1234567890ab",
                SettingAction::CannotChange
            ),
            (
                Setting::Tags,
                "env unset",
                "env=prod",
                SettingAction::ReportOnly
            ),
        ]
    );
}

#[test]
fn matching_settings_give_no_change() {
    let mut current = existing();
    current.tag_rules = TagRules::of(TagMutability::Immutable);
    current.scan_on_push = true;
    current.encryption_type = "KMS".into();
    current.kms_key =
        Some("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab".into());
    current.tags = Some(vec![
        ("env".into(), "prod".into()),
        ("team".into(), "web".into()),
        ("extra".into(), "kept".into()),
    ]);
    assert!(compare_settings(&current, &wanted(), &management(ALL, true)).is_empty());
}

#[test]
fn tag_values_that_differ_show_the_current_value() {
    let mut current = existing();
    current.tags = Some(vec![("team".into(), "api".into())]);
    let only_tags = ExplicitSettings {
        tags: true,
        ..Default::default()
    };
    let changes = compare_settings(&current, &wanted(), &management(only_tags, true));
    assert_eq!(changes[0].current, "team=api, env unset");
    assert_eq!(changes[0].wanted, "team=web, env=prod");
}

#[test]
fn kms_aliases_and_missing_keys_compare_by_type() {
    let mut current = existing();
    current.encryption_type = "KMS".into();
    current.kms_key = Some("arn:aws:kms:us-east-1:123456789012:key/other".into());
    let only_encryption = ExplicitSettings {
        encryption: true,
        ..Default::default()
    };
    let mut settings = wanted();
    settings.encryption = Encryption::Kms {
        key: Some("alias/ecr".into()),
    };
    assert!(compare_settings(&current, &settings, &management(only_encryption, true)).is_empty());
    settings.encryption = Encryption::Kms { key: None };
    assert!(compare_settings(&current, &settings, &management(only_encryption, true)).is_empty());
    settings.encryption = Encryption::KmsDsse { key: None };
    let changes = compare_settings(&current, &settings, &management(only_encryption, true));
    assert_eq!(changes[0].action, SettingAction::CannotChange);
}

#[test]
fn policies_compare_as_parsed_json() {
    let wanted = policy_input::lifecycle_policy(
        r#"{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any",
            "countType":"imageCountMoreThan","countNumber":5},"action":{"type":"expire"}}]}"#,
    )
    .unwrap();
    assert_eq!(compare_policy(None, &wanted).action, PolicyAction::Create);
    let reformatted = serde_json::to_string_pretty(&wanted.json).unwrap();
    let same = compare_policy(Some(&reformatted), &wanted);
    assert_eq!(same.action, PolicyAction::Unchanged);
    assert!(same.diff.is_empty());
    let mut other = wanted.json.clone();
    other["rules"][0]["selection"]["countNumber"] = json!(10);
    let changed = compare_policy(Some(&other.to_string()), &wanted);
    assert_eq!(changed.action, PolicyAction::Update);
    assert_eq!(changed.diff, ["~ rules[0].selection.countNumber: 10 → 5"]);
    let garbage = compare_policy(Some("not json"), &wanted);
    assert_eq!(garbage.action, PolicyAction::Update);
}

#[test]
fn writes_count_updates_and_policy_changes_only() {
    let mut changes = RepositoryChanges {
        settings: compare_settings(&existing(), &wanted(), &management(ALL, true)),
        lifecycle_policy: Some(new_policy()),
        repository_policy: Some(PolicyChange {
            action: PolicyAction::Unchanged,
            diff: vec![],
        }),
        ..Default::default()
    };
    // mutability, scan-on-push and tags are updated; encryption cannot be; one policy is new.
    assert_eq!(changes.writes(), 4);
    changes.settings.clear();
    assert_eq!(changes.writes(), 1);
    assert!(!changes.is_replicated());
}

#[test]
fn exclusion_filters_drift_like_a_mode_and_compare_as_a_set() {
    let only_mutability = ExplicitSettings {
        mutability: true,
        ..Default::default()
    };
    let mut wanted = wanted();
    wanted.tag_rules = TagRules {
        mode: TagMutability::ImmutableWithExclusion,
        filters: vec!["latest".into(), "dev-*".into()],
    };
    let mut current = existing();
    current.tag_rules = TagRules {
        mode: TagMutability::ImmutableWithExclusion,
        filters: vec!["dev-*".into(), "latest".into()],
    };
    let same = compare_settings(&current, &wanted, &management(only_mutability, false));
    assert!(same.is_empty(), "{same:?}");
    current.tag_rules.filters = vec!["latest".into()];
    let changes = compare_settings(&current, &wanted, &management(only_mutability, true));
    assert_eq!(
        changes,
        [SettingChange {
            setting: Setting::TagMutability,
            current: "IMMUTABLE_WITH_EXCLUSION (latest)".into(),
            wanted: "IMMUTABLE_WITH_EXCLUSION (latest, dev-*)".into(),
            action: SettingAction::Update,
        }]
    );
}
