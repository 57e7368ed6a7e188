//! The command line (clap derive). Flags carry the inputs' names and are kept as strings
//! here; `RawInputs` → `Config` validates them, so CLI flags and GitHub inputs fail alike.

use clap::{Args, Parser, Subcommand};

use super::raw::RawInputs;

/// The environment variable that turns wire tracing on, as `--trace-wire` does (any value
/// but empty, `0`, `false`, `no` or `off`). Not
/// `ECR_FANOUT_*`: that prefix belongs to the dotenv outputs, which never steer a run.
pub const TRACE_WIRE_VAR: &str = "ECRFANOUT_TRACE_WIRE";

/// Build or read a container image, push the same bytes to Amazon ECR in several regions,
/// verify every region, then move the tags.
#[derive(Debug, Parser)]
#[command(name = "ecr-fanout", version, about, long_about = None)]
pub struct Cli {
    /// More log detail on stderr (-v debug, -vv trace). `RUST_LOG` overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Also log HTTP requests and responses of the AWS SDK and the HTTP stack at trace level
    /// (off otherwise, even with -vv or RUST_LOG=trace). Known secrets and credential fields
    /// are still redacted; keep such a log private.
    #[arg(long, global = true, env = TRACE_WIRE_VAR,
          value_parser = clap::builder::FalseyValueParser::new())]
    pub trace_wire: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Plan, push to every region, verify, tag, and write outputs.
    Push(Box<PushArgs>),
    /// What action.yml runs: read every input from `INPUT_<NAME>` variables, then push.
    Action,
    /// Join per-platform images that earlier jobs pushed by digest into one multi-platform
    /// index in every destination: copy what a destination lacks, verify, then tag.
    Merge(Box<MergeArgs>),
    /// Deep-verify an image already in the registries: every region serves it whole, and the
    /// same digest everywhere (failover drills, replication checks).
    Verify(Box<super::verify::VerifyArgs>),
}

/// Inputs of `push`; every flag is also an action input and a `targets` key where it applies.
#[derive(Debug, Args)]
pub struct PushArgs {
    #[command(flatten)]
    pub destination: super::shared_args::DestinationArgs,
    /// Tags to put, comma- or newline-separated (required unless --by-digest).
    #[arg(long)]
    pub tags: Option<String>,
    /// Push and verify by digest everywhere, move no tag (leave --tags out) [default: false].
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub by_digest: Option<String>,
    /// Prebuilt image: oci:PATH[:REF], oci-archive:PATH[:REF], docker-archive:PATH or
    /// docker-daemon:NAME:TAG [default: build from --context].
    #[arg(long)]
    pub image: Option<String>,
    #[command(flatten)]
    pub build: super::build::BuildArgs,
    /// Create missing repositories with the settings below [default: false].
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub create_repository: Option<String>,
    /// MUTABLE, IMMUTABLE, MUTABLE_WITH_EXCLUSION or IMMUTABLE_WITH_EXCLUSION, for created
    /// repositories (and existing ones with --update-repository-settings) [default: MUTABLE].
    #[arg(long)]
    pub image_tag_mutability: Option<String>,
    /// Wildcard tag filters (`latest`, `release-*`; 1 to 5) that are the exception in the
    /// *_WITH_EXCLUSION modes, comma- or newline-separated.
    #[arg(long, value_name = "FILTERS")]
    pub image_tag_mutability_exclusion_filters: Option<String>,
    /// Scan on push, for created repositories [default: false].
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub scan_on_push: Option<String>,
    /// AES256, KMS or KMS_DSSE, for created repositories [default: AES256].
    #[arg(long)]
    pub encryption_type: Option<String>,
    /// KMS key ARN or alias when encryption-type is KMS or KMS_DSSE.
    #[arg(long)]
    pub kms_key: Option<String>,
    /// KEY=VALUE resource tags for created repositories, comma- or newline-separated.
    #[arg(long)]
    pub repository_tags: Option<String>,
    #[command(flatten)]
    pub management: super::management::RepositoryManagementArgs,
    #[command(flatten)]
    pub handoff: super::handoff::HandoffArgs,
    #[command(flatten)]
    pub scan: super::scan::ScanArgs,
    #[command(flatten)]
    pub lock: super::lock::LockArgs,
    /// Plan only: read what is there, write nothing anywhere [default: false].
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub dry_run: Option<String>,
    /// Deep-verify every region before tagging [default: true].
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub verify: Option<String>,
    /// Concurrent blob uploads per region [default: 4].
    #[arg(long)]
    pub concurrency: Option<String>,
    /// Repository of the same registry to mount blobs from instead of uploading them.
    #[arg(long, value_name = "REPOSITORY")]
    pub mount_from: Option<String>,
    /// Seconds a registry request may go without progress before it fails [default: 60].
    #[arg(long, value_name = "SECONDS")]
    pub stall_timeout: Option<String>,
    /// URL to reach a docker:// image's registry at instead of its host (VPC endpoints).
    #[arg(long, value_name = "URL")]
    pub source_registry_endpoint: Option<String>,
    /// With a docker:// image in ECR: a role to read it with (STS AssumeRole).
    #[arg(long, value_name = "ARN")]
    pub source_role_arn: Option<String>,
    /// The external id `source-role-arn`'s trust policy asks for.
    #[arg(long, value_name = "ID")]
    pub source_external_id: Option<String>,
    #[command(flatten)]
    pub report: super::shared_args::ReportArgs,
}

/// Inputs of `merge`: those of `push` (destinations, tags, repository settings, outputs) and
/// the per-platform images to join. Inputs that make the image (`image`, `context`, build
/// inputs) are refused.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Digests of the per-platform images (sha256:…), comma- or newline-separated.
    #[arg(long)]
    pub sources: Option<String>,
    /// A file of digests (one per line) or a directory of per-job artifacts named after them
    /// (sha256-HEX, sha256:HEX or HEX) or holding one.
    #[arg(long, value_name = "PATH")]
    pub sources_from: Option<String>,
    /// Merge images built from different `org.opencontainers.image.revision`s [default: false].
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub allow_mixed_revisions: Option<String>,
    #[command(flatten)]
    pub push: PushArgs,
}

impl MergeArgs {
    /// The flags as raw inputs under their design names.
    pub fn into_raw(self) -> RawInputs {
        let mut raw = self.push.into_raw();
        raw.set("sources", self.sources);
        raw.set("sources-from", self.sources_from);
        raw.set("allow-mixed-revisions", self.allow_mixed_revisions);
        raw
    }
}

impl PushArgs {
    /// The flags as raw inputs under their design names.
    pub fn into_raw(self) -> RawInputs {
        let mut raw = RawInputs::default();
        self.management.add_to(&mut raw);
        self.handoff.add_to(&mut raw);
        self.scan.add_to(&mut raw);
        self.lock.add_to(&mut raw);
        self.build.add_to(&mut raw);
        self.destination.add_to(&mut raw);
        self.report.add_to(&mut raw);
        let pairs = [
            ("tags", self.tags),
            ("by-digest", self.by_digest),
            ("image", self.image),
            ("create-repository", self.create_repository),
            ("image-tag-mutability", self.image_tag_mutability),
            (
                "image-tag-mutability-exclusion-filters",
                self.image_tag_mutability_exclusion_filters,
            ),
            ("scan-on-push", self.scan_on_push),
            ("encryption-type", self.encryption_type),
            ("kms-key", self.kms_key),
            ("repository-tags", self.repository_tags),
            ("dry-run", self.dry_run),
            ("verify", self.verify),
            ("concurrency", self.concurrency),
            ("stall-timeout", self.stall_timeout),
            ("mount-from", self.mount_from),
            ("source-registry-endpoint", self.source_registry_endpoint),
            ("source-role-arn", self.source_role_arn),
            ("source-external-id", self.source_external_id),
        ];
        for (name, value) in pairs {
            raw.set(name, value);
        }
        raw
    }
}
