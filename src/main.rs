//! The binary: parse arguments, set up logging on stderr (`output::logging`), read the CI
//! environment once (`config::ci_environment`), run, print the error chain (redacted) and map
//! it to the exit code (0 ok, 1 operation failed, 2 bad input, 3 verification).

use std::process::ExitCode;

use ecr_fanout::config::ci_environment::CiEnvironment;
use ecr_fanout::config::cli::Cli;
use ecr_fanout::error::exit_code_for;
use ecr_fanout::output::workflow_commands::WorkflowCommands;

fn main() -> ExitCode {
    let cli = Cli::parse();
    ecr_fanout::output::logging::init(cli.verbose, cli.trace_wire);
    let ci = CiEnvironment::from_process();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(ecr_fanout::run(cli, &ci)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            WorkflowCommands::for_environment(&ci).annotate_error(&error);
            eprintln!("{}", ecr_fanout::output::render_error(&error));
            exit_code_for(&error)
        }
    }
}
