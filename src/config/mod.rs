//! Configuration: CLI flags, GitHub inputs and the `targets` YAML all become one validated
//! [`Config`] before anything touches the network. Validation errors are [`InputError`]s
//! (exit 2) that name the input and say what would be valid.
//!
//! [`InputError`]: crate::error::InputError

pub mod action_env;
pub mod build;
pub mod build_features;
pub mod cache_registries;
pub mod ci_environment;
pub mod cli;
pub mod handoff;
pub mod inputs;
mod lifecycle;
pub mod lock;
pub mod management;
pub mod merge;
pub mod names;
pub mod policy_input;
pub mod raw;
mod resolve;
pub mod scan;
pub mod tag_mutability;
pub mod tag_references;
pub mod targets;
pub mod verify;

use std::path::PathBuf;

pub use resolve::{resolve, resolve_merge};
pub use tag_mutability::{TagMutability, TagRules};

/// Everything `push` needs, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// A prebuilt image, or the build that makes it.
    pub image: build::ImageInput,
    /// The destinations, primary first; ids are unique.
    pub targets: Vec<Target>,
    /// Tags to put everywhere: the bare tags and those of references naming a destination.
    pub tags: Vec<String>,
    /// `tags` references that named no destination of the run (other registries), as written.
    pub ignored_tag_references: Vec<String>,
    pub repository_settings: RepositorySettings,
    /// Policies, settings updates and replication handling for every target repository.
    pub management: management::RepositoryManagement,
    /// Plan only; nothing is written anywhere.
    pub dry_run: bool,
    /// Deep-verify every region before tagging.
    pub verify: bool,
    /// Concurrent blob uploads per region.
    pub concurrency: usize,
    /// How long a registry request may make no progress before it fails.
    pub stall_timeout: std::time::Duration,
    /// A repository in each target's registry to mount missing blobs from.
    pub mount_from: Option<String>,
    /// `source-registry-endpoint`: the URL of a `docker://` image's registry.
    pub source_endpoint: Option<String>,
    /// `source-role-arn`: an ECR source is read with this role's credentials.
    pub source_role: Option<AssumedRole>,
    pub endpoint_style: EndpointStyle,
    pub outputs: OutputOptions,
    /// URI format, Lambda checks and ECS task definitions for the deploy step.
    pub handoff: handoff::HandoffOptions,
    /// The vulnerability scan before any tag moves.
    pub scan: scan::ScanOptions,
    /// The DynamoDB lease lock around phase 2 and the convergence check (`lock-table`).
    pub lock: Option<lock::LockOptions>,
    /// Whether a tag may move to an older image (`tag-order`).
    pub tag_order: lock::TagOrder,
    /// How long ECR managed signing may take at a destination (`signing-timeout`).
    pub signing_timeout: std::time::Duration,
}

/// One destination: a repository in one account's registry in one region.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Target {
    /// Names the destination in every output: the region when it appears once in the run,
    /// else the `targets` entry's `id`.
    pub id: String,
    pub region: String,
    pub repository: String,
    /// The account owning the registry; `None` means the caller's (or the role's account).
    pub registry_id: Option<String>,
    /// `registry-endpoints` override: base URL such as `http://127.0.0.1:5000`.
    pub endpoint_override: Option<String>,
    /// `role-arn`: this destination's ECR calls and login use the role's credentials.
    pub role: Option<AssumedRole>,
    /// `kms-key` for a repository created here, instead of the run's.
    pub kms_key: Option<String>,
    /// `lifecycle-policy` here, instead of the run's.
    pub lifecycle_policy: Option<policy_input::PolicyDocument>,
    /// `repository-policy` here, instead of the run's.
    pub repository_policy: Option<policy_input::PolicyDocument>,
}

/// An IAM role a destination's calls assume (STS AssumeRole on top of the default chain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumedRole {
    pub arn: String,
    /// The account in the ARN: the destination's registry unless `registry-id` says otherwise.
    pub account: String,
    pub external_id: Option<crate::secret::Secret>,
    /// The STS session name (`ecr-fanout-<run id>`, see [`name_role_sessions`]).
    pub session_name: String,
}

/// Sets every role's session name (the run's id comes from the CI environment, which the
/// commands read; until then it is `ecr-fanout`).
pub fn name_role_sessions<'a>(
    roles: impl IntoIterator<Item = &'a mut AssumedRole>,
    session_name: &str,
) {
    for role in roles {
        role.session_name = session_name.to_string();
    }
}

impl Target {
    /// `region R, repository REPO` when the id is the region; else `destination ID (region R,
    /// account A, repository REPO)`. For error lines and logs.
    pub fn describe(&self) -> String {
        if self.id == self.region {
            format!("region {}, repository {}", self.region, self.repository)
        } else {
            let account = self
                .registry_id
                .as_deref()
                .unwrap_or("the caller's account");
            format!(
                "destination {} (region {}, account {account}, repository {})",
                self.id, self.region, self.repository
            )
        }
    }

    /// `region R`, or `destination ID (region R, account A)` when the id is not the region.
    pub fn place(&self) -> String {
        if self.id == self.region {
            format!("region {}", self.region)
        } else {
            let account = self
                .registry_id
                .as_deref()
                .unwrap_or("the caller's account");
            format!(
                "destination {} (region {}, account {account})",
                self.id, self.region
            )
        }
    }

    /// Whether both name the same repository (same account, region and name).
    pub fn same_repository(&self, other: &Target) -> bool {
        self.region == other.region
            && self.repository == other.repository
            && self.registry_id == other.registry_id
    }
}

/// Settings for repositories that `create-repository` creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositorySettings {
    pub create: bool,
    /// Tag mutability mode and exclusion filters.
    pub tag_rules: TagRules,
    pub scan_on_push: bool,
    pub encryption: Encryption,
    pub tags: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encryption {
    Aes256,
    Kms { key: Option<String> },
    KmsDsse { key: Option<String> },
}

/// How registry host names are spelled in outputs and, without an override, for transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointStyle {
    /// `ACCOUNT.dkr.ecr.REGION.amazonaws.com`
    Standard,
    /// `ACCOUNT.dkr.ecr-fips.REGION.amazonaws.com`
    Fips,
    /// `ACCOUNT.dkr-ecr.REGION.on.aws`
    Dualstack,
}

/// Where results go besides the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputOptions {
    /// One JSON report on stdout.
    pub json: bool,
    pub dotenv_file: Option<PathBuf>,
    /// GitHub step summary, when `GITHUB_STEP_SUMMARY` is set.
    pub summary: bool,
}

impl Config {
    pub fn primary(&self) -> &Target {
        &self.targets[0]
    }
}
