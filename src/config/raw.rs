//! `RawInputs`: what the user typed, by input name, before any validation. CLI flags, GitHub
//! `INPUT_*` variables and (for `targets`) YAML all arrive here first as plain strings, so that
//! one resolver turns every source into the same `Config` with the same error messages. The
//! names are those of `config::inputs`; reading or setting any other is a bug (debug builds
//! panic).

use std::collections::BTreeMap;

use crate::error::InputError;

pub use super::inputs::{COMMAND_INPUT, action_inputs};

/// Input values by name. Empty strings count as absent, as they do for GitHub Action inputs.
#[derive(Debug, Default, Clone)]
pub struct RawInputs {
    values: BTreeMap<&'static str, String>,
}

impl RawInputs {
    /// Sets an input; `None` and blank values are ignored.
    pub fn set(&mut self, name: &'static str, value: Option<String>) {
        debug_assert!(
            action_inputs().any(|input| input == name),
            "unknown input {name}"
        );
        if let Some(value) = value.filter(|v| !v.trim().is_empty()) {
            self.values.insert(name, value);
        }
    }

    /// The inputs given, with their values.
    pub fn given(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.values
            .iter()
            .map(|(name, value)| (*name, value.as_str()))
    }

    /// Forgets an input.
    pub fn remove(&mut self, name: &str) {
        self.values.remove(name);
    }

    /// Inputs from `(name, value)` pairs, for tests.
    #[cfg(test)]
    pub fn from_pairs(pairs: &[(&'static str, &str)]) -> Self {
        let mut raw = Self::default();
        for (name, value) in pairs {
            raw.set(name, Some((*value).to_string()));
        }
        raw
    }

    /// An input's value; `name` must be one of [`action_inputs`].
    pub fn get(&self, name: &'static str) -> Option<&str> {
        debug_assert!(
            action_inputs().any(|input| input == name),
            "unknown input {name}"
        );
        self.values.get(name).map(String::as_str)
    }

    /// One of a fixed set of words: `options` pairs each word with its value, and the first is
    /// the default when the input is absent. Anything else is an error listing the words.
    pub fn choice<T: Clone>(
        &self,
        name: &'static str,
        options: &[(&str, T)],
    ) -> Result<T, InputError> {
        let wanted = self.get(name).map(str::trim);
        let found = match wanted {
            None => options.first(),
            Some(word) => options.iter().find(|(option, _)| *option == word),
        };
        if let Some((_, value)) = found {
            return Ok(value.clone());
        }
        let words: Vec<&str> = options.iter().map(|(word, _)| *word).collect();
        let listed = match words.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => words.join(""),
        };
        Err(InputError::new(
            name,
            format!(
                "'{}' is not valid; use {listed}",
                wanted.unwrap_or_default()
            ),
        ))
    }

    pub fn require(&self, name: &'static str, why: &str) -> Result<&str, InputError> {
        self.get(name)
            .ok_or_else(|| InputError::new(name, format!("is required{why}")))
    }

    /// A comma- or newline-separated list, trimmed, blanks dropped.
    pub fn list(&self, name: &'static str) -> Vec<String> {
        self.get(name).map(split_list).unwrap_or_default()
    }

    /// `true` or `false` (any case); absent gives `default`.
    pub fn bool(&self, name: &'static str, default: bool) -> Result<bool, InputError> {
        match self.get(name).map(|v| v.trim().to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) if v == "true" => Ok(true),
            Some(v) if v == "false" => Ok(false),
            Some(v) => Err(InputError::new(
                name,
                format!("'{v}' is not a boolean; use true or false"),
            )),
        }
    }

    /// Whole seconds within `range`; absent gives `default`.
    pub fn seconds(
        &self,
        name: &'static str,
        default: u64,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<std::time::Duration, InputError> {
        let Some(text) = self.get(name) else {
            return Ok(std::time::Duration::from_secs(default));
        };
        match text.trim().parse::<u64>() {
            Ok(n) if range.contains(&n) => Ok(std::time::Duration::from_secs(n)),
            _ => Err(InputError::new(
                name,
                format!(
                    "'{text}' is not valid; use whole seconds from {} to {}",
                    range.start(),
                    range.end()
                ),
            )),
        }
    }
}

/// Splits a comma- or newline-separated list.
pub fn split_list(value: &str) -> Vec<String> {
    value
        .split([',', '\n'])
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_string)
        .collect()
}

/// Splits `KEY=VALUE` pairs given one per line or comma-separated.
pub fn split_pairs(name: &'static str, value: &str) -> Result<Vec<(String, String)>, InputError> {
    split_list(value)
        .into_iter()
        .map(|item| match item.split_once('=') {
            Some((key, val)) if !key.trim().is_empty() => {
                Ok((key.trim().to_string(), val.trim().to_string()))
            }
            _ => Err(InputError::new(
                name,
                format!("'{item}' is not a KEY=VALUE pair"),
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_split_on_commas_and_newlines() {
        assert_eq!(
            split_list("us-east-1, eu-west-1\n\nap-south-1,"),
            ["us-east-1", "eu-west-1", "ap-south-1"]
        );
    }

    #[test]
    fn a_choice_defaults_to_its_first_word_and_lists_all_words_when_wrong() {
        let options = [("auto", 1), ("docker", 2), ("buildah", 3)];
        let mut raw = RawInputs::default();
        assert_eq!(raw.choice("builder", &options).unwrap(), 1);
        raw.set("builder", Some(" buildah ".into()));
        assert_eq!(raw.choice("builder", &options).unwrap(), 3);
        raw.set("builder", Some("kaniko".into()));
        assert_eq!(
            raw.choice("builder", &options).unwrap_err().to_string(),
            "invalid input `builder`: 'kaniko' is not valid; use auto, docker or buildah"
        );
        assert_eq!(
            raw.choice("builder", &[("auto", 1)])
                .unwrap_err()
                .to_string(),
            "invalid input `builder`: 'kaniko' is not valid; use auto"
        );
    }

    #[test]
    fn blank_values_are_absent() {
        let mut raw = RawInputs::default();
        raw.set("tags", Some("  ".into()));
        assert_eq!(raw.get("tags"), None);
    }

    #[test]
    fn booleans_are_strict() {
        let mut raw = RawInputs::default();
        raw.set("dry-run", Some("TRUE".into()));
        assert!(raw.bool("dry-run", false).unwrap());
        raw.set("verify", Some("yes".into()));
        let err = raw.bool("verify", true).unwrap_err().to_string();
        assert_eq!(
            err,
            "invalid input `verify`: 'yes' is not a boolean; use true or false"
        );
    }

    #[test]
    fn pairs_need_an_equals_sign() {
        assert_eq!(
            split_pairs("repository-tags", "team=web\nenv = prod").unwrap(),
            [("team".into(), "web".into()), ("env".into(), "prod".into())]
        );
        assert!(split_pairs("repository-tags", "team").is_err());
    }
}
