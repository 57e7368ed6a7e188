//! A short, structural diff of two JSON documents (a policy as it is in ECR and as the input
//! wants it), one line per differing path, for the plan. Object key order and whitespace never
//! count; array order does (ECR keeps rule and statement order).

use serde_json::Value;

/// At most this many diff lines are shown; the rest are counted.
pub const MAX_DIFF_LINES: usize = 8;
/// Values longer than this are cut with `…`.
const MAX_VALUE_CHARS: usize = 72;

/// `~ path: old → new`, `+ path: added`, `- path: removed`, at most [`MAX_DIFF_LINES`] lines
/// plus a count of the rest. Empty when the documents are equal.
pub fn policy_diff(current: &Value, wanted: &Value) -> Vec<String> {
    let mut lines = Vec::new();
    collect(current, wanted, String::new(), &mut lines);
    if lines.len() > MAX_DIFF_LINES {
        let more = lines.len() - MAX_DIFF_LINES;
        lines.truncate(MAX_DIFF_LINES);
        lines.push(format!("… and {more} more"));
    }
    lines
}

fn collect(current: &Value, wanted: &Value, path: String, lines: &mut Vec<String>) {
    match (current, wanted) {
        (Value::Object(old), Value::Object(new)) => {
            let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match (old.get(key), new.get(key)) {
                    (Some(a), Some(b)) => collect(a, b, child, lines),
                    (Some(a), None) => lines.push(format!("- {child}: {}", short(a))),
                    (None, Some(b)) => lines.push(format!("+ {child}: {}", short(b))),
                    (None, None) => {}
                }
            }
        }
        (Value::Array(old), Value::Array(new)) => {
            for index in 0..old.len().max(new.len()) {
                let child = format!("{path}[{index}]");
                match (old.get(index), new.get(index)) {
                    (Some(a), Some(b)) => collect(a, b, child, lines),
                    (Some(a), None) => lines.push(format!("- {child}: {}", short(a))),
                    (None, Some(b)) => lines.push(format!("+ {child}: {}", short(b))),
                    (None, None) => {}
                }
            }
        }
        (a, b) if a != b => {
            let at = if path.is_empty() { "(document)" } else { &path };
            lines.push(format!("~ {at}: {} → {}", short(a), short(b)));
        }
        _ => {}
    }
}

/// Compact JSON, cut to [`MAX_VALUE_CHARS`].
fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= MAX_VALUE_CHARS {
        return text;
    }
    let cut: String = text.chars().take(MAX_VALUE_CHARS - 1).collect();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn equal_documents_have_no_diff_whatever_the_key_order() {
        let a: Value = serde_json::from_str(r#"{"b": 1, "a": [1, {"y": 2, "x": 3}]}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a":[1,{"x":3,"y":2}],"b":1}"#).unwrap();
        assert!(policy_diff(&a, &b).is_empty());
    }

    #[test]
    fn changed_added_and_removed_paths_are_listed() {
        let current = json!({"rules": [
            {"rulePriority": 1, "selection": {"countNumber": 10}, "description": "old"}
        ]});
        let wanted = json!({"rules": [
            {"rulePriority": 1, "selection": {"countNumber": 5}},
            {"rulePriority": 2}
        ]});
        assert_eq!(
            policy_diff(&current, &wanted),
            [
                "- rules[0].description: \"old\"",
                "~ rules[0].selection.countNumber: 10 → 5",
                "+ rules[1]: {\"rulePriority\":2}",
            ]
        );
    }

    #[test]
    fn a_type_change_is_one_line() {
        let current = json!({"Statement": {"Effect": "Allow"}});
        let wanted = json!({"Statement": [{"Effect": "Allow"}]});
        assert_eq!(
            policy_diff(&current, &wanted),
            ["~ Statement: {\"Effect\":\"Allow\"} → [{\"Effect\":\"Allow\"}]"]
        );
        assert_eq!(policy_diff(&json!(1), &json!(2)), ["~ (document): 1 → 2"]);
    }

    #[test]
    fn long_diffs_and_values_are_cut() {
        let current = json!({"list": (0..20).collect::<Vec<_>>()});
        let wanted = json!({"list": (100..120).collect::<Vec<_>>()});
        let lines = policy_diff(&current, &wanted);
        assert_eq!(lines.len(), MAX_DIFF_LINES + 1);
        assert_eq!(lines[MAX_DIFF_LINES], "… and 12 more");
        let long = json!({"text": "x".repeat(200)});
        let lines = policy_diff(&json!({}), &long);
        assert!(
            lines[0].ends_with('…') && lines[0].chars().count() < 90,
            "{lines:?}"
        );
    }
}
