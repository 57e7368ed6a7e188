//! Choosing which image of an OCI layout's `index.json` to read: by ref name (the
//! `org.opencontainers.image.ref.name` or containerd image name annotation), or the only
//! image when no ref is given. Errors list the refs that are available.

use std::path::Path;

use anyhow::bail;

use super::descriptor::Descriptor;
use super::media_types::{ANNOTATION_CONTAINERD_IMAGE_NAME, ANNOTATION_REF_NAME};

/// Picks the `index.json` entry named `reference`, or the only image when there is none.
/// Entries repeating the same digest (several tags of one image) count once.
pub(crate) fn select_entry<'e>(
    entries: &'e [Descriptor],
    reference: Option<&str>,
    index_path: &Path,
) -> anyhow::Result<&'e Descriptor> {
    let mut candidates: Vec<&Descriptor> = Vec::new();
    for entry in entries {
        let matches = reference.is_none_or(|wanted| entry_names(entry).any(|name| name == wanted));
        if matches && !candidates.iter().any(|seen| seen.digest == entry.digest) {
            candidates.push(entry);
        }
    }
    match (candidates.as_slice(), reference) {
        ([only], _) => Ok(only),
        ([], Some(wanted)) => bail!(
            "{} has no image with ref name {wanted:?}; available refs: {}",
            index_path.display(),
            describe_entries(entries)
        ),
        ([], None) => bail!("{} lists no images", index_path.display()),
        (_, _) => bail!(
            "{} lists {} different images{}; choose one by adding :REF to the source. \
             Available refs: {}",
            index_path.display(),
            candidates.len(),
            reference
                .map(|wanted| format!(" named {wanted:?}"))
                .unwrap_or_default(),
            describe_entries(entries)
        ),
    }
}

fn entry_names(entry: &Descriptor) -> impl Iterator<Item = &str> {
    [ANNOTATION_REF_NAME, ANNOTATION_CONTAINERD_IMAGE_NAME]
        .into_iter()
        .filter_map(|key| entry.annotation(key))
}

fn describe_entries(entries: &[Descriptor]) -> String {
    if entries.is_empty() {
        return "(none)".to_owned();
    }
    entries
        .iter()
        .map(|entry| match entry.annotation(ANNOTATION_REF_NAME) {
            Some(name) => format!("{name} ({})", entry.digest),
            None => format!("(no ref name) {}", entry.digest),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::digest::Digest;

    fn entry(content: &[u8], ref_name: Option<&str>) -> Descriptor {
        let mut entry = Descriptor::new("m", Digest::of_bytes(content), 1);
        if let Some(name) = ref_name {
            entry
                .annotations
                .insert(ANNOTATION_REF_NAME.into(), name.into());
        }
        entry
    }

    #[test]
    fn picks_by_ref_name_or_the_only_distinct_image() {
        let entries = [
            entry(b"a", Some("v1")),
            entry(b"a", Some("latest")),
            entry(b"b", Some("v2")),
        ];
        let path = Path::new("index.json");
        assert_eq!(
            select_entry(&entries, Some("v2"), path).unwrap(),
            &entries[2]
        );
        assert_eq!(
            select_entry(&entries[..2], None, path).unwrap(),
            &entries[0]
        );
        let message = select_entry(&entries, None, path).unwrap_err().to_string();
        assert!(
            message.contains("2 different images") && message.contains("v1 ("),
            "{message}"
        );
    }

    #[test]
    fn matches_the_containerd_image_name_and_reports_unnamed_entries() {
        let mut named = entry(b"a", None);
        named.annotations.insert(
            ANNOTATION_CONTAINERD_IMAGE_NAME.into(),
            "docker.io/x:1".into(),
        );
        let entries = [named, entry(b"b", None)];
        let path = Path::new("index.json");
        assert_eq!(
            select_entry(&entries, Some("docker.io/x:1"), path).unwrap(),
            &entries[0]
        );
        let message = select_entry(&entries, Some("y"), path)
            .unwrap_err()
            .to_string();
        assert!(message.contains("(no ref name)"), "{message}");
        assert!(
            select_entry(&[], None, path)
                .unwrap_err()
                .to_string()
                .contains("no images")
        );
    }
}
