//! The one HTTPS client of every AWS call (ECR, STS, SSO, DynamoDB, IMDS): the SDK's hyper 1
//! client with rustls on the ring crypto provider (the SDK's default would bring aws-lc, a
//! second provider beside the one the registry client uses), honouring the proxy variables
//! (`HTTPS_PROXY`, `NO_PROXY`) as the SDK's default does.

use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// A fresh client; give it to every SDK configuration (`http_client`).
pub fn https_client() -> SharedHttpClient {
    Builder::new().build_with_connector_fn(move |settings, runtime_components| {
        let mut connector =
            ConnectorBuilder::default().tls_provider(Provider::Rustls(CryptoMode::Ring));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = runtime_components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}
