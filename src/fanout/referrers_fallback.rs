//! Referrers at a destination without the referrers API: the fallback tag `sha256-<hex>` of
//! each subject holds an image index listing its referrers, which clients read instead. After
//! the referrers are put by digest, each subject's fallback index gains the ones it lacks; the
//! entries others put there are kept. Where the registry has the API (ECR does), nothing is
//! written.

use anyhow::anyhow;
use bytes::Bytes;
use serde_json::{Value, json};
use tracing::info;

use super::session::RegionSession;
use crate::image::media_types::OCI_INDEX;
use crate::image::{Descriptor, Digest, LocalImage, ManifestBlob};
use crate::registry::ReferrersSource;

/// Adds the image's referrers to each subject's fallback tag where the registry has no
/// referrers API.
pub async fn keep_fallback_tags(session: &RegionSession, image: &LocalImage) -> anyhow::Result<()> {
    let client = session.registry()?;
    let where_ = session.describe();
    let mut subjects: Vec<Digest> = image
        .referrers
        .iter()
        .filter_map(ManifestBlob::subject)
        .collect();
    subjects.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    subjects.dedup();
    for subject in subjects {
        let (listed, source) = client
            .referrers(&subject)
            .await
            .map_err(|e| anyhow!("{where_}: list the referrers of {subject}: {e}"))?;
        if source == ReferrersSource::Api {
            continue;
        }
        let missing: Vec<&ManifestBlob> = image
            .referrers
            .iter()
            .filter(|r| r.subject().as_ref() == Some(&subject))
            .filter(|r| !listed.iter().any(|d| d.digest == r.digest))
            .collect();
        if missing.is_empty() {
            continue;
        }
        let index = fallback_index(&listed, &missing)?;
        let tag = format!("sha256-{}", subject.hex());
        client
            .put_manifest(&tag, &index)
            .await
            .map_err(|e| anyhow!("{where_}: put the referrers fallback tag {tag}: {e}"))?;
        info!(region = %session.target.region, %tag, added = missing.len(),
              "referrers fallback tag updated (no referrers API)");
    }
    Ok(())
}

/// The index of `listed` (kept as they are) and `missing` (described as the referrers API
/// would list them).
fn fallback_index(
    listed: &[Descriptor],
    missing: &[&ManifestBlob],
) -> anyhow::Result<ManifestBlob> {
    let mut manifests: Vec<Value> = listed
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<_, _>>()?;
    for referrer in missing {
        let mut descriptor = json!({
            "mediaType": referrer.media_type,
            "digest": referrer.digest.as_str(),
            "size": referrer.bytes.len(),
        });
        if let Some(kind) = referrer.artifact_type() {
            descriptor["artifactType"] = Value::String(kind);
        }
        manifests.push(descriptor);
    }
    let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests});
    ManifestBlob::parse(Bytes::from(serde_json::to_vec(&index)?), Some(OCI_INDEX))
}
