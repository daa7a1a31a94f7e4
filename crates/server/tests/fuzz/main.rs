//! Fuzzing the server's parsers with a bounded, deterministic number of cases inside the
//! normal `cargo test`: the strict form parser, JWT (client assertion) decoding and
//! verification, and the configuration loader. Every target prints how many cases it
//! ran (`fuzz[name]: N cases`).
//!
//! Fixed seeds, no failure-persistence files: a failure reproduces on every run, and its
//! shrunk input is printed by the assertion.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod config;
mod form;
mod jwt;

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Runs `test` over `cases` values of `strategy` from the fixed `seed`, reports the count,
/// and fails with the shrunk input when a case fails.
pub fn run<S: Strategy>(
    name: &str,
    cases: u32,
    seed: u8,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 1024,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]),
    );
    let count = AtomicUsize::new(0);
    let result = runner.run(&strategy, |v| {
        count.fetch_add(1, Ordering::Relaxed);
        test(v)
    });
    eprintln!(
        "fuzz[{name}]: {} cases, {}",
        count.load(Ordering::Relaxed),
        if result.is_ok() {
            "no finding"
        } else {
            "FAILED"
        }
    );
    if let Err(e) = result {
        panic!("fuzz[{name}]: {e}");
    }
}
