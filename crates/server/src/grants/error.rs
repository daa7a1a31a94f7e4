//! Why a grant refused a token request. `http/error.rs` turns these into responses.

use baton_core::error::{ErrorCode, OAuthError, StoreError};

/// A refused token request: an RFC 6749 §5.2 error, or a sign-in the login throttle
/// refused before its password was checked.
#[derive(Debug)]
pub enum GrantError {
    OAuth(OAuthError),
    /// `temporarily_unavailable`, answered as "too many requests": retry after
    /// `retry_after_secs`.
    Throttled {
        err: OAuthError,
        retry_after_secs: i64,
    },
}

pub type GrantResult<T> = Result<T, GrantError>;

impl GrantError {
    /// The server failed (a store failure, an internal error), rather than the
    /// request: `temporarily_unavailable` or `server_error`, a throttled sign-in aside.
    pub fn is_server_side(&self) -> bool {
        match self {
            GrantError::OAuth(e) => matches!(
                e.code,
                ErrorCode::TemporarilyUnavailable | ErrorCode::ServerError
            ),
            GrantError::Throttled { .. } => false,
        }
    }
}

impl From<OAuthError> for GrantError {
    fn from(e: OAuthError) -> Self {
        GrantError::OAuth(e)
    }
}

impl From<StoreError> for GrantError {
    fn from(e: StoreError) -> Self {
        GrantError::OAuth(e.into())
    }
}
