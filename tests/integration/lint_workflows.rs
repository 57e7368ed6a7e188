//! The CI files, linted offline with the tools `scripts/test` installs: actionlint (with
//! shellcheck on every `run:` block) on the GitHub workflows and the GitHub workflow examples;
//! check-jsonschema's bundled schemas on the workflows, `action.yml`, the Dependabot file and the
//! GitLab files (examples and the CI/CD component templates; a component's `spec:` header and
//! its body are checked as the separate YAML documents they are). Files are found by name, so a
//! new workflow, example or template is covered without editing this file. The GitHub examples
//! pin each action as the repository's own workflows do, with a `# vX.Y.Z` comment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::action_support::repo_root;

/// A test tool: `$VAR` when set, else `DEFAULT` (relative to this checkout), where `scripts/test`
/// installs it; panics, saying to run `scripts/test`, when it is not there.
pub fn test_tool(var: &str, default: &str, installs: &str) -> PathBuf {
    let path = match std::env::var_os(var) {
        Some(p) => PathBuf::from(p),
        None => repo_root().join(default),
    };
    assert!(
        path.is_file(),
        "{} not found at {} — run `scripts/test` (it installs {installs} and exports {var})",
        path.file_name().unwrap_or_default().to_string_lossy(),
        path.display()
    );
    path
}

fn actionlint() -> PathBuf {
    test_tool(
        "ECR_FANOUT_TEST_ACTIONLINT",
        "target/test-tools/venv/bin/actionlint",
        "actionlint into target/test-tools/venv",
    )
}

fn check_jsonschema() -> PathBuf {
    test_tool(
        "ECR_FANOUT_TEST_CHECK_JSONSCHEMA",
        "target/test-tools/venv/bin/check-jsonschema",
        "check-jsonschema into target/test-tools/venv",
    )
}

/// The files of `dir` (relative to the checkout; recursively when `deep`) whose names end in
/// `.yml` or `.yaml` and start with `prefix`, sorted, relative to the checkout.
fn yaml_files(dir: &str, prefix: &str, deep: bool) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, prefix: &str, deep: bool, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if deep {
                    walk(root, &path, prefix, deep, out);
                }
                continue;
            }
            let name = path.file_name().unwrap().to_string_lossy();
            if name.starts_with(prefix) && (name.ends_with(".yml") || name.ends_with(".yaml")) {
                let relative = path.strip_prefix(root).unwrap();
                out.push(relative.to_string_lossy().into_owned());
            }
        }
    }
    let root = repo_root();
    let mut out = Vec::new();
    walk(&root, &root.join(dir), prefix, deep, &mut out);
    out.sort();
    out
}

fn workflows() -> Vec<String> {
    let files = yaml_files(".github/workflows", "", false);
    assert!(!files.is_empty(), "no workflow in .github/workflows");
    files
}

fn github_examples() -> Vec<String> {
    let files = yaml_files("examples/ci", "github-", false);
    assert!(!files.is_empty(), "no examples/ci/github-*.yml");
    files
}

/// Runs `cmd` in the checkout; panics with its output when it fails.
fn assert_passes(mut cmd: Command, what: &str) {
    let out = cmd
        .current_dir(repo_root())
        .output()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn actionlint_passes_on_the_workflows_and_the_github_examples() {
    // actionlint runs shellcheck on `run:` blocks only when it finds it on PATH.
    let shellcheck = Command::new("shellcheck").arg("--version").output();
    assert!(
        shellcheck.is_ok_and(|o| o.status.success()),
        "shellcheck is not installed; run scripts/test"
    );
    let files: Vec<String> = workflows().into_iter().chain(github_examples()).collect();
    let mut cmd = Command::new(actionlint());
    cmd.arg("-no-color").args(&files);
    assert_passes(cmd, &format!("actionlint {files:?}"));
}

/// check-jsonschema with a bundled schema; `files` relative to the checkout.
fn assert_schema(schema: &str, files: &[String]) {
    let mut cmd = Command::new(check_jsonschema());
    cmd.args(["--builtin-schema", schema]).args(files);
    assert_passes(
        cmd,
        &format!("check-jsonschema --builtin-schema {schema} {files:?}"),
    );
}

#[test]
fn workflows_action_and_dependabot_match_their_schemas() {
    let mut workflow_files = workflows();
    workflow_files.extend(github_examples());
    assert_schema("vendor.github-workflows", &workflow_files);
    assert_schema("vendor.github-actions", &["action.yml".to_string()]);
    assert_schema("vendor.dependabot", &[".github/dependabot.yml".to_string()]);
}

/// The YAML documents of `text`, split at `---` lines (a GitLab CI/CD component is a `spec:`
/// header document, `---`, then the jobs).
fn yaml_documents(text: &str) -> Vec<String> {
    let mut documents = vec![String::new()];
    for line in text.lines() {
        if line.trim_end() == "---" {
            documents.push(String::new());
        } else {
            let current = documents.last_mut().unwrap();
            current.push_str(line);
            current.push('\n');
        }
    }
    documents.retain(|d| {
        d.lines()
            .any(|l| !l.trim().is_empty() && !l.starts_with('#'))
    });
    documents
}

#[test]
fn gitlab_files_match_the_gitlab_ci_schema() {
    let mut files = yaml_files("examples/ci", "gitlab", false);
    assert!(!files.is_empty(), "no examples/ci/gitlab*.yml");
    files.extend(yaml_files("templates", "", true));
    // Each document on its own: check-jsonschema reads one document per file.
    let dir = tempfile::tempdir().unwrap();
    let mut parts = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(repo_root().join(file)).unwrap();
        let documents = yaml_documents(&text);
        assert!(!documents.is_empty(), "{file} holds no YAML document");
        for (n, document) in documents.iter().enumerate() {
            let name = format!("{}.{n}.yml", file.replace('/', "__"));
            let part = dir.path().join(&name);
            std::fs::write(&part, document).unwrap();
            parts.push(part.to_string_lossy().into_owned());
        }
    }
    assert_schema("vendor.gitlab-ci", &parts);
}

/// `uses:` references of `file`: action (owner/name[/path]) -> (ref, the comment after it).
fn pinned_actions(file: &str) -> BTreeMap<String, (String, String)> {
    let text = std::fs::read_to_string(repo_root().join(file)).unwrap();
    let mut pins = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
        let Some((_, rest)) = line.split_once("uses:") else {
            continue;
        };
        let (reference, comment) = match rest.split_once('#') {
            Some((r, c)) => (r.trim(), c.trim()),
            None => (rest.trim(), ""),
        };
        let Some((action, at)) = reference.split_once('@') else {
            continue; // `uses: ./`
        };
        if action.starts_with("OWNER/ecr-fanout") {
            continue;
        }
        pins.insert(action.to_string(), (at.to_string(), comment.to_string()));
    }
    pins
}

#[test]
fn github_examples_pin_actions_as_the_workflows_do_with_their_versions() {
    let is_version = |c: &str| {
        c.strip_prefix('v').is_some_and(|v| {
            let parts: Vec<&str> = v.split('.').collect();
            parts.len() == 3 && parts.iter().all(|p| p.parse::<u32>().is_ok())
        })
    };
    let mut ours = BTreeMap::new();
    for file in workflows() {
        for (action, pin) in pinned_actions(&file) {
            assert!(
                is_version(&pin.1),
                "{file}: {action}@{} has no `# vX.Y.Z` comment",
                pin.0
            );
            if let Some(other) = ours.insert(action.clone(), pin.clone()) {
                assert_eq!(
                    other, pin,
                    "{file}: {action} pinned two ways in .github/workflows"
                );
            }
        }
    }
    for file in github_examples() {
        for (action, pin) in pinned_actions(&file) {
            assert!(
                is_version(&pin.1),
                "{file}: {action}@{} has no `# vX.Y.Z` comment",
                pin.0
            );
            if let Some(workflow_pin) = ours.get(&action) {
                assert_eq!(
                    &pin, workflow_pin,
                    "{file} pins {action} unlike .github/workflows (which Dependabot updates)"
                );
            }
        }
    }
}
