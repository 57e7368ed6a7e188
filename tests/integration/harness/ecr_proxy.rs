//! `EcrProxy`: an HTTP/1.1 reverse proxy in front of one docker-registry that answers the way
//! Amazon ECR does where ECR differs from distribution (see [`Emulation`]), and fails the way a
//! test asks it to (see [`Fault`]). Owns the hyper server task, the connection tasks and the
//! emulated behaviours; forwarding is in `proxy_forward.rs`, carrying out faults in
//! `proxy_faults.rs`, the presigned blob downloads in `proxy_presigned.rs`, the switches,
//! faults and counters in [`ProxyControl`].

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Result;
use base64::Engine;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Limited};
use hyper::body::{Body as _, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::task::{JoinHandle, JoinSet};

use super::fault::{RequestAction, RequestFacts};
use super::proxy_control::FirstPatch;
#[allow(unused_imports)]
pub use super::proxy_control::{Emulation, Fault, PathKind, ProxyControl, RequestRecord};
use super::proxy_faults::{ConnectionAborted, Outcome, answer_with_fault, corrupt_manifest};
pub(crate) use super::proxy_forward::{
    BoxError, ProxyBody, Shared, drain, empty, forward, json_error,
};
use super::proxy_tag_rules::refuse_immutable_tag;

/// ECR's manifest size limit; bigger manifest PUTs are rejected without forwarding.
pub const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;

/// Body of ECR's answer to a manifest without a top-level `mediaType`.
pub const MANIFEST_INVALID_BODY: &str =
    r#"{"errors":[{"code":"MANIFEST_INVALID","message":"Invalid JSON syntax"}]}"#;

/// Body of ECR's answer to an expired authorization token.
pub const TOKEN_EXPIRED_BODY: &str = r#"{"errors":[{"code":"DENIED","message":"Your authorization token has expired. Reauthenticate and try again."}]}"#;

/// A running proxy. Dropping it closes its port and aborts every open connection (so hung
/// and stalled requests end too).
pub struct EcrProxy {
    addr: SocketAddr,
    control: ProxyControl,
    task: JoinHandle<()>,
}

impl EcrProxy {
    /// Start a proxy on 127.0.0.1 (free port) forwarding to `upstream` (`http://host:port`).
    pub async fn start(upstream: &str) -> Result<EcrProxy> {
        Self::start_with(upstream, ProxyControl::new()).await
    }

    /// Same, with a control handle made by the caller (one control per proxy).
    pub async fn start_with(upstream: &str, control: ProxyControl) -> Result<EcrProxy> {
        let addr = control.listener().bind_loopback()?;
        let shared = Shared::new(upstream, control.clone()).await?;
        let task = tokio::spawn(accept_loop(shared));
        Ok(EcrProxy {
            addr,
            control,
            task,
        })
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `127.0.0.1:PORT`
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn control(&self) -> &ProxyControl {
        &self.control
    }
}

impl Drop for EcrProxy {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every connection task.
        self.task.abort();
        self.control.listener().close();
    }
}

async fn accept_loop(shared: Shared) {
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let stream = match shared.control.listener().accept().await {
            Ok(stream) => stream,
            Err(_) => {
                // e.g. out of file descriptors: back off instead of spinning.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        if !shared.control.admit_connection() {
            // Refused between the kernel's accept and ours: reset before any byte.
            let _ = stream.set_zero_linger();
            continue;
        }
        connections.spawn(serve_connection(shared.clone(), stream));
    }
}

/// Serve one client connection until it ends, or until the port is switched off.
async fn serve_connection(shared: Shared, stream: TcpStream) {
    let _open = shared.control.connection_opened();
    let refused = shared.control.subscribe_refused();
    let service = service_fn(move |req| handle(shared.clone(), req));
    let connection =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        // A connection whose port was switched off must not serve another request.
        biased;
        () = refused.cancelled_owned() => {}
        _ = connection => {}
    }
}

/// Answer one request: meet its faults, else emulate, or forward and adjust; then record it.
/// An error makes hyper close the connection without an answer.
async fn handle(
    shared: Shared,
    req: Request<Incoming>,
) -> Result<Response<ProxyBody>, ConnectionAborted> {
    let method = req.method().clone();
    let uri = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let kind = PathKind::of(req.uri().path());
    let cleared = shared.control.subscribe_cleared();
    let released = shared.control.subscribe_released();
    let faults = shared.control.faults_for_request(&RequestFacts {
        method: &method,
        kind: &kind,
        authenticated: req.headers().contains_key(header::AUTHORIZATION),
        has_body: !req.body().is_end_stream(),
    });
    let mut log = LogOnDrop {
        control: shared.control.clone(),
        record: RequestRecord {
            method: method.to_string(),
            uri,
            kind: kind.clone(),
            status: 0,
            forwarded: false,
            received: std::time::Instant::now(),
        },
    };
    if !faults.latency.is_zero() {
        tokio::time::sleep(faults.latency).await;
    }
    let outcome: Outcome = match faults.action {
        Some(RequestAction::Hold) => {
            tokio::select! {
                () = released.cancelled_owned() => {}
                () = cleared.cancelled_owned() => {}
            }
            Ok(respond(&shared, req, &method, &kind).await)
        }
        Some(action) => answer_with_fault(shared.clone(), req, action, cleared).await,
        None => Ok(respond(&shared, req, &method, &kind).await),
    };
    (log.record.status, log.record.forwarded) = match &outcome {
        Ok((resp, forwarded)) => (resp.status().as_u16(), *forwarded),
        Err(aborted) => (0, aborted.forwarded),
    };
    outcome.map(|(resp, _)| resp)
}

/// Logs a request when its handling ends, also when hyper drops it unanswered (the client
/// went away, or the proxy stopped): then with status 0.
struct LogOnDrop {
    control: ProxyControl,
    record: RequestRecord,
}

impl Drop for LogOnDrop {
    fn drop(&mut self) {
        self.control.record(self.record.clone());
    }
}

async fn respond(
    shared: &Shared,
    req: Request<Incoming>,
    method: &Method,
    kind: &PathKind,
) -> (Response<ProxyBody>, bool) {
    let control = &shared.control;

    // (f) expired authorization tokens
    if control.is_enabled(Emulation::ExpiredTokens)
        && let Some(password) = basic_password(req.headers())
        && control.is_expired(&password)
    {
        drain(req.into_body()).await;
        return (json_error(StatusCode::FORBIDDEN, TOKEN_EXPIRED_BODY), false);
    }

    match (method, kind) {
        (&Method::PATCH, PathKind::UploadSession { uuid, .. }) => {
            patch_upload(shared, req, uuid).await
        }
        (&Method::PUT, PathKind::Manifest { .. }) => put_manifest(shared, req).await,
        // (i) the referrers API, answered from the registry's stored manifests
        (&Method::GET, PathKind::Referrers { repo, digest })
            if control.is_enabled(Emulation::ReferrersApi) =>
        {
            let query = req.uri().query().unwrap_or_default().to_string();
            let authorized = req.headers().contains_key(header::AUTHORIZATION);
            let storage = control.registry_storage();
            let answer = super::proxy_referrers::answer(
                storage.as_deref(),
                repo,
                digest,
                &query,
                authorized,
            );
            (answer, false)
        }
        // (h) blob downloads are redirected to a presigned "S3" URL
        (&Method::GET, PathKind::Blob { .. })
            if control.is_enabled(Emulation::PresignedBlobRedirect) =>
        {
            let path = req.uri().path().to_string();
            let authorization = req.headers().get(header::AUTHORIZATION).cloned();
            let location = shared
                .presigned
                .presign(format!("{}{path}", shared.upstream), authorization);
            let mut resp = Response::new(empty());
            *resp.status_mut() = StatusCode::TEMPORARY_REDIRECT;
            if let Ok(value) = HeaderValue::from_str(&location) {
                resp.headers_mut().insert(header::LOCATION, value);
            }
            (resp, false)
        }
        (&Method::GET, PathKind::Manifest { .. }) => {
            let mut resp = forward(shared, req, None).await;
            if control.is_enabled(Emulation::NoDigestOnManifestGet) {
                resp.headers_mut().remove("docker-content-digest");
            }
            if resp.status() == StatusCode::OK && control.take_manifest_corruption(kind) {
                resp = corrupt_manifest(resp).await;
            }
            (resp, true)
        }
        _ => (forward(shared, req, None).await, true),
    }
}

/// (a) 201 instead of 202; (b) later PATCHes of a session are dropped and answered like the first.
async fn patch_upload(
    shared: &Shared,
    req: Request<Incoming>,
    uuid: &str,
) -> (Response<ProxyBody>, bool) {
    let control = &shared.control;
    let discard = control.is_enabled(Emulation::DiscardLaterPatches);
    if discard && let Some(first) = control.first_patch(uuid) {
        // Read and throw away the chunk so the client sees a normal exchange.
        drain(req.into_body()).await;
        let mut resp = Response::new(empty());
        *resp.status_mut() = StatusCode::from_u16(first.status).unwrap_or(StatusCode::CREATED);
        *resp.headers_mut() = first.headers;
        resp.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
        return (resp, false);
    }
    let mut resp = forward(shared, req, None).await;
    if resp.status() == StatusCode::ACCEPTED && control.is_enabled(Emulation::PatchAnswers201) {
        *resp.status_mut() = StatusCode::CREATED;
    }
    if discard && resp.status().is_success() {
        let mut headers = HeaderMap::new();
        for name in ["location", "range", "docker-upload-uuid"] {
            if let Some(v) = resp.headers().get(name) {
                headers.insert(name, v.clone());
            }
        }
        control.remember_first_patch(
            uuid,
            FirstPatch {
                status: resp.status().as_u16(),
                headers,
            },
        );
    }
    (resp, true)
}

/// (e) reject manifests without a top-level `mediaType`; (g) refuse immutable tags; (c) drop
/// `Location` from the answer.
async fn put_manifest(shared: &Shared, req: Request<Incoming>) -> (Response<ProxyBody>, bool) {
    let control = &shared.control;
    let (parts, body) = req.into_parts();
    let bytes = match Limited::new(body, MAX_MANIFEST_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            let body = serde_json::json!({"errors":[{"code":"MANIFEST_INVALID","message":format!("manifest unreadable or over {MAX_MANIFEST_BYTES} bytes: {e}")}]});
            return (
                json_error(StatusCode::BAD_REQUEST, &body.to_string()),
                false,
            );
        }
    };
    if control.is_enabled(Emulation::RequireManifestMediaType) && !has_top_level_media_type(&bytes)
    {
        return (
            json_error(StatusCode::BAD_REQUEST, MANIFEST_INVALID_BODY),
            false,
        );
    }
    if control.is_enabled(Emulation::TagImmutability)
        && let Some(plane) = control.control_plane()
        && let PathKind::Manifest { repo, reference } = PathKind::of(parts.uri.path())
        && let Some(refused) =
            refuse_immutable_tag(shared, &plane, &repo, &reference, &parts.headers).await
    {
        return (refused, false);
    }
    let req = Request::from_parts(parts, ());
    let mut resp = forward(shared, req, Some(bytes)).await;
    if control.is_enabled(Emulation::NoLocationOnManifestPut) {
        resp.headers_mut().remove(header::LOCATION);
    }
    (resp, true)
}

fn has_top_level_media_type(body: &[u8]) -> bool {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(map)) => map.get("mediaType").is_some_and(|v| v.is_string()),
        _ => false,
    }
}

/// The password of an `Authorization: Basic` header, if it decodes.
fn basic_password(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (_user, password) = text.split_once(':')?;
    Some(password.to_string())
}
