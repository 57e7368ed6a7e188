//! What the GitHub runner would do around `ecr-fanout action`, for the action tests: read
//! `action.yml`, evaluate its step's `env:` for given `with:` values (defaults for the rest,
//! empty for unset inputs, as the runner does), parse `$GITHUB_OUTPUT` by the runner's rules,
//! and run the binary with no credentials or CI variables from the host.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

use crate::harness::TestEnv;

/// The parts of `action.yml` the tests read. Unknown keys are allowed (branding, ...).
#[derive(Debug, Deserialize)]
pub struct ActionYml {
    pub name: String,
    pub description: String,
    pub inputs: BTreeMap<String, ActionInput>,
    pub outputs: BTreeMap<String, ActionOutput>,
    pub runs: Runs,
}

#[derive(Debug, Deserialize)]
pub struct ActionInput {
    pub description: String,
    #[serde(default)]
    pub required: bool,
    /// A string, as GitHub passes every input (`'false'`, not `false`).
    pub default: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ActionOutput {
    pub description: String,
    pub value: String,
}

#[derive(Debug, Deserialize)]
pub struct Runs {
    pub using: String,
    pub steps: Vec<Step>,
}

#[derive(Debug, Deserialize)]
pub struct Step {
    pub id: Option<String>,
    pub shell: Option<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    pub run: Option<String>,
}

/// The repository root (where `action.yml` lives).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `action.yml`, parsed with the project's YAML crate; panics with the parse error.
pub fn action_yml() -> ActionYml {
    let path = repo_root().join("action.yml");
    let text = std::fs::read_to_string(&path).expect("read action.yml");
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("action.yml does not parse: {e}"))
}

impl ActionYml {
    /// The one step that runs the binary.
    pub fn run_step(&self) -> &Step {
        match self.runs.steps.as_slice() {
            [step] => step,
            steps => panic!("action.yml should have one step, has {}", steps.len()),
        }
    }

    /// The `INPUT_*` variables the step's process gets for `with` (and nothing else from the
    /// step's env, which only carries `github.*` values the binary does not read).
    pub fn input_env(&self, with: &[(&str, &str)]) -> Vec<(String, String)> {
        let with: BTreeMap<&str, &str> = with.iter().copied().collect();
        for name in with.keys() {
            assert!(
                self.inputs.contains_key(*name),
                "action.yml has no input {name}"
            );
        }
        let mut vars = Vec::new();
        for (key, expression) in &self.run_step().env {
            let Some(input) = input_reference(expression) else {
                continue;
            };
            let declared = &self.inputs[input];
            let value = with
                .get(input)
                .map(|v| v.to_string())
                .or_else(|| declared.default.clone())
                .unwrap_or_default();
            vars.push((key.clone(), value));
        }
        vars
    }
}

/// `${{ inputs.NAME }}` → `NAME`.
pub fn input_reference(expression: &str) -> Option<&str> {
    expression
        .trim()
        .strip_prefix("${{")?
        .strip_suffix("}}")?
        .trim()
        .strip_prefix("inputs.")
}

/// Parses a `$GITHUB_OUTPUT` file as the runner does: `name=value` lines and `name<<DELIM`
/// blocks ended by a line that is exactly `DELIM`; blank lines are skipped; anything else, an
/// empty name or a missing delimiter fails the step (here: panics).
pub fn parse_runner_outputs(text: &str) -> BTreeMap<String, String> {
    let mut outputs = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.is_empty() {
            continue;
        }
        let equals = line.find('=');
        let heredoc = line.find("<<");
        let (name, value) = match (equals, heredoc) {
            (Some(e), h) if h.is_none_or(|h| e < h) => (&line[..e], line[e + 1..].to_string()),
            (_, Some(h)) => {
                let delimiter = &line[h + 2..];
                assert!(!delimiter.is_empty(), "empty delimiter in {line:?}");
                let mut value = Vec::new();
                loop {
                    match lines.next() {
                        Some(next) if next == delimiter => break,
                        Some(next) => value.push(next),
                        None => panic!("Matching delimiter not found '{delimiter}'"),
                    }
                }
                (&line[..h], value.join("\n"))
            }
            _ => panic!("invalid format in GITHUB_OUTPUT: {line:?}"),
        };
        assert!(!name.is_empty(), "empty output name in {line:?}");
        outputs.insert(name.to_string(), value);
    }
    outputs
}

/// Every output written is declared in `action.yml` and every declared one is written: a
/// per-region output (`image-eu-west-1`) through its JSON object (`images`), whose description
/// says how to read one region with `fromJSON`; each declared value reads the step's output.
pub fn assert_outputs_declared(
    action: &ActionYml,
    written: &BTreeMap<String, String>,
    regions: &[&str],
) {
    let mut expected = BTreeSet::new();
    for name in written.keys() {
        match regions
            .iter()
            .find_map(|r| name.strip_suffix(&format!("-{r}")))
        {
            Some(family) => {
                let aggregate = format!("{family}s");
                let declared = action.outputs.get(&aggregate);
                assert!(
                    declared.is_some_and(|o| o.description.contains("fromJSON")),
                    "per-region output {name}: action.yml must declare `{aggregate}` and say \
                     how to read one region from it"
                );
            }
            None => {
                expected.insert(name.as_str());
            }
        }
    }
    let declared: BTreeSet<&str> = action.outputs.keys().map(String::as_str).collect();
    assert_eq!(declared, expected, "action.yml outputs vs the binary's");
    for (name, output) in &action.outputs {
        assert!(
            !output.description.trim().is_empty(),
            "output {name}: no description"
        );
        assert_eq!(
            output.value,
            format!("${{{{ steps.ecr-fanout.outputs.{name} }}}}"),
            "output {name}"
        );
    }
}

/// The binary with the host's CI, AWS and input variables removed, no AWS credentials and no
/// instance metadata, in `dir`.
pub fn bare_command(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ecr-fanout"));
    for key in TestEnv::vars_to_remove() {
        cmd.env_remove(key);
    }
    cmd.env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", dir.join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.join("no-aws-credentials"),
        )
        .env("AWS_REGION", "us-east-1")
        .current_dir(dir);
    cmd
}

#[test]
fn runner_output_rules() {
    let outputs = parse_runner_outputs("a=1\n\nb<<EOF\nx\ny=z\nEOF\nc=<<not heredoc\n");
    assert_eq!(outputs["a"], "1");
    assert_eq!(outputs["b"], "x\ny=z");
    assert_eq!(outputs["c"], "<<not heredoc");
    let missing = std::panic::catch_unwind(|| parse_runner_outputs("a<<EOF\nx\n"));
    assert!(missing.is_err());
}
