//! The `hint:` added when no AWS credentials were found, fitted to the CI it runs in. On
//! GitHub Actions the runner sets `ACTIONS_ID_TOKEN_REQUEST_URL` only when the job has
//! `permissions: id-token: write`, so its absence tells a missing permission apart from a
//! missing aws-actions/configure-aws-credentials step.
//!
//! The hint is fixed once at start-up from the CI environment ([`set_environment`]).

use std::sync::OnceLock;

use crate::config::ci_environment::CiEnvironment;

/// The hint for the CI environment read at start-up. Process-wide, set once, rather than a
/// parameter: the engine (`fanout`) builds the ECR clients and asks for credentials without
/// handing an environment on, and every SDK error those clients describe may need the hint.
static HINT: OnceLock<String> = OnceLock::new();

/// Fixes the hint for `ci` (empty values unset); called once at start-up, before any ECR
/// call. A later call changes nothing.
pub fn set_environment(ci: &CiEnvironment) {
    let _ = HINT.set(hint_for(&|name| ci.non_empty(name)));
}

/// The hint fixed at start-up; without one (the library used without `crate::run`), the
/// hint for no CI at all.
pub fn missing_credentials_hint() -> String {
    HINT.get().cloned().unwrap_or_else(|| hint_for(&|_| None))
}

/// The hint for an environment given as a lookup (tests pass their own).
pub fn hint_for(env: &dyn Fn(&str) -> Option<String>) -> String {
    let is_true = |name: &str| env(name).is_some_and(|v| v == "true");
    if is_true("GITHUB_ACTIONS") {
        if env("ACTIONS_ID_TOKEN_REQUEST_URL").is_none() {
            "hint: this GitHub Actions job cannot request an OIDC token; add `permissions: \
             id-token: write` (with `contents: read`) to the job, then \
             aws-actions/configure-aws-credentials with `role-to-assume` before this step"
                .to_string()
        } else {
            "hint: the job may request an OIDC token but no step configured AWS credentials; \
             add aws-actions/configure-aws-credentials with `role-to-assume` and `aws-region` \
             before this step"
                .to_string()
        }
    } else if is_true("GITLAB_CI") {
        "hint: in GitLab CI, declare `id_tokens:` and set AWS_ROLE_ARN and \
         AWS_WEB_IDENTITY_TOKEN_FILE, or set masked CI/CD variables AWS_ACCESS_KEY_ID and \
         AWS_SECRET_ACCESS_KEY"
            .to_string()
    } else if env("JENKINS_URL").is_some() {
        "hint: in Jenkins, bind AWS credentials around the step (withCredentials or withAWS), \
         or give the agent an instance role"
            .to_string()
    } else {
        "hint: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run where an \
         instance or task role is available; in GitHub Actions use \
         aws-actions/configure-aws-credentials with `permissions: id-token: write`"
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hint(vars: &[(&str, &str)]) -> String {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        hint_for(&move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn github_without_id_token_permission_says_so() {
        let text = hint(&[("GITHUB_ACTIONS", "true")]);
        assert!(text.contains("cannot request an OIDC token"), "{text}");
        assert!(text.contains("id-token: write"), "{text}");
    }

    #[test]
    fn github_with_id_token_permission_asks_for_the_credentials_step() {
        let text = hint(&[
            ("GITHUB_ACTIONS", "true"),
            ("ACTIONS_ID_TOKEN_REQUEST_URL", "https://token.example/"),
        ]);
        assert!(
            text.contains("no step configured AWS credentials"),
            "{text}"
        );
        assert!(!text.contains("cannot request"), "{text}");
    }

    #[test]
    fn the_ci_environment_feeds_the_hint_empty_values_unset() {
        let ci = CiEnvironment::from_vars([
            ("GITHUB_ACTIONS", "true"),
            ("ACTIONS_ID_TOKEN_REQUEST_URL", ""),
        ]);
        let text = hint_for(&|name| ci.non_empty(name));
        assert!(text.contains("cannot request an OIDC token"), "{text}");
    }

    #[test]
    fn other_places_get_their_own_hint() {
        assert!(hint(&[("GITLAB_CI", "true")]).contains("id_tokens"));
        assert!(hint(&[("JENKINS_URL", "http://ci/")]).contains("withCredentials"));
        assert!(hint(&[]).contains("AWS_PROFILE"));
    }
}
