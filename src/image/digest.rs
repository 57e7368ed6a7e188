//! Content digests: the validated `sha256:<64 lowercase hex>` identifier of a blob or manifest,
//! and incremental SHA-256 hashing for data that is streamed rather than held in memory.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;
use std::str::FromStr;

use anyhow::Context;
use sha2::{Digest as _, Sha256};

const ALGORITHM_PREFIX: &str = "sha256:";
const HEX_LENGTH: usize = 64;
const EXPECTED_FORM: &str = "\"sha256:\" followed by 64 lowercase hex characters";

/// A SHA-256 content digest, always of the form `sha256:` + 64 lowercase hex characters.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct Digest(String);

/// Why a string is not a valid digest.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum DigestError {
    #[error("invalid digest {input:?}: only sha256 is supported; expected {EXPECTED_FORM}")]
    UnsupportedAlgorithm { input: String },
    #[error(
        "invalid digest {input:?}: the hex part has {actual} characters; expected {EXPECTED_FORM}"
    )]
    WrongLength { input: String, actual: usize },
    #[error(
        "invalid digest {input:?}: the hex part must be lowercase 0-9a-f; expected {EXPECTED_FORM}"
    )]
    NotLowercaseHex { input: String },
}

impl Digest {
    /// `sha256:` and 64 times the hex digit `c`: a digest for tests.
    #[cfg(test)]
    pub fn repeated(c: char) -> Digest {
        let hex = c.to_string().repeat(64);
        Digest::parse(&format!("{ALGORITHM_PREFIX}{hex}")).unwrap()
    }

    /// Parses `sha256:<64 lowercase hex>`; rejects other algorithms, lengths and uppercase hex.
    pub fn parse(s: &str) -> Result<Digest, DigestError> {
        let Some(hex_part) = s.strip_prefix(ALGORITHM_PREFIX) else {
            return Err(DigestError::UnsupportedAlgorithm {
                input: s.to_owned(),
            });
        };
        if hex_part.len() != HEX_LENGTH {
            return Err(DigestError::WrongLength {
                input: s.to_owned(),
                actual: hex_part.chars().count(),
            });
        }
        let lowercase_hex = hex_part
            .bytes()
            .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte));
        if !lowercase_hex {
            return Err(DigestError::NotLowercaseHex {
                input: s.to_owned(),
            });
        }
        Ok(Digest(s.to_owned()))
    }

    /// The SHA-256 digest of `bytes`.
    pub fn of_bytes(bytes: &[u8]) -> Digest {
        let mut hasher = Sha256Hasher::new();
        hasher.update(bytes);
        hasher.finish()
    }

    /// Hashes a file by streaming it; returns its digest and length in bytes.
    pub fn of_file(path: &Path) -> anyhow::Result<(Digest, u64)> {
        let mut file =
            File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let mut writer = DigestWriter::new(io::sink());
        io::copy(&mut file, &mut writer)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let (_, digest, length) = writer.finish();
        Ok((digest, length))
    }

    /// The 64 lowercase hex characters after `sha256:`.
    pub fn hex(&self) -> &str {
        &self.0[ALGORITHM_PREFIX.len()..]
    }

    /// The full `sha256:...` form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(s: &str) -> Result<Digest, DigestError> {
        Digest::parse(s)
    }
}

impl TryFrom<String> for Digest {
    type Error = DigestError;

    fn try_from(value: String) -> Result<Digest, DigestError> {
        Digest::parse(&value)
    }
}

impl From<Digest> for String {
    fn from(digest: Digest) -> String {
        digest.0
    }
}

impl AsRef<str> for Digest {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Incremental SHA-256 for data that arrives in pieces.
#[derive(Clone, Default)]
pub struct Sha256Hasher {
    state: Sha256,
    bytes_hashed: u64,
}

impl Sha256Hasher {
    pub fn new() -> Sha256Hasher {
        Sha256Hasher::default()
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.state.update(bytes);
        self.bytes_hashed += bytes.len() as u64;
    }

    /// How many bytes have been fed in so far.
    pub fn bytes_hashed(&self) -> u64 {
        self.bytes_hashed
    }

    pub fn finish(self) -> Digest {
        Digest(format!(
            "{ALGORITHM_PREFIX}{}",
            hex::encode(self.state.finalize())
        ))
    }
}

impl fmt::Debug for Sha256Hasher {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Sha256Hasher")
            .field("bytes_hashed", &self.bytes_hashed)
            .finish_non_exhaustive()
    }
}

/// A `Write` adapter that hashes and counts everything written through it to `inner`.
#[derive(Debug)]
pub struct DigestWriter<W> {
    inner: W,
    hasher: Sha256Hasher,
}

impl<W: Write> DigestWriter<W> {
    pub fn new(inner: W) -> DigestWriter<W> {
        DigestWriter {
            inner,
            hasher: Sha256Hasher::new(),
        }
    }

    /// Returns the inner writer, the digest of everything written and its length.
    pub fn finish(self) -> (W, Digest, u64) {
        let length = self.hasher.bytes_hashed();
        (self.inner, self.hasher.finish(), length)
    }
}

impl<W: Write> Write for DigestWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.hasher.update(&buf[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Reads the first `count` bytes of a file (fewer if it is shorter).
pub(crate) fn read_prefix(path: &Path, count: usize) -> anyhow::Result<Vec<u8>> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut prefix = Vec::with_capacity(count);
    file.take(count as u64)
        .read_to_end(&mut prefix)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY_SHA256: &str =
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn parses_a_valid_digest_and_exposes_its_parts() {
        let digest = Digest::parse(EMPTY_SHA256).unwrap();
        assert_eq!(digest.as_str(), EMPTY_SHA256);
        assert_eq!(digest.hex(), &EMPTY_SHA256[7..]);
        assert_eq!(digest.to_string(), EMPTY_SHA256);
        assert_eq!(EMPTY_SHA256.parse::<Digest>().unwrap(), digest);
    }

    #[test]
    fn rejects_invalid_digests_with_a_message_showing_the_valid_form() {
        let upper = EMPTY_SHA256.replace('e', "E");
        let sha512 = format!("sha512:{}", "a".repeat(128));
        let cases = [
            "",
            "sha256:",
            "sha256:abc",
            &sha512,
            &EMPTY_SHA256[7..],
            &upper,
            "SHA256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85g",
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 ",
        ];
        for case in cases {
            let error = Digest::parse(case).unwrap_err();
            assert!(
                error.to_string().contains("64 lowercase hex"),
                "{case}: {error}"
            );
        }
    }

    #[test]
    fn hashes_bytes_incrementally_and_whole_the_same() {
        assert_eq!(Digest::of_bytes(b"").as_str(), EMPTY_SHA256);
        let mut hasher = Sha256Hasher::new();
        hasher.update(b"hello ");
        hasher.update(b"world");
        assert_eq!(hasher.bytes_hashed(), 11);
        assert_eq!(hasher.finish(), Digest::of_bytes(b"hello world"));
    }

    #[test]
    fn digest_writer_passes_bytes_through_and_hashes_them() {
        let mut writer = DigestWriter::new(Vec::new());
        writer.write_all(b"hello world").unwrap();
        let (inner, digest, length) = writer.finish();
        assert_eq!(inner, b"hello world");
        assert_eq!(length, 11);
        assert_eq!(digest, Digest::of_bytes(b"hello world"));
    }

    #[test]
    fn hashes_a_file_by_streaming() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data");
        std::fs::write(&path, b"hello world").unwrap();
        let (digest, length) = Digest::of_file(&path).unwrap();
        assert_eq!((digest, length), (Digest::of_bytes(b"hello world"), 11));
        assert_eq!(read_prefix(&path, 5).unwrap(), b"hello");
    }

    #[test]
    fn serde_round_trips_and_validates() {
        let json = format!("\"{EMPTY_SHA256}\"");
        let digest: Digest = serde_json::from_str(&json).unwrap();
        assert_eq!(serde_json::to_string(&digest).unwrap(), json);
        assert!(serde_json::from_str::<Digest>("\"sha256:abc\"").is_err());
    }
}
