//! The one place that maps errors to HTTP statuses: [`ApiError`] for the OAuth and
//! admin endpoints (RFC 6749 §5.2 JSON), [`PageError`] for the HTML pages (an error
//! page, the form again, or the OAuth error sent back to the client), [`NotReady`] for
//! `/readyz`. Handlers return these and never pick a 4xx/5xx status themselves.
//! `IntoResponse` does not log.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use baton_core::error::{ErrorCode, OAuthError, StoreError};
use baton_proto::oauth::ErrorResponse;
use std::borrow::Cow;

/// An error answered as RFC 6749 §5.2 JSON.
#[derive(Debug)]
pub struct ApiError {
    pub err: OAuthError,
    /// Why the status is not the one the code implies (`None`: the code decides).
    pub refusal: Option<Refusal>,
}

/// A refusal whose status is not the one its OAuth error code implies.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// 404: no such endpoint or resource.
    NotFound,
    /// 405, with `Allow: <allow>`.
    MethodNotAllowed { allow: &'static str },
    /// 409: the resource exists or its state forbids the change.
    Conflict,
    /// 413: the body is larger than `http.body_limit`.
    PayloadTooLarge,
    /// 415: the body is not `application/x-www-form-urlencoded`.
    UnsupportedMediaType,
    /// 429 with `Retry-After: secs` (a throttled sign-in).
    TooManyRequests { retry_after: i64 },
    /// 401 with a `DPoP` challenge (RFC 9449 §7.1): a resource request whose DPoP-bound
    /// token or proof is refused.
    DpopChallenge,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self.refusal {
            Some(Refusal::NotFound) => return StatusCode::NOT_FOUND,
            Some(Refusal::MethodNotAllowed { .. }) => return StatusCode::METHOD_NOT_ALLOWED,
            Some(Refusal::Conflict) => return StatusCode::CONFLICT,
            Some(Refusal::PayloadTooLarge) => return StatusCode::PAYLOAD_TOO_LARGE,
            Some(Refusal::UnsupportedMediaType) => return StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Some(Refusal::TooManyRequests { .. }) => return StatusCode::TOO_MANY_REQUESTS,
            Some(Refusal::DpopChallenge) => return StatusCode::UNAUTHORIZED,
            None => {}
        }
        match self.err.code {
            ErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
            ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
            ErrorCode::AccessDenied => StatusCode::FORBIDDEN,
            ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The same error, refused for `why` (which decides the status).
    pub fn refused(err: OAuthError, why: Refusal) -> Self {
        ApiError {
            err,
            refusal: Some(why),
        }
    }

    /// 429 with `Retry-After: secs`.
    pub fn too_many_requests(err: OAuthError, secs: i64) -> Self {
        Self::refused(err, Refusal::TooManyRequests { retry_after: secs })
    }
}

impl From<OAuthError> for ApiError {
    fn from(err: OAuthError) -> Self {
        ApiError { err, refusal: None }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        OAuthError::from(e).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = ErrorResponse {
            error: self.err.code.as_str().to_string(),
            error_description: Some(self.err.description),
        };
        let mut resp = (status, axum::Json(body)).into_response();
        let h = resp.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        match self.refusal {
            Some(Refusal::TooManyRequests { retry_after }) => {
                h.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            }
            Some(Refusal::MethodNotAllowed { allow }) => {
                h.insert(header::ALLOW, HeaderValue::from_static(allow));
            }
            _ => {}
        }
        if self.refusal == Some(Refusal::DpopChallenge) {
            let v = format!(
                "DPoP error=\"{}\", algs=\"{}\"",
                self.err.code.as_str(),
                crate::dpop::ALGS.join(" ")
            );
            if let Ok(v) = HeaderValue::from_str(&v) {
                h.insert(header::WWW_AUTHENTICATE, v);
            }
        } else if status == StatusCode::UNAUTHORIZED {
            // RFC 6749 §5.2: a 401 for invalid_client carries the scheme the client can
            // use; RFC 6750 §3 for bearer tokens.
            let v = if self.err.code == ErrorCode::InvalidToken {
                HeaderValue::from_static("Bearer error=\"invalid_token\"")
            } else {
                HeaderValue::from_static("Basic realm=\"baton\"")
            };
            h.insert(header::WWW_AUTHENTICATE, v);
        }
        resp
    }
}

impl From<crate::admin::AdminError> for ApiError {
    fn from(e: crate::admin::AdminError) -> Self {
        use crate::admin::AdminError as A;
        match e {
            A::Invalid { field, message } => {
                OAuthError::invalid_request(format!("{field}: {message}")).into()
            }
            A::NotFound(m) => ApiError::refused(OAuthError::invalid_request(m), Refusal::NotFound),
            A::Conflict(m) => ApiError::refused(OAuthError::invalid_request(m), Refusal::Conflict),
            A::Store(e) => e.into(),
            // The detail was logged where it arose.
            A::Internal(_) => OAuthError::server_error().into(),
        }
    }
}

impl From<crate::grants::GrantError> for ApiError {
    fn from(e: crate::grants::GrantError) -> Self {
        use crate::grants::GrantError as G;
        match e {
            G::OAuth(err) => err.into(),
            G::Throttled {
                err,
                retry_after_secs,
            } => ApiError::too_many_requests(err, retry_after_secs),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// The standard words of a page's 503.
const UNAVAILABLE: &str = "The server is temporarily unavailable; try again.";

/// An error of an HTML page (`/authorize`, `/login`, `/consent`, `/logout`, `/account`).
/// Page handlers return `Result<Response, PageError>`; this decides the status.
#[derive(Debug)]
pub enum PageError {
    /// 400, the error page with this message: malformed, expired or no longer allowed.
    BadRequest(Cow<'static, str>),
    /// 403, the error page: the form's CSRF token does not verify.
    Csrf,
    /// 404, the error page with this message.
    NotFound(&'static str),
    /// 415, the error page: a form not posted as `application/x-www-form-urlencoded`.
    UnsupportedMediaType,
    /// 503, the error page with this message: the store failed, nothing was changed.
    Unavailable(&'static str),
    /// An authorization error for a client whose redirect URI is not trusted (a
    /// dynamically registered one): shown, never redirected. 503 for
    /// `temporarily_unavailable`, else 400.
    Untrusted(OAuthError),
    /// An authorization error sent back to the client: 303 to this location (its
    /// redirect URI with RFC 6749 §4.1.2.1 parameters), built by [`PageError::to_client`].
    ToClient(String),
    /// A page of its own shown with an error status: the sign-in form again, a
    /// sign-out page naming a problem. Its headers (cookies) are kept.
    Refused {
        page: Box<Response>,
        why: PageRefusal,
    },
}

/// Why a page of its own ([`PageError::Refused`]) is an error, which decides its status.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum PageRefusal {
    /// 400: the input is incomplete or cannot be honoured.
    Invalid,
    /// 401: the username or password is wrong.
    BadCredentials,
    /// 429 with `Retry-After: secs`: sign-in is throttled, the password was not checked.
    Throttled { retry_after: i64 },
    /// 403: signed in, but not allowed here (a console page for a user without `admin`).
    Forbidden,
    /// 404: what the page is about does not exist.
    NotFound,
    /// 409: the change conflicts with what is stored (an id taken, a client or user
    /// the configuration file manages).
    Conflict,
    /// 503: the store failed; nothing was changed.
    Unavailable,
    /// 500: something that should not happen (logged where it happened).
    Internal,
}

impl PageRefusal {
    /// How a page shows an admin operation's failure (the statuses the admin API
    /// answers for it).
    pub fn of_admin(e: &crate::admin::AdminError) -> PageRefusal {
        use crate::admin::AdminError as A;
        match e {
            A::Invalid { .. } => PageRefusal::Invalid,
            A::NotFound(_) => PageRefusal::NotFound,
            A::Conflict(_) => PageRefusal::Conflict,
            A::Store(StoreError::Invalid(_)) => PageRefusal::Invalid,
            A::Store(StoreError::Conflict(_)) => PageRefusal::Conflict,
            A::Store(StoreError::Corrupt(_)) | A::Internal(_) => PageRefusal::Internal,
            A::Store(_) => PageRefusal::Unavailable,
        }
    }
}

impl PageError {
    /// 503 with the standard words.
    pub fn unavailable() -> Self {
        PageError::Unavailable(UNAVAILABLE)
    }

    /// `page` answered with the status `why` implies.
    pub fn refused(page: Response, why: PageRefusal) -> Self {
        PageError::Refused {
            page: Box::new(page),
            why,
        }
    }

    /// `err` sent back to the client at `redirect_uri` (RFC 6749 §4.1.2.1, with `state`
    /// and RFC 9207 `iss`); a URI that does not parse is a 400 page instead.
    pub fn to_client(
        redirect_uri: &str,
        state: Option<&str>,
        issuer: &str,
        err: &OAuthError,
    ) -> Self {
        let Ok(mut url) = url::Url::parse(redirect_uri) else {
            return PageError::BadRequest("the redirect URI is invalid".into());
        };
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("error", err.code.as_str());
            q.append_pair("error_description", &err.description);
            if let Some(s) = state {
                q.append_pair("state", s);
            }
            q.append_pair("iss", issuer);
        }
        PageError::ToClient(url.to_string())
    }

    /// The status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            PageError::BadRequest(_) => StatusCode::BAD_REQUEST,
            PageError::Csrf => StatusCode::FORBIDDEN,
            PageError::NotFound(_) => StatusCode::NOT_FOUND,
            PageError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            PageError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            PageError::Untrusted(e) if e.code == ErrorCode::TemporarilyUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            PageError::Untrusted(_) => StatusCode::BAD_REQUEST,
            PageError::ToClient(_) => StatusCode::SEE_OTHER,
            PageError::Refused { why, .. } => match why {
                PageRefusal::Invalid => StatusCode::BAD_REQUEST,
                PageRefusal::BadCredentials => StatusCode::UNAUTHORIZED,
                PageRefusal::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
                PageRefusal::Forbidden => StatusCode::FORBIDDEN,
                PageRefusal::NotFound => StatusCode::NOT_FOUND,
                PageRefusal::Conflict => StatusCode::CONFLICT,
                PageRefusal::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
                PageRefusal::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            },
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        use crate::pages::html::error_page;
        let status = self.status();
        match self {
            PageError::BadRequest(m) => error_page(status, &m),
            PageError::Csrf => error_page(
                status,
                "The form could not be verified (CSRF). Reload the page and try again.",
            ),
            PageError::NotFound(m) | PageError::Unavailable(m) => error_page(status, m),
            PageError::UnsupportedMediaType => error_page(
                status,
                "the form must be posted as application/x-www-form-urlencoded",
            ),
            PageError::Untrusted(e) => error_page(
                status,
                &format!(
                    "The application's sign-in request failed ({}: {}). You were not sent back \
                     to it, because it was registered dynamically and its address is not verified.",
                    e.code.as_str(),
                    e.description
                ),
            ),
            PageError::ToClient(location) => crate::pages::authorize::redirect(&location),
            PageError::Refused { page, why } => {
                let mut resp = *page;
                *resp.status_mut() = status;
                if let PageRefusal::Throttled { retry_after } = why {
                    resp.headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
                }
                resp
            }
        }
    }
}

impl From<StoreError> for PageError {
    /// A store failure on a page is its 503 (nothing was changed).
    fn from(_: StoreError) -> Self {
        PageError::unavailable()
    }
}

pub type PageResult = Result<Response, PageError>;

/// `/readyz` refusing: 503 with each check's result, as JSON.
#[derive(Debug)]
pub struct NotReady(pub baton_proto::health::Readiness);

impl IntoResponse for NotReady {
    fn into_response(self) -> Response {
        (StatusCode::SERVICE_UNAVAILABLE, axum::Json(self.0)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pages::html::page;

    fn answer(e: PageError) -> Response {
        e.into_response()
    }

    #[test]
    fn page_errors_map_to_their_statuses() {
        let cases: Vec<(PageError, u16)> = vec![
            (PageError::BadRequest("bad".into()), 400),
            (PageError::Csrf, 403),
            (PageError::NotFound("none"), 404),
            (PageError::UnsupportedMediaType, 415),
            (PageError::unavailable(), 503),
            (PageError::Untrusted(OAuthError::invalid_request("x")), 400),
            (
                PageError::Untrusted(OAuthError::new(ErrorCode::LoginRequired, "x")),
                400,
            ),
            (PageError::Untrusted(OAuthError::unavailable()), 503),
            (
                PageError::ToClient("https://app.example/cb?error=x".into()),
                303,
            ),
            (
                PageError::refused(page(StatusCode::OK, "t", "b"), PageRefusal::Invalid),
                400,
            ),
            (
                PageError::refused(page(StatusCode::OK, "t", "b"), PageRefusal::BadCredentials),
                401,
            ),
            (
                PageError::refused(
                    page(StatusCode::OK, "t", "b"),
                    PageRefusal::Throttled { retry_after: 7 },
                ),
                429,
            ),
            (
                PageError::refused(page(StatusCode::OK, "t", "b"), PageRefusal::Forbidden),
                403,
            ),
            (
                PageError::refused(page(StatusCode::OK, "t", "b"), PageRefusal::NotFound),
                404,
            ),
            (
                PageError::refused(page(StatusCode::OK, "t", "b"), PageRefusal::Conflict),
                409,
            ),
            (
                PageError::refused(page(StatusCode::OK, "t", "b"), PageRefusal::Unavailable),
                503,
            ),
            (
                PageError::refused(page(StatusCode::OK, "t", "b"), PageRefusal::Internal),
                500,
            ),
        ];
        for (e, want) in cases {
            let what = format!("{e:?}");
            assert_eq!(e.status().as_u16(), want, "{what}");
            assert_eq!(answer(e).status().as_u16(), want, "{what}");
        }
    }

    #[test]
    fn page_error_headers() {
        // Every error page is an uncacheable page of ours.
        let r = answer(PageError::Csrf);
        assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(r.headers()["x-frame-options"], "DENY");
        // A throttled sign-in says when to retry; the form's own headers stay.
        let mut form = page(StatusCode::OK, "Sign in", "form");
        form.headers_mut()
            .insert(header::SET_COOKIE, HeaderValue::from_static("c=1"));
        let r = answer(PageError::refused(
            form,
            PageRefusal::Throttled { retry_after: 7 },
        ));
        assert_eq!(r.headers()[header::RETRY_AFTER], "7");
        assert_eq!(r.headers()[header::SET_COOKIE], "c=1");
    }

    #[test]
    fn errors_for_the_client_are_redirects_with_its_parameters() {
        let err = OAuthError::new(ErrorCode::RequestNotSupported, "no request objects");
        let e = PageError::to_client(
            "https://app.example/cb?x=1",
            Some("s t"),
            "https://as.example",
            &err,
        );
        let r = answer(e);
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            r.headers()[header::LOCATION],
            "https://app.example/cb?x=1&error=request_not_supported\
             &error_description=no+request+objects&state=s+t&iss=https%3A%2F%2Fas.example"
        );
        // An address that does not parse is never redirected to.
        let e = PageError::to_client("not a uri", None, "https://as.example", &err);
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn api_refusals_decide_the_status() {
        let e = |why| ApiError::refused(OAuthError::invalid_request("x"), why).status();
        assert_eq!(e(Refusal::NotFound), StatusCode::NOT_FOUND);
        assert_eq!(
            e(Refusal::MethodNotAllowed { allow: "POST" }),
            StatusCode::METHOD_NOT_ALLOWED
        );
        assert_eq!(e(Refusal::Conflict), StatusCode::CONFLICT);
        assert_eq!(e(Refusal::PayloadTooLarge), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            e(Refusal::UnsupportedMediaType),
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        let r = NotReady(baton_proto::health::Readiness {
            status: "unavailable".into(),
            checks: [("storage".to_string(), "down: not answering".to_string())].into(),
        })
        .into_response();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        let r = ApiError::too_many_requests(OAuthError::invalid_grant("x"), 3).into_response();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[header::RETRY_AFTER], "3");
        let r = ApiError::refused(
            OAuthError::invalid_request("x"),
            Refusal::MethodNotAllowed { allow: "GET, POST" },
        )
        .into_response();
        assert_eq!(r.headers()[header::ALLOW], "GET, POST");
    }
}
