//! How the ECR proxy carries out a fault the [`FaultBook`](super::fault::FaultBook) chose for a
//! request: ECR-like error answers (429, 503, expired token), hanging until the faults are
//! cleared, forwarding only the first bytes of an upload and then aborting both sides, sending
//! only the first bytes of a download until cleared, throttling with `Retry-After`, and
//! corrupting one byte of a served manifest.

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use tokio_util::sync::CancellationToken;

use super::ecr_proxy::{
    BoxError, MAX_MANIFEST_BYTES, ProxyBody, Shared, TOKEN_EXPIRED_BODY, drain, forward, json_error,
};
use super::fault::RequestAction;

/// Body of ECR's throttling answer (HTTP 429).
pub const TOO_MANY_REQUESTS_BODY: &str =
    r#"{"errors":[{"code":"TOOMANYREQUESTS","message":"Rate exceeded"}]}"#;

/// Body of the proxy's 503 answer.
pub const SERVICE_UNAVAILABLE_BODY: &str =
    r#"{"errors":[{"code":"UNAVAILABLE","message":"Service Unavailable"}]}"#;

/// A request the proxy answers by closing its connection without a response. Returned to
/// hyper as the service's error, which makes hyper drop the connection.
#[derive(Debug)]
pub(crate) struct ConnectionAborted {
    pub reason: &'static str,
    /// Part of the request reached the registry.
    pub forwarded: bool,
}

impl std::fmt::Display for ConnectionAborted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "connection aborted by fault injection: {}", self.reason)
    }
}

impl std::error::Error for ConnectionAborted {}

/// `Ok((response, forwarded))`, or the connection is to be closed without an answer.
pub(crate) type Outcome = Result<(Response<ProxyBody>, bool), ConnectionAborted>;

/// Carry out `action` for `req`. `cleared` must have been taken before the action was
/// chosen, so that a `clear_faults` in between is not missed.
pub(crate) async fn answer_with_fault(
    shared: Shared,
    req: Request<Incoming>,
    action: RequestAction,
    cleared: CancellationToken,
) -> Outcome {
    match action {
        RequestAction::Status(status) => {
            drain(req.into_body()).await;
            Ok((status_answer(status), false))
        }
        RequestAction::Throttle(seconds) => {
            drain(req.into_body()).await;
            let mut resp = json_error(StatusCode::TOO_MANY_REQUESTS, TOO_MANY_REQUESTS_BODY);
            resp.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
            Ok((resp, false))
        }
        RequestAction::StallDownload(bytes) => {
            let resp = forward(&shared, req, None).await;
            if !matches!(resp.status(), StatusCode::OK | StatusCode::PARTIAL_CONTENT) {
                return Ok((resp, true));
            }
            Ok((stall_body_after(resp, bytes, cleared), true))
        }
        RequestAction::TokenExpired => {
            drain(req.into_body()).await;
            Ok((json_error(StatusCode::FORBIDDEN, TOKEN_EXPIRED_BODY), false))
        }
        RequestAction::Hold => unreachable!("the proxy parks held requests itself"),
        RequestAction::Hang => {
            drain(req.into_body()).await;
            // Until cleared; a dropped proxy aborts this task.
            cleared.cancelled_owned().await;
            Err(ConnectionAborted {
                reason: "hung request released",
                forwarded: false,
            })
        }
        RequestAction::CutUpload(bytes) => {
            forward_first_bytes(&shared, req, bytes, Box::pin(async {})).await;
            Err(ConnectionAborted {
                reason: "upload cut",
                forwarded: true,
            })
        }
        RequestAction::StallUpload(bytes) => {
            forward_first_bytes(&shared, req, bytes, Box::pin(cleared.cancelled_owned())).await;
            Err(ConnectionAborted {
                reason: "stalled upload released",
                forwarded: true,
            })
        }
    }
}

/// 429 and 503 as ECR words them; any other status with a generic registry error.
fn status_answer(status: u16) -> Response<ProxyBody> {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    match code {
        StatusCode::TOO_MANY_REQUESTS => json_error(code, TOO_MANY_REQUESTS_BODY),
        StatusCode::SERVICE_UNAVAILABLE => json_error(code, SERVICE_UNAVAILABLE_BODY),
        _ => {
            let reason = code.canonical_reason().unwrap_or("injected fault");
            let body = serde_json::json!({"errors":[{"code":"UNKNOWN","message":reason}]});
            json_error(code, &body.to_string())
        }
    }
}

/// `resp` with its body cut after `limit` bytes: those are sent, then the body waits until
/// `cleared` and ends in an error (hyper closes the connection without the rest).
fn stall_body_after(
    resp: Response<ProxyBody>,
    limit: u64,
    cleared: CancellationToken,
) -> Response<ProxyBody> {
    let (parts, body) = resp.into_parts();
    let state = (body, limit, Some(cleared));
    let stream = futures::stream::unfold(state, |(mut body, left, cleared)| async move {
        let cleared = cleared?;
        if left == 0 {
            cleared.cancelled().await;
            let error: BoxError = "stalled download released".into();
            return Some((Err(error), (body, 0, None)));
        }
        match body.frame().await {
            Some(Ok(frame)) => match frame.into_data() {
                Ok(mut data) => {
                    let take = usize::try_from(left).unwrap_or(usize::MAX).min(data.len());
                    let data = data.split_to(take);
                    let left = left - take as u64;
                    Some((
                        Ok(hyper::body::Frame::data(data)),
                        (body, left, Some(cleared)),
                    ))
                }
                Err(frame) => Some((Ok(frame), (body, left, Some(cleared)))),
            },
            Some(Err(e)) => Some((Err(e), (body, left, None))),
            None => None,
        }
    });
    let body = http_body_util::StreamBody::new(stream).boxed();
    Response::from_parts(parts, body)
}

type AfterLimit = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Forward at most `limit` bytes of the body, never all of it (with a known Content-Length at
/// most length - 1; without one the final chunk is never sent), wait for `after_limit`, then
/// fail the upstream body so the registry sees an aborted request and stores nothing.
async fn forward_first_bytes(
    shared: &Shared,
    req: Request<Incoming>,
    limit: u64,
    after_limit: AfterLimit,
) {
    let length = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let limit = length.map_or(limit, |len| limit.min(len.saturating_sub(1)));
    let (parts, body) = req.into_parts();
    let body = truncated_body(body, limit, after_limit);
    // The upstream request fails (its body errors); its 502 is not for the client.
    let _ = forward(shared, Request::from_parts(parts, body), None).await;
}

struct Truncation {
    body: Incoming,
    left: u64,
    after_limit: AfterLimit,
}

fn truncated_body(body: Incoming, limit: u64, after_limit: AfterLimit) -> reqwest::Body {
    let start = Truncation {
        body,
        left: limit,
        after_limit,
    };
    let stream = futures::stream::unfold(Some(start), |state| async move {
        let mut cut = state?;
        while cut.left > 0 {
            match cut.body.frame().await {
                Some(Ok(frame)) => {
                    let Ok(mut data) = frame.into_data() else {
                        continue;
                    };
                    let take = usize::try_from(cut.left).map_or(data.len(), |l| l.min(data.len()));
                    data.truncate(take);
                    cut.left -= take as u64;
                    if !data.is_empty() {
                        return Some((Ok(data), Some(cut)));
                    }
                }
                Some(Err(e)) => return Some((Err(BoxError::from(e)), None)),
                None => break,
            }
        }
        cut.after_limit.await;
        let cut_error = BoxError::from("upload cut by the ECR proxy's fault injection");
        Some((Err(cut_error), None))
    });
    reqwest::Body::wrap_stream(stream)
}

/// Replace the body of a 200 manifest GET by the same bytes with one byte changed.
pub(crate) async fn corrupt_manifest(resp: Response<ProxyBody>) -> Response<ProxyBody> {
    let (parts, mut body) = resp.into_parts();
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let data = match frame.map(|f| f.into_data()) {
            Ok(Ok(data)) => data,
            Ok(Err(_trailers)) => continue,
            Err(_) => return json_error(StatusCode::BAD_GATEWAY, "manifest unreadable"),
        };
        bytes.extend_from_slice(&data);
        if bytes.len() > MAX_MANIFEST_BYTES {
            return json_error(StatusCode::BAD_GATEWAY, "manifest over the size limit");
        }
    }
    change_one_byte(&mut bytes);
    let body = Full::new(Bytes::from(bytes))
        .map_err(|never| match never {})
        .boxed();
    Response::from_parts(parts, body)
}

/// Change the first hex digit of the last `sha256:` digest (JSON stays valid, length stays),
/// or, without a digest, the last byte.
pub(crate) fn change_one_byte(bytes: &mut [u8]) {
    const PREFIX: &[u8] = b"sha256:";
    let digit = bytes
        .windows(PREFIX.len())
        .rposition(|w| w == PREFIX)
        .map(|i| i + PREFIX.len())
        .filter(|&i| i < bytes.len());
    match digit {
        Some(i) => bytes[i] = if bytes[i] == b'0' { b'1' } else { b'0' },
        None => {
            if let Some(last) = bytes.last_mut() {
                *last ^= 1;
            }
        }
    }
}
