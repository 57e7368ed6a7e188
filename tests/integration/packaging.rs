//! What a release is built from: `--version` names the checkout's commit.

use std::process::Command;

use crate::action_support::{bare_command, repo_root};

/// `git ARGS` in the checkout; the tests run in a git clone, so git must answer.
fn git(args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(repo_root())
        .output()
        .expect("git runs (the tests run in a git checkout)");
    assert!(
        output.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

#[test]
fn version_names_the_commit_it_was_built_from() {
    let commit = git(&["rev-parse", "--short=12", "HEAD"]);
    let dir = tempfile::tempdir().unwrap();
    let output = bare_command(dir.path()).arg("--version").output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let prefix = format!("ecr-fanout {} (commit {commit}", env!("CARGO_PKG_VERSION"));
    let rest = stdout.trim_end().strip_prefix(&prefix);
    assert!(
        matches!(rest, Some(")" | "-dirty)")),
        "`--version` printed {stdout:?}, expected {prefix:?} followed by `)` or `-dirty)`"
    );
}
