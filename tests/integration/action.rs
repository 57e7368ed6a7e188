//! `ecr-fanout action` as the GitHub runner runs it: `INPUT_*` variables evaluated from
//! action.yml's step (names with `-`, multi-line values, defaults, empty unset inputs),
//! `GITHUB_ACTIONS=true`, `$GITHUB_OUTPUT` and `$GITHUB_STEP_SUMMARY` in temp files. Results
//! are read back with skopeo and by parsing the files by the runner's rules. The drift test:
//! a real push to three regions, where every output written (per-region ones included) must be
//! declared in action.yml and equal the JSON report's value, read by region name.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::action_support::*;
use crate::harness::{TestEnv, ecr_fanout, moto::moto_password, run, skopeo};
use crate::repository_support::region_report;
use crate::scenario::*;

const TWO_REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{text:?} is not JSON: {e}"))
}

#[tokio::test]
async fn action_pushes_with_runner_style_inputs_and_writes_every_output() {
    let env = TestEnv::start(&TWO_REGIONS).await;
    let (image, digest) = single_manifest_image(&env, "action");
    let (outputs_path, _) = work_file(&env, "github-output");
    let (summary_path, _) = work_file(&env, "step-summary");
    // Multi-line values, as `with: |` blocks give them, trailing newline included.
    let regions = "us-east-1\neu-west-1\n";
    let endpoints = env.registry_endpoints_arg().replace(',', "\n");
    let mut cmd = ecr_fanout(&env);
    cmd.arg("action")
        .envs(action_yml().input_env(&[
            ("regions", regions),
            ("repository", "team/web"),
            ("tags", "v1\nlatest\n"),
            ("image", &image),
            ("create-repository", "true"),
            ("registry-endpoints", &endpoints),
        ]))
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &outputs_path)
        .env("GITHUB_STEP_SUMMARY", &summary_path);
    let out = run(cmd).await;
    assert!(out.success(), "{out}");
    assert_tags_everywhere(&env, "team/web", &["v1", "latest"], &digest).await;

    let outputs = parse_runner_outputs(&std::fs::read_to_string(&outputs_path).unwrap());
    let images: BTreeMap<String, String> = TWO_REGIONS
        .iter()
        .map(|r| (r.to_string(), pinned_uri(r, "team/web", &digest)))
        .collect();
    let hosts: BTreeMap<String, String> = TWO_REGIONS
        .iter()
        .map(|r| {
            (
                r.to_string(),
                format!("{ACCOUNT}.dkr.ecr.{r}.amazonaws.com"),
            )
        })
        .collect();
    let names: Vec<&str> = outputs.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "bytes-uploaded",
            "destinations",
            "digest",
            "image",
            "image-eu-west-1",
            "image-us-east-1",
            "images",
            "platforms",
            "regions",
            "registries",
            "registry",
            "source",
            "tags",
            "task-definitions",
        ]
    );
    assert_eq!(outputs["digest"], digest);
    assert_eq!(outputs["image"], images["us-east-1"]);
    assert_eq!(json_of(&outputs["images"]), json!(images));
    assert_eq!(outputs["image-us-east-1"], images["us-east-1"]);
    assert_eq!(outputs["image-eu-west-1"], images["eu-west-1"]);
    assert_eq!(json_of(&outputs["tags"]), json!(["v1", "latest"]));
    assert_eq!(json_of(&outputs["regions"]), json!(TWO_REGIONS));
    assert_eq!(json_of(&outputs["platforms"]), json!(["linux/amd64"]));
    assert_eq!(outputs["registry"], hosts["us-east-1"]);
    assert_eq!(json_of(&outputs["registries"]), json!(hosts));
    let destinations = json_of(&outputs["destinations"]);
    for (i, region) in TWO_REGIONS.iter().enumerate() {
        assert_eq!(
            destinations[i],
            json!({"id": region, "region": region, "registry_id": ACCOUNT,
                   "repository": "team/web", "registry": hosts[*region],
                   "image": images[*region], "status": "pushed"}),
            "{region}"
        );
    }
    assert_eq!(json_of(&outputs["task-definitions"]), json!({}));
    assert_eq!(
        outputs["bytes-uploaded"],
        (2 * blob_bytes(&image)).to_string()
    );

    let summary = std::fs::read_to_string(&summary_path).unwrap();
    assert!(summary.contains("| region | repository | image | bytes uploaded | time | status |"));
    for region in TWO_REGIONS {
        let row = format!(
            "| {region} | team/web | `{}` | {} |",
            images[region],
            blob_bytes(&image)
        );
        assert!(summary.contains(&row), "no row {row} in\n{summary}");
    }

    // The password is masked before it could appear anywhere else; stdout stays data.
    let password = moto_password("us-east-1");
    let mask = format!("::add-mask::{password}\n");
    let first = out
        .stderr
        .find(&password)
        .expect("no add-mask for the password");
    assert_eq!(
        first,
        out.stderr.find(&mask).unwrap() + "::add-mask::".len(),
        "{out}"
    );
    assert!(
        !out.stdout.contains("::"),
        "workflow commands on stdout:\n{}",
        out.stdout
    );
    for phase in ["plan", "phase 1", "verify", "phase 2"] {
        assert!(
            out.stderr
                .contains(&format!("::group::ecr-fanout: {phase}")),
            "no group for {phase}:\n{}",
            out.stderr
        );
    }
    assert_eq!(
        out.stderr.matches("::group::").count(),
        out.stderr.matches("::endgroup::").count()
    );
    // The phases' groups come in the order the phases run.
    let groups: Vec<usize> = ["plan", "phase 1", "verify", "phase 2"]
        .iter()
        .filter_map(|phase| out.stderr.find(&format!("::group::ecr-fanout: {phase}")))
        .collect();
    assert!(groups.is_sorted(), "groups out of order:\n{}", out.stderr);
}

#[tokio::test]
async fn misspelled_input_is_exit_2_naming_the_closest_and_writes_nothing() {
    let env = TestEnv::start(&["us-east-1"]).await;
    let (image, _) = single_manifest_image(&env, "typo");
    let (outputs_path, _) = work_file(&env, "github-output");
    let mut cmd = ecr_fanout(&env);
    cmd.arg("action")
        .envs(action_yml().input_env(&[
            ("regions", "us-east-1"),
            ("repository", "web"),
            ("tags", "v1"),
            ("image", &image),
            ("create-repository", "true"),
            ("registry-endpoints", &env.registry_endpoints_arg()),
        ]))
        .env("INPUT_REGISTRY_ENDPOINT", "us-east-1=http://127.0.0.1:1")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &outputs_path);
    let out = run(cmd).await;
    assert_eq!(out.status, 2, "{out}");
    assert!(
        out.stderr.contains(
            "unknown action input `registry_endpoint` (INPUT_REGISTRY_ENDPOINT); the closest \
             valid input is `registry-endpoints` (INPUT_REGISTRY-ENDPOINTS)"
        ),
        "{out}"
    );
    assert_stderr_says(
        &out,
        &["::error title=ecr-fanout%3A unknown action input::"],
    );
    assert!(out.stdout.is_empty(), "{out}");
    assert!(!outputs_path.exists());
    assert_nothing_written(&env).await;
}

#[tokio::test]
async fn refused_region_is_annotated_by_name() {
    let env = TestEnv::start(&TWO_REGIONS).await;
    env.create_repository("us-east-1", "web").await;
    let (image, _) = single_manifest_image(&env, "refused");
    let mut cmd = ecr_fanout(&env);
    cmd.arg("action")
        .envs(action_yml().input_env(&[
            ("regions", "us-east-1,eu-west-1"),
            ("repository", "web"),
            ("tags", "v1"),
            ("image", &image),
            ("registry-endpoints", &env.registry_endpoints_arg()),
        ]))
        .env("GITHUB_ACTIONS", "true");
    let out = run(cmd).await;
    assert_eq!(out.status, 2, "{out}");
    let annotations: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("::error "))
        .collect();
    assert_eq!(annotations.len(), 1, "{out}");
    assert!(
        annotations[0]
            .starts_with("::error title=ecr-fanout%3A eu-west-1 refused (repository web)::"),
        "{}",
        annotations[0]
    );
    assert!(
        annotations[0].contains("does not exist"),
        "{}",
        annotations[0]
    );
}

#[tokio::test]
async fn missing_id_token_permission_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let image = format!("oci:{}", repo_root().join("examples/hello").display());
    let mut cmd = bare_command(dir.path());
    cmd.arg("action")
        .envs(action_yml().input_env(&[
            ("regions", "us-east-1"),
            ("repository", "web"),
            ("tags", "v1"),
            ("image", &image),
        ]))
        .env("GITHUB_ACTIONS", "true");
    let out = run(cmd).await;
    assert_eq!(out.status, 1, "{out}");
    assert_stderr_says(
        &out,
        &[
            "no AWS credentials found",
            "cannot request an OIDC token; add `permissions: id-token: write`",
        ],
    );
}

/// The report's value an output must carry, as the output writes it (JSON compact); panics
/// for an output the test does not know, so a new output cannot go unchecked.
/// Basic scanning in `region`; the index's first platform has one LOW finding.
fn scan_platforms_with_one_low_finding(env: &TestEnv, image: &str, region: &str) {
    use crate::harness::scan_stand_in::{ImageScan, ScanKind, StandInFinding};
    let local = ecr_fanout::image::open_image(&image.parse().unwrap()).unwrap();
    let platforms = local.index_entries().unwrap().unwrap().platform_images;
    let scans = env.moto().scans();
    scans.set_scanning_type(region, ScanKind::Basic);
    for (n, platform) in platforms.iter().enumerate() {
        let findings = if n == 0 {
            vec![StandInFinding::new("CVE-2026-0003", "LOW")]
        } else {
            vec![]
        };
        scans.set_image(region, platform.digest.as_ref(), ImageScan::basic(findings));
    }
}

fn report_value_for(name: &str, report: &Value, regions: &[&str]) -> String {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    for region in regions {
        if name == format!("image-{region}") {
            let by_name = region_report(report, region)["image"].clone();
            assert_eq!(by_name, report["images"][region], "{name}");
            return text(&by_name);
        }
        if name == format!("task-definition-{region}") {
            return text(&report["task_definitions"][region]);
        }
    }
    let field = match name {
        "digest" | "image" | "images" | "tags" | "platforms" | "registry" | "registries"
        | "destinations" => name,
        "source" => {
            return report
                .get("source")
                .cloned()
                .unwrap_or(Value::Null)
                .to_string();
        }
        "task-definitions" => "task_definitions",
        "bytes-uploaded" => "bytes_uploaded",
        "scan-findings" => {
            let scanned: serde_json::Map<String, Value> = report["regions"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r.get("scan").is_some())
                .map(|r| (text(&r["id"]), r["scan"]["counts"].clone()))
                .collect();
            return Value::Object(scanned).to_string();
        }
        "regions" => {
            let names: Vec<&str> = regions
                .iter()
                .map(|r| region_report(report, r)["region"].as_str().unwrap())
                .collect();
            return json!(names).to_string();
        }
        other => panic!("output {other} has no counterpart in the report: check it here"),
    };
    text(&report[field])
}

#[tokio::test]
async fn a_real_push_to_three_regions_writes_every_output_as_the_report_says() {
    let env = TestEnv::start(&REGIONS).await;
    let (image, digest) = multi_platform_image(&env, "action-drift");
    scan_platforms_with_one_low_finding(&env, &image, "us-east-1");
    let (outputs_path, _) = work_file(&env, "github-output");
    let (task_path, task_arg) = work_file(&env, "task-definition.json");
    std::fs::write(
        &task_path,
        r#"{"family": "web", "containerDefinitions": [{"name": "app", "image": "x"}]}"#,
    )
    .unwrap();
    let runner_temp = env.path("runner-temp");
    std::fs::create_dir(&runner_temp).unwrap();
    let action = action_yml();
    let mut cmd = ecr_fanout(&env);
    cmd.arg("action")
        .envs(action.input_env(&[
            ("regions", &REGIONS.join("\n")),
            ("repository", "team/web"),
            ("tags", "v1,latest"),
            ("image", &image),
            ("create-repository", "true"),
            ("registry-endpoints", &env.registry_endpoints_arg()),
            ("ecs-task-definition", &task_arg),
            ("ecs-container-name", "app"),
            ("json", "true"),
            ("scan", "report"),
        ]))
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &outputs_path)
        .env("RUNNER_TEMP", &runner_temp);
    let out = run(cmd).await;
    assert!(out.success(), "{out}");
    let report = report(&out);
    let outputs = parse_runner_outputs(&std::fs::read_to_string(&outputs_path).unwrap());

    assert_outputs_declared(&action, &outputs, &REGIONS);
    for region in REGIONS {
        for family in ["image", "task-definition"] {
            let name = format!("{family}-{region}");
            assert!(outputs.contains_key(&name), "no output {name}: {outputs:?}");
        }
    }
    for (name, value) in &outputs {
        assert_eq!(
            *value,
            report_value_for(name, &report, &REGIONS),
            "output {name}"
        );
    }

    // The report itself against the registries and the image on disk.
    assert_eq!(report["digest"], digest.as_str());
    assert_eq!(
        report["bytes_uploaded"],
        REGIONS.len() as u64 * blob_bytes(&image)
    );
    assert_tags_everywhere(&env, "team/web", &["v1", "latest"], &digest).await;
    for region in env.regions() {
        let name = region.name();
        let uri = &outputs[&format!("image-{name}")];
        assert_eq!(*uri, pinned_uri(name, "team/web", &digest));
        let pinned = uri.rsplit_once('@').unwrap().1;
        assert_eq!(
            skopeo::manifest_digest(region, "team/web", pinned)
                .await
                .unwrap(),
            digest
        );
        let rendered: Value = serde_json::from_str(
            &std::fs::read_to_string(&outputs[&format!("task-definition-{name}")]).unwrap(),
        )
        .unwrap();
        assert_eq!(rendered["containerDefinitions"][0]["image"], uri.as_str());
    }
}
