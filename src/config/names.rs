//! Syntax rules for the names users type: AWS regions, ECR repository names, image tags and AWS
//! account IDs. Each check returns the reason a value is invalid, phrased for the error line.

/// `us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-north-1`, `us-isob-east-1`.
pub fn check_region(region: &str) -> Result<(), String> {
    let parts: Vec<&str> = region.split('-').collect();
    let valid = parts.len() >= 3
        && parts[0].len() == 2
        && parts[0].bytes().all(|b| b.is_ascii_lowercase())
        && parts[1..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts
            .last()
            .is_some_and(|n| (1..=2).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "'{region}' is not an AWS region name; expected something like us-east-1 or eu-west-2"
        ))
    }
}

/// ECR's rule: 2 to 256 characters, path components of lowercase letters and digits separated
/// by single `.`, `_` or `-`, components joined by `/` (`team-a/web-app`).
pub fn check_repository(name: &str) -> Result<(), String> {
    let rule = "a repository name is 2-256 characters of lowercase letters, digits and single \
                '.', '_' or '-' separators, with '/' between namespace parts (team-a/web-app)";
    if !(2..=256).contains(&name.len()) {
        return Err(format!("'{name}' has {} characters; {rule}", name.len()));
    }
    if name.split('/').all(is_repository_component) {
        Ok(())
    } else {
        Err(format!(
            "'{name}' is not a valid ECR repository name; {rule}"
        ))
    }
}

fn is_repository_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let separator = |b: &u8| matches!(b, b'.' | b'_' | b'-');
    !bytes.is_empty()
        && bytes.first().is_some_and(alnum)
        && bytes.last().is_some_and(alnum)
        && bytes
            .windows(2)
            .all(|pair| !(separator(&pair[0]) && separator(&pair[1])))
        && bytes.iter().all(|b| alnum(b) || separator(b))
}

/// `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
pub fn check_tag(tag: &str) -> Result<(), String> {
    let bytes = tag.as_bytes();
    let first_ok = bytes
        .first()
        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_');
    let rest_ok = bytes
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if first_ok && rest_ok && bytes.len() <= 128 {
        Ok(())
    } else {
        Err(format!(
            "'{tag}' is not a valid tag; a tag is 1-128 characters of letters, digits, '_', '.' \
             and '-', and starts with a letter, digit or '_'"
        ))
    }
}

/// Twelve digits.
pub fn check_registry_id(id: &str) -> Result<(), String> {
    if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(format!(
            "'{id}' is not an AWS account ID; expected 12 digits"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions() {
        for ok in [
            "us-east-1",
            "eu-central-2",
            "us-gov-west-1",
            "cn-north-1",
            "us-isob-east-1",
        ] {
            assert!(check_region(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "us-east",
            "US-EAST-1",
            "useast1",
            "us-east-123",
            "us--east-1",
            "u-east-1",
        ] {
            assert!(check_region(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn repositories() {
        for ok in ["web", "team-a/web-app", "a/b/c.d_e", "ab", "x1/y2"] {
            assert!(check_repository(ok).is_ok(), "{ok}");
        }
        for bad in [
            "a", "Web", "team-a/", "/web", "we..b", "web-", "-web", "a//b", "we b",
        ] {
            assert!(check_repository(bad).is_err(), "{bad}");
        }
        assert!(check_repository(&"a".repeat(257)).is_err());
    }

    #[test]
    fn tags() {
        for ok in ["v1", "_x", "1.2.3", "main-abc_DEF", &"a".repeat(128)] {
            assert!(check_tag(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".v1", "-v1", "v 1", "v1:2", "v/1", &"a".repeat(129)] {
            assert!(check_tag(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn registry_ids() {
        assert!(check_registry_id("123456789012").is_ok());
        assert!(check_registry_id("12345678901").is_err());
        assert!(check_registry_id("12345678901a").is_err());
    }
}
