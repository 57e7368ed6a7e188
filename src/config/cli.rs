//! The command line, built with clap's builder API from the input table (`config::inputs`):
//! each subcommand's flags are the inputs it parses, grouped under their headings, and the
//! values arrive as [`RawInputs`] under the inputs' names, kept as strings. `RawInputs` →
//! `Config` validates them, so CLI flags and GitHub inputs fail alike.

use std::ffi::OsString;

use clap::builder::FalseyValueParser;
use clap::{Arg, ArgAction, ArgMatches};

use super::inputs::{INPUTS, InputCommand, InputKind, InputSpec};
use super::raw::RawInputs;

/// The environment variable that turns wire tracing on, as `--trace-wire` does (any value
/// but empty, `0`, `false`, `no` or `off`). Not
/// `ECR_FANOUT_*`: that prefix belongs to the dotenv outputs, which never steer a run.
pub const TRACE_WIRE_VAR: &str = "ECRFANOUT_TRACE_WIRE";

/// The parsed command line.
#[derive(Debug)]
pub struct Cli {
    /// More log detail on stderr (-v debug, -vv trace).
    pub verbose: u8,
    /// Log HTTP requests and responses at trace level.
    pub trace_wire: bool,
    pub command: Invocation,
}

/// The subcommand, with the inputs it was given.
#[derive(Debug)]
pub enum Invocation {
    /// Plan, push to every region, verify, tag, and write outputs.
    Push(RawInputs),
    /// Read every input from `INPUT_<NAME>` variables, then run the command they name.
    Action,
    /// Join per-platform images into one multi-platform index in every destination.
    Merge(RawInputs),
    /// Deep-verify an image already in the registries.
    Verify(RawInputs),
}

const ABOUT_PUSH: &str = "Plan, push to every region, verify, tag, and write outputs";
const ABOUT_ACTION: &str = "What action.yml runs: read every input from `INPUT_<NAME>` \
     variables, then run the command the `command` input names (push by default)";
const ABOUT_MERGE: &str = "Join per-platform images that earlier jobs pushed by digest into \
     one multi-platform index in every destination: copy what a destination lacks, verify, \
     then tag";
const ABOUT_VERIFY: &str = "Deep-verify an image already in the registries: every region \
     serves it whole, and the same digest everywhere (failover drills, replication checks)";

/// `--version`: the package version and the commit the binary was built from (`build.rs`).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("ECR_FANOUT_BUILD_COMMIT"),
    ")"
);

impl Cli {
    /// The whole command line: global options and one subcommand per command.
    pub fn command() -> clap::Command {
        clap::Command::new("ecr-fanout")
            .version(VERSION)
            .about(
                "Build or read a container image, push the same bytes to Amazon ECR in \
                 several regions, verify every region, then move the tags",
            )
            .subcommand_required(true)
            .arg_required_else_help(true)
            .arg(
                Arg::new("verbose")
                    .short('v')
                    .long("verbose")
                    .global(true)
                    .action(ArgAction::Count)
                    .help("More log detail on stderr (-v debug, -vv trace). `RUST_LOG` overrides"),
            )
            .arg(
                Arg::new("trace-wire")
                    .long("trace-wire")
                    .global(true)
                    .env(TRACE_WIRE_VAR)
                    .action(ArgAction::SetTrue)
                    .value_parser(FalseyValueParser::new())
                    .help(
                        "Also log HTTP requests and responses of the AWS SDK and the HTTP \
                         stack at trace level (off otherwise, even with -vv or \
                         RUST_LOG=trace). Known secrets and credential fields are still \
                         redacted; keep such a log private",
                    ),
            )
            .subcommand(input_command(InputCommand::Push, ABOUT_PUSH))
            .subcommand(clap::Command::new("action").about(ABOUT_ACTION))
            .subcommand(input_command(InputCommand::Merge, ABOUT_MERGE))
            .subcommand(input_command(InputCommand::Verify, ABOUT_VERIFY))
    }

    /// Parses this process's arguments; prints help or the error and exits when asked to.
    pub fn parse() -> Self {
        Self::try_parse_from(std::env::args_os()).unwrap_or_else(|error| error.exit())
    }

    /// Parses `args` (the program name first).
    pub fn try_parse_from(
        args: impl IntoIterator<Item = impl Into<OsString> + Clone>,
    ) -> Result<Self, clap::Error> {
        let matches = Self::command().try_get_matches_from(args)?;
        let command = match matches.subcommand() {
            Some(("push", sub)) => Invocation::Push(raw_inputs(InputCommand::Push, sub)),
            Some(("merge", sub)) => Invocation::Merge(raw_inputs(InputCommand::Merge, sub)),
            Some(("verify", sub)) => Invocation::Verify(raw_inputs(InputCommand::Verify, sub)),
            Some(("action", _)) => Invocation::Action,
            _ => {
                return Err(Self::command().error(
                    clap::error::ErrorKind::MissingSubcommand,
                    "a command is required",
                ));
            }
        };
        Ok(Self {
            verbose: matches.get_count("verbose"),
            trace_wire: matches.get_flag("trace-wire"),
            command,
        })
    }
}

/// The subcommand `command`, with a flag for every input it parses.
fn input_command(command: InputCommand, about: &'static str) -> clap::Command {
    INPUTS.iter().filter(|input| input.parsed_by(command)).fold(
        clap::Command::new(command.as_str())
            .about(about)
            .next_line_help(true),
        |cli, input| cli.arg(flag(input, command)),
    )
}

/// The flag `--NAME` of `input`, as `command`'s help describes it.
fn flag(input: &InputSpec, command: InputCommand) -> Arg {
    let value_name = input.value_name.map_or_else(
        || input.name.to_uppercase().replace('-', "_"),
        str::to_string,
    );
    let arg = Arg::new(input.name)
        .long(input.name)
        .value_name(value_name)
        .help(input.help_for(command))
        .help_heading(input.heading.title());
    match input.kind {
        InputKind::Text => arg.action(ArgAction::Set),
        InputKind::YamlList => arg.action(ArgAction::Set).allow_hyphen_values(true),
        InputKind::Bool => arg
            .action(ArgAction::Set)
            .num_args(0..=1)
            .default_missing_value("true"),
        InputKind::Repeatable => arg.action(ArgAction::Append),
    }
}

/// The flags `command` was given, under their input names; a repeated flag's values are
/// joined by newlines.
fn raw_inputs(command: InputCommand, matches: &ArgMatches) -> RawInputs {
    let mut raw = RawInputs::default();
    for input in INPUTS.iter().filter(|input| input.parsed_by(command)) {
        let values = matches
            .get_many::<String>(input.name)
            .map(|values| values.cloned().collect::<Vec<_>>().join("\n"));
        raw.set(input.name, values);
    }
    raw
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::inputs::inputs_of;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("ecr-fanout").chain(args.iter().copied()))
            .unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    fn raw_of(cli: Cli) -> RawInputs {
        match cli.command {
            Invocation::Push(raw) | Invocation::Merge(raw) | Invocation::Verify(raw) => raw,
            Invocation::Action => panic!("action has no flags"),
        }
    }

    #[test]
    fn the_command_line_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_input_of_a_command_is_its_flag_and_nothing_else() {
        for command in InputCommand::ALL {
            let cli = Cli::command();
            let sub = cli
                .find_subcommand(command.as_str())
                .unwrap_or_else(|| panic!("{}", command.as_str()));
            let flags: Vec<&str> = sub.get_arguments().map(|a| a.get_id().as_str()).collect();
            let expected: Vec<&str> = INPUTS
                .iter()
                .filter(|input| input.parsed_by(command))
                .map(|input| input.name)
                .collect();
            assert_eq!(flags, expected, "{}", command.as_str());
            for name in inputs_of(command) {
                let value = if name == "targets" {
                    "- region: x"
                } else {
                    "x"
                };
                let raw = raw_of(parse(&[command.as_str(), &format!("--{name}"), value]));
                assert_eq!(raw.get(name), Some(value), "{} --{name}", command.as_str());
                assert_eq!(raw.given().count(), 1, "{} --{name}", command.as_str());
            }
        }
    }

    #[test]
    fn booleans_may_be_bare_and_lists_repeated() {
        let raw = raw_of(parse(&[
            "push",
            "--dry-run",
            "--json",
            "false",
            "--build-args",
            "A=1",
            "--build-args",
            "B=2",
        ]));
        assert_eq!(raw.get("dry-run"), Some("true"));
        assert_eq!(raw.get("json"), Some("false"));
        assert_eq!(raw.get("build-args"), Some("A=1\nB=2"));
    }

    #[test]
    fn management_flags_become_raw_inputs() {
        let raw = raw_of(parse(&[
            "push",
            "--replication",
            "ignore",
            "--update-repository-settings",
            "true",
        ]));
        assert_eq!(raw.get("replication"), Some("ignore"));
        assert_eq!(raw.get("update-repository-settings"), Some("true"));
        assert_eq!(raw.get("lifecycle-policy"), None);
    }

    #[test]
    fn help_is_grouped_under_headings() {
        let help = Cli::command()
            .find_subcommand_mut("push")
            .map(|push| push.render_help().to_string())
            .unwrap_or_default();
        let mut at = 0;
        for heading in [
            "Destinations:",
            "Image:",
            "Build:",
            "Repository:",
            "Verification and gates:",
            "Outputs:",
        ] {
            let found = help[at..].find(heading).map(|i| i + at);
            at = found.unwrap_or_else(|| panic!("{heading} missing or out of order:\n{help}"));
        }
        assert!(!help.contains("--digest "), "verify's digest is not push's");
    }

    #[test]
    fn global_options_and_the_action() {
        let cli = parse(&["-vv", "action"]);
        assert_eq!(cli.verbose, 2);
        assert!(matches!(cli.command, Invocation::Action));
        assert!(Cli::try_parse_from(["ecr-fanout", "push", "--bogus"]).is_err());
        assert!(Cli::try_parse_from(["ecr-fanout", "verify", "--context", "."]).is_err());
    }
}
