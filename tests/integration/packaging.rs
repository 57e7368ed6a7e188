//! What a release is built from: `--version` names the checkout's commit, and the files the
//! `Dockerfile` copies (minus `.dockerignore`) are a package cargo builds; the binary links one
//! HTTP stack and one TLS stack, and the release binary stays within its size limit.

use std::fs;
use std::path::{Path, PathBuf};
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

#[test]
fn the_dockerfile_copies_a_package_cargo_accepts() {
    let root = repo_root();
    let ignored = dockerignore(&root);
    let context = tempfile::tempdir().unwrap();
    for (sources, destination) in dockerfile_copies(&root) {
        let into_directory = destination.ends_with('/') || destination == "." || sources.len() > 1;
        let destination = context.path().join(destination);
        for source in sources {
            let from = root.join(&source);
            assert!(
                from.exists(),
                "the Dockerfile copies {source}, which does not exist"
            );
            let to = if from.is_file() && into_directory {
                destination.join(from.file_name().unwrap())
            } else {
                destination.clone()
            };
            copy_into(&root, &from, &to, &ignored);
        }
    }

    // Validates the manifest against the copied files (declared benchmark, Cargo.lock current)
    // without compiling or downloading anything.
    let fetch = Command::new(env!("CARGO"))
        .args(["fetch", "--offline", "--locked", "--target", &host_triple()])
        .current_dir(context.path())
        .output()
        .unwrap();
    assert!(
        fetch.status.success(),
        "cargo refuses the package the Dockerfile copies: {}",
        String::from_utf8_lossy(&fetch.stderr)
    );
    // The sources of what `cargo build --bin ecr-fanout` compiles: library, binary, build script.
    for target in package_targets(&root) {
        let kinds = target["kind"].as_array().unwrap();
        if !kinds
            .iter()
            .any(|k| ["lib", "bin", "custom-build"].contains(&k.as_str().unwrap()))
        {
            continue;
        }
        let source = Path::new(target["src_path"].as_str().unwrap());
        let relative = source.strip_prefix(&root).unwrap();
        assert!(
            context.path().join(relative).is_file(),
            "the Dockerfile does not copy {} ({} target {})",
            relative.display(),
            kinds[0],
            target["name"]
        );
    }
}

/// The build stage's `COPY` instructions from the context: (sources, destination).
fn dockerfile_copies(root: &Path) -> Vec<(Vec<String>, String)> {
    let dockerfile = fs::read_to_string(root.join("Dockerfile")).unwrap();
    let copies: Vec<_> = dockerfile
        .lines()
        .filter_map(|line| line.trim().strip_prefix("COPY "))
        .filter(|args| !args.contains("--from="))
        .map(|args| {
            let mut words: Vec<String> = args.split_whitespace().map(str::to_owned).collect();
            assert!(
                !words.iter().any(|w| w.starts_with("--") || w.contains('*')),
                "COPY {args}: this test reads plain COPY paths only"
            );
            let destination = words.pop().unwrap();
            (words, destination)
        })
        .collect();
    assert!(
        !copies.is_empty(),
        "the Dockerfile copies nothing from the context"
    );
    copies
}

/// The paths `.dockerignore` leaves out, relative to the context.
fn dockerignore(root: &Path) -> Vec<PathBuf> {
    let text = fs::read_to_string(root.join(".dockerignore")).unwrap_or_default();
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            assert!(
                !line.contains(['*', '?', '[', '!']),
                ".dockerignore pattern {line:?}: this test reads plain paths only"
            );
            PathBuf::from(line.trim_matches('/'))
        })
        .collect()
}

/// Copies `from` (a file, or a directory's contents) to `to`, skipping ignored paths.
fn copy_into(root: &Path, from: &Path, to: &Path, ignored: &[PathBuf]) {
    let relative = from.strip_prefix(root).unwrap();
    if ignored.iter().any(|path| relative.starts_with(path)) {
        return;
    }
    if from.is_dir() {
        fs::create_dir_all(to).unwrap();
        for entry in fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            copy_into(root, &entry.path(), &to.join(entry.file_name()), ignored);
        }
    } else {
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        fs::copy(from, to).unwrap();
    }
}

/// The checkout's package targets, from `cargo metadata`.
fn package_targets(root: &Path) -> Vec<serde_json::Value> {
    let output = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--no-deps",
            "--offline",
            "--format-version",
            "1",
        ])
        .current_dir(root)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    metadata["packages"][0]["targets"]
        .as_array()
        .unwrap()
        .clone()
}

/// The host's target triple (`rustc -vV`): `cargo fetch` for it needs only what the tests' own
/// build already downloaded.
fn host_triple() -> String {
    let output = Command::new("rustc").arg("-vV").output().unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix("host: "))
        .expect("rustc -vV names the host")
        .to_owned()
}

/// The versions of `name` the binary's dependency tree holds (normal dependencies, this host).
fn versions_in_tree(root: &Path, name: &str) -> Vec<String> {
    let output = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "--locked",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .args(["--target", &host_triple()])
        .current_dir(root)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "cargo tree: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut versions: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some(name)).then(|| words.next().unwrap_or_default().to_string())
        })
        .collect();
    versions.sort();
    versions.dedup();
    versions
}

#[test]
fn one_http_stack_and_one_tls_stack() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for name in ["hyper", "rustls", "h2", "http"] {
        let versions = versions_in_tree(root, name);
        assert_eq!(
            versions.len(),
            1,
            "{name} in the dependency tree: {versions:?}"
        );
    }
}

/// The most a release binary may weigh; the release job holds every asset to the same limit.
const RELEASE_BINARY_LIMIT: u64 = 12 * 1024 * 1024;

/// The executable `cargo build --message-format=json` reports for the binary target `name`.
fn built_executable(messages: &[u8], name: &str) -> PathBuf {
    String::from_utf8_lossy(messages)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| {
            message["reason"] == "compiler-artifact" && message["target"]["name"] == name
        })
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .unwrap_or_else(|| panic!("cargo build reported no executable for {name}"))
}

#[test]
fn the_release_binary_fits_the_size_limit() {
    // The target directory of this test run; `scripts/test` builds the release binary before the
    // suite, so here the build is fresh and only checked.
    let output = Command::new(env!("CARGO"))
        .args(["build", "--release", "--locked", "--bin", "ecr-fanout"])
        .args(["--message-format", "json-render-diagnostics"])
        .current_dir(repo_root())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "cargo build --release --locked --bin ecr-fanout: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let binary = built_executable(&output.stdout, "ecr-fanout");
    let size = fs::metadata(&binary).unwrap().len();
    let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
    assert!(
        size <= RELEASE_BINARY_LIMIT,
        "{} is {size} bytes ({:.2} MiB), over the limit of {RELEASE_BINARY_LIMIT} bytes ({:.0} MiB)",
        binary.display(),
        mib(size),
        mib(RELEASE_BINARY_LIMIT)
    );
}
