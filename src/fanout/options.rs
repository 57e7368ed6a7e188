//! What each phase of `push` needs from the configuration, taken apart once at the start of
//! the run: a phase sees its own options, not the whole [`Config`].

use crate::config::lock::{LockOptions, OnUnavailable, TagOrder};
use crate::config::management::RepositoryManagement;
use crate::config::scan::ScanOptions;
use crate::config::{Config, EndpointStyle, RepositorySettings};
use crate::registry::ClientOptions;

/// The plan's options: which tags, which repository settings, how hard to probe.
pub struct PlanOptions<'a> {
    pub tags: &'a [String],
    pub repository: &'a RepositorySettings,
    pub management: &'a RepositoryManagement,
    /// Blob presence checks run `concurrency × 2` at a time.
    pub concurrency: usize,
    pub client: ClientOptions,
    pub endpoint_style: EndpointStyle,
}

/// Phase 1's options: repository creation and changes, mounts, how many blobs at once.
pub struct UploadOptions<'a> {
    pub repository: &'a RepositorySettings,
    pub management: &'a RepositoryManagement,
    pub mount_from: Option<&'a str>,
    /// Large blobs in flight at once (each to every region that needs it).
    pub concurrency: usize,
    pub client: ClientOptions,
}

/// Every phase's options, and what decides which phases run.
pub struct PhaseOptions<'a> {
    pub plan: PlanOptions<'a>,
    pub upload: UploadOptions<'a>,
    /// Nothing is written: the run ends after the plan.
    pub dry_run: bool,
    /// Verification's concurrency, when every region is deep-verified before tagging.
    pub verify: Option<usize>,
    /// The tags phase 2 puts and the convergence check reads.
    pub tags: &'a [String],
    /// The scan gate between verification and phase 2.
    pub scan: &'a ScanOptions,
    /// The lease lock around phase 2 and the convergence check.
    pub lock: Option<&'a LockOptions>,
    /// Whether a tag may move to an older image.
    pub tag_order: TagOrder,
    /// How long ECR managed signing may take at a destination before the run fails.
    pub signing_timeout: std::time::Duration,
}

impl<'a> PhaseOptions<'a> {
    pub fn of(config: &'a Config) -> Self {
        let client = ClientOptions {
            stall_timeout: config.stall_timeout,
            ..ClientOptions::default()
        };
        Self {
            plan: PlanOptions {
                tags: &config.tags,
                repository: &config.repository_settings,
                management: &config.management,
                concurrency: config.concurrency,
                client: client.clone(),
                endpoint_style: config.endpoint_style,
            },
            upload: UploadOptions {
                repository: &config.repository_settings,
                management: &config.management,
                mount_from: config.mount_from.as_deref(),
                concurrency: config.concurrency,
                client,
            },
            dry_run: config.dry_run,
            verify: config.verify.then_some(config.concurrency),
            tags: &config.tags,
            scan: &config.scan,
            lock: config.lock.as_ref(),
            tag_order: config.tag_order,
            signing_timeout: config.signing_timeout,
        }
    }

    /// Whether the tags move without the lock when its region cannot be reached.
    pub fn lock_proceeds_when_unavailable(&self) -> bool {
        self.lock
            .is_some_and(|l| l.on_unavailable == OnUnavailable::Proceed)
    }

    /// Whether the run changes repository settings or policies anywhere.
    pub fn manages_repositories(&self) -> bool {
        let management = self.plan.management;
        management.lifecycle_policy.is_some()
            || management.repository_policy.is_some()
            || management.explicit.any()
    }
}
