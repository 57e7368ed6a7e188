//! ECR managed signing at plan time: each destination's registry signing configuration, read
//! while planning, and the profiles whose rules match the repository (the run then waits for
//! their signatures: [`super::signing_wait`]). A configuration that cannot be read (denied,
//! another account's registry, an endpoint without the API) is a plan of its own: warned
//! about, not waited for.

use super::session::RegionSession;
use crate::config::tag_mutability::wildcard_matches;
use crate::ecr::{SigningConfigRead, SigningRule};
use crate::report::{SigningReport, SigningState};

/// What a destination's registry does about signing the image.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum SigningPlan {
    /// No rule signs the repository (or nothing could be asked: a dry run without AWS).
    #[default]
    Off,
    /// These profiles sign every image pushed to the repository.
    Signs(Vec<String>),
    /// The configuration could not be read, and why.
    Unknown(String),
}

impl SigningPlan {
    /// What the report says before any wait: nothing when signing is off.
    pub fn report(&self) -> Option<SigningReport> {
        match self {
            Self::Off => None,
            Self::Signs(profiles) => Some(SigningReport {
                state: SigningState::Planned,
                profiles: profiles.clone(),
                detail: None,
            }),
            Self::Unknown(why) => Some(SigningReport {
                state: SigningState::Unknown,
                profiles: Vec::new(),
                detail: Some(why.clone()),
            }),
        }
    }
}

/// The plan from what `GetSigningConfiguration` answered, for `session`'s repository. The
/// API reads the caller's own registry: a destination in another account (`registry-id`
/// without a role into that account) cannot be told.
pub fn plan_signing(read: SigningConfigRead, session: &RegionSession) -> SigningPlan {
    let caller = session
        .login
        .as_ref()
        .and_then(|l| l.proxy_host.split('.').next())
        .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()));
    if let (Some(wanted), Some(caller)) = (session.target.registry_id.as_deref(), caller)
        && wanted != caller
    {
        return SigningPlan::Unknown(format!(
            "the signing configuration of account {wanted}'s registry can be read only with \
             that account's credentials (role-arn); these are account {caller}'s"
        ));
    }
    match read {
        SigningConfigRead::NotSet => SigningPlan::Off,
        SigningConfigRead::Unreadable(why) => SigningPlan::Unknown(why),
        SigningConfigRead::Rules(rules) => {
            let profiles = profiles_signing(&rules, &session.target.repository);
            if profiles.is_empty() {
                SigningPlan::Off
            } else {
                SigningPlan::Signs(profiles)
            }
        }
    }
}

/// The profiles of the rules that sign `repository` (a rule without filters signs every
/// repository; with filters, any match), each once, in rule order.
fn profiles_signing(rules: &[SigningRule], repository: &str) -> Vec<String> {
    let mut profiles: Vec<String> = Vec::new();
    for rule in rules {
        let applies =
            rule.filters.is_empty() || rule.filters.iter().any(|f| wildcard_matches(f, repository));
        if applies && !profiles.contains(&rule.profile) {
            profiles.push(rule.profile.clone());
        }
    }
    profiles
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(profile: &str, filters: &[&str]) -> SigningRule {
        SigningRule {
            profile: profile.into(),
            filters: filters.iter().map(|f| f.to_string()).collect(),
        }
    }

    #[test]
    fn rules_sign_matching_repositories_once_per_profile() {
        let rules = [
            rule("arn:p1", &["team/*", "*prod*"]),
            rule("arn:p2", &[]),
            rule("arn:p1", &["other"]),
            rule("arn:p3", &["*/staging"]),
        ];
        assert_eq!(profiles_signing(&rules, "team/web"), ["arn:p1", "arn:p2"]);
        assert_eq!(
            profiles_signing(&rules, "app/staging"),
            ["arn:p2", "arn:p3"]
        );
        assert_eq!(
            profiles_signing(&[rule("arn:p1", &["team/*"])], "web"),
            Vec::<String>::new()
        );
    }
}
