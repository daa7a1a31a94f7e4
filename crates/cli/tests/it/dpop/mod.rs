//! DPoP (RFC 9449): proofs at the token endpoint (each rule broken in turn, replay,
//! nonces), what a proof binds (access tokens, a public client's grant for life, a code
//! through `dpop_jkt`) across rotation, grace, restart, Redis and several nodes, and
//! DPoP-bound tokens at userinfo and introspection.

mod binding;
mod proofs;
mod resources;

pub use baton_testkit::dpop::{b64url, jwt_claims, ProofKey};
use baton_testkit::{TestServer, ALICE, SPA, WEB};
use reqwest::header::HeaderMap;
use serde_json::Value;

/// A token endpoint answer, headers included (`DPoP-Nonce`).
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub headers: HeaderMap,
}

impl Answer {
    #[track_caller]
    pub fn ok(&self) -> &Value {
        assert_eq!(self.status, 200, "{}", self.body);
        &self.body
    }

    /// A refusal with this status and error code.
    #[track_caller]
    pub fn refused(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.body["error"], code, "{}", self.body);
    }

    /// An `invalid_dpop_proof` refusal whose description contains `why`.
    #[track_caller]
    pub fn bad_proof(&self, why: &str) {
        self.refused(400, "invalid_dpop_proof");
        let d = self.body["error_description"].as_str().unwrap_or("");
        assert!(d.contains(why), "description {d:?} should say {why:?}");
    }
}

/// POSTs `form` to `{url}/token` with these `DPoP` headers (any number).
pub async fn token_at(
    url: &str,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
    proofs: &[&str],
) -> Answer {
    let mut req = baton_testkit::client()
        .post(format!("{url}/token"))
        .form(form);
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    for p in proofs {
        req = req.header("dpop", *p);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body = r.json().await.unwrap_or(Value::Null);
    Answer {
        status,
        body,
        headers,
    }
}

/// The token endpoint's URL (the `htu` of its proofs).
pub fn token_url(s: &TestServer) -> String {
    format!("{}/token", s.url)
}

/// A proof of `key` for the token endpoint of the server at `url`.
pub fn proof(key: &ProofKey, url: &str) -> String {
    key.proof("POST", &format!("{url}/token"))
}

/// A password grant of alice with the public client, with a proof of `key` if given.
pub async fn public_login_at(url: &str, key: Option<&ProofKey>) -> Answer {
    let form = [
        ("grant_type", "password"),
        ("client_id", SPA),
        ("username", ALICE.0),
        ("password", ALICE.1),
        ("scope", "openid offline_access"),
    ];
    let p = key.map(|k| proof(k, url));
    let proofs: Vec<&str> = p.iter().map(String::as_str).collect();
    token_at(url, None, &form, &proofs).await
}

/// A refresh with the public client, with a proof of `key` if given.
pub async fn public_refresh_at(url: &str, refresh_token: &str, key: Option<&ProofKey>) -> Answer {
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", SPA),
        ("refresh_token", refresh_token),
    ];
    let p = key.map(|k| proof(k, url));
    let proofs: Vec<&str> = p.iter().map(String::as_str).collect();
    token_at(url, None, &form, &proofs).await
}

/// A client-credentials request of the confidential client with these proofs.
pub async fn client_credentials(s: &TestServer, proofs: &[&str]) -> Answer {
    token_at(
        &s.url,
        Some(WEB),
        &[("grant_type", "client_credentials"), ("scope", "api")],
        proofs,
    )
    .await
}

/// The refresh token of an answer.
pub fn rt(a: &Answer) -> String {
    crate::support::rt(a.ok())
}

/// The access token of an answer.
pub fn at(a: &Answer) -> String {
    a.ok()["access_token"].as_str().unwrap().to_string()
}
