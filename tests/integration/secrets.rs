//! No secret in any log line, at any verbosity: pushes at `-vv` and at `RUST_LOG=trace` (one
//! with a token refresh after ECR's 403) run as a GitHub Actions step, and every line of stdout
//! and stderr is scanned for the ECR password, its HTTP Basic form and the AWS secret key and
//! session token. The only lines allowed to carry them are the `::add-mask::` commands. Wire
//! tracing stays off without `--trace-wire`, and with it the credentials it shows are redacted.

use crate::harness::fault::{Fault, RequestMatch};
use crate::harness::moto::{moto_password, moto_token};
use crate::harness::{RunOutput, TestEnv, ecr_fanout, run};
use crate::scenario::*;

/// Distinctive AWS credentials (moto accepts any), so that a scan for them means something.
const SECRET_KEY: &str = "ScanMeSecretKey0x5f3759df/wJalrXUtnFEMI";
const SESSION_TOKEN: &str = "ScanMeSessionToken0x1badb002+IQoJb3JpZ2luX2VjE";

/// What the SDK logs at trace level when it reads a response: a wire trace line.
const WIRE_LINE: &str = "read HTTP response body";

/// How the run is made verbose: flags before `push`, or a `RUST_LOG` filter.
enum Verbosity {
    Flags(&'static [&'static str]),
    RustLog(&'static str),
}

/// `push` as a GitHub Actions step with the distinctive credentials and `verbosity`.
async fn push_verbose(env: &TestEnv, image: &str, verbosity: Verbosity) -> RunOutput {
    let regions: Vec<&str> = env.regions().iter().map(|r| r.name()).collect();
    let mut cmd = ecr_fanout(env);
    cmd.env("GITHUB_ACTIONS", "true")
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_SESSION_TOKEN", SESSION_TOKEN);
    match verbosity {
        Verbosity::Flags(flags) => {
            cmd.args(flags);
        }
        Verbosity::RustLog(filter) => {
            cmd.env("RUST_LOG", filter);
        }
    }
    cmd.args(["push", "--image", image, "--repository", "web"])
        .args(["--tags", "v1", "--create-repository"])
        .args(["--regions", &regions.join(",")])
        .args(["--registry-endpoints", &env.registry_endpoints_arg()]);
    let out = run(cmd).await;
    assert!(out.success(), "{out}");
    out
}

/// The values no log line may show: each region's own ECR password and token, and the AWS
/// credentials.
fn secrets(env: &TestEnv) -> Vec<(String, String)> {
    let mut secrets = vec![
        ("AWS secret access key".to_string(), SECRET_KEY.to_string()),
        ("AWS session token".to_string(), SESSION_TOKEN.to_string()),
    ];
    for region in env.regions() {
        let name = region.name();
        secrets.push((format!("ECR password of {name}"), moto_password(name)));
        secrets.push((format!("ECR token of {name}"), moto_token(name)));
    }
    secrets
}

/// Every secret appears only in `::add-mask::` lines (stderr), and every region's ECR password
/// is masked.
fn assert_secrets_only_in_masks(env: &TestEnv, out: &RunOutput) {
    let secrets = secrets(env);
    for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        for (number, line) in text.lines().enumerate() {
            for (what, value) in &secrets {
                let allowed = stream == "stderr" && line == format!("::add-mask::{value}");
                assert!(
                    allowed || !line.contains(value),
                    "{stream} line {} shows the {what}: {line}",
                    number + 1
                );
            }
        }
    }
    for region in env.regions() {
        let mask = format!("::add-mask::{}", moto_password(region.name()));
        assert!(
            out.stderr.contains(&mask),
            "no mask for {}'s password:\n{out}",
            region.name()
        );
    }
    assert!(
        out.stderr.len() > 20_000,
        "the run logged too little to prove anything ({} bytes)",
        out.stderr.len()
    );
}

#[tokio::test]
async fn very_verbose_push_shows_no_secret() {
    let env = TestEnv::start(&REGIONS[..2]).await;
    let (image, _) = single_manifest_image(&env, "secret-vv");
    let out = push_verbose(&env, &image, Verbosity::Flags(&["-vv"])).await;
    assert_secrets_only_in_masks(&env, &out);
    assert!(
        !out.stderr.contains(WIRE_LINE),
        "wire trace without the switch"
    );
}

#[tokio::test]
async fn wire_tracing_redacts_credentials_it_shows() {
    let env = TestEnv::start(&REGIONS[..1]).await;
    let (image, _) = single_manifest_image(&env, "secret-wire");
    let out = push_verbose(&env, &image, Verbosity::Flags(&["-vv", "--trace-wire"])).await;
    assert!(out.stderr.contains(WIRE_LINE), "no wire trace:\n{out}");
    // Compact or spaced JSON, as the body came.
    assert!(
        out.stderr.contains(r#"\"authorizationToken\":\"***\""#)
            || out.stderr.contains(r#"\"authorizationToken\": \"***\""#),
        "the token in the response body is not redacted:\n{out}"
    );
    assert_secrets_only_in_masks(&env, &out);
}

#[tokio::test]
async fn rust_log_trace_with_a_token_refresh_shows_no_secret() {
    let env = TestEnv::start(&REGIONS[..2]).await;
    let (image, _) = single_manifest_image(&env, "secret-trace");
    let control = env.region("eu-west-1").control();
    // The first manifest put in eu-west-1 finds the token expired: one refresh mid-push.
    control.inject(Fault::only(
        RequestMatch::kind("PUT", "manifest"),
        Fault::TokenExpired { count: 1 },
    ));
    let logins_before = env.moto().count_calls("GetAuthorizationToken");
    let out = push_verbose(&env, &image, Verbosity::RustLog("trace")).await;
    assert_eq!(control.faults_fired("token-expired"), 1);
    let logins = env.moto().count_calls("GetAuthorizationToken") - logins_before;
    assert_eq!(logins, 3, "one login per region plus one refresh");
    assert_secrets_only_in_masks(&env, &out);
    assert!(
        !out.stderr.contains(WIRE_LINE),
        "RUST_LOG=trace turned on wire trace"
    );
}
