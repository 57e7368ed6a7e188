//! `ecr-fanout verify`: its inputs' validation into a [`VerifyConfig`]. Regions,
//! repository, tags and the rest follow exactly the rules (and error messages) of `push`;
//! what is checked is either `tags` (resolved in every region) or one `digest`.

use super::handoff::ImageUriFormat;
use super::raw::RawInputs;
use super::resolve::{resolve_concurrency, resolve_endpoint_style, resolve_tags, resolve_targets};
use super::{EndpointStyle, OutputOptions, Target};
use crate::error::InputError;
use crate::image::Digest;

/// What `verify` checks in every region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyReference {
    /// Every tag must resolve, in every region, to one and the same digest.
    Tags(Vec<String>),
    /// Every region must serve this digest whole.
    Digest(Digest),
}

/// Everything `verify` needs, validated.
#[derive(Debug, Clone)]
pub struct VerifyConfig {
    /// One per region, primary first.
    pub targets: Vec<Target>,
    pub reference: VerifyReference,
    /// `image: docker://…` and its `source-registry-endpoint`: the command reads the source's
    /// digest into `reference` (a [`VerifyReference::Digest`]) before the regions are checked.
    pub source: Option<(crate::image::RegistryReference, Option<String>)>,
    /// `tags` references that named no destination (other registries), as written.
    pub ignored_tag_references: Vec<String>,
    /// Concurrent blob checks per region.
    pub concurrency: usize,
    pub endpoint_style: EndpointStyle,
    pub uri_format: ImageUriFormat,
    pub outputs: OutputOptions,
    /// `require-referrers`: what every region must list for the image.
    pub require_referrers: Vec<RequiredReferrer>,
}

/// A kind of referrer `verify` requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequiredReferrer {
    /// A signature: cosign's or sigstore's bundle, Notation's, or a cosign `.sig` tag.
    Signature,
    /// An SBOM (SPDX, CycloneDX, Syft), or a cosign `.sbom` tag.
    Sbom,
    /// Provenance or another in-toto attestation, or a cosign `.att` tag.
    Provenance,
    /// This exact artifact type.
    ArtifactType(String),
}

impl RequiredReferrer {
    /// Whether a referrer of `artifact_type` (or under cosign's tag suffix `tag_suffix`)
    /// counts as this kind.
    pub fn accepts(&self, artifact_type: Option<&str>, tag_suffix: Option<&str>) -> bool {
        let kind = artifact_type.unwrap_or_default();
        match self {
            Self::Signature => {
                tag_suffix == Some("sig")
                    || kind == "application/vnd.dev.cosign.artifact.sig.v1+json"
                    || kind.starts_with("application/vnd.dev.sigstore.bundle")
                    || kind == "application/vnd.cncf.notary.signature"
            }
            Self::Sbom => {
                tag_suffix == Some("sbom")
                    || ["spdx", "cyclonedx", "syft"]
                        .iter()
                        .any(|k| kind.contains(k))
            }
            Self::Provenance => {
                tag_suffix == Some("att")
                    || ["in-toto", "provenance", "slsa"]
                        .iter()
                        .any(|k| kind.contains(k))
            }
            Self::ArtifactType(wanted) => kind == wanted,
        }
    }

    /// The word the input used.
    pub fn name(&self) -> &str {
        match self {
            Self::Signature => "signature",
            Self::Sbom => "sbom",
            Self::Provenance => "provenance",
            Self::ArtifactType(kind) => kind,
        }
    }
}

impl VerifyConfig {
    /// The tags asked for (empty with `digest`).
    pub fn tags(&self) -> &[String] {
        match &self.reference {
            VerifyReference::Tags(tags) => tags,
            VerifyReference::Digest(_) => &[],
        }
    }
}

/// Validates `verify`'s raw inputs. Does not touch the network.
pub fn resolve_verify(raw: &RawInputs) -> Result<VerifyConfig, InputError> {
    let targets = resolve_targets(raw)?;
    let source = resolve_source(raw)?;
    let (reference, ignored_tag_references) = match &source {
        Some(_) => (VerifyReference::Digest(Digest::of_bytes(b"")), Vec::new()),
        None => resolve_reference(raw, &targets)?,
    };
    let uri_format = ImageUriFormat::from_input(raw)?;
    if uri_format.needs_tag() && matches!(reference, VerifyReference::Digest(_)) {
        return Err(InputError::new(
            "image-uri-format",
            "names a tag, but verify was given `digest`; use digest, or verify `tags` instead",
        ));
    }
    Ok(VerifyConfig {
        targets,
        reference,
        source,
        ignored_tag_references,
        concurrency: resolve_concurrency(raw)?,
        endpoint_style: resolve_endpoint_style(raw)?,
        uri_format,
        outputs: OutputOptions {
            json: raw.bool("json", false)?,
            dotenv_file: raw.get("dotenv-file").map(|p| p.trim().into()),
            summary: raw.bool("summary", true)?,
        },
        require_referrers: resolve_required_referrers(raw)?,
    })
}

/// `require-referrers`: short names or artifact types (`type/subtype`).
fn resolve_required_referrers(raw: &RawInputs) -> Result<Vec<RequiredReferrer>, InputError> {
    raw.list("require-referrers")
        .into_iter()
        .map(|entry| match entry.as_str() {
            "signature" => Ok(RequiredReferrer::Signature),
            "sbom" => Ok(RequiredReferrer::Sbom),
            "provenance" => Ok(RequiredReferrer::Provenance),
            kind if kind
                .split_once('/')
                .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty()) =>
            {
                Ok(RequiredReferrer::ArtifactType(kind.to_string()))
            }
            other => Err(InputError::new(
                "require-referrers",
                format!(
                    "'{other}' is not valid; use signature, sbom, provenance or an artifact type \
                     such as application/spdx+json"
                ),
            )),
        })
        .collect()
}

/// `image` (a `docker://` reference only), not with `tags` or `digest`.
fn resolve_source(
    raw: &RawInputs,
) -> Result<Option<(crate::image::RegistryReference, Option<String>)>, InputError> {
    let endpoint = raw.get("source-registry-endpoint").map(str::trim);
    let Some(text) = raw.get("image").map(str::trim) else {
        if endpoint.is_some() {
            return Err(InputError::new(
                "source-registry-endpoint",
                "is only valid with `image` (docker://HOST/REPOSITORY:TAG)",
            ));
        }
        return Ok(None);
    };
    if raw.get("tags").is_some() || raw.get("digest").is_some() {
        return Err(InputError::new(
            "image",
            "cannot be combined with `tags` or `digest`; verify one of them",
        ));
    }
    let reference = match text.parse::<crate::image::ImageSource>() {
        Ok(crate::image::ImageSource::Registry(reference)) => reference,
        Ok(_) => {
            return Err(InputError::new(
                "image",
                format!(
                    "'{text}' is not in a registry; verify takes docker://HOST/REPOSITORY[:TAG|@DIGEST]"
                ),
            ));
        }
        Err(e) => return Err(InputError::new("image", format!("{e:#}"))),
    };
    let endpoint = endpoint
        .map(|url| {
            super::targets::check_endpoint_url(url)
                .map_err(|e| InputError::new("source-registry-endpoint", e.message))
        })
        .transpose()?;
    Ok(Some((reference, endpoint)))
}

fn resolve_reference(
    raw: &RawInputs,
    targets: &[Target],
) -> Result<(VerifyReference, Vec<String>), InputError> {
    match (raw.get("tags"), raw.get("digest")) {
        (Some(_), Some(_)) => Err(InputError::new(
            "digest",
            "cannot be combined with `tags`; verify either tags or one digest",
        )),
        (Some(_), None) => {
            let tags = resolve_tags(raw, targets)?;
            Ok((VerifyReference::Tags(tags.tags), tags.ignored))
        }
        (None, Some(text)) => Digest::parse(text.trim())
            .map(|digest| (VerifyReference::Digest(digest), Vec::new()))
            .map_err(|e| {
                InputError::new(
                    "digest",
                    format!(
                        "'{}' is not an image digest ({e}); expected sha256:<64 hex digits>",
                        text.trim()
                    ),
                )
            }),
        (None, None) => Err(InputError::new(
            "tags",
            "or `digest` is required: the tags (e.g. v1.2.3) or the digest (sha256:…) to verify",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn resolve(pairs: &[(&'static str, &str)]) -> Result<VerifyConfig, InputError> {
        let mut raw = RawInputs::default();
        raw.set("regions", Some("us-east-1,eu-west-1".into()));
        raw.set("repository", Some("team/web".into()));
        for (name, value) in pairs {
            raw.set(name, Some((*value).to_string()));
        }
        resolve_verify(&raw)
    }

    #[test]
    fn a_registry_image_instead_of_tags_or_a_digest() {
        let config = resolve(&[("image", "docker://ghcr.io/org/app:v1")]).unwrap();
        let (reference, endpoint) = config.source.unwrap();
        assert_eq!(reference.to_string(), "docker://ghcr.io/org/app:v1");
        assert_eq!(endpoint, None);
        let both = resolve(&[("image", "docker://ghcr.io/org/app:v1"), ("tags", "v1")]);
        assert_eq!(
            both.unwrap_err().to_string(),
            "invalid input `image`: cannot be combined with `tags` or `digest`; verify one of them"
        );
        let local = resolve(&[("image", "oci:examples/hello")])
            .unwrap_err()
            .to_string();
        assert!(
            local.contains("verify takes docker://HOST/REPOSITORY"),
            "{local}"
        );
        let endpoint_alone = resolve(&[("tags", "v1"), ("source-registry-endpoint", "http://x")]);
        assert!(endpoint_alone.is_err());
    }

    #[test]
    fn tags_or_a_digest() {
        let config = resolve(&[("tags", "v1,latest")]).unwrap();
        assert_eq!(
            config.reference,
            VerifyReference::Tags(vec!["v1".into(), "latest".into()])
        );
        assert_eq!(config.targets[1].region, "eu-west-1");
        let config = resolve(&[("digest", DIGEST)]).unwrap();
        assert_eq!(
            config.reference,
            VerifyReference::Digest(Digest::parse(DIGEST).unwrap())
        );
        assert!(config.tags().is_empty());
    }

    #[test]
    fn bad_references_name_the_input() {
        let cases = [
            (vec![], "invalid input `tags`: or `digest` is required"),
            (
                vec![("tags", "v1"), ("digest", DIGEST)],
                "invalid input `digest`: cannot be combined with `tags`",
            ),
            (
                vec![("digest", "sha256:abc")],
                "invalid input `digest`: 'sha256:abc'",
            ),
            (vec![("tags", "v1 x")], "invalid input `tags`"),
            (
                vec![("digest", DIGEST), ("image-uri-format", "tag")],
                "invalid input `image-uri-format`: names a tag",
            ),
        ];
        for (pairs, expected) in cases {
            let err = resolve(&pairs).unwrap_err().to_string();
            assert!(err.starts_with(expected), "{err}");
        }
    }

    #[test]
    fn regions_follow_push_rules() {
        let mut raw = RawInputs::default();
        raw.set("tags", Some("v1".into()));
        raw.set("repository", Some("web".into()));
        let err = resolve_verify(&raw).unwrap_err().to_string();
        assert!(
            err.starts_with("invalid input `regions`: is required"),
            "{err}"
        );
    }
}
