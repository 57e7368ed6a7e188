//! Every input, defined once: its name, kind of value, `action.yml` default, help text and
//! heading, the commands that take it and whether `targets` entries may carry it. The clap
//! command line (`cli`), the `INPUT_*` reader (`action_env`), the known-input lists and the
//! inputs a merge or a prebuilt image refuses are all derived from [`INPUTS`].

mod table;

pub use table::INPUTS;

/// The action input that picks the command; every other action input is one of a command's.
pub const COMMAND_INPUT: &str = "command";

/// What kind of value an input holds, which decides how its flag parses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// One value.
    Text,
    /// `true` or `false`; the bare flag means `true`.
    Bool,
    /// One item per line; the flag may be repeated, its values joined by newlines.
    Repeatable,
    /// A YAML list (inline or a file path); the value may start with `-`.
    YamlList,
}

/// The group an input is listed under in `--help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heading {
    Destinations,
    Image,
    Build,
    Repository,
    Gates,
    Outputs,
}

impl Heading {
    /// The heading as `--help` prints it.
    pub fn title(self) -> &'static str {
        match self {
            Self::Destinations => "Destinations",
            Self::Image => "Image",
            Self::Build => "Build",
            Self::Repository => "Repository",
            Self::Gates => "Verification and gates",
            Self::Outputs => "Outputs",
        }
    }
}

/// A subcommand that takes inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputCommand {
    Push,
    Merge,
    Verify,
}

impl InputCommand {
    /// Every command that takes inputs, in `--help` order.
    pub const ALL: [Self; 3] = [Self::Push, Self::Merge, Self::Verify];

    /// The subcommand's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Push => "push",
            Self::Merge => "merge",
            Self::Verify => "verify",
        }
    }
}

/// What a build input is refused beside a prebuilt `image` for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildRole {
    /// Not a build input, or one checked by its value (`builder`, `provenance`).
    None,
    /// Only means something for a build: refused when given beside `image`.
    BuildOnly,
    /// A build-push-action input: refused beside `image` unless `false`.
    Feature,
}

/// One input.
#[derive(Debug, Clone, Copy)]
pub struct InputSpec {
    /// The name, as the action, the flag (`--NAME`) and `targets` spell it.
    pub name: &'static str,
    pub kind: InputKind,
    /// The placeholder `--help` shows; the upper-cased name when `None`.
    pub value_name: Option<&'static str>,
    /// The `default:` of `action.yml`, a value the binary resolves exactly as absent.
    pub default: Option<&'static str>,
    pub heading: Heading,
    /// One line for `--help` (and `action.yml`'s description says the same in more words).
    pub help: &'static str,
    /// `verify --help`'s line where it differs from `help`.
    pub verify_help: Option<&'static str>,
    pub push: bool,
    pub merge: bool,
    pub verify: bool,
    /// Whether a `targets` entry may carry it, overriding the run's value.
    pub in_targets: bool,
    pub build_role: BuildRole,
}

impl InputSpec {
    /// Whether `command` takes this input.
    pub fn taken_by(&self, command: InputCommand) -> bool {
        match command {
            InputCommand::Push => self.push,
            InputCommand::Merge => self.merge,
            InputCommand::Verify => self.verify,
        }
    }

    /// Whether `command`'s command line parses this flag. Merge's also parses the inputs of
    /// push it refuses, so that the refusal says why (its image is the index over `sources`).
    pub fn parsed_by(&self, command: InputCommand) -> bool {
        self.taken_by(command) || (command == InputCommand::Merge && self.push)
    }

    /// The `--help` line for `command`.
    pub fn help_for(&self, command: InputCommand) -> &'static str {
        match (command, self.verify_help) {
            (InputCommand::Verify, Some(help)) => help,
            _ => self.help,
        }
    }
}

/// The definition of `name`, if it is an input.
pub fn spec(name: &str) -> Option<&'static InputSpec> {
    INPUTS.iter().find(|input| input.name == name)
}

/// The names of the inputs `command` takes, in table order.
pub fn inputs_of(command: InputCommand) -> impl Iterator<Item = &'static str> {
    INPUTS
        .iter()
        .filter(move |input| input.taken_by(command))
        .map(|input| input.name)
}

/// Every input the action declares: each command's, and [`COMMAND_INPUT`].
pub fn action_inputs() -> impl Iterator<Item = &'static str> {
    INPUTS
        .iter()
        .map(|input| input.name)
        .chain(std::iter::once(COMMAND_INPUT))
}

/// Inputs of `push` that make or name the image, which a merge does not take.
pub fn image_inputs() -> impl Iterator<Item = &'static str> {
    INPUTS
        .iter()
        .filter(|input| input.push && !input.merge)
        .map(|input| input.name)
}

/// Build inputs with the given role, in table order.
pub fn build_inputs(role: BuildRole) -> impl Iterator<Item = &'static str> {
    INPUTS
        .iter()
        .filter(move |input| input.build_role == role)
        .map(|input| input.name)
}

/// The inputs a `targets` entry may carry.
pub fn target_inputs() -> impl Iterator<Item = &'static str> {
    INPUTS
        .iter()
        .filter(|input| input.in_targets)
        .map(|input| input.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_every_input_has_a_command_and_help() {
        let mut names: Vec<&str> = action_inputs().collect();
        names.sort_unstable();
        let count = names.len();
        names.dedup();
        assert_eq!(names.len(), count, "an input is defined twice");
        for input in INPUTS {
            assert!(
                input.push || input.merge || input.verify,
                "{}: no command",
                input.name
            );
            assert!(
                !input.help.ends_with('.'),
                "{}: help ends in '.'",
                input.name
            );
        }
    }

    #[test]
    fn a_default_is_the_one_the_help_states() {
        for input in INPUTS {
            if let Some(default) = input.default {
                assert!(
                    input.help.contains(&format!("[default: {default}")),
                    "{}: help does not state [default: {default}]",
                    input.name
                );
            }
            if let (InputKind::Bool, Some(default)) = (input.kind, input.default) {
                assert!(
                    default == "true" || default == "false",
                    "{}: a boolean defaults to '{default}'",
                    input.name
                );
            }
        }
    }

    /// Every input is read somewhere besides the table: a name the resolver never asks for
    /// is an input wired into the command line but not into the configuration.
    #[test]
    fn every_input_is_read_by_the_resolver() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut sources = String::new();
        let mut folders = vec![root];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    folders.push(path);
                } else if path.extension().is_some_and(|e| e == "rs")
                    && !path.ends_with("inputs/table.rs")
                    && !path.to_string_lossy().ends_with("_tests.rs")
                {
                    let text = std::fs::read_to_string(&path).unwrap();
                    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
                    sources.push_str(code);
                }
            }
        }
        for input in INPUTS {
            assert!(
                sources.contains(&format!("\"{}\"", input.name)),
                "input `{}` is never read (no \"{}\" outside the table)",
                input.name,
                input.name
            );
        }
    }

    #[test]
    fn the_derived_lists() {
        assert!(image_inputs().any(|name| name == "context"));
        assert!(!image_inputs().any(|name| name == "annotations"));
        assert_eq!(
            target_inputs().collect::<Vec<_>>(),
            [
                "repository",
                "registry-id",
                "kms-key",
                "lifecycle-policy",
                "repository-policy"
            ]
        );
        assert_eq!(
            inputs_of(InputCommand::Verify).count(),
            16,
            "verify's inputs"
        );
    }
}
