//! ECR managed signing. At plan time each destination reads its registry's signing
//! configuration and keeps the profiles whose rules match the repository; after phase 1 (and
//! any replication wait), before verification and the tags, the run waits, bounded by
//! `signing-timeout`, until ECR reports every such profile's signature of the image complete
//! there. A failed signing or the timeout fails the run with no tag moved; the signature ECR
//! made is then listed by verification as the destination's own referrer. A configuration that
//! cannot be read (denied, another account's registry, an endpoint without the API) is
//! warned about once and not waited for.

use std::cell::Cell;
use std::time::Duration;

use anyhow::anyhow;
use futures::future::join_all;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::destination::Destination;
use super::poll::{Poll, Wait, poll_until};
use super::session::RegionSession;
use crate::config::tag_mutability::wildcard_matches;
use crate::ecr::{SigningConfigRead, SigningProgress, SigningRule};
use crate::image::LocalImage;
use crate::report::{SigningReport, SigningState};

/// How often a signing status is read while waiting.
const SIGNING_POLL: Duration = Duration::from_secs(2);

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

/// Warns once, listing the destinations, for each reason a signing configuration could not be
/// read.
pub fn warn_unreadable(destinations: &[Destination]) {
    let mut reasons: Vec<(&str, Vec<&str>)> = Vec::new();
    for destination in destinations {
        let Some(SigningPlan::Unknown(why)) = destination.plan.as_ref().map(|p| &p.signing) else {
            continue;
        };
        match reasons.iter_mut().find(|(w, _)| *w == why.as_str()) {
            Some((_, ids)) => ids.push(destination.id()),
            None => reasons.push((why.as_str(), vec![destination.id()])),
        }
    }
    for (why, ids) in reasons {
        warn!(
            "cannot tell whether ECR managed signing signs the image in {} ({why}); if it does, \
             the tags may move before ECR's signature exists there",
            ids.join(", ")
        );
    }
}

/// Waits in every destination whose registry signs the image until each profile's signature
/// exists; records each wait's end in the destination's record. The failures, by destination.
pub async fn await_signatures(
    image: &LocalImage,
    destinations: &mut [Destination],
    timeout: Duration,
    cancel: &CancellationToken,
) -> Vec<(String, anyhow::Error)> {
    let digest = image.top.digest.as_str();
    let waits = destinations
        .iter_mut()
        .filter(|d| !d.failed())
        .filter_map(|d| {
            let Some(SigningPlan::Signs(profiles)) = d.plan.as_ref().map(|p| p.signing.clone())
            else {
                return None;
            };
            Some(async move {
                let (state, detail, result) =
                    await_one(&d.session, digest, &profiles, timeout).await;
                d.outcome.signing = Some(SigningReport {
                    state,
                    profiles,
                    detail,
                });
                match result {
                    Ok(()) => None,
                    Err(e) => {
                        d.fail(&e);
                        Some((d.id().to_string(), e))
                    }
                }
            })
        });
    tokio::select! {
        results = join_all(waits) => results.into_iter().flatten().collect(),
        () = cancel.cancelled() => vec![(
            "all".to_string(),
            anyhow!("cancelled while waiting for ECR managed signing"),
        )],
    }
}

/// One destination's wait: its final state, what was wrong, and the error that fails it.
async fn await_one(
    session: &RegionSession,
    digest: &str,
    profiles: &[String],
    timeout: Duration,
) -> (SigningState, Option<String>, anyhow::Result<()>) {
    let place = session.describe();
    let (ecr, repository) = (&session.ecr, session.target.repository.as_str());
    let timed_out = Cell::new(false);
    let failed: Cell<Option<String>> = Cell::new(None);
    let wait = Wait {
        timeout,
        interval: SIGNING_POLL,
    };
    let result = poll_until(
        wait,
        "ECR managed signing",
        || async {
            let statuses = ecr.signing_statuses(repository, digest).await?;
            if let Some((profile, why)) = statuses.iter().find_map(|s| match &s.progress {
                SigningProgress::Failed(why) => Some((&s.profile, why)),
                _ => None,
            }) {
                failed.set(Some(format!("profile {profile}: {why}")));
                return Err(anyhow!(
                    "{place}: ECR managed signing of {digest} failed (profile {profile}: {why})"
                ));
            }
            let pending: Vec<&str> = profiles
                .iter()
                .filter(|p| {
                    !statuses
                        .iter()
                        .any(|s| &s.profile == *p && s.progress == SigningProgress::Complete)
                })
                .map(String::as_str)
                .collect();
            Ok(if pending.is_empty() {
                Poll::Done
            } else {
                Poll::Waiting(format!("{place}: waiting for {}", pending.join(", ")))
            })
        },
        |pending| pending.to_string(),
        |pending, timeout| {
            timed_out.set(true);
            anyhow!(
                "{place}: ECR managed signing of {digest} did not finish within {}s \
                 ({pending}; hint: raise signing-timeout)",
                timeout.as_secs()
            )
        },
    )
    .await;
    match result {
        Ok(()) => {
            info!(destination = %session.target.id, "ECR managed signing of {digest} is complete");
            (SigningState::Complete, None, Ok(()))
        }
        Err(e) if timed_out.get() => (SigningState::TimedOut, Some(format!("{e:#}")), Err(e)),
        Err(e) => match failed.take() {
            Some(why) => (SigningState::Failed, Some(why), Err(e)),
            // Reading the status failed: the state stays what the plan said.
            None => (SigningState::Planned, Some(format!("{e:#}")), Err(e)),
        },
    }
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
