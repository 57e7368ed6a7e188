//! The plan: per region, log in, look the repository up, read each tag's current digest and
//! check which manifests and blobs are already there. Reads only. Refuses early (before any
//! upload anywhere) when a repository is missing and may not be created, or when a tag that the
//! repository's mode and exclusion filters make immutable already points at another digest.

use futures::StreamExt;
use futures::future::join_all;

use super::options::PlanOptions;
use super::repository::plan::{plan_changes, tag_rules_of};
use super::session::RegionSession;
use super::signing::{SigningPlan, plan_signing};
use crate::config::TagRules;
use crate::ecr::RepositoryState;
use crate::image::{Digest, LocalImage};
use crate::report::RepositoryAction;
use crate::report::{TagAction, TagPlan};

/// One region's plan.
pub struct RegionPlan {
    pub repository: RepositoryAction,
    /// Indexes into `LocalImage::blobs` of blobs the region lacks.
    pub missing_blobs: Vec<usize>,
    /// Manifests (children and top) the region lacks, in push order.
    pub missing_manifests: Vec<Digest>,
    pub tags: Vec<TagPlan>,
    /// What could not be checked, and why (dry run without credentials).
    pub unchecked: Vec<String>,
    /// A reason this region refuses the run (missing repository, immutable tag).
    pub refusal: Option<String>,
    /// Settings, policies and replication for the repository (planned in `repository_plan`,
    /// made by `repository`).
    pub changes: crate::report::RepositoryChanges,
    /// Whether ECR managed signing signs the image there (waited for before verification).
    pub signing: SigningPlan,
}

impl RegionPlan {
    /// Bytes of the blobs phase 1 sends there.
    pub fn bytes_to_upload(&self, image: &LocalImage) -> u64 {
        self.blobs_to_send()
            .iter()
            .map(|&i| image.blobs[i].size)
            .sum()
    }

    /// Whether ECR replication delivers the image there instead of this run
    /// (`replication: skip-replicated`).
    pub fn left_to_replication(&self) -> bool {
        self.changes.is_replicated()
    }

    /// The blobs phase 1 sends there (indexes into `LocalImage::blobs`).
    pub fn blobs_to_send(&self) -> &[usize] {
        if self.left_to_replication() {
            &[]
        } else {
            &self.missing_blobs
        }
    }

    /// The manifests phase 1 puts there by digest, in push order.
    pub fn manifests_to_put(&self) -> &[Digest] {
        if self.left_to_replication() {
            &[]
        } else {
            &self.missing_manifests
        }
    }

    /// The tags phase 2 puts there.
    pub fn tags_to_put(&self) -> &[TagPlan] {
        if self.left_to_replication() {
            &[]
        } else {
            &self.tags
        }
    }
}

/// Plans one region. Errors are operational (network, AWS); refusals are recorded.
pub async fn plan_region(
    session: &mut RegionSession,
    options: &PlanOptions<'_>,
    image: &LocalImage,
    credentials_problem: Option<&str>,
) -> anyhow::Result<RegionPlan> {
    let mut plan = RegionPlan {
        repository: RepositoryAction::Unchecked,
        missing_blobs: (0..image.blobs.len()).collect(),
        missing_manifests: image
            .manifests_in_push_order()
            .map(|m| m.digest.clone())
            .collect(),
        tags: options
            .tags
            .iter()
            .map(|t| tag_plan(t, TagAction::Unknown))
            .collect(),
        unchecked: Vec::new(),
        refusal: None,
        changes: Default::default(),
        signing: SigningPlan::Off,
    };
    if let Some(problem) = credentials_problem {
        plan.unchecked.push(format!(
            "registry login, repository, tags and blob presence ({})",
            problem.split(" (").next().unwrap_or(problem)
        ));
        return Ok(plan);
    }
    // Login, repository lookup and the signing configuration are independent: one round trip
    // to the region, not three.
    let ecr = session.ecr.clone();
    let repository = session.target.repository.clone();
    let (login, state, signing) = tokio::join!(
        session.log_in(options.endpoint_style),
        ecr.describe_repository(&repository),
        ecr.signing_configuration()
    );
    login?;
    let state = state?;
    plan.signing = plan_signing(signing?, session);
    plan.repository = match state {
        RepositoryState::Exists(info) => super::repository::plan::existing(&info),
        RepositoryState::Missing if options.repository.create => RepositoryAction::Create,
        RepositoryState::Missing => {
            plan.refusal = Some(format!(
                "{}: repository {} does not exist (hint: set create-repository: true, or \
                 create it)",
                session.target.place(),
                session.target.repository
            ));
            RepositoryAction::Missing
        }
    };
    plan.changes = plan_changes(session, options, &plan.repository).await?;
    let Some(rules) = tag_rules_of(&plan.repository) else {
        plan.tags = options
            .tags
            .iter()
            .map(|t| tag_plan(t, TagAction::Create))
            .collect();
        return Ok(plan);
    };
    session.connect_registry(&options.client)?;
    let state = read_region_state(session, options, image).await?;
    plan.tags = state.tags;
    plan.missing_manifests = state.missing_manifests;
    plan.missing_blobs = state.missing_blobs;
    plan.refusal = immutable_conflict(&plan.tags, &rules, &session.describe(), &image.top.digest);
    Ok(plan)
}

/// What a region's registry holds already.
struct RegionState {
    tags: Vec<TagPlan>,
    missing_manifests: Vec<Digest>,
    missing_blobs: Vec<usize>,
}

/// Reads tags, manifest presence and blob presence from the registry, all at once (one round
/// trip to the region; blob HEADs `concurrency` × 2 at a time).
async fn read_region_state(
    session: &RegionSession,
    options: &PlanOptions<'_>,
    image: &LocalImage,
) -> anyhow::Result<RegionState> {
    let client = session.registry()?;
    let where_ = session.describe();
    let where_ = where_.as_str();
    let tags = read_tags(session, options.tags, &image.top.digest);
    let manifests = join_all(image.manifests_in_push_order().map(|manifest| async move {
        let present = client
            .manifest_exists(manifest.digest.as_str())
            .await
            .map_err(|e| anyhow::anyhow!("{where_}: check manifest {}: {e}", manifest.digest))?;
        anyhow::Ok((!present).then(|| manifest.digest.clone()))
    }));
    let blobs = futures::stream::iter(image.blobs.iter().enumerate())
        .map(|(i, blob)| async move {
            let exists = client.blob_exists(&blob.digest).await.map_err(|e| {
                anyhow::anyhow!("{where_}: check blob {}: {e}", image.blobs[i].digest)
            })?;
            anyhow::Ok((!exists).then_some(i))
        })
        .buffered(options.concurrency * 2)
        .collect::<Vec<_>>();
    let (tags, manifests, blobs) = tokio::join!(tags, manifests, blobs);
    let tags = tags?;
    let missing_manifests = manifests
        .into_iter()
        .filter_map(Result::transpose)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let missing_blobs = blobs
        .into_iter()
        .filter_map(Result::transpose)
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(RegionState {
        tags,
        missing_manifests,
        missing_blobs,
    })
}

/// Reads every tag's current digest, all at once: what phase 2 does to it.
pub(super) async fn read_tags(
    session: &RegionSession,
    tags: &[String],
    ours: &Digest,
) -> anyhow::Result<Vec<TagPlan>> {
    let client = session.registry()?;
    let reads = tags.iter().map(|tag| async move {
        let current = client
            .get_manifest(tag)
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "{}, tag {tag}: read the tag's current digest: {e}",
                    session.describe()
                )
            })?
            .map(|m| m.digest);
        let action = match &current {
            None => TagAction::Create,
            Some(d) if d == ours => TagAction::Unchanged,
            Some(_) => TagAction::Move,
        };
        anyhow::Ok(TagPlan {
            tag: tag.clone(),
            current,
            action,
        })
    });
    join_all(reads).await.into_iter().collect()
}

/// A tag that ECR would refuse to move (by the repository's mode and exclusion filters, as
/// ECR matches them): refuse now, before anything is uploaded anywhere. A tag already at this
/// digest is fine in every mode: phase 2 skips it.
pub(super) fn immutable_conflict(
    tags: &[TagPlan],
    rules: &TagRules,
    where_: &str,
    digest: &Digest,
) -> Option<String> {
    let conflicts: Vec<String> = tags
        .iter()
        .filter_map(|tag| {
            let current = tag.current.as_ref().filter(|c| *c != digest)?;
            rules.decide(&tag.tag).immutable.then(|| {
                format!(
                    "tag {} is immutable ({}) and already points at {current}",
                    tag.tag,
                    rules.explain(&tag.tag)
                )
            })
        })
        .collect();
    (!conflicts.is_empty()).then(|| {
        format!(
            "{where_}: {}; this image is {digest} (hint: use a new tag, such as the commit SHA)",
            conflicts.join("; ")
        )
    })
}

fn tag_plan(tag: &str, action: TagAction) -> TagPlan {
    TagPlan {
        tag: tag.to_string(),
        current: None,
        action,
    }
}
