//! The `lifecycle-policy` and `repository-policy` inputs: a path to a JSON file or inline JSON,
//! read and checked once, before the network is touched. A value whose first non-blank
//! character is `{` is inline JSON; anything else is a file path.

use std::path::Path;

use serde_json::Value;

use super::lifecycle::validate_lifecycle_policy;
use crate::error::InputError;

/// ECR's size limits on the policy texts (`PutLifecyclePolicy`, `SetRepositoryPolicy`).
const MAX_LIFECYCLE_POLICY_CHARS: usize = 30_720;
const MAX_REPOSITORY_POLICY_CHARS: usize = 10_240;

/// A validated policy: the text sent to ECR as given, and its parse for comparisons.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyDocument {
    pub text: String,
    pub json: Value,
}

/// Reads and validates the `lifecycle-policy` input.
pub fn lifecycle_policy(value: &str) -> Result<PolicyDocument, InputError> {
    const NAME: &str = "lifecycle-policy";
    let document = load(NAME, value, MAX_LIFECYCLE_POLICY_CHARS)?;
    validate_lifecycle_policy(&document.json).map_err(|e| InputError::new(NAME, e))?;
    Ok(document)
}

/// Reads and validates the `repository-policy` input (an IAM-style resource policy).
pub fn repository_policy(value: &str) -> Result<PolicyDocument, InputError> {
    const NAME: &str = "repository-policy";
    let document = load(NAME, value, MAX_REPOSITORY_POLICY_CHARS)?;
    validate_repository_policy(&document.json).map_err(|e| InputError::new(NAME, e))?;
    Ok(document)
}

/// The outline ECR requires: an object whose `Statement` is a statement object or a non-empty
/// list of them. Principals and actions are left to ECR, which knows the account's context.
fn validate_repository_policy(policy: &Value) -> Result<(), String> {
    let top = policy
        .as_object()
        .ok_or("must be a JSON object with a \"Statement\"")?;
    let statements = match top.get("Statement") {
        Some(Value::Array(items)) if !items.is_empty() => items.iter().collect(),
        Some(single @ Value::Object(_)) => vec![single],
        Some(_) => return Err("\"Statement\" must be an object or a non-empty list".into()),
        None => return Err("must have a \"Statement\"".into()),
    };
    for (index, statement) in statements.into_iter().enumerate() {
        let effect = statement.get("Effect").and_then(Value::as_str);
        if !matches!(effect, Some("Allow" | "Deny")) {
            return Err(format!(
                "statement {}: \"Effect\" must be \"Allow\" or \"Deny\"",
                index + 1
            ));
        }
    }
    Ok(())
}

/// Inline JSON or a file's contents, parsed.
fn load(name: &'static str, value: &str, max_chars: usize) -> Result<PolicyDocument, InputError> {
    let trimmed = value.trim();
    let text = if trimmed.starts_with('{') {
        trimmed.to_string()
    } else {
        read_file(name, trimmed)?
    };
    let json: Value = serde_json::from_str(&text)
        .map_err(|e| InputError::new(name, format!("is not valid JSON: {e}")))?;
    let chars = text.chars().count();
    if chars > max_chars {
        return Err(InputError::new(
            name,
            format!("has {chars} characters; ECR accepts at most {max_chars}"),
        ));
    }
    Ok(PolicyDocument { text, json })
}

fn read_file(name: &'static str, path: &str) -> Result<String, InputError> {
    if !Path::new(path).is_file() {
        return Err(InputError::new(
            name,
            format!("'{path}' is neither inline JSON (starting with {{) nor an existing file"),
        ));
    }
    std::fs::read_to_string(path)
        .map(|text| text.trim().to_string())
        .map_err(|e| InputError::new(name, format!("cannot read file '{path}': {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEEP_FIVE: &str = r#"{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any",
        "countType":"imageCountMoreThan","countNumber":5},"action":{"type":"expire"}}]}"#;
    const PULL_FROM_ACCOUNT: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"pull",
        "Effect":"Allow","Principal":{"AWS":"arn:aws:iam::210987654321:root"},
        "Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}]}"#;

    #[test]
    fn inline_json_is_parsed_and_kept_as_given() {
        let document = lifecycle_policy(&format!("  {KEEP_FIVE}\n")).unwrap();
        assert_eq!(document.text, KEEP_FIVE);
        assert_eq!(document.json["rules"][0]["selection"]["countNumber"], 5);
    }

    #[test]
    fn a_file_path_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.json");
        std::fs::write(&path, format!("{PULL_FROM_ACCOUNT}\n")).unwrap();
        let document = repository_policy(path.to_str().unwrap()).unwrap();
        assert_eq!(document.json["Statement"][0]["Sid"], "pull");
    }

    #[test]
    fn a_missing_file_is_named() {
        let error = lifecycle_policy("policies/missing.json")
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "invalid input `lifecycle-policy`: 'policies/missing.json' is neither inline JSON \
             (starting with {) nor an existing file"
        );
    }

    #[test]
    fn json_syntax_errors_say_where() {
        let error = repository_policy(r#"{"Statement": [}"#)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("invalid input `repository-policy`: is not valid JSON: ")
                && error.contains("line 1 column"),
            "{error}"
        );
    }

    #[test]
    fn lifecycle_rules_are_validated() {
        let bad = KEEP_FIVE.replace("\"any\"", "\"some\"");
        let error = lifecycle_policy(&bad).unwrap_err().to_string();
        assert!(
            error.contains("rule 1: \"tagStatus\" is \"some\""),
            "{error}"
        );
    }

    #[test]
    fn repository_policies_need_statements_with_an_effect() {
        for (text, expected) in [
            ("{}", "must have a \"Statement\""),
            (
                r#"{"Statement": []}"#,
                "must be an object or a non-empty list",
            ),
            (
                r#"{"Statement": {"Effect": "allow"}}"#,
                "statement 1: \"Effect\"",
            ),
        ] {
            let error = repository_policy(text).unwrap_err().to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
        repository_policy(r#"{"Statement": {"Effect": "Deny", "Principal": "*"}}"#).unwrap();
    }

    #[test]
    fn oversized_policies_are_refused() {
        let description = "x".repeat(MAX_LIFECYCLE_POLICY_CHARS);
        let big = KEEP_FIVE.replace(
            "\"rulePriority\":1,",
            &format!("\"rulePriority\":1,\"description\":\"{description}\","),
        );
        let error = lifecycle_policy(&big).unwrap_err().to_string();
        assert!(error.contains("ECR accepts at most 30720"), "{error}");
    }
}
