//! # baton-client
//!
//! An OAuth 2.0 / OpenID Connect client library that gets refresh right, for Rust
//! services, CLIs and desktop apps. It talks to any RFC 6749 / RFC 8414 / OpenID Connect
//! server (Baton or any other), through discovery or explicit endpoints.
//!
//! - **Requests** ([`OAuthClient`]): code exchange with PKCE, refresh, client
//!   credentials, revocation (RFC 7009), introspection (RFC 7662); client authentication
//!   `client_secret_basic`, `client_secret_post`, `private_key_jwt` (ES256) and `none`;
//!   error responses as a typed [`OAuthError`].
//! - **Token management**: [`ClientCredentialsManager`] caches service tokens per scope;
//!   [`UserTokenManager`] keeps user tokens per key in a [`TokenStore`] ([`MemoryStore`],
//!   crash-safe [`FileStore`]), refreshes ahead of expiry with single flight, persists a
//!   rotated refresh token before handing it out, retries lost refresh responses within
//!   a bounded window (inside the server's grace period; then [`Error::Timeout`]) and
//!   reports [`Error::SignInRequired`] when the grant is gone.
//! - **Calling APIs**: [`AuthorizedClient`] (a `reqwest` wrapper) and [`AuthLayer`] (a
//!   `tower` layer) add the token and retry once on `401 invalid_token`.
//! - **Native apps**: [`LoopbackSignIn`] runs the RFC 8252 loopback redirect.
//! - **DPoP** (RFC 9449): [`OAuthClient::with_dpop`] sends proofs of a persisted
//!   [`DpopKey`] and follows server nonces; [`AuthorizedClient`] does the same for
//!   DPoP-bound access tokens.
//!
//! HTTPS needs the `rustls` feature (or a `reqwest::Client` with TLS passed to
//! [`OAuthClient::with_http_client`]).
//!
//! ```no_run
//! use baton_client::*;
//! # async fn run() -> Result<(), Error> {
//! let client = OAuthClient::discover("https://login.example.com", "my-app", ClientAuth::None).await?;
//! let manager = UserTokenManager::new(client, MemoryStore::new(), ManagerOptions::default());
//! let at = manager.access_token("user-42").await?;
//! # let _ = at; Ok(()) }
//! ```

mod auth;
mod client;
mod dpop;
mod error;
mod http;
mod layer;
mod loopback;
mod manager;
mod pkce;
mod store;
mod token;
mod util;

pub use auth::{ClientAuth, SigningKey};
pub use client::{default_http_client, Endpoints, Introspection, OAuthClient};
pub use dpop::DpopKey;
pub use error::{Error, ErrorCode, OAuthError, Result};
pub use http::{AuthorizedClient, ClientTokens, TokenSource, UserTokens};
pub use layer::{AuthError, AuthLayer, AuthService};
pub use loopback::LoopbackSignIn;
pub use manager::{ClientCredentialsManager, ManagerOptions, UserTokenManager};
pub use pkce::Pkce;
pub use store::{FileStore, MemoryStore, TokenStore};
pub use token::{AccessToken, TokenResponse, TokenSet};
