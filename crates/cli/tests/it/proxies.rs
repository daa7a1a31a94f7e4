//! `http.trusted_proxies`: `X-Forwarded-For` and `Forwarded` are believed only from a
//! trusted peer, and the address they give is the one events and sign-in throttling
//! use; from anyone else, or when unreadable, the peer address is. The tests connect
//! from other 127.0.0.0/8 addresses to be a proxy or a client.

use baton_testkit::{TestServer, ALICE, WEB};
use reqwest::StatusCode;
use serde_json::Value;

/// A client whose connections come from `ip`.
fn client_at(ip: [u8; 4]) -> reqwest::Client {
    baton_testkit::http_builder()
        .local_address(std::net::IpAddr::from(ip))
        .build()
        .unwrap()
}

const PROXY: [u8; 4] = [127, 0, 0, 2];
const STRANGER: [u8; 4] = [127, 0, 0, 3];

/// A password grant for alice with `password`, sent with these extra headers.
async fn password_with(
    s: &TestServer,
    http: &reqwest::Client,
    password: &str,
    headers: &[(&str, &[u8])],
) -> (StatusCode, Value) {
    let mut req = http
        .post(format!("{}/token", s.url))
        .basic_auth(WEB.0, Some(WEB.1))
        .form(&[
            ("grant_type", "password"),
            ("username", ALICE.0),
            ("password", password),
            ("scope", "openid offline_access"),
        ]);
    for (name, value) in headers {
        req = req.header(
            *name,
            reqwest::header::HeaderValue::from_bytes(value).unwrap(),
        );
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// The address the newest `grant.created` event recorded.
async fn last_grant_ip(s: &TestServer) -> Option<String> {
    s.events("grant.created").await[0].ip.clone()
}

/// A successful password grant with these headers from `from`: the address recorded.
async fn recorded_ip(s: &TestServer, from: [u8; 4], headers: &[(&str, &[u8])]) -> String {
    let (st, body) = password_with(s, &client_at(from), ALICE.1, headers).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    last_grant_ip(s).await.expect("an address is recorded")
}

#[tokio::test]
async fn a_trusted_proxys_forwarded_address_is_the_one_recorded() {
    let s = TestServer::start("[http]\ntrusted_proxies = [\"127.0.0.2\", \"10.0.0.0/8\"]\n").await;

    // The right-most address that is not a trusted proxy: the client's own forged
    // entry to its left is not believed, the proxies to its right are skipped.
    let xff: &[u8] = b"6.6.6.6, 203.0.113.7, 10.1.2.3";
    assert_eq!(
        recorded_ip(&s, PROXY, &[("x-forwarded-for", xff)]).await,
        "203.0.113.7"
    );
    // Several header lines are one list.
    let h: &[(&str, &[u8])] = &[
        ("x-forwarded-for", b"6.6.6.6"),
        ("x-forwarded-for", b"198.51.100.4:5123"),
    ];
    assert_eq!(recorded_ip(&s, PROXY, h).await, "198.51.100.4");

    // RFC 7239 Forwarded, quoted IPv6 with a port, other parameters beside `for`.
    let fwd: &[u8] = b"for=6.6.6.6, for=\"[2001:db8:cafe::17]:4711\";proto=https;by=10.0.0.1";
    assert_eq!(
        recorded_ip(&s, PROXY, &[("forwarded", fwd)]).await,
        "2001:db8:cafe::17"
    );

    // From a peer that is not a trusted proxy, neither header is believed.
    let h: &[(&str, &[u8])] = &[
        ("x-forwarded-for", b"203.0.113.7"),
        ("forwarded", b"for=203.0.113.8"),
    ];
    assert_eq!(recorded_ip(&s, STRANGER, h).await, "127.0.0.3");
    // And the failure's event says the same.
    let (st, _) = password_with(&s, &client_at(STRANGER), "wrong", h).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let failed = s.events("login.failed").await;
    assert_eq!(failed[0].ip.as_deref(), Some("127.0.0.3"));
}

#[tokio::test]
async fn without_trusted_proxies_the_headers_are_ignored() {
    let s = TestServer::start("").await;
    let h: &[(&str, &[u8])] = &[
        ("x-forwarded-for", b"203.0.113.7"),
        ("forwarded", b"for=203.0.113.8"),
    ];
    assert_eq!(recorded_ip(&s, PROXY, h).await, "127.0.0.2");
    assert_eq!(recorded_ip(&s, [127, 0, 0, 1], h).await, "127.0.0.1");
}

#[tokio::test]
async fn unreadable_forwarding_headers_are_ignored_never_an_error() {
    let s = TestServer::start("[http]\ntrusted_proxies = [\"127.0.0.0/30\"]\n").await;
    let long = format!("{}203.0.113.7", "1.2.3.4, ".repeat(2000));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("x-forwarded-for", b"not-an-address".to_vec()),
        ("x-forwarded-for", b"203.0.113.7, ".to_vec()),
        ("x-forwarded-for", b"203.0.113.7:99999".to_vec()),
        ("x-forwarded-for", b"[2001:db8::1".to_vec()),
        ("x-forwarded-for", b"\xff\xfe203.0.113.7".to_vec()),
        ("x-forwarded-for", b"".to_vec()),
        ("forwarded", b"for=unknown".to_vec()),
        ("forwarded", b"for=_hidden;proto=https".to_vec()),
        ("forwarded", b"for=\"[2001:db8::1]".to_vec()),
        ("forwarded", b"for=1.2.3.4;for=5.6.7.8".to_vec()),
        ("forwarded", b"proto=https".to_vec()),
        ("forwarded", b";;,,==\"".to_vec()),
    ];
    for (name, value) in &cases {
        let (st, body) =
            password_with(&s, &client_at(PROXY), ALICE.1, &[(name, value.as_slice())]).await;
        assert_eq!(st, StatusCode::OK, "{name}: {value:?}: {body}");
        assert_eq!(
            last_grant_ip(&s).await.as_deref(),
            Some("127.0.0.2"),
            "{name}: {value:?} is ignored"
        );
    }
    // A client's bad bytes left of what the proxy appended spoil only their own entry:
    // the proxy's entry is read, and a Forwarded header its proxy may not have removed
    // is not.
    let h: &[(&str, &[u8])] = &[
        ("x-forwarded-for", b"\xff203.0.113.7, 203.0.113.9"),
        ("forwarded", b"for=203.0.113.8"),
    ];
    assert_eq!(recorded_ip(&s, PROXY, h).await, "203.0.113.9");
    // An unclosed quote of the client's own does not swallow the proxy's element.
    let h: &[(&str, &[u8])] = &[("forwarded", b"for=\", for=203.0.113.9")];
    assert_eq!(recorded_ip(&s, PROXY, h).await, "203.0.113.9");
    // The client's junk alone: the proxy is all we know.
    let h: &[(&str, &[u8])] = &[("x-forwarded-for", b"\xff203.0.113.7")];
    assert_eq!(recorded_ip(&s, PROXY, h).await, "127.0.0.2");
    // A long chain is read, not refused: the right-most entry is the client.
    let (st, _) = password_with(
        &s,
        &client_at(PROXY),
        ALICE.1,
        &[("x-forwarded-for", long.as_bytes())],
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(last_grant_ip(&s).await.as_deref(), Some("203.0.113.7"));
}

#[tokio::test]
async fn sign_in_throttling_counts_the_forwarded_address() {
    let s = TestServer::start(
        "[http]\ntrusted_proxies = [\"127.0.0.2\"]\n\n[login]\nfree_failures = 0\nfree_failures_per_ip = 2\n",
    )
    .await;
    let proxy = client_at(PROXY);
    let from = |ip: &'static [u8]| [("x-forwarded-for", ip)];
    // One client behind the proxy guesses until it is made to wait.
    let mut waited = false;
    for _ in 0..6 {
        let (st, body) = password_with(&s, &proxy, "wrong", &from(b"203.0.113.7")).await;
        if st == StatusCode::TOO_MANY_REQUESTS {
            waited = true;
            break;
        }
        assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    }
    assert!(waited, "the address behind the proxy is throttled");
    // Another client behind the same proxy is not: the proxy's own address is not
    // what is counted.
    let (st, body) = password_with(&s, &proxy, ALICE.1, &from(b"203.0.113.9")).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    // The waiting address is still waiting, even with the right password.
    let (st, _) = password_with(&s, &proxy, ALICE.1, &from(b"203.0.113.7")).await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS);
    // A stranger cannot claim to be someone else to dodge (or cause) a wait: its own
    // address is counted.
    let (st, body) = password_with(&s, &client_at(STRANGER), ALICE.1, &from(b"203.0.113.7")).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let throttled = s.events("login.throttled").await;
    assert_eq!(throttled[0].ip.as_deref(), Some("203.0.113.7"));
}
