//! Local validation of ECR lifecycle policies, so that a mistake is an input error (exit 2)
//! before anything is written, instead of an `InvalidParameterException` from ECR after other
//! regions were already changed. Pure logic over parsed JSON.
//!
//! The rules follow ECR's "Lifecycle policy properties": `rules` is a non-empty list; every rule
//! has a unique integer `rulePriority` ≥ 1, a `selection` and an `action`; `tagStatus` is
//! `tagged`, `untagged` or `any`; `tagPrefixList` / `tagPatternList` only with `tagged` (which
//! needs one of them); `countUnit` (`days`) exactly when `countType` counts time
//! (`sinceImagePushed`, and the archive-era `sinceImagePulled` / `sinceImageTransitioned`), never
//! with `imageCountMoreThan`; `countNumber` ≥ 1; the `any` rule has the highest priority;
//! `action.type` is `expire` or `transition` (the latter with `targetStorageClass: archive`).
//! Unknown keys are refused, as ECR's schema refuses them.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

const RULE_KEYS: &[&str] = &["rulePriority", "description", "selection", "action"];
const SELECTION_KEYS: &[&str] = &[
    "tagStatus",
    "tagPrefixList",
    "tagPatternList",
    "storageClass",
    "countType",
    "countUnit",
    "countNumber",
];
const ACTION_KEYS: &[&str] = &["type", "targetStorageClass"];
const TIME_COUNT_TYPES: &[&str] = &[
    "sinceImagePushed",
    "sinceImagePulled",
    "sinceImageTransitioned",
];
/// ECR allows at most four `*` wildcards per `tagPatternList` entry.
const MAX_WILDCARDS: usize = 4;

/// Checks a parsed lifecycle policy; the error names the rule and the property.
pub fn validate_lifecycle_policy(policy: &Value) -> Result<(), String> {
    let top = policy
        .as_object()
        .ok_or("must be a JSON object with a \"rules\" list")?;
    refuse_unknown_keys(top, &["rules"], "the policy")?;
    let rules = top
        .get("rules")
        .and_then(Value::as_array)
        .ok_or("must have a \"rules\" list")?;
    if rules.is_empty() {
        return Err("\"rules\" is empty; give at least one rule".into());
    }
    let mut priorities: BTreeMap<u64, usize> = BTreeMap::new();
    let mut any_rule: Option<(usize, u64)> = None;
    for (index, rule) in rules.iter().enumerate() {
        let number = index + 1;
        let (priority, tag_status) =
            validate_rule(rule).map_err(|e| format!("rule {number}: {e}"))?;
        if let Some(first) = priorities.insert(priority, number) {
            return Err(format!(
                "rules {first} and {number} both have rulePriority {priority}; priorities must be \
                 unique"
            ));
        }
        if tag_status == "any" {
            any_rule = Some((number, priority));
        }
    }
    if let Some((number, priority)) = any_rule {
        let highest = priorities.keys().next_back().copied().unwrap_or(priority);
        if priority != highest {
            return Err(format!(
                "rule {number} has tagStatus \"any\" but rulePriority {priority}; the \"any\" rule \
                 must have the highest rulePriority ({highest} is higher)"
            ));
        }
    }
    Ok(())
}

/// Checks one rule; returns its priority and tag status.
fn validate_rule(rule: &Value) -> Result<(u64, &str), String> {
    let rule = rule.as_object().ok_or("must be a JSON object")?;
    refuse_unknown_keys(rule, RULE_KEYS, "the rule")?;
    let priority = positive_integer(rule, "rulePriority")?;
    if let Some(description) = rule.get("description")
        && !description.is_string()
    {
        return Err("\"description\" must be a string".into());
    }
    let selection = rule
        .get("selection")
        .ok_or("\"selection\" is missing")?
        .as_object()
        .ok_or("\"selection\" must be a JSON object")?;
    let tag_status = validate_selection(selection)?;
    let action = rule
        .get("action")
        .ok_or("\"action\" is missing")?
        .as_object()
        .ok_or("\"action\" must be a JSON object")?;
    validate_action(action)?;
    Ok((priority, tag_status))
}

fn validate_selection(selection: &Map<String, Value>) -> Result<&str, String> {
    refuse_unknown_keys(selection, SELECTION_KEYS, "selection")?;
    let tag_status = one_of(selection, "tagStatus", &["tagged", "untagged", "any"])?;
    let has_prefixes = tag_list(selection, "tagPrefixList")?;
    let has_patterns = tag_list(selection, "tagPatternList")?;
    match tag_status {
        "tagged" if !has_prefixes && !has_patterns => {
            return Err(
                "tagStatus \"tagged\" needs a \"tagPrefixList\" or a \"tagPatternList\"".into(),
            );
        }
        "tagged" => {}
        other if has_prefixes || has_patterns => {
            let list = if has_prefixes {
                "tagPrefixList"
            } else {
                "tagPatternList"
            };
            return Err(format!(
                "\"{list}\" is only valid with tagStatus \"tagged\", not \"{other}\""
            ));
        }
        _ => {}
    }
    if selection.contains_key("storageClass") {
        one_of(selection, "storageClass", &["standard", "archive"])?;
    }
    let count_types = [
        "imageCountMoreThan",
        TIME_COUNT_TYPES[0],
        TIME_COUNT_TYPES[1],
        TIME_COUNT_TYPES[2],
    ];
    let count_type = one_of(selection, "countType", &count_types)?;
    let counts_time = TIME_COUNT_TYPES.contains(&count_type);
    match (counts_time, selection.contains_key("countUnit")) {
        (true, true) => {
            one_of(selection, "countUnit", &["days"])?;
        }
        (true, false) => {
            return Err(format!(
                "countType \"{count_type}\" needs \"countUnit\": \"days\""
            ));
        }
        (false, true) => {
            return Err(format!(
                "\"countUnit\" is only valid with countType {}, not \"{count_type}\"",
                TIME_COUNT_TYPES.join(" or ")
            ));
        }
        (false, false) => {}
    }
    positive_integer(selection, "countNumber")?;
    Ok(tag_status)
}

fn validate_action(action: &Map<String, Value>) -> Result<(), String> {
    refuse_unknown_keys(action, ACTION_KEYS, "action")?;
    let kind = one_of(action, "type", &["expire", "transition"])?;
    match (kind, action.contains_key("targetStorageClass")) {
        ("transition", true) => one_of(action, "targetStorageClass", &["archive"]).map(|_| ()),
        ("transition", false) => {
            Err("action \"transition\" needs \"targetStorageClass\": \"archive\"".into())
        }
        (_, true) => Err("\"targetStorageClass\" is only valid with action \"transition\"".into()),
        (_, false) => Ok(()),
    }
}

/// `true` when the list is present; it must then be a non-empty list of non-empty strings.
fn tag_list(selection: &Map<String, Value>, key: &str) -> Result<bool, String> {
    let Some(value) = selection.get(key) else {
        return Ok(false);
    };
    let items = value
        .as_array()
        .filter(|items| !items.is_empty())
        .ok_or_else(|| format!("\"{key}\" must be a non-empty list of strings"))?;
    for item in items {
        let text = item
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| format!("\"{key}\" must contain only non-empty strings"))?;
        if key == "tagPatternList" && text.matches('*').count() > MAX_WILDCARDS {
            return Err(format!(
                "\"{key}\" entry \"{text}\" has more than {MAX_WILDCARDS} '*' wildcards"
            ));
        }
    }
    Ok(true)
}

/// A required string property with one of the `allowed` values.
fn one_of<'a>(
    object: &'a Map<String, Value>,
    key: &str,
    allowed: &[&str],
) -> Result<&'a str, String> {
    let quoted: Vec<String> = allowed.iter().map(|a| format!("\"{a}\"")).collect();
    let value = object
        .get(key)
        .ok_or_else(|| format!("\"{key}\" is missing; use {}", quoted.join(", ")))?;
    match value.as_str() {
        Some(text) if allowed.contains(&text) => Ok(text),
        _ => Err(format!("\"{key}\" is {value}; use {}", quoted.join(", "))),
    }
}

/// A required whole number ≥ 1.
fn positive_integer(object: &Map<String, Value>, key: &str) -> Result<u64, String> {
    let value = object
        .get(key)
        .ok_or_else(|| format!("\"{key}\" is missing"))?;
    value
        .as_u64()
        .filter(|n| *n >= 1)
        .ok_or_else(|| format!("\"{key}\" is {value}; it must be a whole number of at least 1"))
}

fn refuse_unknown_keys(
    object: &Map<String, Value>,
    known: &[&str],
    what: &str,
) -> Result<(), String> {
    match object.keys().find(|k| !known.contains(&k.as_str())) {
        Some(key) => Err(format!(
            "{what} has an unknown property \"{key}\"; allowed: {}",
            known.join(", ")
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests;
