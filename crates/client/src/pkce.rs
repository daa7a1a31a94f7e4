//! PKCE (RFC 7636) with the `S256` method.

use crate::error::Result;
use crate::util::{b64url, random_token};

/// A code verifier and its `S256` challenge.
///
/// ```
/// let p = baton_client::Pkce::from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
/// assert_eq!(p.challenge(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
/// ```
#[derive(Clone)]
pub struct Pkce {
    verifier: String,
    challenge: String,
}

impl std::fmt::Debug for Pkce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkce")
            .field("challenge", &self.challenge)
            .finish_non_exhaustive()
    }
}

impl Pkce {
    /// A fresh verifier of 43 characters (32 random bytes); [`crate::Error::Random`]
    /// when the operating system's random generator fails.
    pub fn new() -> Result<Pkce> {
        Ok(Pkce::from_verifier(&random_token(32)?))
    }

    /// The pair for a given verifier.
    pub fn from_verifier(verifier: &str) -> Pkce {
        let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
        Pkce {
            verifier: verifier.to_string(),
            challenge: b64url(digest.as_ref()),
        }
    }

    /// The `code_verifier`, sent with the code exchange.
    pub fn verifier(&self) -> &str {
        &self.verifier
    }

    /// The `code_challenge`, sent in the authorization request.
    pub fn challenge(&self) -> &str {
        &self.challenge
    }
}
