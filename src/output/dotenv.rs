//! The dotenv file for GitLab's `artifacts: reports: dotenv`: `ECR_FANOUT_<NAME>=value`, one
//! line each. GitLab keeps quotes literally and allows no multi-line values, no blank lines
//! and no comments, so values are written bare and newlines are refused.

use std::path::Path;

use anyhow::{Context, bail};

/// `image-eu-west-1` → `ECR_FANOUT_IMAGE_EU_WEST_1`.
pub fn variable_name(output: &str) -> String {
    format!(
        "ECR_FANOUT_{}",
        output.to_ascii_uppercase().replace('-', "_")
    )
}

/// Writes (replaces) the dotenv file.
pub fn write_dotenv(path: &Path, values: &[(String, String)]) -> anyhow::Result<()> {
    let mut text = String::new();
    for (name, value) in values {
        if value.contains('\n') {
            bail!("output {name} has several lines, which a dotenv file cannot hold");
        }
        text.push_str(&format!("{}={value}\n", variable_name(name)));
    }
    std::fs::write(path, text).with_context(|| format!("write dotenv file {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_upper_snake_case() {
        assert_eq!(
            variable_name("image-eu-west-1"),
            "ECR_FANOUT_IMAGE_EU_WEST_1"
        );
        assert_eq!(variable_name("bytes-uploaded"), "ECR_FANOUT_BYTES_UPLOADED");
    }
}
