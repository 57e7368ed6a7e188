//! Working out which platform a single-manifest image is for, from its config blob's
//! `os` / `architecture` / `variant` fields.

use std::fs;

use serde::Deserialize;

use super::descriptor::Platform;
use super::local::BlobFile;
use super::manifest::{ManifestBlob, ManifestContent};

/// Image configs are a few KiB; anything far larger is not one we want to read whole.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

#[derive(Deserialize)]
struct ConfigPlatformFields {
    os: Option<String>,
    architecture: Option<String>,
    variant: Option<String>,
}

/// `["os/arch[/variant]"]` read from the config blob of `manifest`, or empty when the config
/// is missing from `blobs`, too large, not JSON, or lacks `os`/`architecture`.
pub fn from_single_manifest(manifest: &ManifestBlob, blobs: &[BlobFile]) -> Vec<String> {
    let Ok(ManifestContent::Image { config, .. }) = manifest.content() else {
        return Vec::new();
    };
    let Some(config_file) = blobs.iter().find(|blob| blob.digest == config.digest) else {
        return Vec::new();
    };
    if config_file.size > MAX_CONFIG_BYTES {
        return Vec::new();
    }
    let fields = fs::read(&config_file.path)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<ConfigPlatformFields>(&bytes).ok());
    let Some(ConfigPlatformFields {
        os: Some(os),
        architecture: Some(architecture),
        variant,
    }) = fields
    else {
        tracing::debug!(config = %config.digest, "config blob names no platform");
        return Vec::new();
    };
    let platform = Platform {
        architecture,
        os,
        variant,
    };
    if platform.is_unknown() {
        return Vec::new();
    }
    vec![platform.to_string()]
}
