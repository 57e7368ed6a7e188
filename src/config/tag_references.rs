//! The `tags` input: bare tags (`v1.2.3`) and full image references as docker/metadata-action
//! writes them (`123456789012.dkr.ecr.us-east-1.amazonaws.com/web:sha-1a2b3c`, or `web:v1`).
//! A reference gives its tag when it names a destination of the run: its registry host is
//! that destination's ECR host (standard, FIPS or dual-stack form, in the destination's region,
//! account equal to its `registry-id`, any account when that is not given) or its
//! `registry-endpoints` host, and its repository is the destination's; a reference without a
//! host needs only the repository. Other references are set aside for one warning; when none
//! of them names a destination and no bare tag is given, the input is refused.

use super::Target;
use super::names::check_tag;
use crate::error::InputError;

/// `tags`, resolved: what to put, and the references that named no destination.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvedTags {
    /// Unique tags in the order given.
    pub tags: Vec<String>,
    /// References to other registries or repositories, as written.
    pub ignored: Vec<String>,
}

impl ResolvedTags {
    /// The one warning about the references set aside, if there are any.
    pub fn ignored_warning(&self) -> Option<String> {
        (!self.ignored.is_empty()).then(|| ignored_warning(&self.ignored))
    }
}

/// The warning for references that named no destination.
pub fn ignored_warning(ignored: &[String]) -> String {
    format!(
        "tags: ignored {} reference(s) naming no destination of this run (another registry or \
         repository): {}",
        ignored.len(),
        first_few(ignored)
    )
}

/// One `tags` entry split as a reference: `[HOST/]REPOSITORY:TAG`.
#[derive(Debug, PartialEq, Eq)]
struct Reference<'a> {
    host: Option<&'a str>,
    repository: &'a str,
    tag: &'a str,
}

/// Resolves the `tags` entries against the run's destinations.
pub fn resolve_tag_entries(
    entries: &[String],
    targets: &[Target],
) -> Result<ResolvedTags, InputError> {
    let mut resolved = ResolvedTags::default();
    let mut references = 0;
    for entry in entries {
        let tag = if entry.contains([':', '/', '@']) {
            references += 1;
            let reference = parse_reference(entry)?;
            if !targets.iter().any(|t| reference.names(t)) {
                resolved.ignored.push(entry.clone());
                continue;
            }
            reference.tag
        } else {
            entry
        };
        check_tag(tag).map_err(|m| InputError::new("tags", m))?;
        if !resolved.tags.iter().any(|t| t == tag) {
            resolved.tags.push(tag.to_string());
        }
    }
    if resolved.tags.is_empty() && references > 0 {
        return Err(InputError::new(
            "tags",
            format!(
                "no reference names a destination of this run ({}); the destinations are {}",
                first_few(&resolved.ignored),
                destinations(targets)
            ),
        ));
    }
    Ok(resolved)
}

/// Splits `[HOST/]REPOSITORY:TAG`; a first component with `.` or `:`, or `localhost`, is a host.
fn parse_reference(entry: &str) -> Result<Reference<'_>, InputError> {
    let invalid = |why: &str| {
        InputError::new(
            "tags",
            format!(
                "'{entry}' is neither a tag nor an image reference HOST/REPOSITORY:TAG ({why})"
            ),
        )
    };
    if entry.contains('@') {
        return Err(invalid("a reference with a digest names no tag"));
    }
    let (name, tag) = entry
        .rsplit_once(':')
        .filter(|(_, tag)| !tag.contains('/'))
        .ok_or_else(|| invalid("it has no tag"))?;
    let (host, repository) = match name.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
            (Some(first), rest)
        }
        _ => (None, name),
    };
    if repository.is_empty() || tag.is_empty() {
        return Err(invalid("the repository or the tag is empty"));
    }
    Ok(Reference {
        host,
        repository,
        tag,
    })
}

impl Reference<'_> {
    /// Whether this reference names `target`'s repository (in its registry, when it has a host).
    fn names(&self, target: &Target) -> bool {
        self.repository == target.repository
            && self.host.is_none_or(|host| host_is_target(host, target))
    }
}

/// Whether registry `host` is `target`'s: its `registry-endpoints` host, or its ECR host (region,
/// and account when `registry-id` is given).
pub(super) fn host_is_target(host: &str, target: &Target) -> bool {
    let host = host.to_ascii_lowercase();
    let override_host = target.endpoint_override.as_deref().map(|url| {
        url.trim_start_matches("https://")
            .trim_start_matches("http://")
            .to_ascii_lowercase()
    });
    if override_host.as_deref() == Some(host.as_str()) {
        return true;
    }
    match ecr_host_parts(&host) {
        Some((account, region)) => {
            region == target.region && target.registry_id.as_deref().is_none_or(|id| id == account)
        }
        None => false,
    }
}

/// `(account, region)` of an ECR registry host: `ACCOUNT.dkr.ecr.REGION.amazonaws.com[.cn]`,
/// `ACCOUNT.dkr.ecr-fips.REGION.amazonaws.com` or `ACCOUNT.dkr-ecr.REGION.on.aws`.
pub fn ecr_host_parts(host: &str) -> Option<(&str, &str)> {
    let (account, rest) = host.split_once('.')?;
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let region = ["dkr.ecr.", "dkr.ecr-fips."]
        .iter()
        .find_map(|prefix| {
            let rest = rest.strip_prefix(prefix)?;
            rest.strip_suffix(".amazonaws.com")
                .or_else(|| rest.strip_suffix(".amazonaws.com.cn"))
        })
        .or_else(|| rest.strip_prefix("dkr-ecr.")?.strip_suffix(".on.aws"))?;
    (!region.is_empty() && !region.contains('.')).then_some((account, region))
}

/// `ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO in us-east-1, eu-west-1`, one group per
/// repository and account, for the error line.
fn destinations(targets: &[Target]) -> String {
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    for target in targets {
        let account = target.registry_id.as_deref().unwrap_or("ACCOUNT");
        let name = format!(
            "{account}.dkr.ecr.REGION.amazonaws.com/{}",
            target.repository
        );
        match groups.iter_mut().find(|(n, _)| *n == name) {
            Some((_, regions)) => regions.push(&target.region),
            None => groups.push((name, vec![&target.region])),
        }
    }
    let groups: Vec<String> = groups
        .into_iter()
        .map(|(name, regions)| format!("{name} in {}", regions.join(", ")))
        .collect();
    groups.join("; ")
}

/// The first few items and how many more there are.
fn first_few(items: &[String]) -> String {
    const SHOWN: usize = 3;
    match items.len() {
        n if n <= SHOWN => items.join(", "),
        n => format!("{}, and {} more", items[..SHOWN].join(", "), n - SHOWN),
    }
}

#[cfg(test)]
mod tests;
