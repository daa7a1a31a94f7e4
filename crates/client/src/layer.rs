//! The same behaviour as [`crate::AuthorizedClient`] as a `tower` layer, for clients built
//! on `tower` services (hyper, tonic, …): [`AuthLayer`] adds `Authorization` (and a DPoP
//! proof for DPoP-bound tokens) from a [`TokenSource`] and, on `401 invalid_token`,
//! renews once and retries once.

use crate::error::Error;
use crate::http::TokenSource;
use crate::token::AccessToken;
use http::header::{HeaderValue, AUTHORIZATION, WWW_AUTHENTICATE};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tower_layer::Layer;
use tower_service::Service;

/// A `tower` layer that authorizes requests with a [`TokenSource`]. Request bodies must
/// be `Clone` (for the one retry).
///
/// ```
/// use baton_client::{AuthLayer, ClientTokens};
/// use tower_layer::Layer;
/// # fn wrap<S>(inner: S, tokens: baton_client::ClientCredentialsManager) {
/// let layer = AuthLayer::new(ClientTokens { manager: tokens, scope: Some("api".into()) });
/// let service = layer.layer(inner);
/// # let _ = service; }
/// ```
#[derive(Clone, Debug)]
pub struct AuthLayer<T> {
    source: T,
}

impl<T> AuthLayer<T> {
    pub fn new(source: T) -> Self {
        AuthLayer { source }
    }
}

impl<T: Clone, S> Layer<S> for AuthLayer<T> {
    type Service = AuthService<T, S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            source: self.source.clone(),
            inner,
        }
    }
}

/// The service of [`AuthLayer`].
#[derive(Clone, Debug)]
pub struct AuthService<T, S> {
    source: T,
    inner: S,
}

/// What an [`AuthService`] fails with: getting a token, or the inner service.
#[derive(Debug)]
pub enum AuthError<E> {
    Token(Error),
    Inner(E),
}

impl<E: std::fmt::Display> std::fmt::Display for AuthError<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthError::Token(e) => write!(f, "access token: {e}"),
            AuthError::Inner(e) => e.fmt(f),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for AuthError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AuthError::Token(e) => Some(e),
            AuthError::Inner(e) => Some(e),
        }
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

fn copy<B: Clone>(req: &http::Request<B>) -> http::Request<B> {
    let mut r = http::Request::new(req.body().clone());
    *r.method_mut() = req.method().clone();
    *r.uri_mut() = req.uri().clone();
    *r.version_mut() = req.version();
    *r.headers_mut() = req.headers().clone();
    r
}

fn authorize<B>(
    req: &mut http::Request<B>,
    token: &AccessToken,
    dpop: Option<&crate::DpopKey>,
) -> Result<(), Error> {
    let v = HeaderValue::from_str(&token.header_value())
        .map_err(|_| Error::Config("the access token is not a valid header value".into()))?;
    req.headers_mut().insert(AUTHORIZATION, v);
    if let (true, Some(d)) = (token.token_type.eq_ignore_ascii_case("dpop"), dpop) {
        let proof = d.proof(
            req.method().as_str(),
            &req.uri().to_string(),
            Some(&token.token),
        )?;
        let v = HeaderValue::from_str(&proof)
            .map_err(|_| Error::Config("DPoP proof is not a valid header value".into()))?;
        req.headers_mut().insert("DPoP", v);
    }
    Ok(())
}

fn invalid_token<RB>(resp: &http::Response<RB>) -> bool {
    resp.status() == http::StatusCode::UNAUTHORIZED
        && resp
            .headers()
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains("invalid_token"))
}

impl<T, S, B, RB> Service<http::Request<B>> for AuthService<T, S>
where
    T: TokenSource + Clone + 'static,
    S: Service<http::Request<B>, Response = http::Response<RB>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Send,
    B: Clone + Send + 'static,
    RB: Send + 'static,
{
    type Response = http::Response<RB>;
    type Error = AuthError<S::Error>;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(AuthError::Inner)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        // The ready service handles this call; a clone waits for the retry.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let source = self.source.clone();
        Box::pin(async move {
            let dpop = source.dpop();
            let token = source.token().await.map_err(AuthError::Token)?;
            let retry = copy(&req);
            authorize(&mut req, &token, dpop.as_deref()).map_err(AuthError::Token)?;
            let resp = inner.call(req).await.map_err(AuthError::Inner)?;
            if !invalid_token(&resp) {
                return Ok(resp);
            }
            let token = source.renew(&token.token).await.map_err(AuthError::Token)?;
            let mut req = retry;
            authorize(&mut req, &token, dpop.as_deref()).map_err(AuthError::Token)?;
            std::future::poll_fn(|cx| inner.poll_ready(cx))
                .await
                .map_err(AuthError::Inner)?;
            inner.call(req).await.map_err(AuthError::Inner)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// Hands out "stale" until renewed, then "fresh"; counts renewals.
    #[derive(Clone, Default)]
    struct Source {
        renewed: Arc<AtomicUsize>,
    }

    impl TokenSource for Source {
        fn token(&self) -> impl Future<Output = crate::Result<AccessToken>> + Send {
            let t = if self.renewed.load(Ordering::SeqCst) > 0 {
                "fresh"
            } else {
                "stale"
            };
            std::future::ready(Ok(AccessToken {
                token: t.into(),
                token_type: "Bearer".into(),
            }))
        }

        fn renew(
            &self,
            _rejected: &str,
        ) -> impl Future<Output = crate::Result<AccessToken>> + Send {
            self.renewed.fetch_add(1, Ordering::SeqCst);
            std::future::ready(Ok(AccessToken {
                token: "fresh".into(),
                token_type: "Bearer".into(),
            }))
        }
    }

    /// A resource server: 401 invalid_token unless the token is "fresh" (or always).
    #[derive(Clone)]
    struct Api {
        calls: Arc<AtomicUsize>,
        always_401: bool,
    }

    impl Service<http::Request<String>> for Api {
        type Response = http::Response<String>;
        type Error = std::convert::Infallible;
        type Future = std::future::Ready<Result<Self::Response, Self::Error>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, req: http::Request<String>) -> Self::Future {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let ok = req
                .headers()
                .get(AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                == Some("Bearer fresh");
            let mut resp = http::Response::new(req.body().clone());
            if !ok || self.always_401 {
                *resp.status_mut() = http::StatusCode::UNAUTHORIZED;
                resp.headers_mut().insert(
                    WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer error=\"invalid_token\""),
                );
            }
            std::future::ready(Ok(resp))
        }
    }

    async fn run(always_401: bool) -> (http::StatusCode, usize, usize, String) {
        let source = Source::default();
        let calls = Arc::new(AtomicUsize::new(0));
        let mut svc = AuthLayer::new(source.clone()).layer(Api {
            calls: calls.clone(),
            always_401,
        });
        let req = http::Request::post("http://api.example/x")
            .body("payload".to_string())
            .unwrap();
        std::future::poll_fn(|cx| svc.poll_ready(cx)).await.unwrap();
        let resp = svc.call(req).await.unwrap();
        (
            resp.status(),
            calls.load(Ordering::SeqCst),
            source.renewed.load(Ordering::SeqCst),
            resp.into_body(),
        )
    }

    #[tokio::test]
    async fn a_rejected_token_is_renewed_once_and_the_request_repeated_once() {
        let (status, calls, renewed, body) = run(false).await;
        assert_eq!((status.as_u16(), calls, renewed), (200, 2, 1));
        assert_eq!(body, "payload", "the body was sent again");
        // A second refusal is answered as it is: no loop.
        let (status, calls, renewed, _) = run(true).await;
        assert_eq!((status.as_u16(), calls, renewed), (401, 2, 1));
    }
}
