//! ECR registry host names. `GetAuthorizationToken` only ever reports the standard host; the
//! FIPS (`dkr.ecr-fips`) and dual-stack (`dkr-ecr.REGION.on.aws`) hosts are built here.

use crate::config::EndpointStyle;

/// The host for `account` in `region`, in the requested style.
pub fn registry_host_for_account(account: &str, region: &str, style: EndpointStyle) -> String {
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    match style {
        EndpointStyle::Standard => format!("{account}.dkr.ecr.{region}.{suffix}"),
        EndpointStyle::Fips => format!("{account}.dkr.ecr-fips.{region}.{suffix}"),
        EndpointStyle::Dualstack => format!("{account}.dkr-ecr.{region}.on.aws"),
    }
}

/// Restyles a standard host reported by ECR (`ACCOUNT.dkr.ecr.REGION.amazonaws.com`), or
/// returns it unchanged when it has another shape.
pub fn registry_host(reported: &str, region: &str, style: EndpointStyle) -> String {
    match reported.split_once(".dkr.ecr.") {
        Some((account, _)) if style != EndpointStyle::Standard => {
            registry_host_for_account(account, region, style)
        }
        _ => reported.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn styles() {
        let std_host = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
        assert_eq!(
            registry_host_for_account("123456789012", "eu-west-1", EndpointStyle::Standard),
            std_host
        );
        assert_eq!(
            registry_host(std_host, "eu-west-1", EndpointStyle::Fips),
            "123456789012.dkr.ecr-fips.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            registry_host(std_host, "eu-west-1", EndpointStyle::Dualstack),
            "123456789012.dkr-ecr.eu-west-1.on.aws"
        );
        assert_eq!(
            registry_host_for_account("123456789012", "cn-north-1", EndpointStyle::Standard),
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"
        );
    }
}
