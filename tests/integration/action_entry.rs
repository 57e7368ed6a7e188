//! The composite action's entry script (`scripts/action-entry.sh`): shellcheck-clean, and run
//! against a fake action checkout and a fake release directory (`file://`, via
//! `ECR_FANOUT_RELEASE_BASE_URL`): a binary whose SHA-256 matches the checksum file runs and is
//! cached; a tampered one is refused, not run and not cached; a malformed checksum is refused
//! before any download; a branch ref builds from source with `cargo install --locked --path` (a
//! fake `cargo` records the call), and a release ref without a checksum does too, with a
//! warning. With them, the release's tagging script (`.github/scripts/tag-release.sh`) in a
//! fake action repository: the version tag, the major tag and the SHA they point at carry the
//! checksums, so the entry script run from that SHA verifies and runs the release binary.

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
    for script in ["scripts/action-entry.sh", ".github/scripts/tag-release.sh"] {
        let script = repo_root().join(script);
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

#[tokio::test]
async fn malformed_checksum_is_refused_before_any_download() {
    let fake = FakeAction::new(FAKE_BINARY.as_bytes(), FAKE_BINARY.as_bytes());
    std::fs::write(
        fake.path("action/scripts/release-checksums.txt"),
        format!("deadbeef  v{VERSION}/{ASSET}\n"),
    )
    .unwrap();
    let out = fake.run_entry(&format!("v{VERSION}")).await;
    assert_eq!(out.status, 1, "{out}");
    assert!(out.stderr.contains("not a SHA-256"), "{out}");
    assert!(!out.stderr.contains("downloading"), "{out}");
    assert!(!out.stdout.contains("release ecr-fanout"), "{out}");
    assert!(!fake.cached_binary().exists());
}

#[tokio::test]
async fn release_ref_without_checksum_warns_and_builds_from_source() {
    let fake = FakeAction::new(FAKE_BINARY.as_bytes(), FAKE_BINARY.as_bytes());
    std::fs::copy(
        repo_root().join("scripts/release-checksums.txt"),
        fake.path("action/scripts/release-checksums.txt"),
    )
    .unwrap();
    fake.fake_cargo();
    for action_ref in [
        format!("v{VERSION}"),
        "0123456789abcdef0123456789abcdef01234567".into(),
    ] {
        let out = fake.run_entry(&action_ref).await;
        assert!(out.success(), "{out}");
        assert_eq!(out.stdout, "source ecr-fanout action\n", "{out}");
        assert!(
            out.stderr.contains(&format!(
                "::warning title=ecr-fanout action::ref '{action_ref}' names no released binary"
            )),
            "{out}"
        );
        assert!(!out.stderr.contains("downloading"), "{out}");
    }
}

/// `git ARGS` in `dir` with a fixed identity; panics on failure, returns stdout trimmed.
fn git_in(dir: &Path, args: &[&str]) -> String {
    let out = git_command(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn git_command(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir);
    isolated_git(&mut cmd);
    cmd
}

/// Git in `cmd` sees only the repository it runs in, with a fixed identity: no host
/// configuration, no inherited repository variables.
fn isolated_git(cmd: &mut Command) {
    for key in ["GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"] {
        cmd.env_remove(key);
    }
    cmd.env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "release test")
        .env("GIT_AUTHOR_EMAIL", "release@example.com")
        .env("GIT_COMMITTER_NAME", "release test")
        .env("GIT_COMMITTER_EMAIL", "release@example.com");
}

/// Runs `.github/scripts/tag-release.sh VERSION SUMS` in `dir`.
async fn tag_release(dir: &Path, version: &str, sums: &Path) -> RunOutput {
    let mut cmd = Command::new("bash");
    cmd.arg(repo_root().join(".github/scripts/tag-release.sh"))
        .arg(version)
        .arg(sums)
        .current_dir(dir);
    isolated_git(&mut cmd);
    run(cmd).await
}

/// The fake action as a git repository at the commit a release is built from (C): Cargo.toml
/// at `VERSION` and the checksum file as the default branch keeps it (comments only). Returns
/// (C, the SHA256SUMS file the release job would write for `binary`).
fn release_repository(fake: &FakeAction, binary: &[u8]) -> (String, PathBuf) {
    let action = fake.path("action");
    std::fs::copy(
        repo_root().join("scripts/release-checksums.txt"),
        action.join("scripts/release-checksums.txt"),
    )
    .unwrap();
    git_in(&action, &["init", "--quiet", "--initial-branch=main"]);
    git_in(&action, &["add", "--all"]);
    git_in(
        &action,
        &["commit", "--quiet", "-m", "the release's source"],
    );
    let built_from = git_in(&action, &["rev-parse", "HEAD"]);
    let sums = fake.path("SHA256SUMS");
    std::fs::write(
        &sums,
        format!(
            "{}  {ASSET}\n{}  ecr-fanout-{ASSET}.cdx.json\n{}  ecr-fanout-aarch64-unknown-linux-musl\n",
            hex::encode(Sha256::digest(binary)),
            "1".repeat(64),
            "2".repeat(64),
        ),
    )
    .unwrap();
    (built_from, sums)
}

#[tokio::test]
async fn tagged_release_commit_holds_its_checksums_and_its_sha_runs_the_verified_binary() {
    let fake = FakeAction::new(FAKE_BINARY.as_bytes(), FAKE_BINARY.as_bytes());
    let action = fake.path("action");
    let (built_from, sums) = release_repository(&fake, FAKE_BINARY.as_bytes());

    let out = tag_release(&action, VERSION, &sums).await;
    assert!(out.success(), "{out}");
    let tagged = out.stdout.trim().to_string();
    assert_eq!(
        git_in(&action, &["rev-parse", &format!("v{VERSION}^{{commit}}")]),
        tagged
    );
    assert_eq!(git_in(&action, &["rev-parse", "v9^{commit}"]), tagged);
    assert_eq!(
        git_in(&action, &["rev-parse", &format!("{tagged}^")]),
        built_from,
        "the tagged commit is the built commit plus the checksums"
    );
    assert_eq!(
        git_in(&action, &["cat-file", "-t", &format!("v{VERSION}")]),
        "tag",
        "the version tag is annotated"
    );
    assert_eq!(
        git_in(&action, &["diff", "--name-only", &built_from, &tagged]),
        "scripts/release-checksums.txt"
    );
    let recorded = git_in(
        &action,
        &["show", &format!("{tagged}:scripts/release-checksums.txt")],
    );
    let sha = hex::encode(Sha256::digest(FAKE_BINARY.as_bytes()));
    assert!(
        recorded.contains(&format!("\n{sha}  v{VERSION}/{ASSET}\n")),
        "{recorded}"
    );
    assert!(
        recorded.ends_with(&format!(
            "{}  v{VERSION}/ecr-fanout-aarch64-unknown-linux-musl",
            "2".repeat(64)
        )),
        "{recorded}"
    );
    assert!(!recorded.contains("cdx.json"), "only binaries: {recorded}");

    // The workflow pins the tagged commit by SHA (as it would the tags): the download is
    // verified and runs; the tags name the same commit, so they do too.
    let out = fake.run_entry(&tagged).await;
    assert!(out.success(), "{out}");
    assert!(out.stderr.contains("verified sha256"), "{out}");
    assert_eq!(out.stdout, "release ecr-fanout action tags=v1\n", "{out}");

    // A second run for the same version refuses: the tag exists and the lines are recorded.
    let again = tag_release(&action, VERSION, &sums).await;
    assert_eq!(again.status, 1, "{again}");
    assert!(again.stderr.contains("already exists"), "{again}");
}

#[tokio::test]
async fn tag_script_refuses_a_wrong_version_or_missing_binary_and_keeps_the_major_on_the_newest() {
    let fake = FakeAction::new(FAKE_BINARY.as_bytes(), FAKE_BINARY.as_bytes());
    let action = fake.path("action");
    let (built_from, sums) = release_repository(&fake, FAKE_BINARY.as_bytes());

    let wrong = tag_release(&action, "9.8.8", &sums).await;
    assert_eq!(wrong.status, 1, "{wrong}");
    assert!(
        wrong
            .stderr
            .contains("Cargo.toml says version 9.8.7, not 9.8.8"),
        "{wrong}"
    );
    let one_binary = fake.path("ONE-SUM");
    std::fs::write(
        &one_binary,
        format!("{}  {ASSET}\n", hex::encode(Sha256::digest(FAKE_BINARY))),
    )
    .unwrap();
    let missing = tag_release(&action, VERSION, &one_binary).await;
    assert_eq!(missing.status, 1, "{missing}");
    assert!(
        missing
            .stderr
            .contains("has no SHA-256 for ecr-fanout-aarch64-unknown-linux-musl"),
        "{missing}"
    );
    assert_eq!(
        git_in(&action, &["rev-parse", "HEAD"]),
        built_from,
        "nothing committed"
    );
    assert_eq!(git_in(&action, &["tag", "--list"]), "", "nothing tagged");

    // 9.8.7 released; then a patch of an older line (9.8.6) leaves v9 on 9.8.7.
    assert!(tag_release(&action, VERSION, &sums).await.success());
    let newest = git_in(&action, &["rev-parse", "v9^{commit}"]);
    git_in(&action, &["checkout", "--quiet", &built_from]);
    let manifest = action.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, text.replace(VERSION, "9.8.6")).unwrap();
    git_in(&action, &["commit", "--quiet", "--all", "-m", "9.8.6"]);
    let older = tag_release(&action, "9.8.6", &sums).await;
    assert!(older.success(), "{older}");
    assert!(
        older.stderr.contains("v9 stays at the newer version 9.8.7"),
        "{older}"
    );
    assert_eq!(git_in(&action, &["rev-parse", "v9^{commit}"]), newest);
    assert_eq!(
        git_in(&action, &["rev-parse", "v9.8.6^{commit}"]),
        older.stdout.trim()
    );
}
