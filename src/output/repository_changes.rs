//! Plain text for a region's repository changes: every setting and policy change with its
//! short diff in the dry-run plan, and a one-line summary after a push.

use std::fmt::Write as _;

use crate::report::{PolicyAction, PolicyChange, RepositoryChanges, SettingAction};

/// The plan's lines (two-space indent, like the rest of a region's plan); none when the
/// repository needs no change.
pub fn render_plan(text: &mut String, changes: &RepositoryChanges) {
    if !changes.settings.is_empty() {
        let _ = writeln!(text, "  repository settings:");
    }
    for change in &changes.settings {
        let what = match change.action {
            SettingAction::Update => "would update",
            SettingAction::ReportOnly => {
                "differs; set update-repository-settings: true to change it"
            }
            SettingAction::CannotChange => {
                "WARNING: ECR cannot change it without recreating the repository"
            }
        };
        let _ = writeln!(
            text,
            "    {}: {} → {} ({what})",
            change.setting.input_name(),
            change.current,
            change.wanted
        );
    }
    render_policy(text, "lifecycle policy", changes.lifecycle_policy.as_ref());
    render_policy(
        text,
        "repository policy",
        changes.repository_policy.as_ref(),
    );
    if let Some(replication) = &changes.replication {
        let _ = writeln!(text, "  replication: {}", replication.reason);
    }
}

fn render_policy(text: &mut String, name: &str, change: Option<&PolicyChange>) {
    let Some(change) = change else {
        return;
    };
    let what = match change.action {
        PolicyAction::Create => "would be set (there is none)",
        PolicyAction::Update => "would change",
        PolicyAction::Unchanged => "unchanged",
    };
    let _ = writeln!(text, "  {name}: {what}");
    for line in &change.diff {
        let _ = writeln!(text, "    {line}");
    }
}

/// After a push: `lifecycle policy set, scan-on-push false → true`, or `None`.
pub fn summary(changes: &RepositoryChanges) -> Option<String> {
    let mut parts: Vec<String> = changes
        .settings
        .iter()
        .filter(|c| c.action == SettingAction::Update)
        .map(|c| format!("{} {} → {}", c.setting.input_name(), c.current, c.wanted))
        .collect();
    for (name, change) in [
        ("lifecycle policy", &changes.lifecycle_policy),
        ("repository policy", &changes.repository_policy),
    ] {
        if change
            .as_ref()
            .is_some_and(|c| c.action != PolicyAction::Unchanged)
        {
            parts.push(format!("{name} set"));
        }
    }
    if changes.is_replicated() {
        parts.push("image delivered by ECR replication".to_string());
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{ReplicationPlan, SettingChange};

    fn sample() -> RepositoryChanges {
        RepositoryChanges {
            settings: vec![SettingChange {
                setting: crate::report::Setting::ScanOnPush,
                current: "false".into(),
                wanted: "true".into(),
                action: SettingAction::Update,
            }],
            lifecycle_policy: Some(PolicyChange {
                action: PolicyAction::Update,
                diff: vec!["~ rules[0].selection.countNumber: 10 → 5".into()],
            }),
            repository_policy: Some(PolicyChange {
                action: PolicyAction::Unchanged,
                diff: vec![],
            }),
            replication: Some(ReplicationPlan {
                from: "us-east-1".into(),
                action: crate::report::ReplicationAction::Push,
                reason: "pushed anyway (replication: ignore)".into(),
                registry_id: "123456789012".into(),
                awaited_tags: vec![],
                awaits_image: false,
            }),
            arn: None,
        }
    }

    #[test]
    fn the_plan_lists_every_change_with_its_diff() {
        let mut text = String::new();
        render_plan(&mut text, &sample());
        assert_eq!(
            text,
            "  repository settings:\n    scan-on-push: false → true (would update)\n  lifecycle \
             policy: would change\n    ~ rules[0].selection.countNumber: 10 → 5\n  repository \
             policy: unchanged\n  replication: pushed anyway (replication: ignore)\n"
        );
    }

    #[test]
    fn nothing_to_change_renders_nothing() {
        let mut text = String::new();
        render_plan(&mut text, &RepositoryChanges::default());
        assert_eq!(text, "");
        assert_eq!(summary(&RepositoryChanges::default()), None);
    }

    #[test]
    fn the_summary_names_what_was_written() {
        assert_eq!(
            summary(&sample()).as_deref(),
            Some("scan-on-push false → true, lifecycle policy set")
        );
    }
}
