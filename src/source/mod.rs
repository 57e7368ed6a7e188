//! Images read from a registry (`docker://HOST/REPOSITORY[:TAG|@DIGEST]`), to promote the same
//! bytes to every destination. The manifests (an index with all its children) are read as their
//! exact bytes and checked against their digests; config and layer blobs are fetched only when
//! the push knows that some destination lacks them, each once, streamed to a spill file while
//! it is hashed (the file is deleted with the image). The push reads each spill file as it
//! lands (see `image::blob_read`), so a blob's upload to every destination runs alongside its
//! download. An ECR source logs in with `GetAuthorizationToken` of its account and
//! region; any other host uses Docker's config (`credHelpers`, `auths`, `credsStore`), else no
//! credentials; a registry that answers with a Bearer challenge gets a pull token for the
//! repository, asked for with those credentials (or anonymously).

mod attached;
mod docker_config;
pub mod merged;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use anyhow::{Context, anyhow, bail};
use aws_config::SdkConfig;
use futures::future::BoxFuture;
use tempfile::TempDir;
use tracing::info;

use crate::config::tag_references::ecr_host_parts;
use crate::ecr::EcrRegion;
use crate::error::{InputError, VerificationFailed};
use crate::image::{
    Arrival, BlobFetcher, BlobFile, Digest, Landing, LocalImage, ManifestBlob, RegistryReference,
    platforms,
};
use crate::observer::SharedObserver;
use crate::registry::{
    ClientOptions, Credentials, RegistryClient, RegistryErrorKind, is_loopback_host,
};
use crate::secret::Secret;

/// Indexes nest one or two levels in practice; deeper means something is wrong.
const MAX_INDEX_DEPTH: usize = 8;

/// How to reach the source.
pub struct SourceOptions {
    /// `source-registry-endpoint`: the URL used instead of the host's (VPC endpoints, tests).
    pub endpoint: Option<String>,
    /// `source-role-arn`: an ECR source is read with this role's credentials.
    pub role: Option<crate::config::AssumedRole>,
    /// Docker's `config.json`, for credentials of a non-ECR host.
    pub docker_config: Option<PathBuf>,
    pub client: ClientOptions,
}

/// Reads the manifests of `reference` and returns the image, its blobs to be fetched on
/// demand. A tag or digest the source does not have is an `image` input error (exit 2); a
/// source that cannot be reached is an operation error naming it.
pub async fn open(
    reference: &RegistryReference,
    options: &SourceOptions,
    aws: &SdkConfig,
    observer: SharedObserver,
) -> anyhow::Result<LocalImage> {
    let client = Arc::new(connect(reference, options, aws, observer.clone()).await?);
    if let Some(token) = client
        .negotiate_token("pull")
        .await
        .map_err(|e| anyhow!("source {reference}: authenticate: {e}"))?
    {
        observer.secret_received(&token);
    }
    let top = client
        .get_manifest(&reference.reference)
        .await
        .map_err(|e| anyhow!("source {reference}: read the manifest: {e}"))?
        .ok_or_else(|| {
            InputError::new(
                "image",
                format!("{reference} does not exist at the source (no such tag or digest)"),
            )
        })?;
    if reference.is_digest() && top.digest.as_str() != reference.reference {
        return Err(VerificationFailed(format!(
            "source {reference}: the manifest served hashes to {}",
            top.digest
        ))
        .into());
    }
    let top = ManifestBlob::parse(top.bytes, None)
        .with_context(|| format!("source {reference}: the manifest is not an image manifest"))?;
    let spill = tempfile::Builder::new()
        .prefix("ecr-fanout-source-")
        .tempdir()
        .context("create the spill directory for the source's blobs")?;
    let mut walk = Walk {
        client: &client,
        reference,
        dir: spill.path().to_path_buf(),
        children: Vec::new(),
        seen_manifests: HashSet::new(),
        blobs: Vec::new(),
        landings: HashMap::new(),
        platforms: Vec::new(),
    };
    walk.visit(&top, 0).await?;
    let subjects: Vec<Digest> = std::iter::once(top.digest.clone())
        .chain(walk.children.iter().map(|c| c.digest.clone()))
        .collect();
    let referrers = walk.referrers_of(&subjects).await?;
    let cosign_tags = walk.cosign_tags_of(&subjects).await?;
    let Walk {
        children,
        blobs,
        landings,
        mut platforms,
        ..
    } = walk;
    let origin = Arc::new(Origin {
        client,
        name: format!("source {reference}"),
    });
    let fetcher = Arc::new(Fetcher {
        blobs: landings
            .into_iter()
            .map(|(digest, landing)| (digest, (origin.clone(), landing)))
            .collect(),
        reference: Some(reference.clone()),
        spill,
    });
    if !top.is_index() {
        platforms = single_manifest_platforms(&fetcher, &top, &blobs).await;
    }
    info!(source = %reference, digest = %top.digest, manifests = children.len() + 1,
          blobs = blobs.len(), "source resolved");
    Ok(
        LocalImage::new(top, children, blobs, platforms, reference.to_string())
            .with_referrers(referrers)
            .with_cosign_tags(cosign_tags)
            .fetched_by(fetcher),
    )
}

/// The client for the source repository, with the credentials the host calls for.
async fn connect(
    reference: &RegistryReference,
    options: &SourceOptions,
    aws: &SdkConfig,
    observer: SharedObserver,
) -> anyhow::Result<RegistryClient> {
    let base_url = match &options.endpoint {
        Some(url) => url.clone(),
        None if is_loopback_host(&reference.host) => format!("http://{}", reference.host),
        None => format!("https://{}", reference.host),
    };
    let (credentials, refresh) = match ecr_host_parts(&reference.host) {
        Some((account, region)) => {
            let ecr = EcrRegion::for_destination(
                aws,
                (region, Some(account.to_string())),
                options.role.as_ref(),
                observer.clone(),
            )
            .await;
            let login = ecr
                .login()
                .await
                .with_context(|| format!("source {reference}: log in to ECR"))?;
            (login.credentials(), Some(ecr.refresher()))
        }
        None => {
            let found = match &options.docker_config {
                Some(file) => docker_config::credentials_for(file, &reference.host)
                    .await
                    .with_context(|| format!("source {reference}: credentials"))?,
                None => None,
            };
            let credentials = match found {
                Some(found) => {
                    observer.secret_received(&found.secret);
                    Credentials {
                        username: found.username,
                        password: found.secret,
                    }
                }
                None => Credentials {
                    username: String::new(),
                    password: Secret::new(String::new()),
                },
            };
            (credentials, None)
        }
    };
    RegistryClient::connect(
        &base_url,
        &reference.repository,
        credentials,
        refresh,
        &options.client,
    )
    .map_err(|e| anyhow!("source {reference}: set up the registry client: {e}"))
}

/// Reads child manifests (dependencies first) and collects blob descriptors, each once.
struct Walk<'a> {
    client: &'a RegistryClient,
    reference: &'a RegistryReference,
    dir: PathBuf,
    children: Vec<ManifestBlob>,
    seen_manifests: HashSet<Digest>,
    blobs: Vec<BlobFile>,
    /// The writing side of each blob's spill file, by digest (each blob once).
    landings: HashMap<Digest, Landing>,
    platforms: Vec<String>,
}

impl Walk<'_> {
    /// The referrers of `subjects` at the source (the referrers API, else the fallback tag),
    /// each once; their blobs join the image's.
    async fn referrers_of(&mut self, subjects: &[Digest]) -> anyhow::Result<Vec<ManifestBlob>> {
        let origin = format!("source {}", self.reference);
        let mut referrers: Vec<ManifestBlob> = Vec::new();
        for subject in subjects {
            for referrer in attached::referrers(self.client, &origin, subject).await? {
                if !referrers.iter().any(|r| r.digest == referrer.digest) {
                    self.add_blobs(&referrer)?;
                    referrers.push(referrer);
                }
            }
        }
        Ok(referrers)
    }

    /// Cosign's tags of `subjects` at the source; their blobs join the image's.
    async fn cosign_tags_of(
        &mut self,
        subjects: &[Digest],
    ) -> anyhow::Result<Vec<(String, ManifestBlob)>> {
        let origin = format!("source {}", self.reference);
        let mut found = Vec::new();
        for subject in subjects {
            for (tag, manifest) in attached::cosign_tags(self.client, &origin, subject).await? {
                self.add_blobs(&manifest)?;
                found.push((tag, manifest));
            }
        }
        Ok(found)
    }

    /// Lists the config and layers of an image manifest among the blobs to fetch, each once.
    fn add_blobs(&mut self, manifest: &ManifestBlob) -> anyhow::Result<()> {
        for descriptor in manifest.references()? {
            if !self.landings.contains_key(&descriptor.digest) {
                let (landing, arrival) = Arrival::pending();
                self.landings.insert(descriptor.digest.clone(), landing);
                self.blobs.push(BlobFile {
                    path: self.dir.join(descriptor.digest.hex()),
                    digest: descriptor.digest,
                    size: descriptor.size,
                    media_type: descriptor.media_type,
                    arrival,
                });
            }
        }
        Ok(())
    }

    fn visit<'s>(
        &'s mut self,
        manifest: &'s ManifestBlob,
        depth: usize,
    ) -> BoxFuture<'s, anyhow::Result<()>> {
        Box::pin(async move {
            if depth > MAX_INDEX_DEPTH {
                bail!(
                    "source {}: indexes nest more than {MAX_INDEX_DEPTH} levels at {}",
                    self.reference,
                    manifest.digest
                );
            }
            if !manifest.is_index() {
                return self.add_blobs(manifest);
            }
            for descriptor in manifest.references()? {
                if let Some(platform) = descriptor.platform.as_ref().filter(|p| !p.is_unknown()) {
                    let name = platform.to_string();
                    if !self.platforms.contains(&name) {
                        self.platforms.push(name);
                    }
                }
                if !self.seen_manifests.insert(descriptor.digest.clone()) {
                    continue;
                }
                let origin = format!("source {}", self.reference);
                let child = read_described(self.client, &origin, &descriptor, || {
                    anyhow!(
                        "{origin}: manifest {} of index {} is missing",
                        descriptor.digest,
                        manifest.digest
                    )
                })
                .await?;
                self.visit(&child, depth + 1).await?;
                self.children.push(child);
            }
            Ok(())
        })
    }
}

/// The manifest `descriptor` names, read from `client` as its exact bytes and checked against
/// its digest (other bytes are `VerificationFailed`); `missing` is the error when it is absent.
/// `origin` starts every message (`source docker://…`, or a destination).
async fn read_described(
    client: &RegistryClient,
    origin: &str,
    descriptor: &crate::image::Descriptor,
    missing: impl FnOnce() -> anyhow::Error,
) -> anyhow::Result<ManifestBlob> {
    let fetched = client
        .get_manifest(descriptor.digest.as_str())
        .await
        .map_err(|e| anyhow!("{origin}: read manifest {}: {e}", descriptor.digest))?
        .ok_or_else(missing)?;
    if fetched.digest != descriptor.digest {
        return Err(VerificationFailed(format!(
            "{origin}: manifest {} was served with other bytes (hashing to {})",
            descriptor.digest, fetched.digest
        ))
        .into());
    }
    ManifestBlob::parse(fetched.bytes, Some(&descriptor.media_type))
}

/// A single manifest's platform, from its config blob (fetched now: a few KiB); empty when it
/// cannot be read.
async fn single_manifest_platforms(
    fetcher: &Fetcher,
    top: &ManifestBlob,
    blobs: &[BlobFile],
) -> Vec<String> {
    let Ok(crate::image::ManifestContent::Image { config, .. }) = top.content() else {
        return Vec::new();
    };
    let Some(config_file) = blobs.iter().find(|b| b.digest == config.digest) else {
        return Vec::new();
    };
    if fetcher.fetch_one(config_file).await.is_err() {
        return Vec::new();
    }
    platforms::from_single_manifest(top, blobs)
}

/// Where a blob is downloaded from: a registry client and how errors name it.
struct Origin {
    client: Arc<RegistryClient>,
    /// `source docker://…`, or the destination a merge reads a child from.
    name: String,
}

/// Downloads blobs on demand into the spill directory (deleted with the image), each from its
/// origin, each reported to its readers through its [`Landing`] as it lands.
struct Fetcher {
    blobs: HashMap<Digest, (Arc<Origin>, Landing)>,
    reference: Option<RegistryReference>,
    spill: TempDir,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("blobs", &self.blobs.len())
            .field("spill", &self.spill.path())
            .finish_non_exhaustive()
    }
}

impl Fetcher {
    /// One blob to its spill file (nothing when an earlier fetch completed it); the bytes
    /// downloaded. A failure is told to the file's readers too.
    async fn fetch_one(&self, blob: &BlobFile) -> anyhow::Result<u64> {
        let (origin, landing) = self
            .blobs
            .get(&blob.digest)
            .with_context(|| format!("internal: blob {} has no origin", blob.digest))?;
        if landing.is_complete() {
            return Ok(0);
        }
        let downloaded = match origin
            .client
            .download_blob(blob, Arc::new(AtomicU64::new(0)), landing)
            .await
        {
            Ok(()) => {
                landing.complete();
                return Ok(blob.size);
            }
            Err(e) if e.kind == RegistryErrorKind::Corrupt => {
                Err(VerificationFailed(format!("{}: download blob: {e}", origin.name)).into())
            }
            Err(e) => Err(anyhow!(
                "{}: download blob {} ({} bytes): {e}",
                origin.name,
                blob.digest,
                blob.size
            )),
        };
        if let Err(e) = &downloaded {
            landing.failed(&format!("{e:#}"));
        }
        downloaded
    }
}

impl BlobFetcher for Fetcher {
    fn fetch<'a>(&'a self, blob: &'a BlobFile) -> BoxFuture<'a, anyhow::Result<u64>> {
        Box::pin(self.fetch_one(blob))
    }

    fn reference(&self) -> Option<&RegistryReference> {
        self.reference.as_ref()
    }
}
