//! Integration-test harness: simulated multi-region Amazon ECR on loopback.
//!
//! `TestEnv` (env.rs) = one moto server (moto.rs, the ECR API) + per region one Debian
//! docker-registry (registry.rs) behind an ECR-faithful reverse proxy (ecr_proxy.rs, switches
//! and counters in proxy_control.rs, forwarding in proxy_forward.rs) that is also a fault
//! injector (fault.rs, fault_control.rs, proxy_faults.rs, listener_switch.rs); it enforces
//! ECR's tag mutability with settings read from moto (proxy_tag_rules.rs). moto's API
//! calls are counted by moto_counter.rs, which has scan_stand_in.rs answer scan calls for images moto does not
//! know. skopeo.rs checks registries directly; run.rs runs the
//! binary, running.rs runs it in the background (signals, stderr readiness); support.rs has the process/port/readiness plumbing. For build tests, dockerd.rs
//! starts a private Docker daemon and buildah.rs gives buildah storage of a test's own.
//!
//! Prerequisites (docker-registry, skopeo, moto, buildah, docker.io) are installed by
//! `scripts/test`.

// Not every test uses every helper.
#![allow(dead_code)]

pub mod artifacts;
pub mod aws_json;
pub mod buildah;
pub mod dockerd;
pub mod ecr_proxy;
pub mod env;
pub mod fault;
pub mod fault_control;
pub mod listener_switch;
pub mod lock_table;
pub mod moto;
pub mod moto_counter;
pub mod proxy_control;
pub mod proxy_faults;
pub mod proxy_forward;
pub mod proxy_presigned;
pub mod proxy_referrers;
pub mod proxy_tag_rules;
pub mod registry;
pub mod run;
pub mod running;
pub mod scan_stand_in;
pub mod signing_stand_in;
pub mod skopeo;
pub mod support;
pub mod token_registry;

// Short paths for tests; not every test binary configuration uses each.
#[allow(unused_imports)]
pub use ecr_proxy::{Emulation, Fault, ProxyControl};
pub use env::{Region, TestEnv};
#[allow(unused_imports)]
pub use run::{RunOutput, ecr_fanout, run};
