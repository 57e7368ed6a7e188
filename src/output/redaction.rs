//! Log lines on their way to stderr: [`Redacting`] wraps the log writer, collects each event's
//! bytes and writes them once, with every known secret value (`crate::secret`) and the value of
//! every credential-shaped field (`authorizationToken`, `SecretAccessKey`, an `authorization`
//! header, ...) replaced by `***`. The field rule catches what a wire trace prints before the
//! value is known, e.g. the `GetAuthorizationToken` response body.

use std::io::Write;

use tracing_subscriber::fmt::MakeWriter;

use crate::secret::{self, REDACTED};

/// Field and header names whose value is a credential, as the AWS SDK, its JSON and XML bodies
/// and HTTP header dumps spell them.
const CREDENTIAL_FIELDS: &[&str] = &[
    "authorizationToken",
    "authorization_token",
    "SecretAccessKey",
    "secret_access_key",
    "SessionToken",
    "session_token",
    "x-amz-security-token",
    "authorization",
    "Authorization",
    "WebIdentityToken",
    "web_identity_token",
];

/// An HTTP auth scheme word before the credential itself.
const AUTH_SCHEMES: &[&str] = &["Basic", "Bearer", "AWS4-HMAC-SHA256"];

/// A `MakeWriter` whose writers redact each event before passing it to `inner`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Redacting<M>(pub M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Redacting<M> {
    type Writer = RedactingLine<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingLine {
            inner: self.0.make_writer(),
            buffer: Vec::new(),
        }
    }
}

/// One event's bytes, written redacted when the event is complete (the writer is dropped).
pub struct RedactingLine<W: Write> {
    inner: W,
    buffer: Vec<u8>,
}

impl<W: Write> Write for RedactingLine<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<W: Write> Drop for RedactingLine<W> {
    fn drop(&mut self) {
        if self.buffer.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.buffer);
        let clean = redact_line(&text);
        let _ = self
            .inner
            .write_all(clean.as_bytes())
            .and_then(|()| self.inner.flush());
    }
}

/// `text` with known secrets and credential field values replaced by `***`.
pub fn redact_line(text: &str) -> String {
    redact_credential_fields(&secret::redact(text))
}

/// Replaces the value after each credential field name (see [`CREDENTIAL_FIELDS`]).
fn redact_credential_fields(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((start, name)) = next_field(rest) {
        let after_name = start + name.len();
        let before = rest[..start].chars().next_back();
        let standalone = before.is_none_or(|c| !is_name_char(c) && c != ':')
            && rest[after_name..]
                .chars()
                .next()
                .is_none_or(|c| !is_name_char(c));
        out.push_str(&rest[..after_name]);
        rest = &rest[after_name..];
        if let Some((value_start, value_len)) = credential_value(rest).filter(|_| standalone) {
            out.push_str(&rest[..value_start]);
            out.push_str(REDACTED);
            rest = &rest[value_start + value_len..];
        }
    }
    out.push_str(rest);
    out
}

/// A character that continues a name: `get_authorization_token` is no credential field.
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-')
}

/// The earliest credential field name in `text`.
fn next_field(text: &str) -> Option<(usize, &'static str)> {
    CREDENTIAL_FIELDS
        .iter()
        .filter_map(|name| text.find(name).map(|at| (at, *name)))
        .min_by_key(|(at, name)| (*at, std::cmp::Reverse(name.len())))
}

/// Where the value after a field name starts and how long it is. A value follows a quote,
/// `=` or `>` (`": "`, `Some("`, `<Key>`), or an auth scheme word (`authorization: Basic …`);
/// one shorter than [`secret::MIN_REDACTED_LEN`] (a flag, `None`) is left alone.
fn credential_value(text: &str) -> Option<(usize, usize)> {
    let mut at = skip_separators(text, 0);
    if text[at..].starts_with("Some(") {
        at = skip_separators(text, at + "Some(".len());
    }
    let mut introduced = text[..at].contains(['"', '\'', '=', '>']);
    for scheme in AUTH_SCHEMES {
        if text[at..].starts_with(scheme) && text[at + scheme.len()..].starts_with(' ') {
            at += scheme.len() + 1;
            introduced = true;
            break;
        }
    }
    let len = text[at..]
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || b"+/=_.-%,".contains(b))
        .count();
    (introduced && len >= secret::MIN_REDACTED_LEN).then_some((at, len))
}

fn skip_separators(text: &str, from: usize) -> usize {
    from + text[from..]
        .bytes()
        .take_while(|b| b"\"\\': =>".contains(b))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_debug_xml_and_header_values_are_redacted() {
        let cases = [
            (
                r#"body: b"{\"authorizationToken\": \"QVdTOnNlY3JldA==\", \"expiresAt\": 1}""#,
                r#"body: b"{\"authorizationToken\": \"***\", \"expiresAt\": 1}""#,
            ),
            (
                r#"AuthorizationData { authorization_token: Some("QVdTOnNlY3JldA=="), x: 1 }"#,
                r#"AuthorizationData { authorization_token: Some("***"), x: 1 }"#,
            ),
            (
                "<SecretAccessKey>wJalrXUtnFEMI/K7MDENG</SecretAccessKey>",
                "<SecretAccessKey>***</SecretAccessKey>",
            ),
            (
                r#"headers: {"authorization": "Basic QVdTOnNlY3JldA==", "host": "h"}"#,
                r#"headers: {"authorization": "Basic ***", "host": "h"}"#,
            ),
            (
                "authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig",
                "authorization: Bearer ***",
            ),
        ];
        for (line, redacted) in cases {
            assert_eq!(redact_line(line), redacted, "{line}");
        }
    }

    #[test]
    fn field_names_without_a_credential_are_left_alone() {
        for line in [
            "signed headers: authorization;host;x-amz-date",
            "x-amz-security-token:** redacted (length=46) **",
            "authorization_token: None",
            "checking the authorization of region us-east-1",
            "aws_sdk_ecr::operation::get_authorization_token: request_id=Some(\"abcdefghijkl\")",
            "the authorization credentials were refused",
        ] {
            assert_eq!(redact_line(line), line);
        }
    }

    #[test]
    fn the_writer_redacts_each_event_whole() {
        crate::secret::register("ca11ab1e-5ec2e7-value");
        let sink = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let make = Redacting(SharedSink(sink.clone()));
        {
            let mut line = make.make_writer();
            line.write_all(b"token=ca11ab1e-").unwrap();
            line.write_all(b"5ec2e7-value\n").unwrap();
        }
        let written = String::from_utf8(sink.lock().unwrap().clone()).unwrap();
        assert_eq!(written, "token=***\n");
    }

    #[derive(Clone)]
    struct SharedSink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl Write for SharedSink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for SharedSink {
        type Writer = SharedSink;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }
}
