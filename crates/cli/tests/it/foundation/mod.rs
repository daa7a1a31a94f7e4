//! Issue 2 (Foundation): discovery, the browser code flow, the token endpoint's grants
//! and client authentication, userinfo, configuration and bad input, over real HTTP.

// Helpers here are test code too: a failed step is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod authorize;
mod bad_input;
mod check_config;
mod client_auth;
mod code_flow;
mod code_grant;
mod csrf;
mod discovery;
mod dynamic_clients;
mod id_token;
mod login_consent;
mod throttling;
mod token;
mod userinfo;

use baton_core::store::EventQuery;
use baton_testkit::TestServer;
use reqwest::{Response, StatusCode};
use serde_json::Value;

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
