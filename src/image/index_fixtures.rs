//! Test layouts of the index shapes builders produce and `lambda-compatible` sorts: a
//! one-platform image for any platform, BuildKit's attestation manifest, an index of
//! attestations only, an index wrapped in another index. Deterministic like `fixtures`: the
//! same seed gives the same bytes.

use std::path::Path;

use serde_json::json;

use super::descriptor::{Descriptor, Platform};
use super::digest::Digest;
use super::fixtures::LayoutBuilder;
use super::media_types::OCI_CONFIG;

/// What BuildKit's provenance statement layer is stored as.
const IN_TOTO: &str = "application/vnd.in-toto+json";

/// `os/architecture[/variant]` as a `Platform`; `"linux/arm64/v8"` → linux, arm64, v8.
pub fn parse_platform(text: &str) -> Platform {
    let mut parts = text.split('/');
    let os = parts.next().unwrap_or_default().to_owned();
    let architecture = parts.next().unwrap_or_default().to_owned();
    Platform {
        architecture,
        os,
        variant: parts.next().map(str::to_owned),
    }
}

impl LayoutBuilder {
    /// An image manifest for `platform` with one layer; its descriptor carries the platform,
    /// as an index entry does.
    pub fn add_platform_image(
        &self,
        seed: &str,
        platform: &Platform,
    ) -> anyhow::Result<Descriptor> {
        let (layer, diff_id) = self.add_layer(&format!("{seed}/{platform}"), 500)?;
        let config = self.add_config(platform, &[diff_id])?;
        let mut manifest = self.add_manifest(&config, &[layer])?;
        manifest.platform = Some(platform.clone());
        Ok(manifest)
    }

    /// A BuildKit attestation manifest for `subject`: an in-toto provenance layer, platform
    /// `unknown/unknown` and the `vnd.docker.reference.*` annotations naming the subject.
    pub fn add_attestation(&self, subject: &Descriptor) -> anyhow::Result<Descriptor> {
        let statement = json!({
            "_type": "https://in-toto.io/Statement/v0.1",
            "predicateType": "https://slsa.dev/provenance/v0.2",
            "subject": [{"digest": {"sha256": subject.digest.hex()}}],
            "predicate": {},
        });
        let mut layer = self.add_json(IN_TOTO, &statement)?;
        layer.annotations.insert(
            "in-toto.io/predicate-type".into(),
            "https://slsa.dev/provenance/v0.2".into(),
        );
        let config = self.add_json(
            OCI_CONFIG,
            &json!({"architecture": "unknown", "os": "unknown", "config": {},
                    "rootfs": {"type": "layers", "diff_ids": []}}),
        )?;
        let mut manifest = self.add_manifest(&config, &[layer])?;
        manifest.platform = Some(parse_platform("unknown/unknown"));
        manifest.annotations.insert(
            "vnd.docker.reference.digest".into(),
            subject.digest.to_string(),
        );
        manifest.annotations.insert(
            "vnd.docker.reference.type".into(),
            "attestation-manifest".into(),
        );
        Ok(manifest)
    }
}

/// A single manifest for `platform` (e.g. `"linux/s390x"`) tagged "latest"; returns its digest.
pub fn write_platform_layout(dir: &Path, seed: &str, platform: &str) -> anyhow::Result<Digest> {
    let layout = LayoutBuilder::create(dir)?;
    let mut manifest = layout.add_platform_image(seed, &parse_platform(platform))?;
    manifest.platform = None;
    layout.write_index_json(&[(&manifest, "latest")])?;
    Ok(manifest.digest)
}

/// An index of one image per platform, each with its attestation when `attested`, tagged
/// "latest"; returns the index digest.
pub fn write_index_layout(
    dir: &Path,
    seed: &str,
    platforms: &[&str],
    attested: bool,
) -> anyhow::Result<Digest> {
    let layout = LayoutBuilder::create(dir)?;
    let mut entries = Vec::new();
    let mut attestations = Vec::new();
    for platform in platforms {
        let image = layout.add_platform_image(seed, &parse_platform(platform))?;
        if attested {
            attestations.push(layout.add_attestation(&image)?);
        }
        entries.push(image);
    }
    entries.extend(attestations);
    let index = layout.add_index(&entries)?;
    layout.write_index_json(&[(&index, "latest")])?;
    Ok(index.digest)
}

/// An index holding only attestation manifests (their subjects left out), tagged "latest";
/// returns the index digest.
pub fn write_attestations_only_layout(dir: &Path, seed: &str) -> anyhow::Result<Digest> {
    let layout = LayoutBuilder::create(dir)?;
    let mut entries = Vec::new();
    for platform in ["linux/amd64", "linux/arm64"] {
        let subject = layout.add_platform_image(seed, &parse_platform(platform))?;
        entries.push(layout.add_attestation(&subject)?);
    }
    let index = layout.add_index(&entries)?;
    layout.write_index_json(&[(&index, "latest")])?;
    Ok(index.digest)
}

/// An index whose one entry is an index of one linux/amd64 image, tagged "latest"; returns
/// `(outer index, inner index)` digests.
pub fn write_nested_index_layout(dir: &Path, seed: &str) -> anyhow::Result<(Digest, Digest)> {
    let layout = LayoutBuilder::create(dir)?;
    let image = layout.add_platform_image(seed, &parse_platform("linux/amd64"))?;
    let inner = layout.add_index(std::slice::from_ref(&image))?;
    let outer = layout.add_index(std::slice::from_ref(&inner))?;
    layout.write_index_json(&[(&outer, "latest")])?;
    Ok((outer.digest, inner.digest))
}
