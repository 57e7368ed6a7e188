//! ECR's blob downloads, emulated: a blob GET is answered `307` to a presigned "S3" URL on
//! another host name (`localhost:PORT` of a second listener, where the registry is
//! `127.0.0.1:PORT`). That "S3" answers `400` ("Only one auth mechanism allowed") when the
//! request carries an `Authorization` header, as S3 does for a request with both the presigned
//! query and a header, and the blob otherwise. The presigned URL names a one-off token under
//! which the redirecting request's registry credentials are kept, so the stand-in can read the
//! blob from the registry.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::Result;
use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

/// S3's answer to a presigned URL requested with an `Authorization` header too.
pub const TWO_AUTH_MECHANISMS: &str = "<Error><Code>InvalidArgument</Code><Message>Only one auth \
     mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string \
     parameter or the Authorization header should be specified</Message></Error>";

/// The "S3" listener of one proxy, and the blobs it may serve.
pub struct PresignedS3 {
    port: u16,
    grants: Arc<Mutex<HashMap<String, Grant>>>,
    task: JoinHandle<()>,
}

/// What a token lets the stand-in read: the registry URL of the blob and the credentials of
/// the request that was redirected.
#[derive(Clone)]
struct Grant {
    blob_url: String,
    authorization: Option<header::HeaderValue>,
}

impl PresignedS3 {
    pub async fn start(client: reqwest::Client) -> Result<PresignedS3> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let grants: Arc<Mutex<HashMap<String, Grant>>> = Arc::default();
        let task = tokio::spawn(serve(listener, grants.clone(), client));
        Ok(PresignedS3 { port, grants, task })
    }

    /// A presigned URL for `blob_url` (the registry's), readable without credentials.
    pub fn presign(&self, blob_url: String, authorization: Option<header::HeaderValue>) -> String {
        let mut grants = self.grants.lock().unwrap_or_else(|e| e.into_inner());
        let token = format!("{:032x}", rand_token(grants.len()));
        grants.insert(
            token.clone(),
            Grant {
                blob_url,
                authorization,
            },
        );
        format!(
            "http://localhost:{}/presigned/{token}?X-Amz-Algorithm=AWS4-HMAC-SHA256&\
             X-Amz-Signature={token}",
            self.port
        )
    }
}

impl Drop for PresignedS3 {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Unique enough per proxy: the count of grants mixed with the clock.
fn rand_token(count: usize) -> u128 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    nanos ^ ((count as u128) << 96)
}

async fn serve(
    listener: TcpListener,
    grants: Arc<Mutex<HashMap<String, Grant>>>,
    client: reqwest::Client,
) {
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let grants = grants.clone();
        let client = client.clone();
        connections.spawn(async move {
            let service = service_fn(move |req| {
                let grants = grants.clone();
                let client = client.clone();
                async move { Ok::<_, std::convert::Infallible>(answer(req, &grants, &client).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn answer(
    req: Request<Incoming>,
    grants: &Mutex<HashMap<String, Grant>>,
    client: &reqwest::Client,
) -> Response<Full<Bytes>> {
    let reply = |status: StatusCode, body: Bytes| {
        let mut resp = Response::new(Full::new(body));
        *resp.status_mut() = status;
        resp
    };
    if req.headers().contains_key(header::AUTHORIZATION) {
        return reply(StatusCode::BAD_REQUEST, Bytes::from(TWO_AUTH_MECHANISMS));
    }
    let token = req
        .uri()
        .path()
        .strip_prefix("/presigned/")
        .unwrap_or_default()
        .to_string();
    let grant = grants
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&token)
        .cloned();
    let Some(grant) = grant else {
        return reply(
            StatusCode::FORBIDDEN,
            Bytes::from("<Error><Code>AccessDenied</Code></Error>"),
        );
    };
    let mut upstream = client.get(&grant.blob_url);
    if let Some(authorization) = grant.authorization {
        upstream = upstream.header(header::AUTHORIZATION, authorization);
    }
    match upstream.send().await {
        Ok(resp) => {
            let status = resp.status();
            let body = resp.bytes().await.unwrap_or_default();
            reply(status, body)
        }
        Err(e) => reply(StatusCode::BAD_GATEWAY, Bytes::from(e.to_string())),
    }
}
