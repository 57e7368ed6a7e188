//! ECS task definitions rendered per destination (`ecs-task-definition`, `ecs-container-name`):
//! in a copy of the source file, the named containers' `image` becomes that destination's image
//! URI.
//! Every other field, known to ECS or not, is kept with its value and its place (serde_json's
//! `preserve_order`), so the copy differs from the source in `image` values only (and in
//! whitespace: it is written pretty-printed).
//!
//! The shape is the one aws-actions/amazon-ecs-deploy-task-definition reads: the flat
//! `RegisterTaskDefinition` input, as `aws ecs describe-task-definition --query taskDefinition`
//! prints it. The read-only fields describe-task-definition adds (`taskDefinitionArn`,
//! `revision`, `status`, `registeredAt`, …) are kept like any other field: that action removes
//! them itself before registering (docs/handoff.md, "ECS task definitions per region").

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::Value;

use crate::config::Config;
use crate::config::ci_environment::CiEnvironment;
use crate::config::handoff::EcsRendering;
use crate::error::InputError;
use crate::report::{Report, RunStatus};

const INPUT: &str = "ecs-task-definition";

/// One destination's source task definition, read and checked.
#[derive(Clone, Debug)]
pub struct TaskDefinitionSource {
    /// The destination's id.
    pub id: String,
    pub path: PathBuf,
    pub document: Value,
}

/// The task definitions `config` asks for, read and checked (none without
/// `ecs-task-definition`). `push` calls this before anything is written.
pub fn load_for(config: &Config) -> Result<Vec<TaskDefinitionSource>, InputError> {
    match &config.handoff.ecs {
        Some(ecs) => load_task_definitions(ecs),
        None => Ok(Vec::new()),
    }
}

/// After a successful push (not a dry run): writes every destination's rendered file into
/// [`output_dir`] (for `ci`'s `RUNNER_TEMP`) and records the paths in the report. A failure
/// marks the report failed.
pub fn render_into_report(
    sources: &[TaskDefinitionSource],
    config: &Config,
    report: &mut Report,
    ci: &CiEnvironment,
) -> anyhow::Result<()> {
    let Some(ecs) = config.handoff.ecs.as_ref().filter(|_| !config.dry_run) else {
        return Ok(());
    };
    let written = output_dir(ci.runner_temp())
        .and_then(|dir| write_rendered(sources, &ecs.container_names, report, &dir));
    match written {
        Ok(paths) => {
            report.task_definitions = paths;
            Ok(())
        }
        Err(e) => {
            report.status = RunStatus::Failed;
            report.error = Some(format!("{e:#}"));
            Err(e)
        }
    }
}

/// Reads and checks every source file; called before anything is pushed, so that a bad file
/// or a container name that is not in it is an input error (exit 2).
pub fn load_task_definitions(ecs: &EcsRendering) -> Result<Vec<TaskDefinitionSource>, InputError> {
    let mut loaded: Vec<TaskDefinitionSource> = Vec::with_capacity(ecs.sources.len());
    for (id, path) in &ecs.sources {
        let document = match loaded.iter().find(|s| s.path == *path) {
            Some(same_file) => same_file.document.clone(),
            None => read_task_definition(path)?,
        };
        check_containers(&document, &ecs.container_names)
            .map_err(|m| InputError::new("ecs-container-name", format!("{m} ({id})")))?;
        loaded.push(TaskDefinitionSource {
            id: id.clone(),
            path: path.clone(),
            document,
        });
    }
    Ok(loaded)
}

fn read_task_definition(path: &Path) -> Result<Value, InputError> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| InputError::new(INPUT, format!("cannot read '{shown}': {e}")))?;
    let document: Value = serde_json::from_str(&text)
        .map_err(|e| InputError::new(INPUT, format!("'{shown}' is not valid JSON: {e}")))?;
    if !document.is_object() {
        return Err(InputError::new(
            INPUT,
            format!("'{shown}' is not a JSON object (a task definition)"),
        ));
    }
    if document
        .get("containerDefinitions")
        .is_none_or(|c| !c.is_array())
    {
        let hint = if document.get("taskDefinition").is_some() {
            "; it looks like `aws ecs describe-task-definition` output: save it with \
             `--query taskDefinition`"
        } else {
            ""
        };
        return Err(InputError::new(
            INPUT,
            format!("'{shown}' has no \"containerDefinitions\" list{hint}"),
        ));
    }
    Ok(document)
}

/// The `name` of every container definition, in file order.
pub fn container_names(document: &Value) -> Vec<&str> {
    containers(document)
        .filter_map(|c| c.get("name").and_then(Value::as_str))
        .collect()
}

fn containers(document: &Value) -> impl Iterator<Item = &Value> {
    document
        .get("containerDefinitions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// Every wanted name must be a container of the document; the error lists the ones that are.
pub fn check_containers(document: &Value, wanted: &[String]) -> Result<(), String> {
    let present = container_names(document);
    match wanted.iter().find(|w| !present.contains(&w.as_str())) {
        None => Ok(()),
        Some(missing) if present.is_empty() => Err(format!(
            "container '{missing}' is not in the task definition, which names no containers"
        )),
        Some(missing) => Err(format!(
            "container '{missing}' is not in the task definition; its containers are: {}",
            present.join(", ")
        )),
    }
}

/// The task definition with each wanted container's `image` set to `image_uri` (added at the
/// end of the container when it had none), pretty-printed with a final newline.
pub fn render(document: &Value, wanted: &[String], image_uri: &str) -> anyhow::Result<String> {
    let mut rendered = document.clone();
    let definitions = rendered
        .get_mut("containerDefinitions")
        .and_then(Value::as_array_mut)
        .context("internal: task definition without containerDefinitions")?;
    for container in definitions.iter_mut().filter_map(Value::as_object_mut) {
        let named = container.get("name").and_then(Value::as_str);
        if named.is_some_and(|name| wanted.iter().any(|w| w == name)) {
            container.insert("image".to_string(), Value::String(image_uri.to_string()));
        }
    }
    let mut text = serde_json::to_string_pretty(&rendered).context("serialize task definition")?;
    text.push('\n');
    Ok(text)
}

/// Where rendered files go: `$RUNNER_TEMP/ecr-fanout` on a GitHub runner (`runner_temp`, like
/// the render action), otherwise `ecr-fanout-task-definitions` in the working directory (so
/// that a GitLab job can keep it as an artifact). Absolute.
pub fn output_dir(runner_temp: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let dir = match runner_temp {
        Some(temp) => temp.join("ecr-fanout"),
        None => PathBuf::from("ecr-fanout-task-definitions"),
    };
    std::path::absolute(&dir).with_context(|| format!("resolve {}", dir.display()))
}

/// Renders each destination's file with the report's URI for it into `dir` as
/// `<source stem>-<id>.json`; returns id → path.
pub fn write_rendered(
    sources: &[TaskDefinitionSource],
    containers: &[String],
    report: &Report,
    dir: &Path,
) -> anyhow::Result<BTreeMap<String, String>> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("create task definition directory {}", dir.display()))?;
    let mut written = BTreeMap::new();
    for source in sources {
        let uri = report
            .images
            .get(&source.id)
            .with_context(|| format!("internal: no image URI for destination {}", source.id))?;
        let stem = source
            .path
            .file_stem()
            .map_or("task-definition".into(), |s| s.to_string_lossy());
        let path = dir.join(format!("{stem}-{}.json", source.id));
        let text = render(&source.document, containers, uri)?;
        std::fs::write(&path, text).with_context(|| {
            format!(
                "destination {}: write task definition {}",
                source.id,
                path.display()
            )
        })?;
        written.insert(source.id.clone(), path.display().to_string());
    }
    Ok(written)
}

#[cfg(test)]
mod tests;
