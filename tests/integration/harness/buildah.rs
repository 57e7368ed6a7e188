//! buildah for build tests: Debian's `buildah` (installed by `scripts/test`) with storage of
//! its own per test (a `storage.conf` named by `CONTAINERS_STORAGE_CONF`, vfs driver, graph
//! and run roots inside the test's directory) and chroot isolation, the settings that need no
//! privilege beyond a plain root sandbox. The binary under test gets them as variables.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// buildah's storage and isolation for one test, under a directory that outlives the runs.
pub struct BuildahStorage {
    conf: PathBuf,
}

impl BuildahStorage {
    /// Writes `dir/storage.conf` with graph and run roots under `dir`.
    pub fn in_dir(dir: &Path) -> Result<BuildahStorage> {
        std::fs::create_dir_all(dir)?;
        let conf = dir.join("storage.conf");
        let text = format!(
            "[storage]\ndriver = \"vfs\"\nrunroot = \"{}\"\ngraphroot = \"{}\"\n",
            dir.join("run").display(),
            dir.join("graph").display()
        );
        std::fs::write(&conf, text).with_context(|| format!("writing {}", conf.display()))?;
        Ok(BuildahStorage { conf })
    }

    /// Storage and isolation as buildah reads them (ecr-fanout passes the last two as flags).
    pub fn env_vars(&self) -> Vec<(String, String)> {
        vec![
            (
                "CONTAINERS_STORAGE_CONF".into(),
                self.conf.display().to_string(),
            ),
            ("STORAGE_DRIVER".into(), "vfs".into()),
            ("BUILDAH_ISOLATION".into(), "chroot".into()),
        ]
    }

    /// Panics with the reason when buildah cannot run here, so no build test skips silently.
    pub async fn require_buildah(&self) {
        if let Err(e) = self.buildah(&["images"]).await {
            panic!("buildah cannot run here, so the buildah build tests cannot run: {e:#}");
        }
    }

    /// Runs buildah with this storage; stdout on success.
    pub async fn buildah(&self, args: &[&str]) -> Result<String> {
        let out = tokio::process::Command::new("buildah")
            .args(["--storage-driver", "vfs"])
            .args(args)
            .envs(self.env_vars())
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output()
            .await
            .context("running buildah (Debian package buildah, installed by scripts/test)")?;
        if !out.status.success() {
            bail!(
                "buildah {args:?} failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}
