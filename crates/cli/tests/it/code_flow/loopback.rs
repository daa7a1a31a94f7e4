//! Loopback redirect URIs (RFC 8252 §7.3): a public client registered with
//! `http://127.0.0.1/cb` or `http://[::1]/cb` may ask for any port at `/authorize`; the
//! code goes to that port, and the exchange must name the very same URI. Nothing else
//! is loosened: not the path, not `localhost`, not a confidential client.

use crate::support::{assert_oauth_error, html_page};
use baton_testkit::flow::{exchange, AuthParams, Browser, ClientAuth};
use baton_testkit::TestServer;

const NATIVE: &str = r#"
[[clients]]
client_id = "native"
token_endpoint_auth_method = "none"
redirect_uris = ["http://127.0.0.1/cb", "http://[::1]:9/cb", "http://localhost:9/cb"]
grant_types = ["authorization_code", "refresh_token"]
scopes = ["openid", "offline_access"]
"#;

fn params(client_id: &str, redirect_uri: &str) -> AuthParams {
    let mut p = AuthParams::new(client_id, "openid");
    p.redirect_uri = Some(redirect_uri.into());
    p
}

#[tokio::test]
async fn a_public_client_gets_its_code_on_any_loopback_port() {
    let s = TestServer::start(NATIVE).await;
    let native = ClientAuth::None("native");
    for (requested, other_port) in [
        ("http://127.0.0.1:54321/cb", "http://127.0.0.1:54322/cb"),
        ("http://[::1]:54321/cb", "http://[::1]:9/cb"),
    ] {
        let p = params("native", requested);
        let cb = Browser::fresh(&s).authorize_and_allow(&p).await;
        assert_eq!(cb.base(), requested, "the code goes to the requested port");
        assert_eq!(cb.get("state"), p.state.as_deref());
        let verifier = p.pkce.as_ref().map(|k| k.verifier.as_str());
        // The exchange names the URI the code was issued for, port included.
        let registered = requested.replace(":54321", "");
        for wrong in [other_port, registered.as_str()] {
            let (st, r) = exchange(&s, native, cb.code(), wrong, verifier).await;
            assert_oauth_error((st, &r), 400, "invalid_grant");
            assert!(
                r["error_description"]
                    .as_str()
                    .unwrap()
                    .contains("redirect_uri"),
                "{wrong}: {r}"
            );
        }
        let (st, t) = exchange(&s, native, cb.code(), requested, verifier).await;
        assert_eq!(st, 200, "{requested}: {t}");
        assert!(t["access_token"].is_string(), "{t}");
    }
}

#[tokio::test]
async fn only_the_port_may_differ() {
    let s = TestServer::start(NATIVE).await;
    let b = Browser::fresh(&s);
    for bad in [
        "http://127.0.0.1:54321/other",
        "http://127.0.0.1:54321/cb/",
        "http://127.0.0.1:54321/cb?x=1",
        "http://[::1]:54321/cb?x=1",
        "http://127.0.0.1:0/cb",
        "http://127.0.0.2:54321/cb",
        "http://[::1]:54321/other",
        "http://127.0.0.1:54321@evil.example/cb",
        "https://127.0.0.1:54321/cb",
        // localhost is matched exactly (RFC 8252 §8.3: NOT RECOMMENDED).
        "http://localhost:54321/cb",
        "http://localhost/cb",
    ] {
        let text = html_page(b.authorize(&params("native", bad)).await, 400).await;
        assert!(text.contains("redirect_uri"), "{bad}: {text}");
    }
    // The exact localhost URI still works.
    let cb = b
        .authorize_and_allow(&params("native", "http://localhost:9/cb"))
        .await;
    assert_eq!(cb.base(), "http://localhost:9/cb");
    assert!(cb.get("code").is_some(), "{}", cb.url);
}

#[tokio::test]
async fn a_confidential_client_keeps_exact_matching() {
    let s = TestServer::start("").await;
    let b = Browser::fresh(&s);
    // `web` is registered with http://127.0.0.1:9/cb.
    for bad in ["http://127.0.0.1:54321/cb", "http://127.0.0.1/cb"] {
        let text = html_page(b.authorize(&params("web", bad)).await, 400).await;
        assert!(text.contains("redirect_uri"), "{bad}: {text}");
    }
    // The public `spa`, registered with the same URI, may change the port.
    let cb = b
        .authorize_and_allow(&params("spa", "http://127.0.0.1:54321/cb"))
        .await;
    assert_eq!(cb.base(), "http://127.0.0.1:54321/cb");
}
