//! `--dpop`: a DPoP proof (RFC 9449) with every request, signed with one ES256 key made
//! at start-up, so that a run measures what a DPoP client costs the server.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hyper::header::HeaderValue;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};

#[derive(Debug)]
pub struct Prover {
    key: EcdsaKeyPair,
    rng: SystemRandom,
    /// The proof header, base64url-encoded once.
    header: String,
    /// `htu`: the token endpoint without query and fragment.
    htu: String,
}

impl Prover {
    pub fn new(token_url: &str) -> Result<Prover, String> {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| "cannot generate a DPoP key".to_string())?;
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .map_err(|_| "cannot load the DPoP key".to_string())?;
        let p = key.public_key().as_ref();
        let b = |x: &[u8]| URL_SAFE_NO_PAD.encode(x);
        let header = serde_json::json!({
            "typ": "dpop+jwt",
            "alg": "ES256",
            "jwk": {"kty": "EC", "crv": "P-256", "x": b(&p[1..33]), "y": b(&p[33..65])},
        });
        let htu = token_url.split(['?', '#']).next().unwrap_or(token_url);
        Ok(Prover {
            key,
            rng,
            header: b(header.to_string().as_bytes()),
            htu: htu.to_string(),
        })
    }

    /// A fresh proof for a POST to the token endpoint.
    pub fn proof(&self) -> Result<HeaderValue, String> {
        let mut jti = [0u8; 16];
        self.rng
            .fill(&mut jti)
            .map_err(|_| "no randomness for a DPoP jti".to_string())?;
        let claims = serde_json::json!({
            "jti": URL_SAFE_NO_PAD.encode(jti),
            "htm": "POST",
            "htu": self.htu,
            "iat": unix_now(),
        });
        let mut jws = self.header.clone();
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(claims.to_string(), &mut jws);
        let sig = self
            .key
            .sign(&self.rng, jws.as_bytes())
            .map_err(|_| "DPoP signing failed".to_string())?;
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(sig.as_ref(), &mut jws);
        HeaderValue::try_from(jws).map_err(|e| format!("invalid DPoP header: {e}"))
    }
}

/// The wall clock in Unix seconds: a proof's `iat` is wall-clock time by definition.
#[allow(clippy::disallowed_methods)] // a load generator, not the server: no domain clock here
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proofs_are_compact_jws_with_fresh_jtis_and_the_endpoint() {
        let p = Prover::new("http://127.0.0.1:8080/token?x=1").unwrap();
        let a = p.proof().unwrap();
        let b = p.proof().unwrap();
        assert_ne!(a, b, "a fresh jti each time");
        let parts: Vec<&str> = a.to_str().unwrap().split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["htu"], "http://127.0.0.1:8080/token");
        assert_eq!(claims["htm"], "POST");
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["typ"], "dpop+jwt");
        assert!(header["jwk"].get("d").is_none());
    }
}
