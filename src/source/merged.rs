//! The image `merge` pushes: one OCI index over per-platform images that earlier jobs pushed by
//! digest to the destinations. Each source is read from every destination (whichever holds it
//! is an origin for the others), must be one platform's image manifest, or an index of one
//! platform plus its attestation manifests; its platform comes from its image config. The
//! index bytes depend only on the set of sources (`image::merged_index`). Blobs of a child are
//! fetched on demand from a destination holding it, as a promoted image's are from its source.
//! The referrers and cosign tags of every child, wherever a destination holds them, travel to
//! every destination with the index.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use anyhow::{Context, anyhow};
use aws_config::SdkConfig;
use bytes::Bytes;
use futures::future::join_all;
use serde::Deserialize;

use super::{Fetcher, Origin};
use crate::config::Target;
use crate::config::merge::MergeRequest;
use crate::ecr::EcrRegion;
use crate::error::{InputError, VerificationFailed};
use crate::image::index_contents::is_attestation;
use crate::image::media_types::OCI_INDEX;
use crate::image::merged_index::{EntryPlatform, IndexEntry, merged_index_bytes};
use crate::image::{Arrival, BlobFile, Descriptor, Digest, LocalImage, ManifestBlob};
use crate::observer::SharedObserver;
use crate::registry::{ClientOptions, RegistryClient};

/// The label that says which commit an image was built from.
const REVISION_LABEL: &str = "org.opencontainers.image.revision";

/// One destination's registry, reached to read the sources.
struct Reader {
    name: String,
    client: Arc<RegistryClient>,
}

/// One source, read: its manifest, the child manifests it contributes and where it is held.
struct Contribution {
    source: Digest,
    entries: Vec<(ManifestBlob, IndexEntry)>,
    holder: usize,
    revision: Option<String>,
}

/// Reads every source from the destinations and returns the merged index as an image whose
/// blobs are fetched, on demand, from a destination holding them.
pub async fn open(
    targets: &[Target],
    request: &MergeRequest,
    client_options: &ClientOptions,
    (aws, observer): (&SdkConfig, SharedObserver),
) -> anyhow::Result<LocalImage> {
    let readers = join_all(
        targets
            .iter()
            .map(|t| connect(t, client_options, aws, observer.clone())),
    )
    .await
    .into_iter()
    .collect::<anyhow::Result<Vec<Reader>>>()?;
    let spill = tempfile::Builder::new()
        .prefix("ecr-fanout-merge-")
        .tempdir()
        .context("create the spill directory for the merge's blobs")?;
    let mut origins: HashMap<Digest, (Arc<Origin>, crate::image::Landing)> = HashMap::new();
    let mut blobs = Vec::new();
    let mut contributions = Vec::new();
    for source in &request.sources {
        let contribution = read_source(source, &readers).await?;
        contributions.push(contribution);
    }
    let add_blobs = |manifest: &ManifestBlob,
                     origin: &Arc<Origin>,
                     origins: &mut HashMap<Digest, (Arc<Origin>, crate::image::Landing)>,
                     blobs: &mut Vec<BlobFile>|
     -> anyhow::Result<()> {
        for descriptor in manifest.references()? {
            if origins.contains_key(&descriptor.digest) {
                continue;
            }
            let (landing, arrival) = Arrival::pending();
            origins.insert(descriptor.digest.clone(), (origin.clone(), landing));
            blobs.push(BlobFile {
                path: spill.path().join(descriptor.digest.hex()),
                digest: descriptor.digest,
                size: descriptor.size,
                media_type: descriptor.media_type,
                arrival,
            });
        }
        Ok(())
    };
    for contribution in &contributions {
        let reader = &readers[contribution.holder];
        let origin = Arc::new(Origin {
            client: reader.client.clone(),
            name: format!("{} (holding {})", reader.name, contribution.source),
        });
        for (manifest, _) in &contribution.entries {
            add_blobs(manifest, &origin, &mut origins, &mut blobs)?;
        }
    }
    // What is attached to each child anywhere (signed after its by-digest push, say, in the
    // primary only) travels to every destination with the merged index.
    let subjects: Vec<Digest> = contributions
        .iter()
        .flat_map(|c| c.entries.iter().map(|(m, _)| m.digest.clone()))
        .collect();
    let found = attached_anywhere(&subjects, &readers).await?;
    let mut referrers: Vec<ManifestBlob> = Vec::new();
    let mut cosign_tags: Vec<(String, ManifestBlob)> = Vec::new();
    for (reader, attachment) in found {
        let reader = &readers[reader];
        let origin = Arc::new(Origin {
            client: reader.client.clone(),
            name: reader.name.clone(),
        });
        match attachment {
            Attachment::Referrer(manifest) => {
                add_blobs(&manifest, &origin, &mut origins, &mut blobs)?;
                referrers.push(manifest);
            }
            Attachment::CosignTag(tag, manifest) => {
                add_blobs(&manifest, &origin, &mut origins, &mut blobs)?;
                cosign_tags.push((tag, manifest));
            }
        }
    }
    let fetcher = Arc::new(Fetcher {
        blobs: origins,
        reference: None,
        spill,
    });
    // Each image's platform and revision come from its config, fetched now (a few KiB).
    for contribution in &mut contributions {
        describe_platform(contribution, &blobs, &fetcher).await?;
    }
    check_platforms(&contributions, request)?;
    let mut children = Vec::new();
    let mut entries = Vec::new();
    for contribution in contributions {
        for (manifest, entry) in contribution.entries {
            children.push(manifest);
            entries.push(entry);
        }
    }
    let mut platforms: Vec<String> = entries
        .iter()
        .filter(|e| e.platform.os != "unknown")
        .map(|e| e.platform.name())
        .collect();
    platforms.sort();
    let index = merged_index_bytes(entries, &request.annotations);
    let top = ManifestBlob::parse(Bytes::from(index), Some(OCI_INDEX))?;
    let description = format!(
        "merge of {}",
        request
            .sources
            .iter()
            .map(Digest::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(
        LocalImage::new(top, children, blobs, platforms, description)
            .with_referrers(referrers)
            .with_cosign_tags(cosign_tags)
            .fetched_by(fetcher),
    )
}

/// A referrer or a cosign tag of a merged child.
enum Attachment {
    Referrer(ManifestBlob),
    CosignTag(String, ManifestBlob),
}

/// The referrers and cosign tags of `subjects` in every destination, each once, with the first
/// destination (by position) holding it.
async fn attached_anywhere(
    subjects: &[Digest],
    readers: &[Reader],
) -> anyhow::Result<Vec<(usize, Attachment)>> {
    let reads = readers
        .iter()
        .enumerate()
        .map(|(position, reader)| async move {
            let mut found = Vec::new();
            for subject in subjects {
                for referrer in
                    super::attached::referrers(&reader.client, &reader.name, subject).await?
                {
                    found.push((position, Attachment::Referrer(referrer)));
                }
                for (tag, manifest) in
                    super::attached::cosign_tags(&reader.client, &reader.name, subject).await?
                {
                    found.push((position, Attachment::CosignTag(tag, manifest)));
                }
            }
            anyhow::Ok(found)
        });
    let mut unique: Vec<(usize, Attachment)> = Vec::new();
    for read in join_all(reads).await {
        for (position, attachment) in read? {
            let known = unique.iter().any(|(_, a)| match (a, &attachment) {
                (Attachment::Referrer(a), Attachment::Referrer(b)) => a.digest == b.digest,
                (Attachment::CosignTag(a, _), Attachment::CosignTag(b, _)) => a == b,
                _ => false,
            });
            if !known {
                unique.push((position, attachment));
            }
        }
    }
    Ok(unique)
}

/// Logs in to a destination's registry for reading.
async fn connect(
    target: &Target,
    options: &ClientOptions,
    aws: &SdkConfig,
    observer: SharedObserver,
) -> anyhow::Result<Reader> {
    let name = target.describe();
    let ecr = EcrRegion::for_destination(
        aws,
        (&target.region, target.registry_id.clone()),
        target.role.as_ref(),
        observer,
    )
    .await
    .naming(target.place());
    let login = ecr
        .login()
        .await
        .with_context(|| format!("{name}: log in to read the merge's sources"))?;
    let base_url = target
        .endpoint_override
        .clone()
        .unwrap_or_else(|| format!("https://{}", login.proxy_host));
    let client = RegistryClient::connect(
        &base_url,
        &target.repository,
        login.credentials(),
        Some(ecr.refresher()),
        options,
    )
    .map_err(|e| anyhow!("{name}: set up the registry client: {e}"))?;
    Ok(Reader {
        name,
        client: Arc::new(client),
    })
}

/// Reads `source` from every destination; the first that holds it is its origin.
async fn read_source(source: &Digest, readers: &[Reader]) -> anyhow::Result<Contribution> {
    let reads = readers.iter().map(|reader| async move {
        match reader.client.get_manifest(source.as_str()).await {
            Ok(Some(fetched)) if fetched.digest == *source => Ok(Some(fetched)),
            Ok(Some(fetched)) => Err(anyhow::Error::from(VerificationFailed(format!(
                "{}: manifest {source} was served with other bytes (hashing to {})",
                reader.name, fetched.digest
            )))),
            // A missing repository or manifest: this destination does not hold it.
            Ok(None) => Ok(None),
            Err(e) if e.kind == crate::registry::RegistryErrorKind::NotFound => Ok(None),
            Err(e) => Err(anyhow!("{}: read manifest {source}: {e}", reader.name)),
        }
    });
    let mut holder = None;
    for (position, read) in join_all(reads).await.into_iter().enumerate() {
        if let Some(fetched) = read? {
            holder.get_or_insert((position, fetched));
        }
    }
    let Some((holder, fetched)) = holder else {
        let names: Vec<&str> = readers.iter().map(|r| r.name.as_str()).collect();
        return Err(InputError::new(
            "sources",
            format!(
                "{source} is in none of the destinations ({}); push each platform there with \
                 by-digest first",
                names.join("; ")
            ),
        )
        .into());
    };
    let manifest = ManifestBlob::parse(fetched.bytes, Some(&fetched.media_type))
        .with_context(|| format!("source {source}"))?;
    let entries = if manifest.is_index() {
        index_contribution(source, &manifest, &readers[holder]).await?
    } else {
        let entry = entry_for(&manifest, unknown_platform(), BTreeMap::new());
        vec![(manifest, entry)]
    };
    Ok(Contribution {
        source: source.clone(),
        entries,
        holder,
        revision: None,
    })
}

/// An index source: exactly one platform image plus attestation manifests, read from the
/// destination holding the index.
async fn index_contribution(
    source: &Digest,
    index: &ManifestBlob,
    reader: &Reader,
) -> anyhow::Result<Vec<(ManifestBlob, IndexEntry)>> {
    let descriptors = index.references()?;
    let (attestations, images): (Vec<&Descriptor>, Vec<&Descriptor>) =
        descriptors.iter().partition(|d| is_attestation(d));
    if images.len() != 1 {
        return Err(InputError::new(
            "sources",
            format!(
                "{source} is an index of {} platform images; each source must be one platform's \
                 image (or an index of one platform and its attestations)",
                images.len()
            ),
        )
        .into());
    }
    let mut entries = Vec::new();
    for descriptor in images.into_iter().chain(attestations) {
        let child = super::read_described(&reader.client, &reader.name, descriptor, || {
            InputError::new(
                "sources",
                format!(
                    "manifest {} of index {source} is missing in {}",
                    descriptor.digest, reader.name
                ),
            )
            .into()
        })
        .await?;
        if child.is_index() {
            return Err(InputError::new(
                "sources",
                format!(
                    "{source} nests an index ({}); give its images",
                    child.digest
                ),
            )
            .into());
        }
        let platform = match &descriptor.platform {
            Some(p) if is_attestation(descriptor) => EntryPlatform {
                architecture: p.architecture.clone(),
                os: p.os.clone(),
                os_version: None,
                variant: p.variant.clone(),
            },
            _ => unknown_platform(),
        };
        let annotations = if is_attestation(descriptor) {
            descriptor.annotations.clone()
        } else {
            BTreeMap::new()
        };
        let entry = entry_for(&child, platform, annotations);
        entries.push((child, entry));
    }
    Ok(entries)
}

fn unknown_platform() -> EntryPlatform {
    EntryPlatform {
        architecture: "unknown".into(),
        os: "unknown".into(),
        os_version: None,
        variant: None,
    }
}

fn entry_for(
    manifest: &ManifestBlob,
    platform: EntryPlatform,
    annotations: BTreeMap<String, String>,
) -> IndexEntry {
    IndexEntry {
        media_type: manifest.media_type.clone(),
        digest: manifest.digest.clone(),
        size: manifest.bytes.len() as u64,
        annotations,
        platform,
    }
}

/// The image config fields a merge reads.
#[derive(Deserialize)]
struct ConfigFields {
    os: Option<String>,
    architecture: Option<String>,
    variant: Option<String>,
    #[serde(rename = "os.version")]
    os_version: Option<String>,
    #[serde(default)]
    config: Option<ConfigLabels>,
}

#[derive(Deserialize)]
struct ConfigLabels {
    #[serde(rename = "Labels", default)]
    labels: Option<BTreeMap<String, String>>,
}

/// Sets the platform of a contribution's image entry (the first) from its config, and its
/// revision label.
async fn describe_platform(
    contribution: &mut Contribution,
    blobs: &[BlobFile],
    fetcher: &Fetcher,
) -> anyhow::Result<()> {
    let source = contribution.source.clone();
    let Some((image, entry)) = contribution.entries.first_mut() else {
        return Ok(());
    };
    let crate::image::ManifestContent::Image { config, .. } = image.content()? else {
        return Ok(());
    };
    let blob = blobs
        .iter()
        .find(|b| b.digest == config.digest)
        .with_context(|| format!("internal: config {} of {source} not listed", config.digest))?;
    fetcher.fetch_one(blob).await?;
    let bytes = tokio::fs::read(&blob.path)
        .await
        .with_context(|| format!("read the config of {source}"))?;
    let fields: ConfigFields = serde_json::from_slice(&bytes)
        .with_context(|| format!("the config of {source} is not an image config"))?;
    let (Some(os), Some(architecture)) = (fields.os, fields.architecture) else {
        return Err(InputError::new(
            "sources",
            format!("{source}: its image config names no os and architecture"),
        )
        .into());
    };
    entry.platform = EntryPlatform {
        architecture,
        os,
        os_version: fields.os_version,
        variant: fields.variant.filter(|v| !v.is_empty()),
    };
    contribution.revision = fields
        .config
        .and_then(|c| c.labels)
        .and_then(|labels| labels.get(REVISION_LABEL).cloned());
    Ok(())
}

/// One source per platform; exactly `platforms` when given; one revision unless mixed ones
/// are allowed.
fn check_platforms(contributions: &[Contribution], request: &MergeRequest) -> anyhow::Result<()> {
    let mut by_platform: BTreeMap<String, &Digest> = BTreeMap::new();
    for contribution in contributions {
        let Some((_, entry)) = contribution.entries.first() else {
            continue;
        };
        let name = match &entry.platform.os_version {
            Some(version) => format!("{} ({version})", entry.platform.name()),
            None => entry.platform.name(),
        };
        if let Some(other) = by_platform.insert(name.clone(), &contribution.source) {
            return Err(InputError::new(
                "sources",
                format!(
                    "{other} and {} are both {name}; give one image per platform",
                    contribution.source
                ),
            )
            .into());
        }
    }
    if !request.platforms.is_empty() {
        let covered: Vec<String> = contributions
            .iter()
            .filter_map(|c| c.entries.first().map(|(_, e)| e.platform.name()))
            .collect();
        let missing: Vec<&str> = request
            .platforms
            .iter()
            .filter(|p| !covered.contains(p))
            .map(String::as_str)
            .collect();
        let extra: Vec<&str> = covered
            .iter()
            .filter(|p| !request.platforms.contains(p))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(InputError::new(
                "platforms",
                format!(
                    "no source is for {} (the sources cover {}); did that matrix job push?",
                    missing.join(", "),
                    covered.join(", ")
                ),
            )
            .into());
        }
        if !extra.is_empty() {
            return Err(InputError::new(
                "platforms",
                format!(
                    "the sources also cover {}, which platforms does not list",
                    extra.join(", ")
                ),
            )
            .into());
        }
    }
    let revisions: BTreeMap<&str, Vec<&str>> =
        contributions.iter().fold(BTreeMap::new(), |mut acc, c| {
            acc.entry(c.revision.as_deref().unwrap_or("(none)"))
                .or_default()
                .push(c.source.as_str());
            acc
        });
    if revisions.len() > 1 && !request.allow_mixed_revisions {
        let listed: Vec<String> = revisions
            .iter()
            .map(|(revision, sources)| format!("{revision}: {}", sources.join(", ")))
            .collect();
        return Err(InputError::new(
            "sources",
            format!(
                "the images were built from different revisions ({}); set \
                 allow-mixed-revisions: true to merge them anyway",
                listed.join("; ")
            ),
        )
        .into());
    }
    Ok(())
}
