//! The integration test binary: every feature's end-to-end tests are modules of this one
//! binary, sharing the harness in `harness/`.

mod harness;

mod emulation;
mod scenario;

mod bad_input;
mod dry_run;
mod immutable;
mod outputs;
mod push;
