//! Ending browser sessions: RP-initiated logout (`/logout`), back-channel logout to a
//! real HTTP listener, session expiry by the maintenance task, and the `/account` page.
//! Everything over real HTTP against a real server.

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod account;
mod backchannel;
mod expiry;
mod rp_initiated;

pub use crate::support::{eventually, get_json, grant_of, Hit, Listener};
use baton_core::model::Session;
use baton_testkit::flow::{code_flow_full, Browser, Flow};
use baton_testkit::TestServer;
use reqwest::{Response, StatusCode};
use serde_json::Value;
use std::time::Duration;

pub const RP_SECRET: &str = "rp-secret-0123456789abcdef0123456789ab";
pub const RP: (&str, &str) = ("rp", RP_SECRET);
pub const KEEPER: (&str, &str) = ("keeper", RP_SECRET);
pub const LOGGED_OUT: &str = "http://127.0.0.1:9/logged-out";
pub const APP_BYE: &str = "https://app.example/bye?x=1";

/// `rp`: registered post-logout URIs, back-channel logout to `bc` (if given), and
/// `[clients.refresh_tokens]` lines `rt`. `keeper`: `revoke_on_logout = false`.
/// With `bc`, `[http] allow_private_outbound = true`: the test receivers listen on
/// 127.0.0.1, which the server refuses to call otherwise. Deliveries are tried three
/// times, 0.5 s then 1 s apart.
pub fn clients(bc: Option<&str>, rt: &str) -> String {
    let allow = if bc.is_some() {
        "\n[http]\nallow_private_outbound = true\n\n[outbox]\nmax_attempts = 3\nfirst_retry = \"500ms\"\n"
    } else {
        ""
    };
    format!("{}{allow}", clients_strict(bc, rt))
}

/// As [`clients`], without the operator setting that allows loopback receivers.
pub fn clients_strict(bc: Option<&str>, rt: &str) -> String {
    let bc = bc
        .map(|u| format!("backchannel_logout_uri = \"{u}\"\n"))
        .unwrap_or_default();
    format!(
        r#"
[[clients]]
client_id = "rp"
client_name = "Relying Party"
client_secret = "{RP_SECRET}"
redirect_uris = ["http://127.0.0.1:9/cb"]
post_logout_redirect_uris = ["{LOGGED_OUT}", "{APP_BYE}"]
{bc}grant_types = ["authorization_code", "refresh_token", "password"]
scopes = ["openid", "profile", "email", "offline_access", "online_access"]
[clients.refresh_tokens]
{rt}

[[clients]]
client_id = "keeper"
client_name = "Keeper"
client_secret = "{RP_SECRET}"
redirect_uris = ["http://127.0.0.1:9/cb"]
grant_types = ["authorization_code", "refresh_token", "password"]
scopes = ["openid", "profile", "email", "offline_access", "online_access"]
[clients.refresh_tokens]
revoke_on_logout = false

[[users]]
username = "bob"
password = "bob-password"
"#
    )
}

/// A code flow for alice in the server's shared browser.
pub async fn flow(s: &TestServer, client: (&str, &str), scope: &str) -> Flow {
    code_flow_full(s, client, scope).await
}

pub fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_else(|| panic!("no {k} in {v}"))
}

/// The browser session id an ID token names.
pub fn sid_of(tokens: &Value) -> String {
    let claims = baton_testkit::flow::jwt_claims(str_of(tokens, "id_token"));
    claims["sid"]
        .as_str()
        .expect("sid in the ID token")
        .to_string()
}

pub async fn session(s: &TestServer, sid: &str) -> Session {
    s.state()
        .store
        .get_session(sid)
        .await
        .unwrap()
        .expect("session exists")
}

pub async fn is_live(s: &TestServer, sid: &str) -> bool {
    session(s, sid).await.is_live(s.clock.now())
}

pub async fn refresh_as(s: &TestServer, who: (&str, &str), rt: &str) -> (StatusCode, Value) {
    s.post_form(
        "/token",
        Some(who),
        &[("grant_type", "refresh_token"), ("refresh_token", rt)],
    )
    .await
}

#[track_caller]
pub fn assert_invalid_grant((st, v): (StatusCode, Value)) {
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"], "invalid_grant", "{v}");
}

/// `GET /logout` with this query, in the shared browser.
pub async fn logout(s: &TestServer, q: &[(&str, &str)]) -> Response {
    s.http
        .get(format!("{}/logout", s.url))
        .query(q)
        .send()
        .await
        .expect("GET /logout")
}

pub fn location(r: &Response) -> Option<String> {
    baton_testkit::flow::location(r)
}

/// Whether a response clears the session cookie.
pub fn clears_session_cookie(r: &Response) -> bool {
    baton_testkit::flow::set_cookies(r)
        .iter()
        .any(|c| c.starts_with("baton_session=;") && c.contains("Max-Age=0"))
}

/// Whether the shared browser is signed in: `/authorize` goes to consent or the client
/// rather than to the login page.
pub async fn signed_in(s: &TestServer) -> bool {
    let p = baton_testkit::flow::AuthParams::new("web", "openid");
    let r = Browser::shared(s).authorize(&p).await;
    let loc = location(&r).unwrap_or_default();
    !loc.starts_with("/login")
}

/// Polls the event log until `kind` has at least `n` events (at most `max`).
pub async fn wait_events(
    s: &TestServer,
    kind: &str,
    n: usize,
    max: Duration,
) -> Vec<baton_core::model::Event> {
    eventually(max, || s.events(kind), |evs| evs.len() >= n).await
}
