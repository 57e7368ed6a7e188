//! The CI environment: the variables the runner, the CI system and the builders set that steer a
//! run, read once at start-up ([`CiEnvironment::from_process`], called by `main`) into one
//! value that is handed down to whatever needs a part of it. Nothing else reads these
//! variables; the action's own `INPUT_*` variables are [`super::action_env`]'s.
//!
//! Values are kept as they were set; each accessor applies the rule its user has always
//! applied (empty means unset for paths and for the credentials hint, blank means unset for
//! the build's variables).

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

/// Every variable the program reads, and only these.
pub const NAMES: &[&str] = &[
    // GitHub Actions: workflow commands, outputs, step summary, rendered files, OIDC.
    "GITHUB_ACTIONS",
    "GITHUB_OUTPUT",
    "GITHUB_STEP_SUMMARY",
    "RUNNER_TEMP",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
    // Build metadata: GitHub, GitLab, Jenkins, reproducible dates.
    "GITHUB_SERVER_URL",
    "GITHUB_REPOSITORY",
    "GITHUB_SHA",
    "CI_COMMIT_SHA",
    "CI_PROJECT_URL",
    "GIT_COMMIT",
    "GIT_URL",
    "SOURCE_DATE_EPOCH",
    // Other CI systems, for the missing-credentials hint.
    "GITLAB_CI",
    "JENKINS_URL",
    // The run's id, for the session name of assumed roles and the lock's holder.
    "GITHUB_RUN_ID",
    "GITHUB_RUN_ATTEMPT",
    "CI_PIPELINE_ID",
    "BUILD_TAG",
    // Docker's credentials, for images read from a registry.
    "DOCKER_CONFIG",
    "HOME",
    // Builders.
    "DOCKER_BUILDKIT",
    "STORAGE_DRIVER",
    "BUILDAH_ISOLATION",
    "REGISTRY_AUTH_FILE",
];

/// A snapshot of the variables in [`NAMES`], as they were set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CiEnvironment {
    vars: BTreeMap<&'static str, OsString>,
}

impl CiEnvironment {
    /// Reads this process's environment. Call it once, at start-up.
    pub fn from_process() -> Self {
        Self::from_vars(std::env::vars_os())
    }

    /// The snapshot of `(name, value)` pairs (tests pass their own); names outside [`NAMES`]
    /// are dropped, and of a name given twice the first value counts, as `getenv` has it.
    pub fn from_vars<K, V>(vars: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        let mut kept = BTreeMap::new();
        for (name, value) in vars {
            if let Some(known) = NAMES.iter().find(|known| same_name(name.as_ref(), known)) {
                kept.entry(*known)
                    .or_insert_with(|| value.as_ref().to_os_string());
            }
        }
        Self { vars: kept }
    }

    /// The value of `name` when it is set, UTF-8 and not empty.
    pub fn non_empty(&self, name: &str) -> Option<String> {
        self.utf8(name).filter(|v| !v.is_empty())
    }

    /// The value of `name` when it is set, UTF-8 and not blank (white space only); not
    /// trimmed.
    pub fn non_blank(&self, name: &str) -> Option<String> {
        self.utf8(name).filter(|v| !v.trim().is_empty())
    }

    /// Whether this process runs as a GitHub Actions step (`GITHUB_ACTIONS=true`).
    pub fn github_actions(&self) -> bool {
        self.utf8("GITHUB_ACTIONS").is_some_and(|v| v == "true")
    }

    /// `GITHUB_OUTPUT`: the runner's file for step outputs.
    pub fn github_output(&self) -> Option<PathBuf> {
        self.path("GITHUB_OUTPUT")
    }

    /// `GITHUB_STEP_SUMMARY`: the runner's file for the step summary.
    pub fn github_step_summary(&self) -> Option<PathBuf> {
        self.path("GITHUB_STEP_SUMMARY")
    }

    /// `RUNNER_TEMP`: the runner's temporary directory.
    pub fn runner_temp(&self) -> Option<PathBuf> {
        self.path("RUNNER_TEMP")
    }

    /// Whether `DOCKER_BUILDKIT=0` turns BuildKit off (white space around the `0` allowed).
    pub fn docker_buildkit_disabled(&self) -> bool {
        self.utf8("DOCKER_BUILDKIT")
            .is_some_and(|v| v.trim() == "0")
    }

    /// The CI run's id: `GITHUB_RUN_ID` (with `-` and `GITHUB_RUN_ATTEMPT` when set),
    /// `CI_PIPELINE_ID` or `BUILD_TAG`, else `host`-`pid`; trimmed. It names the holder of the
    /// lease lock.
    pub fn run_id(&self, host: &str, pid: u32) -> String {
        if let Some(run) = self.non_blank("GITHUB_RUN_ID") {
            return match self.non_blank("GITHUB_RUN_ATTEMPT") {
                Some(attempt) => format!("{}-{}", run.trim(), attempt.trim()),
                None => run.trim().to_string(),
            };
        }
        ["CI_PIPELINE_ID", "BUILD_TAG"]
            .iter()
            .find_map(|name| self.non_blank(name))
            .map_or_else(|| format!("{host}-{pid}"), |run| run.trim().to_string())
    }

    /// The session name for assumed roles: `ecr-fanout-` and the [run's id](Self::run_id),
    /// cut to STS's 64 characters of `[A-Za-z0-9+=,.@-]`.
    pub fn role_session_name(&self, host: &str, pid: u32) -> String {
        let cleaned: String = format!("ecr-fanout-{}", self.run_id(host, pid))
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "+=,.@-".contains(c) {
                    c
                } else {
                    '-'
                }
            })
            .take(64)
            .collect();
        cleaned
    }

    /// Docker's `config.json`: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
    pub fn docker_config_file(&self) -> Option<PathBuf> {
        match self.path("DOCKER_CONFIG") {
            Some(dir) => Some(dir.join("config.json")),
            None => self
                .path("HOME")
                .map(|home| home.join(".docker").join("config.json")),
        }
    }

    /// The auth file buildah and podman read: `REGISTRY_AUTH_FILE`, else Docker's
    /// `config.json` (their fallback, and the file `docker login` writes).
    pub fn containers_auth_file(&self) -> Option<PathBuf> {
        self.path("REGISTRY_AUTH_FILE")
            .or_else(|| self.docker_config_file())
    }

    /// A non-empty value of `name` as a path, whatever its bytes.
    fn path(&self, name: &str) -> Option<PathBuf> {
        self.raw(name).filter(|v| !v.is_empty()).map(PathBuf::from)
    }

    fn utf8(&self, name: &str) -> Option<String> {
        self.raw(name).and_then(|v| v.to_str()).map(str::to_owned)
    }

    fn raw(&self, name: &str) -> Option<&OsStr> {
        debug_assert!(
            NAMES.contains(&name),
            "{name} is not in ci_environment::NAMES: add it there"
        );
        self.vars.get(name).map(OsString::as_os_str)
    }
}

/// Whether the variable `name` is `known`: exactly on Unix, ignoring ASCII case where the
/// platform's variable names do (Windows).
fn same_name(name: &OsStr, known: &str) -> bool {
    if cfg!(windows) {
        name.eq_ignore_ascii_case(known)
    } else {
        name == known
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_config_is_docker_config_dir_else_home() {
        let both = env(&[("DOCKER_CONFIG", "/etc/docker-ci"), ("HOME", "/home/ci")]);
        assert_eq!(
            both.docker_config_file(),
            Some(PathBuf::from("/etc/docker-ci/config.json"))
        );
        let home = env(&[("HOME", "/home/ci")]);
        assert_eq!(
            home.docker_config_file(),
            Some(PathBuf::from("/home/ci/.docker/config.json"))
        );
        assert_eq!(env(&[]).docker_config_file(), None);
    }

    #[test]
    fn the_containers_auth_file_is_registry_auth_file_else_dockers() {
        let both = env(&[
            ("REGISTRY_AUTH_FILE", "/run/auth.json"),
            ("HOME", "/home/ci"),
        ]);
        assert_eq!(
            both.containers_auth_file(),
            Some(PathBuf::from("/run/auth.json"))
        );
        let home = env(&[("HOME", "/home/ci")]);
        assert_eq!(
            home.containers_auth_file(),
            Some(PathBuf::from("/home/ci/.docker/config.json"))
        );
    }

    #[test]
    fn the_role_session_name_is_the_ci_run_else_host_and_pid() {
        let github = env(&[("GITHUB_RUN_ID", "1234567"), ("BUILD_TAG", "jenkins-x-9")]);
        assert_eq!(github.role_session_name("h", 7), "ecr-fanout-1234567");
        let jenkins = env(&[("BUILD_TAG", "jenkins-folder/job name-9")]);
        assert_eq!(
            jenkins.role_session_name("h", 7),
            "ecr-fanout-jenkins-folder-job-name-9"
        );
        let laptop = env(&[("CI_PIPELINE_ID", " ")]);
        assert_eq!(
            laptop.role_session_name("box.local", 42),
            "ecr-fanout-box.local-42"
        );
        let tag = "x".repeat(100);
        let long = env(&[("BUILD_TAG", tag.as_str())]);
        assert_eq!(long.role_session_name("h", 1).len(), 64);
    }

    #[test]
    fn the_run_id_is_the_github_run_and_attempt_else_the_pipeline_else_host_and_pid() {
        let github = env(&[
            ("GITHUB_RUN_ID", "1234567"),
            ("GITHUB_RUN_ATTEMPT", "2"),
            ("CI_PIPELINE_ID", "99"),
        ]);
        assert_eq!(github.run_id("h", 7), "1234567-2");
        assert_eq!(github.role_session_name("h", 7), "ecr-fanout-1234567-2");
        assert_eq!(env(&[("GITHUB_RUN_ID", "5")]).run_id("h", 7), "5");
        assert_eq!(env(&[("CI_PIPELINE_ID", " 99 ")]).run_id("h", 7), "99");
        assert_eq!(
            env(&[("BUILD_TAG", "jenkins-web-9")]).run_id("h", 7),
            "jenkins-web-9"
        );
        assert_eq!(
            env(&[("GITHUB_RUN_ATTEMPT", "3")]).run_id("box", 42),
            "box-42"
        );
    }

    fn env(vars: &[(&str, &str)]) -> CiEnvironment {
        CiEnvironment::from_vars(vars.iter().copied())
    }

    #[test]
    fn keeps_only_the_known_variables() {
        let ci = env(&[("GITHUB_SHA", "abc"), ("USER", "root"), ("PATH", "/bin")]);
        assert_eq!(ci.vars.len(), 1);
        assert_eq!(ci.non_blank("GITHUB_SHA").as_deref(), Some("abc"));
    }

    #[test]
    fn unset_empty_and_blank_values() {
        let ci = env(&[
            ("GITHUB_SHA", ""),
            ("GIT_COMMIT", "  "),
            ("JENKINS_URL", " "),
        ]);
        assert_eq!(ci.non_empty("GITHUB_SHA"), None);
        assert_eq!(ci.non_blank("GITHUB_SHA"), None);
        assert_eq!(ci.non_blank("GIT_COMMIT"), None);
        // Blank is set for the credentials hint, which only ever treated empty as unset.
        assert_eq!(ci.non_empty("JENKINS_URL").as_deref(), Some(" "));
        assert_eq!(ci.non_empty("CI_COMMIT_SHA"), None);
        // Values are not trimmed.
        let ci = env(&[("STORAGE_DRIVER", " vfs ")]);
        assert_eq!(ci.non_blank("STORAGE_DRIVER").as_deref(), Some(" vfs "));
    }

    /// `flag` is on for each value of `on` given to `name`, off for each of `off` and unset.
    fn assert_switch(name: &str, flag: fn(&CiEnvironment) -> bool, on: &[&str], off: &[&str]) {
        for value in on {
            assert!(flag(&env(&[(name, value)])), "{name}={value:?}");
        }
        for value in off {
            assert!(!flag(&env(&[(name, value)])), "{name}={value:?}");
        }
        assert!(!flag(&env(&[])), "{name} unset");
    }

    #[test]
    fn github_actions_only_when_exactly_true() {
        let off = ["", "1", "TRUE", " true"];
        assert_switch(
            "GITHUB_ACTIONS",
            CiEnvironment::github_actions,
            &["true"],
            &off,
        );
    }

    #[test]
    fn buildkit_is_off_only_for_zero() {
        let flag = CiEnvironment::docker_buildkit_disabled;
        assert_switch("DOCKER_BUILDKIT", flag, &["0", " 0\n"], &["", "1", "false"]);
    }

    #[test]
    fn runner_paths_need_a_non_empty_value() {
        let ci = env(&[
            ("GITHUB_OUTPUT", "/runner/out"),
            ("GITHUB_STEP_SUMMARY", ""),
            ("RUNNER_TEMP", " "),
        ]);
        assert_eq!(ci.github_output(), Some(PathBuf::from("/runner/out")));
        assert_eq!(ci.github_step_summary(), None);
        assert_eq!(ci.runner_temp(), Some(PathBuf::from(" ")));
        assert_eq!(env(&[]).runner_temp(), None);
    }

    #[test]
    fn the_first_of_a_repeated_name_counts() {
        let ci = env(&[("GITHUB_SHA", "first"), ("GITHUB_SHA", "second")]);
        assert_eq!(ci.non_blank("GITHUB_SHA").as_deref(), Some("first"));
    }

    #[cfg(unix)]
    #[test]
    fn paths_may_be_any_bytes_strings_must_be_utf8() {
        use std::os::unix::ffi::OsStrExt;
        let not_utf8 = OsStr::from_bytes(b"/tmp/\xff");
        let ci = CiEnvironment::from_vars([
            (OsStr::new("RUNNER_TEMP"), not_utf8),
            (OsStr::new("GITHUB_SHA"), not_utf8),
        ]);
        assert_eq!(ci.runner_temp(), Some(PathBuf::from(not_utf8)));
        assert_eq!(ci.non_blank("GITHUB_SHA"), None);
    }

    #[test]
    #[should_panic(expected = "not in ci_environment::NAMES")]
    #[cfg(debug_assertions)]
    fn an_unlisted_name_is_a_bug() {
        let _ = env(&[]).non_empty("PATH");
    }
}
