//! Fuzzing against a real server over HTTP, with a bounded, deterministic number of
//! cases: junk at `/token` (bodies, content types, client assertions) and random
//! interleavings of refresh, replay, revoke, logout, clock moves and restarts checked
//! against the refresh engine's invariants. Every target prints how many cases it ran
//! (`fuzz[name]: N cases`).
//!
//! Fixed seeds, no failure-persistence files: a failure reproduces on every run, and its
//! shrunk input is printed by the assertion.

mod sequences;
mod token_endpoint;

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Runs `test` over `cases` values of `strategy` from the fixed `seed` (shrinking at
/// most `shrink` steps on a failure), reports the count, and fails with the shrunk input.
pub fn run<S: Strategy>(
    name: &str,
    cases: u32,
    shrink: u32,
    seed: u8,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: shrink,
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

/// A runtime for driving servers from inside a (synchronous) property.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}
