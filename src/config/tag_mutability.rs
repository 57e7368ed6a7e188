//! ECR's tag mutability: the four modes, the wildcard exclusion filters of the two
//! `*_WITH_EXCLUSION` modes (validated locally with ECR's syntax and limits), and the decision
//! ECR makes for one tag, [`TagRules::decide`], so that the plan refuses exactly what ECR would
//! refuse later.

use serde::Serialize;

use super::raw::RawInputs;
use crate::error::InputError;

/// A repository's tag mutability mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TagMutability {
    /// Every tag may move.
    Mutable,
    /// No tag may move, nor be put again.
    Immutable,
    /// Tags may move, except those matching an exclusion filter.
    MutableWithExclusion,
    /// No tag may move, except those matching an exclusion filter.
    ImmutableWithExclusion,
}

impl TagMutability {
    /// Every mode, the default first.
    pub const ALL: [TagMutability; 4] = [
        Self::Mutable,
        Self::Immutable,
        Self::MutableWithExclusion,
        Self::ImmutableWithExclusion,
    ];

    /// ECR's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mutable => "MUTABLE",
            Self::Immutable => "IMMUTABLE",
            Self::MutableWithExclusion => "MUTABLE_WITH_EXCLUSION",
            Self::ImmutableWithExclusion => "IMMUTABLE_WITH_EXCLUSION",
        }
    }

    /// The mode ECR spells `word`, if any.
    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == word)
    }

    /// Whether the mode takes exclusion filters (and needs at least one).
    pub fn has_exclusions(self) -> bool {
        matches!(
            self,
            Self::MutableWithExclusion | Self::ImmutableWithExclusion
        )
    }

    /// Whether a tag that no filter matches is immutable.
    fn immutable_by_default(self) -> bool {
        matches!(self, Self::Immutable | Self::ImmutableWithExclusion)
    }
}

/// ECR's limits on exclusion filters (CreateRepository, PutImageTagMutability).
pub const MAX_EXCLUSION_FILTERS: usize = 5;
const MAX_FILTER_LENGTH: usize = 128;

/// A repository's tag rules: its mode and, for the `*_WITH_EXCLUSION` modes, its filters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagRules {
    pub mode: TagMutability,
    /// Wildcard filters (`*` matches any run of characters, also none), in the order given.
    pub filters: Vec<String>,
}

impl Default for TagRules {
    fn default() -> Self {
        Self::of(TagMutability::Mutable)
    }
}

/// Whether ECR lets a tag move, and which filter decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagDecision {
    pub immutable: bool,
    /// The first exclusion filter that matched the tag, if any.
    pub matched: Option<String>,
}

impl TagRules {
    /// Rules without filters.
    pub fn of(mode: TagMutability) -> Self {
        Self {
            mode,
            filters: Vec::new(),
        }
    }

    /// The rules as ECR reports them. A mode this program does not know is taken as
    /// IMMUTABLE (refusing a move is safe; a split tag is not).
    pub fn from_ecr(mode: &str, filters: Vec<String>) -> Self {
        let mode = TagMutability::parse(mode).unwrap_or(TagMutability::Immutable);
        Self { mode, filters }
    }

    /// What ECR does with `tag`: in a `*_WITH_EXCLUSION` mode a matching filter flips the
    /// mode's default; filters are ignored in the other modes.
    pub fn decide(&self, tag: &str) -> TagDecision {
        let matched = if self.mode.has_exclusions() {
            self.filters
                .iter()
                .find(|f| wildcard_matches(f, tag))
                .cloned()
        } else {
            None
        };
        let immutable = self.mode.immutable_by_default() != matched.is_some();
        TagDecision { immutable, matched }
    }

    /// Why `tag` is (im)mutable, for messages: `mode IMMUTABLE_WITH_EXCLUSION, no exclusion
    /// filter (latest) matches it`.
    pub fn explain(&self, tag: &str) -> String {
        let mode = self.mode.as_str();
        if !self.mode.has_exclusions() {
            return format!("mode {mode}");
        }
        match self.decide(tag).matched {
            Some(filter) => format!("mode {mode}, exclusion filter '{filter}' matches it"),
            None => format!(
                "mode {mode}, no exclusion filter ({}) matches it",
                self.filters.join(", ")
            ),
        }
    }

    /// Whether two rule sets behave alike (filters compared as a set).
    pub fn same_as(&self, other: &TagRules) -> bool {
        let sorted = |rules: &TagRules| {
            let mut filters = rules.filters.clone();
            filters.sort();
            filters.dedup();
            filters
        };
        self.mode == other.mode && sorted(self) == sorted(other)
    }
}

impl std::fmt::Display for TagRules {
    /// `MUTABLE`, or `IMMUTABLE_WITH_EXCLUSION (latest, release-*)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.mode.as_str())?;
        if !self.filters.is_empty() {
            write!(f, " ({})", self.filters.join(", "))?;
        }
        Ok(())
    }
}

/// ECR's WILDCARD filter: the whole tag must match; `*` matches any run of characters.
pub fn wildcard_matches(pattern: &str, tag: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = tag.strip_prefix(first) else {
        return false;
    };
    let middle: Vec<&str> = parts.collect();
    let Some((last, middle)) = middle.split_last() else {
        // No `*` at all: an exact match.
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

const MUTABILITY: &str = "image-tag-mutability";
const FILTERS: &str = "image-tag-mutability-exclusion-filters";

/// Reads `image-tag-mutability` and `image-tag-mutability-exclusion-filters`.
pub fn resolve_tag_rules(raw: &RawInputs) -> Result<TagRules, InputError> {
    let options = TagMutability::ALL.map(|m| (m.as_str(), m));
    let mode = raw.choice(MUTABILITY, &options)?;
    let filters = parse_filters(&raw.list(FILTERS))?;
    match (mode.has_exclusions(), filters.is_empty()) {
        (true, true) => Err(InputError::new(
            FILTERS,
            format!(
                "is required with {MUTABILITY} {}: 1 to {MAX_EXCLUSION_FILTERS} wildcard tag \
                 filters such as latest,release-*",
                mode.as_str()
            ),
        )),
        (false, false) => Err(InputError::new(
            FILTERS,
            format!(
                "is only valid with {MUTABILITY} MUTABLE_WITH_EXCLUSION or \
                 IMMUTABLE_WITH_EXCLUSION (it is {})",
                mode.as_str()
            ),
        )),
        _ => Ok(TagRules { mode, filters }),
    }
}

/// Validates filters as ECR does: 1 to 128 of `0-9 a-z A-Z . _ * -`, at most five.
fn parse_filters(items: &[String]) -> Result<Vec<String>, InputError> {
    let mut filters: Vec<String> = Vec::new();
    for item in items {
        let valid_chars = item
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '*' | '-'));
        if !valid_chars || item.len() > MAX_FILTER_LENGTH {
            return Err(InputError::new(
                FILTERS,
                format!(
                    "'{item}' is not a valid filter; use 1 to {MAX_FILTER_LENGTH} characters of \
                     letters, digits, '.', '_', '-' and '*' (any run of characters)"
                ),
            ));
        }
        if !filters.contains(item) {
            filters.push(item.clone());
        }
    }
    if filters.len() > MAX_EXCLUSION_FILTERS {
        return Err(InputError::new(
            FILTERS,
            format!(
                "lists {} filters; ECR allows at most {MAX_EXCLUSION_FILTERS}",
                filters.len()
            ),
        ));
    }
    Ok(filters)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(mode: TagMutability, filters: &[&str]) -> TagRules {
        TagRules {
            mode,
            filters: filters.iter().map(|f| f.to_string()).collect(),
        }
    }

    #[test]
    fn wildcards_match_the_whole_tag() {
        let cases = [
            ("latest", "latest", true),
            ("latest", "latest-1", false),
            ("latest", "xlatest", false),
            ("release-*", "release-1.2", true),
            ("release-*", "release-", true),
            ("release-*", "prerelease-1", false),
            ("*-rc", "v1-rc", true),
            ("*-rc", "v1-rc2", false),
            ("v*", "v1", true),
            ("v*", "latest", false),
            ("*", "anything", true),
            ("a*b*c", "abc", true),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "acb", false),
            ("ab*ba", "aba", false),
            ("**", "", true),
        ];
        for (pattern, tag, expected) in cases {
            assert_eq!(
                wildcard_matches(pattern, tag),
                expected,
                "{pattern} ~ {tag}"
            );
        }
    }

    #[test]
    fn each_mode_decides_per_tag() {
        let immutable_except_latest = rules(TagMutability::ImmutableWithExclusion, &["latest"]);
        assert!(!immutable_except_latest.decide("latest").immutable);
        assert!(immutable_except_latest.decide("v1").immutable);
        let mutable_except_v = rules(TagMutability::MutableWithExclusion, &["v*"]);
        let v1 = mutable_except_v.decide("v1");
        assert!(v1.immutable);
        assert_eq!(v1.matched.as_deref(), Some("v*"));
        assert!(!mutable_except_v.decide("latest").immutable);
        assert!(!TagRules::of(TagMutability::Mutable).decide("v1").immutable);
        assert!(
            TagRules::of(TagMutability::Immutable)
                .decide("latest")
                .immutable
        );
        // Filters mean nothing outside the exclusion modes.
        assert!(
            rules(TagMutability::Immutable, &["latest"])
                .decide("latest")
                .immutable
        );
    }

    #[test]
    fn an_unknown_mode_is_taken_as_immutable() {
        assert!(
            TagRules::from_ecr("SOMETHING_NEW", vec![])
                .decide("latest")
                .immutable
        );
    }

    #[test]
    fn explanations_name_the_filter_or_that_none_matched() {
        let r = rules(TagMutability::ImmutableWithExclusion, &["latest", "dev-*"]);
        assert_eq!(
            r.explain("v1"),
            "mode IMMUTABLE_WITH_EXCLUSION, no exclusion filter (latest, dev-*) matches it"
        );
        assert_eq!(
            r.explain("dev-3"),
            "mode IMMUTABLE_WITH_EXCLUSION, exclusion filter 'dev-*' matches it"
        );
        assert_eq!(
            TagRules::of(TagMutability::Immutable).explain("v1"),
            "mode IMMUTABLE"
        );
        assert_eq!(r.to_string(), "IMMUTABLE_WITH_EXCLUSION (latest, dev-*)");
    }

    fn error(pairs: &[(&'static str, &str)]) -> String {
        resolve_tag_rules(&RawInputs::from_pairs(pairs))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn inputs_accept_every_mode_with_its_filters() {
        assert_eq!(
            resolve_tag_rules(&RawInputs::from_pairs(&[])).unwrap(),
            TagRules::default()
        );
        let r = resolve_tag_rules(&RawInputs::from_pairs(&[
            (MUTABILITY, "IMMUTABLE_WITH_EXCLUSION"),
            (FILTERS, "latest, release-*\nlatest"),
        ]))
        .unwrap();
        assert_eq!(
            r,
            rules(
                TagMutability::ImmutableWithExclusion,
                &["latest", "release-*"]
            )
        );
        assert_eq!(
            error(&[(MUTABILITY, "SOMETIMES")]),
            "invalid input `image-tag-mutability`: 'SOMETIMES' is not valid; use MUTABLE, \
             IMMUTABLE, MUTABLE_WITH_EXCLUSION or IMMUTABLE_WITH_EXCLUSION"
        );
    }

    #[test]
    fn bad_filters_are_named() {
        assert_eq!(
            error(&[
                (MUTABILITY, "MUTABLE_WITH_EXCLUSION"),
                (FILTERS, "v*,rel/ease")
            ]),
            "invalid input `image-tag-mutability-exclusion-filters`: 'rel/ease' is not a valid \
             filter; use 1 to 128 characters of letters, digits, '.', '_', '-' and '*' (any run \
             of characters)"
        );
        assert!(
            error(&[
                (MUTABILITY, "MUTABLE_WITH_EXCLUSION"),
                (FILTERS, &"a".repeat(129))
            ])
            .contains("is not a valid filter")
        );
        assert_eq!(
            error(&[
                (MUTABILITY, "MUTABLE_WITH_EXCLUSION"),
                (FILTERS, "a,b,c,d,e,f")
            ]),
            "invalid input `image-tag-mutability-exclusion-filters`: lists 6 filters; ECR \
             allows at most 5"
        );
        assert_eq!(
            error(&[(MUTABILITY, "IMMUTABLE_WITH_EXCLUSION")]),
            "invalid input `image-tag-mutability-exclusion-filters`: is required with \
             image-tag-mutability IMMUTABLE_WITH_EXCLUSION: 1 to 5 wildcard tag filters such as \
             latest,release-*"
        );
        assert_eq!(
            error(&[(FILTERS, "latest")]),
            "invalid input `image-tag-mutability-exclusion-filters`: is only valid with \
             image-tag-mutability MUTABLE_WITH_EXCLUSION or IMMUTABLE_WITH_EXCLUSION (it is \
             MUTABLE)"
        );
    }
}
