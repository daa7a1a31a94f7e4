//! OIDC userinfo: a valid token answers the user's claims; anything else a 401 with a
//! Bearer challenge.

use baton_core::time::Dur;
use baton_testkit::flow::code_flow;
use baton_testkit::{TestServer, WEB};
use reqwest::RequestBuilder;
use serde_json::Value;

async fn send(r: RequestBuilder) -> (u16, Option<String>, Value) {
    let r = r.send().await.unwrap();
    let www = r
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string());
    (
        r.status().as_u16(),
        www,
        r.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn a_valid_token_answers_sub_and_email() {
    let s = TestServer::start("").await;
    let t = code_flow(&s, "web", "openid email").await;
    let at = t["access_token"].as_str().unwrap();
    let url = format!("{}/userinfo", s.url);
    let alice = s.state().store.get_user("alice").await.unwrap().unwrap();
    let (st, _, get) = send(s.http.get(&url).bearer_auth(at)).await;
    assert_eq!(st, 200, "{get}");
    assert_eq!(get["sub"], alice.sub.as_str());
    assert_eq!(get["email"], "alice@example.com");
    assert!(get.get("name").is_none(), "profile was not granted: {get}");
    let (st, _, post) = send(s.http.post(&url).form(&[("access_token", at)])).await;
    assert_eq!(st, 200);
    assert_eq!(post, get);
    // The token in both places at once is refused.
    let (st, _, twice) = send(
        s.http
            .post(&url)
            .bearer_auth(at)
            .form(&[("access_token", at)]),
    )
    .await;
    assert_eq!(st, 400, "{twice}");
}

#[tokio::test]
async fn missing_junk_or_expired_tokens_get_a_bearer_challenge() {
    let s = TestServer::start("").await;
    let url = format!("{}/userinfo", s.url);
    let t = code_flow(&s, "web", "openid").await;
    let at = t["access_token"].as_str().unwrap().to_string();
    let mut tampered = at.clone();
    tampered.pop();
    let cases = vec![
        s.http.get(&url),
        s.http.get(&url).bearer_auth("junk"),
        s.http.get(&url).bearer_auth("a.b.c"),
        s.http.get(&url).bearer_auth(&tampered),
        s.http.get(&url).bearer_auth("ünïcødé\u{202e}"),
        s.http
            .get(&url)
            .header("authorization", "Basic d2ViOnNlY3JldA=="),
        s.http.post(&url).form(&[("access_token", "junk")]),
    ];
    for req in cases {
        let (st, www, body) = send(req).await;
        assert_eq!(st, 401, "{body}");
        assert!(
            www.as_deref().is_some_and(|w| w.starts_with("Bearer")),
            "{www:?}"
        );
        assert!(body["error"].is_string(), "{body}");
    }
    s.advance(Dur::secs(3601));
    let (st, www, _) = send(s.http.get(&url).bearer_auth(&at)).await;
    assert_eq!(st, 401, "expired");
    assert!(www.is_some_and(|w| w.starts_with("Bearer")));
}

#[tokio::test]
async fn a_token_without_openid_is_refused() {
    let s = TestServer::start("").await;
    let (_, t) = s
        .post_form("/token", Some(WEB), &[("grant_type", "client_credentials")])
        .await;
    let at = t["access_token"].as_str().unwrap();
    let (st, _, body) = send(s.http.get(format!("{}/userinfo", s.url)).bearer_auth(at)).await;
    assert_eq!(st, 403, "{body}");
}
