//! One integration-test binary: real servers on port 0, real HTTP, real SQLite files.

// Test helpers, not only #[test] functions, may unwrap: a failed step stops the test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin;
mod cli;
mod code_flow_rules;
mod conformance;
mod foundation;
mod fuzz;
mod logout;
mod metrics;
mod multinode;
mod refresh;
mod registration;
mod revocation;
mod session_security;
mod smoke;
