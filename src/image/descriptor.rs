//! Content descriptors (media type + digest + size) and the platform they may carry, as
//! found in manifests, indexes and an OCI layout's `index.json`.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::digest::Digest;

/// Points at one blob or manifest. Unknown JSON fields are ignored when parsing.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// What kind of artifact a referrer is (in a list of referrers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
}

impl Descriptor {
    /// A descriptor without platform or annotations.
    pub fn new(media_type: impl Into<String>, digest: Digest, size: u64) -> Descriptor {
        Descriptor {
            media_type: media_type.into(),
            digest,
            size,
            platform: None,
            annotations: BTreeMap::new(),
            artifact_type: None,
        }
    }

    /// The value of one annotation, if present.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.get(key).map(String::as_str)
    }
}

/// The platform an image manifest runs on. Displays as `os/architecture[/variant]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl Platform {
    /// `unknown/unknown` marks attestation manifests (build provenance, SBOMs) in an index.
    pub fn is_unknown(&self) -> bool {
        self.os == "unknown" && self.architecture == "unknown"
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}/{}", self.os, self.architecture)?;
        match &self.variant {
            Some(variant) if !variant.is_empty() => write!(formatter, "/{variant}"),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn parses_camel_case_and_ignores_unknown_fields() {
        let json = format!(
            r#"{{"mediaType":"m","digest":"{DIGEST}","size":3,"urls":["x"],
               "platform":{{"architecture":"arm64","os":"linux","variant":"v8","os.features":[]}},
               "annotations":{{"a":"b"}}}}"#
        );
        let descriptor: Descriptor = serde_json::from_str(&json).unwrap();
        assert_eq!(descriptor.media_type, "m");
        assert_eq!(descriptor.size, 3);
        assert_eq!(descriptor.annotation("a"), Some("b"));
        assert_eq!(descriptor.platform.unwrap().to_string(), "linux/arm64/v8");
    }

    #[test]
    fn serializes_without_empty_optional_fields() {
        let descriptor = Descriptor::new("m", Digest::parse(DIGEST).unwrap(), 0);
        assert_eq!(
            serde_json::to_string(&descriptor).unwrap(),
            format!(r#"{{"mediaType":"m","digest":"{DIGEST}","size":0}}"#)
        );
    }

    #[test]
    fn displays_platforms() {
        let mut platform = Platform {
            architecture: "amd64".into(),
            os: "linux".into(),
            variant: None,
        };
        assert_eq!(platform.to_string(), "linux/amd64");
        assert!(!platform.is_unknown());
        platform.variant = Some("v2".into());
        assert_eq!(platform.to_string(), "linux/amd64/v2");
    }
}
