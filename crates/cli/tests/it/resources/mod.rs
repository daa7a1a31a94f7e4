//! Resources (APIs) and resource indicators (RFC 8707), roles, groups and claim
//! mapping, against a real server over HTTP.
//!
//! The fixture: two APIs the client `app` may request (`INVOICES`, a JWT API with its
//! own lifetime and algorithm that maps `roles` and `department`; `ORDERS`, a
//! reference-token API that maps `groups`), one it may not (`HIDDEN`), a client with a
//! default resource, a resource server that introspects `INVOICES`, and alice with
//! roles, groups and a department.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod claims;
mod indicators;
mod introspection;
mod stores;

use baton_testkit::flow::{exchange, AuthParams, Browser, ClientAuth};
pub use baton_testkit::flow::{jwt_claims as claims_of, jwt_header as header_of};
use baton_testkit::TestServer;
use reqwest::StatusCode;
use serde_json::Value;

pub const INVOICES: &str = "https://api.test/invoices";
pub const ORDERS: &str = "urn:test:orders";
pub const HIDDEN: &str = "https://api.test/hidden";
pub const SECRET: &str = "resources-suite-secret-0123456789abcdef";
pub const APP: ClientAuth<'static> = ClientAuth::Basic("app", SECRET);
pub const CB: &str = "http://127.0.0.1:9/cb";

/// The fixture's clients, users and resources; `extra` lines go into `app`'s
/// `[clients.refresh_tokens]`.
pub fn fixture(app_refresh: &str) -> String {
    format!(
        r#"
[[resources]]
identifier = "{INVOICES}"
name = "Invoices"
scopes = ["invoices.read", "invoices.write"]
scope_descriptions = {{ "invoices.read" = "see your invoices" }}
claims = ["roles", "department"]
signing_alg = "ES256"
access_token_lifetime = "2m"

[[resources]]
identifier = "{ORDERS}"
scopes = ["orders.read"]
access_token_format = "reference"
claims = ["groups"]

[[resources]]
identifier = "{HIDDEN}"
scopes = ["hidden.read"]

[[clients]]
client_id = "app"
client_name = "The App"
client_secret = "{SECRET}"
redirect_uris = ["{CB}"]
grant_types = ["authorization_code", "refresh_token", "password", "client_credentials"]
scopes = ["openid", "profile", "email", "offline_access", "invoices.read", "invoices.write", "orders.read", "hidden.read"]
resources = ["{INVOICES}", "{ORDERS}"]
id_token_claims = ["groups"]
userinfo_claims = ["roles"]
[clients.refresh_tokens]
usage = "one_time"
grace_period = "0s"
{app_refresh}

[[clients]]
client_id = "app-default"
client_secret = "{SECRET}"
redirect_uris = ["{CB}"]
grant_types = ["authorization_code", "refresh_token", "password", "client_credentials"]
scopes = ["openid", "offline_access", "invoices.read", "invoices.write"]
resources = ["{INVOICES}"]
default_resource = "{INVOICES}"

[[clients]]
client_id = "invoices-rs"
client_secret = "{SECRET}"
grant_types = ["client_credentials"]
scopes = []
introspect_resources = ["{INVOICES}"]

[[users]]
username = "alice"
password = "alice-password"
roles = ["accountant", "auditor"]
groups = ["finance"]
[users.claims]
email = "alice@example.com"
department = "ledger"
"#
    )
}

pub async fn start() -> TestServer {
    TestServer::start_raw(&fixture("")).await
}

/// Authorizes `client` for `scope` and `resources` (each a `resource` parameter) as
/// alice, consenting as needed; answers the code and the PKCE verifier.
pub async fn authorize(
    s: &TestServer,
    client: &str,
    scope: &str,
    resources: &[&str],
) -> (String, String) {
    let mut p = AuthParams::new(client, scope);
    for r in resources {
        p.extra.push(("resource".into(), r.to_string()));
    }
    let cb = Browser::shared(s).authorize_and_allow(&p).await;
    assert_eq!(cb.error(), None, "{}", cb.url);
    let verifier = p.pkce.as_ref().unwrap().verifier.clone();
    (cb.code().to_string(), verifier)
}

/// `/token` as `client` with `form`.
pub async fn token(
    s: &TestServer,
    client: ClientAuth<'_>,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    baton_testkit::flow::token_request(s, client, form).await
}

/// A code exchange naming `resource` (if any).
pub async fn exchange_for(
    s: &TestServer,
    client: ClientAuth<'_>,
    code: &str,
    verifier: &str,
    resource: Option<&str>,
) -> (StatusCode, Value) {
    match resource {
        None => exchange(s, client, code, CB, Some(verifier)).await,
        Some(r) => {
            let form = [
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", CB),
                ("code_verifier", verifier),
                ("resource", r),
            ];
            token(s, client, &form).await
        }
    }
}

/// A refresh naming `resource` (if any).
pub async fn refresh(
    s: &TestServer,
    client: ClientAuth<'_>,
    rt: &str,
    resource: Option<&str>,
) -> (StatusCode, Value) {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", rt)];
    if let Some(r) = resource {
        form.push(("resource", r));
    }
    token(s, client, &form).await
}

pub fn at(v: &Value) -> &str {
    v["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no access token in {v}"))
}

pub fn rt(v: &Value) -> String {
    v["refresh_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no refresh token in {v}"))
        .to_string()
}

/// An invalid_target answer.
#[track_caller]
pub fn assert_invalid_target(got: &(StatusCode, Value), why: &str) {
    assert_eq!(got.0, StatusCode::BAD_REQUEST, "{}", got.1);
    assert_eq!(got.1["error"], "invalid_target", "{}", got.1);
    let d = got.1["error_description"].as_str().unwrap_or("");
    assert!(d.contains(why), "description {d:?} should say {why:?}");
}
