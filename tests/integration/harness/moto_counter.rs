//! `MotoCounter`: a small HTTP front for moto that forwards every request and records which ECR
//! API action it carried, so tests can assert how often the binary called
//! `GetAuthorizationToken`, `PutImage`, `CreateRepository`, ... per region. It changes one
//! answer: moto gives the same password in every region, real ECR does not, so the front puts
//! each region's own password ([`moto_token`]) into `GetAuthorizationToken` answers; a client
//! that sends one region's token to another region's registry then fails as it would on AWS.
//!
//! [`moto_token`]: super::moto::moto_token
//!
//! Why a front and not moto's recorder (`/moto-api/recorder/...`): the recorder needs
//! `MOTO_ENABLE_RECORDING` at start, writes a file that must be parsed back, and also records
//! the harness's own setup calls. Here the action comes from the `X-Amz-Target` header every
//! AWS SDK JSON request carries (`AmazonEC2ContainerRegistry_V20150921.PutImage`) and the region
//! from the SigV4 credential scope (`Credential=KEY/DATE/REGION/ecr/aws4_request`).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::Result;
use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

use super::proxy_forward::strip_hop_by_hop;

/// One API request that went through the front.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiCall {
    /// The operation (`GetAuthorizationToken`), or `METHOD /path` without `X-Amz-Target`.
    pub action: String,
    /// From the SigV4 credential scope, when signed.
    pub region: Option<String>,
    /// moto's answer; 502 when moto could not be reached.
    pub status: u16,
}

/// A running front. Dropping it stops it.
pub struct MotoCounter {
    addr: SocketAddr,
    calls: Arc<Mutex<Vec<ApiCall>>>,
    task: JoinHandle<()>,
}

impl MotoCounter {
    /// Listen on 127.0.0.1 (free port) and forward to `upstream` (`http://127.0.0.1:PORT`).
    pub async fn start(upstream: &str) -> Result<MotoCounter> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(60))
            .build()?;
        let calls = Arc::new(Mutex::new(Vec::new()));
        let front = Front {
            upstream: upstream.trim_end_matches('/').to_string(),
            client,
            calls: Arc::clone(&calls),
        };
        let task = tokio::spawn(accept_loop(listener, front));
        Ok(MotoCounter { addr, calls, task })
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn lock(&self) -> MutexGuard<'_, Vec<ApiCall>> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every call so far, in order of their answers.
    pub fn calls(&self) -> Vec<ApiCall> {
        self.lock().clone()
    }

    /// Calls of `action` in any region, whatever moto answered.
    pub fn count(&self, action: &str) -> usize {
        self.lock().iter().filter(|c| c.action == action).count()
    }

    /// Calls of `action` signed for `region`.
    pub fn count_in(&self, region: &str, action: &str) -> usize {
        self.lock()
            .iter()
            .filter(|c| c.action == action && c.region.as_deref() == Some(region))
            .count()
    }

    pub fn reset(&self) {
        self.lock().clear();
    }
}

impl Drop for MotoCounter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone)]
struct Front {
    upstream: String,
    client: reqwest::Client,
    calls: Arc<Mutex<Vec<ApiCall>>>,
}

async fn accept_loop(listener: TcpListener, front: Front) {
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let front = front.clone();
        connections.spawn(async move {
            let service = service_fn(move |req| {
                let front = front.clone();
                async move { Ok::<_, std::convert::Infallible>(count_and_forward(front, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn count_and_forward(front: Front, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let action = action_of(&req);
    let region = region_of(req.headers());
    let (status, mut resp) = forward(&front, req).await;
    if action == "GetAuthorizationToken" && status == StatusCode::OK {
        resp = with_region_token(resp, region.as_deref().unwrap_or("us-east-1"));
    }
    front
        .calls
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(ApiCall {
            action,
            region,
            status: status.as_u16(),
        });
    resp
}

/// Buffer the request (API calls are small), send it to moto, buffer the answer.
async fn forward(front: &Front, req: Request<Incoming>) -> (StatusCode, Response<Full<Bytes>>) {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let answer = async {
        let body = body.collect().await?.to_bytes();
        let upstream = front
            .client
            .request(parts.method.clone(), format!("{}{path}", front.upstream))
            .headers(strip_hop_by_hop(&parts.headers))
            .body(body)
            .send()
            .await?;
        let status = upstream.status();
        let headers = strip_hop_by_hop(upstream.headers());
        let bytes = upstream.bytes().await?;
        anyhow::Ok((status, headers, bytes))
    };
    let (status, headers, bytes) = match answer.await {
        Ok(answer) => answer,
        Err(e) => {
            let text = format!("moto counter: upstream request failed: {e:#}\n");
            (StatusCode::BAD_GATEWAY, HeaderMap::new(), Bytes::from(text))
        }
    };
    let mut resp = Response::new(Full::new(bytes));
    *resp.status_mut() = status;
    *resp.headers_mut() = headers;
    (status, resp)
}

/// The answer with every `authorizationToken` replaced by `region`'s own token.
fn with_region_token(resp: Response<Full<Bytes>>, region: &str) -> Response<Full<Bytes>> {
    let (mut parts, body) = resp.into_parts();
    let bytes = futures::executor::block_on(body.collect())
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let Ok(mut answer) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Response::from_parts(parts, Full::new(bytes));
    };
    if let Some(data) = answer["authorizationData"].as_array_mut() {
        for entry in data {
            entry["authorizationToken"] = super::moto::moto_token(region).into();
        }
    }
    let bytes = Bytes::from(serde_json::to_vec(&answer).unwrap_or_default());
    parts
        .headers
        .insert(http::header::CONTENT_LENGTH, bytes.len().into());
    Response::from_parts(parts, Full::new(bytes))
}

fn action_of(req: &Request<Incoming>) -> String {
    let target = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok());
    match target {
        Some(target) => target.rsplit('.').next().unwrap_or(target).to_string(),
        None => format!("{} {}", req.method(), req.uri().path()),
    }
}

/// `us-east-1` from `AWS4-HMAC-SHA256 Credential=KEY/20250101/us-east-1/ecr/aws4_request, ...`.
pub fn region_of(headers: &HeaderMap) -> Option<String> {
    let auth = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let scope = auth.split("Credential=").nth(1)?.split(',').next()?;
    scope.split('/').nth(2).map(str::to_string)
}
