//! The dependency tree keeps to `deny.toml`: `cargo deny check licenses bans sources`, offline
//! (the tool `scripts/test` installs from crates.io; no advisory database: CI's `advisories`
//! job checks those with the network).

use std::process::Command;

use crate::action_support::repo_root;
use crate::lint_workflows::test_tool;

#[test]
fn cargo_deny_accepts_the_licenses_duplicates_and_sources() {
    let deny = test_tool(
        "ECR_FANOUT_TEST_CARGO_DENY",
        "target/test-tools/cargo-bin/bin/cargo-deny",
        "cargo-deny into target/test-tools/cargo-bin",
    );
    let manifest = repo_root().join("Cargo.toml");
    let out = Command::new(&deny)
        .arg("--manifest-path")
        .arg(&manifest)
        .args(["--offline", "--locked", "--color", "never"])
        .args(["check", "licenses", "bans", "sources"])
        .current_dir(repo_root())
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", deny.display()));
    assert!(
        out.status.success(),
        "cargo deny check licenses bans sources failed ({}); fix the dependency or deny.toml:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}
