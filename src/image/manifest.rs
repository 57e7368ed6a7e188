//! Manifests kept as their exact stored bytes, and parsing those bytes into what they
//! reference. The bytes are never re-serialized: re-encoding would change the digest.

use std::collections::BTreeSet;

use anyhow::{Context, bail};
use bytes::Bytes;
use serde::Deserialize;

use super::descriptor::Descriptor;
use super::digest::Digest;
use super::media_types::{self, ALL_MANIFEST_TYPES};

/// One manifest or index, exactly as stored. `digest == Digest::of_bytes(&bytes)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestBlob {
    pub digest: Digest,
    pub media_type: String,
    pub bytes: Bytes,
}

/// What a manifest points at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ManifestContent {
    Image {
        config: Descriptor,
        layers: Vec<Descriptor>,
    },
    Index {
        manifests: Vec<Descriptor>,
    },
}

#[derive(Deserialize)]
struct TopLevelFields {
    #[serde(rename = "mediaType")]
    media_type: Option<String>,
}

#[derive(Deserialize)]
struct ImageManifestJson {
    config: Descriptor,
    #[serde(default)]
    layers: Vec<Descriptor>,
}

#[derive(Deserialize)]
struct IndexJson {
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

#[derive(Deserialize)]
struct ReferrerFields {
    #[serde(rename = "artifactType")]
    artifact_type: Option<String>,
    config: Option<Descriptor>,
    subject: Option<Descriptor>,
}

#[derive(Deserialize)]
struct LayerUrlsJson {
    #[serde(default)]
    layers: Vec<LayerWithUrls>,
}

#[derive(Deserialize)]
struct LayerWithUrls {
    #[serde(rename = "mediaType")]
    media_type: String,
    digest: Digest,
    #[serde(default)]
    urls: Vec<String>,
}

impl ManifestBlob {
    /// Wraps stored manifest bytes after checking their top-level `mediaType`.
    ///
    /// `expected_media_type` is the media type the referring descriptor announced; a
    /// different one in the manifest itself is an error.
    pub fn parse(bytes: Bytes, expected_media_type: Option<&str>) -> anyhow::Result<ManifestBlob> {
        let digest = Digest::of_bytes(&bytes);
        let fields: TopLevelFields = serde_json::from_slice(&bytes)
            .with_context(|| format!("manifest {digest} is not a valid JSON object"))?;
        let Some(media_type) = fields.media_type else {
            bail!(
                "manifest {digest} has no top-level \"mediaType\" field{}. Amazon ECR rejects \
                 manifests without one, and the field cannot be added without changing the \
                 bytes and therefore the digest; rebuild or re-export the image with a tool that \
                 writes \"mediaType\" into manifests",
                expected_media_type
                    .map(|expected| format!(" (the referring descriptor says {expected})"))
                    .unwrap_or_default()
            );
        };
        if !ALL_MANIFEST_TYPES.contains(&media_type.as_str()) {
            bail!(
                "manifest {digest} has unsupported mediaType {media_type:?}; supported: {}",
                ALL_MANIFEST_TYPES.join(", ")
            );
        }
        if let Some(expected) = expected_media_type
            && expected != media_type
        {
            bail!(
                "manifest {digest} declares mediaType {media_type:?} but the descriptor that \
                 refers to it says {expected:?}"
            );
        }
        Ok(ManifestBlob {
            digest,
            media_type,
            bytes,
        })
    }

    /// True if this is an index / manifest list.
    pub fn is_index(&self) -> bool {
        media_types::is_index(&self.media_type)
    }

    /// The config and layers of an image manifest, or the child manifests of an index.
    pub fn content(&self) -> anyhow::Result<ManifestContent> {
        if self.is_index() {
            let index: IndexJson = serde_json::from_slice(&self.bytes)
                .with_context(|| format!("cannot parse index {}", self.digest))?;
            Ok(ManifestContent::Index {
                manifests: index.manifests,
            })
        } else {
            let manifest: ImageManifestJson = serde_json::from_slice(&self.bytes)
                .with_context(|| format!("cannot parse image manifest {}", self.digest))?;
            Ok(ManifestContent::Image {
                config: manifest.config,
                layers: manifest.layers,
            })
        }
    }

    /// Everything this manifest references: config then layers, or child manifests.
    pub fn references(&self) -> anyhow::Result<Vec<Descriptor>> {
        Ok(match self.content()? {
            ManifestContent::Image { config, layers } => {
                std::iter::once(config).chain(layers).collect()
            }
            ManifestContent::Index { manifests } => manifests,
        })
    }

    /// The manifest this one refers to (`subject`: it is a signature, SBOM, attestation…).
    pub fn subject(&self) -> Option<Digest> {
        serde_json::from_slice::<ReferrerFields>(&self.bytes)
            .ok()?
            .subject
            .map(|s| s.digest)
    }

    /// The kind of artifact a referrer is: its `artifactType`, else its config's media type
    /// (as the referrers API reports it).
    pub fn artifact_type(&self) -> Option<String> {
        let fields = serde_json::from_slice::<ReferrerFields>(&self.bytes).ok()?;
        fields
            .artifact_type
            .or_else(|| fields.config.map(|c| c.media_type))
    }

    /// Digests of layers a registry would normally fetch from elsewhere: non-distributable
    /// (foreign) media types or layers listing `urls`. Empty for an index.
    pub fn foreign_layers(&self) -> anyhow::Result<BTreeSet<Digest>> {
        if self.is_index() {
            return Ok(BTreeSet::new());
        }
        let manifest: LayerUrlsJson = serde_json::from_slice(&self.bytes)
            .with_context(|| format!("cannot parse image manifest {}", self.digest))?;
        Ok(manifest
            .layers
            .into_iter()
            .filter(|layer| {
                !layer.urls.is_empty() || media_types::is_non_distributable_layer(&layer.media_type)
            })
            .map(|layer| layer.digest)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::media_types::{DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST};

    const A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    fn image_manifest(media_type_field: &str) -> Bytes {
        Bytes::from(format!(
            r#"{{"schemaVersion":2,{media_type_field}
               "config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{A}","size":2}},
               "layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{B}","size":5,
                           "urls":["https://example.com/layer"]}}]}}"#
        ))
    }

    #[test]
    fn parses_an_image_manifest_and_keeps_exact_bytes() {
        let bytes = image_manifest(&format!(r#""mediaType":"{OCI_MANIFEST}","#));
        let manifest = ManifestBlob::parse(bytes.clone(), Some(OCI_MANIFEST)).unwrap();
        assert_eq!(manifest.bytes, bytes);
        assert_eq!(manifest.digest, Digest::of_bytes(&bytes));
        assert_eq!(manifest.media_type, OCI_MANIFEST);
        let references = manifest.references().unwrap();
        let digests: Vec<&str> = references.iter().map(|d| d.digest.as_str()).collect();
        assert_eq!(digests, [A, B]);
        assert!(
            manifest
                .foreign_layers()
                .unwrap()
                .contains(&Digest::parse(B).unwrap())
        );
    }

    #[test]
    fn parses_an_index() {
        let bytes = Bytes::from(format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[
                {{"mediaType":"{OCI_MANIFEST}","digest":"{A}","size":7,
                  "platform":{{"architecture":"amd64","os":"linux"}}}}]}}"#
        ));
        let index = ManifestBlob::parse(bytes, None).unwrap();
        assert!(index.is_index());
        let ManifestContent::Index { manifests } = index.content().unwrap() else {
            panic!("expected an index");
        };
        assert_eq!(
            manifests[0].platform.as_ref().unwrap().to_string(),
            "linux/amd64"
        );
        assert!(index.foreign_layers().unwrap().is_empty());
    }

    #[test]
    fn rejects_a_manifest_without_media_type_and_explains_why() {
        let error = ManifestBlob::parse(image_manifest(""), Some(OCI_MANIFEST)).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("mediaType"), "{message}");
        assert!(message.contains("ECR"), "{message}");
        assert!(message.contains("digest"), "{message}");
    }

    #[test]
    fn rejects_a_media_type_that_differs_from_the_descriptor() {
        let bytes = image_manifest(&format!(r#""mediaType":"{OCI_MANIFEST}","#));
        let error = ManifestBlob::parse(bytes, Some(DOCKER_MANIFEST)).unwrap_err();
        assert!(error.to_string().contains(DOCKER_MANIFEST), "{error}");
    }

    #[test]
    fn rejects_unsupported_media_types_and_non_json() {
        let schema1 = image_manifest(
            r#""mediaType":"application/vnd.docker.distribution.manifest.v1+json","#,
        );
        assert!(ManifestBlob::parse(schema1, None).is_err());
        assert!(ManifestBlob::parse(Bytes::from_static(b"not json"), None).is_err());
        assert!(ManifestBlob::parse(Bytes::from_static(b"[]"), None).is_err());
    }
}
