//! The fan-out benchmark's modules: command line (args), images (generated once, cached),
//! fresh registries per run (registries), what all runs share (bench_env), running a command
//! under `/usr/bin/time` (timed), the contenders (floor_client, contenders, dockerd,
//! docker_push), the simulated WAN (wan_proxy), machine description (machine), the tables
//! (table) and the whole run (suite).

pub mod args;
pub mod bench_env;
pub mod contenders;
pub mod docker_push;
pub mod dockerd;
pub mod floor_client;
pub mod images;
pub mod machine;
pub mod registries;
pub mod suite;
pub mod table;
pub mod timed;
pub mod wan_proxy;
