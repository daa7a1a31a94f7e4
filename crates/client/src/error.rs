//! Errors: RFC 6749 §5.2 error responses as a typed [`OAuthError`], and everything else
//! that can go wrong on the way, in one [`Error`].

use std::fmt;
use std::sync::Arc;

/// The `error` code of an RFC 6749 §5.2 (or RFC 6750 / RFC 7009) error response.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    AccessDenied,
    UnsupportedTokenType,
    InvalidToken,
    ServerError,
    TemporarilyUnavailable,
    /// DPoP (RFC 9449 §8): the server wants a proof carrying its nonce.
    UseDpopNonce,
    /// Any other code, as the server sent it.
    Other(String),
}

impl ErrorCode {
    /// Parses the `error` member of an error response.
    pub fn parse(s: &str) -> ErrorCode {
        match s {
            "invalid_request" => ErrorCode::InvalidRequest,
            "invalid_client" => ErrorCode::InvalidClient,
            "invalid_grant" => ErrorCode::InvalidGrant,
            "unauthorized_client" => ErrorCode::UnauthorizedClient,
            "unsupported_grant_type" => ErrorCode::UnsupportedGrantType,
            "invalid_scope" => ErrorCode::InvalidScope,
            "access_denied" => ErrorCode::AccessDenied,
            "unsupported_token_type" => ErrorCode::UnsupportedTokenType,
            "invalid_token" => ErrorCode::InvalidToken,
            "server_error" => ErrorCode::ServerError,
            "temporarily_unavailable" => ErrorCode::TemporarilyUnavailable,
            "use_dpop_nonce" => ErrorCode::UseDpopNonce,
            other => ErrorCode::Other(other.to_string()),
        }
    }

    /// The code as it appears on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::UnsupportedTokenType => "unsupported_token_type",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::UseDpopNonce => "use_dpop_nonce",
            ErrorCode::Other(s) => s,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error response of the authorization server (RFC 6749 §5.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthError {
    /// The `error` code.
    pub error: ErrorCode,
    /// `error_description`, if the server sent one.
    pub description: Option<String>,
    /// `error_uri`, if the server sent one.
    pub uri: Option<String>,
    /// The HTTP status of the response (400 or 401 for most errors).
    pub status: u16,
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (HTTP {})", self.error, self.status)?;
        if let Some(d) = &self.description {
            write!(f, ": {d}")?;
        }
        Ok(())
    }
}

/// Everything this crate can fail with.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an OAuth error response.
    OAuth(OAuthError),
    /// The user must sign in again: the refresh token was rejected (`invalid_grant`; the
    /// stored tokens were cleared) or there is no refresh token to use. The inner error is
    /// the server's answer, when there was one.
    SignInRequired(Option<OAuthError>),
    /// The request could not be completed: connection refused or reset, timeout, or a
    /// truncated response. `maybe_sent` is true when the server may have processed it.
    Transport {
        maybe_sent: bool,
        source: reqwest::Error,
    },
    /// The server answered something that is not what the protocol says (wrong status,
    /// body not JSON, a required member missing).
    UnexpectedResponse { status: u16, detail: String },
    /// The configuration cannot work (a missing endpoint, a bad URL, a bad key).
    Config(String),
    /// The token store failed; tokens that could not be stored are not handed out.
    Storage(std::io::Error),
    /// The loopback redirect did not complete (wrong `state`, an error redirect, timeout).
    Callback(String),
    /// A refresh got no definitive answer (only network errors, timeouts, 5xx or
    /// `temporarily_unavailable`) within the retry window; `last` is the last of those
    /// failures (`None`: the last attempt was still waiting when the window closed). The
    /// stored tokens are unchanged; trying again later may succeed.
    Timeout {
        waited: std::time::Duration,
        attempts: u32,
        last: Option<Box<Error>>,
    },
    /// The operating system's random generator failed (no state, verifier, `jti` or
    /// file name can be made safely).
    Random,
    /// The failure of a refresh (or client-credentials request) that several callers
    /// waited for: each of them (the one that sent the request too) gets this, with the
    /// one underlying error. [`Error::oauth`], [`Error::is_sign_in_required`] and
    /// [`Error::is_transient`] look through it.
    Shared(Arc<Error>),
}

impl Error {
    /// The OAuth error response behind this error, if any.
    pub fn oauth(&self) -> Option<&OAuthError> {
        match self {
            Error::OAuth(e) => Some(e),
            Error::SignInRequired(e) => e.as_ref(),
            Error::Shared(e) => e.oauth(),
            _ => None,
        }
    }

    /// True when the user must sign in again ([`Error::SignInRequired`], also behind
    /// [`Error::Shared`]).
    pub fn is_sign_in_required(&self) -> bool {
        match self {
            Error::SignInRequired(_) => true,
            Error::Shared(e) => e.is_sign_in_required(),
            _ => false,
        }
    }

    pub(crate) fn transport(e: reqwest::Error) -> Error {
        Error::Transport {
            // A connect error means nothing reached the server.
            maybe_sent: !e.is_connect(),
            source: e,
        }
    }

    /// Whether repeating the same request may help: transport failures, 5xx,
    /// `temporarily_unavailable`.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Transport { .. } => true,
            Error::OAuth(e) => {
                e.status >= 500
                    || matches!(
                        e.error,
                        ErrorCode::TemporarilyUnavailable | ErrorCode::ServerError
                    )
            }
            Error::UnexpectedResponse { status, .. } => *status >= 500,
            Error::Shared(e) => e.is_transient(),
            _ => false,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::OAuth(e) => write!(f, "authorization server error: {e}"),
            Error::SignInRequired(Some(e)) => write!(
                f,
                "sign-in required: the refresh token was refused ({e}); the tokens of this key were discarded"
            ),
            Error::SignInRequired(None) => f.write_str("sign-in required: no usable refresh token"),
            Error::Transport { maybe_sent, source } => write!(
                f,
                "request failed{}: {source}",
                if *maybe_sent {
                    " (it may have reached the server)"
                } else {
                    ""
                }
            ),
            Error::UnexpectedResponse { status, detail } => {
                write!(f, "unexpected response (HTTP {status}): {detail}")
            }
            Error::Config(m) => write!(f, "configuration: {m}"),
            Error::Storage(e) => write!(f, "token storage: {e}"),
            Error::Callback(m) => write!(f, "sign-in callback: {m}"),
            Error::Timeout {
                waited,
                attempts,
                last,
            } => {
                write!(
                    f,
                    "no definitive answer after {attempts} attempt(s) in {:.1} s",
                    waited.as_secs_f64()
                )?;
                match last {
                    Some(e) => write!(f, "; last: {e}"),
                    None => f.write_str("; the last attempt was still waiting"),
                }
            }
            Error::Random => f.write_str("the operating system's random generator failed"),
            Error::Shared(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Transport { source, .. } => Some(source),
            Error::Storage(e) => Some(e),
            Error::Shared(e) => Some(&**e),
            Error::Timeout { last: Some(e), .. } => Some(&**e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Storage(e)
    }
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_unknown_codes_are_kept() {
        for c in [
            "invalid_grant",
            "invalid_client",
            "use_dpop_nonce",
            "temporarily_unavailable",
        ] {
            assert_eq!(ErrorCode::parse(c).as_str(), c);
        }
        assert_eq!(
            ErrorCode::parse("x_custom"),
            ErrorCode::Other("x_custom".into())
        );
    }

    #[test]
    fn transient_errors_are_server_side_only() {
        let e = |code: &str, status| {
            Error::OAuth(OAuthError {
                error: ErrorCode::parse(code),
                description: None,
                uri: None,
                status,
            })
        };
        assert!(e("temporarily_unavailable", 503).is_transient());
        assert!(e("server_error", 500).is_transient());
        assert!(!e("invalid_grant", 400).is_transient());
        assert!(!Error::SignInRequired(None).is_transient());
    }
}
