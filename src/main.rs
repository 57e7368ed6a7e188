//! The binary: parse arguments, set up logging on stderr, run, print the error chain and map
//! it to the design's exit code (0 ok, 1 operation failed, 2 bad input, 3 verification).

use std::process::ExitCode;

use clap::Parser;
use ecr_fanout::config::cli::Cli;
use ecr_fanout::error::exit_code_for;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(ecr_fanout::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            ecr_fanout::output::workflow::annotate_error(&error);
            eprintln!("{}", ecr_fanout::output::render_error(&error));
            exit_code_for(&error)
        }
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "ecr_fanout=info,warn",
        1 => "ecr_fanout=debug,info",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(ecr_fanout::output::progress::LogWriter)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}
