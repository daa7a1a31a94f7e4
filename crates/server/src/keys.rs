//! Signing keys: generated on first start, stored sealed (AES-256-GCM) under a key
//! derived from the server secret, published at `/jwks`. Retired keys stay published
//! until every token they signed has expired.
//!
//! Rotation pre-publishes: the new key is published at once, but the old key is retired
//! only `signing_keys.pre_publication` later and keeps signing until then, so a relying
//! party holding a cached JWK Set never meets a `kid` it does not know. A key's
//! `retired_at` is therefore when it stops signing, and may lie in the future.

use crate::clock::Clock;
use crate::jwt::{self, Signer};
use baton_core::model::{SigAlg, SigningKey};
use baton_core::store::Store;
use baton_core::time::{Dur, Timestamp};
use ring::aead;
use serde_json::Value;

pub struct LoadedKey {
    pub kid: String,
    pub alg: SigAlg,
    pub signer: Signer,
    pub retired_at: Option<Timestamp>,
    pub public_jwk: Value,
}

/// The keys in use. Cheap to share behind an `Arc`; replaced whole on rotation.
pub struct Keyring {
    keys: Vec<LoadedKey>,
    jwks: String,
    /// The server clock: which key signs depends on the time (pre-publication).
    clock: Clock,
}

impl Keyring {
    /// The key that signs for `alg` now: of the keys not yet retired, the one retiring
    /// first (an old key still on duty while its successor is only published), else
    /// the newest active one.
    pub fn active(&self, alg: SigAlg) -> Option<&LoadedKey> {
        let now = self.clock.now();
        self.keys
            .iter()
            .rev()
            .filter(|k| k.alg == alg && k.retired_at.is_none_or(|r| now < r))
            .min_by_key(|k| (k.retired_at.is_none(), k.retired_at))
    }

    /// The JWK Set document (public keys only).
    pub fn jwks_json(&self) -> &str {
        &self.jwks
    }

    pub fn jwks(&self) -> Value {
        serde_json::from_str(&self.jwks).unwrap_or(Value::Null)
    }

    pub fn sign<C: serde::Serialize + ?Sized>(
        &self,
        alg: SigAlg,
        typ: &str,
        claims: &C,
    ) -> Result<String, String> {
        let k = self
            .active(alg)
            .ok_or_else(|| format!("no active {} key", alg.as_str()))?;
        jwt::sign(&k.signer, alg, &k.kid, typ, claims)
    }
}

fn seal_key(secret: &[u8]) -> Result<aead::LessSafeKey, String> {
    let k = baton_core::token::derive_bytes(secret, b"baton signing-key seal v1");
    aead::UnboundKey::new(&aead::AES_256_GCM, &k)
        .map(aead::LessSafeKey::new)
        .map_err(|_| "cannot build the key-sealing key".to_string())
}

fn seal(secret: &[u8], kid: &str, pkcs8: &[u8]) -> Result<Vec<u8>, String> {
    let key = seal_key(secret)?;
    let nonce_bytes = baton_core::random_bytes::<12>();
    let mut buf = pkcs8.to_vec();
    key.seal_in_place_append_tag(
        aead::Nonce::assume_unique_for_key(nonce_bytes),
        aead::Aad::from(kid.as_bytes()),
        &mut buf,
    )
    .map_err(|_| "sealing failed".to_string())?;
    let mut out = nonce_bytes.to_vec();
    out.extend_from_slice(&buf);
    Ok(out)
}

fn open(secret: &[u8], kid: &str, sealed: &[u8]) -> Result<Vec<u8>, String> {
    if sealed.len() < 12 + 16 {
        return Err("sealed key is truncated".into());
    }
    let key = seal_key(secret)?;
    let mut nonce = [0u8; 12];
    nonce.copy_from_slice(&sealed[..12]);
    let mut buf = sealed[12..].to_vec();
    let plain = key
        .open_in_place(aead::Nonce::assume_unique_for_key(nonce), aead::Aad::from(kid.as_bytes()), &mut buf)
        .map_err(|_| format!("signing key {kid} cannot be opened with this server secret (was the secret changed?)"))?;
    Ok(plain.to_vec())
}

/// Generates a new private key (PKCS#8 DER) for `alg`.
pub fn generate_pkcs8(alg: SigAlg) -> Result<Vec<u8>, String> {
    let rng = ring::rand::SystemRandom::new();
    match alg {
        SigAlg::ES256 => ring::signature::EcdsaKeyPair::generate_pkcs8(
            &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &rng,
        )
        .map(|d| d.as_ref().to_vec())
        .map_err(|_| "P-256 key generation failed".into()),
        SigAlg::EdDSA => ring::signature::Ed25519KeyPair::generate_pkcs8(&rng)
            .map(|d| d.as_ref().to_vec())
            .map_err(|_| "Ed25519 key generation failed".into()),
        SigAlg::RS256 => {
            use rsa::pkcs8::EncodePrivateKey;
            let key = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048)
                .map_err(|e| format!("RSA key generation failed: {e}"))?;
            key.to_pkcs8_der()
                .map(|d| d.as_bytes().to_vec())
                .map_err(|e| format!("RSA key encoding failed: {e}"))
        }
    }
}

/// A new sealed key record for `alg`.
pub fn new_key(secret: &[u8], alg: SigAlg, now: Timestamp) -> Result<SigningKey, String> {
    let pkcs8 = generate_pkcs8(alg)?;
    let signer = Signer::from_pkcs8(alg, &pkcs8)?;
    let kid = format!(
        "{}-{}",
        alg.as_str().to_ascii_lowercase(),
        baton_core::secret::hex(&baton_core::random_bytes::<6>())
    );
    let mut jwk = signer.public_jwk();
    jwk["kid"] = Value::String(kid.clone());
    jwk["alg"] = Value::String(alg.as_str().into());
    jwk["use"] = Value::String("sig".into());
    Ok(SigningKey {
        sealed_private: seal(secret, &kid, &pkcs8)?,
        kid,
        alg,
        public_jwk: jwk.to_string(),
        created_at: now,
        retired_at: None,
    })
}

/// Builds the keyring from stored keys, publishing retired keys for `publish_for`
/// after their retirement (the longest a token they signed can live).
pub fn load(
    secret: &[u8],
    stored: &[SigningKey],
    clock: &Clock,
    publish_for: Dur,
) -> Result<Keyring, String> {
    let now = clock.now();
    let mut keys = Vec::new();
    for k in stored {
        if k.retired_at.is_some_and(|r| now.since(r) > publish_for) {
            continue;
        }
        let pkcs8 = open(secret, &k.kid, &k.sealed_private)?;
        let signer = Signer::from_pkcs8(k.alg, &pkcs8)?;
        let public_jwk: Value = serde_json::from_str(&k.public_jwk)
            .map_err(|_| format!("stored JWK of {} is not JSON", k.kid))?;
        keys.push(LoadedKey {
            kid: k.kid.clone(),
            alg: k.alg,
            signer,
            retired_at: k.retired_at,
            public_jwk,
        });
    }
    let jwks =
        serde_json::json!({"keys": keys.iter().map(|k| k.public_jwk.clone()).collect::<Vec<_>>()})
            .to_string();
    Ok(Keyring {
        keys,
        jwks,
        clock: clock.clone(),
    })
}

/// Makes sure an active key exists for every algorithm; generates what is missing.
/// Answers the stored keys as the store lists them, so that every node sharing the
/// store publishes the same JWK Set, in the same order, whichever generated them.
/// Run under the store's bootstrap lock (`bootstrap::build`): two nodes starting at
/// once must not both generate.
pub async fn ensure(
    store: &dyn Store,
    secret: &[u8],
    now: Timestamp,
) -> Result<Vec<SigningKey>, String> {
    let mut stored = store.list_keys().await.map_err(|e| e.to_string())?;
    let mut generated = false;
    for alg in SigAlg::ALL {
        if !stored
            .iter()
            .any(|k| k.alg == alg && k.retired_at.is_none())
        {
            // RSA generation takes a while: keep it off the request threads.
            let owned = secret.to_vec();
            let k = tokio::task::spawn_blocking(move || new_key(&owned, alg, now))
                .await
                .map_err(|e| e.to_string())??;
            store.insert_key(&k).await.map_err(|e| e.to_string())?;
            tracing::info!(kid = %k.kid, alg = alg.as_str(), "generated signing key");
            stored.push(k);
            generated = true;
        }
    }
    if generated {
        stored = store.list_keys().await.map_err(|e| e.to_string())?;
    }
    Ok(stored)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_keys_open_only_with_their_secret() {
        let s1 = [1u8; 32];
        let s2 = [2u8; 32];
        let k = new_key(&s1, SigAlg::ES256, Timestamp(0)).unwrap();
        let clock = Clock::default();
        let ring = load(&s1, std::slice::from_ref(&k), &clock, Dur::secs(3600)).unwrap();
        let t = ring
            .sign(SigAlg::ES256, "JWT", &serde_json::json!({"a": 1}))
            .unwrap();
        assert!(jwt::verify(&t, &ring.jwks(), &[SigAlg::ES256]).is_ok());
        assert!(load(&s2, &[k], &clock, Dur::secs(3600)).is_err());
        assert!(
            !ring.jwks_json().contains("\"d\""),
            "no private material in JWKS"
        );
    }

    #[test]
    fn a_key_retiring_later_signs_until_then() {
        let secret = [1u8; 32];
        let clock = Clock::default();
        let now = clock.now();
        let mut old = new_key(&secret, SigAlg::ES256, Timestamp(0)).unwrap();
        old.retired_at = Some(now.plus(Dur::secs(600)));
        let new = new_key(&secret, SigAlg::ES256, now).unwrap();
        let ring = load(
            &secret,
            &[old.clone(), new.clone()],
            &clock,
            Dur::secs(3600),
        )
        .unwrap();
        assert!(ring.jwks_json().contains(&new.kid), "published at once");
        assert_eq!(ring.active(SigAlg::ES256).unwrap().kid, old.kid);
        clock.advance(Dur::secs(600));
        assert_eq!(ring.active(SigAlg::ES256).unwrap().kid, new.kid);
        assert!(ring.jwks_json().contains(&old.kid), "still published");
    }
}
