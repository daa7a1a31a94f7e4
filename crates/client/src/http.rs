//! Calling APIs with managed tokens: [`AuthorizedClient`] adds `Authorization` from a
//! [`TokenSource`] and, on `401` with `error="invalid_token"`, renews once and retries once.

use crate::error::{Error, Result};
use crate::manager::{ClientCredentialsManager, UserTokenManager};
use crate::token::AccessToken;
use std::future::Future;

/// Something that provides access tokens and can renew a rejected one.
pub trait TokenSource: Send + Sync {
    /// A token to use now.
    fn token(&self) -> impl Future<Output = Result<AccessToken>> + Send;
    /// A token other than `rejected`, which a resource server refused.
    fn renew(&self, rejected: &str) -> impl Future<Output = Result<AccessToken>> + Send;
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
}

/// A `reqwest` client whose requests carry a managed access token.
///
/// ```no_run
/// use baton_client::{AuthorizedClient, ClientTokens};
/// # async fn run(tokens: baton_client::ClientCredentialsManager) -> Result<(), baton_client::Error> {
/// let api = AuthorizedClient::new(
///     reqwest::Client::new(),
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

    /// Sends `req` with `Authorization: Bearer …`. On `401` whose `WWW-Authenticate`
    /// says `invalid_token`, renews the token once and sends the request once more (a
    /// request whose body cannot be cloned, a stream, is not retried). Other statuses are
    /// answered as they are.
    pub async fn send(&self, req: reqwest::RequestBuilder) -> Result<reqwest::Response> {
        let retry = req.try_clone();
        let token = self.source.token().await?;
        let resp = req
            .header(reqwest::header::AUTHORIZATION, token.header_value())
            .send()
            .await
            .map_err(Error::transport)?;
        let Some(retry) = retry else { return Ok(resp) };
        if !is_invalid_token(&resp) {
            return Ok(resp);
        }
        let token = self.source.renew(&token.token).await?;
        retry
            .header(reqwest::header::AUTHORIZATION, token.header_value())
            .send()
            .await
            .map_err(Error::transport)
    }
}

/// A 401 whose challenge names `invalid_token` (RFC 6750 §3.1).
fn is_invalid_token(resp: &reqwest::Response) -> bool {
    resp.status() == reqwest::StatusCode::UNAUTHORIZED
        && resp
            .headers()
            .get_all(reqwest::header::WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains("invalid_token"))
}
