// Test support: a failed step fails the test where it happened.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

pub mod child;
pub mod proxy;
