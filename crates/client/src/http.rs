//! Calling APIs with managed tokens: [`AuthorizedClient`] adds `Authorization` from a
//! [`TokenSource`] and, on `401` with `error="invalid_token"`, renews once and retries once.

use crate::dpop::DpopKey;
use crate::error::{Error, Result};
use crate::manager::{ClientCredentialsManager, UserTokenManager};
use crate::token::AccessToken;
use std::future::Future;
use std::sync::Arc;

/// Something that provides access tokens and can renew a rejected one.
pub trait TokenSource: Send + Sync {
    /// A token to use now.
    fn token(&self) -> impl Future<Output = Result<AccessToken>> + Send;
    /// A token other than `rejected`, which a resource server refused.
    fn renew(&self, rejected: &str) -> impl Future<Output = Result<AccessToken>> + Send;
    /// The DPoP key the tokens are bound to, if any.
    fn dpop(&self) -> Option<Arc<DpopKey>> {
        None
    }
}

/// The tokens of one key of a [`UserTokenManager`].
#[derive(Clone, Debug)]
pub struct UserTokens {
    pub manager: UserTokenManager,
    pub key: String,
}

impl TokenSource for UserTokens {
    fn token(&self) -> impl Future<Output = Result<AccessToken>> + Send {
        self.manager.access_token(&self.key)
    }

    fn renew(&self, rejected: &str) -> impl Future<Output = Result<AccessToken>> + Send {
        self.manager.renew(&self.key, rejected)
    }

    fn dpop(&self) -> Option<Arc<DpopKey>> {
        self.manager.client().dpop().cloned()
    }
}

/// The client-credentials tokens of one scope.
#[derive(Clone, Debug)]
pub struct ClientTokens {
    pub manager: ClientCredentialsManager,
    pub scope: Option<String>,
}

impl TokenSource for ClientTokens {
    fn token(&self) -> impl Future<Output = Result<AccessToken>> + Send {
        self.manager.access_token(self.scope.as_deref())
    }

    fn renew(&self, rejected: &str) -> impl Future<Output = Result<AccessToken>> + Send {
        self.manager.renew(self.scope.as_deref(), rejected)
    }

    fn dpop(&self) -> Option<Arc<DpopKey>> {
        self.manager.client().dpop().cloned()
    }
}

/// A `reqwest` client whose requests carry a managed access token.
///
/// ```no_run
/// use baton_client::{AuthorizedClient, ClientTokens};
/// # async fn run(tokens: baton_client::ClientCredentialsManager) -> Result<(), baton_client::Error> {
/// let api = AuthorizedClient::new(
///     baton_client::default_http_client()?,
///     ClientTokens { manager: tokens, scope: Some("api".into()) },
/// );
/// let resp = api.send(api.http().get("https://api.example.com/reports")).await?;
/// println!("{}", resp.status());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct AuthorizedClient<S> {
    http: reqwest::Client,
    source: S,
}

impl<S: TokenSource> AuthorizedClient<S> {
    pub fn new(http: reqwest::Client, source: S) -> Self {
        AuthorizedClient { http, source }
    }

    /// The underlying client, to build requests with.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The token source.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// Sends `req` with `Authorization: Bearer …` (or `DPoP …` with a proof, for a
    /// DPoP-bound token). On `401` whose `WWW-Authenticate` says `invalid_token`, renews
    /// the token once and sends the request once more; on a DPoP `use_dpop_nonce`
    /// challenge, sends it once more with the server's nonce. A request whose body cannot
    /// be cloned (a stream) is not repeated. Other statuses are answered as they are.
    pub async fn send(&self, req: reqwest::RequestBuilder) -> Result<reqwest::Response> {
        let mut request = req
            .build()
            .map_err(|e| Error::Config(format!("request: {e}")))?;
        let dpop = self.source.dpop();
        let mut token = self.source.token().await?;
        let (mut renewed, mut nonce_retried) = (false, false);
        loop {
            let next = request.try_clone();
            let url = request.url().to_string();
            let resp = self.execute(request, &token, dpop.as_deref()).await?;
            let Some(next) = next else { return Ok(resp) };
            let fresh_nonce = dpop
                .as_ref()
                .is_some_and(|d| d.remember_nonce(&url, resp.headers()));
            if fresh_nonce && !nonce_retried && challenge_contains(&resp, "use_dpop_nonce") {
                nonce_retried = true;
            } else if !renewed && challenge_contains(&resp, "invalid_token") {
                token = self.source.renew(&token.token).await?;
                renewed = true;
            } else {
                return Ok(resp);
            }
            request = next;
        }
    }

    async fn execute(
        &self,
        mut req: reqwest::Request,
        token: &AccessToken,
        dpop: Option<&DpopKey>,
    ) -> Result<reqwest::Response> {
        let value = reqwest::header::HeaderValue::from_str(&token.header_value())
            .map_err(|_| Error::Config("the access token is not a valid header value".into()))?;
        req.headers_mut()
            .insert(reqwest::header::AUTHORIZATION, value);
        if let (true, Some(d)) = (token.token_type.eq_ignore_ascii_case("dpop"), dpop) {
            let proof = d.proof(
                req.method().as_str(),
                req.url().as_str(),
                Some(&token.token),
            )?;
            let value = reqwest::header::HeaderValue::from_str(&proof)
                .map_err(|_| Error::Config("DPoP proof is not a valid header value".into()))?;
            req.headers_mut().insert("DPoP", value);
        }
        self.http.execute(req).await.map_err(Error::transport)
    }
}

/// A 401 whose `WWW-Authenticate` challenge names `code` (RFC 6750 §3.1, RFC 9449 §9).
fn challenge_contains(resp: &reqwest::Response, code: &str) -> bool {
    resp.status() == reqwest::StatusCode::UNAUTHORIZED
        && resp
            .headers()
            .get_all(reqwest::header::WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains(code))
}
