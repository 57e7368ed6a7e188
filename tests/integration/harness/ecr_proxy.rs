//! `EcrProxy`: an HTTP/1.1 reverse proxy in front of one docker-registry that answers the way
//! Amazon ECR does where ECR differs from distribution (see [`Emulation`]). Owns the hyper
//! server task, forwarding (streamed both ways, `Host` preserved, redirects not followed) and
//! the emulated behaviours; the switches and counters live in [`ProxyControl`].

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Result;
use base64::Engine;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

use super::proxy_control::FirstPatch;
#[allow(unused_imports)]
pub use super::proxy_control::{Emulation, Fault, PathKind, ProxyControl, RequestRecord};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type ProxyBody = BoxBody<Bytes, BoxError>;

/// ECR's manifest size limit; bigger manifest PUTs are rejected without forwarding.
pub const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;

/// Body of ECR's answer to a manifest without a top-level `mediaType`.
pub const MANIFEST_INVALID_BODY: &str =
    r#"{"errors":[{"code":"MANIFEST_INVALID","message":"Invalid JSON syntax"}]}"#;

/// Body of ECR's answer to an expired authorization token.
pub const TOKEN_EXPIRED_BODY: &str = r#"{"errors":[{"code":"DENIED","message":"Your authorization token has expired. Reauthenticate and try again."}]}"#;

/// Headers that belong to one connection and are never forwarded.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// A running proxy. Dropping it stops accepting and aborts every open connection.
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

    /// Same, with a control handle made by the caller.
    pub async fn start_with(upstream: &str, control: ProxyControl) -> Result<EcrProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .build()?;
        let shared = Shared {
            upstream: upstream.trim_end_matches('/').to_string(),
            client,
            control: control.clone(),
        };
        let task = tokio::spawn(accept_loop(listener, shared));
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
    }
}

#[derive(Clone)]
struct Shared {
    upstream: String,
    client: reqwest::Client,
    control: ProxyControl,
}

async fn accept_loop(listener: TcpListener, shared: Shared) {
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let stream = match listener.accept().await {
            Ok((stream, _peer)) => stream,
            Err(_) => {
                // e.g. out of file descriptors: back off instead of spinning.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        if let Some(fault) = shared.control.fault_on_accept() {
            match fault {}
        }
        let shared = shared.clone();
        connections.spawn(async move {
            let service = service_fn(move |req| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(handle(shared, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Answer one request: emulate, or forward and adjust, then record it.
async fn handle(shared: Shared, req: Request<Incoming>) -> Response<ProxyBody> {
    let method = req.method().clone();
    let uri = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let kind = PathKind::of(req.uri().path());
    if let Some(fault) = shared.control.fault_on_request(&method, &kind) {
        match fault {}
    }
    let (resp, forwarded) = respond(&shared, req, &method, &kind).await;
    shared.control.record(RequestRecord {
        method: method.to_string(),
        uri,
        kind,
        status: resp.status().as_u16(),
        forwarded,
    });
    resp
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
        (&Method::GET, PathKind::Manifest { .. }) => {
            let mut resp = forward(shared, req, None).await;
            if control.is_enabled(Emulation::NoDigestOnManifestGet) {
                resp.headers_mut().remove("docker-content-digest");
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

/// (e) reject manifests without a top-level `mediaType`; (c) drop `Location` from the answer.
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

/// Forward to the registry. `body` replaces the request body when the proxy buffered it;
/// otherwise the incoming body is streamed through. Upstream failures become 502.
async fn forward<B>(shared: &Shared, req: Request<B>, body: Option<Bytes>) -> Response<ProxyBody>
where
    B: IntoReqwestBody,
{
    let (parts, incoming) = req.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let url = format!("{}{}", shared.upstream, path);
    let mut headers = strip_hop_by_hop(&parts.headers);
    let body = match body {
        Some(bytes) => {
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
            reqwest::Body::from(bytes)
        }
        None => incoming.into_reqwest_body(),
    };
    // `headers` still holds the client's Host, so distribution builds its absolute Location
    // URLs with the proxy's address.
    let result = shared
        .client
        .request(parts.method, url)
        .headers(headers)
        .body(body)
        .send()
        .await;
    let upstream = match result {
        Ok(r) => r,
        Err(e) => {
            let mut resp =
                Response::new(full(format!("ecr proxy: upstream request failed: {e}\n")));
            *resp.status_mut() = StatusCode::BAD_GATEWAY;
            return resp;
        }
    };
    let status = upstream.status();
    let headers = strip_hop_by_hop(upstream.headers());
    let body = reqwest::Body::from(upstream)
        .map_err(|e| -> BoxError { Box::new(e) })
        .boxed();
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    *resp.headers_mut() = headers;
    resp
}

/// A request body the proxy can hand to reqwest without buffering.
trait IntoReqwestBody {
    fn into_reqwest_body(self) -> reqwest::Body;
}

impl IntoReqwestBody for Incoming {
    fn into_reqwest_body(self) -> reqwest::Body {
        reqwest::Body::wrap(self)
    }
}

impl IntoReqwestBody for () {
    fn into_reqwest_body(self) -> reqwest::Body {
        reqwest::Body::from(Bytes::new())
    }
}

fn strip_hop_by_hop(headers: &HeaderMap) -> HeaderMap {
    let mut out = headers.clone();
    // Names listed in `Connection` are hop-by-hop too.
    let listed: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| {
            v.split(',')
                .map(|s| s.trim().to_ascii_lowercase())
                .collect::<Vec<_>>()
        })
        .collect();
    for name in HOP_BY_HOP
        .iter()
        .copied()
        .chain(listed.iter().map(String::as_str))
    {
        if !name.is_empty() {
            out.remove(name);
        }
    }
    out
}

async fn drain(mut body: Incoming) {
    while let Some(frame) = body.frame().await {
        if frame.is_err() {
            break;
        }
    }
}

fn json_error(status: StatusCode, body: &str) -> Response<ProxyBody> {
    let mut resp = Response::new(full(body.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    resp
}

fn full(text: String) -> ProxyBody {
    Full::new(Bytes::from(text))
        .map_err(|never| match never {})
        .boxed()
}

fn empty() -> ProxyBody {
    full(String::new())
}
