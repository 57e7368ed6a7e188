//! Secrets: the `Secret` type, whose `Debug` and `Display` print `[redacted]`, and the process's
//! set of known secret values, which every log line and the final error pass through
//! ([`redact`]) before they are written. A value joins the set when it becomes known: every
//! `Secret` on creation, and derived forms (HTTP Basic values, AWS keys) through [`register`].

use std::borrow::Cow;
use std::fmt;
use std::sync::RwLock;

/// What a known secret value is replaced with in logs.
pub const REDACTED: &str = "***";

/// Values shorter than this are not redacted: no real credential is that short, and replacing
/// a common word everywhere would garble the log.
pub const MIN_REDACTED_LEN: usize = 8;

/// Every secret value this process has seen, longest first (so that a value containing
/// another is replaced whole).
static KNOWN: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// A secret value. Read it with [`Secret::expose`] only where it goes on the wire.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value` and registers it for redaction.
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        register(&value);
        Self(value)
    }

    /// The secret itself, for an `Authorization` header and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Adds `value` to the known secrets; returns whether it was new (and long enough to count).
pub fn register(value: &str) -> bool {
    if value.len() < MIN_REDACTED_LEN {
        return false;
    }
    let Ok(mut known) = KNOWN.write() else {
        return false;
    };
    if known.iter().any(|k| k == value) {
        return false;
    }
    known.push(value.to_string());
    known.sort_by_key(|k| std::cmp::Reverse(k.len()));
    true
}

/// `text` with every known secret value replaced by [`REDACTED`].
pub fn redact(text: &str) -> Cow<'_, str> {
    let Ok(known) = KNOWN.read() else {
        return Cow::Borrowed(text);
    };
    let mut text = Cow::Borrowed(text);
    for value in known.iter() {
        if text.contains(value.as_str()) {
            text = Cow::Owned(text.replace(value.as_str(), REDACTED));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret}"), "[redacted]");
        assert!(!format!("{secret:?}").contains("hunter2"));
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn known_values_are_redacted_wherever_they_appear() {
        let _secret = Secret::new("pw-5f3759df-unit");
        assert!(register("QmFzaWMtNWYzNzU5ZGYtdW5pdA=="));
        assert!(
            !register("QmFzaWMtNWYzNzU5ZGYtdW5pdA=="),
            "registered twice"
        );
        let line = "body={\"token\": \"QmFzaWMtNWYzNzU5ZGYtdW5pdA==\"} pw=pw-5f3759df-unit.";
        assert_eq!(redact(line), "body={\"token\": \"***\"} pw=***.");
        assert!(matches!(redact("nothing secret"), Cow::Borrowed(_)));
    }

    #[test]
    fn a_value_containing_another_is_replaced_whole() {
        register("inner-7c0ffee1");
        register("outer-inner-7c0ffee1-outer");
        assert_eq!(redact("x outer-inner-7c0ffee1-outer y"), "x *** y");
    }

    #[test]
    fn short_values_are_not_redacted() {
        assert!(!register("testing"));
        assert_eq!(redact("integration testing"), "integration testing");
    }
}
