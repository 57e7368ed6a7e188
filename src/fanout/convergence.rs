//! The final convergence check: once every region's tag puts and read-backs are done, read
//! every region's tags once more, all at once, and decide per tag whether the run's image holds
//! it everywhere (`converged`), another image holds it everywhere (`superseded`: a concurrent
//! run finished after this one, consistently) or the regions disagree (`split`).
//!
//! ECR has no conditional PutImage, so two runs can interleave their puts. The run whose final
//! read comes last sees the final state of every region; so a split can never end with every
//! run reporting success (a run killed with SIGKILL after its puts reports nothing).

use std::collections::BTreeMap;

use anyhow::anyhow;
use futures::future::join_all;

use super::session::RegionSession;
use crate::error::VerificationFailed;
use crate::image::Digest;
pub use crate::report::{Convergence, ConvergenceState};

/// Reads every tag in every region at once; a region that cannot be read fails the run (the
/// state is then unknown, not split).
pub async fn read_all(
    sessions: &[&RegionSession],
    tags: &[String],
    ours: &Digest,
) -> anyhow::Result<BTreeMap<String, Convergence>> {
    let reads = sessions.iter().flat_map(|session| {
        tags.iter().map(move |tag| async move {
            let served = session
                .registry()?
                .get_manifest(tag)
                .await
                .map_err(|e| {
                    anyhow!(
                        "{}, tag {tag}: final read of the tag (convergence check): {e}",
                        session.describe()
                    )
                })?
                .map(|m| m.digest);
            anyhow::Ok((tag.as_str(), session.target.id.as_str(), served))
        })
    });
    let mut served: BTreeMap<String, BTreeMap<String, Option<Digest>>> = BTreeMap::new();
    for read in join_all(reads).await {
        let (tag, region, digest) = read?;
        served
            .entry(tag.to_string())
            .or_default()
            .insert(region.to_string(), digest);
    }
    Ok(served
        .into_iter()
        .map(|(tag, digests)| {
            let verdict = Convergence::of(ours, digests);
            (tag, verdict)
        })
        .collect())
}

/// The run's verdict: an error (exit 3) naming every split tag, each region with the digest it
/// serves, and the remedies.
pub fn split_error(convergence: &BTreeMap<String, Convergence>) -> Option<anyhow::Error> {
    let split: Vec<String> = convergence
        .iter()
        .filter(|(_, c)| c.state == ConvergenceState::Split)
        .map(|(tag, c)| {
            format!(
                "tag {tag} ended split across regions: {}",
                c.describe_split()
            )
        })
        .collect();
    if split.is_empty() {
        return None;
    }
    Some(
        VerificationFailed(format!(
            "{}; another run moved it concurrently (hint: run pushes of a tag one at a time, with \
             a GitHub `concurrency:` group or a GitLab `resource_group`; a re-run of the intended \
             image repairs it)",
            split.join("; ")
        ))
        .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(c: char) -> Digest {
        Digest::repeated(c)
    }

    fn served(pairs: &[(&str, Option<char>)]) -> BTreeMap<String, Option<Digest>> {
        pairs
            .iter()
            .map(|(r, d)| (r.to_string(), d.map(digest)))
            .collect()
    }

    #[test]
    fn one_digest_everywhere_is_converged_or_superseded() {
        let all_ours = served(&[("a", Some('1')), ("b", Some('1'))]);
        assert_eq!(
            Convergence::of(&digest('1'), all_ours).state,
            ConvergenceState::Converged
        );
        let all_theirs =
            Convergence::of(&digest('1'), served(&[("a", Some('2')), ("b", Some('2'))]));
        assert_eq!(all_theirs.state, ConvergenceState::Superseded);
        assert_eq!(all_theirs.superseded_by(), Some(&digest('2')));
    }

    #[test]
    fn disagreement_or_a_lost_tag_is_split() {
        let mixed = Convergence::of(
            &digest('1'),
            served(&[("a", Some('1')), ("b", Some('2')), ("c", Some('2'))]),
        );
        assert_eq!(mixed.state, ConvergenceState::Split);
        assert_eq!(
            mixed.describe_split(),
            format!("{} in a; {} in b, c", digest('1'), digest('2'))
        );
        let lost = Convergence::of(&digest('1'), served(&[("a", Some('1')), ("b", None)]));
        assert_eq!(lost.state, ConvergenceState::Split);
        let gone = Convergence::of(&digest('1'), served(&[("a", None), ("b", None)]));
        assert_eq!(gone.state, ConvergenceState::Split);
        let error = split_error(&BTreeMap::from([("race".to_string(), mixed)])).unwrap();
        assert!(error.is::<VerificationFailed>());
        assert!(
            error
                .to_string()
                .starts_with("tag race ended split across regions: sha256:111"),
            "{error}"
        );
    }
}
