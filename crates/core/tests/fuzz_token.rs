//! Fuzzing the refresh-token format (`token::TokenKeys::seal` / `open`) with a bounded,
//! deterministic number of cases inside the normal `cargo test`: arbitrary input never
//! panics and never opens, every mutation of a sealed token is refused, and seal → open
//! round-trips for arbitrary claims.
//!
//! Fixed seeds, no failure-persistence files: a failure reproduces on every run, and its
//! shrunk input is printed by the assertion.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use baton_core::model::GrantId;
use baton_core::token::{RefreshClaims, TokenKeys};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use std::sync::atomic::{AtomicUsize, Ordering};

const SECRET: &[u8] = b"fuzz-server-secret-0123456789abc";

/// A runner with `cases` cases, a fixed seed and no persistence files.
fn runner(cases: u32, seed: u8) -> TestRunner {
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 1024,
        ..Config::default()
    };
    TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]),
    )
}

/// Runs `test` over `strategy` and reports how many cases ran.
fn run<S: Strategy>(
    name: &str,
    cases: u32,
    seed: u8,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    let count = AtomicUsize::new(0);
    let result = runner(cases, seed).run(&strategy, |v| {
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

fn keys() -> TokenKeys {
    TokenKeys::from_secret(SECRET)
}

fn claims() -> impl Strategy<Value = RefreshClaims> {
    (any::<[u8; 16]>(), any::<u64>(), any::<u8>()).prop_map(|(id, generation, flags)| {
        RefreshClaims {
            grant_id: GrantId(id),
            generation,
            flags,
        }
    })
}

/// Strings that look more or less like tokens: the prefix, base64url characters,
/// padding, other base64 alphabets, whitespace and non-ASCII.
fn token_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("brt_".to_string()),
        "[A-Za-z0-9_-]{0,90}",
        "[A-Za-z0-9+/=]{0,12}",
        Just("=".to_string()),
        Just(" ".to_string()),
        any::<char>().prop_map(String::from),
        "\\PC{0,8}",
    ];
    prop::collection::vec(piece, 0..6).prop_map(|p| p.concat())
}

#[test]
fn arbitrary_strings_never_open() {
    let k = keys();
    let strategy = prop_oneof![any::<String>(), token_like()];
    run("token.open(arbitrary)", 4096, 1, strategy, |s| {
        prop_assert_eq!(k.open(&s), None, "opened {:?}", s);
        Ok(())
    });
}

#[test]
fn well_formed_but_unsigned_payloads_never_open() {
    // The right prefix, length and version byte, with arbitrary grant, generation, flags,
    // key id and MAC: only the MAC stands between these and a grant.
    let k = keys();
    let strategy = (prop::collection::vec(any::<u8>(), 59), any::<u8>());
    run(
        "token.open(forged payload)",
        4096,
        2,
        strategy,
        |(mut raw, key_id)| {
            raw[0] = 1;
            raw[26] = if key_id % 2 == 0 { 1 } else { key_id };
            let t = format!("brt_{}", URL_SAFE_NO_PAD.encode(&raw));
            prop_assert_eq!(k.open(&t), None, "opened {}", t);
            Ok(())
        },
    );
}

#[test]
fn seal_open_round_trips_for_arbitrary_claims() {
    let k = keys();
    let other = TokenKeys::from_secret(b"another-server-secret-0123456789");
    run("token.seal->open", 2048, 3, claims(), |c| {
        let t = k.seal(&c);
        prop_assert!(t.starts_with("brt_") && t.is_ascii());
        prop_assert_eq!(k.open(&t), Some(c));
        // Deterministic: a grace retry gets the byte-identical successor.
        prop_assert_eq!(&k.seal(&c), &t);
        // Another server's key opens nothing of ours.
        prop_assert_eq!(other.open(&t), None);
        Ok(())
    });
}

/// One way of altering a token.
#[derive(Clone, Debug)]
enum Mutation {
    /// Flip one bit of one character of the text (kept only when still UTF-8).
    FlipTextBit(usize, u8),
    /// Flip one bit of the decoded payload and re-encode.
    FlipRawBit(usize, u8),
    Truncate(usize),
    Extend(String),
    Insert(usize, char),
    Replace(usize, char),
    Remove(usize),
    /// Swap two characters.
    Swap(usize, usize),
    /// Change the case of every letter.
    SwapCase,
    /// Re-encode the payload as standard base64 (with or without padding).
    Standard(bool),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(i, b)| Mutation::FlipTextBit(i, b)),
        (any::<usize>(), 0u8..8).prop_map(|(i, b)| Mutation::FlipRawBit(i, b)),
        any::<usize>().prop_map(Mutation::Truncate),
        "\\PC{1,6}|=|==|[A-Za-z0-9_-]{1,4}".prop_map(Mutation::Extend),
        (any::<usize>(), any::<char>()).prop_map(|(i, c)| Mutation::Insert(i, c)),
        (any::<usize>(), any::<char>()).prop_map(|(i, c)| Mutation::Replace(i, c)),
        any::<usize>().prop_map(Mutation::Remove),
        (any::<usize>(), any::<usize>()).prop_map(|(i, j)| Mutation::Swap(i, j)),
        Just(Mutation::SwapCase),
        any::<bool>().prop_map(Mutation::Standard),
    ]
}

fn apply(t: &str, m: &Mutation) -> Option<String> {
    let chars: Vec<char> = t.chars().collect();
    let at = |i: usize| i % chars.len();
    Some(match m {
        Mutation::FlipTextBit(i, b) => {
            let mut bytes = t.as_bytes().to_vec();
            let i = i % bytes.len();
            bytes[i] ^= 1 << b;
            String::from_utf8(bytes).ok()?
        }
        Mutation::FlipRawBit(i, b) => {
            let mut raw = URL_SAFE_NO_PAD.decode(t.strip_prefix("brt_")?).ok()?;
            if raw.is_empty() {
                return None;
            }
            let i = i % raw.len();
            raw[i] ^= 1 << b;
            format!("brt_{}", URL_SAFE_NO_PAD.encode(raw))
        }
        Mutation::Truncate(n) => chars[..n % chars.len()].iter().collect(),
        Mutation::Extend(s) => format!("{t}{s}"),
        Mutation::Insert(i, c) => {
            let mut v = chars.clone();
            v.insert(i % (chars.len() + 1), *c);
            v.into_iter().collect()
        }
        Mutation::Replace(i, c) => {
            let mut v = chars.clone();
            v[at(*i)] = *c;
            v.into_iter().collect()
        }
        Mutation::Remove(i) => {
            let mut v = chars.clone();
            v.remove(at(*i));
            v.into_iter().collect()
        }
        Mutation::Swap(i, j) => {
            let mut v = chars.clone();
            v.swap(at(*i), at(*j));
            v.into_iter().collect()
        }
        Mutation::SwapCase => chars
            .iter()
            .map(|c| {
                if c.is_ascii_lowercase() {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect(),
        Mutation::Standard(pad) => {
            let raw = URL_SAFE_NO_PAD.decode(t.strip_prefix("brt_")?).ok()?;
            let e = if *pad {
                base64::engine::general_purpose::STANDARD.encode(raw)
            } else {
                base64::engine::general_purpose::STANDARD_NO_PAD.encode(raw)
            };
            format!("brt_{e}")
        }
    })
}

#[test]
fn every_mutation_of_a_sealed_token_is_refused() {
    let k = keys();
    let strategy = (claims(), prop::collection::vec(mutation(), 1..4));
    run(
        "token.open(mutated)",
        4096,
        4,
        strategy,
        |(c, mutations)| {
            let original = k.seal(&c);
            let mut t = original.clone();
            for m in &mutations {
                match apply(&t, m) {
                    Some(next) if !next.is_empty() => t = next,
                    _ => {}
                }
            }
            if t != original {
                prop_assert_eq!(
                    k.open(&t),
                    None,
                    "{:?} of {} opened: {}",
                    mutations,
                    original,
                    t
                );
            }
            Ok(())
        },
    );
}
