//! The table of inputs: one entry per input, in the order `--help` lists them under each
//! heading (and in which a misspelt action input's closest match is looked for).

use super::Heading::{Build, Destinations, Gates, Image, Outputs, Repository};
use super::{BuildRole, Heading, InputKind, InputSpec};

/// An input of `push` and `merge` with one value.
const fn text(name: &'static str, heading: Heading, help: &'static str) -> InputSpec {
    InputSpec {
        name,
        kind: InputKind::Text,
        value_name: None,
        default: None,
        heading,
        help,
        verify_help: None,
        push: true,
        merge: true,
        verify: false,
        in_targets: false,
        build_role: BuildRole::None,
    }
}

/// An input of `push` and `merge` that is `true` or `false`.
const fn flag(name: &'static str, heading: Heading, help: &'static str) -> InputSpec {
    text(name, heading, help)
        .kind(InputKind::Bool)
        .value("BOOL")
}

/// An input of `push` and `merge` with one item per line.
const fn list(name: &'static str, heading: Heading, help: &'static str) -> InputSpec {
    text(name, heading, help).kind(InputKind::Repeatable)
}

impl InputSpec {
    const fn kind(mut self, kind: InputKind) -> Self {
        self.kind = kind;
        self
    }
    const fn value(mut self, value_name: &'static str) -> Self {
        self.value_name = Some(value_name);
        self
    }
    const fn default(mut self, default: &'static str) -> Self {
        self.default = Some(default);
        self
    }
    /// `push` takes it, `merge` does not (it makes or names the image).
    const fn not_merge(mut self) -> Self {
        self.merge = false;
        self
    }
    /// `verify` takes it too.
    const fn verify(mut self) -> Self {
        self.verify = true;
        self
    }
    /// `verify` takes it too, described as `help`.
    const fn verify_as(mut self, help: &'static str) -> Self {
        self.verify = true;
        self.verify_help = Some(help);
        self
    }
    const fn merge_only(mut self) -> Self {
        self.push = false;
        self
    }
    const fn verify_only(mut self) -> Self {
        self.push = false;
        self.merge = false;
        self.verify = true;
        self
    }
    const fn in_targets(mut self) -> Self {
        self.in_targets = true;
        self
    }
    const fn build(mut self, role: BuildRole) -> Self {
        self.build_role = role;
        self
    }
}

const BUILD_ONLY: BuildRole = BuildRole::BuildOnly;
const FEATURE: BuildRole = BuildRole::Feature;

/// Every input but `command`. One line each, as a table reads (long help lines included).
#[rustfmt::skip]
pub static INPUTS: &[InputSpec] = &[
    text("regions", Destinations, "AWS regions, comma- or newline-separated; the first is the primary").verify(),
    text("repository", Destinations, "ECR repository name; namespaces allowed (team-a/web-app)").verify().in_targets(),
    text("tags", Destinations, "Tags to put, comma- or newline-separated (required unless --by-digest)")
        .verify_as("Tags to resolve and verify in every region, comma- or newline-separated"),
    flag("by-digest", Destinations, "Push and verify by digest everywhere, move no tag (leave --tags out) [default: false]").default("false"),
    text("registry-id", Destinations, "AWS account ID that owns the registries [default: the caller's account]").verify().in_targets(),
    text("targets", Destinations, "YAML list of destinations {id?, region, registry-id?, repository?, role-arn?, external-id?, kms-key?, lifecycle-policy?, repository-policy?}, inline or a file path")
        .kind(InputKind::YamlList).verify(),
    text("image", Image, "Prebuilt image: oci:PATH[:REF], oci-archive:PATH[:REF], docker-archive:PATH or docker-daemon:NAME:TAG [default: build from --context]")
        .not_merge()
        .verify_as("docker://HOST/REPOSITORY[:TAG|@DIGEST]: every region must serve whole the digest this image has in its registry (the build registry), instead of tags or a digest"),
    text("builder", Build, "auto, docker, buildah or podman; auto picks docker with buildx, classic docker, buildah, then podman [default: auto]").default("auto").not_merge(),
    text("context", Build, "Build context directory, used when `image` is not given [default: .]").not_merge().build(BUILD_ONLY),
    text("file", Build, "Dockerfile [default: CONTEXT/Dockerfile, else CONTEXT/Containerfile]").not_merge().build(BUILD_ONLY),
    list("build-args", Build, "KEY=VALUE build arguments, one per line (or repeat the flag)").not_merge().build(BUILD_ONLY),
    list("labels", Build, "KEY=VALUE image labels, one per line (or repeat the flag)").not_merge().build(BUILD_ONLY),
    text("target", Build, "Dockerfile stage to build").not_merge().build(BUILD_ONLY),
    text("platforms", Build, "Platforms to build, comma-separated (linux/amd64,linux/arm64) [default: the builder's]").build(BUILD_ONLY),
    flag("provenance", Build, "Let buildx attach provenance attestations (makes an index) [default: false]").default("false").not_merge(),
    list("cache-from", Build, "Cache sources: type=registry,ref=REPO:TAG, type=gha, type=local,src=DIR, or a reference").not_merge().build(FEATURE),
    list("cache-to", Build, "Cache destinations: type=registry,ref=REPO:TAG, type=gha, type=local,dest=DIR").not_merge().build(FEATURE),
    list("secrets", Build, "Build secrets: id=ID,src=PATH or id=ID,env=VARIABLE").not_merge().build(FEATURE),
    list("ssh", Build, "SSH agent sockets or keys: default, or ID=SOCKET|KEY[,KEY]").not_merge().build(FEATURE),
    flag("sbom", Build, "Attach an SBOM attestation [default: false]").not_merge().build(FEATURE),
    list("annotations", Build, "Annotations: [LEVEL[,LEVEL]:]KEY=VALUE (manifest, index, …)").build(FEATURE),
    list("build-contexts", Build, "Extra named build contexts: NAME=DIR, NAME=docker-image://IMAGE, …").not_merge().build(FEATURE),
    flag("no-cache", Build, "Build without the builder's layer cache [default: false]").not_merge().build(FEATURE),
    flag("pull", Build, "Always pull base images, even those stored locally [default: false]").not_merge().build(FEATURE),
    flag("create-repository", Repository, "Create missing repositories with the settings below [default: false]").default("false"),
    text("image-tag-mutability", Repository, "MUTABLE, IMMUTABLE, MUTABLE_WITH_EXCLUSION or IMMUTABLE_WITH_EXCLUSION, for created repositories (and existing ones with --update-repository-settings) [default: MUTABLE]"),
    text("image-tag-mutability-exclusion-filters", Repository, "Wildcard tag filters (`latest`, `release-*`; 1 to 5) that are the exception in the *_WITH_EXCLUSION modes, comma- or newline-separated").value("FILTERS"),
    flag("scan-on-push", Repository, "Scan on push, for created repositories [default: false]"),
    text("scan", Gates, "off, report or gate: scan the pushed image before any tag moves [default: off]").default("off"),
    text("scan-severity-threshold", Gates, "CRITICAL, HIGH, MEDIUM or LOW: findings at or above it refuse a gate [default: HIGH]").value("SEVERITY").default("HIGH"),
    text("scan-destinations", Gates, "primary or all: which destinations are scanned [default: primary]").default("primary"),
    text("scan-timeout", Gates, "Seconds a destination's scan may take [default: 600]").value("SECONDS").default("600"),
    text("scan-ignore", Gates, "Finding ids to ignore (CVE or Inspector ids), each optionally `ID until=YYYY-MM-DD`, comma- or newline-separated").value("IDS"),
    flag("scan-fixable-only", Gates, "Gate only on findings with a fix available (enhanced scanning) [default: false]").default("false"),
    text("encryption-type", Repository, "AES256, KMS or KMS_DSSE, for created repositories [default: AES256]"),
    text("kms-key", Repository, "KMS key ARN or alias when encryption-type is KMS or KMS_DSSE").in_targets(),
    text("repository-tags", Repository, "KEY=VALUE resource tags for created repositories, comma- or newline-separated"),
    text("lifecycle-policy", Repository, "Lifecycle policy JSON (inline, or a file path) applied to every target repository").in_targets(),
    text("repository-policy", Repository, "Repository policy JSON (inline, or a file path) applied to every target repository").in_targets(),
    flag("update-repository-settings", Repository, "Change existing repositories' tag mutability, scan-on-push and tags to the requested values [default: false: differences are only reported]").default("false"),
    text("replication", Repository, "ignore (push to every region) or skip-replicated (let ECR replication from the primary region deliver the image where it reaches, then wait for it) [default: ignore]").default("ignore"),
    text("lock-table", Gates, "DynamoDB table of the lease lock around tag moves (none: no lock)").value("TABLE"),
    text("lock-region", Gates, "The lock table's region [default: the primary destination's region]").value("REGION"),
    text("lock-lease", Gates, "Seconds a lease lasts without renewal; renewed every third [default: 60, at least 2]").value("SECONDS").default("60"),
    text("lock-timeout", Gates, "Seconds to wait for another run's lock before failing [default: 600]").value("SECONDS").default("600"),
    text("lock-on-unavailable", Gates, "fail or proceed: when the lock's region cannot be reached [default: fail]").value("POLICY").default("fail"),
    flag("lock-create-table", Gates, "Create the lock table when it is missing [default: false]").default("false"),
    text("signing-timeout", Gates, "Seconds to wait at a destination whose registry signs the image (ECR managed signing) for its signature before any tag moves [default: 600]").value("SECONDS").default("600"),
    text("tag-order", Gates, "any or newer: never move a tag to an older image [default: any]").value("ORDER").default("any"),
    flag("dry-run", Destinations, "Plan only: read what is there, write nothing anywhere [default: false]").default("false"),
    flag("verify", Gates, "Deep-verify every region before tagging [default: true]").default("true"),
    text("concurrency", Destinations, "Concurrent blob uploads per region [default: 4]").default("4")
        .verify_as("Concurrent blob checks per region, 1 to 64 [default: 4]"),
    text("stall-timeout", Destinations, "Seconds a registry request may go without progress before it fails [default: 60]").value("SECONDS").default("60"),
    text("mount-from", Destinations, "Repository of the same registry to mount blobs from instead of uploading them").value("REPOSITORY").not_merge(),
    text("source-registry-endpoint", Image, "URL to reach a docker:// image's registry at instead of its host (VPC endpoints)").value("URL").not_merge()
        .verify_as("The URL to reach `image`'s registry at instead of its host"),
    text("source-role-arn", Image, "With a docker:// image in ECR: a role to read it with (STS AssumeRole)").value("ARN").not_merge(),
    text("source-external-id", Image, "The external id `source-role-arn`'s trust policy asks for").value("ID").not_merge(),
    text("ecs-task-definition", Outputs, "Task definition JSON to render per region: one path, or REGION=PATH pairs"),
    text("ecs-container-name", Outputs, "Container(s) whose `image` is set, comma-separated; required with ecs-task-definition"),
    text("image-uri-format", Outputs, "digest (REPO@sha256:…), tag (REPO:TAG) or tag-and-digest (REPO:TAG@sha256:…) [default: digest]").default("digest")
        .verify_as("digest, tag or tag-and-digest: how URIs in the outputs name the image [default: digest]"),
    flag("lambda-compatible", Gates, "Refuse images AWS Lambda cannot run; a one-platform index is pushed as its one manifest [default: false]").default("false"),
    text("attestations", Gates, "index (BuildKit attestation manifests stay in the index) or referrers (they become referrers of their platform manifests; a one-platform build is pushed as its single manifest) [default: index]").default("index"),
    text("registry-endpoints", Destinations, "REGION=URL pairs overriding a region's registry endpoint (VPC endpoints, proxies, tests)").verify(),
    text("endpoint-style", Destinations, "standard, fips or dualstack registry host names [default: standard]").default("standard").verify(),
    flag("json", Outputs, "Print one JSON report on stdout [default: false]").default("false").verify(),
    text("dotenv-file", Outputs, "Write outputs to this dotenv file (GitLab `artifacts: reports: dotenv`)").verify(),
    flag("summary", Outputs, "Write a GitHub step summary when GITHUB_STEP_SUMMARY is set [default: true]").default("true").verify(),
    text("sources", Image, "Digests of the per-platform images (sha256:…), comma- or newline-separated").merge_only(),
    text("sources-from", Image, "A file of digests (one per line) or a directory of per-job artifacts named after them (sha256-HEX, sha256:HEX or HEX) or holding one").value("PATH").merge_only(),
    flag("allow-mixed-revisions", Image, "Merge images built from different `org.opencontainers.image.revision`s [default: false]").default("false").merge_only(),
    text("digest", Image, "The image digest (sha256:…) every region must serve whole, instead of tags").verify_only(),
    text("require-referrers", Gates, "Referrers every region must list for the image: signature, sbom, provenance or an artifact type, comma-separated (exit 3 naming the region that lacks one)").value("TYPES").verify_only(),
];
