//! User-facing text says what is true today, not how the project was made: no issue numbers,
//! no "the design" or "the contract", no seed projects, no paths to files users do not have.
//! Checked in README.md, CHANGELOG.md, CONTRIBUTING.md, docs/, action.yml, examples/, templates/
//! and every file of src/ (comments, help and error messages alike).

use std::path::{Path, PathBuf};

use crate::action_support::repo_root;

/// The phrases refused, lower-case; `0` stands for any digit.
const PROCESS_PHRASES: &[&str] = &[
    "issue 0",
    "issue #0",
    "issues 0",
    "the issue",
    "the design",
    "design's",
    "the contract",
    "../shared",
    "the seeds",
    "seeds'",
];

/// The first refused phrase in `line`, matched case-insensitively on word boundaries.
fn process_phrase(line: &str) -> Option<&'static str> {
    let lower = line.to_lowercase();
    let chars: Vec<char> = lower.chars().collect();
    PROCESS_PHRASES
        .iter()
        .copied()
        .find(|phrase| phrase_at_any(&chars, phrase))
}

fn phrase_at_any(text: &[char], phrase: &str) -> bool {
    let pattern: Vec<char> = phrase.chars().collect();
    let word = |c: &char| c.is_alphanumeric() || *c == '_';
    (0..text.len()).any(|start| {
        let end = start + pattern.len();
        end <= text.len()
            && pattern.iter().zip(&text[start..end]).all(|(p, c)| match p {
                '0' => c.is_ascii_digit(),
                _ => p == c,
            })
            && (start == 0 || !word(&text[start - 1]) || !pattern[0].is_alphabetic())
            && (end == text.len()
                || !word(&text[end])
                || !pattern[pattern.len() - 1].is_alphabetic())
    })
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn user_facing_files() -> Vec<PathBuf> {
    let root = repo_root();
    let mut files: Vec<PathBuf> = ["README.md", "CHANGELOG.md", "CONTRIBUTING.md", "action.yml"]
        .iter()
        .map(|name| root.join(name))
        .collect();
    for dir in ["docs", "examples", "templates", "src"] {
        files_under(&root.join(dir), &mut files);
    }
    files
}

#[test]
fn the_matcher_finds_process_words_and_spares_ordinary_ones() {
    for line in [
        "issue 6 asks for exit 1 there",
        "see Issue #17",
        "as the issue asks",
        "wins over the design's choice",
        "The contract, with defaults",
        "see ../shared/design.md",
        "the seeds' way",
    ] {
        assert!(process_phrase(line).is_some(), "{line}");
    }
    for line in [
        "the same seed gives the same bytes",
        "one was issued (the caller masks it)",
        "the tissue 5",
        "designated",
        "the contractor",
        "shared layers",
    ] {
        assert_eq!(process_phrase(line), None, "{line}");
    }
}

#[test]
fn user_facing_text_speaks_of_today() {
    let mut found = Vec::new();
    let mut checked = 0;
    for path in user_facing_files() {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue; // binary example layouts
        };
        checked += 1;
        for (number, line) in text.lines().enumerate() {
            if let Some(phrase) = process_phrase(line) {
                found.push(format!(
                    "{}:{}: `{phrase}`: {line}",
                    path.display(),
                    number + 1
                ));
            }
        }
    }
    assert!(checked > 100, "only {checked} files read");
    assert!(
        found.is_empty(),
        "user-facing text that speaks of how the project was made:\n{}",
        found.join("\n")
    );
}
