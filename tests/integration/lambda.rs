//! `lambda-compatible`: every shape Lambda cannot run (two platforms, two platforms with
//! attestations, attestations only, an index of indexes, an s390x image, a one-platform s390x
//! index) is refused with exit 2 and its exact error line before any call to moto (counted) or
//! request to a registry (the proxies record none); a single manifest is pushed as it is, and a
//! one-platform index carrying a BuildKit-style attestation manifest is pushed as its platform
//! manifest alone (checked with skopeo: the tag serves the manifest, the attestation's manifest
//! and blob never reached the registry).

use ecr_fanout::image::fixtures::LayoutBuilder;
use ecr_fanout::image::index_fixtures::{
    write_attestations_only_layout, write_index_layout, write_nested_index_layout,
    write_platform_layout,
};
use ecr_fanout::image::media_types::OCI_CONFIG;
use ecr_fanout::image::{Descriptor, Platform};
use serde_json::json;

use crate::harness::{RunOutput, TestEnv, skopeo};
use crate::scenario::*;

struct IndexWithAttestation {
    source: String,
    index: String,
    platform_manifest: String,
    platform_blobs: Vec<String>,
    attestation_manifest: String,
    attestation_blob: String,
}

fn platform(os: &str, architecture: &str) -> Platform {
    Platform {
        architecture: architecture.into(),
        os: os.into(),
        variant: None,
    }
}

/// The first line of the error report.
fn error_line(out: &RunOutput) -> &str {
    out.stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| panic!("no error line:\n{out}"))
}

/// What `docker buildx build --platform linux/amd64` (provenance on) writes: an index of the
/// image manifest and an `unknown/unknown` attestation manifest that refers to it.
fn index_with_attestation(env: &TestEnv) -> IndexWithAttestation {
    let dir = env.path("index-with-attestation");
    let layout = LayoutBuilder::create(&dir).unwrap();
    let amd64 = platform("linux", "amd64");
    let (layer, diff_id) = layout.add_layer("lambda/amd64", 3000).unwrap();
    let config = layout.add_config(&amd64, &[diff_id]).unwrap();
    let mut manifest = layout
        .add_manifest(&config, std::slice::from_ref(&layer))
        .unwrap();
    manifest.platform = Some(amd64);

    let statement = br#"{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://slsa.dev/provenance/v0.2","predicate":{}}"#;
    let statement_digest = layout.add_blob(statement).unwrap();
    let mut statement_layer = Descriptor::new(
        "application/vnd.in-toto+json",
        statement_digest.clone(),
        statement.len() as u64,
    );
    statement_layer.annotations.insert(
        "in-toto.io/predicate-type".into(),
        "https://slsa.dev/provenance/v0.2".into(),
    );
    let attestation_config = layout
        .add_json(
            OCI_CONFIG,
            &json!({"architecture": "unknown", "os": "unknown", "config": {},
                    "rootfs": {"type": "layers", "diff_ids": []}}),
        )
        .unwrap();
    let mut attestation = layout
        .add_manifest(&attestation_config, &[statement_layer])
        .unwrap();
    attestation.platform = Some(platform("unknown", "unknown"));
    attestation.annotations.insert(
        "vnd.docker.reference.digest".into(),
        manifest.digest.to_string(),
    );
    attestation.annotations.insert(
        "vnd.docker.reference.type".into(),
        "attestation-manifest".into(),
    );
    let index = layout
        .add_index(&[manifest.clone(), attestation.clone()])
        .unwrap();
    layout.write_index_json(&[(&index, "latest")]).unwrap();
    IndexWithAttestation {
        source: format!("oci:{}", dir.display()),
        index: index.digest.to_string(),
        platform_manifest: manifest.digest.to_string(),
        platform_blobs: vec![config.digest.to_string(), layer.digest.to_string()],
        attestation_manifest: attestation.digest.to_string(),
        attestation_blob: statement_digest.to_string(),
    }
}

/// One shape `lambda-compatible` refuses: where it is, and the refusal after `error: `.
struct Refused {
    source: String,
    message: String,
}

fn layout_dir(env: &TestEnv, name: &str) -> std::path::PathBuf {
    env.path(&format!("lambda-{name}"))
}

/// Every index shape Lambda cannot run, with the exact refusal for each.
fn refused_shapes(env: &TestEnv) -> Vec<Refused> {
    let why = "AWS Lambda runs only a single image manifest and rejects image indexes (\"The \
               image manifest, config or layer media type ... is not supported\")";
    let only_x86_arm = "AWS Lambda runs only linux/amd64 (x86_64) and linux/arm64";
    let oci = |dir: &std::path::Path| format!("oci:{}", dir.display());
    let mut shapes = Vec::new();

    let (source, two) = multi_platform_image(env, "lambda-multi");
    shapes.push(Refused {
        source,
        message: format!(
            "the image {two} is an index of 2 platforms (linux/amd64, linux/arm64/v8); {why}. \
             Build for one platform (e.g. --platform linux/arm64), or set lambda-compatible: \
             false"
        ),
    });

    let dir = layout_dir(env, "attested-pair");
    let attested = write_index_layout(&dir, "pair", &["linux/amd64", "linux/arm64"], true).unwrap();
    shapes.push(Refused {
        source: oci(&dir),
        message: format!(
            "the image {attested} is an index of 2 platforms (linux/amd64, linux/arm64) plus 2 \
             attestation manifest(s); {why}. Build for one platform (e.g. --platform \
             linux/arm64), or set lambda-compatible: false"
        ),
    });

    let dir = layout_dir(env, "attestations-only");
    let only = write_attestations_only_layout(&dir, "only").unwrap();
    shapes.push(Refused {
        source: oci(&dir),
        message: format!(
            "the index {only} holds no runnable image, only 2 attestation manifest(s); {why}"
        ),
    });

    let dir = layout_dir(env, "nested");
    let (outer, _) = write_nested_index_layout(&dir, "nested").unwrap();
    shapes.push(Refused {
        source: oci(&dir),
        message: format!("the image {outer} is an index of indexes; {why}"),
    });

    let dir = layout_dir(env, "s390x");
    let s390x = write_platform_layout(&dir, "s390x", "linux/s390x").unwrap();
    shapes.push(Refused {
        source: oci(&dir),
        message: format!("the image {s390x} is for linux/s390x; {only_x86_arm}"),
    });

    let dir = layout_dir(env, "s390x-index");
    let index = write_index_layout(&dir, "s390x-index", &["linux/s390x"], true).unwrap();
    let platform_manifest = ecr_fanout::image::open_image(&oci(&dir).parse().unwrap())
        .unwrap()
        .index_entries()
        .unwrap()
        .unwrap()
        .platform_images[0]
        .digest
        .clone();
    shapes.push(Refused {
        source: oci(&dir),
        message: format!(
            "the image {platform_manifest} (the one platform manifest of the index {index}) is \
             for linux/s390x; {only_x86_arm}"
        ),
    });
    shapes
}

#[tokio::test]
async fn every_shape_lambda_cannot_run_is_refused_before_any_call_to_aws() {
    let env = TestEnv::start(&REGIONS[..2]).await;
    for shape in refused_shapes(&env) {
        let out = push(
            &env,
            &shape.source,
            "fn",
            &["--tags", "v1", "--create-repository", "--lambda-compatible"],
        )
        .await;
        assert_eq!(out.status, 2, "{}: {out}", shape.source);
        assert_eq!(
            error_line(&out),
            format!(
                "error: invalid input `lambda-compatible`: {}",
                shape.message
            ),
            "{out}"
        );
        assert_eq!(
            env.moto().calls(),
            vec![],
            "{}: calls to moto",
            shape.source
        );
        for region in env.regions() {
            assert!(
                region.control().requests().is_empty(),
                "{}: requests to {}",
                shape.source,
                region.name()
            );
        }
        assert!(out.stdout.is_empty(), "{out}");
    }
    assert_nothing_written(&env).await;
}

#[tokio::test]
async fn a_single_manifest_is_pushed_as_it_is() {
    let env = TestEnv::start(&REGIONS[..1]).await;
    let (image, digest) = single_manifest_image(&env, "lambda-single");
    let out = push_ok(
        &env,
        &image,
        "fn",
        &["--tags", "v1", "--create-repository", "--lambda-compatible"],
    )
    .await;
    assert_eq!(report(&out)["digest"], digest.as_str());
    assert_tags_everywhere(&env, "fn", &["v1"], &digest).await;
}

#[tokio::test]
async fn a_one_platform_index_with_an_attestation_is_pushed_as_its_manifest() {
    let env = TestEnv::start(&REGIONS[..1]).await;
    let image = index_with_attestation(&env);
    let out = push_ok(
        &env,
        &image.source,
        "fn",
        &["--tags", "v1", "--create-repository", "--lambda-compatible"],
    )
    .await;
    let report = report(&out);
    assert_eq!(report["digest"], image.platform_manifest.as_str());
    assert_eq!(
        report["media_type"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(report["platforms"], json!(["linux/amd64"]));
    assert_tags_everywhere(&env, "fn", &["v1"], &image.platform_manifest).await;
    let region = &env.regions()[0];
    for blob in &image.platform_blobs {
        assert!(
            skopeo::blob_exists(region, "fn", blob).await.unwrap(),
            "{blob}"
        );
    }
    assert!(
        !skopeo::blob_exists(region, "fn", &image.attestation_blob)
            .await
            .unwrap()
    );
    for absent in [&image.attestation_manifest, &image.index] {
        let found = skopeo::inspect_raw(region, "fn", absent).await;
        assert!(found.is_err(), "{absent} should not be in the registry");
    }
}
