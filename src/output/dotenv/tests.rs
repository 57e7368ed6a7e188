//! Tests of the dotenv file: variable names, full and compact forms within GitLab's limits.

use std::collections::BTreeMap;

use super::*;
use crate::image::Digest;
use crate::report::{DestinationSummary, RegionReport, RegionStatus, ReportCommand, RunStatus};

const DIGEST: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn region(name: &str, repository: &str) -> RegionReport {
    let registry = format!("123456789012.dkr.ecr.{name}.amazonaws.com");
    let mut report = RegionReport::blank(
        (name, name, repository),
        (
            registry.clone(),
            format!("{registry}/{repository}@{DIGEST}"),
        ),
        &[],
    );
    report.status = RegionStatus::Pushed;
    report
}

fn report(regions: Vec<RegionReport>, task_definitions: bool) -> Report {
    let task_definitions: BTreeMap<String, String> = if task_definitions {
        regions
            .iter()
            .map(|r| {
                let path = format!(
                    "/builds/acme/web/ecr-fanout-task-definitions/td-{}.json",
                    r.region
                );
                (r.region.clone(), path)
            })
            .collect()
    } else {
        BTreeMap::new()
    };
    Report {
        command: ReportCommand::Push,
        status: RunStatus::Succeeded,
        dry_run: false,
        digest: Digest::parse(DIGEST).unwrap(),
        media_type: "application/vnd.oci.image.manifest.v1+json".to_string(),
        platforms: vec!["linux/amd64".to_string()],
        source: None,
        referrers: Vec::new(),
        tags: vec!["v1".to_string(), "latest".to_string()],
        image: regions[0].image.clone(),
        images: regions
            .iter()
            .map(|r| (r.region.clone(), r.image.clone()))
            .collect(),
        registry: regions[0].registry.clone(),
        registries: regions
            .iter()
            .map(|r| (r.region.clone(), r.registry.clone()))
            .collect(),
        bytes_uploaded: 42,
        image_bytes: 42,
        task_definitions,
        convergence: BTreeMap::new(),
        tags_skipped: Vec::new(),
        destinations: regions.iter().map(DestinationSummary::of).collect(),
        regions,
        error: None,
        error_kind: None,
    }
}

fn parse(text: &str) -> BTreeMap<&str, &str> {
    text.lines().map(|l| l.split_once('=').unwrap()).collect()
}

#[test]
fn names_are_upper_snake_case() {
    assert_eq!(
        variable_name("image-eu-west-1"),
        "ECR_FANOUT_IMAGE_EU_WEST_1"
    );
    assert_eq!(variable_name("bytes-uploaded"), "ECR_FANOUT_BYTES_UPLOADED");
}

#[test]
fn a_few_regions_get_full_values_and_no_json() {
    let report = report(
        vec![region("us-east-1", "web"), region("eu-west-1", "web")],
        true,
    );
    let (text, warning) = dotenv_text(&report).unwrap();
    assert_eq!(warning, None);
    let vars = parse(&text);
    assert_eq!(vars["ECR_FANOUT_TAGS"], "v1,latest");
    assert_eq!(vars["ECR_FANOUT_REGIONS"], "us-east-1,eu-west-1");
    assert_eq!(
        vars["ECR_FANOUT_IMAGE_EU_WEST_1"],
        report.images["eu-west-1"]
    );
    assert_eq!(
        vars["ECR_FANOUT_TASK_DEFINITION_EU_WEST_1"],
        report.task_definitions["eu-west-1"]
    );
    assert!(!text.contains('{') && !text.contains('['), "{text}");
    assert_eq!(vars.len(), 8 + 2 + 2);
}

#[test]
fn regions_with_another_repository_say_so_in_the_compact_form() {
    let names: Vec<String> = (1..=25).map(|n| format!("ap-southeast-{n}")).collect();
    let long = "a".repeat(64);
    let mut regions: Vec<RegionReport> = names.iter().map(|n| region(n, &long)).collect();
    regions[3] = region(&names[3], "other");
    let (text, warning) = dotenv_text(&report(regions, true)).unwrap();
    let warning = warning.unwrap();
    assert!(
        warning.contains("ECR_FANOUT_REGISTRY_<REGION>"),
        "{warning}"
    );
    assert!(
        warning.contains("ECR_FANOUT_TASK_DEFINITION_DIR"),
        "{warning}"
    );
    assert!(text.len() <= MAX_BYTES && text.lines().count() <= MAX_VARIABLES);
    let vars = parse(&text);
    assert_eq!(vars["ECR_FANOUT_REPOSITORY"], long);
    assert_eq!(vars["ECR_FANOUT_REPOSITORY_AP_SOUTHEAST_4"], "other");
    assert!(!vars.contains_key("ECR_FANOUT_REPOSITORY_AP_SOUTHEAST_5"));
    assert_eq!(
        vars["ECR_FANOUT_TASK_DEFINITION_DIR"],
        "/builds/acme/web/ecr-fanout-task-definitions"
    );
}

#[test]
fn without_task_definitions_only_the_images_are_compacted() {
    let names: Vec<String> = (1..=25).map(|n| format!("ap-southeast-{n}")).collect();
    let long = "a".repeat(64);
    let regions: Vec<RegionReport> = names.iter().map(|n| region(n, &long)).collect();
    let (text, warning) = dotenv_text(&report(regions, false)).unwrap();
    let warning = warning.unwrap();
    assert!(
        warning.contains("ECR_FANOUT_REGISTRY_<REGION>"),
        "{warning}"
    );
    assert!(!warning.contains("TASK_DEFINITION"), "{warning}");
    assert!(text.len() <= MAX_BYTES, "{text}");
    assert!(
        text.contains("ECR_FANOUT_REGISTRY_AP_SOUTHEAST_25="),
        "{text}"
    );
}
