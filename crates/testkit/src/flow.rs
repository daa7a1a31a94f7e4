//! The browser side of the authorization-code flow, driven over real HTTP with a
//! cookie-keeping client that does not follow redirects:
//! `/authorize` → `/login` (form) → `/consent` (form) → the client's redirect URI →
//! `/token`.
//!
//! Small steps ([`Browser::authorize`], [`Browser::login`], [`Browser::consent`],
//! [`Browser::drive`], [`exchange`]) compose into [`code_flow`], which answers the
//! token response of a full flow for alice.

// Test code: a failed step is a failed test, reported where it happened.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use crate::{TestServer, ALICE, SPA, WEB};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::{Response, StatusCode, Url};
use serde_json::Value;
use std::collections::HashMap;

/// The redirect URI of the `BASE_CLIENTS` clients.
pub const REDIRECT_URI: &str = "http://127.0.0.1:9/cb";

/// How a client authenticates at `/token`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth<'a> {
    /// `client_secret_basic`.
    Basic(&'a str, &'a str),
    /// `client_secret_post`.
    Post(&'a str, &'a str),
    /// A public client (`none`): only `client_id` in the body.
    None(&'a str),
}

impl<'a> ClientAuth<'a> {
    pub fn id(&self) -> &'a str {
        match *self {
            ClientAuth::Basic(id, _) | ClientAuth::Post(id, _) | ClientAuth::None(id) => id,
        }
    }
}

/// `"web"` is the confidential base client (Basic), `"spa"` and any other id a public one.
impl<'a> From<&'a str> for ClientAuth<'a> {
    fn from(id: &'a str) -> Self {
        if id == WEB.0 {
            ClientAuth::Basic(WEB.0, WEB.1)
        } else if id == SPA {
            ClientAuth::None(SPA)
        } else {
            ClientAuth::None(id)
        }
    }
}

/// `(id, secret)` authenticates with HTTP Basic.
impl<'a> From<(&'a str, &'a str)> for ClientAuth<'a> {
    fn from((id, secret): (&'a str, &'a str)) -> Self {
        ClientAuth::Basic(id, secret)
    }
}

/// A PKCE pair (RFC 7636, S256).
#[derive(Clone, Debug)]
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

impl Pkce {
    pub fn new() -> Pkce {
        Pkce::from_verifier(&URL_SAFE_NO_PAD.encode(baton_core::random_bytes::<32>()))
    }

    pub fn from_verifier(verifier: &str) -> Pkce {
        let challenge = URL_SAFE_NO_PAD.encode(baton_core::secret::sha256(verifier.as_bytes()));
        Pkce {
            verifier: verifier.to_string(),
            challenge,
        }
    }
}

impl Default for Pkce {
    fn default() -> Self {
        Pkce::new()
    }
}

/// The parameters of one authorization request.
#[derive(Clone, Debug)]
pub struct AuthParams {
    pub client_id: String,
    pub redirect_uri: Option<String>,
    pub scope: String,
    pub response_type: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    /// Sent as `code_challenge` + `code_challenge_method=S256`.
    pub pkce: Option<Pkce>,
    pub prompt: Option<String>,
    pub max_age: Option<i64>,
    /// Any further (or overriding) query parameters, appended as given.
    pub extra: Vec<(String, String)>,
}

impl AuthParams {
    /// A request with a fresh state, nonce and S256 PKCE pair, to `REDIRECT_URI`.
    pub fn new(client_id: &str, scope: &str) -> AuthParams {
        AuthParams {
            client_id: client_id.to_string(),
            redirect_uri: Some(REDIRECT_URI.to_string()),
            scope: scope.to_string(),
            response_type: "code".into(),
            state: Some(baton_core::random_id("st")),
            nonce: Some(baton_core::random_id("n")),
            pkce: Some(Pkce::new()),
            prompt: None,
            max_age: None,
            extra: Vec::new(),
        }
    }

    /// The query parameters, in order.
    pub fn query(&self) -> Vec<(String, String)> {
        let mut q = vec![
            ("response_type".to_string(), self.response_type.clone()),
            ("client_id".to_string(), self.client_id.clone()),
        ];
        let mut push = |k: &str, v: Option<&String>| {
            if let Some(v) = v {
                q.push((k.to_string(), v.clone()));
            }
        };
        push("redirect_uri", self.redirect_uri.as_ref());
        push("scope", Some(&self.scope));
        push("state", self.state.as_ref());
        push("nonce", self.nonce.as_ref());
        push("prompt", self.prompt.as_ref());
        push("max_age", self.max_age.map(|m| m.to_string()).as_ref());
        if let Some(p) = &self.pkce {
            q.push(("code_challenge".into(), p.challenge.clone()));
            q.push(("code_challenge_method".into(), "S256".into()));
        }
        q.extend(self.extra.iter().cloned());
        q
    }
}

/// Where a flow ended: the redirect back to the client, parsed.
#[derive(Clone, Debug)]
pub struct Callback {
    pub url: String,
    pub params: HashMap<String, String>,
}

impl Callback {
    /// Parses an absolute redirect URI with its query.
    pub fn parse(location: &str) -> Callback {
        let url = Url::parse(location).unwrap_or_else(|e| panic!("bad callback {location}: {e}"));
        let params = url.query_pairs().into_owned().collect();
        Callback {
            url: location.to_string(),
            params,
        }
    }

    pub fn get(&self, k: &str) -> Option<&str> {
        self.params.get(k).map(String::as_str)
    }

    pub fn code(&self) -> &str {
        self.get("code")
            .unwrap_or_else(|| panic!("no code in {}", self.url))
    }

    pub fn error(&self) -> Option<&str> {
        self.get("error")
    }

    /// The URL without its query, e.g. `http://127.0.0.1:9/cb`.
    pub fn base(&self) -> &str {
        self.url.split('?').next().unwrap_or("")
    }
}

/// The `Location` header of a response.
pub fn location(resp: &Response) -> Option<String> {
    resp.headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Every `Set-Cookie` header of a response.
pub fn set_cookies(resp: &Response) -> Vec<String> {
    resp.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect()
}

/// The `name`→`value` of every `<input type="hidden">` in a page (entities decoded).
pub fn hidden_inputs(html: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut rest = html;
    while let Some(i) = rest.find("<input") {
        rest = &rest[i + 6..];
        let tag = &rest[..rest.find('>').unwrap_or(rest.len())];
        if attr(tag, "type").as_deref() == Some("hidden") {
            if let Some(name) = attr(tag, "name") {
                out.insert(name, attr(tag, "value").unwrap_or_default());
            }
        }
    }
    out
}

/// The value of `name="..."` in the inside of a tag.
fn attr(tag: &str, name: &str) -> Option<String> {
    let pat = format!("{name}=\"");
    let mut from = 0;
    while let Some(i) = tag[from..].find(&pat) {
        let at = from + i;
        // A whole attribute name, not the tail of another (`data-name=`).
        if at == 0 || tag.as_bytes()[at - 1].is_ascii_whitespace() {
            let v = &tag[at + pat.len()..];
            let end = v.find('"')?;
            return Some(unescape(&v[..end]));
        }
        from = at + pat.len();
    }
    None
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A browser: a cookie jar (the server's own client, or a fresh one) against a server.
#[derive(Clone)]
pub struct Browser<'a> {
    pub server: &'a TestServer,
    pub http: reqwest::Client,
}

impl<'a> Browser<'a> {
    /// Shares `server.http` and its cookies (what the free functions use).
    pub fn shared(server: &'a TestServer) -> Browser<'a> {
        Browser {
            server,
            http: server.http.clone(),
        }
    }

    /// A new browser with an empty cookie jar.
    pub fn fresh(server: &'a TestServer) -> Browser<'a> {
        Browser {
            server,
            http: crate::client(),
        }
    }

    /// An absolute URL for a path (or an absolute URL unchanged).
    pub fn url(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with("http://") || path_or_url.starts_with("https://") {
            path_or_url.to_string()
        } else {
            format!("{}{path_or_url}", self.server.url)
        }
    }

    pub async fn get(&self, path_or_url: &str) -> Response {
        self.http
            .get(self.url(path_or_url))
            .send()
            .await
            .expect("GET")
    }

    /// POSTs a form (without following redirects).
    pub async fn post(&self, path: &str, form: &[(String, String)]) -> Response {
        self.http
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .expect("POST")
    }

    /// `GET /authorize` with these parameters.
    pub async fn authorize(&self, p: &AuthParams) -> Response {
        self.authorize_query(&p.query()).await
    }

    /// `GET /authorize` with exactly this query.
    pub async fn authorize_query(&self, q: &[(String, String)]) -> Response {
        self.http
            .get(format!("{}/authorize", self.server.url))
            .query(q)
            .send()
            .await
            .expect("GET /authorize")
    }

    /// GETs a page and answers its hidden inputs (the form's `req` and `csrf`).
    pub async fn form_fields(&self, page: &str) -> HashMap<String, String> {
        let resp = self.get(page).await;
        assert_eq!(resp.status(), StatusCode::OK, "GET {page}");
        hidden_inputs(&resp.text().await.expect("page body"))
    }

    /// Opens the login page at `login_location` (`/login?req=…`) and signs in.
    pub async fn login(&self, login_location: &str, username: &str, password: &str) -> Response {
        let mut form: Vec<(String, String)> =
            self.form_fields(login_location).await.into_iter().collect();
        form.push(("username".into(), username.into()));
        form.push(("password".into(), password.into()));
        self.post("/login", &form).await
    }

    /// Opens the consent page at `consent_location` and answers `allow` or `deny`.
    pub async fn consent(&self, consent_location: &str, decision: &str) -> Response {
        let mut form: Vec<(String, String)> = self
            .form_fields(consent_location)
            .await
            .into_iter()
            .collect();
        form.push(("decision".into(), decision.into()));
        self.post("/consent", &form).await
    }

    /// Follows a 303 chain from `resp` through login (as alice) and consent (answering
    /// `decision`) until it leaves the server; answers that redirect.
    pub async fn drive(&self, resp: Response, decision: &str) -> Callback {
        let mut resp = resp;
        for _ in 0..6 {
            assert_eq!(
                resp.status(),
                StatusCode::SEE_OTHER,
                "expected a redirect, got {}",
                resp.status()
            );
            let loc = location(&resp).expect("Location");
            if loc.starts_with("/login") {
                resp = self.login(&loc, ALICE.0, ALICE.1).await;
            } else if loc.starts_with("/consent") {
                resp = self.consent(&loc, decision).await;
            } else {
                return Callback::parse(&loc);
            }
        }
        panic!("the flow did not reach the client");
    }

    /// Authorizes, signs in and consents as needed; answers the redirect to the client.
    pub async fn authorize_and_allow(&self, p: &AuthParams) -> Callback {
        let resp = self.authorize(p).await;
        self.drive(resp, "allow").await
    }
}

/// `GET /authorize` with the server's shared browser.
pub async fn authorize(server: &TestServer, p: &AuthParams) -> Response {
    Browser::shared(server).authorize(p).await
}

/// Signs in on `login_location` with the server's shared browser.
pub async fn login(server: &TestServer, login_location: &str, user: &str, pw: &str) -> Response {
    Browser::shared(server)
        .login(login_location, user, pw)
        .await
}

/// Answers the consent page at `consent_location` with the server's shared browser.
pub async fn consent(server: &TestServer, consent_location: &str, decision: &str) -> Response {
    Browser::shared(server)
        .consent(consent_location, decision)
        .await
}

/// Exchanges a code at `/token`.
pub async fn exchange(
    server: &TestServer,
    client: ClientAuth<'_>,
    code: &str,
    redirect_uri: &str,
    verifier: Option<&str>,
) -> (StatusCode, Value) {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    token_request(server, client, &form).await
}

/// POSTs `form` to `/token` authenticated as `client`.
pub async fn token_request(
    server: &TestServer,
    client: ClientAuth<'_>,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut form = form.to_vec();
    let basic = match client {
        ClientAuth::Basic(id, s) => Some((id, s)),
        ClientAuth::Post(id, s) => {
            form.push(("client_id", id));
            form.push(("client_secret", s));
            None
        }
        ClientAuth::None(id) => {
            form.push(("client_id", id));
            None
        }
    };
    server.post_form("/token", basic, &form).await
}

/// What a full flow produced.
#[derive(Clone, Debug)]
pub struct Flow {
    pub params: AuthParams,
    pub callback: Callback,
    /// The token response.
    pub tokens: Value,
}

/// A full flow as alice with the shared browser: authorize (PKCE, state, nonce), sign in
/// and allow as needed, check `state` and `iss`, exchange the code.
pub async fn code_flow_full<'a>(
    server: &TestServer,
    client: impl Into<ClientAuth<'a>>,
    scope: &str,
) -> Flow {
    let client = client.into();
    let params = AuthParams::new(client.id(), scope);
    let callback = Browser::shared(server).authorize_and_allow(&params).await;
    assert_eq!(
        callback.error(),
        None,
        "authorization failed: {}",
        callback.url
    );
    assert_eq!(callback.get("state"), params.state.as_deref(), "state");
    assert_eq!(callback.get("iss"), Some(server.url.as_str()), "iss");
    let verifier = params.pkce.as_ref().map(|p| p.verifier.as_str());
    let (status, tokens) = exchange(server, client, callback.code(), REDIRECT_URI, verifier).await;
    assert_eq!(status, StatusCode::OK, "code exchange failed: {tokens}");
    Flow {
        params,
        callback,
        tokens,
    }
}

/// A full flow as alice; answers the token response.
pub async fn code_flow<'a>(
    server: &TestServer,
    client: impl Into<ClientAuth<'a>>,
    scope: &str,
) -> Value {
    code_flow_full(server, client, scope).await.tokens
}

/// Unpadded base64url, as JOSE uses it.
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes a JWT's claims without verifying (for assertions).
pub fn jwt_claims(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).expect("a JWT has three parts");
    let bytes = URL_SAFE_NO_PAD.decode(part).expect("base64url claims");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// Decodes a JWT's header without verifying.
pub fn jwt_header(jwt: &str) -> Value {
    let part = jwt.split('.').next().expect("a JWT has a header");
    let bytes = URL_SAFE_NO_PAD.decode(part).expect("base64url header");
    serde_json::from_slice(&bytes).expect("JSON header")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_inputs_are_extracted_and_unescaped() {
        let html = r#"<form><input type="hidden" name="req" value="a.b&amp;c">
            <input type="text" name="username"><input data-name="x" type="hidden" name="csrf" value="t&quot;"></form>"#;
        let h = hidden_inputs(html);
        assert_eq!(h.len(), 2);
        assert_eq!(h["req"], "a.b&c");
        assert_eq!(h["csrf"], "t\"");
    }

    #[test]
    fn pkce_pair_matches_rfc7636_appendix_b() {
        let p = Pkce::from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert_eq!(p.challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        let fresh = Pkce::new();
        assert!(baton_core::pkce::verify_s256(
            &fresh.verifier,
            &fresh.challenge
        ));
    }
}
