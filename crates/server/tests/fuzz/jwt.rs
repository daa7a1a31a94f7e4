//! Client-assertion parsing (`private_key_jwt` goes through `jwt::decode_unverified` and
//! `jwt::verify`): junk never panics and never verifies, every mutation of a signed
//! assertion is refused, and signed claims round-trip.

use super::run;
use baton_core::model::SigAlg;
use baton_server::jwt::{self, Signer};
use proptest::prelude::*;
use serde_json::{json, Value};

struct Key {
    alg: SigAlg,
    signer: Signer,
    jwks: Value,
}

fn key(alg: SigAlg) -> Key {
    let pkcs8 = baton_server::keys::generate_pkcs8(alg).unwrap();
    let signer = Signer::from_pkcs8(alg, &pkcs8).unwrap();
    let mut jwk = signer.public_jwk();
    jwk["kid"] = "k1".into();
    Key {
        alg,
        signer,
        jwks: json!({ "keys": [jwk] }),
    }
}

fn b64(s: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

/// Strings shaped like compact JWS: dot-separated base64url parts, some of which decode
/// to JSON (objects, arrays, scalars), plus raw junk.
fn jwt_like() -> impl Strategy<Value = String> {
    let json_part = prop_oneof![
        Just(r#"{"alg":"ES256","kid":"k1"}"#.to_string()),
        Just(r#"{"alg":"none"}"#.to_string()),
        Just(r#"{"alg":"HS256","kid":"k1"}"#.to_string()),
        Just(r#"{"alg":"EdDSA"}"#.to_string()),
        Just(r#"{"iss":"pkj","sub":"pkj","aud":"x","exp":1e400}"#.to_string()),
        Just("[]".to_string()),
        Just("null".to_string()),
        Just(r#"{"a":{"b":[1,2,{"c":null}]}}"#.to_string()),
        "\\PC{0,40}",
    ]
    .prop_map(|s| b64(s.as_bytes()));
    let part = prop_oneof![
        json_part,
        "[A-Za-z0-9_-]{0,120}",
        "[A-Za-z0-9+/=]{0,20}",
        "\\PC{0,10}",
    ];
    prop::collection::vec(part, 0..6).prop_map(|p| p.join("."))
}

#[test]
fn junk_never_panics_and_never_verifies() {
    let keys = [key(SigAlg::ES256), key(SigAlg::EdDSA)];
    let strategy = prop_oneof![any::<String>(), jwt_like()];
    run("jwt.verify(junk)", 4096, 21, strategy, |s| {
        let _ = jwt::decode_unverified(&s);
        for k in &keys {
            prop_assert!(jwt::verify(&s, &k.jwks, &SigAlg::ALL).is_err(), "{:?}", s);
        }
        Ok(())
    });
}

#[test]
fn junk_jwks_never_panic() {
    // A client's registered JWK Set is configuration, but verification must still cope
    // with odd members: wrong types, missing fields, wrong lengths.
    let k = key(SigAlg::ES256);
    let good = jwt::sign(&k.signer, k.alg, "k1", "JWT", &json!({"iss": "pkj"})).unwrap();
    let member = prop_oneof![
        Just(json!(null)),
        Just(json!(1)),
        Just(json!("EC")),
        Just(json!({"kty": "EC", "crv": "P-256", "x": "AAAA", "y": ""})),
        Just(json!({"kty": "RSA", "n": "", "e": "AQAB"})),
        Just(json!({"kty": "RSA", "n": "AQAB", "e": ""})),
        Just(json!({"kty": "OKP", "crv": "Ed25519", "x": "AA"})),
        Just(json!({"kty": "OKP", "crv": "Ed25519", "x": 5})),
        "\\PC{0,10}".prop_map(|s| json!({"kty": "EC", "crv": "P-256", "x": s, "y": s})),
        "[A-Za-z0-9_-]{0,400}".prop_map(|s| json!({"kty": "RSA", "n": s, "e": "AQAB"})),
    ];
    let strategy = prop::collection::vec(member, 0..4);
    run("jwt.verify(junk jwks)", 1024, 22, strategy, |members| {
        let jwks = json!({ "keys": members });
        prop_assert!(jwt::verify(&good, &jwks, &SigAlg::ALL).is_err());
        Ok(())
    });
}

fn claims() -> impl Strategy<Value = Value> {
    let scalar = prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        "\\PC{0,20}".prop_map(Value::from),
        Just(Value::Null),
    ];
    prop::collection::btree_map("[a-z_]{1,8}", scalar, 0..8)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
}

/// One way of altering a compact JWS.
#[derive(Clone, Debug)]
enum Mutation {
    FlipBit(usize, u8),
    Truncate(usize),
    Extend(String),
    Replace(usize, char),
    Remove(usize),
    /// Swap two of the three parts.
    SwapParts(usize, usize),
    /// Replace the header with one naming another (or no) algorithm.
    Header(&'static str),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(i, b)| Mutation::FlipBit(i, b)),
        any::<usize>().prop_map(Mutation::Truncate),
        "\\PC{1,4}|\\.|=|[A-Za-z0-9_-]{1,4}".prop_map(Mutation::Extend),
        (any::<usize>(), any::<char>()).prop_map(|(i, c)| Mutation::Replace(i, c)),
        any::<usize>().prop_map(Mutation::Remove),
        (0usize..3, 0usize..3).prop_map(|(i, j)| Mutation::SwapParts(i, j)),
        prop_oneof![
            Just(r#"{"alg":"none","kid":"k1"}"#),
            Just(r#"{"alg":"HS256","kid":"k1"}"#),
            Just(r#"{"alg":"RS256","kid":"k1"}"#),
            Just(r#"{"alg":"ES256","kid":"k1"}"#),
            Just(r#"{"alg":"EdDSA","kid":"k1"}"#),
            Just(r#"{"alg":"ES256"}"#),
            Just(r#"{"alg":"ES256","kid":"k2"}"#),
        ]
        .prop_map(Mutation::Header),
    ]
}

fn apply(t: &str, m: &Mutation) -> Option<String> {
    let chars: Vec<char> = t.chars().collect();
    if chars.is_empty() {
        return None;
    }
    let at = |i: usize| i % chars.len();
    Some(match m {
        Mutation::FlipBit(i, b) => {
            let mut bytes = t.as_bytes().to_vec();
            let i = i % bytes.len();
            bytes[i] ^= 1 << b;
            String::from_utf8(bytes).ok()?
        }
        Mutation::Truncate(n) => chars[..n % chars.len()].iter().collect(),
        Mutation::Extend(s) => format!("{t}{s}"),
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
        Mutation::SwapParts(i, j) => {
            let mut parts: Vec<&str> = t.split('.').collect();
            if *i >= parts.len() || *j >= parts.len() {
                return None;
            }
            parts.swap(*i, *j);
            parts.join(".")
        }
        Mutation::Header(h) => {
            let (_, rest) = t.split_once('.')?;
            format!("{}.{rest}", b64(h.as_bytes()))
        }
    })
}

#[test]
fn signed_assertions_round_trip_and_every_mutation_is_refused() {
    let keys = [key(SigAlg::ES256), key(SigAlg::EdDSA), key(SigAlg::RS256)];
    let strategy = (0usize..3, claims(), prop::collection::vec(mutation(), 1..4));
    run(
        "jwt.verify(mutated assertion)",
        1536,
        23,
        strategy,
        |(which, claims, mutations)| {
            let k = &keys[which];
            let good = jwt::sign(&k.signer, k.alg, "k1", "JWT", &claims).unwrap();
            let v = jwt::verify(&good, &k.jwks, &SigAlg::ALL);
            prop_assert!(v.is_ok(), "a good signature refused: {:?}", v.err());
            prop_assert_eq!(&v.unwrap().claims, &claims);
            let mut t = good.clone();
            for m in &mutations {
                if let Some(next) = apply(&t, m) {
                    t = next;
                }
            }
            if t != good {
                for key in &keys {
                    prop_assert!(
                        jwt::verify(&t, &key.jwks, &SigAlg::ALL).is_err(),
                        "{:?} of {} verified: {}",
                        mutations,
                        good,
                        t
                    );
                }
            }
            Ok(())
        },
    );
}
