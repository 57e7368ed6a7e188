//! Outputs: `$GITHUB_OUTPUT` parsed by the runner's rules (including the delimiter form),
//! the step summary, the dotenv file, and the JSON report all hold the right values.

use std::collections::BTreeMap;

use serde_json::json;

use crate::harness::{TestEnv, ecr_fanout, run};
use crate::scenario::*;

/// Parses a GitHub outputs file: `name=value` lines and `name<<DELIM` … `DELIM` blocks.
fn parse_github_outputs(text: &str) -> BTreeMap<String, String> {
    let mut outputs = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delimiter)) = line.split_once("<<") {
            let mut value = Vec::new();
            for next in lines.by_ref() {
                if next == delimiter {
                    break;
                }
                value.push(next);
            }
            outputs.insert(name.to_string(), value.join("\n"));
        } else if let Some((name, value)) = line.split_once('=') {
            outputs.insert(name.to_string(), value.to_string());
        }
    }
    outputs
}

fn parse_dotenv(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(|line| {
            let (k, v) = line.split_once('=').expect("KEY=VALUE");
            (k.to_string(), v.to_string())
        })
        .collect()
}

#[tokio::test]
async fn github_outputs_summary_and_dotenv_hold_the_pushed_image() {
    let env = TestEnv::start(&REGIONS).await;
    let (image, digest) = single_manifest_image(&env, "outputs");
    let (outputs_path, outputs_arg) = work_file(&env, "github-output");
    let (summary_path, summary_arg) = work_file(&env, "step-summary");
    let (dotenv_path, dotenv_arg) = work_file(&env, "push.env");
    let mut cmd = ecr_fanout(&env);
    cmd.env("GITHUB_OUTPUT", &outputs_arg)
        .env("GITHUB_STEP_SUMMARY", &summary_arg)
        .args([
            "push",
            "--image",
            &image,
            "--repository",
            "team/web",
            "--tags",
            "v1,latest",
        ])
        .args(["--regions", &REGIONS.join(","), "--create-repository"])
        .args(["--registry-endpoints", &env.registry_endpoints_arg()])
        .args(["--dotenv-file", &dotenv_arg]);
    let out = run(cmd).await;
    assert!(out.success(), "{out}");

    let outputs = parse_github_outputs(&std::fs::read_to_string(&outputs_path).unwrap());
    let images: BTreeMap<String, String> = REGIONS
        .iter()
        .map(|r| (r.to_string(), pinned_uri(r, "team/web", &digest)))
        .collect();
    let registries: BTreeMap<String, String> = REGIONS
        .iter()
        .map(|r| {
            (
                r.to_string(),
                format!("{ACCOUNT}.dkr.ecr.{r}.amazonaws.com"),
            )
        })
        .collect();
    assert_eq!(outputs["digest"], digest);
    assert_eq!(
        outputs["image"],
        pinned_uri("us-east-1", "team/web", &digest)
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&outputs["images"]).unwrap(),
        json!(images)
    );
    for region in REGIONS {
        assert_eq!(outputs[&format!("image-{region}")], images[region]);
    }
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&outputs["tags"]).unwrap(),
        json!(["v1", "latest"])
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&outputs["regions"]).unwrap(),
        json!(REGIONS)
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&outputs["platforms"]).unwrap(),
        json!(["linux/amd64"])
    );
    assert_eq!(outputs["registry"], registries["us-east-1"]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&outputs["registries"]).unwrap(),
        json!(registries)
    );
    assert_eq!(
        outputs["bytes-uploaded"],
        (3 * blob_bytes(&image)).to_string()
    );

    let dotenv = parse_dotenv(&std::fs::read_to_string(&dotenv_path).unwrap());
    assert_eq!(dotenv["ECR_FANOUT_DIGEST"], digest);
    assert_eq!(dotenv["ECR_FANOUT_IMAGE_EU_WEST_1"], images["eu-west-1"]);
    assert_eq!(dotenv["ECR_FANOUT_IMAGE"], outputs["image"]);
    assert_eq!(dotenv["ECR_FANOUT_REGISTRY"], outputs["registry"]);
    assert_eq!(dotenv["ECR_FANOUT_REPOSITORY"], "team/web");
    assert_eq!(dotenv["ECR_FANOUT_TAGS"], "v1,latest");
    assert_eq!(dotenv["ECR_FANOUT_REGIONS"], REGIONS.join(","));
    assert_eq!(
        dotenv["ECR_FANOUT_BYTES_UPLOADED"],
        outputs["bytes-uploaded"]
    );
    // Scalars and one variable per region; the JSON aggregates are GitHub outputs only.
    assert_eq!(dotenv.len(), 8 + REGIONS.len(), "{dotenv:?}");
    assert!(!dotenv.contains_key("ECR_FANOUT_IMAGES"));

    let summary = std::fs::read_to_string(&summary_path).unwrap();
    for region in REGIONS {
        assert!(
            summary.contains(&format!("| {region} | team/web | `{}` |", images[region])),
            "{summary}"
        );
    }

    let stdout_lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(stdout_lines.len(), 3, "stdout: {}", out.stdout);
    assert!(stdout_lines[0].starts_with(&format!("us-east-1\t{}", images["us-east-1"])));
}

#[tokio::test]
async fn json_report_counts_blobs_and_time_per_region() {
    let env = TestEnv::start(&REGIONS).await;
    let (image, _) = single_manifest_image(&env, "json");
    let out = push_v1_created(&env, &image).await;
    let report = report(&out);
    for region in report["regions"].as_array().unwrap() {
        assert_eq!(region["blobs_uploaded"], 3, "{region}");
        assert_eq!(region["blobs_skipped"], 0);
        assert_eq!(region["manifests_put"], 1);
        assert_eq!(region["bytes_uploaded"].as_u64(), Some(blob_bytes(&image)));
        assert!(region["seconds"].as_f64().unwrap() > 0.0);
        assert_eq!(region["tags_moved"], json!(["v1"]));
        assert_eq!(region["repository_action"], "create");
    }
    assert!(
        !out.stdout
            .contains(&crate::harness::moto::moto_password("us-east-1"))
    );
    assert!(
        !out.stderr
            .contains(&crate::harness::moto::moto_password("us-east-1"))
    );
}
