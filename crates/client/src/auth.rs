//! Client authentication at the token, revocation and introspection endpoints
//! (RFC 6749 §2.3, OpenID Connect Core §9): `client_secret_basic`, `client_secret_post`,
//! `private_key_jwt` (RFC 7523, ES256) and `none`.

use crate::error::{Error, Result};
use crate::util::{b64url, now_secs, random_token};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::json;
use std::fmt;
use std::sync::Arc;

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How the client authenticates itself. `Debug` never shows a secret.
#[derive(Clone)]
#[non_exhaustive]
pub enum ClientAuth {
    /// `none`: a public client; only `client_id` is sent.
    None,
    /// `client_secret_basic`: HTTP Basic with the form-urlencoded id and secret.
    SecretBasic(String),
    /// `client_secret_post`: `client_id` and `client_secret` in the form body.
    SecretPost(String),
    /// `private_key_jwt`: a signed assertion (`iss` = `sub` = client id, `aud` = the
    /// endpoint URL, a fresh `jti`, valid 60 seconds).
    PrivateKeyJwt(Arc<SigningKey>),
}

impl fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ClientAuth::None => "None",
            ClientAuth::SecretBasic(_) => "SecretBasic(..)",
            ClientAuth::SecretPost(_) => "SecretPost(..)",
            ClientAuth::PrivateKeyJwt(_) => "PrivateKeyJwt(..)",
        })
    }
}

impl ClientAuth {
    /// The `token_endpoint_auth_method` name.
    pub fn method(&self) -> &'static str {
        match self {
            ClientAuth::None => "none",
            ClientAuth::SecretBasic(_) => "client_secret_basic",
            ClientAuth::SecretPost(_) => "client_secret_post",
            ClientAuth::PrivateKeyJwt(_) => "private_key_jwt",
        }
    }

    /// Adds the credentials of `client_id` to a request for `endpoint`.
    pub(crate) fn apply(
        &self,
        client_id: &str,
        endpoint: &str,
        form: &mut Vec<(String, String)>,
        req: reqwest::RequestBuilder,
    ) -> Result<reqwest::RequestBuilder> {
        let mut push = |k: &str, v: String| form.push((k.to_string(), v));
        Ok(match self {
            ClientAuth::None => {
                push("client_id", client_id.to_string());
                req
            }
            ClientAuth::SecretBasic(secret) => {
                // RFC 6749 §2.3.1: both are form-urlencoded before the Basic encoding.
                let enc = |s: &str| {
                    url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
                };
                req.basic_auth(enc(client_id), Some(enc(secret)))
            }
            ClientAuth::SecretPost(secret) => {
                push("client_id", client_id.to_string());
                push("client_secret", secret.clone());
                req
            }
            ClientAuth::PrivateKeyJwt(key) => {
                push("client_id", client_id.to_string());
                push("client_assertion_type", ASSERTION_TYPE.to_string());
                push("client_assertion", key.assertion(client_id, endpoint)?);
                req
            }
        })
    }
}

/// A P-256 key for `private_key_jwt` assertions (ES256).
pub struct SigningKey {
    pair: EcdsaKeyPair,
    kid: Option<String>,
    rng: SystemRandom,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A key from its PKCS#8 (DER) encoding, as [`SigningKey::generate_pkcs8`] makes.
    pub fn from_pkcs8(pkcs8: &[u8], kid: Option<String>) -> Result<SigningKey> {
        let rng = SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &rng)
            .map_err(|_| Error::Config("not a PKCS#8 P-256 private key".into()))?;
        Ok(SigningKey { pair, kid, rng })
    }

    /// A new random P-256 private key, PKCS#8 (DER) encoded: store it, then load it with
    /// [`SigningKey::from_pkcs8`].
    pub fn generate_pkcs8() -> Result<Vec<u8>> {
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .map(|d| d.as_ref().to_vec())
            .map_err(|_| Error::Config("key generation failed".into()))
    }

    /// The public key as a JWK (`kty` EC, `crv` P-256, `alg` ES256, `use` sig, and the
    /// `kid` if set), to register with the server.
    pub fn public_jwk(&self) -> serde_json::Value {
        // Uncompressed point: 0x04 || x (32 bytes) || y (32 bytes).
        let p = self.pair.public_key().as_ref();
        let (x, y) = if p.len() == 65 {
            (&p[1..33], &p[33..65])
        } else {
            (p, p)
        };
        let mut jwk = json!({
            "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig",
            "x": b64url(x), "y": b64url(y),
        });
        if let (Some(kid), Some(o)) = (&self.kid, jwk.as_object_mut()) {
            o.insert("kid".into(), kid.clone().into());
        }
        jwk
    }

    /// Signs a compact JWS (ES256) over `header` (alg and kid are added) and `claims`.
    pub fn sign_jwt(
        &self,
        mut header: serde_json::Value,
        claims: &serde_json::Value,
    ) -> Result<String> {
        if let Some(h) = header.as_object_mut() {
            h.insert("alg".into(), "ES256".into());
            if let Some(kid) = &self.kid {
                h.insert("kid".into(), kid.clone().into());
            }
        }
        let input = format!(
            "{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(claims.to_string().as_bytes())
        );
        let sig = self
            .pair
            .sign(&self.rng, input.as_bytes())
            .map_err(|_| Error::Config("signing failed".into()))?;
        Ok(format!("{input}.{}", b64url(sig.as_ref())))
    }

    fn assertion(&self, client_id: &str, audience: &str) -> Result<String> {
        let now = now_secs();
        let claims = json!({
            "iss": client_id, "sub": client_id, "aud": audience,
            "jti": random_token(16)?, "iat": now, "exp": now + 60,
        });
        self.sign_jwt(json!({"typ": "JWT"}), &claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    #[test]
    fn assertions_verify_with_the_published_jwk() {
        let key = SigningKey::from_pkcs8(&SigningKey::generate_pkcs8().unwrap(), Some("k1".into()))
            .unwrap();
        let jwk = key.public_jwk();
        assert_eq!(jwk["kid"], "k1");
        let jwt = key.assertion("svc", "https://as.example/token").unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(
            (header["alg"].as_str(), header["kid"].as_str()),
            (Some("ES256"), Some("k1"))
        );
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["iss"], "svc");
        assert_eq!(claims["sub"], "svc");
        assert_eq!(claims["aud"], "https://as.example/token");
        assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 16));
        let mut point = vec![4u8];
        for c in ["x", "y"] {
            point.extend(URL_SAFE_NO_PAD.decode(jwk[c].as_str().unwrap()).unwrap());
        }
        let public = ring::signature::UnparsedPublicKey::new(
            &ring::signature::ECDSA_P256_SHA256_FIXED,
            point,
        );
        let sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        public
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
            .unwrap();
    }

    #[test]
    fn basic_credentials_are_form_encoded_first_and_secrets_stay_out_of_debug() {
        let auth = ClientAuth::SecretBasic("p@ss word".into());
        assert!(!format!("{auth:?}").contains("p@ss"));
        let req = crate::client::default_http_client()
            .unwrap()
            .post("http://127.0.0.1:9/token");
        let mut form = Vec::new();
        let req = auth
            .apply("my client", "http://127.0.0.1:9/token", &mut form, req)
            .unwrap();
        let req = req.build().unwrap();
        let header = req.headers()[reqwest::header::AUTHORIZATION]
            .to_str()
            .unwrap();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(header.strip_prefix("Basic ").unwrap())
            .unwrap();
        assert_eq!(String::from_utf8(raw).unwrap(), "my+client:p%40ss+word");
        assert!(form.is_empty());
    }
}
