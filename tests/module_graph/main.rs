//! The module graph test: dependencies between the modules of `src/` point one way. Fails on
//! a cycle between top-level modules, on a cycle between the submodules of one top-level
//! module, and on an import from a lower layer to a higher one, in the order of
//! CONTRIBUTING.md, "Module layers". Every failure lists the offending edges with file and line.
//! Test code (`#[cfg(test)]` items, `*_tests.rs` and `*/tests.rs` files) is not part of the graph.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod graph;
mod layers;
mod source;

use std::path::Path;

use graph::{Edge, ModuleGraph, SourceFile};

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");

fn crate_sources() -> Vec<SourceFile> {
    let root = Path::new(MANIFEST_DIR).join("src");
    let mut files = Vec::new();
    let mut folders = vec![root.clone()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(&root).unwrap();
                files.push(SourceFile {
                    path: relative.to_string_lossy().replace('\\', "/"),
                    text: std::fs::read_to_string(&path).unwrap(),
                });
            }
        }
    }
    files
}

/// Every source file, tests included, opens with a `//!` line saying what it holds, and
/// modules are found where Rust looks for them (no `#[path]`).
#[test]
fn every_file_has_a_doc_line_and_no_path_attribute() {
    let mut wrong = Vec::new();
    for file in crate_sources() {
        if !file.text.starts_with("//!") {
            wrong.push(format!("src/{}: does not open with a //! line", file.path));
        }
        if file.text.contains("#[path") {
            wrong.push(format!("src/{}: a #[path] attribute", file.path));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

fn crate_layers() -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(Path::new(MANIFEST_DIR).join("CONTRIBUTING.md")).unwrap();
    layers::from_contributing(&text)
}

fn listing(edges: &[Edge]) -> String {
    edges
        .iter()
        .map(|e| format!("    {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The failure text for every cycle among `edges`, or `None`: each cycle as a chain of
/// modules, then the imports that make each step, with file and line.
fn cycle_report(scope: &str, edges: &[Edge]) -> Option<String> {
    let cycles = graph::cycles(edges);
    (!cycles.is_empty()).then(|| {
        cycles
            .iter()
            .map(|cycle| {
                let steps: Vec<Edge> = cycle
                    .windows(2)
                    .flat_map(|w| edges.iter().filter(|e| e.from == w[0] && e.to == w[1]))
                    .cloned()
                    .collect();
                format!(
                    "import cycle {scope}: {}\n{}",
                    cycle.join(" -> "),
                    listing(&steps)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    })
}

fn submodule_cycle_reports(graph: &ModuleGraph) -> Vec<String> {
    graph
        .submodules
        .iter()
        .filter_map(|(module, edges)| cycle_report(&format!("inside `{module}`"), edges))
        .collect()
}

#[test]
fn no_cycle_between_top_level_modules() {
    let graph = ModuleGraph::build(&crate_sources());
    if let Some(report) = cycle_report("between top-level modules", &graph.top_level) {
        panic!("{report}");
    }
}

#[test]
fn no_cycle_between_the_submodules_of_a_module() {
    let graph = ModuleGraph::build(&crate_sources());
    let reports = submodule_cycle_reports(&graph);
    assert!(reports.is_empty(), "{}", reports.join("\n"));
}

#[test]
fn no_import_from_a_lower_layer_to_a_higher_one() {
    let graph = ModuleGraph::build(&crate_sources());
    let upward = layers::upward_edges(&crate_layers(), &graph.top_level);
    assert!(
        upward.is_empty(),
        "imports from a lower layer to a higher one (CONTRIBUTING.md, \"Module layers\"):\n{}",
        listing(&upward)
    );
}

#[test]
fn every_top_level_module_has_exactly_one_layer() {
    let graph = ModuleGraph::build(&crate_sources());
    let problems = layers::placement_problems(&crate_layers(), &graph.modules);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Checks of the checker itself, on made-up trees.
mod checker {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> ModuleGraph {
        let files: Vec<SourceFile> = files
            .iter()
            .map(|(path, text)| SourceFile {
                path: path.to_string(),
                text: text.to_string(),
            })
            .collect();
        ModuleGraph::build(&files)
    }

    #[test]
    fn the_engine_importing_output_is_an_upward_edge_and_a_cycle() {
        let graph = tree(&[
            ("fanout/mod.rs", "mod upload;\npub use upload::Report;\n"),
            (
                "fanout/upload.rs",
                "//! Uploads.\n\nuse crate::output::progress::{self, Bars};\n",
            ),
            ("output/mod.rs", "use crate::fanout::Report;\n"),
        ]);
        let upward = layers::upward_edges(&crate_layers(), &graph.top_level);
        let shown = listing(&upward);
        assert!(
            shown.contains("fanout -> output   (src/fanout/upload.rs:3)"),
            "{shown}"
        );
        let cycle = cycle_report("between top-level modules", &graph.top_level).unwrap();
        assert!(
            cycle.contains("output -> fanout   (src/output/mod.rs:1)"),
            "{cycle}"
        );
    }

    #[test]
    fn sibling_cycles_follow_reexports_of_the_module_root() {
        let graph = tree(&[
            (
                "fanout/mod.rs",
                "mod plan;\nmod report;\npub use plan::{RegionPlan, TagPlan as Tags};\n\
                 pub use report::Report;\nfn combine() {}\n",
            ),
            (
                "fanout/plan.rs",
                "use super::Report;\nuse super::combine;\n",
            ),
            ("fanout/report.rs", "fn f(p: &super::plan::RegionPlan) {}\n"),
        ]);
        let reports = submodule_cycle_reports(&graph);
        assert_eq!(reports.len(), 1, "{reports:?}");
        assert!(reports[0].contains("plan -> report   (src/fanout/plan.rs:1)"));
        assert!(reports[0].contains("report -> plan   (src/fanout/report.rs:1)"));
        assert!(!reports[0].contains(graph::ROOT), "{}", reports[0]);
    }

    #[test]
    fn test_code_comments_and_strings_are_not_imports() {
        let graph = tree(&[
            (
                "error.rs",
                "#[cfg(test)]\nmod tests {\n    use crate::config::X;\n}\n",
            ),
            (
                "secret.rs",
                "// crate::config::X\nconst A: &str = \"crate::config\";\n",
            ),
            (
                "image/mod.rs",
                "#[cfg(test)]\n#[path = \"a_tests.rs\"]\nmod tests;\n",
            ),
            ("image/a_tests.rs", "use crate::config::X;\n"),
            ("config/mod.rs", "use crate::error::InputError;\n"),
        ]);
        let froms: Vec<&str> = graph.top_level.iter().map(|e| e.from.as_str()).collect();
        assert_eq!(froms, ["config"]);
    }
}
