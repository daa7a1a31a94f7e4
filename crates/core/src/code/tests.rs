//! Table-driven tests of the code exchange's checks (RFC 6749 §4.1.3, RFC 7636).
//!
//! The table is the cross product of the facts `check` looks at: which client
//! presents the code, where the clock is, the redirect URI rule and PKCE. Each case
//! states its meaning outright (expired or not, redirect accepted or not, what PKCE
//! answers); `oracle` picks the first failure in the documented order, written
//! without looking at how `check` computes it.

use super::*;
use crate::secret::sha256;
use std::fmt::Debug;

/// "Now" in every test: an arbitrary instant, far from the epoch.
const NOW: Timestamp = Timestamp(1_700_000_000_000);

const CLIENT: &str = "client-7f3a";
const OTHER_CLIENT: &str = "client-e21b";
const CALLBACK: &str = "https://app.example.test/cb";
const OTHER_REGISTERED: &str = "https://app.example.test/other";
const UNREGISTERED: &str = "https://evil.example.test/cb";

/// RFC 7636 Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
/// Well formed, and not the one.
const WRONG_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXx";

fn registered() -> Vec<String> {
    vec![CALLBACK.to_string(), OTHER_REGISTERED.to_string()]
}

/// An unused code of `CLIENT`, issued for `redirect_uri`, expiring `expires_in` ms
/// after `NOW`.
fn code(redirect_uri: &str, challenge: Option<&str>, expires_in: i64) -> AuthCode {
    AuthCode {
        resources: Default::default(),
        digest: sha256(b"code-value-3b9e"),
        client_id: CLIENT.to_string(),
        redirect_uri: redirect_uri.to_string(),
        scope: crate::scope::Scope::parse("openid offline_access").unwrap(),
        subject: "subject-9c1e".to_string(),
        session_id: "session-41d2".to_string(),
        nonce: Some("nonce-5d1f".to_string()),
        code_challenge: challenge.map(str::to_string),
        dpop_jkt: None,
        auth_time: Timestamp(NOW.0 - 30_000),
        expires_at: Timestamp(NOW.0 + expires_in),
        used: None,
    }
}

#[derive(Debug)]
struct ClientCase {
    client_id: &'static str,
    mismatch: bool,
}

const CLIENTS: [ClientCase; 2] = [
    ClientCase {
        client_id: CLIENT,
        mismatch: false,
    },
    ClientCase {
        client_id: OTHER_CLIENT,
        mismatch: true,
    },
];

#[derive(Debug)]
struct ClockCase {
    name: &'static str,
    /// `expires_at` − `NOW` in ms.
    expires_in: i64,
    expired: bool,
}

const CLOCKS: [ClockCase; 4] = [
    ClockCase {
        name: "a minute left",
        expires_in: 60_000,
        expired: false,
    },
    ClockCase {
        name: "last millisecond",
        expires_in: 1,
        expired: false,
    },
    ClockCase {
        name: "expires exactly now",
        expires_in: 0,
        expired: true,
    },
    ClockCase {
        name: "a millisecond ago",
        expires_in: -1,
        expired: true,
    },
];

#[derive(Debug)]
struct RedirectCase {
    name: &'static str,
    /// The code's `redirect_uri` (empty: the authorization request named none).
    stored: &'static str,
    presented: Option<&'static str>,
    ok: bool,
}

const REDIRECTS: [RedirectCase; 9] = [
    RedirectCase {
        name: "none named, none given",
        stored: "",
        presented: None,
        ok: true,
    },
    RedirectCase {
        name: "none named, a registered one given",
        stored: "",
        presented: Some(OTHER_REGISTERED),
        ok: true,
    },
    RedirectCase {
        name: "none named, an unregistered one given",
        stored: "",
        presented: Some(UNREGISTERED),
        ok: false,
    },
    RedirectCase {
        name: "named, the same given",
        stored: CALLBACK,
        presented: Some(CALLBACK),
        ok: true,
    },
    RedirectCase {
        name: "named, none given",
        stored: CALLBACK,
        presented: None,
        ok: false,
    },
    RedirectCase {
        name: "named, another registered one given",
        stored: CALLBACK,
        presented: Some(OTHER_REGISTERED),
        ok: false,
    },
    RedirectCase {
        name: "named, an unregistered one given",
        stored: CALLBACK,
        presented: Some(UNREGISTERED),
        ok: false,
    },
    RedirectCase {
        name: "named, given with a trailing slash",
        stored: CALLBACK,
        presented: Some("https://app.example.test/cb/"),
        ok: false,
    },
    RedirectCase {
        name: "named, given in other case",
        stored: CALLBACK,
        presented: Some("HTTPS://APP.EXAMPLE.TEST/cb"),
        ok: false,
    },
];

#[derive(Debug)]
struct PkceCase {
    name: &'static str,
    challenge: Option<&'static str>,
    verifier: Option<&'static str>,
    want: Option<CodeRejection>,
}

const PKCES: [PkceCase; 9] = [
    PkceCase {
        name: "challenge, its verifier",
        challenge: Some(CHALLENGE),
        verifier: Some(VERIFIER),
        want: None,
    },
    PkceCase {
        name: "challenge, another well-formed verifier",
        challenge: Some(CHALLENGE),
        verifier: Some(WRONG_VERIFIER),
        want: Some(CodeRejection::VerifierMismatch),
    },
    PkceCase {
        name: "challenge, a verifier too short to be one",
        challenge: Some(CHALLENGE),
        verifier: Some("short"),
        want: Some(CodeRejection::VerifierMismatch),
    },
    PkceCase {
        name: "challenge, the challenge itself as verifier (plain is refused)",
        challenge: Some(CHALLENGE),
        verifier: Some(CHALLENGE),
        want: Some(CodeRejection::VerifierMismatch),
    },
    PkceCase {
        name: "challenge, no verifier",
        challenge: Some(CHALLENGE),
        verifier: None,
        want: Some(CodeRejection::VerifierMissing),
    },
    PkceCase {
        name: "verifier as challenge (a plain challenge), that verifier",
        challenge: Some(VERIFIER),
        verifier: Some(VERIFIER),
        want: Some(CodeRejection::VerifierMismatch),
    },
    PkceCase {
        name: "no challenge, no verifier",
        challenge: None,
        verifier: None,
        want: None,
    },
    PkceCase {
        name: "no challenge, a verifier",
        challenge: None,
        verifier: Some(VERIFIER),
        want: Some(CodeRejection::VerifierUnexpected),
    },
    PkceCase {
        name: "no challenge, a malformed verifier",
        challenge: None,
        verifier: Some("short"),
        want: Some(CodeRejection::VerifierUnexpected),
    },
];

const JKT: &str = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
const OTHER_JKT: &str = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

/// The DPoP key the authorization request bound the code to (`dpop_jkt`), and the key
/// the token request proved.
#[derive(Debug)]
struct KeyCase {
    name: &'static str,
    bound: Option<&'static str>,
    proved: Option<&'static str>,
    ok: bool,
}

const KEYS: [KeyCase; 5] = [
    KeyCase {
        name: "unbound, no proof",
        bound: None,
        proved: None,
        ok: true,
    },
    KeyCase {
        name: "unbound, a proof",
        bound: None,
        proved: Some(OTHER_JKT),
        ok: true,
    },
    KeyCase {
        name: "bound, a proof of its key",
        bound: Some(JKT),
        proved: Some(JKT),
        ok: true,
    },
    KeyCase {
        name: "bound, no proof",
        bound: Some(JKT),
        proved: None,
        ok: false,
    },
    KeyCase {
        name: "bound, a proof of another key",
        bound: Some(JKT),
        proved: Some(OTHER_JKT),
        ok: false,
    },
];

/// The SPEC restated: the first failure in the order client, expiry, redirect, PKCE,
/// DPoP key.
fn oracle(
    c: &ClientCase,
    t: &ClockCase,
    r: &RedirectCase,
    p: &PkceCase,
    k: &KeyCase,
) -> Result<(), CodeRejection> {
    if c.mismatch {
        Err(CodeRejection::ClientMismatch)
    } else if t.expired {
        Err(CodeRejection::Expired)
    } else if !r.ok {
        Err(CodeRejection::RedirectMismatch)
    } else if let Some(want) = p.want {
        Err(want)
    } else if !k.ok {
        Err(CodeRejection::KeyMismatch)
    } else {
        Ok(())
    }
}

/// Anything of the code or the request found in a rejection's description, or any
/// digit (no time, no count).
fn leak(e: &OAuthError, code: &AuthCode, x: &Exchange<'_>) -> Option<String> {
    let d = e.description.as_str();
    let mut secrets = vec![
        code.client_id.clone(),
        code.redirect_uri.clone(),
        code.subject.clone(),
        code.session_id.clone(),
        x.client_id.to_string(),
    ];
    secrets.extend(code.code_challenge.clone());
    secrets.extend(x.redirect_uri.map(str::to_string));
    secrets.extend(x.code_verifier.map(str::to_string));
    if let Some(s) = secrets
        .into_iter()
        .find(|s| !s.is_empty() && d.contains(s.as_str()))
    {
        return Some(s);
    }
    d.chars().find(char::is_ascii_digit).map(String::from)
}

#[derive(Default)]
struct Checker {
    checked: usize,
    failures: Vec<String>,
}

impl Checker {
    /// THE helper: `check` must answer `want`, and a rejection's error must name
    /// nothing of the code or the request.
    fn check(
        &mut self,
        label: &dyn Debug,
        code: &AuthCode,
        now: Timestamp,
        x: &Exchange<'_>,
        want: Result<(), CodeRejection>,
    ) {
        self.checked += 1;
        let got = check(code, now, x);
        if got != want {
            self.failures
                .push(format!("{label:?}\n    want {want:?}\n    got  {got:?}"));
        }
        if let Err(r) = got {
            if let Some(l) = leak(&r.error(), code, x) {
                self.failures
                    .push(format!("{label:?}\n    the error of {r:?} leaks {l:?}"));
            }
        }
    }

    fn finish(self) {
        let shown: Vec<&str> = self.failures.iter().take(30).map(String::as_str).collect();
        assert!(
            self.failures.is_empty(),
            "{} of {} checks failed (first {} shown):\n{}",
            self.failures.len(),
            self.checked,
            shown.len(),
            shown.join("\n")
        );
    }
}

#[test]
fn the_cross_product() {
    let registered = registered();
    let mut c = Checker::default();
    for client in &CLIENTS {
        for clock in &CLOCKS {
            for redirect in &REDIRECTS {
                for pkce in &PKCES {
                    for key in &KEYS {
                        let mut code = code(redirect.stored, pkce.challenge, clock.expires_in);
                        code.dpop_jkt = key.bound.map(str::to_string);
                        let x = Exchange {
                            client_id: client.client_id,
                            registered_redirect_uris: &registered,
                            redirect_uri: redirect.presented,
                            code_verifier: pkce.verifier,
                            proof_jkt: key.proved,
                        };
                        let label = (
                            client.client_id,
                            clock.name,
                            redirect.name,
                            pkce.name,
                            key.name,
                        );
                        c.check(
                            &label,
                            &code,
                            NOW,
                            &x,
                            oracle(client, clock, redirect, pkce, key),
                        );
                    }
                }
            }
        }
    }
    assert_eq!(
        c.checked,
        CLIENTS.len() * CLOCKS.len() * REDIRECTS.len() * PKCES.len() * KEYS.len()
    );
    c.finish();
}

#[test]
fn another_client_learns_nothing_else_about_the_code() {
    // Expired, wrong redirect and no verifier: still only "invalid" to another client,
    // with the same words as an unknown code.
    let registered = registered();
    let code = code(CALLBACK, Some(CHALLENGE), -1);
    let x = Exchange {
        client_id: OTHER_CLIENT,
        registered_redirect_uris: &registered,
        redirect_uri: Some(UNREGISTERED),
        code_verifier: None,
        proof_jkt: None,
    };
    let r = check(&code, NOW, &x).unwrap_err();
    assert_eq!(r, CodeRejection::ClientMismatch);
    assert_eq!(
        r.error(),
        OAuthError::invalid_grant("the authorization code is invalid, expired or was already used")
    );
}

#[test]
fn a_missing_verifier_is_a_bad_request_the_rest_bad_grants() {
    use crate::error::ErrorCode;
    for r in [
        CodeRejection::ClientMismatch,
        CodeRejection::Expired,
        CodeRejection::RedirectMismatch,
        CodeRejection::VerifierMismatch,
        CodeRejection::VerifierUnexpected,
        CodeRejection::KeyMismatch,
    ] {
        assert_eq!(r.error().code, ErrorCode::InvalidGrant, "{r:?}");
    }
    assert_eq!(
        CodeRejection::VerifierMissing.error().code,
        ErrorCode::InvalidRequest
    );
}

#[test]
fn the_rfc_7636_example_exchanges() {
    let registered = registered();
    let code = code(CALLBACK, Some(CHALLENGE), 60_000);
    let x = Exchange {
        client_id: CLIENT,
        registered_redirect_uris: &registered,
        redirect_uri: Some(CALLBACK),
        code_verifier: Some(VERIFIER),
        proof_jkt: None,
    };
    assert_eq!(check(&code, NOW, &x), Ok(()));
    // The same request the moment the code expires.
    assert_eq!(
        check(&code, Timestamp(code.expires_at.0), &x),
        Err(CodeRejection::Expired)
    );
}
