//! `action.yml` and the binary agree, both ways: every input of the input table
//! (`action_inputs`: every command's, and `command`) is declared and mapped to its `INPUT_*`
//! variable and nothing else is; every `default:` is the table's and a value the binary
//! resolves exactly as absent; every output the binary writes is declared (per-region ones
//! through their JSON object) and nothing else is.

use std::collections::BTreeSet;

use ecr_fanout::config::action_env::variable_name;
use ecr_fanout::config::inputs::{COMMAND_INPUT, spec};
use ecr_fanout::config::raw::{RawInputs, action_inputs};

use crate::action_support::*;
use crate::harness::run;

/// `action.yml` inputs = `action_inputs()`, each described and mapped to `INPUT_<NAME>`.
#[test]
fn inputs_match_the_binary_both_ways() {
    let action = action_yml();
    let declared: BTreeSet<&str> = action.inputs.keys().map(String::as_str).collect();
    let understood: BTreeSet<&str> = action_inputs().collect();
    let unknown: Vec<_> = declared.difference(&understood).collect();
    let missing: Vec<_> = understood.difference(&declared).collect();
    assert!(
        unknown.is_empty() && missing.is_empty(),
        "action.yml inputs the binary does not understand: {unknown:?}; \
         inputs of the binary missing from action.yml: {missing:?}"
    );
    assert_eq!(action.name, "ecr-fanout");
    assert!(!action.description.trim().is_empty());
    for (name, input) in &action.inputs {
        assert!(
            !input.description.trim().is_empty(),
            "input {name}: no description"
        );
        // No input is needed in every run (tags: not with by-digest, merge's or verify's
        // digest; regions/repository may come from `targets`): the binary says what is missing.
        assert!(!input.required, "input {name}: required");
    }

    let step = action.run_step();
    assert_eq!(action.runs.using, "composite");
    assert_eq!(step.shell.as_deref(), Some("bash"));
    let mapped: BTreeSet<(&str, &str)> = step
        .env
        .iter()
        .filter(|(key, _)| key.starts_with("INPUT_"))
        .map(|(key, value)| {
            let input = input_reference(value)
                .unwrap_or_else(|| panic!("{key}: {value} is not ${{{{ inputs.NAME }}}}"));
            (key.as_str(), input)
        })
        .collect();
    let expected: BTreeSet<(String, &str)> = action_inputs()
        .map(|input| (variable_name(input), input))
        .collect();
    let expected: BTreeSet<(&str, &str)> = expected.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        mapped, expected,
        "the step's env must map every input to INPUT_<NAME>"
    );
    let run = step.run.as_deref().unwrap_or_default();
    assert!(
        run.contains("$GITHUB_ACTION_PATH/scripts/action-entry.sh"),
        "{run}"
    );
}

/// Each input's `default:` is the table's `default` (which `action` drops for the inputs a
/// command does not take); `command` defaults to push.
#[test]
fn defaults_are_the_tables() {
    let action = action_yml();
    for (name, input) in &action.inputs {
        let table = match spec(name) {
            Some(spec) => spec.default,
            None if name == COMMAND_INPUT => Some("push"),
            None => panic!("action.yml input {name} is not in the table"),
        };
        assert_eq!(
            input.default.as_deref(),
            table,
            "input {name}: action.yml's default is not the table's"
        );
    }
}

/// Each `default:` resolves to the same configuration as leaving the input out.
#[test]
fn defaults_are_the_binary_defaults() {
    let action = action_yml();
    let image = format!("oci:{}", repo_root().join("examples/hello").display());
    let base = [
        ("regions", "us-east-1"),
        ("repository", "web"),
        ("tags", "v1"),
        ("image", image.as_str()),
    ];
    let resolve = |extra: Option<(&'static str, &str)>| {
        let mut raw = RawInputs::default();
        for (name, value) in base.iter().copied().chain(extra) {
            raw.set(name, Some(value.to_string()));
        }
        let config = ecr_fanout::config::resolve(&raw)
            .unwrap_or_else(|e| panic!("{extra:?} does not resolve: {e}"));
        format!("{config:?}")
    };
    let without = resolve(None);
    for (name, input) in &action.inputs {
        let Some(default) = &input.default else {
            continue;
        };
        let name = action_inputs()
            .find(|i| i == name)
            .unwrap_or_else(|| panic!("unknown input {name}"));
        assert_eq!(
            resolve(Some((name, default))),
            without,
            "action.yml default `{name}: {default}` is not the binary's default"
        );
    }
}

/// The outputs the binary writes are the ones declared, per-region ones through their JSON
/// object (`image-<region>` → `images`), read from a dry run's `$GITHUB_OUTPUT` without AWS
/// access (action.rs checks a real push the same way).
#[tokio::test]
async fn outputs_match_the_binary_both_ways() {
    let action = action_yml();
    let dir = tempfile::tempdir().unwrap();
    let outputs_file = dir.path().join("github-output");
    let regions = ["us-east-1", "eu-west-1"];
    let image = format!("oci:{}", repo_root().join("examples/hello").display());
    let joined = regions.join("\n");
    let mut cmd = bare_command(dir.path());
    cmd.arg("action")
        .envs(action.input_env(&[
            ("regions", &joined),
            ("repository", "web"),
            ("tags", "v1"),
            ("image", &image),
            ("registry-id", "123456789012"),
            ("dry-run", "true"),
            ("scan", "report"),
        ]))
        .env("GITHUB_OUTPUT", &outputs_file);
    let out = run(cmd).await;
    assert!(out.success(), "{out}");
    let written = parse_runner_outputs(&std::fs::read_to_string(&outputs_file).unwrap());
    assert_outputs_declared(&action, &written, &regions);
    assert_eq!(action.run_step().id.as_deref(), Some("ecr-fanout"));
}
