//! Token responses and the token sets the managers keep.

use crate::util::now_secs;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A successful token response (RFC 6749 §5.1). `Debug` hides the tokens.
#[derive(Clone, Deserialize, Serialize)]
#[non_exhaustive]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    #[serde(default)]
    pub expires_in: Option<u64>,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub id_token: Option<String>,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| ".."))
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// What a manager stores per key: the tokens and when the access token expires.
/// `Debug` hides the tokens.
#[derive(Clone, Deserialize, Serialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenSet {
    pub access_token: String,
    pub token_type: String,
    /// Unix seconds at which the access token expires; `None` when the server did not say.
    #[serde(default)]
    pub expires_at: Option<u64>,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub id_token: Option<String>,
    /// Unix seconds at which the tokens were received (bounds the refresh skew).
    #[serde(default)]
    pub received_at: Option<u64>,
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("token_type", &self.token_type)
            .field("expires_at", &self.expires_at)
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| ".."))
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl TokenSet {
    /// The token set of a response received now.
    pub fn from_response(r: TokenResponse) -> TokenSet {
        let now = now_secs();
        TokenSet {
            received_at: Some(now),
            expires_at: r.expires_in.map(|s| now.saturating_add(s)),
            access_token: r.access_token,
            token_type: r.token_type,
            refresh_token: r.refresh_token,
            scope: r.scope,
            id_token: r.id_token,
        }
    }

    /// A token set with these values (for tests and migrations from other storage).
    pub fn new(
        access_token: &str,
        refresh_token: Option<&str>,
        expires_at: Option<u64>,
    ) -> TokenSet {
        TokenSet {
            access_token: access_token.to_string(),
            token_type: "Bearer".into(),
            expires_at,
            refresh_token: refresh_token.map(str::to_string),
            scope: None,
            id_token: None,
            received_at: None,
        }
    }

    /// The set after a refresh answered `r`: what the response omits (a refresh token
    /// under `reuse`, the ID token, the scope) is kept from `self`.
    pub(crate) fn refreshed(&self, r: TokenResponse) -> TokenSet {
        let mut next = TokenSet::from_response(r);
        if next.refresh_token.is_none() {
            next.refresh_token.clone_from(&self.refresh_token);
        }
        if next.id_token.is_none() {
            next.id_token.clone_from(&self.id_token);
        }
        if next.scope.is_none() {
            next.scope.clone_from(&self.scope);
        }
        next
    }

    /// Whether the access token expires within `skew` seconds from now. The skew is
    /// capped at half the token's lifetime when that is known, so that short-lived tokens
    /// (shorter than the skew) are not refreshed on every use. A token with no known
    /// expiry is never due: it is used until a resource server refuses it.
    pub fn expires_within(&self, skew: u64) -> bool {
        let Some(at) = self.expires_at else {
            return false;
        };
        let skew = match self.received_at {
            Some(from) if at > from => skew.min((at - from) / 2),
            _ => skew,
        };
        now_secs().saturating_add(skew) >= at
    }

    /// The access token with its type, for an `Authorization` header.
    pub fn access(&self) -> AccessToken {
        AccessToken {
            token: self.access_token.clone(),
            token_type: self.token_type.clone(),
        }
    }
}

/// An access token ready for use. `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    pub token: String,
    /// `Bearer` (or `DPoP` once proofs are supported).
    pub token_type: String,
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccessToken({}, ..)", self.token_type)
    }
}

impl AccessToken {
    /// The `Authorization` header value: `Bearer <token>`.
    pub fn header_value(&self) -> String {
        let scheme = if self.token_type.eq_ignore_ascii_case("dpop") {
            "DPoP"
        } else {
            "Bearer"
        };
        format!("{scheme} {}", self.token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(rt: Option<&str>, expires_in: Option<u64>) -> TokenResponse {
        TokenResponse {
            access_token: "new-at".into(),
            token_type: "Bearer".into(),
            expires_in,
            refresh_token: rt.map(str::to_string),
            scope: None,
            id_token: None,
        }
    }

    #[test]
    fn a_refresh_without_a_new_refresh_token_keeps_the_old_one() {
        let mut old = TokenSet::new("at", Some("rt-1"), Some(0));
        old.id_token = Some("idt".into());
        let next = old.refreshed(response(None, Some(60)));
        assert_eq!(next.refresh_token.as_deref(), Some("rt-1"));
        assert_eq!(next.id_token.as_deref(), Some("idt"));
        assert_eq!(next.access_token, "new-at");
        let rotated = old.refreshed(response(Some("rt-2"), Some(60)));
        assert_eq!(rotated.refresh_token.as_deref(), Some("rt-2"));
    }

    #[test]
    fn skew_is_capped_at_half_the_lifetime() {
        // A 30 s token with a 60 s skew is not due at once.
        let t = TokenSet::from_response(response(None, Some(30)));
        assert!(!t.expires_within(60));
        // Without a known receipt time the full skew applies.
        let mut t2 = t.clone();
        t2.received_at = None;
        assert!(t2.expires_within(60));
        assert!(TokenSet::new("a", None, Some(0)).expires_within(0));
        assert!(!TokenSet::new("a", None, None).expires_within(3600));
    }

    #[test]
    fn debug_output_hides_tokens() {
        let t = TokenSet::new("secret-at", Some("secret-rt"), None);
        let s = format!(
            "{t:?} {:?} {:?}",
            t.access(),
            response(Some("secret-rt"), None)
        );
        assert!(!s.contains("secret"), "{s}");
    }

    #[test]
    fn header_value_uses_the_token_type_scheme() {
        let mut t = TokenSet::new("x", None, None);
        assert_eq!(t.access().header_value(), "Bearer x");
        t.token_type = "bearer".into();
        assert_eq!(t.access().header_value(), "Bearer x");
        t.token_type = "DPoP".into();
        assert_eq!(t.access().header_value(), "DPoP x");
    }
}
