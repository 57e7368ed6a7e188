//! Log set-up: `tracing` events to stderr, level from `-v` (debug) / `-vv` (trace) or `RUST_LOG`,
//! every line redacted ([`super::redaction`]). The crates that print request and response
//! bodies and headers at trace level ([`WIRE_TARGETS`]) are held at debug whatever `-v` or
//! `RUST_LOG` ask for, unless `--trace-wire` (or [`TRACE_WIRE_VAR`]) is set: their trace shows
//! credentials before they are known, e.g. the `GetAuthorizationToken` response.
//!
//! [`TRACE_WIRE_VAR`]: crate::config::cli::TRACE_WIRE_VAR

use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::{EnvFilter, FilterExt, Targets};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{Layer as _, fmt};

use super::progress::LogWriter;
use super::redaction::Redacting;

/// Crates (target prefixes) that log HTTP bodies, headers or decoded API responses at trace
/// level: the AWS SDK's runtime, signer and service crates, and the HTTP and TLS stack under
/// both the SDK and the registry client.
pub const WIRE_TARGETS: &[&str] = &[
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http",
    "aws_smithy_http_client",
    "aws_smithy_types",
    "aws_sigv4",
    "aws_runtime",
    "aws_config",
    "aws_sdk_",
    "hyper",
    "hyper_util",
    "reqwest",
    "h2",
    "rustls",
];

/// The most detail the [`WIRE_TARGETS`] may log without wire tracing.
const WIRE_CAP: LevelFilter = LevelFilter::DEBUG;

/// Installs the global subscriber. Call once, before anything logs.
pub fn init(verbose: u8, trace_wire: bool) {
    let default = match verbose {
        0 => "ecr_fanout=info,warn",
        1 => "ecr_fanout=debug,info",
        _ => "trace",
    };
    let requested = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let layer = fmt::layer()
        .with_writer(Redacting(LogWriter))
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let filtered = if trace_wire {
        layer.with_filter(FilterExt::boxed(requested)).boxed()
    } else {
        layer
            .with_filter(FilterExt::boxed(requested.and(wire_cap())))
            .boxed()
    };
    tracing_subscriber::registry().with(filtered).init();
    if trace_wire {
        tracing::warn!(
            "wire tracing is on: HTTP requests and responses are logged at trace level \
             (known secrets and credential fields are redacted); keep this log private"
        );
    }
}

/// [`WIRE_TARGETS`] capped at [`WIRE_CAP`], everything else passed.
fn wire_cap() -> Targets {
    WIRE_TARGETS.iter().fold(
        Targets::new().with_default(LevelFilter::TRACE),
        |t, name| t.with_target(*name, WIRE_CAP),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn wire_targets_stop_at_debug_and_the_rest_passes() {
        let cap = wire_cap();
        for target in [
            "aws_smithy_runtime::client::orchestrator::http",
            "aws_smithy_runtime_api::client::interceptors::context",
            "aws_sdk_ecr::operation::get_authorization_token",
            "aws_sigv4::http_request::sign",
            "hyper_util::client::legacy::pool",
            "reqwest::connect",
        ] {
            assert!(!cap.would_enable(target, &Level::TRACE), "{target}");
            assert!(cap.would_enable(target, &Level::DEBUG), "{target}");
        }
        assert!(cap.would_enable("ecr_fanout::registry", &Level::TRACE));
    }
}
