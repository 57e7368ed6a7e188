//! The build-push-action inputs (`cache-from`, `cache-to`, `secrets`, `ssh`, `sbom`,
//! `annotations`, `build-contexts`, `no-cache`, `pull`) translated into each builder's flags,
//! or refused (exit 2, naming the builder and the input) where that builder cannot do it.
//! What buildah and podman can do is read from their `build --help` (flags came and changed
//! between versions: Debian's buildah 1.28 has no `--sbom`); buildx is judged by its version
//! and driver.

use super::FeatureFlags;
use super::buildah::ContainersTool;
use super::buildx::BuildxInfo;
use super::stream::{ToolCommand, run_captured};
use crate::config::build_features::{Annotation, BuildFeatures, CacheKind, CacheSpec};
use crate::config::tag_references::ecr_host_parts;
use crate::error::InputError;
use crate::registry::is_loopback_host;

/// What `TOOL build --help` and `TOOL --version` said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainersHelp {
    /// `buildah version 1.28.2 (…)`, the first line of `--version`.
    pub version: String,
    pub help: String,
}

impl ContainersHelp {
    /// Whether `build --help` lists `flag` (`--sbom`), as a whole word.
    pub fn has(&self, flag: &str) -> bool {
        self.help
            .split_whitespace()
            .any(|word| word.trim_end_matches(',') == flag || word.starts_with(&format!("{flag}=")))
    }

    /// buildah ≥ 1.24 and podman ≥ 4: `--pull` takes a policy word (`always`, `never`, …);
    /// earlier ones have a boolean `--pull` and a separate `--pull-always`.
    fn pull_takes_a_policy(&self) -> bool {
        !self.has("--pull-always")
    }
}

/// Asks `TOOL --version` and `TOOL build --help`.
pub async fn probe_containers(tool: ContainersTool) -> anyhow::Result<ContainersHelp> {
    let program = tool.program();
    let version = run_captured(&ToolCommand::new(program).arg("--version"))
        .await
        .map_err(|why| anyhow::anyhow!("`{program} --version` failed: {why}"))?;
    let help = run_captured(&ToolCommand::new(program).args(["build", "--help"]))
        .await
        .map_err(|why| anyhow::anyhow!("`{program} build --help` failed: {why}"))?;
    Ok(ContainersHelp {
        version: version.lines().next().unwrap_or_default().trim().to_owned(),
        help,
    })
}

fn refused(input: &'static str, builder: &str, why: &str) -> InputError {
    InputError::new(input, format!("{builder} cannot do this: {why}"))
}

/// docker buildx: every input, as buildx spells it; `sbom` needs buildx 0.10, `annotations`
/// 0.12, and both a builder that exports OCI (not the `docker` driver), as does `cache-to`
/// other than `type=inline`.
pub fn buildx_flags(
    info: &BuildxInfo,
    features: &BuildFeatures,
) -> Result<FeatureFlags, InputError> {
    let name = format!("docker buildx {}", info.version);
    let docker_driver = info.driver == "docker";
    let mut flags = FeatureFlags::default();
    for spec in &features.cache_from {
        flags.flag("--cache-from", spec.to_buildx());
    }
    for spec in &features.cache_to {
        if docker_driver && spec.kind != CacheKind::Inline {
            return Err(refused(
                "cache-to",
                &name,
                "the `docker` driver exports only type=inline cache; create a builder with \
                 `docker buildx create --use`, or use builder: buildah",
            ));
        }
        flags.flag("--cache-to", with_ecr_cache_defaults(spec).to_buildx());
    }
    common_buildkit_flags(&mut flags, features);
    if features.pull {
        flags.switch("--pull");
    }
    if features.sbom {
        if !info.at_least(0, 10) || docker_driver {
            return Err(refused(
                "sbom",
                &name,
                "SBOM attestations need buildx 0.10 or later on a builder that exports OCI (not \
                 the `docker` driver)",
            ));
        }
        flags.switch("--sbom=true");
    }
    if !features.annotations.is_empty() && (!info.at_least(0, 12) || docker_driver) {
        return Err(refused(
            "annotations",
            &name,
            "--annotation needs buildx 0.12 or later on a builder that exports OCI (not the \
             `docker` driver)",
        ));
    }
    for annotation in &features.annotations {
        flags.flag("--annotation", annotation.to_buildx());
    }
    Ok(flags)
}

/// `--secret`, `--ssh`, `--build-context`, `--no-cache`, `--pull`: what buildx and buildah
/// spell alike (buildah's `--pull` aside).
fn common_buildkit_flags(flags: &mut FeatureFlags, features: &BuildFeatures) {
    for secret in &features.secrets {
        flags.flag("--secret", secret.to_flag_value());
    }
    for agent in &features.ssh {
        flags.flag("--ssh", agent.clone());
    }
    for (name, value) in &features.build_contexts {
        flags.flag("--build-context", format!("{name}={value}"));
    }
    if features.no_cache {
        flags.switch("--no-cache");
    }
}

/// A registry cache in an ECR repository gets `image-manifest=true,oci-mediatypes=true`
/// (ECR refuses BuildKit's default cache manifest) unless the line sets them.
fn with_ecr_cache_defaults(spec: &CacheSpec) -> CacheSpec {
    let mut spec = spec.clone();
    let in_ecr = spec.kind == CacheKind::Registry
        && spec
            .attribute("ref")
            .is_some_and(|r| ecr_registry_of(r).is_some());
    if in_ecr {
        for key in ["image-manifest", "oci-mediatypes"] {
            if spec.attribute(key).is_none() {
                spec.attributes.push((key.to_owned(), "true".to_owned()));
            }
        }
    }
    spec
}

/// `(host, account, region)` when `reference` is in an ECR registry.
pub fn ecr_registry_of(reference: &str) -> Option<(String, String, String)> {
    let host = reference.split_once('/')?.0.to_ascii_lowercase();
    let (account, region) = ecr_host_parts(&host)?;
    let (account, region) = (account.to_owned(), region.to_owned());
    Some((host, account, region))
}

/// Classic docker: `--cache-from IMAGE`, `--no-cache`, `--pull`; everything that needs
/// BuildKit is refused.
pub fn classic_flags(features: &BuildFeatures) -> Result<FeatureFlags, InputError> {
    let name = "docker (classic builder)";
    let needs_buildkit =
        "it needs BuildKit; use docker buildx (unset DOCKER_BUILDKIT=0), buildah or podman";
    let unsupported = [
        ("cache-to", !features.cache_to.is_empty()),
        ("secrets", !features.secrets.is_empty()),
        ("ssh", !features.ssh.is_empty()),
        ("sbom", features.sbom),
        ("annotations", !features.annotations.is_empty()),
        ("build-contexts", !features.build_contexts.is_empty()),
    ];
    if let Some((input, _)) = unsupported.iter().find(|(_, asked)| *asked) {
        return Err(refused(input, name, needs_buildkit));
    }
    let mut flags = FeatureFlags::default();
    for spec in &features.cache_from {
        let reference = registry_ref(spec).ok_or_else(|| {
            refused(
                "cache-from",
                name,
                "it reads cache only from an image (type=registry,ref=IMAGE)",
            )
        })?;
        flags.flag("--cache-from", reference);
    }
    if features.no_cache {
        flags.switch("--no-cache");
    }
    if features.pull {
        flags.switch("--pull");
    }
    Ok(flags)
}

fn registry_ref(spec: &CacheSpec) -> Option<&str> {
    (spec.kind == CacheKind::Registry)
        .then(|| spec.attribute("ref"))
        .flatten()
}

/// buildah and podman, as far as their `build --help` goes: caches are repositories
/// (`--cache-from REPO`, `--cache-to REPO`, with `--layers`), annotations go on the image
/// manifest only, and `pull` is the policy `always`.
pub fn containers_flags(
    tool: ContainersTool,
    help: &ContainersHelp,
    features: &BuildFeatures,
) -> Result<FeatureFlags, InputError> {
    let name = if help.version.is_empty() {
        tool.program().to_owned()
    } else {
        help.version.clone()
    };
    let needs = |input: &'static str, flag: &str| -> Result<(), InputError> {
        if help.has(flag) {
            Ok(())
        } else {
            Err(refused(
                input,
                &name,
                &format!("its `build` has no {flag} (a newer version has)"),
            ))
        }
    };
    let asked = [
        (
            "cache-from",
            "--cache-from",
            !features.cache_from.is_empty(),
        ),
        ("cache-to", "--cache-to", !features.cache_to.is_empty()),
        ("secrets", "--secret", !features.secrets.is_empty()),
        ("ssh", "--ssh", !features.ssh.is_empty()),
        ("sbom", "--sbom", features.sbom),
        (
            "build-contexts",
            "--build-context",
            !features.build_contexts.is_empty(),
        ),
    ];
    for (input, flag, _) in asked.iter().filter(|(_, _, wanted)| *wanted) {
        needs(input, flag)?;
    }
    let mut flags = FeatureFlags::default();
    let mut loopback_cache = false;
    for (input, flag, specs) in [
        ("cache-from", "--cache-from", &features.cache_from),
        ("cache-to", "--cache-to", &features.cache_to),
    ] {
        for spec in specs {
            let repository = cache_repository(input, &name, spec)?;
            loopback_cache |= repository
                .split_once('/')
                .is_some_and(|(host, _)| is_loopback_host(host));
            flags.flag(flag, repository);
            flags.layers = true;
        }
    }
    if loopback_cache {
        // Docker reaches loopback registries over plain HTTP; buildah only without TLS
        // verification, which then holds for every registry of the build.
        tracing::info!(
            "a cache repository is on a loopback host: {} builds with --tls-verify=false",
            tool.program()
        );
        flags.switch("--tls-verify=false");
    }
    common_buildkit_flags(&mut flags, features);
    if features.sbom {
        // The preset scans the image with syft and keeps the SBOM inside it.
        flags.flag("--sbom", "syft");
    }
    if let Some(annotation) = features.annotations.iter().find(|a| !a.is_manifest_only()) {
        return Err(refused(
            "annotations",
            &name,
            &format!(
                "it annotates the image manifest only, not `{}:`; drop the prefix or use \
                 docker buildx",
                annotation.levels.join(",")
            ),
        ));
    }
    for Annotation { key, value, .. } in &features.annotations {
        flags.flag("--annotation", format!("{key}={value}"));
    }
    if features.pull {
        if help.pull_takes_a_policy() {
            flags.switch("--pull=always");
        } else {
            flags.switch("--pull-always");
        }
    }
    Ok(flags)
}

/// The repository buildah caches in: a registry line's `ref` without its tag (buildah names
/// cache images itself). Other types, and a reference by digest, are refused.
fn cache_repository(
    input: &'static str,
    name: &str,
    spec: &CacheSpec,
) -> Result<String, InputError> {
    let reference = registry_ref(spec).ok_or_else(|| {
        refused(
            input,
            name,
            &format!(
                "it caches in a registry repository only (type=registry,ref=REPO), not type={}",
                spec.kind.as_str()
            ),
        )
    })?;
    if reference.contains('@') {
        return Err(refused(
            input,
            name,
            "it takes a repository, not a reference by digest",
        ));
    }
    let last_slash = reference.rfind('/').map_or(0, |i| i + 1);
    let repository = match reference[last_slash..].find(':') {
        Some(colon) => &reference[..last_slash + colon],
        None => reference,
    };
    Ok(repository.to_owned())
}

#[cfg(test)]
mod tests;
