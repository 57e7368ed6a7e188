//! A builder's result must cover the platforms that were asked for, and no others: a builder
//! that quietly builds fewer (podman 4.3's layer cache did, see `buildah.rs`) or ignores
//! `--platform` would otherwise push an image that does not run where it was meant to.

/// Fails, before anything is pushed, when `built` is not `requested` (empty: anything goes).
/// A platform without a variant matches any variant of the same OS and architecture.
pub fn check_built_platforms(built: &[String], requested: &[String]) -> anyhow::Result<()> {
    if requested.is_empty() {
        return Ok(());
    }
    let missing: Vec<&String> = requested
        .iter()
        .filter(|wanted| !built.iter().any(|got| same_platform(wanted, got)))
        .collect();
    let extra: Vec<&String> = built
        .iter()
        .filter(|got| !requested.iter().any(|wanted| same_platform(wanted, got)))
        .collect();
    if missing.is_empty() && extra.is_empty() {
        return Ok(());
    }
    anyhow::bail!(
        "the build was asked for platforms {} but produced {}; nothing was pushed",
        requested.join(", "),
        if built.is_empty() {
            "an image without a platform".to_owned()
        } else {
            built.join(", ")
        }
    )
}

fn same_platform(first: &str, second: &str) -> bool {
    let mut first = first.split('/');
    let mut second = second.split('/');
    let os_and_arch_equal = first.next() == second.next() && first.next() == second.next();
    let variants_agree = match (first.next(), second.next()) {
        (Some(one), Some(other)) => one == other,
        _ => true,
    };
    os_and_arch_equal && variants_agree
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_asked_platforms_pass_in_any_order_and_variants_may_be_implied() {
        let asked = strings(&["linux/amd64", "linux/arm64"]);
        check_built_platforms(&strings(&["linux/arm64/v8", "linux/amd64"]), &asked).unwrap();
        check_built_platforms(&strings(&["linux/amd64"]), &[]).unwrap();
        check_built_platforms(&strings(&["linux/arm64"]), &strings(&["linux/arm64/v8"])).unwrap();
    }

    #[test]
    fn a_missing_or_extra_platform_fails() {
        let asked = strings(&["linux/amd64", "linux/arm64"]);
        let error = check_built_platforms(&strings(&["linux/amd64"]), &asked)
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "the build was asked for platforms linux/amd64, linux/arm64 but produced \
             linux/amd64; nothing was pushed"
        );
        assert!(
            check_built_platforms(&strings(&["linux/amd64"]), &strings(&["linux/arm64"])).is_err()
        );
        assert!(
            check_built_platforms(&strings(&["linux/arm/v6"]), &strings(&["linux/arm/v7"]))
                .is_err()
        );
        assert!(check_built_platforms(&[], &strings(&["linux/amd64"])).is_err());
    }
}
