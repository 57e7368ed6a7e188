//! The `targets` input: a YAML list of `{region, repository?, registry-id?}`, inline or in a
//! file, for pushes where regions differ in repository name or owning account.
//!
//! YAML is read with `serde_yaml_ng`, a maintained fork of the deprecated `serde_yaml` with the
//! same API (see README, "Dependencies").

use std::path::Path;

use serde::Deserialize;

use crate::error::InputError;

/// One entry of the `targets` list, as typed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetEntry {
    pub region: String,
    pub repository: Option<String>,
    #[serde(rename = "registry-id")]
    pub registry_id: Option<String>,
}

/// Parses the `targets` input: a file path when such a file exists, otherwise inline YAML.
pub fn parse_targets(value: &str) -> Result<Vec<TargetEntry>, InputError> {
    let trimmed = value.trim();
    let text = if !trimmed.contains('\n') && Path::new(trimmed).is_file() {
        std::fs::read_to_string(trimmed)
            .map_err(|e| InputError::new("targets", format!("cannot read file '{trimmed}': {e}")))?
    } else {
        value.to_string()
    };
    let entries: Vec<TargetEntry> = serde_yaml_ng::from_str(&text).map_err(|e| {
        let first_line = e.to_string().lines().next().unwrap_or_default().to_string();
        InputError::new(
            "targets",
            format!("not a YAML list of {{region, repository?, registry-id?}}: {first_line}"),
        )
    })?;
    if entries.is_empty() {
        return Err(InputError::new("targets", "the list is empty"));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_list() {
        let entries = parse_targets(
            "- region: us-east-1\n- region: eu-west-1\n  repository: web-eu\n  registry-id: '123456789012'\n",
        )
        .unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].repository.as_deref(), Some("web-eu"));
        assert_eq!(entries[1].registry_id.as_deref(), Some("123456789012"));
    }

    #[test]
    fn flow_style_list() {
        let entries = parse_targets("[{region: us-east-1}, {region: us-west-2}]").unwrap();
        assert_eq!(entries[1].region, "us-west-2");
    }

    #[test]
    fn unknown_key_is_named() {
        let err = parse_targets("- region: us-east-1\n  repo: web\n").unwrap_err();
        assert!(err.to_string().contains("unknown field `repo`"), "{err}");
    }

    #[test]
    fn from_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("targets.yml");
        std::fs::write(&path, "- region: ap-south-1\n").unwrap();
        let entries = parse_targets(path.to_str().unwrap()).unwrap();
        assert_eq!(entries[0].region, "ap-south-1");
    }

    #[test]
    fn empty_list_is_an_error() {
        assert!(parse_targets("[]").is_err());
    }
}
