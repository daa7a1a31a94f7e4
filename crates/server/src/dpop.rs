//! DPoP (RFC 9449): checking the proofs of possession that come with token requests
//! and with requests that use a DPoP-bound access token, server nonces, and the key
//! thumbprints (RFC 7638) tokens are bound to.
//!
//! [`check`] is the whole validation of one proof but its replay: form, header, key,
//! signature, claims, nonce. [`verify`] adds what needs the store (a proof's `jti` is
//! recorded until the proof would be too old anyway, on every node's shared store) and
//! counts the result. Nothing here knows HTTP: the HTTP layer hands over the `DPoP`
//! header values and maps a [`Refusal`] to `invalid_dpop_proof` or `use_dpop_nonce`.

use crate::config::DpopConfig;
use crate::state::AppState;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use baton_core::time::{Dur, Timestamp};
use ring::hmac;
use serde_json::Value;

/// The proof algorithms accepted (`dpop_signing_alg_values_supported`). `Ed25519` is
/// the fully-specified name of `EdDSA` with an Ed25519 key (RFC 9864), which some
/// libraries (openid-client) put in their proofs.
pub const ALGS: [&str; 6] = ["ES256", "ES384", "EdDSA", "Ed25519", "RS256", "PS256"];

/// The longest proof read (an RSA-8192 key in the header is about 1.5 KiB).
const MAX_PROOF: usize = 8 * 1024;
/// The longest `jti` kept.
const MAX_JTI: usize = 256;

/// Why a proof was refused; each names a metrics label and an event reason. Never
/// carries anything of the proof itself.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No proof where one is required.
    Missing,
    /// More than one `DPoP` header.
    Several,
    /// Not a compact JWS of JSON objects, or too long.
    Malformed,
    /// `typ` is not `dpop+jwt`.
    Typ,
    /// `alg` is not one of [`ALGS`].
    Alg,
    /// `jwk` is missing, private, or not a key of `alg`'s type.
    Jwk,
    Signature,
    /// `jti` missing, empty or too long.
    Jti,
    Htm,
    Htu,
    /// `iat` missing or outside the window.
    Iat,
    /// `ath` missing or not the hash of the access token presented.
    Ath,
    /// The nonce is missing or is not a current one of this server.
    Nonce,
    /// A `jti` seen before.
    Replayed,
    /// A valid proof of a key other than the one the token, code or grant is bound to.
    KeyMismatch,
}

impl Refusal {
    pub const ALL: [Refusal; 15] = [
        Refusal::Missing,
        Refusal::Several,
        Refusal::Malformed,
        Refusal::Typ,
        Refusal::Alg,
        Refusal::Jwk,
        Refusal::Signature,
        Refusal::Jti,
        Refusal::Htm,
        Refusal::Htu,
        Refusal::Iat,
        Refusal::Ath,
        Refusal::Nonce,
        Refusal::Replayed,
        Refusal::KeyMismatch,
    ];

    /// The label in metrics and the `reason` of `dpop.proof_refused` events.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Missing => "missing",
            Refusal::Several => "several",
            Refusal::Malformed => "malformed",
            Refusal::Typ => "typ",
            Refusal::Alg => "alg",
            Refusal::Jwk => "jwk",
            Refusal::Signature => "signature",
            Refusal::Jti => "jti",
            Refusal::Htm => "htm",
            Refusal::Htu => "htu",
            Refusal::Iat => "iat",
            Refusal::Ath => "ath",
            Refusal::Nonce => "nonce",
            Refusal::Replayed => "replayed",
            Refusal::KeyMismatch => "key_mismatch",
        }
    }

    /// The `error_description`: which rule, nothing of the proof.
    pub fn description(self) -> &'static str {
        match self {
            Refusal::Missing => "a DPoP proof is required",
            Refusal::Several => "exactly one DPoP header is allowed",
            Refusal::Malformed => "the DPoP proof is not a well-formed JWT",
            Refusal::Typ => "the DPoP proof's typ must be dpop+jwt",
            Refusal::Alg => "the DPoP proof's alg is not supported",
            Refusal::Jwk => "the DPoP proof's jwk must be a public key of its alg",
            Refusal::Signature => "the DPoP proof's signature does not verify",
            Refusal::Jti => "the DPoP proof needs a jti",
            Refusal::Htm => "the DPoP proof's htm is not this request's method",
            Refusal::Htu => "the DPoP proof's htu is not this endpoint",
            Refusal::Iat => "the DPoP proof's iat is missing or too far from the server's time",
            Refusal::Ath => "the DPoP proof's ath does not match the access token",
            Refusal::Nonce => "the DPoP proof must carry the server's current nonce",
            Refusal::Replayed => "the DPoP proof was used before",
            Refusal::KeyMismatch => "the DPoP proof is of another key than the token is bound to",
        }
    }
}

/// The `DPoP` headers a request carried.
#[derive(Copy, Clone, Debug)]
pub enum Header<'a> {
    Absent,
    One(&'a str),
    /// Several headers, or one that is not visible ASCII.
    Bad(Refusal),
}

/// What a proof must match.
#[derive(Copy, Clone, Debug)]
pub struct Expect<'a> {
    /// The request's method (`htm`).
    pub method: &'a str,
    /// The endpoint's URL as this server publishes it (`htu`).
    pub url: &'a str,
    /// The access token presented with the proof, whose hash `ath` must be.
    pub access_token: Option<&'a str>,
    /// Whether the proof must carry a current nonce.
    pub nonce: bool,
}

/// A proof that passed every check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proof {
    /// The RFC 7638 thumbprint of the proof's key.
    pub jkt: String,
    /// What is recorded against replay: a digest of the key and the `jti`.
    replay_id: String,
    /// Until when the proof could be accepted: its `jti` is kept that long.
    good_until: Timestamp,
}

/// The server's nonces: stateless, an HMAC of the time slot under a key derived from
/// the server secret, so every node with the same secret gives and accepts the same
/// ones. A nonce is accepted in its slot and the next: one to two `nonce_lifetime`s.
pub struct Nonces {
    key: hmac::Key,
    slot_ms: i64,
}

impl Nonces {
    pub fn new(secret: &[u8], lifetime: Dur) -> Nonces {
        Nonces {
            key: baton_core::token::derive(secret, b"baton dpop nonce v1"),
            slot_ms: lifetime.millis().max(1),
        }
    }

    /// The nonce to hand out at `now`.
    pub fn current(&self, now: Timestamp) -> String {
        self.for_slot(now.0.div_euclid(self.slot_ms))
    }

    fn for_slot(&self, slot: i64) -> String {
        let tag = hmac::sign(&self.key, &slot.to_be_bytes());
        let mut raw = slot.to_be_bytes().to_vec();
        raw.extend_from_slice(&tag.as_ref()[..16]);
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// Whether `nonce` is this slot's or the previous one's.
    pub fn valid(&self, nonce: &str, now: Timestamp) -> bool {
        let now_slot = now.0.div_euclid(self.slot_ms);
        [now_slot, now_slot - 1].into_iter().any(|slot| {
            let want = self.for_slot(slot);
            // Both are public-length encodings; constant time anyway.
            want.len() == nonce.len()
                && subtle::ConstantTimeEq::ct_eq(want.as_bytes(), nonce.as_bytes()).into()
        })
    }
}

/// The RFC 7638 thumbprint of a public JWK of a supported type; `None` for anything
/// else (or a JWK with a private part).
pub fn thumbprint(jwk: &Value) -> Option<String> {
    const PRIVATE: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "k"];
    if PRIVATE.iter().any(|k| jwk.get(*k).is_some()) {
        return None;
    }
    let s = |k: &str| jwk[k].as_str().filter(|v| !v.is_empty());
    let q = |v: &str| Value::String(v.to_string()).to_string();
    // The required members only, in lexicographic order, no whitespace (§3.2).
    let canonical = match s("kty")? {
        "EC" => format!(
            r#"{{"crv":{},"kty":"EC","x":{},"y":{}}}"#,
            q(s("crv")?),
            q(s("x")?),
            q(s("y")?)
        ),
        "RSA" => format!(r#"{{"e":{},"kty":"RSA","n":{}}}"#, q(s("e")?), q(s("n")?)),
        "OKP" => format!(
            r#"{{"crv":{},"kty":"OKP","x":{}}}"#,
            q(s("crv")?),
            q(s("x")?)
        ),
        _ => return None,
    };
    let d = baton_core::secret::sha256(canonical.as_bytes());
    Some(URL_SAFE_NO_PAD.encode(d))
}

/// The `ath` of an access token: base64url(SHA-256(token)).
pub fn ath(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(baton_core::secret::sha256(access_token.as_bytes()))
}

/// Whether `htu` names `url` (RFC 9449 §4.3: query and fragment ignored; scheme and
/// host compared case-insensitively, default ports implied, as URL parsing
/// normalises them).
fn same_endpoint(htu: &str, url: &str) -> bool {
    let (Ok(a), Ok(b)) = (url::Url::parse(htu), url::Url::parse(url)) else {
        return false;
    };
    a.origin() == b.origin() && a.path() == b.path()
}

/// Checks one proof against `expect` at `now`: everything but replay.
pub fn check(
    proof: &str,
    expect: &Expect<'_>,
    now: Timestamp,
    cfg: &DpopConfig,
    nonces: &Nonces,
) -> Result<Proof, Refusal> {
    if proof.len() > MAX_PROOF {
        return Err(Refusal::Malformed);
    }
    let (header, claims, input, sig) =
        crate::jwt::decode_unverified(proof).map_err(|_| Refusal::Malformed)?;
    if header["typ"] != "dpop+jwt" {
        return Err(Refusal::Typ);
    }
    // RFC 7515 §4.1.11: no critical extension is understood here, so any makes the
    // proof invalid.
    if header.get("crit").is_some() {
        return Err(Refusal::Malformed);
    }
    let alg = header["alg"]
        .as_str()
        .filter(|a| ALGS.contains(a))
        .ok_or(Refusal::Alg)?;
    let jwk = &header["jwk"];
    let jkt = thumbprint(jwk).ok_or(Refusal::Jwk)?;
    if !crate::jwt::verify_signature(alg, jwk, input.as_bytes(), &sig) {
        // A key that cannot be of `alg` fails here too: say which.
        return Err(if crate::jwt::key_fits(alg, jwk) {
            Refusal::Signature
        } else {
            Refusal::Jwk
        });
    }
    let jti = claims["jti"]
        .as_str()
        .filter(|j| !j.is_empty() && j.len() <= MAX_JTI)
        .ok_or(Refusal::Jti)?;
    if claims["htm"].as_str() != Some(expect.method) {
        return Err(Refusal::Htm);
    }
    if !claims["htu"]
        .as_str()
        .is_some_and(|h| same_endpoint(h, expect.url))
    {
        return Err(Refusal::Htu);
    }
    let window = cfg.iat_window.millis();
    let iat_ms = claims["iat"]
        .as_f64()
        .filter(|f| f.is_finite() && f.abs() < 1e12)
        .map(|f| (f * 1000.0) as i64)
        .ok_or(Refusal::Iat)?;
    if (now.0 - iat_ms).abs() > window {
        return Err(Refusal::Iat);
    }
    if let Some(at) = expect.access_token {
        if claims["ath"].as_str() != Some(ath(at).as_str()) {
            return Err(Refusal::Ath);
        }
    }
    if expect.nonce
        && !claims["nonce"]
            .as_str()
            .is_some_and(|n| nonces.valid(n, now))
    {
        return Err(Refusal::Nonce);
    }
    let mut id = Vec::with_capacity(jkt.len() + 1 + jti.len());
    id.extend_from_slice(jkt.as_bytes());
    id.push(b'.');
    id.extend_from_slice(jti.as_bytes());
    Ok(Proof {
        replay_id: format!(
            "dpop:{}",
            URL_SAFE_NO_PAD.encode(baton_core::secret::sha256(&id))
        ),
        // Past this the proof's iat is outside the window whatever the clock.
        good_until: Timestamp(iat_ms + window + 1),
        jkt,
    })
}

/// A request's proof, checked, its `jti` recorded: `Ok(None)` when the request carried
/// none (whether one was needed is the caller's rule). Counts the result in
/// `baton_dpop_proofs_total`.
pub async fn verify(
    st: &AppState,
    header: Header<'_>,
    expect: &Expect<'_>,
) -> Result<Option<Proof>, VerifyError> {
    let proof = match header {
        Header::Absent => return Ok(None),
        Header::Bad(r) => return Err(refused(r)),
        Header::One(p) => p,
    };
    let now = st.clock.now();
    let p = check(proof, expect, now, &st.cfg.dpop, &st.dpop_nonces).map_err(refused)?;
    // Of two concurrent uses of one proof, exactly one records it.
    if !st.store.revoke_jti(&p.replay_id, p.good_until).await? {
        return Err(refused(Refusal::Replayed));
    }
    crate::metrics::dpop_proof(None);
    Ok(Some(p))
}

/// The `dpop.proof_refused` event of a refusal at `endpoint` (never the proof). The
/// subject is not named: a refused proof says nothing certain about whose token it was.
pub fn refusal_event(
    r: Refusal,
    endpoint: &str,
    now: Timestamp,
    caller: &crate::caller::Caller,
    client_id: Option<&str>,
    grant_id: Option<baton_core::model::GrantId>,
) -> baton_core::model::Event {
    crate::grants::event(
        baton_core::events::EventKind::DpopProofRefused,
        now,
        caller,
        client_id,
        None,
        grant_id,
        serde_json::json!({ "reason": r.as_str(), "endpoint": endpoint }),
    )
}

/// A token request for a key-bound grant or code (at `/token`) without a proof of its
/// key: counted as `key_mismatch` (another key was proved) or `missing`, and recorded,
/// best effort (nothing changed), as `dpop.proof_refused`.
pub async fn key_refused(
    st: &AppState,
    proved: bool,
    now: Timestamp,
    caller: &crate::caller::Caller,
    client_id: &str,
    grant_id: Option<baton_core::model::GrantId>,
) {
    let why = count(if proved {
        Refusal::KeyMismatch
    } else {
        Refusal::Missing
    });
    let ev = refusal_event(why, "/token", now, caller, Some(client_id), grant_id);
    crate::best_effort::record_event(st, ev).await;
}

/// Counts a refusal made outside [`verify`] (a proof missing where required, a proof
/// of another key than the token's).
pub fn count(r: Refusal) -> Refusal {
    crate::metrics::dpop_proof(Some(r));
    r
}

fn refused(r: Refusal) -> VerifyError {
    VerifyError::Refused(count(r))
}

/// Why [`verify`] failed: the proof, or the store (recording its `jti`).
#[derive(Debug)]
pub enum VerifyError {
    Refused(Refusal),
    Store(baton_core::error::StoreError),
}

impl From<baton_core::error::StoreError> for VerifyError {
    fn from(e: baton_core::error::StoreError) -> Self {
        VerifyError::Store(e)
    }
}

#[cfg(test)]
mod tests;
