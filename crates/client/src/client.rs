//! The request layer (what IdentityModel does for .NET): one method per OAuth request,
//! each answering the parsed success response or a typed [`Error`].

use crate::auth::ClientAuth;
use crate::dpop::{asks_for_nonce, DpopKey};
use crate::error::{Error, ErrorCode, OAuthError, Result};
use crate::pkce::Pkce;
use crate::token::TokenResponse;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// Where the server's endpoints are. Build it by hand or with [`Endpoints::discover`].
#[derive(Clone, Debug, Default, Deserialize)]
#[non_exhaustive]
pub struct Endpoints {
    /// The issuer identifier, when known.
    #[serde(default)]
    pub issuer: Option<String>,
    /// `token_endpoint` (required for every grant).
    #[serde(default)]
    pub token_endpoint: Option<String>,
    /// `authorization_endpoint` (the code flow).
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    /// `revocation_endpoint` (RFC 7009).
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    /// `introspection_endpoint` (RFC 7662).
    #[serde(default)]
    pub introspection_endpoint: Option<String>,
    /// `userinfo_endpoint` (OpenID Connect).
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
}

impl Endpoints {
    /// Only a token endpoint (enough for refresh and client credentials).
    pub fn token_only(token_endpoint: &str) -> Endpoints {
        Endpoints {
            token_endpoint: Some(token_endpoint.to_string()),
            ..Endpoints::default()
        }
    }

    /// Sets the authorization endpoint.
    pub fn with_authorization(mut self, url: &str) -> Self {
        self.authorization_endpoint = Some(url.to_string());
        self
    }

    /// Sets the revocation endpoint.
    pub fn with_revocation(mut self, url: &str) -> Self {
        self.revocation_endpoint = Some(url.to_string());
        self
    }

    /// Sets the introspection endpoint.
    pub fn with_introspection(mut self, url: &str) -> Self {
        self.introspection_endpoint = Some(url.to_string());
        self
    }

    /// Reads the server metadata of `issuer`: OpenID Connect discovery
    /// (`/.well-known/openid-configuration`), then RFC 8414
    /// (`/.well-known/oauth-authorization-server`, inserted before the issuer's path).
    /// The document's `issuer` must equal `issuer`.
    pub async fn discover(http: &reqwest::Client, issuer: &str) -> Result<Endpoints> {
        let base = issuer.trim_end_matches('/');
        let parsed = Url::parse(base).map_err(|e| Error::Config(format!("issuer: {e}")))?;
        let path = parsed.path().trim_end_matches('/').to_string();
        let origin = parsed.origin().ascii_serialization();
        let candidates = [
            format!("{base}/.well-known/openid-configuration"),
            format!("{origin}/.well-known/oauth-authorization-server{path}"),
        ];
        let mut last = Error::Config(format!("no metadata found for {issuer}"));
        for url in candidates {
            let resp = match http.get(&url).send().await {
                Ok(r) => r,
                Err(e) => {
                    last = Error::transport(e);
                    continue;
                }
            };
            let status = resp.status().as_u16();
            if status != 200 {
                last = Error::UnexpectedResponse {
                    status,
                    detail: format!("GET {url}"),
                };
                continue;
            }
            let meta: Endpoints = resp.json().await.map_err(|e| Error::UnexpectedResponse {
                status,
                detail: format!("metadata is not valid JSON: {e}"),
            })?;
            let same = meta.issuer.as_deref().map(|i| i.trim_end_matches('/')) == Some(base);
            if !same {
                return Err(Error::UnexpectedResponse {
                    status,
                    detail: format!("metadata issuer {:?} is not {issuer}", meta.issuer),
                });
            }
            return Ok(meta);
        }
        Err(last)
    }
}

/// The answer of token introspection (RFC 7662). Members other than `active` are present
/// only for active tokens, and only those the server chose to send.
#[derive(Clone, Debug, Deserialize)]
#[non_exhaustive]
pub struct Introspection {
    pub active: bool,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub token_type: Option<String>,
    #[serde(default)]
    pub exp: Option<i64>,
    #[serde(default)]
    pub iat: Option<i64>,
    #[serde(default)]
    pub sub: Option<String>,
    #[serde(default)]
    pub aud: Option<serde_json::Value>,
    #[serde(default)]
    pub iss: Option<String>,
    /// Every member, as received.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// An OAuth client of one authorization server.
///
/// ```no_run
/// use baton_client::{ClientAuth, Endpoints, OAuthClient};
/// # async fn run() -> Result<(), baton_client::Error> {
/// let client = OAuthClient::discover(
///     "https://login.example.com",
///     "my-service",
///     ClientAuth::SecretBasic("s3cret".into()),
/// ).await?;
/// let tokens = client.client_credentials(Some("api")).await?;
/// println!("expires in {:?} s", tokens.expires_in);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct OAuthClient {
    http: reqwest::Client,
    endpoints: Endpoints,
    client_id: String,
    auth: ClientAuth,
    dpop: Option<Arc<DpopKey>>,
}

/// The HTTP client this crate builds when given none: no redirects followed (a token
/// endpoint that redirects is misconfigured), a 10 s request timeout, so that a retry
/// after a lost response still falls inside a server's refresh grace period.
pub fn default_http_client() -> Result<reqwest::Client> {
    #[cfg(feature = "rustls")]
    {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| Error::Config(format!("HTTP client: {e}")))
}

impl OAuthClient {
    /// A client with explicit endpoints and the [`default_http_client`].
    pub fn new(endpoints: Endpoints, client_id: &str, auth: ClientAuth) -> Result<OAuthClient> {
        Ok(OAuthClient {
            http: default_http_client()?,
            endpoints,
            client_id: client_id.to_string(),
            auth,
            dpop: None,
        })
    }

    /// A client of the server `issuer`, its endpoints read by [`Endpoints::discover`].
    pub async fn discover(issuer: &str, client_id: &str, auth: ClientAuth) -> Result<OAuthClient> {
        let http = default_http_client()?;
        let endpoints = Endpoints::discover(&http, issuer).await?;
        Ok(OAuthClient {
            http,
            endpoints,
            client_id: client_id.to_string(),
            auth,
            dpop: None,
        })
    }

    /// Uses this HTTP client for every request (proxies, TLS roots, timeouts).
    pub fn with_http_client(mut self, http: reqwest::Client) -> Self {
        self.http = http;
        self
    }

    /// Sends a DPoP proof (RFC 9449) of `key` with every request to the server, and
    /// answers `use_dpop_nonce` by repeating the request once with the server's nonce.
    /// Tokens issued then are DPoP-bound (`token_type` `DPoP`); [`crate::AuthorizedClient`]
    /// sends proofs for them too.
    pub fn with_dpop(mut self, key: Arc<DpopKey>) -> Self {
        self.dpop = Some(key);
        self
    }

    /// The DPoP key, if any.
    pub fn dpop(&self) -> Option<&Arc<DpopKey>> {
        self.dpop.as_ref()
    }

    /// The HTTP client in use.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The endpoints in use.
    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// The `client_id`.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The authorization request URL of the code flow with PKCE (`S256`), to open in a
    /// browser. `extra` parameters (e.g. `nonce`, `prompt`) are appended as given.
    pub fn authorization_url(
        &self,
        redirect_uri: &str,
        scope: &str,
        state: &str,
        pkce: &Pkce,
        extra: &[(&str, &str)],
    ) -> Result<Url> {
        let ep = self
            .endpoints
            .authorization_endpoint
            .as_deref()
            .ok_or_else(|| Error::Config("no authorization_endpoint".into()))?;
        let mut url =
            Url::parse(ep).map_err(|e| Error::Config(format!("authorization_endpoint: {e}")))?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &self.client_id)
                .append_pair("redirect_uri", redirect_uri)
                .append_pair("state", state)
                .append_pair("code_challenge", pkce.challenge())
                .append_pair("code_challenge_method", "S256");
            if !scope.is_empty() {
                q.append_pair("scope", scope);
            }
            for (k, v) in extra {
                q.append_pair(k, v);
            }
        }
        Ok(url)
    }

    /// Exchanges an authorization code (RFC 6749 §4.1.3) with its PKCE verifier.
    pub async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
        code_verifier: &str,
    ) -> Result<TokenResponse> {
        self.token_request(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", code_verifier),
        ])
        .await
    }

    /// A refresh request (RFC 6749 §6). Prefer [`crate::UserTokenManager`], which
    /// stores the rotated token before anyone uses it and retries lost responses.
    pub async fn refresh(&self, refresh_token: &str, scope: Option<&str>) -> Result<TokenResponse> {
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ];
        if let Some(s) = scope {
            form.push(("scope", s));
        }
        self.token_request(&form).await
    }

    /// A client-credentials request (RFC 6749 §4.4).
    pub async fn client_credentials(&self, scope: Option<&str>) -> Result<TokenResponse> {
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(s) = scope {
            form.push(("scope", s));
        }
        self.token_request(&form).await
    }

    /// Any token request: `form` plus the client's authentication.
    pub async fn token_request(&self, form: &[(&str, &str)]) -> Result<TokenResponse> {
        let ep = self.endpoint(self.endpoints.token_endpoint.as_deref(), "token_endpoint")?;
        let (status, bytes) = self.post(&ep, form).await?;
        let body = json(status, &bytes)?;
        if status != 200 {
            return Err(oauth_error(status, &body));
        }
        serde_json::from_value::<TokenResponse>(body).map_err(|e| Error::UnexpectedResponse {
            status,
            detail: format!("not a token response: {e}"),
        })
    }

    /// Revokes a token (RFC 7009); `hint` is `refresh_token` or `access_token`.
    /// An unknown or already revoked token is success, as the RFC says.
    pub async fn revoke(&self, token: &str, hint: Option<&str>) -> Result<()> {
        let ep = self.endpoint(
            self.endpoints.revocation_endpoint.as_deref(),
            "revocation_endpoint",
        )?;
        let mut form = vec![("token", token)];
        if let Some(h) = hint {
            form.push(("token_type_hint", h));
        }
        let (status, bytes) = self.post(&ep, &form).await?;
        if status == 200 {
            return Ok(());
        }
        let body = json(status, &bytes).unwrap_or(serde_json::Value::Null);
        Err(oauth_error(status, &body))
    }

    /// Introspects a token (RFC 7662).
    pub async fn introspect(&self, token: &str, hint: Option<&str>) -> Result<Introspection> {
        let ep = self.endpoint(
            self.endpoints.introspection_endpoint.as_deref(),
            "introspection_endpoint",
        )?;
        let mut form = vec![("token", token)];
        if let Some(h) = hint {
            form.push(("token_type_hint", h));
        }
        let (status, bytes) = self.post(&ep, &form).await?;
        let body = json(status, &bytes)?;
        if status != 200 {
            return Err(oauth_error(status, &body));
        }
        serde_json::from_value(body).map_err(|e| Error::UnexpectedResponse {
            status,
            detail: format!("not an introspection response: {e}"),
        })
    }

    fn endpoint(&self, ep: Option<&str>, name: &str) -> Result<String> {
        ep.map(str::to_string)
            .ok_or_else(|| Error::Config(format!("no {name} configured or discovered")))
    }

    /// POSTs `form` with the client's authentication (and a DPoP proof); answers the
    /// status and the whole body.
    async fn post(&self, endpoint: &str, form: &[(&str, &str)]) -> Result<(u16, Vec<u8>)> {
        let mut attempt = 0;
        loop {
            let mut body: Vec<(String, String)> = form
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let mut req = self
                .http
                .post(endpoint)
                .header(reqwest::header::ACCEPT, "application/json");
            if let Some(d) = &self.dpop {
                req = req.header("DPoP", d.proof("POST", endpoint, None)?);
            }
            let req = self.auth.apply(&self.client_id, endpoint, &mut body, req)?;
            let resp = req.form(&body).send().await.map_err(Error::transport)?;
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let fresh_nonce = self
                .dpop
                .as_ref()
                .is_some_and(|d| d.remember_nonce(endpoint, &headers));
            // A body cut off mid-way is a lost response: the request did reach the server.
            let bytes = resp.bytes().await.map_err(Error::transport)?.to_vec();
            if fresh_nonce && attempt == 0 && asks_for_nonce(status, &bytes, &headers) {
                attempt += 1;
                continue;
            }
            return Ok((status, bytes));
        }
    }
}

fn json(status: u16, bytes: &[u8]) -> Result<serde_json::Value> {
    serde_json::from_slice(bytes).map_err(|_| Error::UnexpectedResponse {
        status,
        detail: format!("body is not JSON ({} bytes)", bytes.len()),
    })
}

/// An RFC 6749 §5.2 error from a response body, or [`Error::UnexpectedResponse`].
fn oauth_error(status: u16, body: &serde_json::Value) -> Error {
    let s = |k: &str| body.get(k).and_then(|v| v.as_str()).map(str::to_string);
    match s("error") {
        Some(code) => Error::OAuth(OAuthError {
            error: ErrorCode::parse(&code),
            description: s("error_description"),
            uri: s("error_uri"),
            status,
        }),
        None => Error::UnexpectedResponse {
            status,
            detail: "no `error` member".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    /// With the default features the default client speaks HTTPS: a request to an https
    /// address where nothing listens is refused by the operating system, not for want of TLS
    /// (without the `rustls` feature reqwest refuses the scheme before connecting).
    #[tokio::test]
    async fn the_default_client_speaks_https() {
        let http = super::default_http_client().unwrap();
        let err = http.get("https://127.0.0.1:9/").send().await.unwrap_err();
        // the TCP connection was tried (and refused): the https URL itself was accepted
        let mut refused = false;
        let mut source: Option<&dyn std::error::Error> = Some(&err);
        while let Some(e) = source {
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                refused |= io.kind() == std::io::ErrorKind::ConnectionRefused;
            }
            source = e.source();
        }
        assert!(refused, "{err:?}");
    }
}
