//! Table-driven tests of redirect URI matching: exact for everyone, and for public
//! clients any port on a loopback IP literal (RFC 8252 §7.3) and nothing looser.

use super::*;
use crate::model::{AuthMethod, GrantType, SigAlg};
use crate::time::Timestamp;

/// `(registered, requested, whether only the port differs on a loopback IP literal)`.
const TABLE: &[(&str, &str, bool)] = &[
    // Any port, whether the registered URI has one or not.
    ("http://127.0.0.1/cb", "http://127.0.0.1:54321/cb", true),
    (
        "http://127.0.0.1:8080/cb",
        "http://127.0.0.1:54321/cb",
        true,
    ),
    ("http://127.0.0.1:8080/cb", "http://127.0.0.1/cb", true),
    ("http://127.0.0.1/cb", "http://127.0.0.1:1/cb", true),
    ("http://127.0.0.1/cb", "http://127.0.0.1:65535/cb", true),
    ("http://127.0.0.1/cb", "http://127.0.0.1:80/cb", true),
    ("http://[::1]/cb", "http://[::1]:54321/cb", true),
    ("http://[::1]:9/cb", "http://[::1]:54321/cb", true),
    ("http://127.0.0.1", "http://127.0.0.1:54321", true),
    ("http://127.0.0.1/", "http://127.0.0.1:54321/", true),
    (
        "http://127.0.0.1/cb?a=1&b=2",
        "http://127.0.0.1:5/cb?a=1&b=2",
        true,
    ),
    ("http://127.0.0.1?x", "http://127.0.0.1:5?x", true),
    // Ports that are not ports.
    ("http://127.0.0.1/cb", "http://127.0.0.1:/cb", false),
    ("http://127.0.0.1/cb", "http://127.0.0.1:0/cb", false),
    ("http://127.0.0.1/cb", "http://127.0.0.1:054321/cb", false),
    ("http://127.0.0.1/cb", "http://127.0.0.1:65536/cb", false),
    (
        "http://127.0.0.1/cb",
        "http://127.0.0.1:99999999999/cb",
        false,
    ),
    ("http://127.0.0.1/cb", "http://127.0.0.1:+5/cb", false),
    ("http://127.0.0.1/cb", "http://127.0.0.1:5x/cb", false),
    ("http://127.0.0.1:x/cb", "http://127.0.0.1:5/cb", false),
    // Another IP literal, or another way to write one.
    ("http://127.0.0.1/cb", "http://[::1]:5/cb", false),
    ("http://[::1]/cb", "http://127.0.0.1:5/cb", false),
    ("http://127.0.0.1/cb", "http://127.0.0.2:5/cb", false),
    ("http://127.0.0.1/cb", "http://127.1:5/cb", false),
    ("http://127.0.0.1/cb", "http://2130706433:5/cb", false),
    ("http://127.0.0.1/cb", "http://0x7f.0.0.1:5/cb", false),
    ("http://[::1]/cb", "http://[0:0:0:0:0:0:0:1]:5/cb", false),
    (
        "http://[0:0:0:0:0:0:0:1]/cb",
        "http://[0:0:0:0:0:0:0:1]:5/cb",
        false,
    ),
    ("http://127.0.0.1/cb", "http://127.0.0.10:5/cb", false),
    (
        "http://127.0.0.1/cb",
        "http://127.0.0.1.evil.example:5/cb",
        false,
    ),
    // localhost keeps exact matching (RFC 8252 §8.3).
    ("http://localhost/cb", "http://localhost:5/cb", false),
    ("http://localhost:9/cb", "http://localhost:5/cb", false),
    ("http://127.0.0.1/cb", "http://localhost:5/cb", false),
    ("http://localhost/cb", "http://127.0.0.1:5/cb", false),
    // Only http.
    ("https://127.0.0.1/cb", "https://127.0.0.1:5/cb", false),
    ("http://127.0.0.1/cb", "https://127.0.0.1:5/cb", false),
    ("HTTP://127.0.0.1/cb", "HTTP://127.0.0.1:5/cb", false),
    ("http://127.0.0.1/cb", "HTTP://127.0.0.1:5/cb", false),
    ("https://app.example/cb", "https://app.example:5/cb", false),
    ("com.example.app:/cb", "com.example.app:/cb", false),
    // Path and query compared exactly.
    ("http://127.0.0.1/cb", "http://127.0.0.1:5/other", false),
    ("http://127.0.0.1/cb", "http://127.0.0.1:5/cb/", false),
    ("http://127.0.0.1/cb", "http://127.0.0.1:5/CB", false),
    ("http://127.0.0.1/cb", "http://127.0.0.1:5/cb?x=1", false),
    ("http://127.0.0.1/cb", "http://127.0.0.1:5/cb?", false),
    (
        "http://127.0.0.1/cb?a=1",
        "http://127.0.0.1:5/cb?a=2",
        false,
    ),
    (
        "http://127.0.0.1/cb?a=1&b=2",
        "http://127.0.0.1:5/cb?b=2&a=1",
        false,
    ),
    ("http://127.0.0.1/cb", "http://127.0.0.1:5/x/../cb", false),
    ("http://127.0.0.1/cb", "http://127.0.0.1:5/%63b", false),
    ("http://127.0.0.1/cb", "http://127.0.0.1:5//cb", false),
    ("http://127.0.0.1/cb", "http://127.0.0.1:5\\cb", false),
    ("http://127.0.0.1", "http://127.0.0.1:5/", false),
    ("http://127.0.0.1/", "http://127.0.0.1:5", false),
    (" http://127.0.0.1/cb", " http://127.0.0.1:5/cb", false),
    ("http://127.0.0.1/cb", "http://127.0.0.1:5/cb ", false),
    // Userinfo never matches.
    ("http://127.0.0.1/cb", "http://user@127.0.0.1:5/cb", false),
    (
        "http://127.0.0.1/cb",
        "http://127.0.0.1:5@evil.example/cb",
        false,
    ),
    (
        "http://127.0.0.1/cb",
        "http://127.0.0.1@evil.example:5/cb",
        false,
    ),
    (
        "http://u:p@127.0.0.1/cb",
        "http://u:p@127.0.0.1:5/cb",
        false,
    ),
    // Fragments never match.
    ("http://127.0.0.1/cb", "http://127.0.0.1:5/cb#", false),
    ("http://127.0.0.1/cb", "http://127.0.0.1:5/cb#x", false),
    ("http://127.0.0.1/cb#x", "http://127.0.0.1:5/cb#x", false),
    // Nothing.
    ("http://127.0.0.1/cb", "", false),
    ("", "", false),
];

#[test]
fn only_the_port_of_a_loopback_ip_literal_may_differ() {
    for &(registered, requested, expected) in TABLE {
        assert_eq!(
            loopback_port_match(registered, requested),
            expected,
            "registered {registered:?}, requested {requested:?}"
        );
        // Symmetric: "only the port differs" does not depend on which side is which.
        assert_eq!(
            loopback_port_match(requested, registered),
            expected,
            "registered {requested:?}, requested {registered:?}"
        );
    }
}

/// Every match the table accepts parses as a URL on the same host, with the same path
/// and query, as the registered one: the string rules never widen what is reached.
#[test]
fn every_accepted_pair_parses_to_the_same_place_but_for_the_port() {
    for &(registered, requested, expected) in TABLE {
        if !expected {
            continue;
        }
        let a = url::Url::parse(registered).unwrap();
        let b = url::Url::parse(requested).unwrap();
        assert_eq!(
            (
                a.scheme(),
                a.host(),
                a.path(),
                a.query(),
                a.username(),
                a.password(),
                a.fragment()
            ),
            (
                b.scheme(),
                b.host(),
                b.path(),
                b.query(),
                b.username(),
                b.password(),
                b.fragment()
            ),
            "{registered} vs {requested}"
        );
        assert_eq!(a.scheme(), "http");
        assert!(crate::client_spec::check_redirect_uri(registered).is_ok());
        assert!(crate::client_spec::check_redirect_uri(requested).is_ok());
    }
}

fn client(auth_method: AuthMethod, redirect_uris: &[&str]) -> Client {
    Client {
        apis: Default::default(),
        client_id: "client-5d1e".into(),
        client_name: None,
        secret_sha256: None,
        auth_method,
        redirect_uris: redirect_uris.iter().map(|s| s.to_string()).collect(),
        post_logout_redirect_uris: Vec::new(),
        allowed_origins: Vec::new(),
        backchannel_logout_uri: None,
        grant_types: vec![GrantType::AuthorizationCode],
        scopes: vec!["openid".into()],
        access_token_format: None,
        id_token_alg: SigAlg::ES256,
        introspect_any: false,
        dpop_bound_access_tokens: false,
        jwks: None,
        refresh: Default::default(),
        active: true,
        created_at: Timestamp(0),
        dynamically_registered: false,
        managed_by: crate::model::ManagedBy::Api,
    }
}

#[test]
fn public_clients_get_any_loopback_port_and_confidential_ones_exact_matching() {
    let registered = [
        "http://127.0.0.1/cb",
        "http://[::1]:9/cb",
        "http://localhost:9/cb",
        "https://app.example/cb",
    ];
    // (requested, public client accepts, confidential client accepts)
    let cases: &[(&str, bool, bool)] = &[
        ("http://127.0.0.1/cb", true, true),
        ("http://[::1]:9/cb", true, true),
        ("http://localhost:9/cb", true, true),
        ("https://app.example/cb", true, true),
        ("http://127.0.0.1:54321/cb", true, false),
        ("http://[::1]:54321/cb", true, false),
        ("http://[::1]/cb", true, false),
        ("http://127.0.0.1:54321/other", false, false),
        ("http://[::1]:54321/other", false, false),
        ("http://localhost:54321/cb", false, false),
        ("http://localhost/cb", false, false),
        ("https://app.example:444/cb", false, false),
        ("https://evil.example/cb", false, false),
    ];
    for method in AuthMethod::ALL {
        let c = client(method, &registered);
        for &(requested, public, confidential) in cases {
            let expected = if method == AuthMethod::None {
                public
            } else {
                confidential
            };
            assert_eq!(
                is_registered(&c, requested),
                expected,
                "{} requesting {requested:?}",
                method.as_str()
            );
        }
    }
    assert!(!is_registered(
        &client(AuthMethod::None, &[]),
        "http://127.0.0.1:5/cb"
    ));
}
