//! The admin API over real HTTP: every route's happy path, 401, 400 per
//! field and 404; settings changes and what they do to new and old grants.

mod clients;
mod grants;
mod keys;
mod managed;
mod multinode;
mod openapi;
mod resources;
mod settings;
mod users;

use baton_testkit::{TestServer, ADMIN_TOKEN};
use reqwest::Method;
use serde_json::Value;

/// An admin call with the right token; `body` is sent as raw JSON text.
pub async fn call(s: &TestServer, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
    call_as(s, Some(ADMIN_TOKEN), method, path, body).await
}

/// An admin call with `token` (or none).
pub async fn call_as(
    s: &TestServer,
    token: Option<&str>,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> (u16, Value) {
    let m = Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = s.http.request(m, format!("{}{path}", s.url));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let v = resp.json::<Value>().await.unwrap_or(Value::Null);
    (status, v)
}

/// The key ids `/jwks` publishes.
pub async fn jwks_kids(s: &TestServer) -> Vec<String> {
    let v = crate::support::get_json(s, "/jwks").await;
    v["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

/// Asserts a 400 whose description names `field`.
pub fn assert_bad(st: u16, v: &Value, field: &str) {
    assert_eq!(st, 400, "{v}");
    assert_eq!(v["error"], "invalid_request", "{v}");
    let d = v["error_description"].as_str().unwrap_or("");
    assert!(d.contains(field), "description should name `{field}`: {v}");
}
