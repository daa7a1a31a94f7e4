//! The one place that maps errors to HTTP statuses. `IntoResponse` does not log.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use baton_core::error::{ErrorCode, OAuthError, StoreError};
use baton_proto::oauth::ErrorResponse;

/// An error answered as RFC 6749 §5.2 JSON.
#[derive(Debug)]
pub struct ApiError {
    pub err: OAuthError,
    /// Overrides the status the code implies (413 for oversize bodies, 415 …).
    pub status: Option<StatusCode>,
    /// `Retry-After` in seconds (a throttled sign-in).
    pub retry_after: Option<i64>,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        if let Some(s) = self.status {
            return s;
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

    pub fn with_status(mut self, s: StatusCode) -> Self {
        self.status = Some(s);
        self
    }

    /// 429 with `Retry-After: secs`.
    pub fn too_many_requests(err: OAuthError, secs: i64) -> Self {
        ApiError {
            err,
            status: Some(StatusCode::TOO_MANY_REQUESTS),
            retry_after: Some(secs),
        }
    }
}

impl From<OAuthError> for ApiError {
    fn from(err: OAuthError) -> Self {
        ApiError {
            err,
            status: None,
            retry_after: None,
        }
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
        if let Some(secs) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if status == StatusCode::UNAUTHORIZED {
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
            A::NotFound(m) => {
                ApiError::from(OAuthError::invalid_request(m)).with_status(StatusCode::NOT_FOUND)
            }
            A::Conflict(m) => {
                ApiError::from(OAuthError::invalid_request(m)).with_status(StatusCode::CONFLICT)
            }
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
