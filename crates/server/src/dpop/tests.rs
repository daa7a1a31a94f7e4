use super::*;
use serde_json::json;

#[test]
fn thumbprint_of_the_rfc_7638_example() {
    // RFC 7638 §3.1.
    let jwk = json!({
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29"
    });
    assert_eq!(
        thumbprint(&jwk).as_deref(),
        Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
    );
    // A private member makes it no public key; an unknown kty none at all.
    let mut private = jwk.clone();
    private["d"] = "x".into();
    assert_eq!(thumbprint(&private), None);
    assert_eq!(thumbprint(&json!({"kty": "oct", "k": "abc"})), None);
    assert_eq!(
        thumbprint(&json!({"kty": "EC", "crv": "P-256", "x": "a"})),
        None
    );
    assert_eq!(thumbprint(&json!("EC")), None);
}

#[test]
fn nonces_last_one_to_two_lifetimes_and_are_the_servers_own() {
    let n = Nonces::new(b"secret-one", Dur::secs(300));
    let t = Timestamp(1_700_000_100_000);
    let nonce = n.current(t);
    assert!(n.valid(&nonce, t));
    assert!(n.valid(&nonce, Timestamp(t.0 + 300_000)), "the next slot");
    assert!(!n.valid(&nonce, Timestamp(t.0 + 600_000)), "two slots on");
    assert!(
        !n.valid(&nonce, Timestamp(t.0 - 300_000)),
        "from the future"
    );
    let other = Nonces::new(b"secret-two", Dur::secs(300));
    assert!(!other.valid(&nonce, t), "another secret's nonce");
    assert!(!n.valid("", t));
    assert!(!n.valid(&nonce[1..], t));
}

#[test]
fn htu_is_compared_without_query_fragment_or_case_of_scheme_and_host() {
    let url = "https://as.example:443/token";
    for ok in [
        "https://as.example/token",
        "HTTPS://AS.EXAMPLE/token",
        "https://as.example:443/token?x=1",
        "https://as.example/token#f",
    ] {
        assert!(same_endpoint(ok, url), "{ok}");
    }
    for bad in [
        "https://as.example/token/",
        "https://as.example/TOKEN",
        "http://as.example/token",
        "https://as.example:8443/token",
        "https://other.example/token",
        "/token",
        "",
    ] {
        assert!(!same_endpoint(bad, url), "{bad}");
    }
}

#[test]
fn every_refusal_has_a_distinct_label_and_a_description_without_digits() {
    let mut seen = std::collections::HashSet::new();
    for r in Refusal::ALL {
        assert!(seen.insert(r.as_str()), "{r:?}");
        assert!(r.description().contains("DPoP"), "{r:?}");
    }
}
