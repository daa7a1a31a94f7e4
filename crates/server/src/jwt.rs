//! Compact JWS: signing with our keys and verifying against a JWK Set.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use baton_core::model::SigAlg;
use ring::signature::{self, KeyPair};
use serde_json::Value;

/// A private signing key loaded for use.
pub enum Signer {
    Ec(signature::EcdsaKeyPair),
    Rsa(signature::RsaKeyPair),
    Ed(signature::Ed25519KeyPair),
}

impl Signer {
    pub fn from_pkcs8(alg: SigAlg, pkcs8: &[u8]) -> Result<Signer, String> {
        let rng = ring::rand::SystemRandom::new();
        match alg {
            SigAlg::ES256 => signature::EcdsaKeyPair::from_pkcs8(
                &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                pkcs8,
                &rng,
            )
            .map(Signer::Ec)
            .map_err(|e| format!("bad P-256 key: {e}")),
            SigAlg::RS256 => signature::RsaKeyPair::from_pkcs8(pkcs8)
                .map(Signer::Rsa)
                .map_err(|e| format!("bad RSA key: {e}")),
            SigAlg::EdDSA => signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8)
                .map(Signer::Ed)
                .map_err(|e| format!("bad Ed25519 key: {e}")),
        }
    }

    /// The public JWK (without `kid`, `alg`, `use`).
    pub fn public_jwk(&self) -> Value {
        let b = |x: &[u8]| URL_SAFE_NO_PAD.encode(x);
        match self {
            Signer::Ec(k) => {
                let p = k.public_key().as_ref();
                serde_json::json!({"kty": "EC", "crv": "P-256", "x": b(&p[1..33]), "y": b(&p[33..65])})
            }
            Signer::Rsa(k) => {
                let c: ring::rsa::PublicKeyComponents<Vec<u8>> = k.public().into();
                let strip =
                    |v: &[u8]| -> Vec<u8> { v.iter().copied().skip_while(|x| *x == 0).collect() };
                serde_json::json!({"kty": "RSA", "n": b(&strip(&c.n)), "e": b(&strip(&c.e))})
            }
            Signer::Ed(k) => {
                serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": b(k.public_key().as_ref())})
            }
        }
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, String> {
        let rng = ring::rand::SystemRandom::new();
        match self {
            Signer::Ec(k) => k
                .sign(&rng, msg)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| "ECDSA signing failed".into()),
            Signer::Rsa(k) => {
                let mut sig = vec![0u8; k.public().modulus_len()];
                k.sign(&signature::RSA_PKCS1_SHA256, &rng, msg, &mut sig)
                    .map_err(|_| "RSA signing failed".to_string())?;
                Ok(sig)
            }
            Signer::Ed(k) => Ok(k.sign(msg).as_ref().to_vec()),
        }
    }
}

/// Signs `claims` (a JSON object) as a compact JWS with header `{alg, typ, kid}`.
pub fn sign<C: serde::Serialize + ?Sized>(
    signer: &Signer,
    alg: SigAlg,
    kid: &str,
    typ: &str,
    claims: &C,
) -> Result<String, String> {
    /// The JOSE header, its members in the order a JSON object of them would print.
    #[derive(serde::Serialize)]
    struct Header<'a> {
        alg: &'a str,
        kid: &'a str,
        typ: &'a str,
    }
    let header = Header {
        alg: alg.as_str(),
        kid,
        typ,
    };
    // Serialized straight to bytes: `Value`'s `Display` goes through the formatting
    // machinery, a measurable share of a refresh's CPU.
    let header = serde_json::to_vec(&header).map_err(|e| e.to_string())?;
    let claims = serde_json::to_vec(claims).map_err(|e| e.to_string())?;
    let mut out = String::with_capacity(512);
    URL_SAFE_NO_PAD.encode_string(header, &mut out);
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(claims, &mut out);
    let sig = signer.sign(out.as_bytes())?;
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(sig, &mut out);
    Ok(out)
}

/// A decoded, signature-verified JWS.
#[derive(Debug)]
pub struct Verified {
    pub header: Value,
    pub claims: Value,
}

/// Splits a compact JWS and decodes header and claims without verifying.
pub fn decode_unverified(token: &str) -> Result<(Value, Value, &str, Vec<u8>), String> {
    if token.len() > 16 * 1024 {
        return Err("the JWT is too long".into());
    }
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("not a compact JWS (three dot-separated parts)".into());
    };
    let dec = |p: &str| {
        URL_SAFE_NO_PAD
            .decode(p)
            .map_err(|_| "a JWT part is not base64url".to_string())
    };
    let header: Value =
        serde_json::from_slice(&dec(h)?).map_err(|_| "the JWT header is not JSON".to_string())?;
    let claims: Value =
        serde_json::from_slice(&dec(c)?).map_err(|_| "the JWT claims are not JSON".to_string())?;
    if !header.is_object() || !claims.is_object() {
        return Err("the JWT header and claims must be JSON objects".into());
    }
    let signing_input = &token[..h.len() + 1 + c.len()];
    Ok((header, claims, signing_input, dec(s)?))
}

/// Verifies a compact JWS against a JWK Set, accepting only `allowed` algorithms.
pub fn verify(token: &str, jwks: &Value, allowed: &[SigAlg]) -> Result<Verified, String> {
    let (header, claims, input, sig) = decode_unverified(token)?;
    let alg = header["alg"]
        .as_str()
        .and_then(SigAlg::parse)
        .filter(|a| allowed.contains(a))
        .ok_or_else(|| "the JWT's alg is missing or not allowed".to_string())?;
    let kid = header["kid"].as_str();
    let keys = jwks["keys"]
        .as_array()
        .ok_or_else(|| "no keys to verify with".to_string())?;
    let candidates = keys.iter().filter(|k| {
        kid.is_none_or(|kid| k["kid"].as_str() == Some(kid))
            && k["alg"].as_str().is_none_or(|a| a == alg.as_str())
    });
    for k in candidates {
        if verify_with_jwk(alg, k, input.as_bytes(), &sig) {
            return Ok(Verified { header, claims });
        }
    }
    Err("the JWT signature does not verify with any known key".into())
}

fn verify_with_jwk(alg: SigAlg, jwk: &Value, msg: &[u8], sig: &[u8]) -> bool {
    verify_signature(alg.as_str(), jwk, msg, sig)
}

/// Whether `jwk` is a key of the type the JOSE algorithm `alg` signs with (ES256: EC
/// P-256, ES384: EC P-384, EdDSA/Ed25519: OKP Ed25519, RS256/PS256: RSA); false for any
/// algorithm [`verify_signature`] does not know.
pub fn key_fits(alg: &str, jwk: &Value) -> bool {
    match alg {
        "ES256" => jwk["kty"] == "EC" && jwk["crv"] == "P-256",
        "ES384" => jwk["kty"] == "EC" && jwk["crv"] == "P-384",
        "EdDSA" | "Ed25519" => jwk["kty"] == "OKP" && jwk["crv"] == "Ed25519",
        "RS256" | "PS256" => jwk["kty"] == "RSA",
        _ => false,
    }
}

/// Whether `sig` is a valid JWS signature of `msg` under the public `jwk` with the
/// JOSE algorithm `alg`: ES256, ES384, EdDSA or Ed25519 (an Ed25519 key), RS256 and PS256 (RSA keys of
/// 2048 to 8192 bits). Any other algorithm, or a key that does not fit it, is false.
pub fn verify_signature(alg: &str, jwk: &Value, msg: &[u8], sig: &[u8]) -> bool {
    if !key_fits(alg, jwk) {
        return false;
    }
    let b = |k: &str| jwk[k].as_str().and_then(|s| URL_SAFE_NO_PAD.decode(s).ok());
    let ec = |len: usize, algorithm: &'static signature::EcdsaVerificationAlgorithm| {
        let (Some(x), Some(y)) = (b("x"), b("y")) else {
            return false;
        };
        if x.len() != len || y.len() != len {
            return false;
        }
        let mut point = Vec::with_capacity(1 + 2 * len);
        point.push(4);
        point.extend_from_slice(&x);
        point.extend_from_slice(&y);
        signature::UnparsedPublicKey::new(algorithm, point)
            .verify(msg, sig)
            .is_ok()
    };
    let rsa = |params: &'static signature::RsaParameters| {
        let (Some(n), Some(e)) = (b("n"), b("e")) else {
            return false;
        };
        signature::RsaPublicKeyComponents { n, e }
            .verify(params, msg, sig)
            .is_ok()
    };
    match alg {
        "ES256" => ec(32, &signature::ECDSA_P256_SHA256_FIXED),
        "ES384" => ec(48, &signature::ECDSA_P384_SHA384_FIXED),
        "RS256" => rsa(&signature::RSA_PKCS1_2048_8192_SHA256),
        "PS256" => rsa(&signature::RSA_PSS_2048_8192_SHA256),
        "EdDSA" | "Ed25519" => {
            let Some(x) = b("x") else { return false };
            signature::UnparsedPublicKey::new(&signature::ED25519, x)
                .verify(msg, sig)
                .is_ok()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn es256() -> Signer {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = signature::EcdsaKeyPair::generate_pkcs8(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &rng,
        )
        .unwrap();
        Signer::from_pkcs8(SigAlg::ES256, pkcs8.as_ref()).unwrap()
    }

    fn eddsa() -> Signer {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = signature::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        Signer::from_pkcs8(SigAlg::EdDSA, pkcs8.as_ref()).unwrap()
    }

    #[test]
    fn header_and_claims_are_compact_json_with_the_header_members_in_order() {
        let claims = serde_json::json!({"sub": "a\"b", "n": 1});
        let t = sign(&es256(), SigAlg::ES256, "k\"1", "at+jwt", &claims).unwrap();
        let part = |i: usize| {
            URL_SAFE_NO_PAD
                .decode(t.split('.').nth(i).unwrap())
                .unwrap()
        };
        assert_eq!(part(0), br#"{"alg":"ES256","kid":"k\"1","typ":"at+jwt"}"#);
        assert_eq!(part(1), claims.to_string().into_bytes());
    }

    #[test]
    fn sign_and_verify_round_trip_and_tamper() {
        for (alg, s) in [(SigAlg::ES256, es256()), (SigAlg::EdDSA, eddsa())] {
            let mut jwk = s.public_jwk();
            jwk["kid"] = "k1".into();
            let jwks = serde_json::json!({"keys": [jwk]});
            let t = sign(&s, alg, "k1", "JWT", &serde_json::json!({"sub": "a"})).unwrap();
            let v = verify(&t, &jwks, &[alg]).unwrap();
            assert_eq!(v.claims["sub"], "a");
            assert!(
                verify(&t, &jwks, &[SigAlg::RS256]).is_err(),
                "alg not allowed"
            );
            let mut parts: Vec<&str> = t.split('.').collect();
            let other = URL_SAFE_NO_PAD.encode(br#"{"sub":"b"}"#);
            parts[1] = &other;
            assert!(verify(&parts.join("."), &jwks, &[alg]).is_err());
            assert!(verify("a.b", &jwks, &[alg]).is_err());
            assert!(verify("", &jwks, &[alg]).is_err());
        }
    }
}
