//! Each tag's plan in a region: the digest it points at now and what happens to it (`push`)
//! or how it was found (`verify`).

use serde::Serialize;

use crate::image::Digest;

/// A tag's move.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TagPlan {
    pub tag: String,
    /// The digest the tag points at now, if it exists.
    pub current: Option<Digest>,
    /// What `push` does to the tag, or what `verify` found.
    pub action: TagAction,
}

/// What happens to a tag (`push`), or how it was found (`verify`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TagAction {
    /// The tag does not exist in the region, or the repository does not exist yet: it is put.
    Create,
    /// The tag points at another digest: it is moved to this image.
    Move,
    /// The tag already points at this image: phase 2 skips it.
    Unchanged,
    /// `tag-order: newer`: a destination holds the tag at a newer image, so it stays where it
    /// is everywhere.
    Skipped,
    /// The tag was not read: a dry run without AWS access, or a region whose plan did not
    /// finish.
    Unknown,
    /// `verify`: the tag points at the expected digest.
    Verified,
    /// `verify`: the tag points at another digest (the region fails).
    Differs,
}

impl TagAction {
    /// The word in the JSON report and the text output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Move => "move",
            Self::Unchanged => "unchanged",
            Self::Skipped => "skipped",
            Self::Unknown => "unknown",
            Self::Verified => "verified",
            Self::Differs => "differs",
        }
    }
}

display_as_word!(TagAction);

impl TagPlan {
    /// A tag whose state was not read.
    pub fn unknown(tag: &str) -> Self {
        Self {
            tag: tag.to_string(),
            current: None,
            action: TagAction::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::assert_words;

    #[test]
    fn tag_actions_serialise_to_their_words() {
        assert_words(&[
            (TagAction::Create, "create"),
            (TagAction::Move, "move"),
            (TagAction::Unchanged, "unchanged"),
            (TagAction::Skipped, "skipped"),
            (TagAction::Unknown, "unknown"),
            (TagAction::Verified, "verified"),
            (TagAction::Differs, "differs"),
        ]);
    }
}
