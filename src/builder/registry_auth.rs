//! The builder's temporary login to its cache registries (ECR's, whose logins the caller
//! obtained): a Docker-style config file, `{"auths": {HOST: {"auth": base64(USER:PASSWORD)}}}`
//! merged into a copy of the user's own (their other registries keep working), mode 0600 in a
//! directory of its own (0700) that is deleted when [`BuildAuth`] is dropped: after the build,
//! whether it succeeded, failed or was cancelled. buildah and podman read it as `--authfile`;
//! docker and buildx as `DOCKER_CONFIG`, the directory also linking every other entry of the
//! user's Docker config directory (`cli-plugins`, `buildx` builders, `contexts`) so that the
//! same plugins and builder run. The credentials' own entries win over the user's
//! `credHelpers` for those hosts, and a `credsStore` (which would answer for every host) is left
//! out with a warning. The password never reaches a log: the command lines name the file only.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use base64::Engine as _;
use serde_json::{Map, Value};
use tempfile::TempDir;

use crate::secret::Secret;

const CONFIG_FILE: &str = "config.json";

/// Credentials for one registry the builder talks to during the build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuilderLogin {
    /// `HOST[:PORT]`, as the cache line writes it.
    pub host: String,
    pub username: String,
    pub password: Secret,
}

/// A temporary Docker-style config holding the build's logins; deleted on drop.
#[derive(Debug)]
pub struct BuildAuth {
    dir: TempDir,
}

impl BuildAuth {
    /// For buildah and podman: `user_auth_file`'s entries (`REGISTRY_AUTH_FILE` or Docker's
    /// `config.json`; none when it does not exist) and `logins`. `None` without logins.
    pub fn for_containers(
        logins: &[BuilderLogin],
        user_auth_file: Option<&Path>,
    ) -> anyhow::Result<Option<Self>> {
        Self::write(logins, user_auth_file, false)
    }

    /// For docker and buildx: a `DOCKER_CONFIG` directory with the user's `config.json`
    /// merged with `logins` and links to the rest of the user's config directory. `None`
    /// without logins.
    pub fn for_docker(
        logins: &[BuilderLogin],
        user_config_file: Option<&Path>,
    ) -> anyhow::Result<Option<Self>> {
        Self::write(logins, user_config_file, true)
    }

    fn write(
        logins: &[BuilderLogin],
        user_file: Option<&Path>,
        link_siblings: bool,
    ) -> anyhow::Result<Option<Self>> {
        if logins.is_empty() {
            return Ok(None);
        }
        let mut builder = tempfile::Builder::new();
        builder.prefix("ecr-fanout-auth-");
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700));
        let dir = builder
            .tempdir()
            .context("cannot create a temporary directory for the builder's registry login")?;
        let base = match user_file {
            Some(file) => read_user_config(file)?,
            None => Map::new(),
        };
        let config = merged_config(base, logins);
        write_private(&dir.path().join(CONFIG_FILE), &config)?;
        if let (true, Some(user_dir)) = (link_siblings, user_file.and_then(Path::parent)) {
            link_user_entries(user_dir, dir.path())?;
        }
        let hosts: Vec<&str> = logins.iter().map(|l| l.host.as_str()).collect();
        tracing::debug!(file = %dir.path().join(CONFIG_FILE).display(), hosts = ?hosts,
                        "the builder's temporary registry login");
        Ok(Some(Self { dir }))
    }

    /// The auth file (`--authfile` of buildah and podman).
    pub fn auth_file(&self) -> PathBuf {
        self.dir.path().join(CONFIG_FILE)
    }

    /// The directory docker and buildx get as `DOCKER_CONFIG`.
    pub fn docker_config_dir(&self) -> &Path {
        self.dir.path()
    }
}

/// The JSON object in `file`; an empty one when the file does not exist.
fn read_user_config(file: &Path) -> anyhow::Result<Map<String, Value>> {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Map::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", file.display())),
    };
    match serde_json::from_str(&text) {
        Ok(Value::Object(object)) => Ok(object),
        _ => anyhow::bail!(
            "{} is not a Docker config file (a JSON object); the builder's login to its cache \
             registry is merged into it",
            file.display()
        ),
    }
}

/// `base` with an `auths` entry per login (replacing the user's for that host), without the
/// user's `credHelpers` for those hosts and without `credsStore`.
fn merged_config(mut base: Map<String, Value>, logins: &[BuilderLogin]) -> Value {
    if let Some(store) = base.remove("credsStore") {
        tracing::warn!(
            "the Docker config's credsStore {store} is not used during the build (it would \
             answer for the cache registry too); registries the build pulls from need an \
             `auths` entry or a credHelpers entry"
        );
    }
    if let Some(Value::Object(helpers)) = base.get_mut("credHelpers") {
        for login in logins {
            helpers.remove(&login.host);
        }
    }
    let auths = base
        .entry("auths")
        .or_insert_with(|| Value::Object(Map::new()));
    if !auths.is_object() {
        *auths = Value::Object(Map::new());
    }
    if let Value::Object(auths) = auths {
        for login in logins {
            let basic = base64::engine::general_purpose::STANDARD.encode(format!(
                "{}:{}",
                login.username,
                login.password.expose()
            ));
            crate::secret::register(&basic);
            auths.insert(login.host.clone(), serde_json::json!({ "auth": basic }));
        }
    }
    Value::Object(base)
}

/// Writes `config` to a new file at `path` that only its owner may read (0600).
fn write_private(path: &Path, config: &Value) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create the builder's auth file {}", path.display()))?;
    let bytes = serde_json::to_vec(config).context("internal: the auth file is not JSON")?;
    file.write_all(&bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write the builder's auth file {}", path.display()))
}

/// Links every entry of `user_dir` but `config.json` into `dir` (plugins, builders, contexts).
fn link_user_entries(user_dir: &Path, dir: &Path) -> anyhow::Result<()> {
    let entries = match std::fs::read_dir(user_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("cannot list {}", user_dir.display())),
    };
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", user_dir.display()))?;
        if entry.file_name() == CONFIG_FILE {
            continue;
        }
        let link = dir.join(entry.file_name());
        #[cfg(unix)]
        std::os::unix::fs::symlink(entry.path(), &link)
            .with_context(|| format!("cannot link {} for the build", entry.path().display()))?;
        #[cfg(not(unix))]
        let _ = link;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
