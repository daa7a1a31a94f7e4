//! DPoP proofs for tests (RFC 9449): a key of each algorithm the server accepts, and
//! proofs with any header member or claim changed, so that a test can break each rule
//! in turn.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use baton_core::model::SigAlg;
use ring::rand::SystemRandom;
use ring::signature::{self, KeyPair};
use serde_json::{json, Value};

enum Signer {
    Ec(signature::EcdsaKeyPair),
    Ed(signature::Ed25519KeyPair),
    Rsa(signature::RsaKeyPair, &'static dyn signature::RsaEncoding),
}

/// A DPoP key: `ES256`, `ES384`, `EdDSA`, `RS256` or `PS256`.
pub struct ProofKey {
    alg: &'static str,
    signer: Signer,
}

impl ProofKey {
    pub fn new(alg: &'static str) -> ProofKey {
        let rng = SystemRandom::new();
        let ec = |a: &'static signature::EcdsaSigningAlgorithm| {
            let pkcs8 = signature::EcdsaKeyPair::generate_pkcs8(a, &rng).unwrap();
            Signer::Ec(signature::EcdsaKeyPair::from_pkcs8(a, pkcs8.as_ref(), &rng).unwrap())
        };
        let rsa = |enc: &'static dyn signature::RsaEncoding| {
            let pkcs8 = baton_server::keys::generate_pkcs8(SigAlg::RS256).unwrap();
            Signer::Rsa(signature::RsaKeyPair::from_pkcs8(&pkcs8).unwrap(), enc)
        };
        let signer = match alg {
            "ES256" => ec(&signature::ECDSA_P256_SHA256_FIXED_SIGNING),
            "ES384" => ec(&signature::ECDSA_P384_SHA384_FIXED_SIGNING),
            "EdDSA" => {
                let pkcs8 = signature::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
                Signer::Ed(signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap())
            }
            "RS256" => rsa(&signature::RSA_PKCS1_SHA256),
            "PS256" => rsa(&signature::RSA_PSS_SHA256),
            other => panic!("no test key for {other}"),
        };
        ProofKey { alg, signer }
    }

    /// An ES256 key, what most tests use.
    pub fn es256() -> ProofKey {
        ProofKey::new("ES256")
    }

    pub fn alg(&self) -> &'static str {
        self.alg
    }

    /// The public JWK.
    pub fn jwk(&self) -> Value {
        let b = |x: &[u8]| URL_SAFE_NO_PAD.encode(x);
        match &self.signer {
            Signer::Ec(k) => {
                let p = k.public_key().as_ref();
                let n = (p.len() - 1) / 2;
                let crv = if n == 32 { "P-256" } else { "P-384" };
                json!({"kty": "EC", "crv": crv, "x": b(&p[1..1 + n]), "y": b(&p[1 + n..])})
            }
            Signer::Ed(k) => {
                json!({"kty": "OKP", "crv": "Ed25519", "x": b(k.public_key().as_ref())})
            }
            Signer::Rsa(k, _) => {
                let c: ring::rsa::PublicKeyComponents<Vec<u8>> = k.public().into();
                let strip =
                    |v: &[u8]| -> Vec<u8> { v.iter().copied().skip_while(|x| *x == 0).collect() };
                json!({"kty": "RSA", "n": b(&strip(&c.n)), "e": b(&strip(&c.e))})
            }
        }
    }

    /// The RFC 7638 thumbprint (`cnf.jkt`).
    pub fn jkt(&self) -> String {
        baton_server::dpop::thumbprint(&self.jwk()).unwrap()
    }

    /// The header of a good proof.
    pub fn header(&self) -> Value {
        json!({"typ": "dpop+jwt", "alg": self.alg, "jwk": self.jwk()})
    }

    /// The claims of a good proof for `method` on `url`, issued `iat` (Unix seconds).
    pub fn claims_at(method: &str, url: &str, iat: i64) -> Value {
        let jti = URL_SAFE_NO_PAD.encode(baton_core::random_bytes::<16>());
        json!({"jti": jti, "htm": method, "htu": url, "iat": iat})
    }

    /// [`ProofKey::claims_at`] now (the system clock).
    pub fn claims(method: &str, url: &str) -> Value {
        Self::claims_at(method, url, now_secs())
    }

    /// Signs any header and claims with this key (a header whose `alg` is not the
    /// key's still gets this key's signature).
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let mut out = URL_SAFE_NO_PAD.encode(header.to_string());
        out.push('.');
        out.push_str(&URL_SAFE_NO_PAD.encode(claims.to_string()));
        let rng = SystemRandom::new();
        let sig = match &self.signer {
            Signer::Ec(k) => k.sign(&rng, out.as_bytes()).unwrap().as_ref().to_vec(),
            Signer::Ed(k) => k.sign(out.as_bytes()).as_ref().to_vec(),
            Signer::Rsa(k, enc) => {
                let mut sig = vec![0u8; k.public().modulus_len()];
                k.sign(*enc, &rng, out.as_bytes(), &mut sig).unwrap();
                sig
            }
        };
        out.push('.');
        out.push_str(&URL_SAFE_NO_PAD.encode(sig));
        out
    }

    /// A good proof for `method` on `url`.
    pub fn proof(&self, method: &str, url: &str) -> String {
        self.sign(&self.header(), &Self::claims(method, url))
    }

    /// A good proof for `method` on `url` carrying `nonce`.
    pub fn proof_with_nonce(&self, method: &str, url: &str, nonce: &str) -> String {
        let mut c = Self::claims(method, url);
        c["nonce"] = nonce.into();
        self.sign(&self.header(), &c)
    }

    /// A good proof for a resource request presenting `access_token` (with `ath`).
    pub fn proof_for(&self, method: &str, url: &str, access_token: &str) -> String {
        let mut c = Self::claims(method, url);
        c["ath"] = baton_server::dpop::ath(access_token).into();
        self.sign(&self.header(), &c)
    }
}

/// The real clock in Unix seconds (a test server's clock starts there; a test that
/// moves its server's clock makes proofs with [`ProofKey::claims_at`]).
pub fn now_secs() -> i64 {
    baton_server::clock::Clock::default().now().unix_secs()
}

/// base64url without padding, as JOSE writes it.
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The claims of a JWT, unverified.
pub fn jwt_claims(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
}
