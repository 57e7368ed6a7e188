//! The build inputs that docker/build-push-action users bring along, in its syntax: `secrets`
//! (`id=ID,src=PATH` or `id=ID,env=VAR`), `ssh` (`default` or `ID=SOCKET|KEY[,KEY]`),
//! `cache-from` / `cache-to` (`type=registry,ref=…`, `type=gha`, `type=local,src=…|dest=…`, …),
//! `sbom`, `annotations` (`[LEVEL[,LEVEL]:]KEY=VALUE`, as docker/metadata-action writes them),
//! `build-contexts` (`NAME=VALUE`), `no-cache` and `pull`. Each resolves here into
//! [`BuildFeatures`]; which builder can take which is decided where the builder is known
//! (`crate::builder`). A secret's value is never read or shown here: only ids, files and
//! variable names.

use std::path::PathBuf;

use super::raw::RawInputs;
use crate::error::InputError;

/// Every build-push-action input of a build, validated; all empty or false by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildFeatures {
    pub cache_from: Vec<CacheSpec>,
    pub cache_to: Vec<CacheSpec>,
    pub secrets: Vec<BuildSecret>,
    /// `default`, or `ID=SOCKET|KEY[,KEY]`, as written.
    pub ssh: Vec<String>,
    /// Ask the builder for an SBOM attestation.
    pub sbom: bool,
    pub annotations: Vec<Annotation>,
    /// `(NAME, VALUE)`: a directory, `docker-image://…`, `target:…` or a URL.
    pub build_contexts: Vec<(String, String)>,
    pub no_cache: bool,
    /// Always pull the base images, even when a copy is stored locally.
    pub pull: bool,
}

/// Where a secret's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// A file, read by the builder.
    File(PathBuf),
    /// An environment variable of the builder's process.
    Env(String),
}

/// One `secrets` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildSecret {
    pub id: String,
    pub source: SecretSource,
}

impl BuildSecret {
    /// `id=ID,src=PATH` or `id=ID,env=VAR`, the form buildx and buildah take.
    pub fn to_flag_value(&self) -> String {
        match &self.source {
            SecretSource::File(path) => format!("id={},src={}", self.id, path.display()),
            SecretSource::Env(variable) => format!("id={},env={variable}", self.id),
        }
    }
}

/// The storage a cache line names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheKind {
    Registry,
    Gha,
    Local,
    Inline,
    S3,
    Azblob,
}

impl CacheKind {
    const ALL: [(&'static str, CacheKind); 6] = [
        ("registry", CacheKind::Registry),
        ("gha", CacheKind::Gha),
        ("local", CacheKind::Local),
        ("inline", CacheKind::Inline),
        ("s3", CacheKind::S3),
        ("azblob", CacheKind::Azblob),
    ];

    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, kind)| *kind == self)
            .map_or("registry", |(word, _)| *word)
    }
}

/// One `cache-from` or `cache-to` line: its type and its other attributes, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheSpec {
    pub kind: CacheKind,
    pub attributes: Vec<(String, String)>,
}

impl CacheSpec {
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(known, _)| known == key)
            .map(|(_, value)| value.as_str())
    }

    /// `type=KIND,key=value,…`, the form buildx takes.
    pub fn to_buildx(&self) -> String {
        std::iter::once(format!("type={}", self.kind.as_str()))
            .chain(self.attributes.iter().map(|(k, v)| format!("{k}={v}")))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// One `annotations` line: the levels it names (none: the image manifest) and the pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    /// `manifest`, `index`, `manifest-descriptor`, `index-descriptor`, each possibly with a
    /// `[os/arch]` filter, as written; empty when the line has no prefix.
    pub levels: Vec<String>,
    pub key: String,
    pub value: String,
}

impl Annotation {
    /// Whether the annotation is for image manifests only (no prefix, or `manifest:`).
    pub fn is_manifest_only(&self) -> bool {
        self.levels.iter().all(|level| level == "manifest")
    }

    /// `[LEVELS:]KEY=VALUE`, as buildx takes it.
    pub fn to_buildx(&self) -> String {
        if self.levels.is_empty() {
            format!("{}={}", self.key, self.value)
        } else {
            format!("{}:{}={}", self.levels.join(","), self.key, self.value)
        }
    }
}

/// Resolves every build-feature input of `raw`.
pub fn resolve_build_features(raw: &RawInputs) -> Result<BuildFeatures, InputError> {
    Ok(BuildFeatures {
        cache_from: cache_lines(raw, "cache-from")?,
        cache_to: cache_lines(raw, "cache-to")?,
        secrets: lines(raw, "secrets")
            .map(parse_secret)
            .collect::<Result<_, _>>()?,
        ssh: lines(raw, "ssh").map(parse_ssh).collect::<Result<_, _>>()?,
        sbom: raw.bool("sbom", false)?,
        annotations: lines(raw, "annotations")
            .map(parse_annotation)
            .collect::<Result<_, _>>()?,
        build_contexts: lines(raw, "build-contexts")
            .map(parse_build_context)
            .collect::<Result<_, _>>()?,
        no_cache: raw.bool("no-cache", false)?,
        pull: raw.bool("pull", false)?,
    })
}

/// The non-blank lines of a newline-separated input (items keep their commas).
pub(super) fn lines<'a>(raw: &'a RawInputs, name: &'static str) -> impl Iterator<Item = &'a str> {
    raw.get(name)
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
}

/// `key=value,key=value` → pairs, keys lower-cased; `None` when an item has no `=`.
fn csv_pairs(line: &str) -> Option<Vec<(String, String)>> {
    line.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            let (key, value) = item.split_once('=')?;
            Some((key.trim().to_ascii_lowercase(), value.trim().to_owned()))
        })
        .collect()
}

fn parse_secret(line: &str) -> Result<BuildSecret, InputError> {
    // The line is never echoed: a mistaken `NAME=value` line could hold the secret itself.
    let malformed = |why: &str| {
        InputError::new(
            "secrets",
            format!(
                "{why}; write one secret per line as id=ID,src=PATH or id=ID,env=VARIABLE (the \
                 line is not shown, it may hold a secret value)"
            ),
        )
    };
    let pairs = csv_pairs(line).ok_or_else(|| malformed("a line is not key=value pairs"))?;
    let mut id = None;
    let mut file = None;
    let mut env = None;
    let mut kind = None;
    for (key, value) in pairs {
        match key.as_str() {
            "id" => id = Some(value),
            "src" | "source" => file = Some(value),
            "env" => env = Some(value),
            "type" if value == "file" || value == "env" => kind = Some(value),
            _ => {
                return Err(malformed(&format!(
                    "a line has the key `{}`, not one of id, src, env, type=file|env",
                    key.chars().take(40).collect::<String>()
                )));
            }
        }
    }
    let id = id
        .filter(|id| is_name(id))
        .ok_or_else(|| malformed("a line has no valid id (letters, digits, -, _ or .)"))?;
    let source = match (file, env, kind.as_deref()) {
        (Some(path), None, None | Some("file")) => SecretSource::File(existing_file(&id, path)?),
        (None, Some(variable), None | Some("env")) if is_variable(&variable) => {
            SecretSource::Env(variable)
        }
        (None, None, Some("env")) => SecretSource::Env(id.clone()),
        _ => {
            return Err(malformed(&format!(
                "secret `{id}` needs exactly one of src=PATH or env=VARIABLE"
            )));
        }
    };
    Ok(BuildSecret { id, source })
}

fn existing_file(id: &str, path: String) -> Result<PathBuf, InputError> {
    let path = PathBuf::from(path);
    if path.is_file() {
        Ok(path)
    } else {
        Err(InputError::new(
            "secrets",
            format!(
                "secret `{id}`: '{}' is not a file; give src=PATH of an existing file, or \
                 env=VARIABLE",
                path.display()
            ),
        ))
    }
}

fn parse_ssh(line: &str) -> Result<String, InputError> {
    let id = line.split_once('=').map_or(line, |(id, _)| id).trim();
    let paths_given = line
        .split_once('=')
        .is_none_or(|(_, paths)| paths.split(',').all(|path| !path.trim().is_empty()));
    if is_name(id) && paths_given {
        Ok(line.to_owned())
    } else {
        Err(InputError::new(
            "ssh",
            format!(
                "'{line}' is not `default` or ID=SOCKET|KEY[,KEY] (one per line, e.g. \
                 default=/run/ssh-agent.sock)"
            ),
        ))
    }
}

fn cache_lines(raw: &RawInputs, name: &'static str) -> Result<Vec<CacheSpec>, InputError> {
    lines(raw, name)
        .map(|line| parse_cache(name, line))
        .collect()
}

fn parse_cache(name: &'static str, line: &str) -> Result<CacheSpec, InputError> {
    let invalid = |why: String| {
        InputError::new(
            name,
            format!(
                "'{line}': {why}; write one cache per line as type=registry,ref=REPO:TAG, \
                 type=gha, type=local,{} or a bare registry reference",
                if name == "cache-to" {
                    "dest=DIR"
                } else {
                    "src=DIR"
                }
            ),
        )
    };
    if !line.contains('=') {
        return Ok(CacheSpec {
            kind: CacheKind::Registry,
            attributes: vec![("ref".to_owned(), line.to_owned())],
        });
    }
    let mut attributes =
        csv_pairs(line).ok_or_else(|| invalid("an item is not key=value".into()))?;
    let kind = match attributes.iter().position(|(key, _)| key == "type") {
        Some(position) => {
            let (_, word) = attributes.remove(position);
            CacheKind::ALL
                .iter()
                .find(|(known, _)| *known == word)
                .map(|(_, kind)| *kind)
                .ok_or_else(|| {
                    invalid(format!(
                        "type `{word}` is not registry, gha, local, inline, s3 or azblob"
                    ))
                })?
        }
        None => CacheKind::Registry,
    };
    let spec = CacheSpec { kind, attributes };
    let needed = match (kind, name) {
        (CacheKind::Registry, _) => Some("ref"),
        (CacheKind::Local, "cache-to") => Some("dest"),
        (CacheKind::Local, _) => Some("src"),
        _ => None,
    };
    if let Some(key) = needed.filter(|key| spec.attribute(key).is_none_or(str::is_empty)) {
        return Err(invalid(format!("type={} needs {key}=", kind.as_str())));
    }
    if kind == CacheKind::Inline && name == "cache-from" {
        return Err(invalid(
            "type=inline is for cache-to; read inline cache with type=registry,ref=IMAGE".into(),
        ));
    }
    Ok(spec)
}

pub(super) fn parse_annotation(line: &str) -> Result<Annotation, InputError> {
    let invalid = |why: &str| {
        InputError::new(
            "annotations",
            format!(
                "'{line}': {why}; write [LEVEL[,LEVEL]:]KEY=VALUE per line, LEVEL one of \
                 manifest, index, manifest-descriptor, index-descriptor (optionally with \
                 [os/arch])"
            ),
        )
    };
    let (pair_start, levels) = match annotation_prefix(line) {
        Some((prefix, rest)) => (
            rest,
            prefix
                .split(',')
                .map(str::trim)
                .map(str::to_owned)
                .collect(),
        ),
        None => (line, Vec::new()),
    };
    let known = [
        "manifest",
        "index",
        "manifest-descriptor",
        "index-descriptor",
    ];
    let level_valid = |level: &String| {
        let word = level
            .split_once('[')
            .map_or(level.as_str(), |(word, _)| word);
        known.contains(&word) && (!level.contains('[') || level.ends_with(']'))
    };
    if !levels.iter().all(level_valid) {
        return Err(invalid("an unknown level"));
    }
    let (key, value) = pair_start
        .split_once('=')
        .ok_or_else(|| invalid("no KEY=VALUE"))?;
    let key = key.trim();
    if key.is_empty() || key.chars().any(char::is_whitespace) {
        return Err(invalid("the key must be non-empty and without spaces"));
    }
    Ok(Annotation {
        levels,
        key: key.to_owned(),
        value: value.to_owned(),
    })
}

/// `("manifest,index", "KEY=VALUE")` when the line starts with a level prefix: a `:` before
/// the first `=` (keys such as `org.opencontainers.image.title` hold no `:`).
fn annotation_prefix(line: &str) -> Option<(&str, &str)> {
    let colon = line.find(':')?;
    let equals = line.find('=')?;
    (colon < equals).then(|| (&line[..colon], &line[colon + 1..]))
}

fn parse_build_context(line: &str) -> Result<(String, String), InputError> {
    match line.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() && !value.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err(InputError::new(
            "build-contexts",
            format!(
                "'{line}' is not NAME=VALUE (one per line; VALUE a directory, \
                 docker-image://IMAGE or a URL)"
            ),
        )),
    }
}

/// An id: letters, digits, `-`, `_` or `.`.
fn is_name(word: &str) -> bool {
    !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn is_variable(word: &str) -> bool {
    word.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests;
