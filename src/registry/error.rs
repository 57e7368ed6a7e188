//! Typed registry errors, so that callers can branch on what happened (retry, re-login, not
//! found) without parsing messages. Classification comes from the HTTP status and, for 403,
//! ECR's "authorization token has expired" text.

use std::fmt;
use std::time::{Duration, SystemTime};

/// What kind of failure a registry request met.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegistryErrorKind {
    /// 404: the blob, manifest or repository is not there.
    NotFound,
    /// 401: the registry did not take the credentials (or none were sent).
    Unauthorized,
    /// 403 for another reason than an expired token.
    Denied,
    /// 403 "Your authorization token has expired" (ECR does not answer 401 for this).
    TokenExpired,
    /// 429 or `TOOMANYREQUESTS`.
    Throttled,
    /// 5xx.
    Server,
    /// Connection refused, reset, timed out: no HTTP answer.
    Transport,
    /// No progress for the stall bound: the registry accepted but stopped answering.
    Stalled,
    /// ECR refused to overwrite an existing tag in an IMMUTABLE repository (`TAG_INVALID`).
    ImmutableTag,
    /// Any other 4xx: the registry refused what we sent.
    Rejected,
    /// A downloaded blob's bytes do not match its digest or size.
    Corrupt,
}

impl RegistryErrorKind {
    /// Whether the same request may succeed when repeated.
    pub fn is_temporary(self) -> bool {
        matches!(self, Self::Throttled | Self::Server | Self::Transport)
    }

    /// Whether the registry answered and said no (as opposed to failing to answer).
    pub fn is_refusal(self) -> bool {
        matches!(self, Self::Unauthorized | Self::Denied | Self::Rejected)
    }

    /// Classifies an HTTP error answer.
    pub fn from_status(status: u16, body: &str) -> Self {
        match status {
            404 => Self::NotFound,
            403 if body.contains("token has expired") => Self::TokenExpired,
            401 => Self::Unauthorized,
            403 => Self::Denied,
            429 => Self::Throttled,
            500..=599 => Self::Server,
            _ if body.contains("TOOMANYREQUESTS") => Self::Throttled,
            _ if is_immutable_tag_refusal(body) => Self::ImmutableTag,
            _ => Self::Rejected,
        }
    }
}

/// ECR's answer to a tag put in an IMMUTABLE repository: `TAG_INVALID` "… already exists in the
/// '…' repository and cannot be overwritten because the repository is immutable."
fn is_immutable_tag_refusal(body: &str) -> bool {
    body.contains("TAG_INVALID") || body.contains("cannot be overwritten")
}

/// A failed registry request: its kind and a one-line description.
#[derive(Debug, thiserror::Error)]
pub struct RegistryError {
    pub kind: RegistryErrorKind,
    pub detail: String,
    /// How long the registry asked us to wait before repeating (`Retry-After` on 429 or 503).
    pub retry_after: Option<Duration>,
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

impl RegistryError {
    pub fn new(kind: RegistryErrorKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
            retry_after: None,
        }
    }

    /// An HTTP error answer read whole: its status, the start of its body and its
    /// `Retry-After`.
    pub async fn from_http(status: reqwest::StatusCode, response: reqwest::Response) -> Self {
        let retry_after = retry_after(response.headers(), SystemTime::now());
        let body = response.text().await.unwrap_or_default();
        Self::from_response(status.as_u16(), &body).waiting(retry_after)
    }

    /// The same error, asking for `retry_after` before a repeat.
    pub fn waiting(mut self, retry_after: Option<Duration>) -> Self {
        self.retry_after = retry_after;
        self
    }

    /// Notes how many attempts were made, when more than one.
    pub fn after_attempts(mut self, attempts: u32) -> Self {
        if attempts > 1 {
            self.detail = format!("{} (after {attempts} attempts)", self.detail);
        }
        self
    }

    /// An HTTP error answer, with the start of its body.
    pub fn from_response(status: u16, body: &str) -> Self {
        let kind = RegistryErrorKind::from_status(status, body);
        let snippet: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
        let snippet: String = snippet.chars().take(300).collect();
        Self::new(kind, format!("HTTP {status}: {snippet}"))
    }

    /// A request that got no HTTP answer.
    pub fn from_transport(error: &reqwest::Error) -> Self {
        if let Some(status) = error.status() {
            // A HEAD answer has no body to tell an expired ECR token from a denial; a 403
            // gets one credential refresh, and a second 403 is final.
            let hint = if status.as_u16() == 403 {
                "token has expired?"
            } else {
                ""
            };
            return Self::from_response(status.as_u16(), hint);
        }
        if error.is_timeout() {
            return Self::new(RegistryErrorKind::Stalled, format!("timed out: {error}"));
        }
        let mut text = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        Self::new(RegistryErrorKind::Transport, text)
    }
}

/// `Retry-After` as seconds or as an HTTP date (relative to `now`); `None` when absent or
/// unreadable.
pub fn retry_after(headers: &reqwest::header::HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_ecr_answers() {
        let expired = r#"{"errors":[{"code":"DENIED","message":"Your authorization token has expired. Reauthenticate and try again."}]}"#;
        assert_eq!(
            RegistryErrorKind::from_status(403, expired),
            RegistryErrorKind::TokenExpired
        );
        assert_eq!(
            RegistryErrorKind::from_status(403, "denied"),
            RegistryErrorKind::Denied
        );
        assert_eq!(
            RegistryErrorKind::from_status(429, ""),
            RegistryErrorKind::Throttled
        );
        assert_eq!(
            RegistryErrorKind::from_status(503, ""),
            RegistryErrorKind::Server
        );
        assert_eq!(
            RegistryErrorKind::from_status(404, ""),
            RegistryErrorKind::NotFound
        );
        assert_eq!(
            RegistryErrorKind::from_status(400, "x"),
            RegistryErrorKind::Rejected
        );
        assert!(RegistryErrorKind::Throttled.is_temporary());
        assert!(!RegistryErrorKind::Rejected.is_temporary());
        let immutable = r#"{"errors":[{"code":"TAG_INVALID","message":"The image tag 'v1' already exists in the 'web' repository and cannot be overwritten because the repository is immutable."}]}"#;
        assert_eq!(
            RegistryErrorKind::from_status(400, immutable),
            RegistryErrorKind::ImmutableTag
        );
    }

    #[test]
    fn retry_after_is_read_as_seconds_or_a_date() {
        use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
            retry_after(&headers, now)
        };
        assert_eq!(with("7"), Some(Duration::from_secs(7)));
        assert_eq!(
            with(&httpdate::fmt_http_date(now + Duration::from_secs(30))),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            with(&httpdate::fmt_http_date(now - Duration::from_secs(30))),
            Some(Duration::ZERO)
        );
        assert_eq!(with("soon"), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }
}
