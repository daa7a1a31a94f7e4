//! The authorization code exchange's checks (RFC 6749 §4.1.3, RFC 7636 §4.6).
//!
//! `check` looks at an unused code, the exchange request and the time, and says
//! whether the code may be exchanged. It performs no I/O: the service layer has read
//! the code (and handled a code used before: its replay revokes what the first use
//! issued, whoever presents it), and goes on to read the user and the session.

use crate::error::OAuthError;
use crate::model::AuthCode;
use crate::time::Timestamp;

/// What the token request presented with the code.
#[derive(Clone, Copy, Debug)]
pub struct Exchange<'a> {
    /// The authenticated client exchanging the code.
    pub client_id: &'a str,
    /// That client's registered redirect URIs, as they are now.
    pub registered_redirect_uris: &'a [String],
    /// `redirect_uri`, if given.
    pub redirect_uri: Option<&'a str>,
    /// `code_verifier`, if given.
    pub code_verifier: Option<&'a str>,
    /// The thumbprint of the DPoP key the request proved, if it carried a valid proof.
    pub proof_jkt: Option<&'a str>,
}

/// Why a code cannot be exchanged, in the order `check` tests for them.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CodeRejection {
    /// The code was issued to another client: answered like an unknown code.
    ClientMismatch,
    /// The code's lifetime has passed (its expiry is exclusive).
    Expired,
    /// RFC 6749 §4.1.3: the authorization request named a `redirect_uri` and this one
    /// is missing or differs; or it named none and this one is not registered.
    RedirectMismatch,
    /// The verifier does not hash to the code's (S256) challenge.
    VerifierMismatch,
    /// The code has a challenge and no verifier was given.
    VerifierMissing,
    /// A verifier was given for a code without a challenge.
    VerifierUnexpected,
    /// RFC 9449 §10: the authorization request bound the code to a DPoP key
    /// (`dpop_jkt`) and the request did not prove that key.
    KeyMismatch,
}

impl CodeRejection {
    /// The error answered: `invalid_grant`, except a missing verifier (`invalid_request`).
    /// Descriptions name nothing of the code or the request.
    pub fn error(self) -> OAuthError {
        match self {
            CodeRejection::ClientMismatch => OAuthError::invalid_grant(
                "the authorization code is invalid, expired or was already used",
            ),
            CodeRejection::Expired => {
                OAuthError::invalid_grant("the authorization code has expired")
            }
            CodeRejection::RedirectMismatch => {
                OAuthError::invalid_grant("redirect_uri does not match the authorization request")
            }
            CodeRejection::VerifierMismatch => {
                OAuthError::invalid_grant("the PKCE code_verifier does not match")
            }
            CodeRejection::VerifierMissing => {
                OAuthError::invalid_request("code_verifier is required (PKCE)")
            }
            CodeRejection::VerifierUnexpected => OAuthError::invalid_grant(
                "code_verifier given but the authorization request had no code_challenge",
            ),
            CodeRejection::KeyMismatch => OAuthError::invalid_grant(
                "the authorization code is bound to a DPoP key (dpop_jkt): the request must carry a proof of that key",
            ),
        }
    }
}

/// Whether the unused `code` may be exchanged by `x` at `now`: the first failing check
/// of client, expiry, redirect URI, PKCE and DPoP key, in that order.
pub fn check(code: &AuthCode, now: Timestamp, x: &Exchange<'_>) -> Result<(), CodeRejection> {
    if code.client_id != x.client_id {
        return Err(CodeRejection::ClientMismatch);
    }
    if now >= code.expires_at {
        return Err(CodeRejection::Expired);
    }
    // RFC 6749 §4.1.3: redirect_uri is required if the authorization request included
    // it, and must then be identical; if it was omitted, one given here must at least be
    // a registered one.
    let redirect_ok = match (code.redirect_uri.as_str(), x.redirect_uri) {
        ("", None) => true,
        ("", Some(r)) => x.registered_redirect_uris.iter().any(|u| u == r),
        (s, Some(r)) => s == r,
        (_, None) => false,
    };
    if !redirect_ok {
        return Err(CodeRejection::RedirectMismatch);
    }
    match (&code.code_challenge, x.code_verifier) {
        (Some(ch), Some(v)) if crate::pkce::verify_s256(v, ch) => {}
        (Some(_), Some(_)) => return Err(CodeRejection::VerifierMismatch),
        (Some(_), None) => return Err(CodeRejection::VerifierMissing),
        (None, Some(_)) => return Err(CodeRejection::VerifierUnexpected),
        (None, None) => {}
    }
    match &code.dpop_jkt {
        Some(bound) if x.proof_jkt != Some(bound.as_str()) => Err(CodeRejection::KeyMismatch),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests;
