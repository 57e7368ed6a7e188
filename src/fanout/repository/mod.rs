//! Repository management, in one place: what happens to each destination's repository and
//! how its settings and policies compare with the inputs (`plan`, reads only, during the
//! plan), how they compare with the inputs (`changes`, with `policy_diff` for the short diff
//! the plan shows), and phase 1's writes (`apply`). The changes themselves are in the result
//! model (`crate::report`), which the output layer renders.

pub mod apply;
pub mod changes;
pub mod plan;
mod policy_diff;

use std::borrow::Cow;

use crate::config::management::RepositoryManagement;
use crate::config::policy_input::PolicyDocument;
use crate::config::{Encryption, RepositorySettings, Target};

/// What a destination's repository should look like: the run's settings and policies, with
/// the destination's own `kms-key` and policies where its `targets` entry gives them.
pub struct Wanted<'a> {
    pub settings: Cow<'a, RepositorySettings>,
    pub lifecycle_policy: Option<&'a PolicyDocument>,
    pub repository_policy: Option<&'a PolicyDocument>,
}

impl<'a> Wanted<'a> {
    pub fn at(
        target: &'a Target,
        settings: &'a RepositorySettings,
        management: &'a RepositoryManagement,
    ) -> Self {
        let settings = match (&target.kms_key, &settings.encryption) {
            (Some(key), Encryption::Kms { .. }) => Cow::Owned(RepositorySettings {
                encryption: Encryption::Kms {
                    key: Some(key.clone()),
                },
                ..settings.clone()
            }),
            (Some(key), Encryption::KmsDsse { .. }) => Cow::Owned(RepositorySettings {
                encryption: Encryption::KmsDsse {
                    key: Some(key.clone()),
                },
                ..settings.clone()
            }),
            _ => Cow::Borrowed(settings),
        };
        Self {
            settings,
            lifecycle_policy: (target.lifecycle_policy.as_ref())
                .or(management.lifecycle_policy.as_ref()),
            repository_policy: (target.repository_policy.as_ref())
                .or(management.repository_policy.as_ref()),
        }
    }
}
