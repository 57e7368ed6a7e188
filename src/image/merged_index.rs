//! The OCI image index that `merge` builds from per-platform images: its bytes depend only on
//! the set of entries, never on the order the sources were given in, so that any re-run of a
//! merge, in any CI job, gives the same digest.
//!
//! The format, pinned: compact JSON (no whitespace) of
//! `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[…]}`
//! with an `"annotations"` object last only when annotations are asked for. Each entry is
//! `{"mediaType","digest","size","annotations"?,"platform"}` in that order, its platform
//! `{"architecture","os","os.version"?,"variant"?}`; entries are sorted by os, architecture,
//! variant, os.version (absent first), then digest, and appear once each.

use std::collections::BTreeMap;

use serde::Serialize;

use super::digest::Digest;
use super::media_types::OCI_INDEX;

/// A platform as an index entry states it (from the image config's `os`, `architecture`,
/// `variant` and `os.version`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EntryPlatform {
    pub architecture: String,
    pub os: String,
    #[serde(rename = "os.version", skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl EntryPlatform {
    /// `os/architecture[/variant]`, as `platforms` spells it.
    pub fn name(&self) -> String {
        match &self.variant {
            Some(variant) => format!("{}/{}/{variant}", self.os, self.architecture),
            None => format!("{}/{}", self.os, self.architecture),
        }
    }

    fn sort_key(&self) -> (&str, &str, Option<&str>, Option<&str>) {
        (
            &self.os,
            &self.architecture,
            self.variant.as_deref(),
            self.os_version.as_deref(),
        )
    }
}

/// One manifest the index lists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexEntry {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    pub platform: EntryPlatform,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Index<'a> {
    schema_version: u32,
    media_type: &'static str,
    manifests: &'a [IndexEntry],
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: &'a BTreeMap<String, String>,
}

/// The index's bytes for `entries` (any order; a digest listed twice appears once) and
/// index-level `annotations`.
pub fn merged_index_bytes(
    mut entries: Vec<IndexEntry>,
    annotations: &BTreeMap<String, String>,
) -> Vec<u8> {
    entries.sort_by(|a, b| {
        a.platform
            .sort_key()
            .cmp(&b.platform.sort_key())
            .then_with(|| a.digest.as_str().cmp(b.digest.as_str()))
    });
    entries.dedup_by(|a, b| a.digest == b.digest);
    let index = Index {
        schema_version: 2,
        media_type: OCI_INDEX,
        manifests: &entries,
        annotations,
    };
    // Serialising these plain structs cannot fail.
    serde_json::to_vec(&index).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(hex: char, os: &str, architecture: &str, variant: Option<&str>) -> IndexEntry {
        IndexEntry {
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            digest: Digest::parse(&format!("sha256:{}", hex.to_string().repeat(64))).unwrap(),
            size: 500,
            annotations: BTreeMap::new(),
            platform: EntryPlatform {
                architecture: architecture.into(),
                os: os.into(),
                os_version: None,
                variant: variant.map(str::to_string),
            },
        }
    }

    fn entries() -> Vec<IndexEntry> {
        vec![
            entry('c', "linux", "arm64", Some("v8")),
            entry('a', "linux", "amd64", None),
            entry('b', "linux", "arm", Some("v7")),
        ]
    }

    #[test]
    fn the_bytes_are_a_function_of_the_set_of_entries() {
        let none = BTreeMap::new();
        let golden = merged_index_bytes(entries(), &none);
        let mut reversed = entries();
        reversed.reverse();
        assert_eq!(merged_index_bytes(reversed, &none), golden);
        let mut twice = entries();
        twice.extend(entries());
        assert_eq!(merged_index_bytes(twice, &none), golden);
        let a = "a".repeat(64);
        let b = "b".repeat(64);
        let c = "c".repeat(64);
        let expected = format!(
            concat!(
                r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":["#,
                r#"{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:{a}","size":500,"platform":{{"architecture":"amd64","os":"linux"}}}},"#,
                r#"{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:{b}","size":500,"platform":{{"architecture":"arm","os":"linux","variant":"v7"}}}},"#,
                r#"{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:{c}","size":500,"platform":{{"architecture":"arm64","os":"linux","variant":"v8"}}}}]}}"#
            ),
            a = a,
            b = b,
            c = c
        );
        assert_eq!(String::from_utf8(golden.clone()).unwrap(), expected);
        assert_eq!(
            Digest::of_bytes(&golden).as_str(),
            "sha256:836fe140c16aece3d5eaab96b333e7ac52436dcd7c0b003a86baaf5f7d5c2374",
            "the golden digest of this set (computed with Python's hashlib from the text above)"
        );
    }

    #[test]
    fn annotations_and_os_version_appear_only_when_given() {
        let mut windows = entry('d', "windows", "amd64", None);
        windows.platform.os_version = Some("10.0.20348.2527".into());
        let annotations = BTreeMap::from([(
            "org.opencontainers.image.revision".to_string(),
            "abc".to_string(),
        )]);
        let bytes = String::from_utf8(merged_index_bytes(vec![windows], &annotations)).unwrap();
        assert!(bytes.contains(r#""platform":{"architecture":"amd64","os":"windows","os.version":"10.0.20348.2527"}"#), "{bytes}");
        assert!(
            bytes.ends_with(r#"],"annotations":{"org.opencontainers.image.revision":"abc"}}"#),
            "{bytes}"
        );
    }
}
