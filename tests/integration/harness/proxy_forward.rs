//! Forwarding from the ECR proxy to its docker-registry: `Shared` (upstream URL, HTTP client,
//! control), streaming a request through with `Host` preserved and hop-by-hop headers
//! removed, and the small response and body helpers the proxy's emulations and faults share.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;

use super::proxy_control::ProxyControl;

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub(crate) type ProxyBody = BoxBody<Bytes, BoxError>;

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

/// What every connection task of one proxy shares.
#[derive(Clone)]
pub(crate) struct Shared {
    pub upstream: String,
    pub client: reqwest::Client,
    pub control: ProxyControl,
    /// The "S3" that blob GETs are redirected to.
    pub presigned: std::sync::Arc<super::proxy_presigned::PresignedS3>,
}

impl Shared {
    pub async fn new(upstream: &str, control: ProxyControl) -> anyhow::Result<Shared> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .build()?;
        let presigned = super::proxy_presigned::PresignedS3::start(client.clone()).await?;
        Ok(Shared {
            upstream: upstream.trim_end_matches('/').to_string(),
            client,
            control,
            presigned: std::sync::Arc::new(presigned),
        })
    }
}

/// Forward to the registry. `body` replaces the request body when the proxy buffered it;
/// otherwise the incoming body is streamed through. Upstream failures become 502.
pub(crate) async fn forward<B>(
    shared: &Shared,
    req: Request<B>,
    body: Option<Bytes>,
) -> Response<ProxyBody>
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
pub(crate) trait IntoReqwestBody {
    fn into_reqwest_body(self) -> reqwest::Body;
}

impl IntoReqwestBody for Incoming {
    fn into_reqwest_body(self) -> reqwest::Body {
        reqwest::Body::wrap(self)
    }
}

impl IntoReqwestBody for reqwest::Body {
    fn into_reqwest_body(self) -> reqwest::Body {
        self
    }
}

impl IntoReqwestBody for () {
    fn into_reqwest_body(self) -> reqwest::Body {
        reqwest::Body::from(Bytes::new())
    }
}

pub(crate) fn strip_hop_by_hop(headers: &HeaderMap) -> HeaderMap {
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

pub(crate) async fn drain(mut body: Incoming) {
    while let Some(frame) = body.frame().await {
        if frame.is_err() {
            break;
        }
    }
}

pub(crate) fn json_error(status: StatusCode, body: &str) -> Response<ProxyBody> {
    let mut resp = Response::new(full(body.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    resp
}

pub(crate) fn full(text: String) -> ProxyBody {
    Full::new(Bytes::from(text))
        .map_err(|never| match never {})
        .boxed()
}

pub(crate) fn empty() -> ProxyBody {
    full(String::new())
}
