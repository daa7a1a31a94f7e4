//! The authorization request as a MAC'd handle carried through the login and consent
//! forms, and the CSRF token that binds a form to a browser.

use crate::state::AppState;
use axum::http::{header, HeaderMap};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use baton_core::scope::Scope;
use baton_core::time::{Dur, Timestamp};
use ring::hmac;
use serde::{Deserialize, Serialize};

/// How long a user has to finish signing in and consenting.
pub const HANDLE_LIFETIME: Dur = Dur::secs(600);

pub const CSRF_COOKIE: &str = "baton_csrf";

/// The CSRF cookie's name. With an https issuer it carries the `__Host-` prefix: the
/// browser then accepts it only `Secure`, with `Path=/` and no `Domain`, so a sibling
/// subdomain cannot plant or overwrite it (and a cookie without the prefix is not read).
pub fn csrf_cookie_name(st: &AppState) -> &'static str {
    if st.secure_cookies() {
        "__Host-baton_csrf"
    } else {
        CSRF_COOKIE
    }
}

/// The browser's CSRF cookie, if the request carries it.
pub fn csrf_cookie_value(st: &AppState, headers: &HeaderMap) -> Option<String> {
    cookie(headers, csrf_cookie_name(st))
}

/// A validated authorization request.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    /// Serialised as its space-joined string.
    pub scope: Scope,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub nonce: Option<String>,
    #[serde(default)]
    pub code_challenge: Option<String>,
    /// RFC 9449 §10: the thumbprint of the DPoP key the code is bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_jkt: Option<String>,
    /// RFC 8707: the resources (APIs) asked for, or the client's default one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    #[serde(default)]
    pub prompt: Vec<String>,
    #[serde(default)]
    pub max_age: Option<i64>,
    /// When the request was made (ms): a login after this satisfies `prompt=login`.
    pub issued_at: i64,
    /// The request omitted `redirect_uri` (the client's only registered one is used):
    /// the token request then need not repeat it (RFC 6749 §4.1.3).
    #[serde(default)]
    pub redirect_uri_omitted: bool,
    /// Not an authorization: a sign-in for `/account` (no client), which returns there.
    #[serde(default)]
    pub account: bool,
    /// With `account`: the page of ours to return to instead of `/account` (a console
    /// page; see [`AuthRequest::return_path`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_to: Option<String>,
}

impl AuthRequest {
    pub fn prompts(&self, p: &str) -> bool {
        self.prompt.iter().any(|x| x == p)
    }

    /// Where a sign-in for one of our own pages (`account`) returns: `return_to` when
    /// it is a console path (never another origin: no `//`, no `\\`, no scheme), else
    /// `/account`.
    pub fn return_path(&self) -> &str {
        match self.return_to.as_deref() {
            Some(p)
                if (p == "/console"
                    || p.starts_with("/console/")
                    || p.starts_with("/console?"))
                    && !p.contains("//")
                    && !p.contains('\\')
                    && p.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                p
            }
            _ => "/account",
        }
    }
}

pub fn seal(st: &AppState, r: &AuthRequest) -> String {
    let json = serde_json::to_vec(r).unwrap_or_default();
    let tag = hmac::sign(&st.page_key, &[b"req:".as_slice(), &json].concat());
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(&json),
        URL_SAFE_NO_PAD.encode(tag.as_ref())
    )
}

/// Opens a handle; `None` if forged, altered or older than `HANDLE_LIFETIME`.
pub fn open(st: &AppState, h: &str, now: Timestamp) -> Option<AuthRequest> {
    if h.len() > 16 * 1024 {
        return None;
    }
    let (j, t) = h.split_once('.')?;
    let json = URL_SAFE_NO_PAD.decode(j).ok()?;
    let tag = URL_SAFE_NO_PAD.decode(t).ok()?;
    hmac::verify(&st.page_key, &[b"req:".as_slice(), &json].concat(), &tag).ok()?;
    let r: AuthRequest = serde_json::from_slice(&json).ok()?;
    (now.since(Timestamp(r.issued_at)) < HANDLE_LIFETIME).then_some(r)
}

/// The value of a cookie, if the request carries it.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The CSRF token for a form: bound to the browser's CSRF cookie and the request.
pub fn csrf_token(st: &AppState, cookie_value: &str, handle: &str) -> String {
    let tag = hmac::sign(
        &st.page_key,
        format!("csrf:{cookie_value}:{handle}").as_bytes(),
    );
    URL_SAFE_NO_PAD.encode(tag.as_ref())
}

pub fn csrf_ok(
    st: &AppState,
    cookie_value: Option<&str>,
    handle: &str,
    presented: Option<&str>,
) -> bool {
    let (Some(c), Some(p)) = (cookie_value, presented) else {
        return false;
    };
    let Ok(tag) = URL_SAFE_NO_PAD.decode(p) else {
        return false;
    };
    hmac::verify(&st.page_key, format!("csrf:{c}:{handle}").as_bytes(), &tag).is_ok()
}

/// A `Set-Cookie` value with the flags SPEC §3 requires.
pub fn set_cookie(st: &AppState, name: &str, value: &str, max_age: Option<i64>) -> String {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if st.secure_cookies() {
        c.push_str("; Secure");
    }
    if let Some(m) = max_age {
        c.push_str(&format!("; Max-Age={m}"));
    }
    c
}
