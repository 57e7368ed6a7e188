//! Several regions' failures as one error message. Regions that failed for the same cause are
//! named once, on one line with their list (`repository team-a/web does not exist in 15
//! regions: us-east-1, …; hint: …`); the first line, what a red CI log shows, is the cause most
//! regions share and stays under [`FIRST_LINE_MAX`] characters (the hint, then the list, move to
//! lines of their own when a long cause leaves no room); then one line per other cause, and a
//! last line saying what it means for the run. A single failure keeps its own
//! words: `region eu-west-1, repository web: …; <consequence>`.

/// The longest a grouped line may be, in characters.
pub const FIRST_LINE_MAX: usize = 299;

/// One region's failure, as its error reads (it starts with the region, as
/// `region R, repository X: …` or `region R: …`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegionFailure {
    pub region: String,
    pub message: String,
}

impl RegionFailure {
    pub fn new(region: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            region: region.into(),
            message: message.into(),
        }
    }

    /// What went wrong without naming this region: the leading `region R, ` or `region R: `
    /// dropped, other mentions of R (inside host names) read `REGION`; and the hint apart.
    fn cause(&self) -> Cause {
        let region = self.region.as_str();
        let text = self.message.as_str();
        let text = text
            .strip_prefix(&format!("region {region}, "))
            .or_else(|| text.strip_prefix(&format!("region {region}: ")))
            .unwrap_or(text)
            .replace(region, "REGION");
        match split_hint(&text) {
            Some((what, hint)) => Cause {
                what,
                hint: Some(hint),
            },
            None => Cause {
                what: text,
                hint: None,
            },
        }
    }
}

/// A failure's cause, shared by every region it happened in.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Cause {
    what: String,
    hint: Option<String>,
}

/// The error message for `failures` (at least one), ending with `consequence`.
pub fn grouped_message(failures: &[RegionFailure], consequence: &str) -> String {
    if let [only] = failures {
        return format!("{}; {consequence}", only.message);
    }
    let mut lines: Vec<String> = group_by_cause(failures)
        .into_iter()
        .flat_map(|(cause, members)| match members.as_slice() {
            [one] => vec![one.message.clone()],
            _ => group_lines(&cause, &members),
        })
        .collect();
    lines.push(consequence.to_string());
    lines.join("\n")
}

/// Failures by cause, the cause most regions share first (ties in the order they came).
fn group_by_cause(failures: &[RegionFailure]) -> Vec<(Cause, Vec<&RegionFailure>)> {
    let mut groups: Vec<(Cause, Vec<&RegionFailure>)> = Vec::new();
    for failure in failures {
        let cause = failure.cause();
        match groups.iter_mut().find(|(c, _)| *c == cause) {
            Some((_, members)) => members.push(failure),
            None => groups.push((cause, vec![failure])),
        }
    }
    groups.sort_by_key(|(_, members)| std::cmp::Reverse(members.len()));
    groups
}

/// `CAUSE in N regions: a, b, c; hint: HINT` when that fits in [`FIRST_LINE_MAX`]; else the
/// hint goes to a line of its own, and when the regions still do not fit, they do too.
fn group_lines(cause: &Cause, members: &[&RegionFailure]) -> Vec<String> {
    let regions: Vec<&str> = members.iter().map(|m| m.region.as_str()).collect();
    let head = format!("{} in {} regions", cause.what, regions.len());
    let listed = format!("{head}: {}", regions.join(", "));
    let hint_line = cause.hint.as_ref().map(|h| format!("hint: {h}"));
    let fits = |line: &str| line.chars().count() <= FIRST_LINE_MAX;
    let inline = match &cause.hint {
        Some(hint) => format!("{listed}; hint: {hint}"),
        None => listed.clone(),
    };
    if fits(&inline) {
        return vec![inline];
    }
    let mut lines = if fits(&listed) {
        vec![listed]
    } else {
        vec![head, format!("regions: {}", regions.join(", "))]
    };
    lines.extend(hint_line);
    lines
}

/// `what (hint: HINT) rest` → (`what rest`, `HINT`), parentheses inside the hint kept.
fn split_hint(text: &str) -> Option<(String, String)> {
    const OPEN: &str = " (hint: ";
    let start = text.find(OPEN)?;
    let body = &text[start + OPEN.len()..];
    let mut depth = 1;
    let end = body.char_indices().find_map(|(at, c)| {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        (depth == 0).then_some(at)
    })?;
    let what = format!("{}{}", &text[..start], &body[end + 1..]);
    Some((what, body[..end].to_string()))
}

#[cfg(test)]
mod tests;
