//! One integration-test binary: real servers on port 0, real HTTP, real SQLite files.
//! A module per topic; helpers shared across topics are in `support`.

// Test helpers, not only #[test] functions, may unwrap: a failed step stops the test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin;
mod bad_input;
mod cli;
mod code_flow;
mod config;
mod conformance;
mod console;
mod cors;
mod discovery;
mod dpop;
mod fuzz;
mod login_throttling;
mod logout;
mod metrics;
mod multinode;
mod outbox;
mod proxies;
mod refresh;
mod registration;
mod resources;
mod revocation;
mod seed;
mod smoke;
mod storage_tls;
mod support;
mod threads;
mod tls;
mod token;
mod userinfo;
