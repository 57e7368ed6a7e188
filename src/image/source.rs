//! Where an image comes from: the `TRANSPORT:PATH[:REF]` strings users type, parsed into
//! an `ImageSource` and displayed back in the same form. `docker-daemon:NAME:TAG` is only named
//! here: exporting it is a subprocess (`docker save`), which `crate::builder` runs before the
//! image module reads the resulting docker-archive. `docker://HOST/REPOSITORY[:TAG|@DIGEST]`
//! names an image in a registry, which `crate::source` reads.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::bail;

const VALID_FORMS: &str = "oci:PATH[:REF], oci-archive:PATH[:REF], docker-archive:PATH, \
                           docker-daemon:NAME:TAG, docker://HOST/REPOSITORY[:TAG|@DIGEST]";

/// An image in a registry: `docker://HOST[:PORT]/REPOSITORY[:TAG|@sha256:DIGEST]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryReference {
    /// `host[:port]`; Docker Hub's is `registry-1.docker.io`.
    pub host: String,
    pub repository: String,
    /// The tag or `sha256:…` digest (`latest` when neither is given).
    pub reference: String,
}

impl RegistryReference {
    /// Whether the reference is a digest (then the source is pinned).
    pub fn is_digest(&self) -> bool {
        self.reference.starts_with("sha256:")
    }
}

impl fmt::Display for RegistryReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let separator = if self.is_digest() { '@' } else { ':' };
        write!(
            f,
            "docker://{}/{}{separator}{}",
            self.host, self.repository, self.reference
        )
    }
}

/// An image on local disk, in one of the supported formats.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageSource {
    /// An OCI image layout directory; `reference` selects an `index.json` entry by its
    /// `org.opencontainers.image.ref.name` annotation.
    OciLayout {
        path: PathBuf,
        reference: Option<String>,
    },
    /// A tar archive of an OCI image layout.
    OciArchive {
        path: PathBuf,
        reference: Option<String>,
    },
    /// A `docker save` tar archive (legacy or Docker 25+ OCI-based).
    DockerArchive { path: PathBuf },
    /// An image in the local Docker daemon (`NAME:TAG`, `NAME@sha256:…` or an image ID),
    /// exported with `docker save` by `crate::builder` into a `DockerArchive` before reading.
    DockerDaemon { reference: String },
    /// An image in a registry, read by `crate::source` (manifests as their exact bytes, blobs
    /// on demand).
    Registry(RegistryReference),
}

impl ImageSource {
    /// The file or directory the image is read from (`None` for the Docker daemon).
    pub fn path(&self) -> Option<&Path> {
        match self {
            ImageSource::OciLayout { path, .. }
            | ImageSource::OciArchive { path, .. }
            | ImageSource::DockerArchive { path } => Some(path),
            ImageSource::DockerDaemon { .. } | ImageSource::Registry(_) => None,
        }
    }
}

impl FromStr for ImageSource {
    type Err = anyhow::Error;

    fn from_str(input: &str) -> anyhow::Result<ImageSource> {
        if let Some(rest) = input.strip_prefix("docker://") {
            return parse_registry_reference(input, rest).map(ImageSource::Registry);
        }
        if let Some(reference) = input.strip_prefix("docker-daemon:") {
            return parse_daemon_reference(input, reference);
        }
        let Some((transport, remainder)) = input.split_once(':') else {
            bail!(
                "image source {input:?} has no transport prefix; expected one of {VALID_FORMS}{}",
                existing_layout_hint(input)
            );
        };
        match transport {
            "oci" => {
                let (path, reference) = split_path_and_reference(input, remainder)?;
                Ok(ImageSource::OciLayout { path, reference })
            }
            "oci-archive" => {
                let (path, reference) = split_path_and_reference(input, remainder)?;
                Ok(ImageSource::OciArchive { path, reference })
            }
            "docker-archive" => {
                if remainder.is_empty() {
                    bail!("image source {input:?} has an empty PATH; expected {VALID_FORMS}");
                }
                Ok(ImageSource::DockerArchive {
                    path: PathBuf::from(remainder),
                })
            }
            _ => bail!(
                "image source {input:?} has unknown transport {transport:?}; expected one of \
                 {VALID_FORMS}"
            ),
        }
    }
}

/// `NAME:TAG`, `NAME@DIGEST` or an image ID (`sha256:…`). A bare `NAME` is refused: `docker
/// save NAME` would export every tag of it.
fn parse_daemon_reference(input: &str, reference: &str) -> anyhow::Result<ImageSource> {
    let last_component = reference.rsplit('/').next().unwrap_or(reference);
    let has_tag_or_digest = last_component.contains(':') || reference.contains('@');
    if reference.is_empty() || reference.chars().any(char::is_whitespace) {
        bail!("image source {input:?} names no image; expected docker-daemon:NAME:TAG");
    }
    if !has_tag_or_digest {
        bail!(
            "image source {input:?} has no tag; expected docker-daemon:NAME:TAG (e.g. \
             docker-daemon:{reference}:latest), NAME@sha256:… or an image ID"
        );
    }
    Ok(ImageSource::DockerDaemon {
        reference: reference.to_owned(),
    })
}

/// `HOST[:PORT]/REPOSITORY[:TAG|@DIGEST]`. As Docker has it, a first component without `.` or
/// `:` (and not `localhost`) is a Docker Hub repository (`alpine` is `library/alpine`).
fn parse_registry_reference(input: &str, rest: &str) -> anyhow::Result<RegistryReference> {
    let (name, reference) = match rest.split_once('@') {
        Some((name, digest)) => {
            let valid = digest.strip_prefix("sha256:").is_some_and(|hex| {
                hex.len() == 64
                    && hex
                        .bytes()
                        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            });
            if !valid {
                bail!("image source {input:?} has an invalid digest; expected @sha256:<64 hex>");
            }
            (name, digest.to_string())
        }
        None => match rest.rsplit_once(':') {
            Some((name, tag)) if !tag.contains('/') => (name, tag.to_string()),
            _ => (rest, "latest".to_string()),
        },
    };
    let (first, remainder) = name.split_once('/').unwrap_or(("", name));
    let names_host = first.contains('.') || first.contains(':') || first == "localhost";
    let (host, repository) = if names_host {
        (first.to_string(), remainder.to_string())
    } else if first.is_empty() {
        (
            "registry-1.docker.io".to_string(),
            format!("library/{remainder}"),
        )
    } else {
        ("registry-1.docker.io".to_string(), name.to_string())
    };
    let valid_repository = !repository.is_empty()
        && repository.split('/').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        });
    let valid_tag = reference.starts_with("sha256:")
        || (reference.len() <= 128
            && reference
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)));
    if !valid_repository || !valid_tag || host.is_empty() {
        bail!(
            "image source {input:?} is not a registry reference; expected \
             docker://HOST[:PORT]/REPOSITORY[:TAG|@sha256:DIGEST]"
        );
    }
    Ok(RegistryReference {
        host,
        repository,
        reference,
    })
}

/// `PATH[:REF]`: an existing path wins as a whole; otherwise split at the last ':'.
fn split_path_and_reference(
    input: &str,
    remainder: &str,
) -> anyhow::Result<(PathBuf, Option<String>)> {
    if remainder.is_empty() {
        bail!("image source {input:?} has an empty PATH; expected {VALID_FORMS}");
    }
    if Path::new(remainder).exists() {
        return Ok((PathBuf::from(remainder), None));
    }
    match remainder.rsplit_once(':') {
        None => Ok((PathBuf::from(remainder), None)),
        Some((_, "")) => {
            bail!("image source {input:?} ends with ':' but has no REF after it")
        }
        Some(("", _)) => bail!("image source {input:?} has an empty PATH before the REF"),
        Some((path, reference)) => Ok((PathBuf::from(path), Some(reference.to_owned()))),
    }
}

fn existing_layout_hint(input: &str) -> String {
    let path = Path::new(input);
    if path.join("oci-layout").is_file() {
        format!(" (it looks like an OCI layout: try \"oci:{input}\")")
    } else if path.is_file() {
        format!(" (for a tar file try \"oci-archive:{input}\" or \"docker-archive:{input}\")")
    } else {
        String::new()
    }
}

impl fmt::Display for ImageSource {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (transport, path, reference) = match self {
            ImageSource::OciLayout { path, reference } => ("oci", path, reference),
            ImageSource::OciArchive { path, reference } => ("oci-archive", path, reference),
            ImageSource::DockerArchive { path } => ("docker-archive", path, &None),
            ImageSource::DockerDaemon { reference } => {
                return write!(formatter, "docker-daemon:{reference}");
            }
            ImageSource::Registry(reference) => return write!(formatter, "{reference}"),
        };
        write!(formatter, "{transport}:{}", path.display())?;
        if let Some(reference) = reference {
            write!(formatter, ":{reference}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &str) -> ImageSource {
        input.parse().unwrap()
    }

    fn parse_error(input: &str) -> String {
        input.parse::<ImageSource>().unwrap_err().to_string()
    }

    #[test]
    fn parses_every_transport() {
        assert_eq!(
            parse("oci:examples/hello"),
            ImageSource::OciLayout {
                path: "examples/hello".into(),
                reference: None
            }
        );
        assert_eq!(
            parse("oci:examples/hello:v1"),
            ImageSource::OciLayout {
                path: "examples/hello".into(),
                reference: Some("v1".into())
            }
        );
        assert_eq!(
            parse("oci-archive:/tmp/does-not-exist/image.tar:latest"),
            ImageSource::OciArchive {
                path: "/tmp/does-not-exist/image.tar".into(),
                reference: Some("latest".into())
            }
        );
        assert_eq!(
            parse("docker-archive:/tmp/x:y.tar"),
            ImageSource::DockerArchive {
                path: "/tmp/x:y.tar".into()
            }
        );
    }

    #[test]
    fn an_existing_path_containing_a_colon_is_not_split() {
        let dir = tempfile::tempdir().unwrap();
        let with_colon = dir.path().join("layout:v1");
        std::fs::create_dir(&with_colon).unwrap();
        let input = format!("oci:{}", with_colon.display());
        assert_eq!(
            parse(&input),
            ImageSource::OciLayout {
                path: with_colon,
                reference: None
            }
        );
        let with_ref = format!("oci:{}:v2", dir.path().join("layout:v1").display());
        assert_eq!(
            parse(&with_ref),
            ImageSource::OciLayout {
                path: dir.path().join("layout:v1"),
                reference: Some("v2".into())
            }
        );
    }

    #[test]
    fn splits_at_the_last_colon() {
        assert_eq!(
            parse("oci:a:b:c"),
            ImageSource::OciLayout {
                path: "a:b".into(),
                reference: Some("c".into())
            }
        );
    }

    #[test]
    fn rejects_empty_path_or_reference() {
        assert!(parse_error("oci:").contains("empty PATH"));
        assert!(parse_error("oci::v1").contains("empty PATH"));
        assert!(parse_error("oci:does-not-exist:").contains("no REF"));
        assert!(parse_error("docker-archive:").contains("empty PATH"));
    }

    #[test]
    fn unknown_transport_lists_the_valid_ones() {
        for input in ["dir:/tmp/x", "containers-storage:x", "just-a-path"] {
            assert!(parse_error(input).contains(VALID_FORMS), "{input}");
        }
    }

    #[test]
    fn registry_references_name_host_repository_and_tag_or_digest() {
        let digest = format!("sha256:{}", "a".repeat(64));
        for (input, host, repository, reference) in [
            (
                "docker://123456789012.dkr.ecr.us-east-1.amazonaws.com/team/web:v1",
                "123456789012.dkr.ecr.us-east-1.amazonaws.com",
                "team/web",
                "v1",
            ),
            (
                "docker://localhost:5000/web",
                "localhost:5000",
                "web",
                "latest",
            ),
            (
                "docker://alpine:3",
                "registry-1.docker.io",
                "library/alpine",
                "3",
            ),
            (
                &*format!("docker://ghcr.io/org/app@{digest}"),
                "ghcr.io",
                "org/app",
                &*digest,
            ),
        ] {
            let ImageSource::Registry(parsed) = parse(input) else {
                panic!("{input} is a registry source");
            };
            assert_eq!(
                (
                    parsed.host.as_str(),
                    parsed.repository.as_str(),
                    parsed.reference.as_str()
                ),
                (host, repository, reference),
                "{input}"
            );
        }
        assert_eq!(
            parse("docker://localhost:5000/web:v1").to_string(),
            "docker://localhost:5000/web:v1"
        );
        assert!(parse_error("docker://ghcr.io/Org/App:v1").contains("not a registry reference"));
        assert!(parse_error("docker://ghcr.io/app@sha256:abc").contains("invalid digest"));
    }

    #[test]
    fn daemon_sources_need_a_tag_digest_or_id() {
        for reference in [
            "alpine:latest",
            "localhost:5000/team/web:v1",
            "web@sha256:0123",
            "sha256:0123abcd",
        ] {
            assert_eq!(
                parse(&format!("docker-daemon:{reference}")),
                ImageSource::DockerDaemon {
                    reference: reference.into()
                }
            );
        }
        assert!(parse_error("docker-daemon:alpine").contains("docker-daemon:alpine:latest"));
        assert!(parse_error("docker-daemon:localhost:5000/web").contains("has no tag"));
        assert!(parse_error("docker-daemon:").contains("names no image"));
    }

    #[test]
    fn display_round_trips() {
        for input in [
            "oci:examples/hello",
            "oci:examples/hello:v1",
            "oci-archive:image.tar",
            "oci-archive:image.tar:latest",
            "docker-archive:image.tar",
            "docker-daemon:web:v1",
        ] {
            assert_eq!(parse(input).to_string(), input);
            assert_eq!(parse(&parse(input).to_string()), parse(input));
        }
    }
}
