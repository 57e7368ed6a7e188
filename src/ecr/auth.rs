//! Registry logins: `GetAuthorizationToken` gives base64 `AWS:<password>`, valid for 12 hours,
//! used as HTTP Basic credentials against the region's registry.

use anyhow::{Context, anyhow};
use base64::Engine;

use super::{EcrRegion, describe_sdk_error};
use crate::secret::Secret;

/// Basic credentials for one region's registry.
#[derive(Clone, Debug)]
pub struct RegistryLogin {
    pub username: String,
    pub password: Secret,
    /// The registry host ECR reported, `ACCOUNT.dkr.ecr.REGION.amazonaws.com`.
    pub proxy_host: String,
}

impl RegistryLogin {
    /// The registry client's credentials from this login.
    pub fn credentials(&self) -> crate::registry::Credentials {
        crate::registry::Credentials {
            username: self.username.clone(),
            password: self.password.clone(),
        }
    }
}

impl EcrRegion {
    /// How the registry client renews its login: `GetAuthorizationToken` again.
    pub fn refresher(&self) -> crate::registry::RefreshCredentials {
        let ecr = self.clone();
        std::sync::Arc::new(move || {
            let ecr = ecr.clone();
            Box::pin(async move { Ok(ecr.login().await?.credentials()) })
        })
    }

    /// Calls `GetAuthorizationToken` and decodes it.
    pub async fn login(&self) -> anyhow::Result<RegistryLogin> {
        let response = self
            .client
            .get_authorization_token()
            .send()
            .await
            .map_err(|e| anyhow!(describe_sdk_error(&e)))
            .with_context(|| {
                format!(
                    "{}: ECR GetAuthorizationToken failed (needs ecr:GetAuthorizationToken)",
                    self.place
                )
            })?;
        let data = response
            .authorization_data()
            .first()
            .with_context(|| format!("{}: ECR returned no authorization data", self.place))?;
        let token = data.authorization_token().unwrap_or_default();
        let (username, password) = decode_token(token)
            .with_context(|| format!("{}: cannot decode the ECR token", self.place))?;
        let proxy_host = data
            .proxy_endpoint()
            .map(|e| {
                e.trim_start_matches("https://")
                    .trim_end_matches('/')
                    .to_string()
            })
            .unwrap_or_default();
        // Every login, the first and each refresh, is masked before anything could print it.
        self.announce_login(&username, &password);
        Ok(RegistryLogin {
            username,
            password,
            proxy_host,
        })
    }

    /// Tells the observer of a login's secrets: the password and the HTTP Basic value built
    /// from it (both registered for redaction first).
    fn announce_login(&self, username: &str, password: &Secret) {
        if password.expose().is_empty() {
            return;
        }
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{username}:{}", password.expose()));
        let basic = Secret::new(basic);
        self.observer.secret_received(password);
        self.observer.secret_received(&basic);
    }
}

/// base64 `USER:PASSWORD` → (user, password).
fn decode_token(token: &str) -> anyhow::Result<(String, Secret)> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .context("the token is not base64")?;
    let text = String::from_utf8(bytes).context("the token is not UTF-8")?;
    let (user, password) = text
        .split_once(':')
        .context("the token is not USER:PASSWORD")?;
    Ok((user.to_string(), Secret::new(password)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_basic_token() {
        let token = base64::engine::general_purpose::STANDARD.encode("AWS:pa:ss");
        let (user, password) = decode_token(&token).unwrap();
        assert_eq!(user, "AWS");
        assert_eq!(password.expose(), "pa:ss");
    }

    #[test]
    fn rejects_garbage() {
        assert!(decode_token("***").is_err());
        let no_colon = base64::engine::general_purpose::STANDARD.encode("AWS");
        assert!(decode_token(&no_colon).is_err());
    }
}
