//! The registry token handshake (Docker's token authentication, how public.ecr.aws, ghcr.io and
//! Docker Hub answer): a `401` with `WWW-Authenticate: Bearer realm=…,service=…` sends the client
//! to the realm for a token scoped to the repository, requested with the Basic credentials when
//! there are any, anonymously otherwise; the token then authorizes every request. A token that
//! expires mid-run is asked for again.

use reqwest::StatusCode;
use reqwest::header::WWW_AUTHENTICATE;
use serde::Deserialize;

use super::{RegistryClient, RegistryError, RegistryErrorKind};
use crate::secret::Secret;

/// Where tokens come from, from the registry's challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenEndpoint {
    pub realm: String,
    pub service: Option<String>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    token: Option<String>,
    access_token: Option<String>,
}

impl RegistryClient {
    /// Asks the registry (`GET /v2/`) how to authenticate; for a Bearer challenge, gets a
    /// token for `actions` (`pull`) on the repository and uses it from now on. The token, when
    /// one was issued (the caller masks it).
    pub async fn negotiate_token(&self, actions: &str) -> Result<Option<Secret>, RegistryError> {
        let session = self.login.current().await;
        let probe = session.basic(self.http.get(format!("{}/v2/", self.base_url)));
        let response = probe
            .send()
            .await
            .map_err(|e| RegistryError::from_transport(&e))?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return Ok(None);
        }
        let challenge = response
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let Some(endpoint) = parse_challenge(&challenge) else {
            // A Basic challenge: the credentials already sent are all there is.
            return Ok(None);
        };
        let token = self.request_token(&endpoint, actions).await?;
        *self
            .token_endpoint
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some((endpoint, actions.to_string()));
        self.login.use_bearer(token.clone()).await;
        Ok(Some(token))
    }

    /// A fresh token from the endpoint of the last handshake; `false` when there was none.
    pub(super) async fn renew_token(&self) -> Result<bool, RegistryError> {
        let endpoint = self
            .token_endpoint
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let Some((endpoint, actions)) = endpoint else {
            return Ok(false);
        };
        let token = self.request_token(&endpoint, &actions).await?;
        self.login.use_bearer(token).await;
        Ok(true)
    }

    async fn request_token(
        &self,
        endpoint: &TokenEndpoint,
        actions: &str,
    ) -> Result<Secret, RegistryError> {
        let scope = format!("repository:{}:{actions}", self.repository);
        let mut url = reqwest::Url::parse(&endpoint.realm).map_err(|e| {
            RegistryError::new(
                RegistryErrorKind::Rejected,
                format!(
                    "the registry named a token service that is not a URL ({}): {e}",
                    endpoint.realm
                ),
            )
        })?;
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("scope", &scope);
            if let Some(service) = &endpoint.service {
                query.append_pair("service", service);
            }
        }
        let session = self.login.current().await;
        let response = session
            .basic(self.http.get(url))
            .send()
            .await
            .map_err(|e| RegistryError::from_transport(&e))?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(RegistryError::new(
                RegistryErrorKind::from_status(status.as_u16(), &body),
                format!(
                    "the token service {} refused a {scope} token: HTTP {status}",
                    endpoint.realm
                ),
            ));
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| RegistryError::from_transport(&e))?;
        let answer: TokenAnswer = serde_json::from_slice(&body).map_err(|e| {
            RegistryError::new(
                RegistryErrorKind::Rejected,
                format!(
                    "the token service {} answered no token: {e}",
                    endpoint.realm
                ),
            )
        })?;
        let token = answer.token.or(answer.access_token).ok_or_else(|| {
            RegistryError::new(
                RegistryErrorKind::Rejected,
                format!("the token service {} answered no token", endpoint.realm),
            )
        })?;
        Ok(Secret::new(token))
    }
}

/// `Bearer realm="…",service="…",scope="…"` → realm and service; `None` for other schemes.
pub fn parse_challenge(header: &str) -> Option<TokenEndpoint> {
    let params = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))?;
    let mut realm = None;
    let mut service = None;
    for part in split_params(params) {
        let Some((key, value)) = part.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches('"').to_string();
        match key.trim() {
            "realm" => realm = Some(value),
            "service" => service = Some(value),
            _ => {}
        }
    }
    Some(TokenEndpoint {
        realm: realm?,
        service,
    })
}

/// Splits `a="x,y",b=z` at the commas outside quotes.
fn split_params(params: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (i, c) in params.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(&params[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&params[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenges_give_realm_and_service() {
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:org/app:pull,push""#
            ),
            Some(TokenEndpoint {
                realm: "https://ghcr.io/token".into(),
                service: Some("ghcr.io".into())
            })
        );
        assert_eq!(parse_challenge(r#"Basic realm="Registry Realm""#), None);
        assert_eq!(parse_challenge("Bearer service=x"), None);
    }
}
