//! `MotoCounter`: a small HTTP front for moto that forwards every request and records which ECR
//! API action it carried, so tests can assert how often the binary called
//! `GetAuthorizationToken`, `PutImage`, `CreateRepository`, ... per region. It changes one
//! answer: moto gives the same password in every region, real ECR does not, so the front puts
//! each region's own password ([`moto_token`]) into `GetAuthorizationToken` answers; a client
//! that sends one region's token to another region's registry then fails as it would on AWS.
//!
//! [`moto_token`]: super::moto::moto_token
//!
//! Scan calls for images moto does not know (every image the binary pushed lives only in the
//! test registries) are answered by the [`ScanStandIn`] the test set up, and managed signing
//! calls, which moto lacks, by the [`SigningStandIn`]; they are recorded as well, with
//! `stand_in` set.
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
use super::scan_stand_in::ScanStandIn;
use super::signing_stand_in::SigningStandIn;

/// One API request that went through the front.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiCall {
    /// The operation (`GetAuthorizationToken`), or `METHOD /path` without `X-Amz-Target`.
    pub action: String,
    /// From the SigV4 credential scope, when signed.
    pub region: Option<String>,
    /// The access key id that signed the call (SigV4 `Credential=`), when signed.
    pub access_key: Option<String>,
    /// moto's answer (or the stand-in's); 502 when moto could not be reached.
    pub status: u16,
    /// The scan stand-in answered instead of moto.
    pub stand_in: bool,
}

/// A running front. Dropping it stops it.
pub struct MotoCounter {
    addr: SocketAddr,
    calls: Arc<Mutex<Vec<ApiCall>>>,
    issued: Arc<Mutex<Vec<String>>>,
    scans: ScanStandIn,
    signing: SigningStandIn,
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
        let issued = Arc::new(Mutex::new(Vec::new()));
        let scans = ScanStandIn::default();
        let signing = SigningStandIn::default();
        let front = Front {
            scans: scans.clone(),
            signing: signing.clone(),
            upstream: upstream.trim_end_matches('/').to_string(),
            client,
            calls: Arc::clone(&calls),
            issued: Arc::clone(&issued),
        };
        let task = tokio::spawn(accept_loop(listener, front));
        Ok(MotoCounter {
            addr,
            calls,
            issued,
            scans,
            signing,
            task,
        })
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

    /// The secret keys and session tokens of every AssumeRole answer so far.
    pub fn issued_secrets(&self) -> Vec<String> {
        self.issued
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The scan stand-in: set scanning types and findings here.
    pub fn scans(&self) -> &ScanStandIn {
        &self.scans
    }

    /// The managed signing stand-in: set signing rules and statuses here.
    pub fn signing(&self) -> &SigningStandIn {
        &self.signing
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
    /// Secret keys and session tokens STS issued through this front.
    issued: Arc<Mutex<Vec<String>>>,
    scans: ScanStandIn,
    signing: SigningStandIn,
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
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let action = action_of(&parts, &body);
    let region = region_of(&parts.headers);
    let access_key = access_key_of(&parts.headers);
    let scan_region = region.as_deref().unwrap_or("us-east-1");
    let stand_in = front
        .scans
        .answer(&action, scan_region, &body)
        .or_else(|| front.signing.answer(&action, scan_region, &body));
    let answered = stand_in.is_some();
    let (status, mut resp) = match stand_in {
        Some(resp) => (resp.status(), resp),
        None => forward(&front, &parts, body).await,
    };
    if action == "GetAuthorizationToken" && status == StatusCode::OK {
        resp = with_region_token(resp, region.as_deref().unwrap_or("us-east-1"));
    }
    if action == "AssumeRole" && status == StatusCode::OK {
        resp = recording_issued_secrets(resp, &front.issued);
    }
    front
        .calls
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(ApiCall {
            action,
            region,
            access_key,
            status: status.as_u16(),
            stand_in: answered,
        });
    resp
}

/// Send the buffered request (API calls are small) to moto, buffer the answer.
async fn forward(
    front: &Front,
    parts: &http::request::Parts,
    body: Bytes,
) -> (StatusCode, Response<Full<Bytes>>) {
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let answer = async {
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

/// Keeps the secret key and session token of an STS AssumeRole answer (XML) for the secret
/// scans; the answer passes unchanged.
fn recording_issued_secrets(
    resp: Response<Full<Bytes>>,
    issued: &Arc<Mutex<Vec<String>>>,
) -> Response<Full<Bytes>> {
    let (parts, body) = resp.into_parts();
    let bytes = futures::executor::block_on(body.collect())
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    let mut issued = issued.lock().unwrap_or_else(|e| e.into_inner());
    for element in ["SecretAccessKey", "SessionToken"] {
        let value = text
            .split(&format!("<{element}>"))
            .nth(1)
            .and_then(|rest| rest.split(&format!("</{element}>")).next());
        if let Some(value) = value {
            issued.push(value.to_string());
        }
    }
    Response::from_parts(parts, Full::new(bytes))
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

/// The operation: from `X-Amz-Target` (JSON protocols), else the `Action=` of a form body
/// (query protocols such as STS), else `METHOD /path`.
fn action_of(parts: &http::request::Parts, body: &[u8]) -> String {
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok());
    if let Some(target) = target {
        return target.rsplit('.').next().unwrap_or(target).to_string();
    }
    let form = String::from_utf8_lossy(body);
    let action = form
        .split('&')
        .find_map(|pair| pair.strip_prefix("Action="));
    match action {
        Some(action) => action.to_string(),
        None => format!("{} {}", parts.method, parts.uri.path()),
    }
}

/// `KEY` from `AWS4-HMAC-SHA256 Credential=KEY/20250101/us-east-1/ecr/aws4_request, ...`.
fn access_key_of(headers: &HeaderMap) -> Option<String> {
    let auth = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let scope = auth.split("Credential=").nth(1)?;
    scope.split('/').next().map(str::to_string)
}

/// `us-east-1` from `AWS4-HMAC-SHA256 Credential=KEY/20250101/us-east-1/ecr/aws4_request, ...`.
pub fn region_of(headers: &HeaderMap) -> Option<String> {
    let auth = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let scope = auth.split("Credential=").nth(1)?.split(',').next()?;
    scope.split('/').nth(2).map(str::to_string)
}
