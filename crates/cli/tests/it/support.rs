//! Helpers shared by more than one topic: what a request must not change, error and page
//! assertions, token-response fields, and waiting for a background task with a deadline.
//! Helpers that only one topic uses live with that topic.

use baton_core::model::Grant;
use baton_core::store::EventQuery;
use baton_testkit::TestServer;
use reqwest::{Response, StatusCode};
use serde_json::Value;
use std::future::Future;
use std::time::Duration;

/// What a request must not change: the number of events and of grants stored.
pub async fn snapshot(s: &TestServer) -> (usize, usize) {
    let store = &s.state().store;
    let q = EventQuery {
        limit: 100_000,
        ..Default::default()
    };
    let events = store.list_events(&q).await.expect("events").len();
    let grants = store
        .list_grants(None, None, 100_000)
        .await
        .expect("grants")
        .len();
    (events, grants)
}

/// An RFC 6749 §5.2 error: this status, this code, and a description.
#[track_caller]
pub fn assert_oauth_error(got: (StatusCode, &Value), status: u16, code: &str) {
    let (st, body) = got;
    assert_eq!(st.as_u16(), status, "status for {body}");
    assert_eq!(body["error"], code, "error code in {body}");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "error_description in {body}"
    );
}

/// Asserts a `400 invalid_grant` whose description contains `why`.
#[track_caller]
pub fn assert_invalid_grant(st: StatusCode, v: &Value, why: &str) {
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"], "invalid_grant", "{v}");
    let d = v["error_description"].as_str().unwrap_or("");
    assert!(d.contains(why), "description {d:?} should say {why:?}");
}

/// An HTML page answered in place: never a redirect. Answers the page text.
pub async fn html_page(resp: Response, status: u16) -> String {
    assert_eq!(resp.status().as_u16(), status);
    assert!(
        resp.headers().get("location").is_none(),
        "an error page, not a redirect"
    );
    let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("text/html"), "content type {ct}");
    resp.text().await.unwrap()
}

/// `GET path` on the server: a 200 with a JSON body.
pub async fn get_json(s: &TestServer, path: &str) -> Value {
    let r = s.http.get(format!("{}{path}", s.url)).send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.json().await.unwrap()
}

/// The status `/userinfo` answers for an access token (200 live, 401 inactive).
pub async fn userinfo_status(s: &TestServer, access_token: &str) -> u16 {
    s.http
        .get(format!("{}/userinfo", s.url))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// POSTs a form to `/token` at `url` (a server in another process); its status and body.
pub async fn post_token(
    http: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let r = http
        .post(format!("{url}/token"))
        .form(form)
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

/// A refresh of `token` as public client `client` at `url` (a server in another process).
pub async fn refresh_at(
    http: &reqwest::Client,
    url: &str,
    client: &str,
    token: &str,
) -> (StatusCode, Value) {
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", client),
        ("refresh_token", token),
    ];
    post_token(http, url, &form).await
}

/// The refresh token of a token response.
pub fn rt(v: &Value) -> String {
    v["refresh_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no refresh_token in {v}"))
        .to_string()
}

/// The grant a refresh token of this server names, as stored (main store or cache).
pub async fn grant_of(s: &TestServer, refresh_token: &str) -> Grant {
    let c = s
        .state()
        .rt_keys
        .open(refresh_token)
        .unwrap_or_else(|| panic!("not a token of this server: {refresh_token}"));
    s.state()
        .grants(c.persist())
        .get_grant(c.grant_id)
        .await
        .expect("read grant")
        .expect("grant exists")
}

/// Waits for a background task (delivery, a maintenance tick, another node): probes
/// every 25 ms until `done` holds of what `probe` answers, or `max` has passed. Answers
/// the last probe either way, for the caller's assertion to show.
pub async fn eventually<T, F, Fut>(max: Duration, mut probe: F, done: impl Fn(&T) -> bool) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = T>,
{
    let deadline = tokio::time::Instant::now() + max;
    loop {
        let v = probe().await;
        if done(&v) || tokio::time::Instant::now() >= deadline {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
