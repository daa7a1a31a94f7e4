//! The refresh-token format (DESIGN "Refresh tokens without a row per token").
//!
//! `brt_` + base64url(version ‖ flags ‖ grant_id ‖ generation ‖ key_id ‖ MAC), the MAC an
//! HMAC-SHA256 under a key derived from the server secret. The successor of generation g
//! is a pure function of (grant, g + 1, key), so a grace-period retry can be answered
//! with the identical successor without storing it, and the store holds no token value
//! or digest from which a token could be rebuilt.

use crate::model::GrantId;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::hmac;

const PREFIX: &str = "brt_";
const VERSION: u8 = 1;
const MAC_LEN: usize = 32;
const BODY_LEN: usize = 1 + 1 + 16 + 8 + 1;
const RAW_LEN: usize = BODY_LEN + MAC_LEN;

/// Flag bit: the grant is not persisted (`persist = false`): it lives in the cache, not
/// the main store. (Set for `persist = false`, so the bytes of tokens already issued
/// keep their meaning.)
pub const FLAG_NOT_PERSISTED: u8 = 1;

/// What a verified refresh token says.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RefreshClaims {
    pub grant_id: GrantId,
    pub generation: u64,
    pub flags: u8,
}

impl RefreshClaims {
    /// The grant's `persist`: in the main store, else in the cache.
    pub fn persist(&self) -> bool {
        self.flags & FLAG_NOT_PERSISTED == 0
    }
}

/// The MAC keys: the current one seals, every listed one opens.
pub struct TokenKeys {
    current: (u8, hmac::Key),
    older: Vec<(u8, hmac::Key)>,
}

impl TokenKeys {
    /// Derives the refresh-token MAC key from the server secret.
    pub fn from_secret(secret: &[u8]) -> TokenKeys {
        TokenKeys {
            current: (1, derive(secret, b"baton refresh-token mac v1")),
            older: Vec::new(),
        }
    }

    pub fn seal(&self, c: &RefreshClaims) -> String {
        let mut raw = [0u8; RAW_LEN];
        raw[0] = VERSION;
        raw[1] = c.flags;
        raw[2..18].copy_from_slice(&c.grant_id.0);
        raw[18..26].copy_from_slice(&c.generation.to_be_bytes());
        raw[26] = self.current.0;
        let tag = hmac::sign(&self.current.1, &raw[..BODY_LEN]);
        raw[BODY_LEN..].copy_from_slice(tag.as_ref());
        let mut out = String::with_capacity(PREFIX.len() + 80);
        out.push_str(PREFIX);
        URL_SAFE_NO_PAD.encode_string(raw, &mut out);
        out
    }

    /// Verifies a presented token. Anything not sealed by this server, or altered in any
    /// way (truncated, padded, re-encoded, bit-flipped), answers `None`.
    pub fn open(&self, token: &str) -> Option<RefreshClaims> {
        let b64 = token.strip_prefix(PREFIX)?;
        if b64.len() != (RAW_LEN * 4).div_ceil(3) {
            return None;
        }
        let mut raw = [0u8; RAW_LEN];
        let n = URL_SAFE_NO_PAD.decode_slice(b64, &mut raw).ok()?;
        if n != RAW_LEN || raw[0] != VERSION {
            return None;
        }
        let key_id = raw[26];
        let key = if key_id == self.current.0 {
            &self.current.1
        } else {
            &self.older.iter().find(|(id, _)| *id == key_id)?.1
        };
        hmac::verify(key, &raw[..BODY_LEN], &raw[BODY_LEN..]).ok()?;
        let mut id = [0u8; 16];
        id.copy_from_slice(&raw[2..18]);
        let mut gen = [0u8; 8];
        gen.copy_from_slice(&raw[18..26]);
        Some(RefreshClaims {
            grant_id: GrantId(id),
            generation: u64::from_be_bytes(gen),
            flags: raw[1],
        })
    }
}

/// A purpose-bound key derived from the server secret (HMAC as a KDF).
pub fn derive(secret: &[u8], purpose: &[u8]) -> hmac::Key {
    let master = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let tag = hmac::sign(&master, purpose);
    hmac::Key::new(hmac::HMAC_SHA256, tag.as_ref())
}

/// Raw derived key bytes for other purposes (e.g. encrypting signing keys).
pub fn derive_bytes(secret: &[u8], purpose: &[u8]) -> [u8; 32] {
    let master = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let tag = hmac::sign(&master, purpose);
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> RefreshClaims {
        RefreshClaims {
            grant_id: GrantId([7; 16]),
            generation: 42,
            flags: 0,
        }
    }

    #[test]
    fn seal_open_round_trip_and_determinism() {
        let k = TokenKeys::from_secret(b"0123456789abcdef0123456789abcdef");
        let t = k.seal(&claims());
        assert!(t.starts_with("brt_"));
        assert_eq!(k.open(&t), Some(claims()));
        // The successor is a pure function of its inputs: a retry gets the same bytes.
        assert_eq!(t, k.seal(&claims()));
        let not_persisted = RefreshClaims {
            flags: FLAG_NOT_PERSISTED,
            ..claims()
        };
        assert!(!k.open(&k.seal(&not_persisted)).unwrap().persist());
        assert!(k.open(&t).unwrap().persist());
    }

    #[test]
    fn every_alteration_is_refused() {
        let k = TokenKeys::from_secret(b"0123456789abcdef0123456789abcdef");
        let other = TokenKeys::from_secret(b"another-server-secret-0123456789");
        let t = k.seal(&claims());
        let mut bad: Vec<String> = vec![
            String::new(),
            "brt_".into(),
            t[..t.len() - 1].to_string(),
            format!("{t}="),
            format!("{t}A"),
            t.replacen("brt_", "xrt_", 1),
            t.replacen("brt_", "", 1),
            t.replace('-', "+").replace('_', "/"),
            format!(" {t}"),
            other.seal(&claims()),
            t.to_uppercase(),
        ];
        // Flip each bit of the decoded payload in turn.
        let raw = URL_SAFE_NO_PAD.decode(&t[4..]).unwrap();
        for i in 0..raw.len() * 8 {
            let mut r = raw.clone();
            r[i / 8] ^= 1 << (i % 8);
            bad.push(format!("brt_{}", URL_SAFE_NO_PAD.encode(&r)));
        }
        // Non-canonical encoding of the last character's unused bits.
        let last = t.chars().last().unwrap();
        let alt = if last == 'A' { 'B' } else { 'A' };
        bad.push(format!("{}{}", &t[..t.len() - 1], alt));
        for b in &bad {
            assert_eq!(k.open(b), None, "accepted {b:?}");
        }
    }
}
