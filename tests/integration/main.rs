//! The integration test binary: every feature's end-to-end tests are modules of this one
//! binary, sharing the harness in `harness/`.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;

mod action_support;
mod emulation;
mod fault_injection;
mod scenario;

mod bad_input;
mod build;
mod cancel;
mod concurrency;
mod destinations;
mod dotenv_limits;
mod dry_run;
mod faults;
mod grouped_errors;
mod immutable;
mod large_blobs;
mod lock;
mod managed_signing;
mod merge;
mod mount;
mod observed_run;
mod outputs;
mod promote;
mod push;
mod secrets;
mod supply_chain;
mod tag_order;
mod tag_references;
mod tag_rules;

mod ecs;
mod lambda;
mod verify;

mod action;
mod action_entry;
mod action_yml;
mod ci_examples;
mod dependency_policy;
mod lint_workflows;
mod packaging;
mod user_text;

mod replication;
mod repository_policies;
mod repository_settings;
mod repository_support;

mod scan_gate;
