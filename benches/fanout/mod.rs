//! The fan-out benchmark's modules: command line (args), images (generated once, cached),
//! fresh registries per run (registries), the promotion's source registry (source_registry),
//! what all runs share (bench_env), running a command under `/usr/bin/time` (timed), the
//! contenders (floor_client, contenders, dockerd, docker_push), what every row's rounds share
//! (rounds), the promotion and scale rows (promotion), the simulated WAN (wan_proxy) and its
//! rows (wan_rows), machine description (machine), the tables (table), their targets
//! (targets) and the whole run (suite).

pub mod args;
pub mod bench_env;
pub mod contenders;
pub mod docker_push;
pub mod dockerd;
pub mod floor_client;
pub mod images;
pub mod machine;
pub mod promotion;
pub mod registries;
pub mod rounds;
pub mod source_registry;
pub mod suite;
pub mod table;
pub mod targets;
pub mod timed;
pub mod wan_proxy;
pub mod wan_rows;
