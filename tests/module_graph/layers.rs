//! The layer order of CONTRIBUTING.md, "Module layers": a numbered list, lowest layer first,
//! each item opening with the backquoted names of its modules (`` 1. `error`, `secret`: … ``).
//! A module may import modules of its own layer or of lower ones.

use std::collections::BTreeSet;

use crate::graph::Edge;

/// The section heading the layers are read from.
const HEADING: &str = "## Module layers";

/// The layers, lowest first, each the modules it holds.
pub fn from_contributing(text: &str) -> Vec<Vec<String>> {
    let section = text
        .split_once(HEADING)
        .map(|(_, rest)| rest.split("\n## ").next().unwrap_or_default())
        .unwrap_or_default();
    section
        .lines()
        .filter_map(|line| {
            let (number, item) = line.trim_start().split_once(". ")?;
            number.parse::<u32>().ok()?;
            Some(leading_names(item))
        })
        .filter(|names| !names.is_empty())
        .collect()
}

/// `` `a`, `b` and `c`: text `` → `[a, b, c]`.
fn leading_names(item: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = item.trim_start();
    while let Some(after) = rest.strip_prefix('`') {
        let Some((name, tail)) = after.split_once('`') else {
            break;
        };
        names.push(name.to_string());
        rest = tail
            .trim_start_matches([',', ' '])
            .trim_start_matches("and ")
            .trim_start();
    }
    names
}

fn layer_of(layers: &[Vec<String>], module: &str) -> Option<usize> {
    layers.iter().position(|l| l.iter().any(|m| m == module))
}

/// The edges that go from a module to one of a higher layer.
pub fn upward_edges(layers: &[Vec<String>], edges: &[Edge]) -> Vec<Edge> {
    edges
        .iter()
        .filter(
            |e| match (layer_of(layers, &e.from), layer_of(layers, &e.to)) {
                (Some(from), Some(to)) => to > from,
                _ => false,
            },
        )
        .cloned()
        .collect()
}

/// Modules missing from the layers, named twice, or named but absent from `src/`.
pub fn placement_problems(layers: &[Vec<String>], modules: &BTreeSet<String>) -> Vec<String> {
    let mut problems = Vec::new();
    if layers.is_empty() {
        problems.push(format!(
            "CONTRIBUTING.md has no numbered list under \"{HEADING}\""
        ));
    }
    for module in modules {
        let count = layers.iter().flatten().filter(|m| *m == module).count();
        if count != 1 {
            problems.push(format!(
                "module `{module}` (src/{module}) is in {count} layers of CONTRIBUTING.md, \
                 \"Module layers\"; give it exactly one"
            ));
        }
    }
    for name in layers.iter().flatten() {
        if !modules.contains(name) {
            problems.push(format!(
                "CONTRIBUTING.md, \"Module layers\", names `{name}`, which is not a module in src/"
            ));
        }
    }
    problems
}
