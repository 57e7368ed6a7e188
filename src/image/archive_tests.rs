//! Tests for safe archive extraction: hostile tar entries must be rejected, and blobs that
//! resolve outside an extracted archive must not be read.

use std::path::Path;

use tar::EntryType;

use super::archive::extract_tar;
use super::fixtures::{self, LayoutBuilder};
use super::{ImageSource, open_image};

/// One raw tar entry; names are written verbatim so hostile paths can be expressed.
struct RawEntry<'a> {
    name: &'a str,
    kind: EntryType,
    link: &'a str,
    data: &'a [u8],
}

fn file<'a>(name: &'a str, data: &'a [u8]) -> RawEntry<'a> {
    RawEntry {
        name,
        kind: EntryType::Regular,
        link: "",
        data,
    }
}

fn symlink<'a>(name: &'a str, link: &'a str) -> RawEntry<'a> {
    RawEntry {
        name,
        kind: EntryType::Symlink,
        link,
        data: b"",
    }
}

fn raw_tar(entries: &[RawEntry]) -> Vec<u8> {
    let mut tar = Vec::new();
    for entry in entries {
        let mut header = tar::Header::new_old();
        header.as_old_mut().name[..entry.name.len()].copy_from_slice(entry.name.as_bytes());
        header.as_old_mut().linkname[..entry.link.len()].copy_from_slice(entry.link.as_bytes());
        header.set_entry_type(entry.kind);
        header.set_size(entry.data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.extend_from_slice(header.as_bytes());
        tar.extend_from_slice(entry.data);
        tar.resize(tar.len().next_multiple_of(512), 0);
    }
    tar.resize(tar.len() + 1024, 0);
    tar
}

fn extraction_error(entries: &[RawEntry]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let error = extract_tar(raw_tar(entries).as_slice(), &root).unwrap_err();
    assert!(
        !dir.path().join("evil").exists(),
        "wrote outside the extraction root"
    );
    format!("{error:#}")
}

#[test]
fn extracts_ordinary_entries_including_dot_prefixes_and_inside_symlinks() {
    let dir = tempfile::tempdir().unwrap();
    let entries = [
        file("./a/b.txt", b"hello"),
        symlink("c/link", "../a/b.txt"),
        RawEntry {
            name: "a/hard",
            kind: EntryType::Link,
            link: "a/b.txt",
            data: b"",
        },
    ];
    extract_tar(raw_tar(&entries).as_slice(), dir.path()).unwrap();
    for name in ["a/b.txt", "c/link", "a/hard"] {
        assert_eq!(
            std::fs::read(dir.path().join(name)).unwrap(),
            b"hello",
            "{name}"
        );
    }
}

#[test]
fn rejects_parent_directory_components() {
    let message = extraction_error(&[file("../evil", b"x")]);
    assert!(message.contains("traversal"), "{message}");
    let message = extraction_error(&[file("a/../../evil", b"x")]);
    assert!(message.contains("traversal"), "{message}");
}

#[test]
fn rejects_absolute_paths() {
    let message = extraction_error(&[file("/tmp/evil", b"x")]);
    assert!(message.contains("absolute"), "{message}");
}

#[test]
fn rejects_symlinks_leaving_the_archive() {
    let message = extraction_error(&[symlink("link", "../evil")]);
    assert!(message.contains("leaves the archive"), "{message}");
    let message = extraction_error(&[symlink("link", "/etc/passwd")]);
    assert!(message.contains("absolute"), "{message}");
}

#[test]
fn rejects_writing_through_a_symlink() {
    let message = extraction_error(&[symlink("dir", "."), file("dir/evil", b"x")]);
    assert!(message.contains("not a directory"), "{message}");
}

#[test]
fn rejects_hard_links_to_outside_and_special_files() {
    let hard = RawEntry {
        name: "hard",
        kind: EntryType::Link,
        link: "../evil",
        data: b"",
    };
    assert!(extraction_error(&[hard]).contains("traversal"));
    let fifo = RawEntry {
        name: "fifo",
        kind: EntryType::Fifo,
        link: "",
        data: b"",
    };
    assert!(extraction_error(&[fifo]).contains("unsupported"));
}

#[test]
fn an_oci_archive_with_a_traversal_entry_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("image.tar");
    std::fs::write(&archive, raw_tar(&[file("../evil", b"x")])).unwrap();
    let source = ImageSource::OciArchive {
        path: archive,
        reference: None,
    };
    let message = format!("{:#}", open_image(&source).unwrap_err());
    assert!(
        message.contains("traversal") && message.contains("../evil"),
        "{message}"
    );
}

#[test]
fn blobs_resolving_outside_the_extracted_archive_are_not_read() {
    // "e" -> "d/.." looks harmless lexically, but "d" -> "." makes it the parent of the root.
    let outside = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(outside.path(), b"secret").unwrap();
    let outside_name = outside.path().file_name().unwrap().to_str().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let layout_dir = dir.path().join("layout");
    let layout = LayoutBuilder::create(&layout_dir).unwrap();
    let layer_digest = super::Digest::of_bytes(b"secret");
    let layer = super::Descriptor::new(super::media_types::OCI_LAYER_GZIP, layer_digest.clone(), 6);
    let config = layout
        .add_json(super::media_types::OCI_CONFIG, &serde_json::json!({}))
        .unwrap();
    let manifest = layout.add_manifest(&config, &[layer]).unwrap();
    layout.write_index_json(&[(&manifest, "latest")]).unwrap();

    let mut entries_data = Vec::new();
    for name in ["oci-layout", "index.json"] {
        entries_data.push((
            name.to_owned(),
            std::fs::read(layout_dir.join(name)).unwrap(),
        ));
    }
    for digest in [&config.digest, &manifest.digest] {
        let bytes = std::fs::read(layout.blob_path(digest)).unwrap();
        entries_data.push((format!("blobs/sha256/{}", digest.hex()), bytes));
    }
    let blob_name = format!("blobs/sha256/{}", layer_digest.hex());
    let blob_target = format!("../../e/{outside_name}");
    let mut entries: Vec<RawEntry> = entries_data
        .iter()
        .map(|(name, data)| file(name, data))
        .collect();
    entries.extend([
        symlink("d", "."),
        symlink("e", "d/.."),
        symlink(&blob_name, &blob_target),
    ]);

    let archive = dir.path().join("image.tar");
    std::fs::write(&archive, raw_tar(&entries)).unwrap();
    let source = ImageSource::OciArchive {
        path: archive,
        reference: None,
    };
    let message = format!("{:#}", open_image(&source).unwrap_err());
    assert!(
        message.contains("outside the extracted archive"),
        "{message}"
    );
}

#[test]
fn a_gzip_compressed_archive_is_read_too() {
    let dir = tempfile::tempdir().unwrap();
    let layout_dir = dir.path().join("layout");
    let digest = fixtures::write_single_manifest_layout(&layout_dir, "gz", &[100]).unwrap();
    let tar_path = dir.path().join("image.tar");
    fixtures::write_oci_archive(&layout_dir, &tar_path).unwrap();
    let gz_path = dir.path().join("image.tar.gz");
    let compressed = fixtures::gzip(&std::fs::read(&tar_path).unwrap()).unwrap();
    std::fs::write(&gz_path, compressed).unwrap();
    let image = open_image(&ImageSource::OciArchive {
        path: gz_path,
        reference: None,
    })
    .unwrap();
    assert_eq!(image.top.digest, digest);
    assert!(
        image
            .blobs
            .iter()
            .all(|blob| Path::new(&blob.path).is_file())
    );
}
