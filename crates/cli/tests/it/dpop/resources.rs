//! DPoP-bound access tokens where they are used: userinfo (the `DPoP` scheme with a
//! proof carrying `ath`; the same token as `Bearer` refused) and introspection
//! (`cnf.jkt`, `token_type` `DPoP`), for JWT and reference tokens.

use super::*;

/// `GET /userinfo` with this Authorization header and these proofs: status, the
/// `WWW-Authenticate` header, the body.
async fn userinfo(s: &TestServer, authorization: &str, proofs: &[&str]) -> (u16, String, Value) {
    let mut req = s
        .http
        .get(format!("{}/userinfo", s.url))
        .header("authorization", authorization);
    for p in proofs {
        req = req.header("dpop", *p);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let challenge = r
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, challenge, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn userinfo_takes_a_bound_token_only_with_a_proof_of_its_key() {
    let s = TestServer::start("").await;
    let key = ProofKey::es256();
    let token = at(&public_login_at(&s.url, Some(&key)).await);
    let url = format!("{}/userinfo", s.url);
    let auth = format!("DPoP {token}");
    // The DPoP scheme and a proof with ath: the claims.
    let (st, _, v) = userinfo(&s, &auth, &[&key.proof_for("GET", &url, &token)]).await;
    assert_eq!(st, 200, "{v}");
    assert!(v["sub"].is_string());
    // As a bearer token: refused with a DPoP challenge.
    let (st, ch, _) = userinfo(&s, &format!("Bearer {token}"), &[]).await;
    assert_eq!(st, 401);
    assert!(
        ch.starts_with("DPoP ") && ch.contains("invalid_token"),
        "{ch}"
    );
    // Each way of getting the proof wrong: 401 invalid_dpop_proof.
    let other = ProofKey::es256();
    let mut no_ath = ProofKey::claims("GET", &url);
    no_ath.as_object_mut().unwrap().remove("ath");
    let cases: Vec<(&str, Vec<String>)> = vec![
        ("no proof", vec![]),
        ("no ath", vec![key.sign(&key.header(), &no_ath)]),
        (
            "ath of another token",
            vec![key.proof_for("GET", &url, "another-token")],
        ),
        ("another key", vec![other.proof_for("GET", &url, &token)]),
        (
            "POST proof on GET",
            vec![key.proof_for("POST", &url, &token)],
        ),
        (
            "the token endpoint's htu",
            vec![key.proof_for("GET", &token_url(&s), &token)],
        ),
    ];
    for (label, proofs) in &cases {
        let ps: Vec<&str> = proofs.iter().map(String::as_str).collect();
        let (st, ch, v) = userinfo(&s, &auth, &ps).await;
        assert_eq!(st, 401, "{label}: {v}");
        assert!(ch.contains("invalid_dpop_proof"), "{label}: {ch}");
        assert!(ch.contains("algs=\""), "{label}: {ch}");
    }
    // A proof is good once.
    let p = key.proof_for("GET", &url, &token);
    assert_eq!(userinfo(&s, &auth, &[&p]).await.0, 200);
    assert_eq!(userinfo(&s, &auth, &[&p]).await.0, 401);
    // An unbound token under the DPoP scheme is refused; as Bearer it works.
    let plain = at(&public_login_at(&s.url, None).await);
    let (st, _, _) = userinfo(
        &s,
        &format!("DPoP {plain}"),
        &[&key.proof_for("GET", &url, &plain)],
    )
    .await;
    assert_eq!(st, 401);
    assert_eq!(userinfo(&s, &format!("Bearer {plain}"), &[]).await.0, 200);
}

/// A resource server: a confidential client that may introspect every token.
const RS: (&str, &str) = ("rs", "rs-secret-0123456789abcdef0123456789");

async fn introspect(s: &TestServer, token: &str) -> Value {
    let (st, v) = s
        .post_form("/introspect", Some(RS), &[("token", token)])
        .await;
    assert_eq!(st, 200, "{v}");
    v
}

#[tokio::test]
async fn introspection_says_which_key_jwt_and_reference_tokens_are_bound_to() {
    let s = TestServer::start(
        r#"
[[clients]]
client_id = "rs"
client_secret = "rs-secret-0123456789abcdef0123456789"
grant_types = ["client_credentials"]
scopes = ["api"]
introspect_any = true

[[clients]]
client_id = "opaque"
token_endpoint_auth_method = "none"
redirect_uris = ["http://127.0.0.1:9/cb"]
grant_types = ["password", "refresh_token"]
scopes = ["openid", "offline_access"]
access_token_format = "reference"
"#,
    )
    .await;
    let key = ProofKey::es256();
    let jwt = public_login_at(&s.url, Some(&key)).await;
    let v = introspect(&s, &at(&jwt)).await;
    assert_eq!(v["active"], true);
    assert_eq!(v["token_type"], "DPoP");
    assert_eq!(v["cnf"]["jkt"], key.jkt().as_str());
    // The refresh token of a bound grant says its key too.
    let v = introspect(&s, &rt(&jwt)).await;
    assert_eq!(v["active"], true);
    assert_eq!(v["cnf"]["jkt"], key.jkt().as_str());
    // A reference token carries the binding in its record.
    let form = [
        ("grant_type", "password"),
        ("client_id", "opaque"),
        ("username", ALICE.0),
        ("password", ALICE.1),
        ("scope", "openid offline_access"),
    ];
    let a = token_at(&s.url, None, &form, &[&proof(&key, &s.url)]).await;
    let reference = at(&a);
    assert!(reference.starts_with("bat_"), "{reference}");
    let v = introspect(&s, &reference).await;
    assert_eq!(v["token_type"], "DPoP");
    assert_eq!(v["cnf"]["jkt"], key.jkt().as_str());
    let url = format!("{}/userinfo", s.url);
    let (st, _, _) = userinfo(
        &s,
        &format!("DPoP {reference}"),
        &[&key.proof_for("GET", &url, &reference)],
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(
        userinfo(&s, &format!("Bearer {reference}"), &[]).await.0,
        401
    );
    // An unbound token: Bearer, no cnf.
    let plain = at(&public_login_at(&s.url, None).await);
    let v = introspect(&s, &plain).await;
    assert_eq!(v["token_type"], "Bearer");
    assert!(v.get("cnf").is_none());
}

/// A browser app must be able to read why `/userinfo` refused its bound token (the
/// `WWW-Authenticate` challenge): the refusal carries its CORS headers.
#[tokio::test]
async fn a_browser_app_reads_the_dpop_challenge_of_its_own_token() {
    let s = TestServer::start(
        r#"
[[clients]]
client_id = "browser"
token_endpoint_auth_method = "none"
redirect_uris = ["http://127.0.0.1:9/cb"]
grant_types = ["password", "refresh_token"]
scopes = ["openid", "offline_access"]
allowed_origins = ["http://localhost:5173"]
"#,
    )
    .await;
    let key = ProofKey::es256();
    let form = [
        ("grant_type", "password"),
        ("client_id", "browser"),
        ("username", ALICE.0),
        ("password", ALICE.1),
        ("scope", "openid offline_access"),
    ];
    let token = at(&token_at(&s.url, None, &form, &[&proof(&key, &s.url)]).await);
    let r = s
        .http
        .get(format!("{}/userinfo", s.url))
        .header("origin", "http://localhost:5173")
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "http://localhost:5173"
    );
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("DPoP "));
}
