//! ID tokens (OIDC Core §2, §3.1.3.6) and JWT access tokens (RFC 9068) from the code
//! flow, verified against the published JWK Set.

use baton_core::model::SigAlg;
use baton_server::jwt;
use baton_testkit::flow::{b64url, code_flow_full, ClientAuth};
use baton_testkit::TestServer;
use serde_json::Value;

const EDDSA_CLIENT: &str = r#"
[[clients]]
client_id = "ed"
token_endpoint_auth_method = "none"
redirect_uris = ["http://127.0.0.1:9/cb"]
id_token_signed_response_alg = "EdDSA"
"#;

async fn jwks(s: &TestServer) -> Value {
    let r = s.http.get(format!("{}/jwks", s.url)).send().await.unwrap();
    r.json().await.unwrap()
}

/// Verifies the ID token of a flow for `client` and checks every claim OIDC requires.
async fn check_id_token(s: &TestServer, client: ClientAuth<'_>, alg: &str) {
    let f = code_flow_full(s, client, "openid email").await;
    let keys = jwks(s).await;
    let id_token = f.tokens["id_token"].as_str().expect("an id_token");
    let v = jwt::verify(id_token, &keys, &SigAlg::ALL).expect("ID token signature");
    assert_eq!(v.header["alg"], alg);
    let c = &v.claims;
    let alice = s.state().store.get_user("alice").await.unwrap().unwrap();
    let login = &s.events("login.succeeded").await[0];
    assert_eq!(c["iss"], s.url.as_str());
    assert_eq!(c["sub"], alice.sub.as_str());
    assert_eq!(c["aud"], client.id());
    assert_eq!(c["azp"], client.id());
    assert_eq!(c["nonce"], f.params.nonce.as_deref().unwrap());
    assert_eq!(c["auth_time"], login.time.unix_secs());
    assert_eq!(c["sid"], login.details["session_id"]);
    assert_eq!(c["email"], "alice@example.com");
    let now = s.clock.now().unix_secs();
    assert!(c["iat"].as_i64().unwrap() <= now + 1);
    assert!(c["exp"].as_i64().unwrap() > now);
    let access = f.tokens["access_token"].as_str().unwrap();
    // OIDC Core §3.1.3.6: the left half of the hash the JWS alg uses (SHA-512 for
    // Ed25519, as certified relying-party libraries compute it).
    let digest = if alg == "EdDSA" {
        ring::digest::digest(&ring::digest::SHA512, access.as_bytes())
            .as_ref()
            .to_vec()
    } else {
        baton_core::secret::sha256(access.as_bytes()).to_vec()
    };
    assert_eq!(c["at_hash"], b64url(&digest[..digest.len() / 2]));

    // The access token is an RFC 9068 JWT for the same user and session.
    let at = jwt::verify(access, &keys, &SigAlg::ALL).expect("access token signature");
    assert_eq!(at.header["typ"], "at+jwt");
    assert_eq!(at.claims["iss"], s.url.as_str());
    assert_eq!(at.claims["sub"], alice.sub.as_str());
    assert_eq!(at.claims["client_id"], client.id());
    assert_eq!(at.claims["sid"], c["sid"]);
    assert!(at.claims["jti"].is_string() && at.claims["exp"].is_i64());
    assert_eq!(f.tokens["token_type"], "Bearer");
    assert!(f.tokens["expires_in"].as_i64().unwrap() > 0);

    // A tampered token does not verify.
    let mut parts: Vec<&str> = id_token.split('.').collect();
    let forged = b64url(br#"{"sub":"mallory"}"#);
    parts[1] = &forged;
    assert!(jwt::verify(&parts.join("."), &keys, &SigAlg::ALL).is_err());
}

#[tokio::test]
async fn id_token_of_a_confidential_client() {
    let s = TestServer::start("").await;
    check_id_token(&s, "web".into(), "RS256").await;
}

#[tokio::test]
async fn id_token_of_a_public_client() {
    let s = TestServer::start("").await;
    check_id_token(&s, "spa".into(), "RS256").await;
}

#[tokio::test]
async fn id_token_uses_the_client_signing_algorithm() {
    let s = TestServer::start(EDDSA_CLIENT).await;
    check_id_token(&s, ClientAuth::None("ed"), "EdDSA").await;
}

#[tokio::test]
async fn access_tokens_signed_with_rsa_verify_and_carry_their_claims() {
    let s = TestServer::start("[access_tokens]\nsigning_alg = \"RS256\"").await;
    check_id_token(&s, "web".into(), "RS256").await;
    let f = code_flow_full(&s, "web", "openid offline_access").await;
    let keys = jwks(&s).await;
    let access = f.tokens["access_token"].as_str().unwrap();
    let at = jwt::verify(access, &keys, &[SigAlg::RS256]).expect("an RS256 access token");
    assert_eq!(at.header["typ"], "at+jwt");
    assert_eq!(at.claims["client_id"], "web");
    assert_eq!(at.claims["aud"], "web");
    assert_eq!(at.claims["scope"], "openid offline_access");
    // A refresh signs its access token the same way.
    let rt = f.tokens["refresh_token"].as_str().unwrap();
    let (st, v) = s.refresh(rt).await;
    assert_eq!(st, 200, "{v}");
    let at = jwt::verify(v["access_token"].as_str().unwrap(), &keys, &[SigAlg::RS256])
        .expect("an RS256 access token from the refresh");
    assert_eq!(at.claims["client_id"], "web");
}
