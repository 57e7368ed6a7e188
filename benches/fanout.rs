//! The fan-out benchmark (docs/benchmark.md): ecr-fanout against the upload floor, `skopeo
//! copy` and `docker push`, each on three fresh loopback registries per measured run.
//!
//! `cargo bench --bench fanout -- [--quick] [--images small,130mb,1gib] [--wan] [--runs N]`
//!
//! Cargo runs this binary with `--bench` under `cargo bench`, and with no argument under
//! `cargo test --all-targets`, where it only says how to run it and exits at once. The same
//! binary, started with `--floor-client SPEC`, is the floor's minimal upload client.

// The integration-test harness (moto, docker-registry with htpasswd); not all of it is used
// (its own `#![allow(dead_code)]` covers items; its short re-exports need this). It is test
// code, where a failed unwrap is a failed test.
#[allow(unused_imports, clippy::unwrap_used, clippy::expect_used)]
#[path = "../tests/integration/harness/mod.rs"]
mod harness;

#[path = "fanout/mod.rs"]
mod bench;

use std::process::ExitCode;

use bench::args::Mode;

fn main() -> ExitCode {
    let mode = match bench::args::parse(std::env::args().skip(1)) {
        Ok(mode) => mode,
        Err(error) => {
            eprintln!("fanout bench: {error:#}\n\n{}", bench::args::USAGE);
            return ExitCode::from(2);
        }
    };
    let result = match mode {
        Mode::NotBenchmarking => {
            eprintln!("fanout bench: not run under `cargo test`; run `cargo bench --bench fanout`");
            return ExitCode::SUCCESS;
        }
        Mode::Help => {
            println!("{}", bench::args::USAGE);
            return ExitCode::SUCCESS;
        }
        Mode::FloorClient(spec) => bench::floor_client::run(&spec),
        Mode::Bench(options) => bench::suite::run(options),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("fanout bench failed: {error:#}");
            ExitCode::FAILURE
        }
    }
}
