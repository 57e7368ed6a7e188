//! A registry that asks for Bearer tokens, as public.ecr.aws, ghcr.io and Docker Hub do: a front
//! in front of one test registry that answers every `/v2/` request without a token it issued
//! with `401` and `WWW-Authenticate: Bearer realm=…/token,service=…`, issues tokens anonymously
//! at `/token` (recording the scopes asked), and forwards requests carrying one of its tokens to
//! the registry with the registry's own Basic credentials.

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

use super::registry::USER;

/// A running front. Dropping it stops it.
pub struct TokenRegistry {
    port: u16,
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

#[derive(Default)]
struct State {
    /// Tokens issued, in order.
    tokens: Vec<String>,
    /// The `scope` of each token request.
    scopes: Vec<String>,
}

impl TokenRegistry {
    /// A front for the registry at `upstream` (its direct URL), which takes `password`.
    pub async fn start(upstream: &str, password: &str) -> Result<TokenRegistry> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let state: Arc<Mutex<State>> = Arc::default();
        let front = Front {
            upstream: upstream.trim_end_matches('/').to_string(),
            password: password.to_string(),
            realm: format!("http://127.0.0.1:{port}/token"),
            state: state.clone(),
            client: reqwest::Client::builder().no_proxy().build()?,
        };
        let task = tokio::spawn(serve(listener, front));
        Ok(TokenRegistry { port, state, task })
    }

    /// `localhost:PORT`: a loopback host, reached over plain HTTP.
    pub fn host(&self) -> String {
        format!("localhost:{}", self.port)
    }

    /// Every token issued so far.
    pub fn tokens(&self) -> Vec<String> {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .tokens
            .clone()
    }

    /// The scope of every token request so far.
    pub fn scopes(&self) -> Vec<String> {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .scopes
            .clone()
    }
}

impl Drop for TokenRegistry {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone)]
struct Front {
    upstream: String,
    password: String,
    realm: String,
    state: Arc<Mutex<State>>,
    client: reqwest::Client,
}

async fn serve(listener: TcpListener, front: Front) {
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let front = front.clone();
        connections.spawn(async move {
            let service = service_fn(move |req| {
                let front = front.clone();
                async move { Ok::<_, std::convert::Infallible>(answer(&front, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn reply(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(body.into()));
    *resp.status_mut() = status;
    resp
}

async fn answer(front: &Front, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    if path == "/token" {
        let query = format!("http://token/?{}", req.uri().query().unwrap_or_default());
        let scope = reqwest::Url::parse(&query)
            .ok()
            .and_then(|url| {
                url.query_pairs()
                    .find(|(key, _)| key == "scope")
                    .map(|(_, value)| value.into_owned())
            })
            .unwrap_or_default();
        let token = format!(
            "harness-token-{}",
            front.state.lock().map_or(0, |s| s.tokens.len())
        );
        if let Ok(mut state) = front.state.lock() {
            state.tokens.push(token.clone());
            state.scopes.push(scope);
        }
        return reply(
            StatusCode::OK,
            format!(r#"{{"token":"{token}","expires_in":300}}"#),
        );
    }
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let valid = presented.is_some_and(|token| {
        front
            .state
            .lock()
            .is_ok_and(|state| state.tokens.contains(&token))
    });
    if !valid {
        let mut resp = reply(
            StatusCode::UNAUTHORIZED,
            r#"{"errors":[{"code":"UNAUTHORIZED"}]}"#,
        );
        let challenge = format!(
            r#"Bearer realm="{}",service="harness-registry""#,
            front.realm
        );
        if let Ok(value) = header::HeaderValue::from_str(&challenge) {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, value);
        }
        return resp;
    }
    let path_and_query = req
        .uri()
        .path_and_query()
        .map_or(path.clone(), |p| p.to_string());
    let mut upstream = front
        .client
        .request(
            req.method().clone(),
            format!("{}{path_and_query}", front.upstream),
        )
        .basic_auth(USER, Some(&front.password));
    if let Some(accept) = req.headers().get(header::ACCEPT) {
        upstream = upstream.header(header::ACCEPT, accept);
    }
    match upstream.send().await {
        Ok(resp) => {
            let status = resp.status();
            let content_type = resp.headers().get(header::CONTENT_TYPE).cloned();
            let body = resp.bytes().await.unwrap_or_default();
            let mut out = reply(status, body);
            if let Some(content_type) = content_type {
                out.headers_mut().insert(header::CONTENT_TYPE, content_type);
            }
            out
        }
        Err(e) => reply(StatusCode::BAD_GATEWAY, e.to_string()),
    }
}
