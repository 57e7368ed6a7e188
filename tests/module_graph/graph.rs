//! The module graph of `src/`: which top-level module imports which, and within one top-level
//! module which submodule imports which sibling. Built from [`SourceFile`]s so that the checks
//! can run on the real tree and on small made-up trees alike.
//!
//! A submodule's `super::Item` counts as an import of the sibling that defines `Item` when the
//! module root re-exports it (`pub use plan::RegionPlan` in `fanout/mod.rs`), else of the root
//! itself. The root owns its children: its imports of them are not edges of the sibling graph.

use std::collections::{BTreeMap, BTreeSet};

use crate::source::{self, PathRef};

/// One file under `src/`: its path relative to `src/` (`fanout/plan.rs`) and its text.
pub struct SourceFile {
    pub path: String,
    pub text: String,
}

/// The node of a module root in a sibling graph (`fanout/mod.rs`'s own items).
pub const ROOT: &str = "(mod.rs)";

/// `from` imports `to`, at `file:line`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub file: String,
    pub line: usize,
}

impl std::fmt::Display for Edge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} -> {}   (src/{}:{})",
            self.from, self.to, self.file, self.line
        )
    }
}

/// Every edge: between top-level modules, and per top-level module between its submodules.
#[derive(Default)]
pub struct ModuleGraph {
    pub top_level: Vec<Edge>,
    pub submodules: BTreeMap<String, Vec<Edge>>,
    /// Every top-level module (a `src/x.rs` or `src/x/` under the crate root).
    pub modules: BTreeSet<String>,
}

/// What a file is: its top-level module and, for a file inside a module folder, its submodule.
struct FileModule {
    top: String,
    sub: Option<String>,
}

impl ModuleGraph {
    /// The graph of `files`; `main.rs`, `lib.rs` and test files (`*_tests.rs`, `*/tests.rs`) are
    /// not part of it.
    pub fn build(files: &[SourceFile]) -> Self {
        let mut graph = Self::default();
        let parsed: Vec<(&SourceFile, FileModule, String)> = files
            .iter()
            .filter_map(|f| file_module(&f.path).map(|m| (f, m, source::code_only(&f.text))))
            .collect();
        graph.modules = parsed.iter().map(|(_, m, _)| m.top.clone()).collect();
        let children = children_by_module(&parsed);
        let reexports = reexports_by_module(&parsed, &children);
        for (file, module, code) in &parsed {
            for reference in source::path_refs(code) {
                graph.add(file, module, &reference, &children, &reexports);
            }
        }
        graph.top_level.sort();
        graph.top_level.dedup();
        for edges in graph.submodules.values_mut() {
            edges.sort();
            edges.dedup();
        }
        graph
    }

    fn add(
        &mut self,
        file: &SourceFile,
        module: &FileModule,
        reference: &PathRef,
        children: &BTreeMap<String, BTreeSet<String>>,
        reexports: &BTreeMap<String, BTreeMap<String, String>>,
    ) {
        let segments = &reference.segments;
        let (Some(first), rest) = (segments.first(), segments.get(1..).unwrap_or_default()) else {
            return;
        };
        // What the path is relative to: the crate root, or the file's top-level module.
        let from_crate_root = match (first.as_str(), &module.sub) {
            ("crate", _) | ("super", None) => true,
            ("super", Some(_)) if rest.first().is_some_and(|s| s == "super") => {
                return self.add(
                    file,
                    &FileModule {
                        top: module.top.clone(),
                        sub: None,
                    },
                    &PathRef {
                        segments: rest.to_vec(),
                        line: reference.line,
                    },
                    children,
                    reexports,
                );
            }
            ("super", Some(_)) => false,
            _ => return, // `self::` stays inside the file.
        };
        let within = if from_crate_root {
            let Some(target) = rest.first().filter(|t| self.modules.contains(*t)) else {
                return;
            };
            if *target != module.top {
                self.top_level
                    .push(edge(&module.top, target, file, reference.line));
                return;
            }
            &rest[1..]
        } else {
            rest
        };
        let Some(sub) = &module.sub else {
            return; // The root's imports of its own children.
        };
        let empty = BTreeSet::new();
        let siblings = children.get(&module.top).unwrap_or(&empty);
        let target = match within.first() {
            Some(name) if siblings.contains(name) => name.clone(),
            Some(name) => reexports
                .get(&module.top)
                .and_then(|r| r.get(name))
                .cloned()
                .unwrap_or_else(|| ROOT.to_string()),
            None => ROOT.to_string(),
        };
        if target != *sub {
            self.submodules
                .entry(module.top.clone())
                .or_default()
                .push(edge(sub, &target, file, reference.line));
        }
    }
}

fn edge(from: &str, to: &str, file: &SourceFile, line: usize) -> Edge {
    Edge {
        from: from.to_string(),
        to: to.to_string(),
        file: file.path.clone(),
        line,
    }
}

/// `config/raw.rs` → (`config`, `raw`); `config/mod.rs` and `error.rs` → no submodule.
fn file_module(path: &str) -> Option<FileModule> {
    let path = path.strip_suffix(".rs")?;
    if path.ends_with("_tests") || path.ends_with("/tests") || path == "main" || path == "lib" {
        return None;
    }
    let mut parts = path.split('/');
    let top = parts.next()?.to_string();
    let sub = match (parts.next(), parts.next()) {
        (None, _) | (Some("mod"), None) => None,
        (Some(sub), None) => Some(sub.to_string()),
        (Some(_), Some(_)) => return None, // deeper folders: none today
    };
    Some(FileModule { top, sub })
}

fn children_by_module(
    parsed: &[(&SourceFile, FileModule, String)],
) -> BTreeMap<String, BTreeSet<String>> {
    let mut children: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (_, module, _) in parsed {
        if let Some(sub) = &module.sub {
            children
                .entry(module.top.clone())
                .or_default()
                .insert(sub.clone());
        }
    }
    children
}

/// Per module root: each name it re-exports from a child, and that child.
fn reexports_by_module(
    parsed: &[(&SourceFile, FileModule, String)],
    children: &BTreeMap<String, BTreeSet<String>>,
) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut reexports: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (_, module, code) in parsed {
        if module.sub.is_some() {
            continue;
        }
        let Some(own_children) = children.get(&module.top) else {
            continue;
        };
        for path in source::relative_reexports(code) {
            let (Some(child), Some(name)) = (path.first(), path.last()) else {
                continue;
            };
            if own_children.contains(child) && path.len() > 1 {
                reexports
                    .entry(module.top.clone())
                    .or_default()
                    .insert(name.clone(), child.clone());
            }
        }
    }
    reexports
}

/// Every distinct shortest cycle among `edges`, each as its modules in order, the first
/// repeated at the end (`[a, b, a]`): one per edge that lies on a cycle, duplicates removed.
pub fn cycles(edges: &[Edge]) -> Vec<Vec<String>> {
    let mut found: Vec<Vec<String>> = Vec::new();
    for edge in edges {
        let Some(back) = shortest_path(edges, &edge.to, &edge.from) else {
            continue;
        };
        let mut cycle = vec![edge.from.clone()];
        cycle.extend(back);
        // The same cycle found from another of its edges starts elsewhere: rotate it so that
        // it starts at its smallest module.
        let ring = &cycle[..cycle.len() - 1];
        let start = (0..ring.len()).min_by_key(|i| &ring[*i]).unwrap_or(0);
        let mut rotated: Vec<String> = ring[start..]
            .iter()
            .chain(&ring[..start])
            .cloned()
            .collect();
        rotated.push(rotated[0].clone());
        if !found.contains(&rotated) {
            found.push(rotated);
        }
    }
    found.sort();
    found
}

/// The modules on a shortest path from `from` to `to`, both included.
fn shortest_path(edges: &[Edge], from: &str, to: &str) -> Option<Vec<String>> {
    let mut previous: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([from]);
    let mut seen = BTreeSet::from([from]);
    while let Some(node) = queue.pop_front() {
        if node == to {
            let mut path = vec![to.to_string()];
            let mut at = to;
            while let Some(before) = previous.get(at) {
                path.push(before.to_string());
                at = before;
            }
            path.reverse();
            return Some(path);
        }
        for e in edges.iter().filter(|e| e.from == node) {
            if seen.insert(e.to.as_str()) {
                previous.insert(e.to.as_str(), node);
                queue.push_back(e.to.as_str());
            }
        }
    }
    None
}
