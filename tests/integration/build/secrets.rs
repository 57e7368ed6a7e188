//! Build secrets with buildah: a `RUN --mount=type=secret` step on a busybox base made in the
//! test reads the secret (its result proves it), and no pushed layer holds the value.

use std::io::Read as _;
use std::path::Path;

use serde_json::Value;

use super::busybox::{BASE, busybox_base_in};
use super::support::{build_and_push, context};
use crate::harness::buildah::BuildahStorage;
use crate::harness::{TestEnv, skopeo};
use crate::scenario::*;

const SECRET_VALUE: &str = "s3cret-value-4711-do-not-keep";

#[tokio::test]
async fn a_buildah_build_reads_a_secret_that_no_layer_keeps() {
    let env = TestEnv::start(&REGIONS[..1]).await;
    let storage = BuildahStorage::in_dir(&env.path("buildah")).unwrap();
    storage.require_buildah().await;
    busybox_base_in(&env, &storage).await;
    // The Dockerfile names only the value's hash: the value itself appears nowhere but in
    // the secret file.
    let hash = skopeo::sha256_digest(SECRET_VALUE.as_bytes());
    let hex = hash.trim_start_matches("sha256:");
    let dockerfile = format!(
        "FROM {BASE}\nRUN --mount=type=secret,id=token,required=true sh -c \
         'sha256sum /run/secrets/token | grep -q ^{hex} && echo secret-was-readable > /proof'\n"
    );
    let dir = context(&env, "secret", &dockerfile);
    let secret_file = env.path("token.txt");
    std::fs::write(&secret_file, SECRET_VALUE).unwrap();
    let secret = format!("id=token,src={}", secret_file.display());
    let args = [
        "--builder",
        "buildah",
        "--tags",
        "v1",
        "--secrets",
        &secret,
        "--pull",
        "false",
    ];
    let out = build_and_push(&env, storage.env_vars(), &dir, &args).await;
    assert!(out.success(), "{out}");
    assert!(
        !out.stderr.contains(SECRET_VALUE),
        "the value is never logged: {out}"
    );
    let digest = report(&out)["digest"].as_str().unwrap().to_owned();

    let layout = env.path("pulled");
    skopeo::copy_to_layout(&env.regions()[0], "web", &digest, &layout)
        .await
        .unwrap();
    let layers = layer_contents(&layout, &digest);
    assert!(
        layers.len() >= 2,
        "the base and the RUN step: {}",
        layers.len()
    );
    assert!(
        layers.iter().any(|l| contains(l, b"secret-was-readable")),
        "the RUN step's proof file is in a layer"
    );
    for (position, layer) in layers.iter().enumerate() {
        assert!(
            !contains(layer, SECRET_VALUE.as_bytes()),
            "layer {position} holds the secret"
        );
        assert!(
            !contains(layer, b"run/secrets/token"),
            "layer {position} holds the secret file"
        );
    }
}

/// Every layer of the manifest `digest` in the layout, uncompressed.
fn layer_contents(layout: &Path, digest: &str) -> Vec<Vec<u8>> {
    let blob = |digest: &str| {
        layout
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
    };
    let manifest: Value = serde_json::from_slice(&std::fs::read(blob(digest)).unwrap()).unwrap();
    manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|layer| {
            let bytes = std::fs::read(blob(layer["digest"].as_str().unwrap())).unwrap();
            let mut plain = Vec::new();
            match flate2::read::GzDecoder::new(bytes.as_slice()).read_to_end(&mut plain) {
                Ok(_) => plain,
                Err(_) => bytes,
            }
        })
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}
