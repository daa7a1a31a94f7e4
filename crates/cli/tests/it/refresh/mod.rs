//! The refresh-token engine against a real server over HTTP.
//!
//! Helpers shared by the topic files: clients beyond `web`/`spa`, token requests,
//! reading grants back from the store, and error assertions.

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod bad_tokens;
mod concurrency;
mod events;
mod grace;
mod issuance;
mod lifetimes;
mod persist;
mod restart;
mod reuse;
mod rotation;
mod scope_client;
mod sessions;
mod settings;
mod users;

pub use crate::support::{assert_invalid_grant, eventually, grant_of as grant, rt};
use baton_core::model::Event;
use baton_core::store::EventQuery;
use baton_core::time::Dur;
use baton_core::token::RefreshClaims;
/// The claims of a JWT (access or ID token), unverified.
pub use baton_testkit::flow::jwt_claims as jwt;
use baton_testkit::{TestServer, ALICE, SPA, WEB};
use reqwest::StatusCode;
use serde_json::Value;

/// The secret of every confidential client these tests add.
pub const SECRET: &str = "refresh-suite-secret-0123456789abcdef";

/// Who makes a token request.
#[derive(Copy, Clone, Debug)]
pub struct Cl {
    pub id: &'static str,
    /// `None` for a public client.
    pub secret: Option<&'static str>,
}

pub const WEB_C: Cl = Cl {
    id: WEB.0,
    secret: Some(WEB.1),
};
pub const SPA_C: Cl = Cl {
    id: SPA,
    secret: None,
};

/// A confidential client added by a test (its secret is [`SECRET`]).
pub const fn conf(id: &'static str) -> Cl {
    Cl {
        id,
        secret: Some(SECRET),
    }
}

/// A public client added by a test.
pub const fn public(id: &'static str) -> Cl {
    Cl { id, secret: None }
}

const SCOPES: &str =
    r#"scopes = ["openid", "profile", "email", "offline_access", "online_access", "api"]"#;

/// TOML for a confidential client `id` with `[clients.refresh_tokens]` lines `rt`.
pub fn conf_toml(id: &str, rt: &str) -> String {
    format!(
        "\n[[clients]]\nclient_id = \"{id}\"\nclient_secret = \"{SECRET}\"\nredirect_uris = [\"http://127.0.0.1:9/cb\"]\ngrant_types = [\"authorization_code\", \"refresh_token\", \"password\"]\n{SCOPES}\n[clients.refresh_tokens]\n{rt}\n"
    )
}

/// TOML for a public client `id` with `[clients.refresh_tokens]` lines `rt`.
pub fn public_toml(id: &str, rt: &str) -> String {
    format!(
        "\n[[clients]]\nclient_id = \"{id}\"\ntoken_endpoint_auth_method = \"none\"\nredirect_uris = [\"http://127.0.0.1:9/cb\"]\ngrant_types = [\"authorization_code\", \"refresh_token\", \"password\"]\n{SCOPES}\n[clients.refresh_tokens]\n{rt}\n"
    )
}

/// TOML for another user (password `{name}-password`, email `{name}@example.com`).
pub fn user_toml(name: &str) -> String {
    format!(
        "\n[[users]]\nusername = \"{name}\"\npassword = \"{name}-password\"\n[users.claims]\nemail = \"{name}@example.com\"\n"
    )
}

pub fn secs(n: i64) -> Dur {
    Dur::secs(n)
}

/// Changes client `id` in the store, as an admin would: applies on the next request.
pub async fn change_client(
    s: &TestServer,
    id: &str,
    f: impl FnOnce(&mut baton_core::model::Client),
) {
    let store = &s.state().store;
    let mut c = store.get_client(id).await.unwrap().unwrap();
    f(&mut c);
    store.upsert_client(&c).await.unwrap();
}

/// `v` percent-encoded for an `application/x-www-form-urlencoded` body.
pub fn form_encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// POSTs `/token` as `cl` (Basic for confidential clients, `client_id` for public ones).
pub async fn token_req(
    s: &TestServer,
    cl: Cl,
    form: &[(&str, &str)],
    user_agent: Option<&str>,
) -> (StatusCode, Value) {
    let mut form: Vec<(&str, &str)> = form.to_vec();
    let mut req = s.http.post(format!("{}/token", s.url));
    match cl.secret {
        Some(secret) => req = req.basic_auth(cl.id, Some(secret)),
        None => form.push(("client_id", cl.id)),
    }
    if let Some(ua) = user_agent {
        req = req.header(reqwest::header::USER_AGENT, ua);
    }
    let resp = req.form(&form).send().await.expect("token request");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// A password grant for `user` (password `{user}-password`, or alice's) as `cl`.
pub async fn login_as(s: &TestServer, cl: Cl, user: &str, scope: &str) -> Value {
    let pw = if user == ALICE.0 {
        ALICE.1.to_string()
    } else {
        format!("{user}-password")
    };
    let (st, v) = token_req(
        s,
        cl,
        &[
            ("grant_type", "password"),
            ("username", user),
            ("password", &pw),
            ("scope", scope),
        ],
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "password grant as {}: {v}", cl.id);
    v
}

/// A password grant for alice as `cl` with `openid offline_access`; its refresh token.
pub async fn login(s: &TestServer, cl: Cl) -> String {
    rt(&login_as(s, cl, ALICE.0, "openid offline_access").await)
}

pub async fn refresh(s: &TestServer, cl: Cl, token: &str) -> (StatusCode, Value) {
    token_req(
        s,
        cl,
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
        None,
    )
    .await
}

/// A refresh that must succeed; its response.
pub async fn refresh_ok(s: &TestServer, cl: Cl, token: &str) -> Value {
    let (st, v) = refresh(s, cl, token).await;
    assert_eq!(st, StatusCode::OK, "refresh as {} failed: {v}", cl.id);
    v
}

pub fn at(v: &Value) -> String {
    v["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no access_token in {v}"))
        .to_string()
}

/// What a refresh token says (grant id, generation, flags).
pub fn claims(s: &TestServer, token: &str) -> RefreshClaims {
    s.state()
        .rt_keys
        .open(token)
        .unwrap_or_else(|| panic!("not a token of this server: {token}"))
}

/// Every stored event, newest first.
pub async fn all_events(s: &TestServer) -> Vec<Event> {
    let q = EventQuery {
        limit: 100_000,
        ..Default::default()
    };
    s.state().store.list_events(&q).await.expect("events")
}

/// The status `/userinfo` answers for an access token (200 live, 401 inactive).
pub async fn userinfo(s: &TestServer, access: &str) -> StatusCode {
    s.http
        .get(format!("{}/userinfo", s.url))
        .bearer_auth(access)
        .send()
        .await
        .expect("userinfo")
        .status()
}

/// A refresh of `token` as `cl` on a connection of its own, sent but for the last byte
/// of its body: the server has its head and waits for the rest.
pub async fn half_sent(s: &TestServer, cl: Cl, token: &str) -> (tokio::net::TcpStream, u8) {
    use tokio::io::AsyncWriteExt;
    let host = s.url.trim_start_matches("http://").to_string();
    let (auth, body) = match cl.secret {
        Some(secret) => (
            format!(
                "Authorization: Basic {}\r\n",
                base64(format!("{}:{secret}", cl.id).as_bytes())
            ),
            format!(
                "grant_type=refresh_token&refresh_token={}",
                form_encode(token)
            ),
        ),
        None => (
            String::new(),
            format!(
                "grant_type=refresh_token&refresh_token={}&client_id={}",
                form_encode(token),
                form_encode(cl.id)
            ),
        ),
    };
    let (most, last) = body.as_bytes().split_at(body.len() - 1);
    let mut c = tokio::net::TcpStream::connect(&host).await.unwrap();
    let head = format!(
        "POST /token HTTP/1.1\r\nHost: {host}\r\n{auth}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    c.write_all(head.as_bytes()).await.unwrap();
    c.write_all(most).await.unwrap();
    (c, last[0])
}

/// Sends the last byte of a [`half_sent`] request; answers its status and body.
pub async fn finish(mut c: tokio::net::TcpStream, last: u8) -> (StatusCode, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    c.write_all(&[last]).await.unwrap();
    let mut buf = Vec::new();
    c.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf);
    let status: u16 = text.split(' ').nth(1).unwrap().parse().unwrap();
    let json = text.split("\r\n\r\n").nth(1).unwrap_or("");
    (
        StatusCode::from_u16(status).unwrap(),
        serde_json::from_str(json).unwrap_or(Value::Null),
    )
}

/// Sends `n` refreshes of `token` as `cl`, each on its own connection, so
/// that all of them have arrived before any can be answered: each request's head and all
/// but the last byte of its body go first, then the last bytes together. Answers the
/// status and body of each.
pub async fn arrive_together(
    s: &TestServer,
    cl: Cl,
    token: &str,
    n: usize,
) -> Vec<(StatusCode, Value)> {
    let mut conns = Vec::new();
    for _ in 0..n {
        conns.push(half_sent(s, cl, token).await);
    }
    // Every request's head has arrived; the server waits for the rest of each body
    // (which follows promptly: within the 100 ms that make a request count from its head).
    tokio::time::sleep(std::time::Duration::from_millis(40)).await;
    let finishing: Vec<_> = conns
        .into_iter()
        .map(|(c, last)| tokio::spawn(finish(c, last)))
        .collect();
    let mut out = Vec::new();
    for f in finishing {
        out.push(f.await.unwrap());
    }
    out
}

/// Standard base64 with padding (for a Basic authorization header).
fn base64(b: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &c)| n | (u32::from(c) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
