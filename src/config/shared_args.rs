//! Flags that `push` and `verify` share, declared once and flattened into both: where the
//! image goes (regions, repository, account, endpoints) and where the report goes.

use clap::Args;

use super::raw::RawInputs;

/// The destination: regions, repository, account, endpoint overrides.
#[derive(Debug, Args)]
pub struct DestinationArgs {
    /// AWS regions, comma- or newline-separated; the first is the primary.
    #[arg(long)]
    pub regions: Option<String>,
    /// ECR repository name; namespaces allowed (team-a/web-app).
    #[arg(long)]
    pub repository: Option<String>,
    /// AWS account ID that owns the registries [default: the caller's account].
    #[arg(long)]
    pub registry_id: Option<String>,
    /// YAML list of destinations {id?, region, registry-id?, repository?, role-arn?,
    /// external-id?, kms-key?, lifecycle-policy?, repository-policy?}, inline or a file path.
    #[arg(long, allow_hyphen_values = true)]
    pub targets: Option<String>,
    /// REGION=URL pairs overriding a region's registry endpoint (VPC endpoints, proxies, tests).
    #[arg(long)]
    pub registry_endpoints: Option<String>,
    /// standard, fips or dualstack registry host names [default: standard].
    #[arg(long)]
    pub endpoint_style: Option<String>,
}

impl DestinationArgs {
    pub fn add_to(self, raw: &mut RawInputs) {
        raw.set("regions", self.regions);
        raw.set("repository", self.repository);
        raw.set("registry-id", self.registry_id);
        raw.set("targets", self.targets);
        raw.set("registry-endpoints", self.registry_endpoints);
        raw.set("endpoint-style", self.endpoint_style);
    }
}

/// Where the report goes besides the log.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Print one JSON report on stdout [default: false].
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub json: Option<String>,
    /// Write outputs to this dotenv file (GitLab `artifacts: reports: dotenv`).
    #[arg(long)]
    pub dotenv_file: Option<String>,
    /// Write a GitHub step summary when GITHUB_STEP_SUMMARY is set [default: true].
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub summary: Option<String>,
}

impl ReportArgs {
    pub fn add_to(self, raw: &mut RawInputs) {
        raw.set("json", self.json);
        raw.set("dotenv-file", self.dotenv_file);
        raw.set("summary", self.summary);
    }
}
