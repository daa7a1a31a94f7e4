//! The kinds of event the server records. Their names are a public contract (stored,
//! logged, filtered on by the admin API): `as_str` gives them, and they never change.

use std::fmt;
use std::str::FromStr;

/// Every kind of event the server records.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A superseded refresh token was presented; the reaction is in the details.
    TokenReuseDetected,
    /// A refresh token was presented by a client other than its grant's.
    TokenClientMismatch,
    GrantCreated,
    /// With the reason in the details.
    GrantRevoked,
    /// The cleanup job removed a grant that had expired.
    GrantExpired,
    LoginSucceeded,
    LoginFailed,
    /// The login throttle refused a sign-in without checking its password.
    LoginThrottled,
    ConsentGranted,
    ConsentDenied,
    /// An administrator withdrew a user's consent to a client (the console's user page).
    ConsentRevoked,
    SessionEnded,
    BackchannelLogoutSent,
    BackchannelLogoutFailed,
    ClientChanged,
    UserChanged,
    /// A resource (API) was created, changed or deleted through the admin API or CLI.
    ResourceChanged,
    SettingsChanged,
    KeysRotated,
    /// A DPoP proof was refused (missing where required, invalid, replayed, or of
    /// another key than the token's); the rule in the details, never the proof.
    DpopProofRefused,
}

impl EventKind {
    pub const ALL: [EventKind; 20] = [
        EventKind::TokenReuseDetected,
        EventKind::TokenClientMismatch,
        EventKind::GrantCreated,
        EventKind::GrantRevoked,
        EventKind::GrantExpired,
        EventKind::LoginSucceeded,
        EventKind::LoginFailed,
        EventKind::LoginThrottled,
        EventKind::ConsentGranted,
        EventKind::ConsentDenied,
        EventKind::ConsentRevoked,
        EventKind::SessionEnded,
        EventKind::BackchannelLogoutSent,
        EventKind::BackchannelLogoutFailed,
        EventKind::ClientChanged,
        EventKind::UserChanged,
        EventKind::ResourceChanged,
        EventKind::SettingsChanged,
        EventKind::KeysRotated,
        EventKind::DpopProofRefused,
    ];

    /// The wire name, as stored, logged and filtered on.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::TokenReuseDetected => "token.reuse_detected",
            EventKind::TokenClientMismatch => "token.client_mismatch",
            EventKind::GrantCreated => "grant.created",
            EventKind::GrantRevoked => "grant.revoked",
            EventKind::GrantExpired => "grant.expired",
            EventKind::LoginSucceeded => "login.succeeded",
            EventKind::LoginFailed => "login.failed",
            EventKind::LoginThrottled => "login.throttled",
            EventKind::ConsentGranted => "consent.granted",
            EventKind::ConsentDenied => "consent.denied",
            EventKind::ConsentRevoked => "consent.revoked",
            EventKind::SessionEnded => "session.ended",
            EventKind::BackchannelLogoutSent => "backchannel_logout.sent",
            EventKind::BackchannelLogoutFailed => "backchannel_logout.failed",
            EventKind::ClientChanged => "client.changed",
            EventKind::UserChanged => "user.changed",
            EventKind::ResourceChanged => "resource.changed",
            EventKind::SettingsChanged => "settings.changed",
            EventKind::KeysRotated => "keys.rotated",
            EventKind::DpopProofRefused => "dpop.proof_refused",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name is not one of the kinds the server records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownEventKind;

impl FromStr for EventKind {
    type Err = UnknownEventKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or(UnknownEventKind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for k in EventKind::ALL {
            assert!(seen.insert(k.as_str()), "{} twice", k.as_str());
            assert_eq!(k.as_str().parse::<EventKind>(), Ok(k));
            assert_eq!(k.to_string(), k.as_str());
        }
        assert_eq!("grant.revoke".parse::<EventKind>(), Err(UnknownEventKind));
    }
}
