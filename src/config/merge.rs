//! `merge`'s own inputs: the per-platform images to join (`sources`, `sources-from`), and
//! `allow-mixed-revisions`; `platforms` is shared with the build. The images a build would
//! make (`image`, `context` and the other build inputs) are refused: a merge's image is the
//! index over its sources.

use std::collections::BTreeMap;
use std::path::Path;

use super::raw::RawInputs;
use crate::error::InputError;
use crate::image::Digest;

/// What to merge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergeRequest {
    /// The per-platform images, by digest, each once, in the order given.
    pub sources: Vec<Digest>,
    /// `platforms`: when given, exactly these must be covered, each once.
    pub platforms: Vec<String>,
    /// `allow-mixed-revisions`: merge images whose `org.opencontainers.image.revision` differ.
    pub allow_mixed_revisions: bool,
    /// The `index:` lines of `annotations`: the index's own annotations. Lines for other
    /// levels are left out: the platform images are pushed already, with their builds'.
    pub annotations: BTreeMap<String, String>,
}

/// `merge`'s request, from `raw`.
pub fn resolve_merge(raw: &RawInputs) -> Result<MergeRequest, InputError> {
    if let Some(name) = super::inputs::image_inputs().find(|name| raw.get(name).is_some()) {
        return Err(InputError::new(
            name,
            "is not an input of merge: its image is the index over `sources`",
        ));
    }
    let mut sources = Vec::new();
    for entry in raw.list("sources") {
        sources.push(parse_digest("sources", &entry, &entry)?);
    }
    if let Some(path) = raw.get("sources-from") {
        sources.extend(read_sources_from(Path::new(path.trim()))?);
    }
    let mut unique = Vec::new();
    for source in sources {
        if !unique.contains(&source) {
            unique.push(source);
        }
    }
    if unique.is_empty() {
        return Err(InputError::new(
            "sources",
            "is required: the digests of the per-platform images (sha256:…), comma- or \
             newline-separated, or sources-from a file or directory of them",
        ));
    }
    let mut annotations = BTreeMap::new();
    for line in super::build_features::lines(raw, "annotations") {
        let annotation = super::build_features::parse_annotation(line)?;
        if annotation.levels.iter().any(|level| level == "index") {
            annotations.insert(annotation.key, annotation.value);
        }
    }
    Ok(MergeRequest {
        sources: unique,
        platforms: raw.list("platforms"),
        allow_mixed_revisions: raw.bool("allow-mixed-revisions", false)?,
        annotations,
    })
}

/// A digest written as `sha256:HEX`, `sha256-HEX` or bare `HEX` (64 hex digits).
fn parse_digest(input: &'static str, text: &str, shown: &str) -> Result<Digest, InputError> {
    let text = text.trim();
    let hex = text
        .strip_prefix("sha256:")
        .or_else(|| text.strip_prefix("sha256-"))
        .unwrap_or(text);
    Digest::parse(&format!("sha256:{hex}")).map_err(|_| {
        InputError::new(
            input,
            format!("'{shown}' is not a digest; write sha256:<64 hex digits>"),
        )
    })
}

/// A file of digests (one per line), or a directory whose entries are named after digests
/// (`sha256-HEX`, `sha256:HEX`, `HEX`: what per-job artifacts give) or hold one.
fn read_sources_from(path: &Path) -> Result<Vec<Digest>, InputError> {
    let unreadable = |e: std::io::Error| {
        InputError::new(
            "sources-from",
            format!("cannot read {}: {e}", path.display()),
        )
    };
    if !path.is_dir() {
        let text = std::fs::read_to_string(path).map_err(unreadable)?;
        return text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(|line| parse_digest("sources-from", line, line))
            .collect();
    }
    let mut names: Vec<_> = std::fs::read_dir(path)
        .map_err(unreadable)?
        .filter_map(Result::ok)
        .filter(|entry| entry.path().is_file())
        .collect();
    names.sort_by_key(std::fs::DirEntry::file_name);
    let mut digests = Vec::new();
    for entry in names {
        let name = entry.file_name().to_string_lossy().to_string();
        if let Ok(digest) = parse_digest("sources-from", &name, &name) {
            digests.push(digest);
            continue;
        }
        let content = std::fs::read_to_string(entry.path()).unwrap_or_default();
        let digest = parse_digest("sources-from", &content, &name).map_err(|_| {
            InputError::new(
                "sources-from",
                format!(
                    "{}: {name} is neither named after a digest nor holds one",
                    path.display()
                ),
            )
        })?;
        digests.push(digest);
    }
    if digests.is_empty() {
        return Err(InputError::new(
            "sources-from",
            format!("{} holds no digest", path.display()),
        ));
    }
    Ok(digests)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const HEX_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    #[test]
    fn sources_are_digests_given_once_each() {
        let list = format!("sha256:{HEX_A},\nsha256:{HEX_B}, sha256:{HEX_A}");
        let request = resolve_merge(&RawInputs::from_pairs(&[("sources", &list)])).unwrap();
        let shown: Vec<&str> = request.sources.iter().map(Digest::as_str).collect();
        assert_eq!(
            shown,
            [format!("sha256:{HEX_A}"), format!("sha256:{HEX_B}")]
        );
        let err = resolve_merge(&RawInputs::from_pairs(&[("sources", "latest")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid input `sources`: 'latest' is not a digest; write sha256:<64 hex digits>"
        );
        let err = resolve_merge(&RawInputs::from_pairs(&[])).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("invalid input `sources`: is required")
        );
    }

    #[test]
    fn a_directory_of_artifacts_gives_digests_by_name_or_content() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(HEX_A), "").unwrap();
        std::fs::write(dir.path().join("arm64"), format!("sha256:{HEX_B}\n")).unwrap();
        let request = resolve_merge(&RawInputs::from_pairs(&[(
            "sources-from",
            dir.path().to_str().unwrap(),
        )]))
        .unwrap();
        let mut shown: Vec<&str> = request.sources.iter().map(Digest::as_str).collect();
        shown.sort_unstable();
        assert_eq!(
            shown,
            [format!("sha256:{HEX_A}"), format!("sha256:{HEX_B}")]
        );
        std::fs::write(dir.path().join("notes.txt"), "hello").unwrap();
        let err = resolve_merge(&RawInputs::from_pairs(&[(
            "sources-from",
            dir.path().to_str().unwrap(),
        )]))
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("notes.txt is neither named after a digest nor holds one"),
            "{err}"
        );
        let file = dir.path().join("list");
        std::fs::write(&file, format!("sha256-{HEX_A}\n\n")).unwrap();
        let request = resolve_merge(&RawInputs::from_pairs(&[(
            "sources-from",
            file.to_str().unwrap(),
        )]))
        .unwrap();
        assert_eq!(request.sources[0].as_str(), format!("sha256:{HEX_A}"));
    }

    #[test]
    fn only_index_annotations_reach_the_index() {
        let lines = "manifest:org.opencontainers.image.title=web\nmanifest,index:org.opencontainers.image.revision=abc\nindex:team=a";
        let request = resolve_merge(&RawInputs::from_pairs(&[
            ("sources", HEX_A),
            ("annotations", lines),
        ]))
        .unwrap();
        assert_eq!(
            request.annotations,
            BTreeMap::from([
                (
                    "org.opencontainers.image.revision".to_string(),
                    "abc".to_string()
                ),
                ("team".to_string(), "a".to_string()),
            ])
        );
    }

    #[test]
    fn build_inputs_are_refused() {
        let err = resolve_merge(&RawInputs::from_pairs(&[
            ("sources", HEX_A),
            ("context", "."),
        ]))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid input `context`: is not an input of merge: its image is the index over `sources`"
        );
    }
}
