//! A tiny runnable base image made in the test from the host's static busybox
//! (`/bin/busybox`, Debian's busybox-static, installed by scripts/test): one plain layer tar
//! with `bin/busybox` and a `bin/sh` link, no network and no registry needed; and that image
//! in a test's buildah storage under one name, for `FROM`.

use std::path::Path;

use crate::harness::TestEnv;
use crate::harness::buildah::BuildahStorage;

/// The name the busybox base has in a test's buildah storage.
pub const BASE: &str = "localhost/ecr-fanout-test-busybox:base";

/// The static busybox the layers are made of.
pub const BUSYBOX: &str = "/bin/busybox";

/// A plain (uncompressed) layer tar holding `bin/busybox` and `bin/sh -> busybox`.
pub fn busybox_layer() -> Vec<u8> {
    let binary = std::fs::read(BUSYBOX).unwrap_or_else(|e| {
        panic!(
            "{BUSYBOX} is needed (Debian package busybox-static, installed by scripts/test): {e}"
        )
    });
    let mut builder = tar::Builder::new(Vec::new());
    let mut dir = tar::Header::new_gnu();
    dir.set_entry_type(tar::EntryType::Directory);
    dir.set_mode(0o755);
    dir.set_size(0);
    builder
        .append_data(&mut dir, "bin/", std::io::empty())
        .unwrap();
    let mut file = tar::Header::new_gnu();
    file.set_mode(0o755);
    file.set_size(binary.len() as u64);
    builder
        .append_data(&mut file, "bin/busybox", binary.as_slice())
        .unwrap();
    let mut link = tar::Header::new_gnu();
    link.set_entry_type(tar::EntryType::Symlink);
    link.set_mode(0o777);
    link.set_size(0);
    builder.append_link(&mut link, "bin/sh", "busybox").unwrap();
    builder.into_inner().unwrap()
}

/// A Docker 25+ style `docker save` archive of the busybox base, at `path`; returns the
/// digest of its uncompressed manifest.
pub fn busybox_docker_archive(path: &Path) -> String {
    ecr_fanout::image::fixtures::write_plain_layer_docker_archive(path, &busybox_layer())
        .unwrap()
        .to_string()
}

/// Puts the busybox base into `storage` as [`BASE`] (the archive is written in `env`'s
/// directory); the same image, with the same ID, every time.
pub async fn busybox_base_in(env: &TestEnv, storage: &BuildahStorage) {
    let archive = env.path("busybox-base.tar");
    if !archive.exists() {
        busybox_docker_archive(&archive);
    }
    let pulled = storage
        .buildah(&[
            "pull",
            "-q",
            &format!("docker-archive:{}", archive.display()),
        ])
        .await
        .unwrap();
    storage
        .buildah(&["tag", pulled.trim(), BASE])
        .await
        .unwrap();
}
