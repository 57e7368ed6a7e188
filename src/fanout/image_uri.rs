//! How every image URI in the outputs and rendered files is spelled (`image-uri-format`):
//! `HOST/REPO@sha256:…` (digest, the default), `HOST/REPO:TAG` (tag) or
//! `HOST/REPO:TAG@sha256:…` (tag-and-digest, which container runtimes pull by digest while
//! people still read the tag).

use crate::config::handoff::ImageUriFormat;

/// How a region session names images: the format, and the tag the tag forms use.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UriNaming {
    pub format: ImageUriFormat,
    /// The first of the run's tags; `None` only with the digest form.
    pub tag: Option<String>,
}

impl UriNaming {
    pub fn new(format: ImageUriFormat, tags: &[String]) -> Self {
        Self {
            format,
            tag: tags.first().cloned(),
        }
    }

    /// The URI of `digest` in `repository_uri` (`HOST/REPO`). A tag form without a tag falls
    /// back to the digest form; configuration validation keeps that from happening.
    pub fn uri(&self, repository_uri: &str, digest: &str) -> String {
        match (self.format, self.tag.as_deref()) {
            (ImageUriFormat::Tag, Some(tag)) => format!("{repository_uri}:{tag}"),
            (ImageUriFormat::TagAndDigest, Some(tag)) => {
                format!("{repository_uri}:{tag}@{digest}")
            }
            _ => format!("{repository_uri}@{digest}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPO: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/web";
    const DIGEST: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn naming(format: ImageUriFormat) -> UriNaming {
        UriNaming::new(format, &["v1".into(), "latest".into()])
    }

    #[test]
    fn each_format_spells_the_uri() {
        assert_eq!(
            naming(ImageUriFormat::Digest).uri(REPO, DIGEST),
            format!("{REPO}@{DIGEST}")
        );
        assert_eq!(
            naming(ImageUriFormat::Tag).uri(REPO, DIGEST),
            format!("{REPO}:v1")
        );
        assert_eq!(
            naming(ImageUriFormat::TagAndDigest).uri(REPO, DIGEST),
            format!("{REPO}:v1@{DIGEST}")
        );
    }

    #[test]
    fn without_a_tag_the_digest_form_is_used() {
        let naming = UriNaming::new(ImageUriFormat::Tag, &[]);
        assert_eq!(naming.uri(REPO, DIGEST), format!("{REPO}@{DIGEST}"));
    }
}
