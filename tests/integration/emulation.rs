//! Proves each ECR behaviour the proxy emulates is active (and switchable), using raw HTTP
//! requests against the proxy and, for contrast, the registry directly. These are the tests
//! that catch a client regressing to chunked uploads or to trusting headers ECR doesn't send.
//! Also checks the harness itself: moto's token password, the skopeo checker, path parsing.

use base64::Engine;
use bytes::Bytes;
use reqwest::{Client, Response, StatusCode};

use crate::harness::ecr_proxy::{MANIFEST_INVALID_BODY, TOKEN_EXPIRED_BODY};
use crate::harness::moto::moto_password;
use crate::harness::proxy_control::PathKind;
use crate::harness::registry::USER;
use crate::harness::skopeo::{self, sha256_digest};
use crate::harness::{Emulation, Region, TestEnv};

const REGION: &str = "us-east-1";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

// ---------------------------------------------------------------- tiny registry client

fn http() -> Client {
    Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Raw registry API calls against one base URL (the proxy or the registry itself).
struct Raw {
    client: Client,
    base: String,
    password: String,
}

impl Raw {
    fn proxy(region: &Region) -> Raw {
        Raw {
            client: http(),
            base: region.proxy_url(),
            password: region.password().into(),
        }
    }

    fn direct(region: &Region) -> Raw {
        Raw {
            client: http(),
            base: region.direct_url(),
            password: region.password().into(),
        }
    }

    fn with_password(mut self, password: &str) -> Raw {
        self.password = password.into();
        self
    }

    fn url(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with("http") {
            path_or_url.to_string()
        } else {
            format!("{}{path_or_url}", self.base)
        }
    }

    fn req(&self, method: reqwest::Method, path_or_url: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path_or_url))
            .basic_auth(USER, Some(&self.password))
    }

    async fn get(&self, path: &str) -> Response {
        self.req(reqwest::Method::GET, path).send().await.unwrap()
    }

    /// POST /v2/<repo>/blobs/uploads/ → Location of the session.
    async fn start_upload(&self, repo: &str) -> String {
        let resp = self
            .req(reqwest::Method::POST, &format!("/v2/{repo}/blobs/uploads/"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status(),
            StatusCode::ACCEPTED,
            "POST upload: {:?}",
            resp.text().await
        );
        location(&resp)
    }

    async fn patch(&self, location: &str, offset: usize, chunk: &[u8]) -> Response {
        self.req(reqwest::Method::PATCH, location)
            .header("Content-Type", "application/octet-stream")
            .header(
                "Content-Range",
                format!("{}-{}", offset, offset + chunk.len() - 1),
            )
            .body(Bytes::copy_from_slice(chunk))
            .send()
            .await
            .unwrap()
    }

    /// PUT <location>&digest=... with `body` (possibly empty).
    async fn finish(&self, location: &str, digest: &str, body: &[u8]) -> Response {
        let sep = if location.contains('?') { '&' } else { '?' };
        self.req(
            reqwest::Method::PUT,
            &format!("{location}{sep}digest={digest}"),
        )
        .header("Content-Type", "application/octet-stream")
        .body(Bytes::copy_from_slice(body))
        .send()
        .await
        .unwrap()
    }

    /// Monolithic upload: POST then one PUT with the whole blob.
    async fn push_blob(&self, repo: &str, blob: &[u8]) -> String {
        let digest = sha256_digest(blob);
        let loc = self.start_upload(repo).await;
        let resp = self.finish(&loc, &digest, blob).await;
        assert_eq!(
            resp.status(),
            StatusCode::CREATED,
            "PUT blob: {:?}",
            resp.text().await
        );
        digest
    }

    async fn put_manifest(&self, repo: &str, reference: &str, manifest: &[u8]) -> Response {
        self.req(
            reqwest::Method::PUT,
            &format!("/v2/{repo}/manifests/{reference}"),
        )
        .header("Content-Type", OCI_MANIFEST)
        .body(Bytes::copy_from_slice(manifest))
        .send()
        .await
        .unwrap()
    }

    async fn manifest(&self, method: reqwest::Method, repo: &str, reference: &str) -> Response {
        self.req(method, &format!("/v2/{repo}/manifests/{reference}"))
            .header("Accept", OCI_MANIFEST)
            .send()
            .await
            .unwrap()
    }
}

fn location(resp: &Response) -> String {
    resp.headers()
        .get("location")
        .expect("Location header")
        .to_str()
        .unwrap()
        .to_string()
}

fn header<'a>(resp: &'a Response, name: &str) -> Option<&'a str> {
    resp.headers().get(name).map(|v| v.to_str().unwrap())
}

// ---------------------------------------------------------------- tiny image

/// A blob of `len` bytes that is not all the same byte (so truncation changes the digest).
fn blob(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// An image: (config, layer, manifest with or without top-level mediaType).
struct TinyImage {
    config: Vec<u8>,
    layer: Vec<u8>,
}

impl TinyImage {
    fn new() -> TinyImage {
        // An empty tar archive is two zero blocks.
        let layer = vec![0u8; 1024];
        let config = serde_json::json!({
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [sha256_digest(&layer)]},
        });
        TinyImage {
            config: serde_json::to_vec(&config).unwrap(),
            layer,
        }
    }

    fn manifest(&self, with_media_type: bool) -> Vec<u8> {
        let mut m = serde_json::json!({
            "schemaVersion": 2,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": sha256_digest(&self.config),
                "size": self.config.len(),
            },
            "layers": [{
                "mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": sha256_digest(&self.layer),
                "size": self.layer.len(),
            }],
        });
        if with_media_type {
            m["mediaType"] = OCI_MANIFEST.into();
        }
        serde_json::to_vec_pretty(&m).unwrap()
    }

    /// Push config and layer (monolithically) so manifests referencing them are accepted.
    async fn push_blobs(&self, raw: &Raw, repo: &str) {
        raw.push_blob(repo, &self.config).await;
        raw.push_blob(repo, &self.layer).await;
    }
}

// ---------------------------------------------------------------- (a) and (b): uploads

#[tokio::test]
async fn second_patch_is_lost_through_proxy_but_not_direct() {
    let env = TestEnv::start(&[REGION]).await;
    let region = env.region(REGION);
    let data = blob(64 * 1024);
    let (first, second) = data.split_at(40 * 1024);
    let digest = sha256_digest(&data);

    // Through the proxy: the second PATCH is swallowed, the Range does not advance, and the
    // final PUT for the whole blob's digest fails.
    let proxy = Raw::proxy(region);
    let loc = proxy.start_upload("chunked").await;
    assert!(
        loc.starts_with(&region.proxy_url()),
        "Location must point back at the proxy: {loc}"
    );
    let r1 = proxy.patch(&loc, 0, first).await;
    assert_eq!(r1.status(), StatusCode::CREATED);
    let range1 = header(&r1, "range").unwrap().to_string();
    assert_eq!(range1, format!("0-{}", first.len() - 1));
    let loc1 = location(&r1);
    let r2 = proxy.patch(&loc1, first.len(), second).await;
    assert_eq!(r2.status(), StatusCode::CREATED);
    assert_eq!(
        header(&r2, "range"),
        Some(range1.as_str()),
        "Range must not advance"
    );
    assert_eq!(
        location(&r2),
        loc1,
        "second PATCH answered with the first PATCH's Location"
    );
    let put = proxy.finish(&location(&r2), &digest, &[]).await;
    assert!(
        put.status().is_client_error(),
        "PUT after a lost PATCH must fail, got {}",
        put.status()
    );
    assert!(
        !skopeo::blob_exists(region, "chunked", &digest)
            .await
            .unwrap()
    );

    let control = region.control();
    assert_eq!(control.count("PATCH"), 2);
    assert_eq!(control.count_blob_patches(), 2);
    let patches: Vec<_> = control
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .collect();
    assert!(patches[0].forwarded && !patches[1].forwarded, "{patches:?}");

    // Directly: distribution appends both chunks and the same PUT succeeds.
    let direct = Raw::direct(region);
    let loc = direct.start_upload("chunked").await;
    let r1 = direct.patch(&loc, 0, first).await;
    assert_eq!(r1.status(), StatusCode::ACCEPTED);
    let r2 = direct.patch(&location(&r1), first.len(), second).await;
    assert_eq!(r2.status(), StatusCode::ACCEPTED);
    assert_eq!(
        header(&r2, "range"),
        Some(format!("0-{}", data.len() - 1).as_str())
    );
    let put = direct.finish(&location(&r2), &digest, &[]).await;
    assert_eq!(put.status(), StatusCode::CREATED);
    assert!(
        skopeo::blob_exists(region, "chunked", &digest)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn single_patch_answers_201_and_upload_succeeds_through_proxy() {
    let env = TestEnv::start(&[REGION]).await;
    let region = env.region(REGION);
    let proxy = Raw::proxy(region);
    // Large enough to cross many socket buffers: the proxy streams it through.
    let data = blob(8 * 1024 * 1024 + 17);
    let digest = sha256_digest(&data);
    let loc = proxy.start_upload("single").await;
    let r = proxy.patch(&loc, 0, &data).await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "ECR answers a PATCH with 201"
    );
    assert_eq!(
        header(&r, "range"),
        Some(format!("0-{}", data.len() - 1).as_str())
    );
    let put = proxy.finish(&location(&r), &digest, &[]).await;
    assert_eq!(put.status(), StatusCode::CREATED, "{:?}", put.text().await);
    assert!(
        skopeo::blob_exists(region, "single", &digest)
            .await
            .unwrap()
    );

    // Reading it back through the proxy (ECR's redirect, followed without credentials)
    // streams the same bytes.
    let redirect = proxy.get(&format!("/v2/single/blobs/{digest}")).await;
    assert_eq!(redirect.status(), StatusCode::TEMPORARY_REDIRECT);
    let got = http().get(location(&redirect)).send().await.unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(sha256_digest(&got.bytes().await.unwrap()), digest);
}

#[tokio::test]
async fn monolithic_put_succeeds_through_proxy() {
    let env = TestEnv::start(&[REGION]).await;
    let region = env.region(REGION);
    let proxy = Raw::proxy(region);
    let data = blob(300 * 1024);
    let digest = proxy.push_blob("mono", &data).await;
    assert!(skopeo::blob_exists(region, "mono", &digest).await.unwrap());
    assert_eq!(region.control().count("PATCH"), 0);
    assert_eq!(region.control().count_upload_starts(), 1);
}

// ---------------------------------------------------------------- (c), (d), (e): manifests

#[tokio::test]
async fn manifest_put_through_proxy_has_no_location() {
    let env = TestEnv::start(&[REGION]).await;
    let region = env.region(REGION);
    let image = TinyImage::new();
    let manifest = image.manifest(true);
    let (proxy, direct) = (Raw::proxy(region), Raw::direct(region));
    image.push_blobs(&proxy, "app").await;

    let r = proxy.put_manifest("app", "v1", &manifest).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(
        header(&r, "location"),
        None,
        "ECR sends no Location on manifest PUT"
    );
    assert_eq!(
        header(&r, "docker-content-digest"),
        Some(sha256_digest(&manifest).as_str())
    );

    let r = direct.put_manifest("app", "v2", &manifest).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert!(
        header(&r, "location").is_some(),
        "distribution sends Location"
    );
    assert_eq!(region.control().count_manifest_puts(), 1);
}

#[tokio::test]
async fn manifest_get_through_proxy_lacks_digest_but_head_has_it() {
    let env = TestEnv::start(&[REGION]).await;
    let region = env.region(REGION);
    let image = TinyImage::new();
    let manifest = image.manifest(true);
    let digest = sha256_digest(&manifest);
    let (proxy, direct) = (Raw::proxy(region), Raw::direct(region));
    image.push_blobs(&proxy, "app").await;
    assert_eq!(
        proxy.put_manifest("app", "v1", &manifest).await.status(),
        StatusCode::CREATED
    );

    let get = proxy.manifest(reqwest::Method::GET, "app", "v1").await;
    assert_eq!(get.status(), StatusCode::OK);
    assert_eq!(
        header(&get, "docker-content-digest"),
        None,
        "ECR GET has no Docker-Content-Digest"
    );
    assert_eq!(
        get.bytes().await.unwrap(),
        manifest,
        "body passes through unchanged"
    );

    let head = proxy.manifest(reqwest::Method::HEAD, "app", "v1").await;
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(
        header(&head, "docker-content-digest"),
        Some(digest.as_str())
    );
    assert_eq!(
        header(&head, "content-length"),
        Some(manifest.len().to_string().as_str())
    );

    let get = direct.manifest(reqwest::Method::GET, "app", "v1").await;
    assert_eq!(header(&get, "docker-content-digest"), Some(digest.as_str()));
}

#[tokio::test]
async fn manifest_without_media_type_rejected_through_proxy_accepted_direct() {
    let env = TestEnv::start(&[REGION]).await;
    let region = env.region(REGION);
    let image = TinyImage::new();
    let bare = image.manifest(false);
    let (proxy, direct) = (Raw::proxy(region), Raw::direct(region));
    image.push_blobs(&direct, "app").await;

    let r = proxy.put_manifest("app", "bare", &bare).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::from_str::<serde_json::Value>(MANIFEST_INVALID_BODY).unwrap()
    );
    assert_eq!(body["errors"][0]["message"], "Invalid JSON syntax");
    let put = region
        .control()
        .requests()
        .into_iter()
        .find(|r| r.method == "PUT")
        .unwrap();
    assert!(!put.forwarded, "rejected without forwarding");
    assert!(
        skopeo::tags(region, "app").await.unwrap().is_empty(),
        "nothing was tagged"
    );

    // The same bytes are fine for distribution (OCI allows omitting mediaType) ...
    assert_eq!(
        direct.put_manifest("app", "bare", &bare).await.status(),
        StatusCode::CREATED
    );
    // ... and with mediaType the proxy accepts it.
    assert_eq!(
        proxy
            .put_manifest("app", "typed", &image.manifest(true))
            .await
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(
        skopeo::tags(region, "app").await.unwrap(),
        vec!["bare", "typed"]
    );
}

// ---------------------------------------------------------------- (g): tag immutability

#[tokio::test]
async fn immutable_tags_are_refused_through_proxy_by_mode_and_filter() {
    let env = TestEnv::start(&[REGION]).await;
    let region = env.region(REGION);
    env.moto()
        .create_repository_with_rules(REGION, "rules", "IMMUTABLE_WITH_EXCLUSION", &["latest"])
        .await
        .unwrap();
    let image = TinyImage::new();
    let (proxy, direct) = (Raw::proxy(region), Raw::direct(region));
    image.push_blobs(&direct, "rules").await;
    let first = image.manifest(true);
    let value: serde_json::Value = serde_json::from_slice(&first).unwrap();
    let second = serde_json::to_vec(&value).unwrap();
    assert_ne!(sha256_digest(&first), sha256_digest(&second));

    for tag in ["v1", "latest"] {
        let r = proxy.put_manifest("rules", tag, &first).await;
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "a new tag {tag} is accepted"
        );
    }
    // `latest` is the exception: it moves. `v1` is immutable: refused, even at the same bytes.
    let moved = proxy.put_manifest("rules", "latest", &second).await;
    assert_eq!(moved.status(), StatusCode::CREATED);
    for bytes in [&second, &first] {
        let r = proxy.put_manifest("rules", "v1", bytes).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["errors"][0]["code"], "TAG_INVALID");
        assert_eq!(
            body["errors"][0]["message"],
            "The image tag 'v1' already exists in the 'rules' repository and cannot be \
             overwritten because the tag is immutable."
        );
    }
    let by_digest = proxy
        .put_manifest("rules", &sha256_digest(&second), &second)
        .await;
    assert_eq!(
        by_digest.status(),
        StatusCode::CREATED,
        "by digest moves no tag"
    );
    assert_eq!(
        skopeo::manifest_digest(region, "rules", "v1")
            .await
            .unwrap(),
        sha256_digest(&first)
    );
    assert_eq!(
        skopeo::manifest_digest(region, "rules", "latest")
            .await
            .unwrap(),
        sha256_digest(&second)
    );

    // The mirror mode: `v*` is the immutable exception.
    env.moto()
        .put_tag_rules(REGION, "rules", "MUTABLE_WITH_EXCLUSION", &["v*"])
        .await
        .unwrap();
    let r = proxy.put_manifest("rules", "v1", &second).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = proxy.put_manifest("rules", "latest", &first).await;
    assert_eq!(r.status(), StatusCode::CREATED);

    // Switched off, the registry's own (mutable) behaviour shows.
    region.control().disable(Emulation::TagImmutability);
    let r = proxy.put_manifest("rules", "v1", &second).await;
    assert_eq!(r.status(), StatusCode::CREATED);
}

// ---------------------------------------------------------------- (f): expired tokens

#[tokio::test]
async fn expired_password_gets_403_while_current_one_works() {
    let env = TestEnv::start(&[REGION]).await;
    let region = env.region(REGION);
    let control = region.control();
    control.expire_password("yesterdays-token");

    let old = Raw::proxy(region).with_password("yesterdays-token");
    let r = old.get("/v2/").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(r.text().await.unwrap(), TOKEN_EXPIRED_BODY);
    assert!(
        TOKEN_EXPIRED_BODY
            .contains("Your authorization token has expired. Reauthenticate and try again.")
    );
    let r = old.start_upload_raw("app").await;
    assert_eq!(r, StatusCode::FORBIDDEN);

    assert_eq!(
        Raw::proxy(region).get("/v2/").await.status(),
        StatusCode::OK
    );
    let wrong = Raw::proxy(region).with_password("never-issued");
    assert_eq!(
        wrong.get("/v2/").await.status(),
        StatusCode::UNAUTHORIZED,
        "unknown ≠ expired"
    );

    // Expiring the current password locks it out at the proxy only.
    control.expire_password(region.password());
    assert_eq!(
        Raw::proxy(region).get("/v2/").await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        Raw::direct(region).get("/v2/").await.status(),
        StatusCode::OK
    );
    assert!(
        control
            .requests()
            .iter()
            .filter(|r| r.status == 403)
            .all(|r| !r.forwarded)
    );
}

impl Raw {
    async fn start_upload_raw(&self, repo: &str) -> StatusCode {
        self.req(reqwest::Method::POST, &format!("/v2/{repo}/blobs/uploads/"))
            .send()
            .await
            .unwrap()
            .status()
    }
}

// ---------------------------------------------------------------- (h) presigned blob GETs

#[tokio::test]
async fn blob_gets_are_redirected_to_a_presigned_url_that_refuses_credentials() {
    let env = TestEnv::start(&[REGION]).await;
    let region = env.region(REGION);
    let proxy = Raw::proxy(region);
    let data = blob(5_000);
    let digest = proxy.push_blob("presigned", &data).await;
    let path = format!("/v2/presigned/blobs/{digest}");
    let redirect = proxy.get(&path).await;
    assert_eq!(redirect.status(), StatusCode::TEMPORARY_REDIRECT);
    let target = location(&redirect);
    let presigned = reqwest::Url::parse(&target).unwrap();
    assert_eq!(
        presigned.host_str(),
        Some("localhost"),
        "another host: {target}"
    );
    assert!(target.contains("X-Amz-Signature="), "{target}");
    // With the registry's credentials too: S3's "Only one auth mechanism allowed".
    let refused = proxy.get(&target).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("Only one auth mechanism allowed")
    );
    let served = http().get(&target).send().await.unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.bytes().await.unwrap(), Bytes::from(data.clone()));
    // The registry itself serves the blob at once.
    let direct = Raw::direct(region).get(&path).await;
    assert_eq!(direct.status(), StatusCode::OK);
    region.control().disable(Emulation::PresignedBlobRedirect);
    assert_eq!(proxy.get(&path).await.status(), StatusCode::OK);
}

// ---------------------------------------------------------------- switches

#[tokio::test]
async fn emulations_switched_off_make_a_plain_proxy() {
    let env = TestEnv::start(&[REGION]).await;
    let region = env.region(REGION);
    region.control().disable_all();
    for e in Emulation::ALL {
        assert!(!region.control().is_enabled(e));
    }
    let proxy = Raw::proxy(region);
    let data = blob(10_000);
    let (first, second) = data.split_at(4_000);
    let loc = proxy.start_upload("plain").await;
    let r1 = proxy.patch(&loc, 0, first).await;
    assert_eq!(r1.status(), StatusCode::ACCEPTED);
    let r2 = proxy.patch(&location(&r1), first.len(), second).await;
    assert_eq!(r2.status(), StatusCode::ACCEPTED);
    let put = proxy
        .finish(&location(&r2), &sha256_digest(&data), &[])
        .await;
    assert_eq!(put.status(), StatusCode::CREATED);

    let image = TinyImage::new();
    image.push_blobs(&proxy, "plain").await;
    let r = proxy
        .put_manifest("plain", "bare", &image.manifest(false))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert!(header(&r, "location").is_some());
    let get = proxy.manifest(reqwest::Method::GET, "plain", "bare").await;
    assert!(header(&get, "docker-content-digest").is_some());

    region.control().expire_password(region.password());
    assert_eq!(proxy.get("/v2/").await.status(), StatusCode::OK);
    region.control().enable(Emulation::ExpiredTokens);
    assert_eq!(proxy.get("/v2/").await.status(), StatusCode::FORBIDDEN);
}

// ---------------------------------------------------------------- harness self-checks

#[tokio::test]
async fn moto_password_matches_get_authorization_token() {
    let regions = ["us-east-1", "eu-west-1", "ap-southeast-2"];
    let env = TestEnv::start(&regions).await;
    let mut passwords = Vec::new();
    for name in regions {
        let token = env.moto().authorization_token(name).await.unwrap();
        let decoded = String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(&token)
                .unwrap(),
        )
        .unwrap();
        let (user, password) = decoded.split_once(':').unwrap();
        assert_eq!(user, "AWS");
        assert_eq!(password, moto_password(name), "the token in {name}");
        assert_eq!(password, env.region(name).password());
        // The token moto hands out opens that region's registry through its proxy.
        let raw = Raw::proxy(env.region(name)).with_password(password);
        assert_eq!(raw.get("/v2/").await.status(), StatusCode::OK);
        passwords.push(password.to_string());
    }
    assert!(
        passwords.windows(2).all(|w| w[0] != w[1]),
        "each region has its own password, as on AWS"
    );
    // One region's token does not open another region's registry.
    let elsewhere = Raw::proxy(env.region("eu-west-1")).with_password(&passwords[0]);
    assert_eq!(
        elsewhere.get("/v2/").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn env_exposes_regions_repositories_and_binary_environment() {
    let env = TestEnv::start(&["us-east-1", "eu-west-1", "ap-southeast-2"]).await;
    let arg = env.registry_endpoints_arg();
    let parts: Vec<&str> = arg.split(',').collect();
    assert_eq!(parts.len(), 3);
    for (part, region) in parts.iter().zip(env.regions()) {
        assert_eq!(*part, format!("{}={}", region.name(), region.proxy_url()));
        assert_ne!(region.proxy_url(), region.direct_url());
    }

    env.create_repository("eu-west-1", "team/app").await;
    env.create_repository("us-east-1", "other").await;
    assert_eq!(env.list_repositories("eu-west-1").await, vec!["team/app"]);
    assert_eq!(env.list_repositories("us-east-1").await, vec!["other"]);
    assert!(env.list_repositories("ap-southeast-2").await.is_empty());

    let vars = env.env_vars();
    let get = |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(get("AWS_ENDPOINT_URL_ECR"), Some(env.moto_url()));
    assert_eq!(get("AWS_EC2_METADATA_DISABLED").as_deref(), Some("true"));
    assert!(!std::path::Path::new(&get("AWS_CONFIG_FILE").unwrap()).exists());

    // Every host variable outside the allow-list is removed (cargo's own are always there).
    let cmd = crate::harness::ecr_fanout(&env);
    let envs: Vec<_> = cmd.get_envs().collect();
    let host: Vec<String> = std::env::vars().map(|(k, _)| k).collect();
    assert!(host.iter().any(|k| k.starts_with("CARGO_")), "{host:?}");
    for name in &host {
        let allowed = crate::harness::env::ALLOWED_HOST_VARS.contains(&name.as_str());
        let removed = envs.iter().any(|(k, v)| k == &name.as_str() && v.is_none());
        let set = envs.iter().any(|(k, v)| k == &name.as_str() && v.is_some());
        assert!(allowed || removed || set, "{name} reaches the binary");
    }
    assert!(
        !envs.iter().any(|(k, v)| *k == "PATH" && v.is_none()),
        "PATH is kept"
    );
}

#[tokio::test]
async fn skopeo_checker_reads_the_registry_directly() {
    let env = TestEnv::start(&[REGION]).await;
    let region = env.region(REGION);
    assert!(skopeo::catalog(region).await.unwrap().is_empty());
    let image = TinyImage::new();
    let manifest = image.manifest(true);
    let proxy = Raw::proxy(region);
    image.push_blobs(&proxy, "team/app").await;
    assert_eq!(
        proxy
            .put_manifest("team/app", "v1", &manifest)
            .await
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(
        proxy
            .put_manifest("team/app", "latest", &manifest)
            .await
            .status(),
        StatusCode::CREATED
    );

    let digest = sha256_digest(&manifest);
    assert_eq!(
        skopeo::inspect_raw(region, "team/app", "v1").await.unwrap(),
        manifest
    );
    assert_eq!(
        skopeo::inspect_raw(region, "team/app", &digest)
            .await
            .unwrap(),
        manifest
    );
    assert_eq!(
        skopeo::manifest_digest(region, "team/app", "latest")
            .await
            .unwrap(),
        digest
    );
    assert_eq!(
        skopeo::tags(region, "team/app").await.unwrap(),
        vec!["latest", "v1"]
    );
    assert_eq!(skopeo::catalog(region).await.unwrap(), vec!["team/app"]);
    assert!(
        skopeo::blob_exists(region, "team/app", &sha256_digest(&image.layer))
            .await
            .unwrap()
    );
    assert!(
        !skopeo::blob_exists(region, "team/app", &sha256_digest(b"absent"))
            .await
            .unwrap()
    );
    assert!(
        skopeo::inspect_raw(region, "team/app", "missing")
            .await
            .is_err()
    );
}

#[test]
fn path_kinds() {
    assert_eq!(PathKind::of("/v2/"), PathKind::Base);
    assert_eq!(PathKind::of("/v2/_catalog"), PathKind::Catalog);
    assert_eq!(
        PathKind::of("/v2/a/b/tags/list"),
        PathKind::TagsList { repo: "a/b".into() }
    );
    assert_eq!(
        PathKind::of("/v2/a/b/blobs/uploads/"),
        PathKind::UploadStart { repo: "a/b".into() }
    );
    assert_eq!(
        PathKind::of("/v2/a/b/blobs/uploads/1234-abcd"),
        PathKind::UploadSession {
            repo: "a/b".into(),
            uuid: "1234-abcd".into()
        }
    );
    assert_eq!(
        PathKind::of("/v2/a/manifests/v1"),
        PathKind::Manifest {
            repo: "a".into(),
            reference: "v1".into()
        }
    );
    assert_eq!(
        PathKind::of("/v2/a/blobs/sha256:00"),
        PathKind::Blob {
            repo: "a".into(),
            digest: "sha256:00".into()
        }
    );
    assert_eq!(PathKind::of("/health"), PathKind::Other);
}

#[tokio::test]
async fn the_referrers_api_is_answered_from_the_registrys_own_manifests() {
    use crate::harness::artifacts::{Subject, list_referrers, push_referrer};
    let env = TestEnv::start(&[REGION]).await;
    let region = env.region(REGION);
    let subject_digest = format!("sha256:{}", "ab".repeat(32));
    let subject = Subject {
        media_type: OCI_MANIFEST,
        digest: &subject_digest,
        size: 123,
    };
    // Pushed around the proxy, straight into the registry.
    let direct = region.direct_url();
    let password = region.password().to_string();
    let signature = push_referrer(
        (&direct, &password),
        "app",
        &subject,
        (
            "application/vnd.dev.cosign.artifact.sig.v1+json",
            b"signature",
        ),
    )
    .await;
    let proxy = region.proxy_url();
    let (status, listed) = list_referrers((&proxy, &password), "app", &subject_digest).await;
    assert_eq!(status, 200);
    assert_eq!(
        listed,
        [(
            signature,
            "application/vnd.dev.cosign.artifact.sig.v1+json".to_string()
        )]
    );
    let (status, listed) = list_referrers(
        (&proxy, &password),
        "app",
        &format!("sha256:{}", "cd".repeat(32)),
    )
    .await;
    assert_eq!((status, listed.len()), (200, 0), "another subject has none");
    let (status, _) = list_referrers((&direct, &password), "app", &subject_digest).await;
    assert_eq!(status, 404, "distribution 2.8 itself has no referrers API");
    region.control().disable(Emulation::ReferrersApi);
    let (status, _) = list_referrers((&proxy, &password), "app", &subject_digest).await;
    assert_eq!(
        status, 404,
        "switched off, the proxy forwards to the registry"
    );
}
