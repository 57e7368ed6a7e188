//! Reading one source file for the module graph: blank out comments, string and character
//! literals and `#[cfg(test)]` items (keeping line breaks, so line numbers stay true), then
//! collect every `crate::`, `super::` and `self::` path with the line it is on. A `use` tree
//! (`use crate::{a, b::{c, d}}`) becomes one path per leaf.

/// A path the code names, split into segments, with its 1-based line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathRef {
    pub segments: Vec<String>,
    pub line: usize,
}

/// The code of `text` without comments, literals or test-only items.
pub fn code_only(text: &str) -> String {
    without_test_items(&without_comments_and_literals(text))
}

/// Every `crate::…`, `super::…` and `self::…` path in `code` (as returned by [`code_only`]).
pub fn path_refs(code: &str) -> Vec<PathRef> {
    let chars: Vec<char> = code.chars().collect();
    let mut refs = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let starts_word = i == 0 || !is_ident(chars[i - 1]) && chars[i - 1] != '$';
        let word = ["crate", "super", "self"]
            .into_iter()
            .find(|w| starts_word && starts_with(&chars, i, &format!("{w}::")));
        let Some(word) = word else {
            i += 1;
            continue;
        };
        let line = 1 + chars[..i].iter().filter(|c| **c == '\n').count();
        let mut parser = TreeParser {
            chars: &chars,
            at: i,
        };
        let mut paths = Vec::new();
        parser.tree(Vec::new(), &mut paths);
        refs.extend(paths.into_iter().map(|segments| PathRef { segments, line }));
        i = parser.at.max(i + word.len());
    }
    refs
}

/// Paths of a `pub use` in `code` whose first segment is not `crate`, `super` or `self` (a
/// module root re-exporting its children: `pub use plan::{RegionPlan, TagPlan}`).
pub fn relative_reexports(code: &str) -> Vec<Vec<String>> {
    let chars: Vec<char> = code.chars().collect();
    let mut paths = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let starts_word = i == 0 || !is_ident(chars[i - 1]);
        if starts_word && starts_with(&chars, i, "pub use ") {
            let mut parser = TreeParser {
                chars: &chars,
                at: i + "pub use ".len(),
            };
            parser.tree(Vec::new(), &mut paths);
            i = parser.at;
        } else {
            i += 1;
        }
    }
    paths.retain(|p| {
        !matches!(
            p.first().map(String::as_str),
            Some("crate" | "super" | "self")
        )
    });
    paths
}

/// A recursive-descent reader of a path or `use` tree.
struct TreeParser<'a> {
    chars: &'a [char],
    at: usize,
}

impl TreeParser<'_> {
    fn tree(&mut self, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
        let mut path = prefix;
        loop {
            self.skip_space();
            if self.peek() == Some('{') {
                self.at += 1;
                self.group(&path, out);
                return;
            }
            let Some(ident) = self.ident() else {
                // `*`, or the end of the path.
                out.push(path);
                return;
            };
            if ident != "self" || path.is_empty() {
                path.push(ident);
            }
            self.skip_space();
            if starts_with(self.chars, self.at, "::") {
                self.at += 2;
            } else {
                out.push(path);
                return;
            }
        }
    }

    fn group(&mut self, prefix: &[String], out: &mut Vec<Vec<String>>) {
        loop {
            self.skip_space();
            match self.peek() {
                None => return,
                Some('}') => {
                    self.at += 1;
                    return;
                }
                Some(',') => self.at += 1,
                Some(_) => {
                    let before = self.at;
                    self.tree(prefix.to_vec(), out);
                    self.skip_to_separator();
                    if self.at == before {
                        self.at += 1;
                    }
                }
            }
        }
    }

    /// Skips `as NAME` or `*` up to the next `,` or `}` of the group.
    fn skip_to_separator(&mut self) {
        while let Some(c) = self.peek() {
            if c == ',' || c == '}' {
                return;
            }
            self.at += 1;
        }
    }

    fn ident(&mut self) -> Option<String> {
        let start = self.at;
        while self.peek().is_some_and(is_ident) {
            self.at += 1;
        }
        (self.at > start).then(|| self.chars[start..self.at].iter().collect())
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.at += 1;
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn starts_with(chars: &[char], at: usize, text: &str) -> bool {
    (at..)
        .zip(text.chars())
        .all(|(i, expected)| chars.get(i) == Some(&expected))
}

/// `text` with comments, strings and character literals replaced by spaces (line breaks kept).
fn without_comments_and_literals(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < chars.len() {
        let end = literal_end(&chars, i);
        if end > i {
            out.extend(chars[i..end].iter().map(|c| blank(*c)));
            i = end;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// Where the comment or literal that starts at `i` ends; `i` when none starts there.
fn literal_end(chars: &[char], i: usize) -> usize {
    let at = |k: usize| chars.get(k).copied();
    let after_ident = i > 0 && is_ident(chars[i - 1]);
    match (at(i), at(i + 1)) {
        (Some('/'), Some('/')) => (i..chars.len())
            .find(|k| chars[*k] == '\n')
            .unwrap_or(chars.len()),
        (Some('/'), Some('*')) => block_comment_end(chars, i),
        (Some('"'), _) => quoted_end(chars, i + 1, '"'),
        (Some('r'), Some('"' | '#')) if !after_ident => raw_string_end(chars, i + 1).unwrap_or(i),
        (Some('b'), Some('"')) if !after_ident => quoted_end(chars, i + 2, '"'),
        (Some('\''), Some('\\')) => quoted_end(chars, i + 1, '\''),
        (Some('\''), Some(_)) if at(i + 2) == Some('\'') => i + 3,
        _ => i,
    }
}

fn block_comment_end(chars: &[char], start: usize) -> usize {
    let mut depth = 0;
    let mut k = start;
    while k + 1 < chars.len() {
        if chars[k] == '/' && chars[k + 1] == '*' {
            depth += 1;
            k += 2;
        } else if chars[k] == '*' && chars[k + 1] == '/' {
            depth -= 1;
            k += 2;
            if depth == 0 {
                return k;
            }
        } else {
            k += 1;
        }
    }
    chars.len()
}

/// The end of a literal whose body starts at `body` and ends at an unescaped `close`.
fn quoted_end(chars: &[char], body: usize, close: char) -> usize {
    let mut k = body;
    while k < chars.len() {
        match chars[k] {
            '\\' => k += 2,
            c if c == close => return k + 1,
            _ => k += 1,
        }
    }
    chars.len()
}

/// `r"…"`, `r#"…"#`: `hashes_at` is just after the `r`.
fn raw_string_end(chars: &[char], hashes_at: usize) -> Option<usize> {
    let hashes = chars[hashes_at..].iter().take_while(|c| **c == '#').count();
    if chars.get(hashes_at + hashes) != Some(&'"') {
        return None;
    }
    let closing: Vec<char> = std::iter::once('"')
        .chain(std::iter::repeat_n('#', hashes))
        .collect();
    let body = hashes_at + hashes + 1;
    (body..chars.len())
        .find(|k| chars[*k..].starts_with(&closing))
        .map(|k| k + closing.len())
        .or(Some(chars.len()))
}

/// `code` with every item under `#[cfg(test)]` blanked: up to its `;`, or its `{ … }` block.
fn without_test_items(code: &str) -> String {
    const MARK: &str = "#[cfg(test)]";
    let mut chars: Vec<char> = code.chars().collect();
    let mark: Vec<char> = MARK.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i..].starts_with(&mark) {
            i += 1;
            continue;
        }
        let end = item_end(&chars, i + mark.len());
        for c in &mut chars[i..end] {
            if *c != '\n' {
                *c = ' ';
            }
        }
        i = end;
    }
    chars.into_iter().collect()
}

/// The end of the item that starts at `from`: after its first `;` or its balanced `{ … }`.
fn item_end(chars: &[char], from: usize) -> usize {
    let mut depth = 0usize;
    for (k, c) in chars.iter().enumerate().skip(from) {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth = depth.saturating_sub(1),
            ';' if depth == 0 => return k + 1,
            '{' if depth == 0 => return block_end(chars, k),
            _ => {}
        }
    }
    chars.len()
}

fn block_end(chars: &[char], open: usize) -> usize {
    let mut depth = 0usize;
    for (k, c) in chars.iter().enumerate().skip(open) {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return k + 1;
                }
            }
            _ => {}
        }
    }
    chars.len()
}
