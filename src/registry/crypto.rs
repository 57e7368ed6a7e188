//! The TLS crypto provider of the registry client: rustls on ring, installed as the process's
//! default before the first client is built (reqwest is built without a provider of its own,
//! so that one provider serves the registry client and the AWS SDK's client alike).

use std::sync::Once;

static INSTALL: Once = Once::new();

/// Installs ring as the process's rustls provider, once; a provider installed earlier (by an
/// embedding program) is kept.
pub fn ensure_crypto_provider() {
    INSTALL.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
