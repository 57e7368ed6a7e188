//! Safe, streaming extraction of image tar archives (optionally gzip-compressed) into a
//! temporary directory. Rejects absolute paths, `..`, writes through symlinks, links that
//! escape the archive, and special files.

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, bail};
use flate2::read::GzDecoder;
use tar::EntryType;
use tempfile::TempDir;

use super::digest::read_prefix;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Extracts the tar (or gzip'd tar) at `archive_path` into a new temporary directory.
pub(crate) fn extract_to_temp_dir(archive_path: &Path) -> anyhow::Result<TempDir> {
    let temp_dir = tempfile::Builder::new()
        .prefix("ecr-fanout-image-")
        .tempdir()
        .context("cannot create a temporary directory to extract the archive into")?;
    let compressed = read_prefix(archive_path, GZIP_MAGIC.len())? == GZIP_MAGIC;
    let file = File::open(archive_path)
        .with_context(|| format!("cannot open archive {}", archive_path.display()))?;
    let reader: Box<dyn Read> = if compressed {
        Box::new(GzDecoder::new(BufReader::new(file)))
    } else {
        Box::new(BufReader::new(file))
    };
    extract_tar(reader, temp_dir.path())
        .with_context(|| format!("cannot extract archive {}", archive_path.display()))?;
    Ok(temp_dir)
}

/// Extracts every entry of the tar stream `reader` below `root`.
pub(crate) fn extract_tar(reader: impl Read, root: &Path) -> anyhow::Result<()> {
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries().context("cannot read the tar stream")? {
        let mut entry = entry.context("cannot read a tar entry")?;
        let raw_path = entry
            .path()
            .context("a tar entry has an unreadable path")?
            .into_owned();
        extract_entry(&mut entry, &raw_path, root)
            .with_context(|| format!("entry {:?}", raw_path.display().to_string()))?;
    }
    Ok(())
}

fn extract_entry(
    entry: &mut tar::Entry<impl Read>,
    raw_path: &Path,
    root: &Path,
) -> anyhow::Result<()> {
    let relative = safe_relative_path(raw_path)?;
    let kind = entry.header().entry_type();
    if relative.as_os_str().is_empty() {
        return Ok(());
    }
    let destination = root.join(&relative);
    match kind {
        EntryType::Directory => create_real_dirs(root, &relative),
        EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
            prepare_file_destination(root, &relative)?;
            let file = File::create_new(&destination)
                .with_context(|| format!("cannot create {}", destination.display()))?;
            let mut writer = BufWriter::new(file);
            io::copy(entry, &mut writer)
                .with_context(|| format!("cannot write {}", destination.display()))?;
            writer
                .flush()
                .with_context(|| format!("cannot write {}", destination.display()))
        }
        EntryType::Symlink => {
            let target = entry
                .link_name()?
                .context("symlink without a target")?
                .into_owned();
            check_symlink_stays_inside(&relative, &target)?;
            prepare_file_destination(root, &relative)?;
            create_symlink(&target, &destination)
        }
        EntryType::Link => {
            let target = entry
                .link_name()?
                .context("hard link without a target")?
                .into_owned();
            let source = root.join(safe_relative_path(&target)?);
            let canonical_root = root.canonicalize()?;
            let resolved = source
                .canonicalize()
                .with_context(|| format!("hard link target {} does not exist", target.display()))?;
            if !resolved.starts_with(&canonical_root) || !resolved.is_file() {
                bail!(
                    "hard link target {} is not a file inside the archive",
                    target.display()
                );
            }
            prepare_file_destination(root, &relative)?;
            fs::hard_link(&resolved, &destination)
                .or_else(|_| fs::copy(&resolved, &destination).map(|_| ()))
                .with_context(|| format!("cannot create {}", destination.display()))
        }
        EntryType::XGlobalHeader
        | EntryType::XHeader
        | EntryType::GNULongName
        | EntryType::GNULongLink => Ok(()),
        other => bail!("unsupported tar entry type {other:?}"),
    }
}

/// The entry path without `.` components; rejects absolute paths and `..`.
pub(crate) fn safe_relative_path(path: &Path) -> anyhow::Result<PathBuf> {
    let mut relative = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => relative.push(part),
            Component::CurDir => {}
            Component::ParentDir => bail!("path contains '..' (path traversal)"),
            Component::RootDir | Component::Prefix(_) => bail!("path is absolute"),
        }
    }
    Ok(relative)
}

/// Creates `relative` below `root` one component at a time, refusing to pass through
/// anything that is not a real directory (in particular symlinks).
fn create_real_dirs(root: &Path, relative: &Path) -> anyhow::Result<()> {
    let mut current = root.to_path_buf();
    for component in relative.components() {
        current.push(component);
        match fs::symlink_metadata(&current) {
            Ok(metadata) if metadata.is_dir() => {}
            Ok(_) => bail!("{} exists and is not a directory", current.display()),
            Err(error) if error.kind() == io::ErrorKind::NotFound => fs::create_dir(&current)
                .with_context(|| format!("cannot create {}", current.display()))?,
            Err(error) => {
                return Err(error).with_context(|| format!("cannot inspect {}", current.display()));
            }
        }
    }
    Ok(())
}

/// Makes the parent directories and removes an earlier non-directory entry of that name.
fn prepare_file_destination(root: &Path, relative: &Path) -> anyhow::Result<()> {
    if let Some(parent) = relative.parent() {
        create_real_dirs(root, parent)?;
    }
    let destination = root.join(relative);
    match fs::symlink_metadata(&destination) {
        Ok(metadata) if metadata.is_dir() => {
            bail!("{} is already a directory", destination.display())
        }
        Ok(_) => fs::remove_file(&destination)
            .with_context(|| format!("cannot replace {}", destination.display())),
        Err(_) => Ok(()),
    }
}

/// Rejects absolute symlink targets and relative ones that lexically leave the archive.
/// (Files are additionally resolved and checked against the root when read.)
fn check_symlink_stays_inside(link: &Path, target: &Path) -> anyhow::Result<()> {
    let mut depth: Vec<&std::ffi::OsStr> = Vec::new();
    let parent_components = link.parent().into_iter().flat_map(Path::components);
    for component in parent_components.chain(target.components()) {
        match component {
            Component::Normal(part) => depth.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                if depth.pop().is_none() {
                    bail!("symlink target {} leaves the archive", target.display());
                }
            }
            Component::RootDir | Component::Prefix(_) => {
                bail!("symlink target {} is absolute", target.display())
            }
        }
    }
    Ok(())
}

#[cfg(unix)]
fn create_symlink(target: &Path, destination: &Path) -> anyhow::Result<()> {
    std::os::unix::fs::symlink(target, destination)
        .with_context(|| format!("cannot create symlink {}", destination.display()))
}

#[cfg(not(unix))]
fn create_symlink(target: &Path, destination: &Path) -> anyhow::Result<()> {
    bail!(
        "cannot create symlink {} -> {}: symlinks in archives are only supported on Unix",
        destination.display(),
        target.display()
    )
}
