//! How each tag ended across the regions after every tag put: the verdict and what each
//! region serves.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::image::Digest;

/// How a tag ended across the regions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConvergenceState {
    /// Every region serves this run's image under the tag.
    Converged,
    /// Every region serves one and the same other image: a later run moved it consistently.
    Superseded,
    /// The regions disagree (or some have lost the tag).
    Split,
}

/// One tag's final state: the verdict and what each region serves (`null`: no such tag).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Convergence {
    pub state: ConvergenceState,
    pub digests: BTreeMap<String, Option<Digest>>,
}

impl Convergence {
    /// Decides from what each region serves.
    pub fn of(ours: &Digest, digests: BTreeMap<String, Option<Digest>>) -> Self {
        let mut served = digests.values();
        let first = served.next().cloned().flatten();
        let agree = served.all(|d| d.as_ref() == first.as_ref());
        let state = match first {
            Some(d) if agree && d == *ours => ConvergenceState::Converged,
            Some(_) if agree => ConvergenceState::Superseded,
            _ => ConvergenceState::Split,
        };
        Self { state, digests }
    }

    /// The other image that holds the tag everywhere, when superseded.
    pub fn superseded_by(&self) -> Option<&Digest> {
        match self.state {
            ConvergenceState::Superseded => self.digests.values().next()?.as_ref(),
            _ => None,
        }
    }

    /// `sha256:a… in us-east-1; sha256:b… in eu-west-1, ap-southeast-2; nothing in …`.
    pub fn describe_split(&self) -> String {
        let mut by_digest: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for (region, digest) in &self.digests {
            let served = digest
                .as_ref()
                .map_or_else(|| "no such tag".to_string(), ToString::to_string);
            by_digest.entry(served).or_default().push(region);
        }
        by_digest
            .iter()
            .map(|(served, regions)| format!("{served} in {}", regions.join(", ")))
            .collect::<Vec<_>>()
            .join("; ")
    }
}
