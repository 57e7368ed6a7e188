//! The composite action's entry script (`scripts/action-entry.sh`): shellcheck-clean, and run
//! against a fake action checkout and a fake release directory (`file://`, via
//! `ECR_FANOUT_RELEASE_BASE_URL`): a binary whose SHA-256 matches the checksum file runs and is
//! cached; a tampered one is refused, not run and not cached; a branch ref builds from source
//! with `cargo install --locked --path` (a fake `cargo` records the call).

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest as _, Sha256};

use crate::action_support::repo_root;
use crate::harness::{RunOutput, TestEnv, run};

const VERSION: &str = "9.8.7";
const ASSET: &str = "ecr-fanout-x86_64-unknown-linux-musl";
/// Stands in for the release binary: says who it is, its arguments and one input variable.
const FAKE_BINARY: &str = "#!/bin/sh\necho \"release ecr-fanout $* tags=$INPUT_TAGS\"\n";

#[tokio::test]
async fn entry_script_passes_shellcheck() {
    let script = repo_root().join("scripts/action-entry.sh");
    let out = Command::new("shellcheck")
        .arg("--severity=style")
        .arg(&script)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "shellcheck is not installed ({e}); run scripts/test or apt-get install shellcheck"
            )
        });
    assert!(
        out.status.success(),
        "shellcheck {}:\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stdout)
    );
}

/// A fake action checkout (Cargo.toml version and checksum file) and release directory.
struct FakeAction {
    dir: tempfile::TempDir,
}

impl FakeAction {
    /// The checksum file records `recorded`; the release directory serves `served`.
    fn new(recorded: &[u8], served: &[u8]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let action = dir.path().join("action");
        std::fs::create_dir_all(action.join("scripts")).unwrap();
        std::fs::write(
            action.join("Cargo.toml"),
            format!("[package]\nname = \"ecr-fanout\"\nversion = \"{VERSION}\"\n"),
        )
        .unwrap();
        let sha = hex::encode(Sha256::digest(recorded));
        std::fs::write(
            action.join("scripts/release-checksums.txt"),
            format!("# comment line\n{sha}  v{VERSION}/{ASSET}\n"),
        )
        .unwrap();
        let release = dir.path().join(format!("release/v{VERSION}"));
        std::fs::create_dir_all(&release).unwrap();
        std::fs::write(release.join(ASSET), served).unwrap();
        std::fs::create_dir_all(dir.path().join("bin")).unwrap();
        std::fs::create_dir_all(dir.path().join("tool-cache")).unwrap();
        std::fs::create_dir_all(dir.path().join("temp")).unwrap();
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn cached_binary(&self) -> PathBuf {
        self.path(&format!("tool-cache/ecr-fanout/{VERSION}/x64/ecr-fanout"))
    }

    /// Replaces `cargo` on PATH with a recorder that "builds" a binary into `--root`.
    fn fake_cargo(&self) {
        let cargo = self.path("bin/cargo");
        let script = format!(
            "#!/bin/sh\necho \"$*\" > '{}'\nwhile [ \"$1\" != --root ]; do shift; done\n\
             mkdir -p \"$2/bin\"\nprintf '#!/bin/sh\\necho source ecr-fanout \"$*\"\\n' > \"$2/bin/ecr-fanout\"\n\
             chmod +x \"$2/bin/ecr-fanout\"\n",
            self.path("cargo-args").display()
        );
        std::fs::write(&cargo, script).unwrap();
        std::fs::set_permissions(&cargo, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// Runs the entry script as action.yml's step would, with `ref` as the action ref.
    async fn run_entry(&self, action_ref: &str) -> RunOutput {
        let mut cmd = Command::new("bash");
        cmd.arg(repo_root().join("scripts/action-entry.sh"));
        for key in TestEnv::vars_to_remove() {
            cmd.env_remove(key);
        }
        let path = format!(
            "{}:{}",
            self.path("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        cmd.env("PATH", path)
            .env("GITHUB_ACTION_PATH", self.path("action"))
            .env("ECR_FANOUT_ACTION_REF", action_ref)
            .env("ECR_FANOUT_ACTION_REPOSITORY", "example/ecr-fanout")
            .env(
                "ECR_FANOUT_RELEASE_BASE_URL",
                file_url(&self.path("release")),
            )
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64")
            .env("RUNNER_TOOL_CACHE", self.path("tool-cache"))
            .env("RUNNER_TEMP", self.path("temp"))
            .env("INPUT_TAGS", "v1")
            .current_dir(self.dir.path());
        run(cmd).await
    }
}

fn file_url(path: &Path) -> String {
    format!("file://{}", path.display())
}

#[tokio::test]
async fn verified_release_binary_runs_and_is_cached() {
    let fake = FakeAction::new(FAKE_BINARY.as_bytes(), FAKE_BINARY.as_bytes());
    let out = fake.run_entry(&format!("v{VERSION}")).await;
    assert!(out.success(), "{out}");
    assert_eq!(out.stdout, "release ecr-fanout action tags=v1\n", "{out}");
    assert_eq!(
        std::fs::read(fake.cached_binary()).unwrap(),
        FAKE_BINARY.as_bytes()
    );

    // Cached: a major-version ref runs it without the release directory.
    std::fs::remove_dir_all(fake.path("release")).unwrap();
    let again = fake.run_entry("v9").await;
    assert!(again.success(), "{again}");
    assert!(again.stderr.contains("from the tool cache"), "{again}");
    assert_eq!(again.stdout, "release ecr-fanout action tags=v1\n");
}

#[tokio::test]
async fn tampered_release_binary_is_refused_and_not_cached() {
    let tampered = FAKE_BINARY.replace("release", "evil");
    let fake = FakeAction::new(FAKE_BINARY.as_bytes(), tampered.as_bytes());
    let out = fake.run_entry(&format!("v{VERSION}")).await;
    assert_eq!(out.status, 1, "{out}");
    assert!(out.stderr.contains("checksum mismatch"), "{out}");
    assert!(
        out.stderr.contains("::error title=ecr-fanout action::"),
        "{out}"
    );
    assert!(
        !out.stdout.contains("evil"),
        "the tampered binary ran: {out}"
    );
    assert!(!fake.cached_binary().exists());
    assert!(
        !fake
            .path(&format!("tool-cache/ecr-fanout/{VERSION}/x64.complete"))
            .exists()
    );
}

#[tokio::test]
async fn tampered_cache_is_replaced_by_a_verified_download() {
    let fake = FakeAction::new(FAKE_BINARY.as_bytes(), FAKE_BINARY.as_bytes());
    assert!(fake.run_entry(&format!("v{VERSION}")).await.success());
    std::fs::write(fake.cached_binary(), "#!/bin/sh\necho evil\n").unwrap();
    let out = fake.run_entry(&format!("v{VERSION}")).await;
    assert!(out.success(), "{out}");
    assert_eq!(out.stdout, "release ecr-fanout action tags=v1\n", "{out}");
}

#[tokio::test]
async fn branch_ref_builds_from_the_action_source() {
    let fake = FakeAction::new(FAKE_BINARY.as_bytes(), FAKE_BINARY.as_bytes());
    fake.fake_cargo();
    let out = fake.run_entry("main").await;
    assert!(out.success(), "{out}");
    assert_eq!(out.stdout, "source ecr-fanout action\n", "{out}");
    let args = std::fs::read_to_string(fake.path("cargo-args")).unwrap();
    assert_eq!(
        args.trim(),
        format!(
            "install --locked --path {} --root {}",
            fake.path("action").display(),
            fake.path("temp/ecr-fanout-source").display()
        )
    );
    assert!(!fake.cached_binary().exists());
}
