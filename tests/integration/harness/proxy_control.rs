//! `ProxyControl`: the shared handle between a test and its ECR proxy. Owns the on/off switch
//! of each emulated ECR behaviour, the set of expired passwords, the per-upload-session memory
//! used to discard repeated PATCHes, and the request log and counters. Fault injection
//! (`inject`, `clear_faults`, `faults_fired`, ...) is in `fault_control.rs`, faults in `fault.rs`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use http::HeaderMap;

pub use super::fault::Fault;
use super::fault_control::FaultWires;
pub use super::proxy_tag_rules::ControlPlane;

/// One way Amazon ECR differs from distribution, emulated by the proxy. All are on by default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Emulation {
    /// (a) `PATCH .../blobs/uploads/<uuid>` answers `201 Created` instead of `202 Accepted`.
    PatchAnswers201,
    /// (b) Every PATCH after the first in an upload session is discarded (not forwarded) and
    /// answered with the first PATCH's `Range` and `Location`: the upload stops growing.
    DiscardLaterPatches,
    /// (c) A manifest PUT response carries no `Location`.
    NoLocationOnManifestPut,
    /// (d) A manifest GET response carries no `Docker-Content-Digest` (HEAD keeps it).
    NoDigestOnManifestGet,
    /// (e) A manifest PUT without a top-level `mediaType` is rejected with 400 MANIFEST_INVALID.
    RequireManifestMediaType,
    /// (f) Passwords marked with [`ProxyControl::expire_password`] get 403 DENIED.
    ExpiredTokens,
    /// (g) A manifest PUT by tag that ECR's tag mutability (mode and exclusion filters, read
    /// from moto) forbids is answered 400 TAG_INVALID; needs [`ProxyControl::set_control_plane`].
    TagImmutability,
    /// (h) A blob GET is answered 307 to a presigned "S3" URL on another host name, which
    /// refuses a request carrying `Authorization` (see `proxy_presigned`).
    PresignedBlobRedirect,
    /// (i) `GET /v2/<name>/referrers/<digest>` (OCI 1.1, which ECR serves and distribution
    /// 2.8 does not) is answered from the registry's own stored manifests (see
    /// `proxy_referrers`; needs [`ProxyControl::set_registry_storage`]). Off, it reaches the
    /// registry, which answers 404 as a registry without the API does.
    ReferrersApi,
}

impl Emulation {
    pub const ALL: [Emulation; 9] = [
        Emulation::PatchAnswers201,
        Emulation::DiscardLaterPatches,
        Emulation::NoLocationOnManifestPut,
        Emulation::NoDigestOnManifestGet,
        Emulation::RequireManifestMediaType,
        Emulation::ExpiredTokens,
        Emulation::TagImmutability,
        Emulation::PresignedBlobRedirect,
        Emulation::ReferrersApi,
    ];
}

/// What a request path addresses, for counting and for choosing the emulation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PathKind {
    /// `/v2/`
    Base,
    /// `/v2/_catalog`
    Catalog,
    /// `/v2/<name>/tags/list`
    TagsList {
        repo: String,
    },
    /// `/v2/<name>/manifests/<reference>`
    Manifest {
        repo: String,
        reference: String,
    },
    /// `/v2/<name>/blobs/<digest>`
    Blob {
        repo: String,
        digest: String,
    },
    /// `/v2/<name>/blobs/uploads/` (POST starts a session)
    UploadStart {
        repo: String,
    },
    /// `/v2/<name>/blobs/uploads/<uuid>` (PATCH, PUT, GET, DELETE of a session)
    UploadSession {
        repo: String,
        uuid: String,
    },
    /// `/v2/<name>/referrers/<digest>`
    Referrers {
        repo: String,
        digest: String,
    },
    Other,
}

impl PathKind {
    /// Classify a request path (without query).
    pub fn of(path: &str) -> PathKind {
        let Some(rest) = path.strip_prefix("/v2") else {
            return PathKind::Other;
        };
        if rest.is_empty() || rest == "/" {
            return PathKind::Base;
        }
        let rest = &rest[1..];
        if rest == "_catalog" {
            return PathKind::Catalog;
        }
        if let Some(repo) = rest.strip_suffix("/tags/list") {
            return PathKind::TagsList { repo: repo.into() };
        }
        if let Some(i) = rest.rfind("/blobs/uploads/") {
            let (repo, uuid) = (&rest[..i], &rest[i + "/blobs/uploads/".len()..]);
            if uuid.is_empty() {
                return PathKind::UploadStart { repo: repo.into() };
            }
            if !uuid.contains('/') {
                return PathKind::UploadSession {
                    repo: repo.into(),
                    uuid: uuid.into(),
                };
            }
        }
        if let Some(i) = rest.rfind("/referrers/") {
            let digest = &rest[i + "/referrers/".len()..];
            if !digest.is_empty() && !digest.contains('/') {
                return PathKind::Referrers {
                    repo: rest[..i].into(),
                    digest: digest.into(),
                };
            }
        }
        if let Some(repo) = rest.strip_suffix("/blobs/uploads") {
            return PathKind::UploadStart { repo: repo.into() };
        }
        if let Some(i) = rest.rfind("/manifests/") {
            let reference = &rest[i + "/manifests/".len()..];
            if !reference.is_empty() && !reference.contains('/') {
                return PathKind::Manifest {
                    repo: rest[..i].into(),
                    reference: reference.into(),
                };
            }
        }
        if let Some(i) = rest.rfind("/blobs/") {
            let digest = &rest[i + "/blobs/".len()..];
            if !digest.is_empty() && !digest.contains('/') {
                return PathKind::Blob {
                    repo: rest[..i].into(),
                    digest: digest.into(),
                };
            }
        }
        PathKind::Other
    }

    /// A short name for counting: "base", "catalog", "tags", "manifest", "blob",
    /// "upload-start", "upload-session", "referrers", "other".
    pub fn label(&self) -> &'static str {
        match self {
            PathKind::Base => "base",
            PathKind::Catalog => "catalog",
            PathKind::TagsList { .. } => "tags",
            PathKind::Manifest { .. } => "manifest",
            PathKind::Blob { .. } => "blob",
            PathKind::UploadStart { .. } => "upload-start",
            PathKind::UploadSession { .. } => "upload-session",
            PathKind::Referrers { .. } => "referrers",
            PathKind::Other => "other",
        }
    }
}

/// One request the proxy answered.
#[derive(Clone, Debug)]
pub struct RequestRecord {
    pub method: String,
    /// Path and query as received.
    pub uri: String,
    pub kind: PathKind,
    /// Status sent back to the client; 0 when a fault closed the connection without one.
    pub status: u16,
    /// False when the proxy answered by itself (emulation or fault) instead of forwarding;
    /// true for a cut or stalled upload, part of whose body reached the registry.
    pub forwarded: bool,
    /// When its head arrived (before any latency fault).
    pub received: std::time::Instant,
}

/// What the first PATCH of an upload session was answered with; later PATCHes replay it.
#[derive(Clone, Debug)]
pub(crate) struct FirstPatch {
    pub status: u16,
    pub headers: HeaderMap,
}

#[derive(Default)]
struct State {
    disabled: HashSet<Emulation>,
    expired_passwords: HashSet<String>,
    first_patches: HashMap<String, FirstPatch>,
    log: Vec<RequestRecord>,
    control_plane: Option<ControlPlane>,
    /// The registry's storage root (`…/docker/registry/v2`), for the referrers API.
    registry_storage: Option<std::path::PathBuf>,
}

/// Cheap to clone; every clone controls the same proxy.
#[derive(Clone, Default)]
pub struct ProxyControl {
    state: Arc<Mutex<State>>,
    /// Woken whenever a request is logged.
    logged: Arc<tokio::sync::Notify>,
    pub(super) faults: Arc<FaultWires>,
}

impl ProxyControl {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    // ---- emulation switches ----

    pub fn is_enabled(&self, e: Emulation) -> bool {
        !self.lock().disabled.contains(&e)
    }

    pub fn set(&self, e: Emulation, on: bool) {
        let mut s = self.lock();
        if on {
            s.disabled.remove(&e);
        } else {
            s.disabled.insert(e);
        }
    }

    pub fn enable(&self, e: Emulation) {
        self.set(e, true)
    }

    pub fn disable(&self, e: Emulation) {
        self.set(e, false)
    }

    /// Turn every emulation off: the proxy becomes a plain pass-through.
    pub fn disable_all(&self) {
        for e in Emulation::ALL {
            self.disable(e);
        }
    }

    pub fn enable_all(&self) {
        self.lock().disabled.clear();
    }

    // ---- the ECR control plane (emulation g) ----

    /// Where the proxy reads repository settings (moto, and this proxy's region).
    pub fn set_control_plane(&self, plane: ControlPlane) {
        self.lock().control_plane = Some(plane);
    }

    pub fn control_plane(&self) -> Option<ControlPlane> {
        self.lock().control_plane.clone()
    }

    /// Where the registry behind the proxy stores its repositories and blobs.
    pub fn set_registry_storage(&self, root: std::path::PathBuf) {
        self.lock().registry_storage = Some(root);
    }

    pub fn registry_storage(&self) -> Option<std::path::PathBuf> {
        self.lock().registry_storage.clone()
    }

    // ---- expired tokens ----

    /// From now on `AWS:<password>` is answered 403 "token has expired".
    pub fn expire_password(&self, password: &str) {
        self.lock().expired_passwords.insert(password.to_string());
    }

    pub fn is_expired(&self, password: &str) -> bool {
        self.lock().expired_passwords.contains(password)
    }

    // ---- upload sessions (emulation b) ----

    pub(crate) fn first_patch(&self, uuid: &str) -> Option<FirstPatch> {
        self.lock().first_patches.get(uuid).cloned()
    }

    pub(crate) fn remember_first_patch(&self, uuid: &str, first: FirstPatch) {
        self.lock()
            .first_patches
            .entry(uuid.to_string())
            .or_insert(first);
    }

    // ---- request log and counters ----

    pub(crate) fn record(&self, record: RequestRecord) {
        self.lock().log.push(record);
        self.logged.notify_waiters();
    }

    /// Wait until `done` holds for the request log (checked at each logged request); panics
    /// after `within` saying `what`. For ordering a test's steps after requests were answered.
    pub async fn wait_for_log(
        &self,
        what: &str,
        within: std::time::Duration,
        done: impl Fn(&[RequestRecord]) -> bool,
    ) {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let notified = self.logged.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let log = self.lock().log.clone();
            if done(&log) {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("not logged within {within:?}: {what}");
            }
        }
    }

    /// Requests answered with this method, for `/v2/*/manifests/<reference>`, by status.
    pub fn manifest_requests(&self, method: &str, reference: &str) -> Vec<u16> {
        self.lock()
            .log
            .iter()
            .filter(|r| {
                r.method.eq_ignore_ascii_case(method)
                    && matches!(&r.kind, PathKind::Manifest { reference: x, .. } if x == reference)
            })
            .map(|r| r.status)
            .collect()
    }

    /// Every request answered so far, in order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.lock().log.clone()
    }

    /// Requests with this method (any path).
    pub fn count(&self, method: &str) -> usize {
        self.lock()
            .log
            .iter()
            .filter(|r| r.method.eq_ignore_ascii_case(method))
            .count()
    }

    /// Requests with this method whose path is of this kind ([`PathKind::label`]).
    pub fn count_kind(&self, method: &str, kind_label: &str) -> usize {
        self.lock()
            .log
            .iter()
            .filter(|r| r.method.eq_ignore_ascii_case(method) && r.kind.label() == kind_label)
            .count()
    }

    pub fn count_manifest_puts(&self) -> usize {
        self.count_kind("PUT", "manifest")
    }

    pub fn count_blob_patches(&self) -> usize {
        self.count_kind("PATCH", "upload-session")
    }

    pub fn count_upload_starts(&self) -> usize {
        self.count_kind("POST", "upload-start")
    }

    /// Forget the request log and the fault counters (switches, expired passwords and armed
    /// faults stay).
    pub fn reset_counts(&self) {
        self.lock().log.clear();
        self.reset_faults_fired();
    }
}
