//! Build script: records the commit the binary is built from, for `ecr-fanout --version`.
//!
//! In a git checkout of this package it is `git rev-parse --short=12 HEAD`, with `-dirty` when
//! tracked files differ from that commit. Elsewhere (a source tarball, a Docker build without
//! `.git`) it is the `ECR_FANOUT_COMMIT` variable when set, else `unknown`. The result reaches
//! the crate as the compile-time variable `ECR_FANOUT_BUILD_COMMIT`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The variable a build without git can set to name its commit.
const COMMIT_VARIABLE: &str = "ECR_FANOUT_COMMIT";

fn main() {
    println!("cargo:rerun-if-env-changed={COMMIT_VARIABLE}");
    let package_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let commit = git_commit(&package_dir)
        .or_else(|| {
            std::env::var(COMMIT_VARIABLE)
                .ok()
                .filter(|c| !c.trim().is_empty())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=ECR_FANOUT_BUILD_COMMIT={}", commit.trim());
}

/// The checkout's commit, or `None` when the package is not the top of a git work tree (no
/// git, no `.git`, or a copy of the package inside another project's repository).
fn git_commit(package_dir: &Path) -> Option<String> {
    let top = PathBuf::from(git(package_dir, &["rev-parse", "--show-toplevel"])?);
    if top.canonicalize().ok()? != package_dir.canonicalize().ok()? {
        return None;
    }
    rerun_when_git_state_changes(package_dir);
    let commit = git(package_dir, &["rev-parse", "--short=12", "HEAD"])?;
    let changes = git(
        package_dir,
        &["status", "--porcelain", "--untracked-files=no"],
    )?;
    Some(if changes.is_empty() {
        commit
    } else {
        format!("{commit}-dirty")
    })
}

/// Reruns this script when HEAD moves (checkout, commit), the index changes, or a file of the
/// package changes (what makes the tree dirty or clean).
fn rerun_when_git_state_changes(package_dir: &Path) {
    let mut watched = vec![
        "HEAD".to_owned(),
        "index".to_owned(),
        "packed-refs".to_owned(),
    ];
    if let Some(branch) = git(package_dir, &["symbolic-ref", "-q", "HEAD"]) {
        watched.push(branch);
    }
    for name in watched {
        let Some(path) = git(package_dir, &["rev-parse", "--git-path", &name]) else {
            continue;
        };
        // A file that does not exist (no packed refs yet) would rerun the script every build.
        let path = package_dir.join(path);
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    for path in [
        "Cargo.toml",
        "Cargo.lock",
        "build.rs",
        "src",
        "tests",
        "benches",
    ] {
        println!("cargo:rerun-if-changed={path}");
    }
}

/// One git command's trimmed stdout, or `None` when git is missing or fails.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        // `git status` would otherwise refresh the index, which would rerun this script.
        .env("GIT_OPTIONAL_LOCKS", "0")
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    Some(String::from_utf8(output.stdout).ok()?.trim().to_owned())
}
