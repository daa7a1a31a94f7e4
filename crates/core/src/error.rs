//! RFC 6749 §5.2 error codes. The public `description` is what a client sees; internal
//! detail never leaves the server (internal errors render only as `server_error`).

use std::fmt;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    AccessDenied,
    UnsupportedResponseType,
    LoginRequired,
    ConsentRequired,
    InvalidToken,
    TemporarilyUnavailable,
    ServerError,
    /// RFC 7591 §3.2.2.
    InvalidRedirectUri,
    /// RFC 7591 §3.2.2.
    InvalidClientMetadata,
    /// OIDC Core §3.1.2.6: a `request` or `request_uri` parameter (not supported).
    RequestNotSupported,
    /// RFC 9449 §7: the DPoP proof is missing where required, or invalid.
    InvalidDpopProof,
    /// RFC 9449 §8: the DPoP proof must carry a nonce the server gave.
    UseDpopNonce,
    /// RFC 8707 §2: a `resource` that is unknown, not the client's to ask for, or not
    /// held by the grant.
    InvalidTarget,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::LoginRequired => "login_required",
            ErrorCode::ConsentRequired => "consent_required",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::ServerError => "server_error",
            ErrorCode::InvalidRedirectUri => "invalid_redirect_uri",
            ErrorCode::InvalidClientMetadata => "invalid_client_metadata",
            ErrorCode::RequestNotSupported => "request_not_supported",
            ErrorCode::InvalidDpopProof => "invalid_dpop_proof",
            ErrorCode::UseDpopNonce => "use_dpop_nonce",
            ErrorCode::InvalidTarget => "invalid_target",
        }
    }
}

/// An OAuth error: a code and a description safe to show the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: String,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        OAuthError {
            code,
            description: description.into(),
        }
    }
    pub fn invalid_request(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, d)
    }
    pub fn invalid_grant(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidGrant, d)
    }
    pub fn invalid_client(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidClient, d)
    }
    pub fn invalid_scope(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidScope, d)
    }
    pub fn invalid_target(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidTarget, d)
    }
    pub fn unauthorized_client(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::UnauthorizedClient, d)
    }
    pub fn unavailable() -> Self {
        Self::new(
            ErrorCode::TemporarilyUnavailable,
            "the server's storage is unavailable; retry later (nothing was changed)",
        )
    }
    pub fn server_error() -> Self {
        Self::new(ErrorCode::ServerError, "internal error")
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.description)
    }
}

impl std::error::Error for OAuthError {}

/// Storage failures as domain values. Drivers' errors are mapped to these; their text
/// is logged by the store (never containing secrets) and never shown to clients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreError {
    /// The store could not be reached or the operation failed; the caller must not
    /// assume anything was written. Renders as 503 `temporarily_unavailable`.
    Unavailable(String),
    /// A uniqueness or state conflict (e.g. an id already exists).
    Conflict(String),
    /// Stored data could not be decoded: a bug or a manual edit.
    Corrupt(String),
    /// The store cannot hold a value it was given (PostgreSQL text with a NUL byte):
    /// bad input, nothing was written. Renders as 400
    /// `invalid_request`; the message names no value.
    Invalid(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Unavailable(m) => write!(f, "store unavailable: {m}"),
            StoreError::Conflict(m) => write!(f, "store conflict: {m}"),
            StoreError::Corrupt(m) => write!(f, "stored data corrupt: {m}"),
            StoreError::Invalid(m) => write!(f, "value not storable: {m}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<StoreError> for OAuthError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => OAuthError::unavailable(),
            StoreError::Conflict(_) | StoreError::Corrupt(_) => OAuthError::server_error(),
            StoreError::Invalid(m) => OAuthError::invalid_request(m),
        }
    }
}
