//! Tests of grouped failures: one line per cause, regions listed, hints and long causes on lines of
//! their own.

use super::*;

const FIFTEEN: [&str; 15] = [
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-north-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-south-1",
    "sa-east-1",
];

fn missing(region: &str) -> RegionFailure {
    RegionFailure::new(
        region,
        format!(
            "region {region}: repository team-a/web does not exist (hint: set \
             create-repository: true, or create it)"
        ),
    )
}

#[test]
fn one_cause_in_fifteen_regions_is_one_short_first_line() {
    let failures: Vec<RegionFailure> = FIFTEEN.iter().map(|r| missing(r)).collect();
    let message = grouped_message(&failures, "nothing was pushed or tagged in any region");
    let lines: Vec<&str> = message.lines().collect();
    assert_eq!(lines.len(), 2, "{message}");
    assert!(
        lines[0].starts_with(
            "repository team-a/web does not exist in 15 regions: us-east-1, us-east-2, "
        ),
        "{}",
        lines[0]
    );
    assert!(
        lines[0].ends_with("; hint: set create-repository: true, or create it"),
        "{}",
        lines[0]
    );
    assert!(lines[0].chars().count() <= FIRST_LINE_MAX, "{}", lines[0]);
    assert_eq!(lines[1], "nothing was pushed or tagged in any region");
}

#[test]
fn a_long_cause_moves_the_hint_then_the_regions_to_lines_of_their_own() {
    let long_cause = |region: &str, length: usize| {
        RegionFailure::new(
            region,
            format!("region {region}: {} (hint: do this)", "x".repeat(length)),
        )
    };
    let regions = ["us-east-1", "eu-west-1"];
    let message = grouped_message(&regions.map(|r| long_cause(r, 250)), "stop");
    let lines: Vec<&str> = message.lines().collect();
    assert_eq!(lines.len(), 3, "{message}");
    assert!(
        lines[0].ends_with(" in 2 regions: us-east-1, eu-west-1"),
        "{}",
        lines[0]
    );
    assert_eq!(lines[1..], ["hint: do this", "stop"]);

    let message = grouped_message(&regions.map(|r| long_cause(r, 285)), "stop");
    let lines: Vec<&str> = message.lines().collect();
    assert!(lines[0].ends_with("x in 2 regions"), "{}", lines[0]);
    assert!(lines[0].chars().count() <= FIRST_LINE_MAX);
    assert_eq!(
        lines[1..],
        ["regions: us-east-1, eu-west-1", "hint: do this", "stop"]
    );
}

#[test]
fn distinct_causes_get_a_line_each_most_regions_first() {
    let mut failures = vec![RegionFailure::new(
        "eu-west-1",
        "region eu-west-1, repository team-a/web: upload: connection refused",
    )];
    failures.extend(["us-east-1", "ap-south-1"].map(missing));
    let message = grouped_message(&failures, "nothing was pushed or tagged in any region");
    let lines: Vec<&str> = message.lines().collect();
    assert_eq!(
        lines,
        [
            "repository team-a/web does not exist in 2 regions: us-east-1, ap-south-1; hint: \
             set create-repository: true, or create it",
            "region eu-west-1, repository team-a/web: upload: connection refused",
            "nothing was pushed or tagged in any region",
        ]
    );
}

#[test]
fn the_region_inside_a_host_name_does_not_split_a_cause() {
    let failures: Vec<RegionFailure> = ["us-east-1", "eu-west-1"]
        .iter()
        .map(|r| {
            RegionFailure::new(
                *r,
                format!("region {r}, repository web: login: 123456789012.dkr.ecr.{r}.amazonaws.com refused"),
            )
        })
        .collect();
    let message = grouped_message(&failures, "stop");
    assert_eq!(
        message.lines().next().unwrap(),
        "repository web: login: 123456789012.dkr.ecr.REGION.amazonaws.com refused in 2 \
         regions: us-east-1, eu-west-1"
    );
}

#[test]
fn a_single_failure_keeps_its_words() {
    let message = grouped_message(&[missing("eu-west-1")], "nothing was pushed");
    assert_eq!(
        message,
        "region eu-west-1: repository team-a/web does not exist (hint: set create-repository: \
         true, or create it); nothing was pushed"
    );
}

#[test]
fn hints_are_split_off_with_nested_parentheses() {
    assert_eq!(
        split_hint("a (hint: see README (IAM)); b"),
        Some(("a; b".to_string(), "see README (IAM)".to_string()))
    );
    assert_eq!(split_hint("no hint here"), None);
}
