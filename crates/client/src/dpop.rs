//! DPoP (RFC 9449): proofs of possession of a key, sent with token requests and with
//! requests that use a DPoP-bound access token, including server-provided nonces.

use crate::auth::SigningKey;
use crate::error::Result;
use crate::util::{b64url, now_secs, random_token};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Mutex;

/// A DPoP key (ES256) and the nonces servers gave for it.
///
/// Tokens a server binds to this key (for public clients: the refresh token too) work
/// only with this key, so **persist it** with the tokens: generate the PKCS#8 bytes once
/// with [`SigningKey::generate_pkcs8`], keep them (a file with mode 0600, a keychain) and
/// load them with [`DpopKey::from_pkcs8`] at each start.
///
/// ```
/// use baton_client::{DpopKey, SigningKey};
/// let pkcs8 = SigningKey::generate_pkcs8().unwrap(); // store these bytes
/// let key = DpopKey::from_pkcs8(&pkcs8).unwrap();
/// let proof = key.proof("POST", "https://as.example/token", None).unwrap();
/// assert_eq!(proof.split('.').count(), 3);
/// ```
#[derive(Debug)]
pub struct DpopKey {
    key: SigningKey,
    /// The last `DPoP-Nonce` per origin.
    nonces: Mutex<HashMap<String, String>>,
}

impl DpopKey {
    /// The key from its PKCS#8 (DER) encoding.
    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<DpopKey> {
        Ok(DpopKey {
            key: SigningKey::from_pkcs8(pkcs8, None)?,
            nonces: Mutex::default(),
        })
    }

    /// The public key as a bare JWK (`kty`, `crv`, `x`, `y`).
    pub fn public_jwk(&self) -> serde_json::Value {
        let full = self.key.public_jwk();
        json!({ "kty": full["kty"], "crv": full["crv"], "x": full["x"], "y": full["y"] })
    }

    /// The RFC 7638 thumbprint of the key (what servers put in `cnf.jkt`).
    pub fn thumbprint(&self) -> String {
        let j = self.public_jwk();
        // Members in lexicographic order, no whitespace (RFC 7638 §3).
        let canonical = format!(
            r#"{{"crv":{},"kty":{},"x":{},"y":{}}}"#,
            j["crv"], j["kty"], j["x"], j["y"]
        );
        b64url(ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes()).as_ref())
    }

    /// A proof for `method` on `url` (query and fragment are left out of `htu`), with
    /// `ath` when `access_token` is given and the origin's last nonce if there is one.
    pub fn proof(&self, method: &str, url: &str, access_token: Option<&str>) -> Result<String> {
        let htu = url.split(['?', '#']).next().unwrap_or(url);
        let mut claims = json!({
            "jti": random_token(16)?,
            "htm": method,
            "htu": htu,
            "iat": now_secs(),
        });
        if let Some(o) = claims.as_object_mut() {
            if let Some(n) = self.nonce_for(url) {
                o.insert("nonce".into(), n.into());
            }
            if let Some(at) = access_token {
                let d = ring::digest::digest(&ring::digest::SHA256, at.as_bytes());
                o.insert("ath".into(), b64url(d.as_ref()).into());
            }
        }
        let header = json!({ "typ": "dpop+jwt", "jwk": self.public_jwk() });
        self.key.sign_jwt(header, &claims)
    }

    /// Remembers the `DPoP-Nonce` of a response from `url`; true when it is new.
    pub(crate) fn remember_nonce(&self, url: &str, headers: &reqwest::header::HeaderMap) -> bool {
        let Some(n) = headers.get("dpop-nonce").and_then(|v| v.to_str().ok()) else {
            return false;
        };
        self.nonces().insert(origin(url), n.to_string()).as_deref() != Some(n)
    }

    fn nonce_for(&self, url: &str) -> Option<String> {
        self.nonces().get(&origin(url)).cloned()
    }

    /// The nonces, also after a thread panicked holding the lock (each entry is
    /// replaced whole).
    fn nonces(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.nonces
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn origin(url: &str) -> String {
    url::Url::parse(url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default()
}

/// Whether a response body or challenge asks for a DPoP nonce.
pub(crate) fn asks_for_nonce(
    status: u16,
    body: &[u8],
    headers: &reqwest::header::HeaderMap,
) -> bool {
    if status != 400 && status != 401 {
        return false;
    }
    let in_body = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("error")
                .and_then(|e| e.as_str())
                .map(|e| e == "use_dpop_nonce")
        })
        .unwrap_or(false);
    let in_challenge = headers
        .get_all(reqwest::header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("use_dpop_nonce"));
    in_body || in_challenge
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    #[test]
    fn proofs_carry_htm_htu_ath_and_the_nonce() {
        let key = DpopKey::from_pkcs8(&SigningKey::generate_pkcs8().unwrap()).unwrap();
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("dpop-nonce", "n-1".parse().unwrap());
        assert!(key.remember_nonce("https://rs.example/a", &h));
        assert!(
            !key.remember_nonce("https://rs.example/b", &h),
            "same nonce again"
        );
        let p = key
            .proof("GET", "https://rs.example/me?x=1#f", Some("tok"))
            .unwrap();
        let parts: Vec<&str> = p.split('.').collect();
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["typ"], "dpop+jwt");
        assert_eq!(header["alg"], "ES256");
        assert!(header["jwk"].get("d").is_none(), "no private part");
        let c: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(c["htm"], "GET");
        assert_eq!(c["htu"], "https://rs.example/me");
        assert_eq!(c["nonce"], "n-1");
        // RFC 9449 §4.2: ath is base64url(SHA-256(token)).
        let d = ring::digest::digest(&ring::digest::SHA256, b"tok");
        assert_eq!(c["ath"], b64url(d.as_ref()));
        let other = key.proof("POST", "https://as.example/token", None).unwrap();
        let c: serde_json::Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(other.split('.').nth(1).unwrap())
                .unwrap(),
        )
        .unwrap();
        assert!(c.get("nonce").is_none(), "nonces are per origin");
        assert!(c.get("ath").is_none());
        assert_eq!(key.thumbprint().len(), 43);
    }
}
