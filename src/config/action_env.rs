//! GitHub Action inputs: `INPUT_<NAME>` environment variables → [`RawInputs`]. The runner
//! upper-cases the input name, keeps `-`, turns spaces into `_`, and sets a variable for every
//! declared input, empty when the workflow left it unset; empty therefore means absent. The
//! names understood are exactly the table's ([`action_inputs`], which `action.yml` declares); any other
//! non-empty `INPUT_*` variable is an [`UnknownInput`] naming the closest valid input (exit 2).
//! The `command` input picks push, merge or verify; an input the command does not take is
//! ignored while it holds its `action.yml` default (the table's `default`; the runner sets
//! every declared input) and an error naming it otherwise.

use std::ffi::OsString;

use super::inputs::{COMMAND_INPUT, InputCommand, action_inputs, spec};
use super::raw::RawInputs;
use crate::error::InputError;
pub use crate::error::{ActionInputError, UnknownInput};

/// The prefix the runner puts before every input name.
pub const INPUT_PREFIX: &str = "INPUT_";

/// `registry-id` → `INPUT_REGISTRY-ID`, as the runner names it.
pub fn variable_name(input: &str) -> String {
    format!("{INPUT_PREFIX}{}", input.replace(' ', "_").to_uppercase())
}

/// Reads the inputs from this process's environment.
pub fn inputs_from_process_env() -> Result<RawInputs, ActionInputError> {
    inputs_from_vars(std::env::vars_os())
}

/// Reads the inputs from `(name, value)` pairs; variables without the prefix are ignored.
pub fn inputs_from_vars(
    vars: impl IntoIterator<Item = (OsString, OsString)>,
) -> Result<RawInputs, ActionInputError> {
    let mut raw = RawInputs::default();
    let mut unknown = Vec::new();
    for (name, value) in vars {
        let Some(name) = name.to_str() else { continue };
        if !name.starts_with(INPUT_PREFIX) {
            continue;
        }
        let value = value
            .into_string()
            .map_err(|_| ActionInputError::NotUtf8(name.to_string()))?;
        match action_inputs().find(|i| variable_name(i) == name) {
            Some(input) => raw.set(input, Some(value)),
            // Declared-but-unset inputs of a newer action.yml arrive empty: absent, not wrong.
            None if value.trim().is_empty() => {
                tracing::debug!(variable = name, "ignoring empty unknown action input")
            }
            None => unknown.push(name.to_string()),
        }
    }
    // Report the first in name order so the message does not depend on environment order.
    unknown.sort();
    match unknown.first() {
        Some(variable) => Err(unknown_input(variable).into()),
        None => Ok(raw),
    }
}

fn unknown_input(variable: &str) -> UnknownInput {
    let given = variable[INPUT_PREFIX.len()..].to_lowercase();
    let closest = closest_input(&given);
    UnknownInput {
        variable: variable.to_string(),
        given,
        closest,
        closest_variable: variable_name(closest),
    }
}

/// The valid input nearest to `given` by edit distance (`_` counted as `-`); ties go to the
/// input listed first.
pub fn closest_input(given: &str) -> &'static str {
    let given = given.to_lowercase().replace('_', "-");
    action_inputs()
        .min_by_key(|input| strsim::levenshtein(&given, input))
        .unwrap_or("regions")
}

/// The command the action runs.
pub type ActionCommand = InputCommand;

/// The command `command` names, and the inputs for it: an input it does not take is dropped
/// while it holds its `action.yml` default, and refused (exit 2) when set to anything else.
pub fn for_command(mut raw: RawInputs) -> Result<(ActionCommand, RawInputs), InputError> {
    let command = match raw.get(COMMAND_INPUT).map(str::trim) {
        None | Some("push") => ActionCommand::Push,
        Some("merge") => ActionCommand::Merge,
        Some("verify") => ActionCommand::Verify,
        Some(other) => {
            return Err(InputError::new(
                COMMAND_INPUT,
                format!("'{other}' is not valid; use push, merge or verify"),
            ));
        }
    };
    raw.remove(COMMAND_INPUT);
    let foreign: Vec<(&'static str, String)> = raw
        .given()
        .filter(|(name, _)| !spec(name).is_some_and(|input| input.taken_by(command)))
        .map(|(name, value)| (name, value.trim().to_string()))
        .collect();
    for (name, value) in foreign {
        if spec(name).and_then(|input| input.default) == Some(value.as_str()) {
            raw.remove(name);
            continue;
        }
        return Err(InputError::new(
            name,
            format!(
                "is not an input of {} (command: {}); leave it unset there",
                command.as_str(),
                command.as_str()
            ),
        ));
    }
    Ok((command, raw))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::inputs::inputs_of;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs
            .iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v)))
            .collect()
    }

    #[test]
    fn every_push_input_has_its_runner_variable() {
        for input in inputs_of(InputCommand::Push) {
            let variable = variable_name(input);
            let raw = inputs_from_vars(vars(&[(variable.as_str(), "x")])).unwrap();
            assert_eq!(raw.get(input), Some("x"), "{input}");
        }
        assert_eq!(variable_name("registry-id"), "INPUT_REGISTRY-ID");
    }

    #[test]
    fn runner_style_environment_is_read() {
        let raw = inputs_from_vars(vars(&[
            ("INPUT_REGIONS", "us-east-1\neu-west-1\n"),
            ("INPUT_REGISTRY-ID", "123456789012"),
            ("INPUT_CREATE-REPOSITORY", "true"),
            ("INPUT_KMS-KEY", ""),
            ("PATH", "/usr/bin"),
        ]))
        .unwrap();
        assert_eq!(raw.list("regions"), ["us-east-1", "eu-west-1"]);
        assert_eq!(raw.get("registry-id"), Some("123456789012"));
        assert!(raw.bool("create-repository", false).unwrap());
        assert_eq!(raw.get("kms-key"), None);
    }

    #[test]
    fn the_command_drops_other_commands_defaults_and_refuses_their_values() {
        let raw = inputs_from_vars(vars(&[
            ("INPUT_COMMAND", "merge"),
            ("INPUT_SOURCES", "sha256:abc"),
            ("INPUT_BUILDER", "auto"),
            ("INPUT_CREATE-REPOSITORY", "false"),
        ]))
        .unwrap();
        let (command, raw) = for_command(raw).unwrap();
        assert_eq!(command, ActionCommand::Merge);
        assert_eq!(raw.get("sources"), Some("sha256:abc"));
        assert_eq!(
            raw.get("builder"),
            None,
            "its default, for a build merge does not do"
        );
        assert_eq!(raw.get("create-repository"), Some("false"));
        let raw = inputs_from_vars(vars(&[
            ("INPUT_COMMAND", "merge"),
            ("INPUT_CONTEXT", "app/"),
        ]))
        .unwrap();
        assert_eq!(
            for_command(raw).unwrap_err().to_string(),
            "invalid input `context`: is not an input of merge (command: merge); leave it unset there"
        );
        let raw = inputs_from_vars(vars(&[("INPUT_DIGEST", "sha256:abc")])).unwrap();
        assert!(
            for_command(raw)
                .unwrap_err()
                .to_string()
                .starts_with("invalid input `digest`: is not an input of push")
        );
        let raw = inputs_from_vars(vars(&[("INPUT_COMMAND", "deploy")])).unwrap();
        assert_eq!(
            for_command(raw).unwrap_err().to_string(),
            "invalid input `command`: 'deploy' is not valid; use push, merge or verify"
        );
    }

    #[test]
    fn misspelled_input_names_the_closest() {
        let err = inputs_from_vars(vars(&[("INPUT_REGOINS", "us-east-1")])).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("unknown action input `regoins` (INPUT_REGOINS)"));
        assert!(text.contains("the closest valid input is `regions` (INPUT_REGIONS)"));
    }

    #[test]
    fn underscore_instead_of_dash_points_at_the_dashed_name() {
        let err = inputs_from_vars(vars(&[("INPUT_REGISTRY_ID", "1")])).unwrap_err();
        let ActionInputError::Unknown(unknown) = err else {
            panic!("{err}")
        };
        assert_eq!(unknown.closest, "registry-id");
        assert_eq!(unknown.closest_variable, "INPUT_REGISTRY-ID");
    }

    #[test]
    fn lower_case_variables_are_not_runner_names() {
        let err = inputs_from_vars(vars(&[("INPUT_tags", "v1")])).unwrap_err();
        assert!(err.to_string().contains("`tags` (INPUT_TAGS)"), "{err}");
    }

    #[test]
    fn empty_unknown_inputs_are_absent() {
        let raw = inputs_from_vars(vars(&[("INPUT_FUTURE-INPUT", ""), ("INPUT_TAGS", "v1")]));
        assert_eq!(raw.unwrap().get("tags"), Some("v1"));
    }

    #[test]
    fn closest_inputs() {
        assert_eq!(closest_input("regoins"), "regions");
        assert_eq!(closest_input("tag"), "tags");
        assert_eq!(closest_input("dryrun"), "dry-run");
        assert_eq!(closest_input("DRY_RUN"), "dry-run");
    }
}
